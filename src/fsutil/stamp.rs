//! "Has this file changed?": one answer for every file the shim depends on
//! (the warm plan's inputs, the cached metadata, the real uv whose version
//! is remembered, a local metadata source, the mirror's manifest).

use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// What a file looked like when it was read: size, modification time and
/// inode, or that it was not there. Two equal stamps mean "unchanged" for
/// every purpose of the shim; a rewrite that keeps size and mtime but
/// replaces the file (rename over it) still shows in the inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileStamp {
    /// No file (or it could not be stat'ed).
    Absent,
    /// A file (or folder) as it was.
    Present {
        /// Size in bytes.
        len: u64,
        /// Modification time in nanoseconds since the Unix epoch (0 when unknown).
        mtime_ns: u128,
        /// The inode (0 where the platform has none).
        inode: u64,
    },
}

impl FileStamp {
    /// The stamp of the file at `path` now (links followed).
    pub fn of(path: &Path) -> FileStamp {
        match std::fs::metadata(path) {
            Ok(meta) => FileStamp::from_metadata(&meta),
            Err(_) => FileStamp::Absent,
        }
    }

    /// The stamp of already fetched metadata.
    pub fn from_metadata(meta: &std::fs::Metadata) -> FileStamp {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        FileStamp::Present {
            len: meta.len(),
            mtime_ns,
            inode: inode(meta),
        }
    }

    /// Whether the file was there.
    pub fn exists(&self) -> bool {
        matches!(self, FileStamp::Present { .. })
    }
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.ino()
}

#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> u64 {
    0
}

/// `-` for an absent file, else `len:mtime_ns:inode`.
impl fmt::Display for FileStamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileStamp::Absent => f.write_str("-"),
            FileStamp::Present {
                len,
                mtime_ns,
                inode,
            } => write!(f, "{len}:{mtime_ns}:{inode}"),
        }
    }
}

impl FromStr for FileStamp {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, ()> {
        if text == "-" {
            return Ok(FileStamp::Absent);
        }
        let mut parts = text.split(':');
        let mut next = || parts.next().ok_or(());
        let stamp = FileStamp::Present {
            len: next()?.parse().map_err(|_| ())?,
            mtime_ns: next()?.parse().map_err(|_| ())?,
            inode: next()?.parse().map_err(|_| ())?,
        };
        match parts.next() {
            None => Ok(stamp),
            Some(_) => Err(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_notices_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        assert_eq!(FileStamp::of(&path), FileStamp::Absent);
        std::fs::write(&path, "one").unwrap();
        let first = FileStamp::of(&path);
        assert!(matches!(first, FileStamp::Present { len: 3, .. }));
        assert_eq!(first.to_string().parse::<FileStamp>(), Ok(first));
        assert_eq!("-".parse::<FileStamp>(), Ok(FileStamp::Absent));
        assert!("1:2".parse::<FileStamp>().is_err());
        assert!("1:2:3:4".parse::<FileStamp>().is_err());
        std::fs::write(&path, "three").unwrap();
        assert_ne!(FileStamp::of(&path), first);
    }
}
