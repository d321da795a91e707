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

pub mod housekeeping;

use std::path::{Path, PathBuf};

use crate::fsutil::private;

/// Why the cache folder asked for was passed over.
#[derive(Debug, Clone)]
pub struct Passed {
    /// In words, naming both folders.
    pub why: String,
    /// Whether this has not been said before (a warning now, else only `doctor` says it).
    pub news: bool,
}

/// The cache folder.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    usable: bool,
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
        Self { dir, usable: true }
    }

    /// The cache this user may use: the folder asked for when it is this
    /// user's own (made 0700 when missing); else this user's own folder by
    /// the account database, saying so once per folder; else none at all
    /// (the call runs uncached). Also says why the folder asked for was not
    /// used, and whether that is news (a warning) or was said before.
    pub fn choose(asked: Option<&Path>, own: Option<&Path>) -> (Cache, Option<Passed>) {
        let why = match asked {
            // A folder that cannot be made (a read-only or full disk) is no
            // question of trust: it is used, and each write says what failed.
            Some(dir)
                if std::fs::symlink_metadata(dir).is_err() && private::ensure_dir(dir).is_err() =>
            {
                return (Cache::new(dir.to_path_buf()), None);
            }
            Some(dir) => match private::check(dir) {
                Ok(()) => return (Cache::new(dir.to_path_buf()), None),
                Err(why) => why,
            },
            None => {
                "there is no per-user cache folder (no HOME, and no home in the account database)"
                    .to_string()
            }
        };
        let own = own.filter(|own| Some(*own) != asked && private::ensure_dir(own).is_ok());
        match own {
            Some(own) => {
                let cache = Cache::new(own.to_path_buf());
                // Said once per folder: a marker in this user's own cache.
                let asked_name = asked.map_or(String::new(), |a| a.display().to_string());
                let marker = cache.keyed("untrusted", &asked_name);
                let news = !marker.exists();
                if news {
                    let _ = private::write(&marker, asked_name.as_bytes());
                }
                let why = format!(
                    "not using the cache folder {asked_name}: {why}; using {} (said once)",
                    own.display()
                );
                (cache, Some(Passed { why, news }))
            }
            None => {
                let cache = Cache {
                    dir: asked.map(Path::to_path_buf).unwrap_or_default(),
                    usable: false,
                };
                let why = format!("{why}; running without a cache");
                (cache, Some(Passed { why, news: true }))
            }
        }
    }

    /// Whether anything may be read from or written to this cache.
    pub fn is_usable(&self) -> bool {
        self.usable
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
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
