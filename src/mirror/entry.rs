//! One download of uv's metadata, parsed into the fields the mirror filters,
//! lays out and compares on. The JSON object itself is kept as it came
//! ([`Download::raw`]), so fields this version does not know pass through to
//! the mirror's metadata untouched.

use std::cmp::Ordering;

use serde_json::{Map, Value};
use url::Url;

use super::layout;
use crate::metadata::document;
use crate::metadata::rules::{Policy, Rewrite};
use crate::metadata::schema::{self, MetadataError};

/// A Python version as an entry states it: `major.minor.patch` plus an
/// optional pre-release tag (`rc2`, `b1`, `a3`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonVersion {
    /// `(major, minor, patch)`.
    pub release: (u64, u64, u64),
    /// The pre-release tag; empty for a final release.
    pub pre: String,
}

impl PythonVersion {
    /// The version an entry of uv's metadata states (`major`, `minor`,
    /// `patch`, `prerelease`); a missing field counts as 0 or empty.
    pub fn of_entry(entry: &Map<String, Value>) -> PythonVersion {
        let number = |field: &str| entry.get(field).and_then(Value::as_u64).unwrap_or(0);
        PythonVersion {
            release: (number("major"), number("minor"), number("patch")),
            pre: entry
                .get("prerelease")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        }
    }

    /// Whether this is a pre-release.
    pub fn is_pre(&self) -> bool {
        !self.pre.is_empty()
    }
}

impl std::fmt::Display for PythonVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (major, minor, patch) = self.release;
        write!(f, "{major}.{minor}.{patch}{}", self.pre)
    }
}

/// Orders pre-release tags: `a` < `b` < `rc` < anything else, then by number;
/// a final release (empty tag) above them all.
pub fn compare_pre(a: &str, b: &str) -> Ordering {
    fn key(tag: &str) -> (u8, String, u64) {
        if tag.is_empty() {
            return (u8::MAX, String::new(), 0);
        }
        let split = tag.find(|c: char| c.is_ascii_digit()).unwrap_or(tag.len());
        let (kind, number) = tag.split_at(split);
        let rank = match kind {
            "a" | "alpha" => 0,
            "b" | "beta" => 1,
            "rc" | "c" => 2,
            _ => 3,
        };
        (rank, kind.to_string(), number.parse().unwrap_or(0))
    }
    key(a).cmp(&key(b))
}

impl Ord for PythonVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.release
            .cmp(&other.release)
            .then_with(|| compare_pre(&self.pre, &other.pre))
    }
}

impl PartialOrd for PythonVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// One entry of a `download-metadata.json`.
#[derive(Debug, Clone)]
pub struct Download {
    /// The entry's key, e.g. `cpython-3.12.8-linux-x86_64-gnu`.
    pub key: String,
    /// `cpython`, `pypy`, `graalpy`, `pyodide`.
    pub name: String,
    /// The Python version.
    pub version: PythonVersion,
    /// uv's `os`.
    pub os: String,
    /// `arch.family`, with `_<arch.variant>` when there is one (`x86_64_v3`).
    pub arch: String,
    /// uv's `libc`.
    pub libc: String,
    /// `freethreaded`, `debug`, …; `None` for the default build.
    pub variant: Option<String>,
    /// The build tag (`20250115`, `7.3.17`), stated or derived from the URL.
    pub build: Option<String>,
    /// The published sha256, lowercase hex.
    pub sha256: Option<String>,
    /// The absolute download URL.
    pub url: Url,
    /// The entry as it came, every field included.
    pub raw: Map<String, Value>,
}

/// Validates a metadata document with the shim's own rules and parses it,
/// keeping the document's order. Relative URLs are resolved against
/// `source`; entries keep their URLs wherever they point (sync and verify
/// judge those themselves). One entry is parsed at a time.
pub fn parse_document(body: &[u8], source: &Url) -> Result<Vec<Download>, MetadataError> {
    parse_document_with_drops(body, source).map(|(downloads, _)| downloads)
}

/// [`parse_document`], with the entries it left out (those uv itself would
/// skip, such as an unknown `os`) and why.
pub fn parse_document_with_drops(
    body: &[u8],
    source: &Url,
) -> Result<(Vec<Download>, schema::Drops), MetadataError> {
    let validated = schema::validate(body, source, &Rewrite::default(), &Policy::anywhere())?;
    let mut downloads = Vec::with_capacity(validated.entries);
    let walked = document::for_each_entry(&validated.json, |key, raw| {
        let entry: Map<String, Value> =
            serde_json::from_str(raw.get()).expect("validated entries are objects");
        downloads.push(from_validated(key, entry));
        Ok::<(), std::convert::Infallible>(())
    });
    assert!(walked.is_ok(), "validated metadata is an object of entries");
    Ok((downloads, validated.dropped))
}

