//! Source 5: a static `download-metadata.json` beside the system config.
//!
//! It is validated like a mirror's answer and handed to uv from the cache;
//! its stamp stands in for an ETag, so an edit is picked up at once.

use std::path::Path;

use super::report::{SourceId, SourceReport, Status};
use crate::inputs::Inputs;
use crate::settings::{Layer, MetadataSource, Mirror, Origin, Sourced};

/// Consults the static metadata file.
pub fn consult(path: &Path, inputs: &Inputs) -> (SourceReport, Layer) {
    let mut line = SourceReport::new(
        SourceId::StaticFile,
        path.display().to_string(),
        "no such file",
    );
    if !inputs.is_file(path) {
        return (line, Layer::default());
    }
    match url::Url::from_file_path(path) {
        Ok(url) => {
            let mirror = Mirror {
                bases: Vec::new(),
                metadata: MetadataSource::Fetch(vec![url]),
            };
            let layer = Layer {
                mirror: Some(Sourced::new(mirror, Origin::StaticFile(path.to_path_buf()))),
                ..Layer::default()
            };
            (line, layer)
        }
        Err(()) => {
            line.status = Status::Error("the path is not absolute".into());
            (line, Layer::default())
        }
    }
}
