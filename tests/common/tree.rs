//! A folder as a listing to compare before and after: every name below it,
//! with its kind, mode, owner, link target and a hash of its contents.

#![cfg(unix)]

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// What a folder holds, path (relative to it) by path.
pub type Listing = BTreeMap<PathBuf, String>;

/// Lists `dir` and everything below it (links not followed).
#[track_caller]
pub fn listing(dir: &Path) -> Listing {
    let mut found = Listing::new();
    walk(dir, dir, &mut found);
    found
}

fn walk(root: &Path, dir: &Path, found: &mut Listing) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let what = if meta.file_type().is_symlink() {
            format!("link -> {}", std::fs::read_link(&path).unwrap().display())
        } else if meta.is_dir() {
            "dir".to_string()
        } else {
            let digest = Sha256::digest(std::fs::read(&path).unwrap());
            let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            format!("file {hash}")
        };
        let rel = path.strip_prefix(root).unwrap().to_path_buf();
        found.insert(
            rel,
            format!(
                "{what} mode {:o} owner {}:{}",
                meta.mode() & 0o7777,
                meta.uid(),
                meta.gid()
            ),
        );
        if meta.is_dir() {
            walk(root, &path, found);
        }
    }
}