/// Builds a [`Download`] from an entry that passed [`crate::metadata::schema::validate`].
fn from_validated(key: String, raw: Map<String, Value>) -> Download {
    let text = |map: &Map<String, Value>, field: &str| -> Option<String> {
        map.get(field)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let arch = match raw.get("arch") {
        Some(Value::Object(arch)) => {
            let family = text(arch, "family").unwrap_or_default();
            match text(arch, "variant") {
                Some(variant) => format!("{family}_{variant}"),
                None => family,
            }
        }
        _ => String::new(),
    };
    let url = text(&raw, "url")
        .and_then(|u| Url::parse(&u).ok())
        .expect("validated entries have an absolute URL");
    let name = text(&raw, "name").unwrap_or_default();
    let build = text(&raw, "build").or_else(|| derive_build(&name, &url));
    Download {
        version: PythonVersion::of_entry(&raw),
        os: text(&raw, "os").unwrap_or_default(),
        libc: text(&raw, "libc").unwrap_or_default(),
        variant: text(&raw, "variant"),
        sha256: text(&raw, "sha256").map(|s| s.to_ascii_lowercase()),
        arch,
        build,
        name,
        url,
        key,
        raw,
    }
}

/// The build tag of an entry that does not state one (older metadata): the
/// release folder of a CPython URL, the `v7.3.17` part of a PyPy file name.
fn derive_build(name: &str, url: &Url) -> Option<String> {
    let segments: Vec<String> = layout::decoded_segments(url);
    let file = segments.last()?;
    match name {
        "cpython" => {
            let tag = segments.iter().rev().nth(1)?;
            // `cpython-3.12.8+20250115-…`: the tag after `+` is the build.
            let from_file = file
                .split_once('+')
                .and_then(|(_, rest)| rest.split('-').next())
                .filter(|t| !t.is_empty());
            from_file.map(str::to_string).or_else(|| Some(tag.clone()))
        }
        "pypy" => file
            .split('-')
            .find(|part| {
                part.starts_with('v') && part[1..].starts_with(|c: char| c.is_ascii_digit())
            })
            .map(|part| part[1..].to_string()),
        _ => None,
    }
}

/// Orders build tags: dotted or plain numbers numerically (`7.3.9` <
/// `7.3.20`, `20240107` < `20250115`), other parts as text; a missing tag
/// below every tag.
pub fn compare_builds(a: Option<&str>, b: Option<&str>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => {
            let parts = |s: &str| -> Vec<(u64, String)> {
                s.split(|c: char| !c.is_ascii_alphanumeric())
                    .map(|p| match p.parse::<u64>() {
                        Ok(n) => (n, String::new()),
                        Err(_) => (0, p.to_string()),
                    })
                    .collect()
            };
            parts(a).cmp(&parts(b)).then_with(|| a.cmp(b))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(major: u64, minor: u64, patch: u64, pre: &str) -> PythonVersion {
        PythonVersion {
            release: (major, minor, patch),
            pre: pre.into(),
        }
    }

    #[test]
    fn finals_rank_above_prereleases() {
        assert!(v(3, 14, 0, "") > v(3, 14, 0, "rc2"));
        assert!(v(3, 14, 0, "rc10") > v(3, 14, 0, "rc2"));
        assert!(v(3, 14, 0, "rc1") > v(3, 14, 0, "b3"));
        assert!(v(3, 14, 0, "b1") > v(3, 14, 0, "a7"));
        assert!(v(3, 13, 9, "") < v(3, 14, 0, "a1"));
        assert_eq!(v(3, 14, 0, "rc2").to_string(), "3.14.0rc2");
    }

    #[test]
    fn builds_compare_numerically() {
        assert_eq!(
            compare_builds(Some("7.3.9"), Some("7.3.20")),
            Ordering::Less
        );
        assert_eq!(
            compare_builds(Some("20250115"), Some("20240107")),
            Ordering::Greater
        );
        assert_eq!(compare_builds(None, Some("1")), Ordering::Less);
        assert_eq!(compare_builds(Some("x"), Some("x")), Ordering::Equal);
    }

    #[test]
    fn builds_are_derived_from_urls() {
        let url = Url::parse(
            "https://github.com/astral-sh/python-build-standalone/releases/download/20250115/cpython-3.12.8%2B20250115-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz",
        )
        .unwrap();
        assert_eq!(derive_build("cpython", &url).as_deref(), Some("20250115"));
        let url = Url::parse("https://downloads.python.org/pypy/pypy3.10-v7.3.17-linux64.tar.bz2")
            .unwrap();
        assert_eq!(derive_build("pypy", &url).as_deref(), Some("7.3.17"));
    }

    #[test]
    fn parses_uv_entries() {
        let doc = serde_json::json!({
            "cpython-3.13.1+freethreaded-linux-x86_64_v3-gnu": {
                "name": "cpython",
                "arch": {"family": "x86_64", "variant": "v3"},
                "os": "linux", "libc": "gnu",
                "major": 3, "minor": 13, "patch": 1, "prerelease": "",
                "url": "https://github.com/astral-sh/python-build-standalone/releases/download/20250115/cpython-3.13.1%2B20250115-x86_64_v3-unknown-linux-gnu-freethreaded%2Bpgo%2Blto-full.tar.zst",
                "sha256": "AB".repeat(32),
                "variant": "freethreaded",
                "future": 1
            }
        });
        let source = Url::parse("https://up.example/download-metadata.json").unwrap();
        let parsed = parse_document(doc.to_string().as_bytes(), &source).unwrap();
        let d = &parsed[0];
        assert_eq!(d.arch, "x86_64_v3");
        assert_eq!(d.variant.as_deref(), Some("freethreaded"));
        assert_eq!(d.build.as_deref(), Some("20250115"));
        assert_eq!(d.sha256.as_deref(), Some("ab".repeat(32).as_str()));
        assert_eq!(d.version, v(3, 13, 1, ""));
        assert_eq!(d.raw["future"], 1);
    }
}
