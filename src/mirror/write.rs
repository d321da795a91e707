//! The mirror's `download-metadata.json`: uv's schema, URLs relative to the
//! file, only entries whose file is present and verified, and for each key
//! the newest build the mirror holds, whether it came from this sync or
//! from the metadata already there.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use super::entry::{Download, PythonVersion, compare_builds};
use super::layout::RelPath;

/// A download and where it lives in the mirror.
#[derive(Debug, Clone)]
pub struct Placed {
    /// The entry.
    pub download: Download,
    /// Its file.
    pub rel: RelPath,
}

/// One entry of the metadata to write.
#[derive(Debug, Clone)]
pub struct ListedEntry {
    /// The key.
    pub key: String,
    /// Its file.
    pub rel: RelPath,
    /// The build it names.
    pub build: Option<String>,
    /// Whether it came from this sync's upstream (else from the mirror's own metadata).
    pub from_upstream: bool,
    /// The JSON object, URL relative, `build` and `sha256` filled in.
    pub entry: Map<String, Value>,
}

/// Picks, for every key of `upstream` and `existing`, the newest build
/// whose file is verified. `verified(rel, expected)` gives the file's sha256
/// when it is present and (if `expected` is given) matches it. On a tie the
/// upstream entry wins, so its fields are the fresher ones.
pub fn merge(
    upstream: &[Placed],
    existing: &[Placed],
    verified: &dyn Fn(&RelPath, Option<&str>) -> Option<String>,
) -> Vec<ListedEntry> {
    let mut order: Vec<String> = Vec::new();
    let mut best: HashMap<String, ListedEntry> = HashMap::new();
    let candidates = upstream
        .iter()
        .map(|p| (p, true))
        .chain(existing.iter().map(|p| (p, false)));
    for (placed, from_upstream) in candidates {
        let d = &placed.download;
        let Some(sha256) = verified(&placed.rel, d.sha256.as_deref()) else {
            continue;
        };
        let better = match best.get(&d.key) {
            None => true,
            Some(current) => compare_builds(d.build.as_deref(), current.build.as_deref()).is_gt(),
        };
        if !better {
            continue;
        }
        let mut entry = d.raw.clone();
        entry.insert("url".into(), Value::String(placed.rel.url()));
        entry.insert("sha256".into(), Value::String(sha256));
        if let Some(build) = &d.build
            && entry.get("build").is_none_or(Value::is_null)
        {
            entry.insert("build".into(), Value::String(build.clone()));
        }
        if !best.contains_key(&d.key) {
            order.push(d.key.clone());
        }
        best.insert(
            d.key.clone(),
            ListedEntry {
                key: d.key.clone(),
                rel: placed.rel.clone(),
                build: d.build.clone(),
                from_upstream,
                entry,
            },
        );
    }
    let mut chosen: Vec<ListedEntry> = order
        .into_iter()
        .filter_map(|key| best.remove(&key))
        .collect();
    // uv takes the first entry that satisfies a request, and its own list is
    // newest first: keep implementations in the order they first appear,
    // newest version first within each.
    let mut rank: HashMap<String, usize> = HashMap::new();
    for c in &chosen {
        let next = rank.len();
        rank.entry(name_of(&c.entry)).or_insert(next);
    }
    chosen.sort_by(|a, b| {
        rank[&name_of(&a.entry)]
            .cmp(&rank[&name_of(&b.entry)])
            .then_with(|| PythonVersion::of_entry(&b.entry).cmp(&PythonVersion::of_entry(&a.entry)))
    });
    chosen
}

fn name_of(entry: &Map<String, Value>) -> String {
    entry
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The document's bytes (pretty JSON, as uv's own file).
pub fn render(chosen: &[ListedEntry]) -> Vec<u8> {
    /// Serialises the entries in order without copying them into a new map.
    struct Document<'a>(&'a [ListedEntry]);
    impl serde::Serialize for Document<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_map(self.0.iter().map(|c| (&c.key, &c.entry)))
        }
    }
    let mut bytes = serde_json::to_vec_pretty(&Document(chosen)).expect("JSON always serialises");
    bytes.push(b'\n');
    bytes
}

/// Writes `bytes` to `path` atomically, readable by the web server
/// ([`crate::fsutil::write_public`]), unless it already holds them, so an
/// unchanged mirror keeps its mtime (and its ETag on most servers). A file
/// left private by an earlier version is rewritten all the same.
/// Returns whether the file was written.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) && !crate::fsutil::public::is_private(path)
    {
        return Ok(false);
    }
    crate::fsutil::write_public(path, bytes)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use url::Url;

    fn placed(key: &str, minor: u64, build: &str, sha: char) -> Placed {
        let mut raw = Map::new();
        raw.insert("name".into(), "cpython".into());
        raw.insert("major".into(), 3.into());
        raw.insert("minor".into(), minor.into());
        raw.insert("patch".into(), 1.into());
        raw.insert("url".into(), "https://up.example/x".into());
        Placed {
            download: Download {
                key: key.into(),
                name: "cpython".into(),
                version: PythonVersion {
                    release: (3, minor, 1),
                    pre: String::new(),
                },
                os: "linux".into(),
                arch: "x86_64".into(),
                libc: "gnu".into(),
                variant: None,
                build: Some(build.into()),
                sha256: Some(sha.to_string().repeat(64)),
                url: Url::parse("https://up.example/x").unwrap(),
                raw,
            },
            rel: RelPath::from_segments(&[build, &format!("cpython-3.{minor}.1+{build}.tar.gz")])
                .unwrap(),
        }
    }

    #[test]
    fn newest_verified_build_wins_and_older_ones_stay() {
        let upstream = vec![
            placed("k12", 12, "20250201", 'b'),
            placed("k13", 13, "20250201", 'c'),
        ];
        let existing = vec![
            placed("k12", 12, "20250101", 'a'),
            placed("k11", 11, "20250101", 'd'),
            placed("k13", 13, "20250301", 'e'),
        ];
        let all_good = |_: &RelPath, sha: Option<&str>| sha.map(str::to_string);
        let chosen = merge(&upstream, &existing, &all_good);
        let summary: Vec<(&str, &str, bool)> = chosen
            .iter()
            .map(|c| (c.key.as_str(), c.build.as_deref().unwrap(), c.from_upstream))
            .collect();
        // Newest minor first; k13 keeps the mirror's newer build.
        assert_eq!(
            summary,
            [
                ("k13", "20250301", false),
                ("k12", "20250201", true),
                ("k11", "20250101", false)
            ]
        );
        assert_eq!(
            chosen[1].entry["url"],
            "20250201/cpython-3.12.1%2B20250201.tar.gz"
        );
    }

    #[test]
    fn unverified_files_are_left_out() {
        let upstream = vec![placed("k12", 12, "20250201", 'b')];
        let existing = vec![placed("k12", 12, "20250101", 'a')];
        let only_old = |rel: &RelPath, sha: Option<&str>| {
            rel.as_str()
                .starts_with("20250101")
                .then(|| sha.unwrap().to_string())
        };
        let chosen = merge(&upstream, &existing, &only_old);
        assert_eq!(chosen.len(), 1);
        assert_eq!(chosen[0].build.as_deref(), Some("20250101"));
        let none = |_: &RelPath, _: Option<&str>| None;
        assert!(merge(&upstream, &existing, &none).is_empty());
    }

    #[test]
    fn unchanged_file_is_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        assert!(write_if_changed(&path, b"{}\n").unwrap());
        assert!(!write_if_changed(&path, b"{}\n").unwrap());
        assert!(write_if_changed(&path, b"{ }\n").unwrap());
    }
}
