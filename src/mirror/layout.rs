//! Where a download lives inside the mirror (the "Mirror layout" of the
//! design contract), and how the mirror's metadata names it.
//!
//! ```text
//! <dest>/<release tag>/<cpython file>   the path after `releases/download/` upstream
//! <dest>/pypy/<pypy file>
//! <dest>/<name>/<file>                  graalpy, pyodide and any other implementation
//! ```
//!
//! File names hold a literal `+`; the metadata's relative URLs spell it
//! `%2B`, as upstream does, so every static server and object store maps
//! the URL back to the same file.
//!
//! The lowest layer of the mirror modules: it imports none of them, and the
//! names every other module agrees on ([`STATE_DIR`], [`PART_SUFFIX`]) live here.

use std::path::{Component, Path, PathBuf};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use url::Url;

/// RFC 3986's unreserved characters and the path separator; every other
/// byte of a path is percent-encoded in the metadata's URLs.
const KEPT_IN_URLS: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// The folder of the mirror's own state, hidden from servers' listings and from pruning.
pub const STATE_DIR: &str = ".uv-shim";

/// Suffix of the file a download streams into.
pub const PART_SUFFIX: &str = ".part";

/// A file's path relative to the mirror root: `/`-separated, every segment
/// a plain visible name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelPath(String);

impl RelPath {
    /// Builds a path from segments, refusing anything that could leave the
    /// mirror or clash with its own files (hidden names, `.part`).
    pub fn from_segments<S: AsRef<str>>(segments: &[S]) -> Result<RelPath, String> {
        if segments.is_empty() {
            return Err("the path is empty".into());
        }
        for segment in segments {
            let segment = segment.as_ref();
            if segment.is_empty()
                || segment.starts_with('.')
                || segment.contains(['/', '\\', '\0'])
                || segment.ends_with(PART_SUFFIX)
            {
                return Err(format!("`{segment}` is not a usable file or folder name"));
            }
        }
        let joined: Vec<&str> = segments.iter().map(AsRef::as_ref).collect();
        Ok(RelPath(joined.join("/")))
    }

    /// The path of a file below `root`, if it is one.
    pub fn from_path(root: &Path, path: &Path) -> Option<RelPath> {
        let rest = path.strip_prefix(root).ok()?;
        let mut segments = Vec::new();
        for component in rest.components() {
            match component {
                Component::Normal(name) => segments.push(name.to_str()?.to_string()),
                _ => return None,
            }
        }
        RelPath::from_segments(&segments).ok()
    }

    /// The path of the file a resolved `file` URL below `root` points at.
    pub fn from_file_url(root: &Path, url: &Url) -> Option<RelPath> {
        if url.scheme() != "file" {
            return None;
        }
        RelPath::from_path(root, &url.to_file_path().ok()?)
    }

    /// A path for listing only (a stray file's name may not pass the checks).
    pub fn unchecked(text: String) -> RelPath {
        RelPath(text)
    }

    /// The path as text, `/`-separated.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file below `root`.
    pub fn under(&self, root: &Path) -> PathBuf {
        let mut path = root.to_path_buf();
        path.extend(self.0.split('/'));
        path
    }

    /// The URL relative to the mirror's metadata file: every byte outside
    /// RFC 3986's unreserved set percent-encoded, so `+` becomes `%2B`.
    pub fn url(&self) -> String {
        utf8_percent_encode(&self.0, KEPT_IN_URLS).to_string()
    }

    /// The file name (last segment).
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }
}

