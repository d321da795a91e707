//! Source 3: the system config file (`/etc/uv/shim.toml`).

use std::path::Path;

use super::{Chosen, Loaded, SourceReport};
use crate::settings::Origin;

/// Reports what the system config names.
pub fn consult(path: &Path, loaded: &Loaded) -> (SourceReport, Option<Chosen>) {
    super::consult_config_file("system config", Some(path), loaded, Origin::System)
}
