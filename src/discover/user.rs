//! Source 2: the user config file (`$XDG_CONFIG_HOME/uv-shim/config.toml`, or `UV_SHIM_CONFIG`).

use std::path::Path;

use super::{Chosen, Loaded, SourceReport};
use crate::settings::Origin;

/// Reports what the user config names.
pub fn consult(path: Option<&Path>, loaded: &Loaded) -> (SourceReport, Option<Chosen>) {
    super::consult_config_file("user config", path, loaded, Origin::User)
}
