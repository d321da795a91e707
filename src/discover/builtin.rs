//! Source 3b: the built-in config, embedded at build time
//! (`UV_SHIM_BUILTIN_CONFIG`): the same keys and rights as the system file,
//! one layer below it. A binary built without one has no such source.

use std::path::Path;

use super::config_source::{self, ConfigSource};
use super::report::{SourceId, SourceReport};
use crate::settings::builtin::builtin;
use crate::settings::{Origin, config_file};

/// Reads the built-in config; `None` when the binary has none.
pub fn consult(problems: &mut Vec<String>) -> Option<ConfigSource> {
    let builtin = builtin()?;
    let origin = Origin::Builtin(builtin.name.to_string());
    let line = SourceReport::new(
        SourceId::BuiltinConfig,
        format!("embedded at build time from {}", builtin.name),
        "",
    );
    // Checked by the build already; a shim whose loader grew stricter still says what is wrong.
    let parsed = config_file::parse(builtin.text, Path::new(&origin.to_string()));
    Some(config_source::judge(
        line,
        parsed.map(Some),
        problems,
        || origin,
    ))
}
