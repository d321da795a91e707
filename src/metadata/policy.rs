//! Where the entries of one document may point, carried out: upstream URLs
//! rewritten to the mirror's layout, then every URL confined to the mirror
//! (DESIGN "Upstream URLs are rewritten", "Where entries may point").
//!
//! An entry that fails is dropped with a [`DropReason`], never the whole
//! document: one bad entry must not switch a fleet off the mirror. Only a
//! document that loses every entry is a bad answer (see `schema`). Values
//! uv itself would skip are dropped the same way, with a reason of their
//! own ([`DropReason::UnknownToUv`]).

use std::fmt;

use url::{Host, Url};

use super::rules::{Policy, Rewrite, Scope};
use crate::urls::{
    UPSTREAM_CPYTHON, UPSTREAM_CPYTHON_ASTRAL, UPSTREAM_CPYTHON_INDYGREG, UPSTREAM_GRAALPY,
    UPSTREAM_PYODIDE, UPSTREAM_PYPY, as_base, metadata_url_of,
};

/// Why an entry is not handed to uv. URLs are shown redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// `//host/x` or `\\host\share\x`: it would name another host (or a
    /// Windows share) once resolved; refused as written, never rewritten.
    NetworkPath(String),
    /// A `file` URL from a mirror that is not a `file` mirror.
    LocalFile(String),
    /// Plain `http` from a mirror that is not `http`.
    PlainHttp(String),
    /// An encoded `/` or `\` in the path, which a server may decode into a
    /// separator and so leave the mirror's folder.
    EncodedSeparator(String),
    /// Neither under a mirror base nor on an allowed host.
    OffMirror(String),
    /// No sha256 while `require-sha256` holds.
    NoSha256,
    /// A value uv itself skips the entry for (an unknown `os`, `libc`,
    /// `arch`, `variant` or implementation).
    UnknownToUv {
        /// The field (`arch.family`).
        field: &'static str,
        /// Its value, as written.
        value: String,
    },
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::NetworkPath(url) => write!(
                f,
                "url `{url}` names a host or share by itself (`//host` or `\\\\host`); refused"
            ),
            DropReason::LocalFile(url) => write!(
                f,
                "url {url} is a local file, and the mirror is not a file mirror"
            ),
            DropReason::PlainHttp(url) => {
                write!(f, "url {url} is plain http, and the mirror is not http")
            }
            DropReason::EncodedSeparator(url) => write!(
                f,
                "url {url} holds an encoded `/` or `\\`, which could leave the mirror"
            ),
            DropReason::OffMirror(url) => write!(
                f,
                "url {url} lies outside the mirror, on a host not in `allowed-hosts`"
            ),
            DropReason::NoSha256 => f.write_str("no sha256 (`require-sha256` is on)"),
            DropReason::UnknownToUv { field, value } => write!(
                f,
                "`{field}` = `{}` is a value uv does not know (uv skips such entries)",
                value.escape_debug()
            ),
        }
    }
}

/// Whether a URL as written starts with two slashes or backslashes, in any
/// mix, once stripped the way URL parsers strip it (leading spaces and
/// control characters, tabs and line breaks anywhere).
pub fn is_network_path(raw: &str) -> bool {
    let mut chars = raw
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'));
    let slash = |c: Option<char>| matches!(c, Some('/' | '\\'));
    slash(chars.next()) && slash(chars.next())
}

/// A URL's host as `allowed-hosts` spells hosts: lower case, no trailing
/// dot, IPv6 without brackets.
pub fn host_of(url: &Url) -> Option<String> {
    match url.host()? {
        Host::Domain(name) => Some(name.trim_end_matches('.').to_ascii_lowercase()),
        Host::Ipv4(ip) => Some(ip.to_string()),
        Host::Ipv6(ip) => Some(ip.to_string()),
    }
}

/// Whether `url` lies in the folder `base` (which ends with `/`): same
/// scheme, host and port, and a path below; credentials, query and
/// fragment aside.
fn lies_under(url: &Url, base: &Url) -> bool {
    url.scheme() == base.scheme()
        && url.host() == base.host()
        && url.port_or_known_default() == base.port_or_known_default()
        && url.path().starts_with(base.path())
}

/// Where one document's entries may point, worked out once per document.
#[derive(Debug)]
pub struct Places<'r> {
    rewrite: &'r Rewrite,
    policy: &'r Policy,
    /// `(upstream prefix, mirror folder, whether a release tag follows the prefix)`.
    upstream: Vec<(&'static str, String, bool)>,
    /// The folders entries may lie under: the bases, `pypy-mirror`, the
    /// metadata's own folder (where its relative URLs resolve).
    folders: Vec<Url>,
}

