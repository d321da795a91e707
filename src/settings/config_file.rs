//! The shim's config file (`config.toml` for the user, `shim.toml` for the
//! system): its schema, and loading with errors that name file, line and key.
//!
//! A missing file is "not set"; a malformed one is an error. Both files have
//! the same keys; which of them may loosen security is decided in
//! [`super`] (the settings).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// One config file as written on disk, every key optional.
#[derive(Debug, Default, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ConfigFile {
    /// Mirror base URL, or several for failover in order.
    pub mirror: Option<OneOrMany>,
    /// Where the metadata lives, when not at `<mirror>/download-metadata.json`.
    pub metadata_url: Option<String>,
    /// `false`: the mirror of this file publishes no metadata (a
    /// pull-through proxy); uv gets the mirror variables, nothing is fetched.
    pub metadata: Option<bool>,
    /// PyPy mirror, handed to uv as `UV_PYPY_INSTALL_MIRROR`.
    pub pypy_mirror: Option<String>,
    /// Package index, handed to uv as `UV_DEFAULT_INDEX`.
    pub index_url: Option<String>,
    /// Astral mirror, handed to uv as `UV_ASTRAL_MIRROR_URL`.
    pub astral_mirror: Option<String>,
    /// Path of the real uv.
    pub uv: Option<PathBuf>,
    /// How long fetched metadata counts as fresh (humantime, e.g. `10m`).
    #[serde(default, deserialize_with = "de_duration")]
    pub ttl: Option<Duration>,
    /// Whether DNS discovery may run.
    pub dns: Option<bool>,
    /// The domains DNS discovery asks about (pinned).
    pub dns_domains: Option<Vec<String>>,
    /// Also trust the resolver's search list when nothing is pinned (system file only).
    pub dns_search: Option<bool>,
    /// Accept plain-http mirrors found by DNS (system file only).
    pub allow_http: Option<bool>,
    /// Hosts a DNS-found mirror may name outside the queried domain (system file only).
    pub dns_allowed_hosts: Option<Vec<String>>,
    /// Whether uv is told to trust the platform's certificate store.
    #[serde(default, deserialize_with = "de_system_certs")]
    pub system_certs: Option<SystemCerts>,
    /// Hosts besides the mirror's that metadata entries may point at (system file only).
    pub allowed_hosts: Option<Vec<String>>,
    /// Drop metadata entries without a sha256 (system file only; default true).
    pub require_sha256: Option<bool>,
    /// Minisign public keys the metadata must be signed with (system file only).
    pub trusted_keys: Option<Vec<String>>,
    /// The mirror URLs, parsed once while the file is checked.
    #[serde(skip)]
    pub urls: ParsedUrls,
    /// Keys that were present but are ignored, and why (warnings, not errors).
    #[serde(skip)]
    pub ignored: Vec<String>,
}

/// The URLs that name the mirror, parsed once when the file is loaded.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ParsedUrls {
    /// `mirror`, in failover order.
    pub mirrors: Vec<url::Url>,
    /// `metadata-url`.
    pub metadata: Option<url::Url>,
}

/// `system-certs`: whether uv is told to trust the platform's certificate
/// store (`UV_SYSTEM_CERTS`, or `UV_NATIVE_TLS` before uv 0.11.0).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SystemCerts {
    /// When the shim could trust the mirror only through that store.
    #[default]
    Auto,
    /// Always (`true`).
    Always,
    /// Never (`false`): uv keeps its bundled roots.
    Never,
}

impl SystemCerts {
    /// As written in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            SystemCerts::Auto => "auto",
            SystemCerts::Always => "true",
            SystemCerts::Never => "false",
        }
    }
}

fn de_system_certs<'de, D: serde::Deserializer<'de>>(
    de: D,
) -> Result<Option<SystemCerts>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Flag(bool),
        Word(String),
    }
    match Written::deserialize(de)? {
        Written::Flag(true) => Ok(Some(SystemCerts::Always)),
        Written::Flag(false) => Ok(Some(SystemCerts::Never)),
        Written::Word(word) if word == "auto" => Ok(Some(SystemCerts::Auto)),
        Written::Word(word) => Err(serde::de::Error::custom(format!(
            "`{word}` is not a value of `system-certs`; write true, false or \"auto\""
        ))),
    }
}

