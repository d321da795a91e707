//! Source 2: the user config file (`$XDG_CONFIG_HOME/uv-shim/config.toml`, or `UV_SHIM_CONFIG`).

use std::path::Path;

use super::{ConfigSource, SourceId};
use crate::inputs::Inputs;
use crate::settings::Origin;

/// Reads the user config.
pub fn consult(path: Option<&Path>, inputs: &Inputs, problems: &mut Vec<String>) -> ConfigSource {
    super::consult_config_file(SourceId::UserConfig, path, inputs, problems, Origin::User)
}