impl<'r> Places<'r> {
    /// The places for a document fetched from `source`.
    pub fn new(rewrite: &'r Rewrite, policy: &'r Policy, source: &Url) -> Places<'r> {
        let folder = source.join(".").unwrap_or_else(|_| source.clone());
        // The mirror is the base whose metadata this is, else the first
        // base; a source that names no base is its own folder.
        let mirror = rewrite
            .bases
            .iter()
            .find(|base| metadata_url_of(base) == *source)
            .or(rewrite.bases.first())
            .map_or_else(|| folder.clone(), as_base);
        let pypy = rewrite
            .pypy_mirror
            .as_ref()
            .map_or_else(|| format!("{mirror}pypy/"), |p| as_base(p).to_string());
        let upstream = vec![
            (UPSTREAM_CPYTHON, mirror.to_string(), false),
            (UPSTREAM_CPYTHON_ASTRAL, mirror.to_string(), false),
            (UPSTREAM_CPYTHON_INDYGREG, mirror.to_string(), false),
            (UPSTREAM_PYPY, pypy, false),
            (UPSTREAM_GRAALPY, format!("{mirror}graalpy/"), true),
            (UPSTREAM_PYODIDE, format!("{mirror}pyodide/"), true),
        ];
        let mut folders: Vec<Url> = rewrite.bases.iter().map(as_base).collect();
        folders.extend(rewrite.pypy_mirror.as_ref().map(as_base));
        folders.push(folder);
        Places {
            rewrite,
            policy,
            upstream,
            folders,
        }
    }

    /// Whether entries are confined to the mirror at all.
    pub fn confined(&self) -> bool {
        self.policy.scope == Scope::Mirror
    }

    /// The mirror form of an entry's resolved URL: rewritten from upstream
    /// when it is an upstream URL, and checked; or why it is dropped.
    pub fn place(&self, resolved: Url) -> Result<Url, DropReason> {
        if !self.confined() {
            return Ok(resolved);
        }
        let url = self.in_mirror_layout(resolved);
        let shown = || crate::redact::url(url.as_str());
        let lower = url.path().to_ascii_lowercase();
        if lower.contains("%2f") || lower.contains("%5c") {
            return Err(DropReason::EncodedSeparator(shown()));
        }
        if self.folders.iter().any(|folder| lies_under(&url, folder)) {
            return Ok(url);
        }
        let mirror_is = |scheme: &str| self.folders.iter().any(|f| f.scheme() == scheme);
        match url.scheme() {
            "file" if !mirror_is("file") => return Err(DropReason::LocalFile(shown())),
            "http" if !mirror_is("http") => return Err(DropReason::PlainHttp(shown())),
            _ => {}
        }
        let allowed = url.scheme() != "file"
            && host_of(&url).is_some_and(|host| self.policy.allowed_hosts.contains(&host));
        if allowed {
            Ok(url)
        } else {
            Err(DropReason::OffMirror(shown()))
        }
    }

    /// Whether entries without a sha256 are dropped.
    pub fn require_sha256(&self) -> bool {
        self.policy.require_sha256
    }

    /// An upstream URL in the mirror's layout (the layout `mirror sync`
    /// writes); any other URL as it is.
    fn in_mirror_layout(&self, url: Url) -> Url {
        for (prefix, folder, tagged) in &self.upstream {
            let Some(rest) = url.as_str().strip_prefix(prefix) else {
                continue;
            };
            let file = match (tagged, rest.split_once('/')) {
                (false, _) => rest,
                (true, Some((_tag, file))) => file,
                // A release with no file after it: nothing to rewrite to.
                (true, None) => return url,
            };
            return Url::parse(&format!("{folder}{file}")).unwrap_or(url);
        }
        url
    }

    /// The URL uv gets for an entry of implementation `name` whose mirror
    /// form is `url`: the upstream form where uv applies a mirror itself.
    pub fn hand_over(&self, name: &str, url: Url) -> String {
        let text = url.as_str();
        let (upstream, folders): (&str, Vec<String>) = match name {
            "cpython" if self.rewrite.cpython_upstream => (UPSTREAM_CPYTHON, self.bases("")),
            "pypy" if self.rewrite.pypy_upstream => {
                let mut folders: Vec<String> = self
                    .rewrite
                    .pypy_mirror
                    .iter()
                    .map(|p| as_base(p).to_string())
                    .collect();
                folders.extend(self.bases("pypy/"));
                (UPSTREAM_PYPY, folders)
            }
            _ => return url.into(),
        };
        for folder in folders {
            if let Some(rest) = text.strip_prefix(&folder) {
                return format!("{upstream}{rest}");
            }
        }
        url.into()
    }

    /// `<base>/<sub>` for every base, else the metadata's own folder.
    fn bases(&self, sub: &str) -> Vec<String> {
        let bases: Vec<&Url> = if self.rewrite.bases.is_empty() {
            self.folders.last().into_iter().collect()
        } else {
            self.rewrite.bases.iter().collect()
        };
        bases
            .into_iter()
            .map(|base| format!("{}{sub}", as_base(base)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "https://m.example/uv/download-metadata.json";

    fn rewrite(bases: &[&str]) -> Rewrite {
        Rewrite {
            bases: bases.iter().map(|b| Url::parse(b).unwrap()).collect(),
            ..Rewrite::default()
        }
    }

    fn place(
        rewrite: &Rewrite,
        policy: &Policy,
        source: &str,
        raw: &str,
    ) -> Result<String, DropReason> {
        let source = Url::parse(source).unwrap();
        let places = Places::new(rewrite, policy, &source);
        places
            .place(source.join(raw).unwrap())
            .map(|url| url.to_string())
    }

    #[test]
    fn network_paths_are_recognised_however_spelt() {
        for raw in [
            "//h/x",
            "\\\\h\\s\\x",
            "/\\h/x",
            " \t//h/x",
            "/\t/h/x",
            "\u{1}//h",
        ] {
            assert!(is_network_path(raw), "{raw:?}");
        }
        for raw in ["/uv/x", "20250101/x", "https://h/x", "file:///x", "./x"] {
            assert!(!is_network_path(raw), "{raw:?}");
        }
    }

    #[test]
    fn upstream_urls_move_into_the_mirror_layout() {
        let r = rewrite(&["https://m.example/uv"]);
        let p = Policy::default();
        for (upstream, placed) in [
            (
                "https://github.com/astral-sh/python-build-standalone/releases/download/20250101/cpython-3.12.8%2B20250101-x.tar.gz",
                "https://m.example/uv/20250101/cpython-3.12.8%2B20250101-x.tar.gz",
            ),
            (
                "https://releases.astral.sh/github/python-build-standalone/releases/download/20250101/c.tar.gz",
                "https://m.example/uv/20250101/c.tar.gz",
            ),
            (
                "https://downloads.python.org/pypy/pypy3.10-v7.3.17-linux64.tar.bz2",
                "https://m.example/uv/pypy/pypy3.10-v7.3.17-linux64.tar.bz2",
            ),
            (
                "https://github.com/oracle/graalpython/releases/download/graal-24.1.1/graalpy-24.1.1-linux-amd64.tar.gz",
                "https://m.example/uv/graalpy/graalpy-24.1.1-linux-amd64.tar.gz",
            ),
            (
                "https://github.com/pyodide/pyodide/releases/download/0.28.0/xbuildenv-0.28.0.tar.bz2",
                "https://m.example/uv/pyodide/xbuildenv-0.28.0.tar.bz2",
            ),
        ] {
            assert_eq!(place(&r, &p, SOURCE, upstream).unwrap(), placed);
        }
        // PyPy goes to `pypy-mirror` when there is one; that is inside the rules too.
        let with_pypy = Rewrite {
            pypy_mirror: Some(Url::parse("https://p.example/pypy").unwrap()),
            ..r.clone()
        };
        assert_eq!(
            place(
                &with_pypy,
                &p,
                SOURCE,
                "https://downloads.python.org/pypy/a.tar.bz2"
            )
            .unwrap(),
            "https://p.example/pypy/a.tar.bz2"
        );
        // Upstream lists served from the second mirror of a list go to that mirror.
        let two = rewrite(&["https://a.example/uv/", "https://m.example/uv/"]);
        assert_eq!(
            place(&two, &p, SOURCE, &format!("{UPSTREAM_CPYTHON}1/c.tar.gz")).unwrap(),
            "https://m.example/uv/1/c.tar.gz"
        );
        // A metadata URL with no base: its own folder is the mirror.
        assert_eq!(
            place(
                &rewrite(&[]),
                &p,
                "https://o.example/x/meta.json",
                &format!("{UPSTREAM_CPYTHON}1/c.tar.gz")
            )
            .unwrap(),
            "https://o.example/x/1/c.tar.gz"
        );
    }

    #[test]
    fn entries_stay_on_the_mirror() {
        let r = rewrite(&["https://m.example/uv/"]);
        let p = Policy::default();
        let off = |raw: &str| place(&r, &p, SOURCE, raw).unwrap_err();
        assert!(place(&r, &p, SOURCE, "1/c.tar.gz").is_ok());
        assert!(place(&r, &p, SOURCE, "https://u:pw@m.example:443/uv/1/c.tar.gz").is_ok());
        assert!(matches!(
            off("https://evil.example/uv/1/c.tar.gz"),
            DropReason::OffMirror(_)
        ));
        assert!(matches!(
            off("https://m.example/other/c.tar.gz"),
            DropReason::OffMirror(_)
        ));
        assert!(matches!(
            off("https://m.example:8443/uv/c.tar.gz"),
            DropReason::OffMirror(_)
        ));
        assert!(matches!(off("../c.tar.gz"), DropReason::OffMirror(_)));
        assert!(matches!(
            off("1\\..\\..\\c.tar.gz"),
            DropReason::OffMirror(_)
        ));
        assert!(matches!(
            off("http://m.example/uv/c.tar.gz"),
            DropReason::PlainHttp(_)
        ));
        assert!(matches!(
            off("file:///etc/passwd"),
            DropReason::LocalFile(_)
        ));
        assert!(matches!(
            off("..%2F..%2Fc.tar.gz"),
            DropReason::EncodedSeparator(_)
        ));
        assert!(matches!(
            off("https://github.com/evil/x/releases/download/1/c"),
            DropReason::OffMirror(_)
        ));
        // The shown URL carries no credentials.
        let shown = off("https://u:secret@evil.example/x").to_string();
        assert!(!shown.contains("secret"), "{shown}");
    }

    #[test]
    fn allowed_hosts_and_schemes() {
        let https = rewrite(&["https://m.example/uv/"]);
        let p = Policy {
            allowed_hosts: vec!["cdn.example".into(), "::1".into()],
            ..Policy::default()
        };
        assert!(place(&https, &p, SOURCE, "https://CDN.example./a/c.tar.gz").is_ok());
        assert!(place(&https, &p, SOURCE, "https://[::1]:8443/c.tar.gz").is_ok());
        assert!(matches!(
            place(&https, &p, SOURCE, "http://cdn.example/c.tar.gz"),
            Err(DropReason::PlainHttp(_))
        ));
        // An http mirror may name http hosts it allows; a file mirror, local files of its own.
        let http = rewrite(&["http://m.example/uv/"]);
        let source = "http://m.example/uv/download-metadata.json";
        assert!(place(&http, &p, source, "http://cdn.example/c.tar.gz").is_ok());
        let file = rewrite(&["file:///srv/m/"]);
        let source = "file:///srv/m/download-metadata.json";
        assert!(place(&file, &p, source, "1/c.tar.gz").is_ok());
        assert!(matches!(
            place(&file, &p, source, "file:///etc/c.tar.gz"),
            Err(DropReason::OffMirror(_))
        ));
        // Anywhere: as written.
        assert_eq!(
            place(&https, &Policy::anywhere(), SOURCE, "http://x.example/c").unwrap(),
            "http://x.example/c"
        );
    }

    #[test]
    fn uv_applying_its_own_mirror_gets_the_upstream_form() {
        let r = Rewrite {
            cpython_upstream: true,
            pypy_upstream: true,
            ..rewrite(&["https://m.example/uv"])
        };
        let p = Policy::default();
        let source = Url::parse(SOURCE).unwrap();
        let places = Places::new(&r, &p, &source);
        let handed = |name: &str, raw: &str| {
            let placed = places.place(source.join(raw).unwrap()).unwrap();
            places.hand_over(name, placed)
        };
        assert_eq!(
            handed("cpython", "1/c.tar.gz"),
            format!("{UPSTREAM_CPYTHON}1/c.tar.gz")
        );
        assert_eq!(
            handed("cpython", &format!("{UPSTREAM_CPYTHON}1/c.tar.gz")),
            format!("{UPSTREAM_CPYTHON}1/c.tar.gz")
        );
        assert_eq!(
            handed("pypy", "pypy/p.tar.bz2"),
            format!("{UPSTREAM_PYPY}p.tar.bz2")
        );
        assert_eq!(
            handed("graalpy", "graalpy/g.tar.gz"),
            "https://m.example/uv/graalpy/g.tar.gz"
        );
    }
}
