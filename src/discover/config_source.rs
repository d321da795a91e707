//! Sources 2 and 3, the user and system config files, read the same
//! format; this is their common part.

use std::path::{Path, PathBuf};

use super::report::{SourceId, SourceReport, Status};
use crate::inputs::Inputs;
use crate::settings::config_file::{self, ConfigError, ConfigFile};
use crate::settings::{FileLayer, Origin};

/// One config file (source 2 or 3): the report line and the parsed file.
pub struct ConfigSource {
    /// The report line.
    pub line: SourceReport,
    /// The file and its layer, when it exists and is valid.
    pub file: Option<FileLayer>,
}

/// Reads one config file for the source `id`; a broken file is a problem, not a stop.
pub fn consult(
    id: SourceId,
    path: Option<&Path>,
    inputs: &Inputs,
    problems: &mut Vec<String>,
    origin: impl FnOnce(PathBuf) -> Origin,
) -> ConfigSource {
    let location = path.map_or_else(|| "(no config dir)".into(), |p| p.display().to_string());
    let line = SourceReport::new(id, location, "no such file");
    let Some(path) = path else {
        return ConfigSource { line, file: None };
    };
    let loaded = config_file::load(path, inputs);
    judge(line, loaded, problems, || origin(path.to_path_buf()))
}

/// The report line and layer of a config file as loaded (`Ok(None)`: there is none).
pub fn judge(
    mut line: SourceReport,
    loaded: Result<Option<ConfigFile>, ConfigError>,
    problems: &mut Vec<String>,
    origin: impl FnOnce() -> Origin,
) -> ConfigSource {
    let file = match loaded {
        Err(err) => {
            let err = err.to_string();
            problems.push(format!("{err} (file ignored)"));
            line.status = Status::Error(err);
            None
        }
        Ok(None) => None,
        Ok(Some(file)) => {
            problems.extend(file.ignored.iter().cloned());
            let file = FileLayer::new(file, origin());
            match &file.layer.mirror {
                Some(mirror) => line = line.naming(Some(mirror)),
                None => line.status = Status::NotSet("no `mirror` or `metadata-url` key".into()),
            }
            Some(file)
        }
    };
    ConfigSource { line, file }
}
