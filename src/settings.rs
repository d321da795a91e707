//! Layered settings: environment over user file over system file, combined
//! field by field in one place, each value remembering where it came from so
//! `doctor` can say why.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::config::ConfigFile;
use crate::env_vars::{EnvVars, Lookup};

/// How long fetched metadata counts as fresh when nothing says otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(10 * 60);

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An environment variable.
    Env(&'static str),
    /// The user config file.
    User(PathBuf),
    /// The system config file.
    System(PathBuf),
    /// uv's own system config (`uv.toml`).
    UvToml(PathBuf),
    /// A static metadata file beside the system config.
    StaticFile(PathBuf),
    /// A DNS TXT record under this domain.
    Dns(String),
    /// The built-in default.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Env(name) => write!(f, "env {name}"),
            Origin::User(path) => write!(f, "user config {}", path.display()),
            Origin::System(path) => write!(f, "system config {}", path.display()),
            Origin::UvToml(path) => write!(f, "uv config {}", path.display()),
            Origin::StaticFile(path) => write!(f, "static metadata {}", path.display()),
            Origin::Dns(domain) => write!(f, "DNS TXT _uv-mirror.{domain}"),
            Origin::Default => f.write_str("default"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Its origin.
    pub origin: Origin,
}

impl<T> Sourced<T> {
    /// Pairs a value with its origin.
    pub fn new(value: T, origin: Origin) -> Self {
        Self { value, origin }
    }
}

/// Merging two layers: `self` wins, `other` fills the gaps.
pub trait Combine {
    /// Combines `self` (higher precedence) with `other`.
    fn combine(self, other: Self) -> Self;
}

impl<T> Combine for Option<T> {
    fn combine(self, other: Self) -> Self {
        self.or(other)
    }
}

/// Where a mirror's metadata is and which bases serve its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorSpec {
    /// Mirror base URLs in failover order (may be empty when only a metadata URL is known).
    pub bases: Vec<Url>,
    /// An explicit metadata URL, instead of `<base>/download-metadata.json`.
    pub metadata_url: Option<Url>,
}

/// The settings of one layer (the environment, one config file, one discovered source).
#[derive(Debug, Clone, Default)]
pub struct Layer {
    /// The mirror this layer names (its `mirror` and `metadata-url` travel together).
    pub mirror: Option<Sourced<MirrorSpec>>,
    /// PyPy mirror.
    pub pypy_mirror: Option<Sourced<String>>,
    /// Default package index.
    pub index_url: Option<Sourced<String>>,
    /// Astral mirror.
    pub astral_mirror: Option<Sourced<String>>,
    /// The real uv.
    pub uv: Option<Sourced<PathBuf>>,
    /// Metadata freshness.
    pub ttl: Option<Sourced<Duration>>,
    /// Whether DNS discovery may run.
    pub dns: Option<Sourced<bool>>,
    /// Domains for DNS discovery.
    pub dns_domains: Option<Sourced<Vec<String>>>,
}

impl Combine for Layer {
    fn combine(self, other: Self) -> Self {
        Layer {
            mirror: self.mirror.combine(other.mirror),
            pypy_mirror: self.pypy_mirror.combine(other.pypy_mirror),
            index_url: self.index_url.combine(other.index_url),
            astral_mirror: self.astral_mirror.combine(other.astral_mirror),
            uv: self.uv.combine(other.uv),
            ttl: self.ttl.combine(other.ttl),
            dns: self.dns.combine(other.dns),
            dns_domains: self.dns_domains.combine(other.dns_domains),
        }
    }
}

