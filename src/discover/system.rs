//! Source 3: the system config file (`/etc/uv/shim.toml`).

use std::path::Path;

use super::config_source::{self, ConfigSource};
use super::report::SourceId;
use crate::inputs::Inputs;
use crate::settings::Origin;

/// Reads the system config.
pub fn consult(path: &Path, inputs: &Inputs, problems: &mut Vec<String>) -> ConfigSource {
    config_source::consult(
        SourceId::SystemConfig,
        Some(path),
        inputs,
        problems,
        Origin::System,
    )
}
