//! Source 5: a static `download-metadata.json` beside the system config.
//!
//! It is validated like a mirror's answer and handed to uv from the cache;
//! its size and mtime stand in for an ETag, so an edit is picked up at once.

use std::path::Path;

use super::{Chosen, MetadataPlan, SourceReport, Status};
use crate::settings::Origin;

/// Consults the static metadata file.
pub fn consult(path: &Path) -> (SourceReport, Option<Chosen>) {
    let mut line = SourceReport {
        name: "static metadata",
        location: path.display().to_string(),
        status: Status::NotSet("no such file".into()),
        details: Vec::new(),
    };
    if !path.is_file() {
        return (line, None);
    }
    match url::Url::from_file_path(path) {
        Ok(url) => (
            line,
            Some(Chosen {
                origin: Origin::StaticFile(path.to_path_buf()),
                bases: Vec::new(),
                metadata: MetadataPlan::Fetch(vec![url]),
            }),
        ),
        Err(()) => {
            line.status = Status::Error("the path is not absolute".into());
            (line, None)
        }
    }
}
