//! `--prune`: removes what no entry of the new metadata names (older
//! builds, strays, stale part files), and lists it on a dry run.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use anyhow::Context;

use crate::mirror::layout::{PART_SUFFIX, RelPath};
use crate::mirror::write::ListedEntry;
use crate::urls::{METADATA_FILE, SIGNATURE_FILE};

/// Removes (or, `dry_run`, lists) every file under `dest` that no listed
/// entry names and that is not in `also_kept` (the `--for-uv` builds): hidden files and folders (the mirror's state, a server's
/// `.htaccess`) and the metadata itself excepted; part files survive while
/// their download is still wanted (`keep_parts`).
pub fn prune(
    dest: &Path,
    listed: &[ListedEntry],
    also_kept: &HashSet<RelPath>,
    keep_parts: &BTreeSet<&RelPath>,
    dry_run: bool,
) -> anyhow::Result<Vec<RelPath>> {
    let named: BTreeSet<&RelPath> = listed.iter().map(|c| &c.rel).collect();
    let mut gone = Vec::new();
    let mut dirs = Vec::new();
    let mut stack = vec![dest.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with('.')
                || (dir == dest && (name == METADATA_FILE || name == SIGNATURE_FILE))
            {
                continue;
            }
            let path = entry.path();
            let kind = entry
                .file_type()
                .with_context(|| format!("cannot stat {}", path.display()))?;
            if kind.is_dir() {
                dirs.push(path.clone());
                stack.push(path);
                continue;
            }
            let keep = if let Some(target) = name.strip_suffix(PART_SUFFIX) {
                RelPath::from_path(dest, &path.with_file_name(target))
                    .is_some_and(|rel| keep_parts.contains(&rel))
            } else {
                RelPath::from_path(dest, &path)
                    .is_some_and(|rel| named.contains(&rel) || also_kept.contains(&rel))
            };
            if keep {
                continue;
            }
            let rel = relative_display(dest, &path);
            if !dry_run {
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
            }
            gone.push(rel);
        }
    }
    if !dry_run {
        // Deepest first; a folder that is not empty simply stays.
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for dir in dirs {
            let _ = std::fs::remove_dir(dir);
        }
    }
    gone.sort();
    Ok(gone)
}

/// A path below `dest` as a [`RelPath`], even for names a download could
/// not have (`x.part`), for listing.
fn relative_display(dest: &Path, path: &Path) -> RelPath {
    RelPath::from_path(dest, path).unwrap_or_else(|| {
        let text = path
            .strip_prefix(dest)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        RelPath::unchecked(text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_keeps_named_hidden_and_wanted_parts() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path();
        let write = |rel: &str| {
            let path = dest.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        };
        for rel in [
            "b1/keep.tar.gz",
            "b0/old.tar.gz",
            "b1/wanted.tar.gz.part",
            "b1/stale.tar.gz.part",
            ".uv-shim/manifest",
            ".htaccess",
            METADATA_FILE,
        ] {
            write(rel);
        }
        let keep = RelPath::from_segments(&["b1", "keep.tar.gz"]).unwrap();
        let wanted = RelPath::from_segments(&["b1", "wanted.tar.gz"]).unwrap();
        let entries = vec![ListedEntry {
            key: "k".into(),
            rel: keep,
            build: None,
            from_upstream: true,
            entry: Default::default(),
        }];
        let parts = BTreeSet::from([&wanted]);
        let listed = prune(dest, &entries, &HashSet::new(), &parts, true).unwrap();
        let names: Vec<&str> = listed.iter().map(RelPath::as_str).collect();
        assert_eq!(names, ["b0/old.tar.gz", "b1/stale.tar.gz.part"]);
        assert!(
            dest.join("b0/old.tar.gz").exists(),
            "a dry run removes nothing"
        );
        prune(dest, &entries, &HashSet::new(), &parts, false).unwrap();
        assert!(!dest.join("b0").exists(), "emptied folders go too");
        assert!(dest.join("b1/wanted.tar.gz.part").exists());
        assert!(dest.join(".htaccess").exists() && dest.join(METADATA_FILE).exists());
    }
}
