//! Where things live in the shim's cache folder (`UV_SHIM_CACHE_DIR`):
//!
//! ```text
//! metadata/<key>.json    validated metadata handed to uv (key: hash of URL + rewrite policy)
//! metadata/<key>.state   freshness and validators of that copy
//! metadata/<key>.lock    held while one process fetches, so parallel calls make one request
//! uv-version/<key>       the version of one real uv binary
//! dns/<key>              one DNS answer
//! plan/<key>             one remembered hand-over (the warm path)
//! ```

use std::path::PathBuf;

/// The cache folder.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

/// The files that hold one metadata document.
#[derive(Debug, Clone)]
pub struct MetadataFiles {
    /// The validated JSON handed to uv.
    pub json: PathBuf,
    /// Its state record.
    pub state: PathBuf,
    /// The lock file.
    pub lock: PathBuf,
}

impl Cache {
    /// A cache rooted at `dir` (created on first write).
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The files for a metadata document identified by `identity`.
    pub fn metadata(&self, identity: &str) -> MetadataFiles {
        let key = crate::fsutil::key(identity);
        let dir = self.dir.join("metadata");
        MetadataFiles {
            json: dir.join(format!("{key}.json")),
            state: dir.join(format!("{key}.state")),
            lock: dir.join(format!("{key}.lock")),
        }
    }

    /// A file in a named sub folder, keyed by `identity`.
    pub fn keyed(&self, folder: &str, identity: &str) -> PathBuf {
        self.dir.join(folder).join(crate::fsutil::key(identity))
    }
}
