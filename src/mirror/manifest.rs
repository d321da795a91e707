//! The mirror's own record of the files it verified: `<dest>/.uv-shim/manifest`.
//!
//! One line per file: sha256, [`FileStamp`] (size, modification time,
//! inode) and path. A sync trusts a file whose stamp still matches its line
//! without reading it, which keeps a no-op re-sync of thousands of entries fast; `mirror
//! verify` rehashes regardless. Only files whose content matched a published
//! checksum are recorded, so the manifest also tells `verify` which files
//! that the metadata no longer names are older builds kept on purpose rather
//! than strays.
//!
//! A plain-text [`record`], like every file the shim keeps: it is read on
//! every sync and must stay cheap.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::layout::{RelPath, STATE_DIR};
use crate::fsutil::{FileStamp, Record, record};

/// A file whose content matched its published hash, as it was then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedFile {
    /// Lowercase hex sha256 of the content.
    pub sha256: String,
    /// The file's stamp when the hash was taken.
    pub stamp: FileStamp,
}

impl VerifiedFile {
    /// The record of the regular file at `path` with a known `sha256`.
    pub fn of(path: &Path, sha256: String) -> std::io::Result<VerifiedFile> {
        let meta = std::fs::metadata(path)?;
        if !meta.is_file() {
            return Err(std::io::Error::other("not a regular file"));
        }
        Ok(VerifiedFile {
            sha256,
            stamp: FileStamp::from_metadata(&meta),
        })
    }

    /// Whether the file at `path` is still as it was (an unknown mtime never is).
    pub fn still_matches(&self, path: &Path) -> bool {
        let known_mtime =
            matches!(self.stamp, FileStamp::Present { mtime_ns, .. } if mtime_ns != 0);
        known_mtime && FileStamp::of(path) == self.stamp
    }
}

/// The manifest of one mirror.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Verified files by path.
    pub files: BTreeMap<RelPath, VerifiedFile>,
}

impl Manifest {
    /// Where the manifest of the mirror at `dest` lives.
    pub fn path(dest: &Path) -> PathBuf {
        dest.join(STATE_DIR).join("manifest")
    }

    /// Reads the manifest; a missing, unreadable or older one is empty (the
    /// files are then rehashed), and a line that does not parse is skipped.
    pub fn load(dest: &Path) -> Manifest {
        record::read_shared(&Self::path(dest), KIND, VERSION, |lines| {
            let files = lines
                .filter(|(key, _)| *key == "file")
                .filter_map(|(_, value)| {
                    let mut fields = value.splitn(3, ' ');
                    let sha256 = fields.next()?.to_string();
                    let stamp = fields.next()?.parse().ok()?;
                    let rel =
                        RelPath::from_segments(&fields.next()?.split('/').collect::<Vec<_>>())
                            .ok()?;
                    (sha256.len() == 64).then_some((rel, VerifiedFile { sha256, stamp }))
                })
                .collect();
            Some(Manifest { files })
        })
        .unwrap_or_default()
    }

    /// Writes the manifest atomically, with the mode of every other mirror
    /// file: whoever copies or serves the mirror can read it.
    pub fn save(&self, dest: &Path) -> std::io::Result<()> {
        let mut record = Record::new(KIND, VERSION);
        for (rel, file) in &self.files {
            record.push("file", format_args!("{} {} {rel}", file.sha256, file.stamp));
        }
        record.write_public(&Self::path(dest))
    }

    /// The known hash of the file at `rel` below `dest`, when its stamp still holds.
    pub fn known(&self, dest: &Path, rel: &RelPath) -> Option<&str> {
        self.files
            .get(rel)
            .filter(|file| file.still_matches(&rel.under(dest)))
            .map(|file| file.sha256.as_str())
    }
}

/// The on-disk format: a [`record`] of `file <sha256> <stamp> <path>` lines.
const KIND: &str = "mirror-manifest";
const VERSION: &str = "2";

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
            .insert(rel.clone(), VerifiedFile::of(&path, sha.clone()).unwrap());
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
        crate::fsutil::write_public(&Manifest::path(dir.path()), b"{}").unwrap();
        assert!(Manifest::load(dir.path()).files.is_empty());
    }
}