/// A string or a list of strings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum OneOrMany {
    /// `mirror = "https://…"`
    One(String),
    /// `mirror = ["https://a…", "https://b…"]`
    Many(Vec<String>),
}

fn de_duration<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(de)?;
    humantime::parse_duration(&text).map(Some).map_err(|err| {
        serde::de::Error::custom(format!(
            "`{text}` is not a duration ({err}); write e.g. \"10m\" or \"1h\""
        ))
    })
}

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid for our schema.
    #[error("{path}:{line}: {what}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending key or value (0 when unknown).
        line: usize,
        /// What is wrong, naming the key.
        what: String,
    },
}

/// Loads a config file (the read recorded in `inputs`); `Ok(None)` when it does not exist.
pub fn load(
    path: &Path,
    inputs: &crate::inputs::Inputs,
) -> Result<Option<ConfigFile>, ConfigError> {
    let text = match inputs.read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    parse(&text, path).map(Some)
}

/// Parses config text; `path` is only used in messages.
pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
    let mut file: ConfigFile = toml::from_str(text).map_err(|err| {
        let (line, key) = match err.span() {
            Some(span) => locate(text, span.start),
            None => (0, None),
        };
        let message = err.message().trim().to_string();
        let what = match key {
            Some(key) if !message.contains(&format!("`{key}`")) => {
                format!("key `{key}`: {message}")
            }
            _ => message,
        };
        invalid(path, line, what)
    })?;
    file.urls = check_urls(&file, text, path)?;
    if file.uv.as_ref().is_some_and(|uv| uv.as_os_str().is_empty()) {
        // An empty path would stop every call; the PATH search still works.
        file.uv = None;
        file.ignored.push(format!(
            "{}:{}: key `uv` is empty; ignored, the real uv is searched on PATH",
            path.display(),
            line_of_key(text, "uv")
        ));
    }
    check_hosts(&file, text, path)?;
    for key in file.trusted_keys.iter().flatten() {
        crate::signature::TrustedKey::parse(key).map_err(|err| {
            let line = line_of_key(text, "trusted-keys");
            invalid(path, line, format!("key `trusted-keys`: {err}"))
        })?;
    }
    check_metadata(&mut file, text, path)?;
    Ok(file)
}

/// `metadata = false` belongs to the mirror of the same file, like
/// `metadata-url`, which it contradicts.
fn check_metadata(file: &mut ConfigFile, text: &str, path: &Path) -> Result<(), ConfigError> {
    if file.metadata != Some(false) {
        return Ok(());
    }
    if file.metadata_url.is_some() {
        return Err(invalid(
            path,
            line_of_key(text, "metadata"),
            "key `metadata`: `metadata = false` says the mirror publishes no metadata, \
             but `metadata-url` names some; remove one of the two"
                .into(),
        ));
    }
    if file.mirror.is_none() {
        file.metadata = None;
        file.ignored.push(format!(
            "{}:{}: key `metadata` describes the mirror named in the same file, and this file names none; ignored",
            path.display(),
            line_of_key(text, "metadata")
        ));
    }
    Ok(())
}

