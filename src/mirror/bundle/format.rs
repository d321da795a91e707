//! What a bundle of `mirror export` holds and how it is laid out: the
//! names of its tar entries and its manifest, a [`record`] that lists every
//! file the carried metadata names (size, sha256, and whether the bundle
//! carries it or the other side must already hold it).
//!
//! The same record, kept under `<dest>/.uv-shim/`, is what the next
//! `export --since last` compares with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::fsutil::{Record, record};
use crate::mirror::layout::{RelPath, STATE_DIR};

/// The first tar entry of every bundle: its manifest.
pub const MANIFEST_ENTRY: &str = ".uv-shim-bundle/manifest";
/// The last tar entry: the sha256 of every byte of the bundle before it.
pub const END_ENTRY: &str = ".uv-shim-bundle/end";
/// The folder of the carried files inside the tar.
pub const FILES_PREFIX: &str = "files/";
/// The carried signature of the metadata, when the mirror has one.
pub const SIGNATURE_FILE: &str = "download-metadata.json.minisig";

const KIND: &str = "bundle";
const VERSION: &str = "1";

/// One file the metadata names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Lowercase hex sha256.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Whether the bundle carries it (else the other side holds it already).
    pub carried: bool,
}

/// A small file carried whole (the metadata, its signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Small {
    /// Lowercase hex sha256.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// The manifest of one bundle (or the record an export leaves behind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleManifest {
    /// This export's id: the sha256 of its metadata and time.
    pub id: String,
    /// The id of the export it is a delta of.
    pub since: Option<String>,
    /// The metadata it carries.
    pub metadata: Small,
    /// The signature it carries.
    pub signature: Option<Small>,
    /// Every file the metadata names.
    pub files: BTreeMap<RelPath, Listed>,
}

impl BundleManifest {
    /// Where an export leaves its record in the mirror at `dest`.
    pub fn last_path(dest: &Path) -> PathBuf {
        dest.join(STATE_DIR).join("last-export")
    }

    /// The record's text.
    pub fn to_text(&self) -> String {
        let mut r = Record::new(KIND, VERSION);
        r.push("id", &self.id);
        r.push_some("since", self.since.as_ref());
        r.push(
            "metadata",
            format_args!("{} {}", self.metadata.sha256, self.metadata.size),
        );
        if let Some(sig) = &self.signature {
            r.push("signature", format_args!("{} {}", sig.sha256, sig.size));
        }
        for (rel, f) in &self.files {
            let how = if f.carried { "carried" } else { "base" };
            r.push("file", format_args!("{} {} {how} {rel}", f.sha256, f.size));
        }
        r.into_text()
    }

    /// Parses a manifest; the error says which line is wrong.
    pub fn parse(text: &str) -> Result<BundleManifest, String> {
        let lines = record::lines(KIND, VERSION, text)
            .ok_or("it is not a uv-shim bundle manifest (format 1)")?;
        let (mut id, mut since, mut metadata, mut signature) = (None, None, None, None);
        let mut files = BTreeMap::new();
        for (key, value) in lines {
            let bad = || format!("bad `{key}` line: {value}");
            match key {
                "id" => id = Some(value.to_string()),
                "since" => since = Some(value.to_string()),
                "metadata" => metadata = Some(small(&value).ok_or_else(bad)?),
                "signature" => signature = Some(small(&value).ok_or_else(bad)?),
                "file" => {
                    let mut f = value.splitn(4, ' ');
                    let (Some(sha), Some(size), Some(how), Some(path)) =
                        (f.next(), f.next(), f.next(), f.next())
                    else {
                        return Err(bad());
                    };
                    let rel = RelPath::from_segments(&path.split('/').collect::<Vec<_>>())
                        .map_err(|why| format!("bad path {path:?}: {why}"))?;
                    let size = size.parse().map_err(|_| bad())?;
                    if !is_sha256(sha) || !matches!(how, "carried" | "base") {
                        return Err(bad());
                    }
                    let carried = how == "carried";
                    files.insert(
                        rel,
                        Listed {
                            sha256: sha.to_string(),
                            size,
                            carried,
                        },
                    );
                }
                _ => {}
            }
        }
        Ok(BundleManifest {
            id: id.ok_or("no `id` line")?,
            since,
            metadata: metadata.ok_or("no `metadata` line")?,
            signature,
            files,
        })
    }

    /// The files the bundle carries, with their size.
    pub fn carried(&self) -> impl Iterator<Item = (&RelPath, &Listed)> {
        self.files.iter().filter(|(_, f)| f.carried)
    }
}

fn small(value: &str) -> Option<Small> {
    let (sha, size) = value.split_once(' ')?;
    is_sha256(sha).then_some(())?;
    Some(Small {
        sha256: sha.to_string(),
        size: size.parse().ok()?,
    })
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_names_a_bad_line() {
        let sha = "a".repeat(64);
        let mut files = BTreeMap::new();
        let rel =
            RelPath::from_segments(&["20250101", "cpython-3.12.8+20250101-x.tar.gz"]).unwrap();
        files.insert(
            rel,
            Listed {
                sha256: sha.clone(),
                size: 7,
                carried: true,
            },
        );
        let m = BundleManifest {
            id: "b".repeat(64),
            since: Some("c".repeat(64)),
            metadata: Small {
                sha256: sha.clone(),
                size: 3,
            },
            signature: None,
            files,
        };
        assert_eq!(BundleManifest::parse(&m.to_text()).unwrap(), m);
        let broken = m.to_text().replace(" 7 carried", " seven carried");
        assert!(
            BundleManifest::parse(&broken)
                .unwrap_err()
                .contains("bad `file` line")
        );
        assert!(BundleManifest::parse("{}").is_err());
    }
}
