//! URL rules shared by config, discovery and metadata: which schemes the
//! shim fetches, how a mirror base names its metadata file, the upstream
//! prefixes of uv's own download list.

use url::Url;

/// Name of the metadata file inside a mirror.
pub const METADATA_FILE: &str = "download-metadata.json";
/// The metadata's minisign signature, beside it (issue 13).
pub const SIGNATURE_FILE: &str = "download-metadata.json.minisig";

/// The prefix of CPython downloads in uv's built-in list; `UV_PYTHON_INSTALL_MIRROR` replaces it.
pub const UPSTREAM_CPYTHON: &str =
    "https://github.com/astral-sh/python-build-standalone/releases/download/";

/// The same CPython releases on Astral's own release host; newer upstream lists use it.
pub const UPSTREAM_CPYTHON_ASTRAL: &str =
    "https://releases.astral.sh/github/python-build-standalone/releases/download/";

/// Where older uv lists (before python-build-standalone moved to astral-sh)
/// name CPython builds; GitHub redirects it to [`UPSTREAM_CPYTHON`].
pub const UPSTREAM_CPYTHON_INDYGREG: &str =
    "https://github.com/indygreg/python-build-standalone/releases/download/";

/// The prefix of PyPy downloads in uv's built-in list; `UV_PYPY_INSTALL_MIRROR` replaces it.
pub const UPSTREAM_PYPY: &str = "https://downloads.python.org/pypy/";

/// The prefix of GraalPy downloads in uv's list, followed by `<release tag>/<file>`.
pub const UPSTREAM_GRAALPY: &str = "https://github.com/oracle/graalpython/releases/download/";

/// The prefix of Pyodide downloads in uv's list, followed by `<release tag>/<file>`.
pub const UPSTREAM_PYODIDE: &str = "https://github.com/pyodide/pyodide/releases/download/";

/// Parses a URL the shim can fetch: `http`, `https` or `file`. An absolute
/// path is taken as a `file` URL.
pub fn parse_fetchable(raw: &str) -> Result<Url, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("it is empty".into());
    }
    if std::path::Path::new(raw).is_absolute() && !raw.contains("://") {
        return Url::from_file_path(raw).map_err(|()| "not an absolute path".to_string());
    }
    let url = Url::parse(raw).map_err(|err| err.to_string())?;
    match url.scheme() {
        "http" | "https" | "file" => Ok(url),
        other => Err(format!(
            "scheme `{other}` is not supported (use https, http or file)"
        )),
    }
}

/// The base with exactly one trailing slash, so joining keeps its last segment.
pub fn as_base(url: &Url) -> Url {
    let mut base = url.clone();
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base
}

/// `<base>/download-metadata.json`.
pub fn metadata_url_of(base: &Url) -> Url {
    as_base(base)
        .join(METADATA_FILE)
        .expect("joining a plain file name onto a base URL cannot fail")
}

/// The base as text without a trailing slash, as uv's mirror variables expect.
pub fn mirror_value(base: &Url) -> String {
    base.as_str().trim_end_matches('/').to_string()
}

/// The download list uv itself publishes (its built-in `download-metadata.json`):
/// what `uv-shim mirror sync` copies when no `--from` is given.
pub const UPSTREAM_METADATA: &str =
    "https://raw.githubusercontent.com/astral-sh/uv/main/crates/uv-python/download-metadata.json";

/// The built-in download list of uv `version` in uv's repository, at that
/// release tag: where `mirror sync --for-uv` reads it without `--uv-lists`.
pub fn builtin_list_of_uv(version: &str) -> String {
    format!(
        "https://raw.githubusercontent.com/astral-sh/uv/{version}/crates/uv-python/download-metadata.json"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_url_keeps_last_segment() {
        let base = Url::parse("https://m.example/uv").unwrap();
        assert_eq!(
            metadata_url_of(&base).as_str(),
            "https://m.example/uv/download-metadata.json"
        );
        let base = Url::parse("https://m.example/uv/").unwrap();
        assert_eq!(
            metadata_url_of(&base).as_str(),
            "https://m.example/uv/download-metadata.json"
        );
    }

    #[test]
    fn paths_become_file_urls() {
        // An absolute path of this platform: `/srv` has no drive on Windows.
        #[cfg(unix)]
        let (path, url) = ("/srv/mirror", "file:///srv/mirror");
        #[cfg(windows)]
        let (path, url) = (r"C:\srv\my mirror", "file:///C:/srv/my%20mirror");
        assert_eq!(parse_fetchable(path).unwrap().as_str(), url);
    }

    #[test]
    fn other_schemes_are_refused() {
        assert!(
            parse_fetchable("ftp://x.example/")
                .unwrap_err()
                .contains("ftp")
        );
        assert!(parse_fetchable("").is_err());
    }
}