/// Host lists must name hosts: `mirror.example` or `10.0.0.1`, not a URL.
fn check_hosts(file: &ConfigFile, text: &str, path: &Path) -> Result<(), ConfigError> {
    for (key, hosts) in [
        ("allowed-hosts", &file.allowed_hosts),
        ("dns-allowed-hosts", &file.dns_allowed_hosts),
    ] {
        for host in hosts.iter().flatten() {
            if normalize_host(host).is_none() {
                return Err(invalid(
                    path,
                    line_of_key(text, key),
                    format!(
                        "key `{key}`: `{}` is not a host name; write the host alone, e.g. `mirror.example`",
                        crate::redact::url(host)
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A host as the shim compares hosts: lower case, no trailing dot, IPv6
/// without brackets; `None` when it is no host at all.
pub fn normalize_host(host: &str) -> Option<String> {
    let host = host.trim().trim_end_matches('.');
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let parsed = if bare.contains(':') {
        url::Host::parse(&format!("[{bare}]"))
    } else {
        url::Host::parse(bare)
    };
    match parsed.ok()? {
        url::Host::Domain(name) if !name.is_empty() && !name.contains(['/', '@', '%']) => {
            Some(name.to_ascii_lowercase())
        }
        url::Host::Domain(_) => None,
        url::Host::Ipv4(ip) => Some(ip.to_string()),
        url::Host::Ipv6(ip) => Some(ip.to_string()),
    }
}

fn invalid(path: &Path, line: usize, what: String) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        what,
    }
}

/// The 1-based line holding byte `offset`, and the key written on it, if any.
fn locate(text: &str, offset: usize) -> (usize, Option<String>) {
    let offset = offset.min(text.len());
    let line = text[..offset].matches('\n').count() + 1;
    let line_text = text.lines().nth(line - 1).unwrap_or("");
    let key = line_text
        .split_once('=')
        .map(|(key, _)| key.trim().trim_matches('"').to_string())
        .filter(|key| !key.is_empty() && !key.starts_with('#') && !key.starts_with('['));
    (line, key)
}

/// The 1-based line where `key` is assigned, or 0.
fn line_of_key(text: &str, key: &str) -> usize {
    text.lines()
        .position(|line| {
            line.split_once('=')
                .is_some_and(|(k, _)| k.trim().trim_matches('"') == key)
        })
        .map_or(0, |i| i + 1)
}

/// URL-valued keys must parse and use a scheme the shim can fetch; the
/// mirror's own URLs are kept parsed.
fn check_urls(file: &ConfigFile, text: &str, path: &Path) -> Result<ParsedUrls, ConfigError> {
    let mut urls: Vec<(&str, &str)> = Vec::new();
    if let Some(mirror) = &file.mirror {
        match mirror {
            OneOrMany::One(one) => urls.push(("mirror", one)),
            OneOrMany::Many(many) => {
                if many.is_empty() {
                    return Err(invalid(
                        path,
                        line_of_key(text, "mirror"),
                        "key `mirror`: the list is empty; name at least one mirror URL".into(),
                    ));
                }
                urls.extend(many.iter().map(|m| ("mirror", m.as_str())));
            }
        }
    }
    for (key, value) in [
        ("metadata-url", &file.metadata_url),
        ("pypy-mirror", &file.pypy_mirror),
        ("index-url", &file.index_url),
        ("astral-mirror", &file.astral_mirror),
    ] {
        if let Some(value) = value {
            urls.push((key, value));
        }
    }
    let mut parsed = ParsedUrls::default();
    for (key, value) in urls {
        let url = crate::urls::parse_fetchable(value).map_err(|problem| {
            invalid(
                path,
                line_of_key(text, key),
                format!(
                    "key `{key}`: `{}` is not a usable URL: {problem}",
                    crate::redact::url(value)
                ),
            )
        })?;
        match key {
            "mirror" => parsed.mirrors.push(url),
            "metadata-url" => parsed.metadata = Some(url),
            _ => {}
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<ConfigFile, ConfigError> {
        parse(text, Path::new("/etc/uv/shim.toml"))
    }

    #[test]
    fn metadata_false_goes_with_the_mirror_of_its_file() {
        let file = parse_str("mirror = \"https://a.example/uv/\"\nmetadata = false\n").unwrap();
        assert_eq!(file.metadata, Some(false));
        let both = "mirror = \"https://a.example/\"\nmetadata-url = \"https://a.example/m\"\n";
        let err = parse_str(&format!("{both}metadata = false\n")).unwrap_err();
        assert!(err.to_string().contains(":3: key `metadata`"), "{err}");
        let alone = parse_str("metadata = false\n").unwrap();
        assert_eq!(alone.metadata, None);
        assert!(alone.ignored[0].contains("ignored"), "{:?}", alone.ignored);
    }

    #[test]
    fn reads_every_key() {
        let file = parse_str(
            r#"
mirror = ["https://a.example/uv/", "https://b.example/uv/"]
metadata-url = "https://a.example/uv/download-metadata.json"
pypy-mirror = "https://a.example/pypy/"
index-url = "https://a.example/pypi/simple"
astral-mirror = "https://a.example/astral"
uv = "/opt/uv/bin/uv"
ttl = "10m"
dns = false
dns-domains = ["corp.example"]
dns-search = true
allow-http = true
dns-allowed-hosts = ["m.other.example"]
system-certs = "auto"
allowed-hosts = ["cdn.example"]
require-sha256 = false
"#,
        )
        .unwrap();
        assert!(matches!(file.mirror, Some(OneOrMany::Many(ref m)) if m.len() == 2));
        assert_eq!(file.urls.mirrors.len(), 2);
        assert!(file.urls.metadata.is_some());
        assert_eq!(file.ttl, Some(Duration::from_secs(600)));
        assert_eq!(file.dns, Some(false));
        assert_eq!(file.dns_search, Some(true));
        assert_eq!(file.uv, Some(PathBuf::from("/opt/uv/bin/uv")));
        assert_eq!(file.system_certs, Some(SystemCerts::Auto));
    }

    #[test]
    fn system_certs_takes_a_flag_or_auto_and_names_a_bad_value() {
        let certs = |text: &str| parse_str(text).map(|f| f.system_certs);
        assert_eq!(
            certs("system-certs = true\n").unwrap(),
            Some(SystemCerts::Always)
        );
        assert_eq!(
            certs("system-certs = false\n").unwrap(),
            Some(SystemCerts::Never)
        );
        let err = certs("\nsystem-certs = \"yes\"\n").unwrap_err().to_string();
        assert!(
            err.contains(":2:") && err.contains("system-certs") && err.contains("yes"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let err = parse_str("ttl = \"1m\"\nmirorr = \"https://x.example\"\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("/etc/uv/shim.toml:2:"), "{text}");
        assert!(text.contains("mirorr"), "{text}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = parse_str("\n\ndns = \"yes\"\n").unwrap_err().to_string();
        assert!(err.starts_with("/etc/uv/shim.toml:3:"), "{err}");
        assert!(err.contains("`dns`"), "{err}");
    }

    #[test]
    fn bad_duration_names_the_key() {
        let err = parse_str("ttl = \"soon\"\n").unwrap_err().to_string();
        assert!(
            err.contains(":1:") && err.contains("ttl") && err.contains("soon"),
            "{err}"
        );
    }

    #[test]
    fn bad_url_names_the_key_and_hides_credentials() {
        let err = parse_str("index-url = \"ftp://u:pw@x.example/\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains(":1:") && err.contains("index-url"), "{err}");
        assert!(!err.contains("pw"), "{err}");
    }

    #[test]
    fn an_empty_uv_is_ignored_with_a_word() {
        let file = parse_str("ttl = \"1m\"\nuv = \"\"\n").unwrap();
        assert_eq!(file.uv, None);
        assert_eq!(file.ignored.len(), 1);
        assert!(file.ignored[0].contains(":2:") && file.ignored[0].contains("`uv`"));
    }

    #[test]
    fn host_lists_take_hosts_only() {
        let err = parse_str("\nallowed-hosts = [\"https://cdn.example/x\"]\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("/etc/uv/shim.toml:2:") && err.contains("`allowed-hosts`"),
            "{err}"
        );
        for (given, normal) in [
            ("CDN.Example.", "cdn.example"),
            ("[::1]", "::1"),
            ("::1", "::1"),
            ("127.0.0.1", "127.0.0.1"),
        ] {
            assert_eq!(normalize_host(given).as_deref(), Some(normal), "{given}");
        }
        for bad in ["", "a/b", "u@h", "h:80"] {
            assert_eq!(normalize_host(bad), None, "{bad}");
        }
    }

    include!("../../build/config_keys.rs");

    /// The build script checks a built-in config against its own list of
    /// keys: that list must be the loader's, no more, no less.
    #[test]
    fn the_build_script_knows_exactly_the_keys() {
        let err = parse_str("not-a-key = 1\n").unwrap_err().to_string();
        let expected = err.split("expected one of").nth(1).unwrap_or_default();
        let mut known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        let mut listed = CONFIG_KEYS.to_vec();
        known.sort_unstable();
        listed.sort_unstable();
        assert_eq!(known, listed, "{err}");
    }

    #[test]
    fn missing_file_is_not_set() {
        assert!(
            load(
                Path::new("/nonexistent/uv-shim/config.toml"),
                &crate::inputs::Inputs::new()
            )
            .unwrap()
            .is_none()
        );
    }
}
