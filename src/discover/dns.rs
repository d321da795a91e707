//! Source 6: a DNS TXT record `_uv-mirror.<domain>`.
//!
//! The seam for DNS discovery: [`consult`] receives the environment, the
//! combined settings (for `dns`, `dns-domains` and the system-only trust
//! keys) and the cache (where answers are kept for their TTL, so a warm run
//! makes no query). DNS discovery itself is tracked as its own piece of work;
//! until it lands this source reports that it is not available.

use super::{Chosen, SourceReport, Status};
use crate::cache::Cache;
use crate::env_vars::Lookup;
use crate::settings::{Layer, Settings};

/// What DNS discovery may read.
pub struct Input<'a> {
    /// The environment.
    pub env: Lookup<'a>,
    /// The combined settings.
    pub settings: &'a Settings,
    /// The cache, for answers kept for their TTL.
    pub cache: &'a Cache,
}

/// Consults DNS; returns the report line and, when a record names a mirror,
/// the mirror and the settings the record carries (index, pypy, astral).
pub fn consult(input: &Input) -> (SourceReport, Option<(Chosen, Layer)>) {
    let mut line = SourceReport {
        name: "dns",
        location: "_uv-mirror.<search domains>".into(),
        status: Status::Skipped("DNS discovery is not available in this build".into()),
        details: Vec::new(),
    };
    if !input.settings.dns.value {
        line.status = Status::Skipped(format!("disabled by `dns = false` in {}", input.settings.dns.origin));
    }
    let _ = (input.env, input.cache);
    (line, None)
}