impl Layer {
    /// The layer made of the shim's environment variables.
    pub fn from_env(env: Lookup) -> Self {
        let sourced = |name: &'static str| env(name).map(|v| Sourced::new(v, Origin::Env(name)));
        Layer {
            mirror: sourced(EnvVars::UV_SHIM_MIRROR).and_then(|s| {
                // An unusable value is reported by discovery; here it names no mirror.
                let url = crate::urls::parse_fetchable(&s.value).ok()?;
                Some(Sourced::new(
                    MirrorSpec {
                        bases: vec![url],
                        metadata_url: None,
                    },
                    s.origin,
                ))
            }),
            uv: sourced(EnvVars::UV_SHIM_REAL_UV)
                .map(|s| Sourced::new(PathBuf::from(s.value), s.origin)),
            dns_domains: sourced(EnvVars::UV_SHIM_DNS_DOMAINS).map(|s| {
                Sourced::new(
                    s.value
                        .split(',')
                        .map(|d| d.trim().trim_end_matches('.').to_string())
                        .filter(|d| !d.is_empty())
                        .collect(),
                    s.origin,
                )
            }),
            ..Layer::default()
        }
    }

    /// The layer of one config file (already validated by [`crate::config`]).
    pub fn from_file(file: &ConfigFile, origin: &Origin) -> Self {
        let sourced = |value: &Option<String>| {
            value
                .as_ref()
                .map(|v| Sourced::new(v.clone(), origin.clone()))
        };
        let bases: Vec<Url> = file
            .mirror
            .clone()
            .map(|m| m.into_vec())
            .unwrap_or_default()
            .iter()
            .filter_map(|m| crate::urls::parse_fetchable(m).ok())
            .collect();
        let metadata_url = file
            .metadata_url
            .as_deref()
            .and_then(|m| crate::urls::parse_fetchable(m).ok());
        let mirror = (!bases.is_empty() || metadata_url.is_some()).then(|| {
            Sourced::new(
                MirrorSpec {
                    bases,
                    metadata_url,
                },
                origin.clone(),
            )
        });
        Layer {
            mirror,
            pypy_mirror: sourced(&file.pypy_mirror),
            index_url: sourced(&file.index_url),
            astral_mirror: sourced(&file.astral_mirror),
            uv: file.uv.clone().map(|uv| Sourced::new(uv, origin.clone())),
            ttl: file.ttl.map(|ttl| Sourced::new(ttl, origin.clone())),
            dns: file.dns.map(|dns| Sourced::new(dns, origin.clone())),
            dns_domains: file
                .dns_domains
                .clone()
                .map(|d| Sourced::new(d, origin.clone())),
        }
    }
}

/// Security settings that only the system file may set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    /// Accept plain-http mirrors found by DNS.
    pub allow_http: bool,
    /// Hosts a DNS-found mirror may name outside the queried domain.
    pub dns_allowed_hosts: Vec<String>,
}

impl Trust {
    /// Reads the trust keys from the system file; a user file cannot loosen them.
    pub fn from_system(system: Option<&ConfigFile>) -> Self {
        Trust {
            allow_http: system.and_then(|s| s.allow_http).unwrap_or(false),
            dns_allowed_hosts: system
                .and_then(|s| s.dns_allowed_hosts.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
                .collect(),
        }
    }
}

/// The resolved settings: layers combined, defaults applied.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The combined layers (the mirror here comes only from env, user or system;
    /// later discovery sources are chosen in [`crate::discover`]).
    pub layer: Layer,
    /// Metadata freshness.
    pub ttl: Sourced<Duration>,
    /// Whether DNS discovery may run.
    pub dns: Sourced<bool>,
    /// What only the system file may decide.
    pub trust: Trust,
    /// Keys that were present but not honoured, with the reason (for `doctor`).
    pub ignored: Vec<String>,
}