impl std::fmt::Display for RelPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The percent-decoded path segments of a URL (`%2B` becomes `+`).
pub fn decoded_segments(url: &Url) -> Vec<String> {
    url.path_segments()
        .map(|segments| {
            segments
                .map(|s| {
                    percent_encoding::percent_decode_str(s)
                        .decode_utf8()
                        .map_or_else(|_| s.to_string(), |d| d.into_owned())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Where the download of implementation `name` (`cpython`, `pypy`…),
/// build `build`, from `url` lives in the mirror.
pub fn rel_path_for(name: &str, build: Option<&str>, url: &Url) -> Result<RelPath, String> {
    let segments = decoded_segments(url);
    let Some(file) = segments.last().filter(|f| !f.is_empty()) else {
        return Err(format!(
            "the URL {} names no file",
            crate::redact::url(url.as_str())
        ));
    };
    match name {
        "cpython" => {
            // Upstream: …/releases/download/<tag>/<file>; keep that tail so
            // `UV_PYTHON_INSTALL_MIRROR=<dest>` works for uv's built-in list.
            let release = segments
                .windows(2)
                .position(|w| w[0] == "releases" && w[1] == "download")
                .filter(|at| at + 4 == segments.len());
            match (release, build) {
                (Some(at), _) => RelPath::from_segments(&segments[at + 2..]),
                (None, Some(build)) => RelPath::from_segments(&[build, file]),
                (None, None) if segments.len() >= 2 => {
                    RelPath::from_segments(&segments[segments.len() - 2..])
                }
                (None, None) => RelPath::from_segments(&["cpython", file.as_str()]),
            }
        }
        name => RelPath::from_segments(&[name, file.as_str()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where a download of `name` from `url` goes.
    fn place(name: &str, url: &str, build: Option<&str>) -> Result<RelPath, String> {
        rel_path_for(name, build, &Url::parse(url).unwrap())
    }

    #[test]
    fn cpython_keeps_the_release_path_with_a_literal_plus() {
        let placed = place(
            "cpython",
            "https://github.com/astral-sh/python-build-standalone/releases/download/20250115/cpython-3.12.8%2B20250115-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz",
            Some("20250115"),
        );
        let rel = placed.unwrap();
        assert_eq!(
            rel.as_str(),
            "20250115/cpython-3.12.8+20250115-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz"
        );
        assert_eq!(
            rel.url(),
            "20250115/cpython-3.12.8%2B20250115-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz"
        );
    }

    #[test]
    fn cpython_elsewhere_goes_under_its_build() {
        let placed = place(
            "cpython",
            "http://127.0.0.1:9/x/y/cpython-3.12.8%2Bb1-t.tar.gz",
            Some("b1"),
        );
        assert_eq!(placed.unwrap().as_str(), "b1/cpython-3.12.8+b1-t.tar.gz");
    }

    #[test]
    fn pypy_and_graalpy_get_their_own_folder() {
        for (name, url, rel) in [
            (
                "pypy",
                "https://downloads.python.org/pypy/pypy3.10-v7.3.17-linux64.tar.bz2",
                "pypy/pypy3.10-v7.3.17-linux64.tar.bz2",
            ),
            (
                "graalpy",
                "https://github.com/oracle/graalpython/releases/download/graal-24.1.1/graalpy-24.1.1-linux-amd64.tar.gz",
                "graalpy/graalpy-24.1.1-linux-amd64.tar.gz",
            ),
        ] {
            assert_eq!(place(name, url, None).unwrap().as_str(), rel);
        }
    }

    #[test]
    fn escaping_names_are_refused() {
        assert!(RelPath::from_segments(&["..", "x"]).is_err());
        assert!(RelPath::from_segments(&["a", ".hidden"]).is_err());
        assert!(RelPath::from_segments(&["a", "b.part"]).is_err());
        let placed = place("pypy", "https://h.example/pypy/%2E%2E", None);
        assert!(placed.is_err());
        let placed = place("pypy", "https://h.example/pypy/a%2Fb", None);
        assert!(placed.is_err());
    }

    #[test]
    fn urls_encode_all_but_unreserved_bytes() {
        let rel = RelPath::unchecked("a b/\u{e9}~x+y-z_1.tar".into());
        assert_eq!(rel.url(), "a%20b/%C3%A9~x%2By-z_1.tar");
    }

    #[test]
    fn paths_round_trip() {
        let root = Path::new("/srv/mirror");
        let rel = RelPath::from_segments(&["20250115", "a+b.tar.gz"]).unwrap();
        let path = rel.under(root);
        assert_eq!(RelPath::from_path(root, &path), Some(rel));
        assert_eq!(RelPath::from_path(root, Path::new("/elsewhere/x")), None);
    }
}
