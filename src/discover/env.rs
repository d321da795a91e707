//! Source 1: the shim's own variables: `UV_SHIM_MIRROR` (the mirror),
//! `UV_SHIM_REAL_UV` (the real uv) and `UV_SHIM_DNS_DOMAINS`.

use std::path::PathBuf;

use super::report::{SourceId, SourceReport, Status};
use crate::env_vars::{EnvVars, Lookup};
use crate::settings::{Layer, Mirror, Origin, Sourced};

/// Reads the environment layer.
pub fn consult(env: Lookup) -> (SourceReport, Layer) {
    let mut line = SourceReport::new(SourceId::Env, EnvVars::UV_SHIM_MIRROR, "unset or empty");
    let sourced = |name: &'static str| env(name).map(|v| Sourced::new(v, Origin::Env(name)));
    let mirror = sourced(EnvVars::UV_SHIM_MIRROR).and_then(|value| {
        match crate::urls::parse_fetchable(&value.value) {
            Ok(url) => Some(Sourced::new(Mirror::at(vec![url], None), value.origin)),
            Err(problem) => {
                line.status = Status::Error(format!(
                    "{}=`{}` is not a usable URL: {problem}",
                    EnvVars::UV_SHIM_MIRROR,
                    crate::redact::url(&value.value)
                ));
                None
            }
        }
    });
    let layer = Layer {
        mirror,
        uv: sourced(EnvVars::UV_SHIM_REAL_UV)
            .map(|s| Sourced::new(PathBuf::from(s.value), s.origin)),
        dns_domains: sourced(EnvVars::UV_SHIM_DNS_DOMAINS).map(|s| {
            Sourced::new(
                s.value
                    .split(',')
                    .map(|d| d.trim().trim_end_matches('.').to_string())
                    .filter(|d| !d.is_empty())
                    .collect(),
                s.origin,
            )
        }),
        ..Layer::default()
    };
    (line, layer)
}