impl Settings {
    /// Combines the layers: `env.combine(user).combine(system)`.
    pub fn resolve(
        env: Layer,
        user: Option<(&ConfigFile, Origin)>,
        system: Option<(&ConfigFile, Origin)>,
    ) -> Self {
        let user_layer = user
            .as_ref()
            .map(|(file, origin)| Layer::from_file(file, origin))
            .unwrap_or_default();
        let system_layer = system
            .as_ref()
            .map(|(file, origin)| Layer::from_file(file, origin))
            .unwrap_or_default();
        let mut ignored = Vec::new();
        if let Some((file, origin)) = &user {
            if file.allow_http.is_some() {
                ignored.push(format!(
                    "`allow-http` in {origin}: honoured only in the system config"
                ));
            }
            if file.dns_allowed_hosts.is_some() {
                ignored.push(format!(
                    "`dns-allowed-hosts` in {origin}: honoured only in the system config"
                ));
            }
        }
        let layer = env.combine(user_layer).combine(system_layer);
        Settings {
            ttl: layer
                .ttl
                .clone()
                .unwrap_or_else(|| Sourced::new(DEFAULT_TTL, Origin::Default)),
            dns: layer
                .dns
                .clone()
                .unwrap_or_else(|| Sourced::new(true, Origin::Default)),
            trust: Trust::from_system(system.map(|(file, _)| file)),
            layer,
            ignored,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn file(text: &str) -> ConfigFile {
        crate::config::parse(text, Path::new("test.toml")).unwrap()
    }

    #[test]
    fn env_beats_user_beats_system_field_by_field() {
        let user = file("ttl = \"1m\"\nindex-url = \"https://user.example/simple\"\n");
        let system = file(
            "mirror = \"https://sys.example/uv/\"\nttl = \"1h\"\nastral-mirror = \"https://sys.example/a\"\n",
        );
        let env = |name: &str| {
            (name == EnvVars::UV_SHIM_MIRROR).then(|| "https://env.example/uv/".to_string())
        };
        let settings = Settings::resolve(
            Layer::from_env(&env),
            Some((&user, Origin::User("u".into()))),
            Some((&system, Origin::System("s".into()))),
        );
        let mirror = settings.layer.mirror.unwrap();
        assert_eq!(mirror.value.bases[0].as_str(), "https://env.example/uv/");
        assert_eq!(mirror.origin, Origin::Env(EnvVars::UV_SHIM_MIRROR));
        assert_eq!(settings.ttl.value, Duration::from_secs(60));
        assert_eq!(settings.ttl.origin, Origin::User("u".into()));
        assert_eq!(
            settings.layer.astral_mirror.unwrap().origin,
            Origin::System("s".into())
        );
        assert_eq!(
            settings.layer.index_url.unwrap().origin,
            Origin::User("u".into())
        );
    }

    #[test]
    fn mirror_and_metadata_url_travel_together() {
        let user = file("metadata-url = \"https://user.example/meta.json\"\n");
        let system = file("mirror = \"https://sys.example/uv/\"\n");
        let settings = Settings::resolve(
            Layer::default(),
            Some((&user, Origin::User("u".into()))),
            Some((&system, Origin::System("s".into()))),
        );
        let mirror = settings.layer.mirror.unwrap();
        assert!(mirror.value.bases.is_empty());
        assert_eq!(mirror.origin, Origin::User("u".into()));
    }

    #[test]
    fn user_file_cannot_loosen_trust() {
        let user = file("allow-http = true\ndns-allowed-hosts = [\"evil.example\"]\n");
        let settings = Settings::resolve(
            Layer::default(),
            Some((&user, Origin::User("u".into()))),
            None,
        );
        assert_eq!(settings.trust, Trust::default());
        assert_eq!(settings.ignored.len(), 2);
        let system = file("allow-http = true\ndns-allowed-hosts = [\"Mirror.Other.Example.\"]\n");
        let settings = Settings::resolve(
            Layer::default(),
            None,
            Some((&system, Origin::System("s".into()))),
        );
        assert!(settings.trust.allow_http);
        assert_eq!(
            settings.trust.dns_allowed_hosts,
            vec!["mirror.other.example"]
        );
    }

    #[test]
    fn defaults_apply() {
        let settings = Settings::resolve(Layer::default(), None, None);
        assert_eq!(settings.ttl.value, DEFAULT_TTL);
        assert!(settings.dns.value);
        assert!(settings.layer.mirror.is_none());
    }
}
