//! Source 2: the user config file (`$XDG_CONFIG_HOME/uv-shim/config.toml`, or `UV_SHIM_CONFIG`).

use std::path::Path;

use super::config_source::{self, ConfigSource};
use super::report::SourceId;
use crate::inputs::Inputs;
use crate::settings::Origin;

/// Reads the user config.
pub fn consult(path: Option<&Path>, inputs: &Inputs, problems: &mut Vec<String>) -> ConfigSource {
    config_source::consult(SourceId::UserConfig, path, inputs, problems, Origin::User)
}
