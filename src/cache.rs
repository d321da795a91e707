//! The shim's cache: validated metadata, its freshness state, and locks.
//!
//! Layout under the cache dir:
//!
//! ```text
//! metadata/<key>.json    validated metadata handed to uv (key: hash of URL + rewrite policy)
//! metadata/<key>.state   freshness and validators, a few `name value` lines (no JSON: read on every call)
//! metadata/<key>.lock    held while one process fetches, so parallel calls make one request
//! uv-version/<key>       the version of one real uv binary
//! ```
//!
//! Every write is atomic (temporary file beside the target, then rename), so
//! a reader sees the old file or the new one, never half of either.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// The cache directory.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

/// The files that hold one metadata document.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The validated JSON handed to uv.
    pub json: PathBuf,
    /// The state file.
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
    pub fn metadata(&self, identity: &str) -> Entry {
        let key = key(identity);
        let dir = self.dir.join("metadata");
        Entry {
            json: dir.join(format!("{key}.json")),
            state: dir.join(format!("{key}.state")),
            lock: dir.join(format!("{key}.lock")),
        }
    }

    /// A file in a named sub folder, keyed by `identity`.
    pub fn keyed(&self, folder: &str, identity: &str) -> PathBuf {
        self.dir.join(folder).join(key(identity))
    }
}

/// A short stable file name for any identity string.
pub fn key(identity: &str) -> String {
    let digest = Sha256::digest(identity.as_bytes());
    digest[..10].iter().map(|b| format!("{b:02x}")).collect()
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Freshness and validators of one cached document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// The URL (or path) the document came from.
    pub source: String,
    /// When the cached copy was last confirmed good (fetched, or revalidated with 304).
    pub fetched: u64,
    /// Size in bytes of the cached JSON, to detect a damaged file cheaply.
    pub size: u64,
    /// How many entries the cached copy lists.
    pub entries: u64,
    /// ETag of the response it came from.
    pub etag: Option<String>,
    /// Last-Modified of the response it came from.
    pub last_modified: Option<String>,
    /// When the last attempt failed (0: it did not).
    pub failed: u64,
    /// What went wrong then.
    pub error: Option<String>,
}

const STATE_MAGIC: &str = "uv-shim-state 1";

impl State {
    /// Reads a state file; `None` when absent or unreadable (treated as no cache).
    pub fn read(path: &Path) -> Option<State> {
        let text = std::fs::read_to_string(path).ok()?;
        let mut lines = text.lines();
        if lines.next()? != STATE_MAGIC {
            return None;
        }
        let mut state = State::default();
        for line in lines {
            let (name, value) = line.split_once(' ').unwrap_or((line, ""));
            match name {
                "source" => state.source = value.to_string(),
                "fetched" => state.fetched = value.parse().ok()?,
                "size" => state.size = value.parse().ok()?,
                "entries" => state.entries = value.parse().ok()?,
                "etag" => state.etag = Some(value.to_string()),
                "last-modified" => state.last_modified = Some(value.to_string()),
                "failed" => state.failed = value.parse().ok()?,
                "error" => state.error = Some(value.to_string()),
                _ => {}
            }
        }
        Some(state)
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let one_line = |s: &str| s.replace(['\n', '\r'], " ");
        let mut out = format!(
            "{STATE_MAGIC}\nsource {}\nfetched {}\nsize {}\nentries {}\nfailed {}\n",
            one_line(&self.source),
            self.fetched,
            self.size,
            self.entries,
            self.failed
        );
        for (name, value) in [
            ("etag", &self.etag),
            ("last-modified", &self.last_modified),
            ("error", &self.error),
        ] {
            if let Some(value) = value {
                out.push_str(&format!("{name} {}\n", one_line(value)));
            }
        }
        out
    }

    /// Whether a good copy exists (it was fetched at least once).
    pub fn has_copy(&self) -> bool {
        self.fetched > 0
    }

    /// Age of the good copy.
    pub fn age(&self, now: u64) -> Duration {
        Duration::from_secs(now.saturating_sub(self.fetched))
    }
}

/// Writes `bytes` to `path` atomically, creating the parent folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|err| err.error)?;
    Ok(())
}

/// An exclusive lock on a lock file, released on drop (and by the OS when
/// the process dies, so a killed process leaves no stale lock behind).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Takes the lock at `path`, waiting at most `wait`. `Ok(None)` when the wait ran out.
pub fn lock(path: &Path, wait: Duration) -> std::io::Result<Option<Lock>> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    let deadline = Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(Lock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => {
                if Instant::now() >= deadline {
                    return Ok(None);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(std::fs::TryLockError::Error(err)) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        let state = State {
            source: "https://m.example/uv/download-metadata.json".into(),
            fetched: 1_700_000_000,
            size: 1234,
            entries: 7,
            etag: Some("\"abc\"".into()),
            last_modified: Some("Tue, 24 Nov 2026 10:00:00 GMT".into()),
            failed: 0,
            error: Some("line\nbreak".into()),
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.state");
        write_atomic(&path, state.render().as_bytes()).unwrap();
        let back = State::read(&path).unwrap();
        assert_eq!(back.etag, state.etag);
        assert_eq!(back.error.as_deref(), Some("line break"));
        assert_eq!(back.fetched, state.fetched);
    }

    #[test]
    fn garbage_state_is_no_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.state");
        std::fs::write(&path, "{\"json\": true}").unwrap();
        assert!(State::read(&path).is_none());
        std::fs::write(&path, format!("{STATE_MAGIC}\nfetched soon\n")).unwrap();
        assert!(State::read(&path).is_none());
    }

    #[test]
    fn second_lock_waits_then_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let held = lock(&path, Duration::ZERO).unwrap();
        assert!(held.is_some());
        assert!(lock(&path, Duration::from_millis(30)).unwrap().is_none());
        drop(held);
        assert!(lock(&path, Duration::ZERO).unwrap().is_some());
    }
}
