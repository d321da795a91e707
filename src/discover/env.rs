//! Source 1: the `UV_SHIM_MIRROR` environment variable.

use super::{Chosen, SourceReport, Status};
use crate::env_vars::{EnvVars, Lookup};
use crate::settings::{MirrorSpec, Origin, Sourced};

/// Reads `UV_SHIM_MIRROR`.
pub fn consult(env: Lookup) -> (SourceReport, Option<Chosen>) {
    let mut line = SourceReport {
        name: "env",
        location: EnvVars::UV_SHIM_MIRROR.into(),
        status: Status::NotSet("unset or empty".into()),
        details: Vec::new(),
    };
    let Some(value) = env(EnvVars::UV_SHIM_MIRROR) else {
        return (line, None);
    };
    match crate::urls::parse_fetchable(&value) {
        Ok(url) => {
            let spec = Sourced::new(
                MirrorSpec {
                    bases: vec![url],
                    metadata_url: None,
                },
                Origin::Env(EnvVars::UV_SHIM_MIRROR),
            );
            (line, Some(Chosen::from_spec(&spec)))
        }
        Err(problem) => {
            line.status = Status::Error(format!(
                "{}=`{}` is not a usable URL: {problem}",
                EnvVars::UV_SHIM_MIRROR,
                crate::redact::url(&value)
            ));
            (line, None)
        }
    }
}
