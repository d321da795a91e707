//! The mirror's own record of the files it verified: `<dest>/.uv-shim/manifest`.
//!
//! One line per file: sha256, size, modification time (ns) and path. A sync
//! trusts a file whose size and mtime still match its line without reading
//! it, which keeps a no-op re-sync of thousands of entries fast; `mirror
//! verify` rehashes regardless. Only files whose content matched a published
//! checksum are recorded, so the manifest also tells `verify` which files
//! that the metadata no longer names are older builds kept on purpose rather
//! than strays.
//!
//! Plain text, not JSON: it is read on every sync and must stay cheap. The
//! format is written and read only by `render` and `parse` at the end of
//! this file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::layout::{RelPath, STATE_DIR};

/// What a file looked like when its hash was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// Lowercase hex sha256 of the content.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch (0 when unknown: never matches).
    pub mtime_ns: u128,
}

impl Stamp {
    /// The stamp of the file at `path` with a known `sha256`.
    pub fn of(path: &Path, sha256: String) -> std::io::Result<Stamp> {
        let (size, mtime_ns) = size_and_mtime(path)?;
        Ok(Stamp {
            sha256,
            size,
            mtime_ns,
        })
    }

    /// Whether the file at `path` still has this size and mtime.
    pub fn still_matches(&self, path: &Path) -> bool {
        self.mtime_ns != 0
            && size_and_mtime(path).is_ok_and(|now| now == (self.size, self.mtime_ns))
    }
}

fn size_and_mtime(path: &Path) -> std::io::Result<(u64, u128)> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok((meta.len(), mtime))
}

/// The manifest of one mirror.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Stamps by path.
    pub files: BTreeMap<RelPath, Stamp>,
}

impl Manifest {
    /// Where the manifest of the mirror at `dest` lives.
    pub fn path(dest: &Path) -> PathBuf {
        dest.join(STATE_DIR).join("manifest")
    }

    /// Reads the manifest; a missing or unreadable one is empty (the files are then rehashed).
    pub fn load(dest: &Path) -> Manifest {
        match std::fs::read_to_string(Self::path(dest)) {
            Ok(text) => Manifest::parse(&text),
            Err(_) => Manifest::default(),
        }
    }

    /// Writes the manifest atomically.
    pub fn save(&self, dest: &Path) -> std::io::Result<()> {
        crate::cache::write_atomic(&Self::path(dest), self.render().as_bytes())
    }

    /// The known hash of the file at `rel` below `dest`, when its stamp still holds.
    pub fn known(&self, dest: &Path, rel: &RelPath) -> Option<&str> {
        self.files
            .get(rel)
            .filter(|stamp| stamp.still_matches(&rel.under(dest)))
            .map(|stamp| stamp.sha256.as_str())
    }
}

/// The on-disk format: a version line, then one line per file. Nothing
/// else in the crate reads or writes it.
const MAGIC: &str = "uv-shim-mirror-manifest 1";

impl Manifest {
    /// Parses the file's text; any other version is an empty manifest, and
    /// a line that does not parse is skipped (its file is then rehashed).
    fn parse(text: &str) -> Manifest {
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) {
            return Manifest::default();
        }
        let files = lines
            .filter_map(|line| {
                let mut fields = line.splitn(4, ' ');
                let sha256 = fields.next()?.to_string();
                let size = fields.next()?.parse().ok()?;
                let mtime_ns = fields.next()?.parse().ok()?;
                let rel =
                    RelPath::from_segments(&fields.next()?.split('/').collect::<Vec<_>>()).ok()?;
                (sha256.len() == 64).then_some((
                    rel,
                    Stamp {
                        sha256,
                        size,
                        mtime_ns,
                    },
                ))
            })
            .collect();
        Manifest { files }
    }

    /// The file's text.
    fn render(&self) -> String {
        let mut out = String::with_capacity(64 + self.files.len() * 160);
        out.push_str(MAGIC);
        out.push('\n');
        for (rel, stamp) in &self.files {
            out.push_str(&format!(
                "{} {} {} {rel}\n",
                stamp.sha256, stamp.size, stamp.mtime_ns
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mirror::hash::hash_file;

    #[test]
    fn round_trips_and_notices_changes() {
        let dir = tempfile::tempdir().unwrap();
        let rel =
            RelPath::from_segments(&["20250115", "cpython-3.12.8+20250115-x y.tar.gz"]).unwrap();
        let path = rel.under(dir.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"hello").unwrap();
        let sha = hash_file(&path, &|| false).unwrap();
        assert_eq!(
            sha,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );

        let mut manifest = Manifest::default();
        manifest
            .files
            .insert(rel.clone(), Stamp::of(&path, sha.clone()).unwrap());
        manifest.save(dir.path()).unwrap();
        let back = Manifest::load(dir.path());
        assert_eq!(back, manifest);
        assert_eq!(back.known(dir.path(), &rel), Some(sha.as_str()));

        std::fs::write(&path, b"hello, world").unwrap();
        assert_eq!(back.known(dir.path(), &rel), None);
    }

    #[test]
    fn garbage_is_an_empty_manifest() {
        let dir = tempfile::tempdir().unwrap();
        crate::cache::write_atomic(&Manifest::path(dir.path()), b"{}").unwrap();
        assert!(Manifest::load(dir.path()).files.is_empty());
    }
}
