//! Layered settings: environment over user file over system file, combined
//! field by field in one place, each value remembering where it came from so
//! `doctor` can say why. The mirror is one more field: the first layer that
//! names one wins, and the sources found after the config files (uv's own
//! `uv.toml`, a static metadata file, DNS) only ever fill it when no earlier
//! layer did.

pub mod builtin;
pub mod config_file;
mod trust;

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use self::config_file::ConfigFile;
pub use self::config_file::SystemCerts;
pub use self::trust::Trust;
use self::trust::system_only_keys;

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
    /// The built-in config, embedded at build time from the file of this name.
    Builtin(String),
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
            Origin::Builtin(name) => {
                write!(f, "built-in config (embedded at build time from {name})")
            }
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

/// How a mirror's metadata reaches uv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataSource {
    /// The shim fetches, validates and caches it from these URLs (failover order).
    Fetch(Vec<Url>),
    /// uv reads it itself from this local path (set in uv's own config); the shim leaves it.
    UvReadsItself(String),
    /// The mirror publishes none (`metadata = false`: a pull-through proxy).
    Unpublished,
}

/// A mirror: the bases that serve its files and where its metadata comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// Mirror base URLs in failover order (empty when only metadata is known).
    pub bases: Vec<Url>,
    /// Where its metadata comes from.
    pub metadata: MetadataSource,
}

impl Mirror {
    /// The mirror at `bases`, its metadata at `metadata_url` or else
    /// `<base>/download-metadata.json` of each base.
    pub fn at(bases: Vec<Url>, metadata_url: Option<Url>) -> Mirror {
        let sources = match metadata_url {
            Some(url) => vec![url],
            None => bases.iter().map(crate::urls::metadata_url_of).collect(),
        };
        Mirror {
            bases,
            metadata: MetadataSource::Fetch(sources),
        }
    }

    /// One line for humans (credentials hidden).
    pub fn describe(&self) -> String {
        let bases: Vec<String> = self
            .bases
            .iter()
            .map(|b| crate::redact::url(b.as_str()))
            .collect();
        let metadata = match &self.metadata {
            MetadataSource::Fetch(urls) => urls
                .iter()
                .map(|u| crate::redact::url(u.as_str()))
                .collect::<Vec<_>>()
                .join(", "),
            MetadataSource::UvReadsItself(path) => format!("{path} (read by uv itself)"),
            MetadataSource::Unpublished => "none published, `metadata = false`".into(),
        };
        if bases.is_empty() {
            format!("metadata {metadata}")
        } else {
            format!("mirror {} (metadata {metadata})", bases.join(", "))
        }
    }
}

/// The settings of one layer (the environment, one config file, one discovered source).
#[derive(Debug, Clone, Default)]
pub struct Layer {
    /// The mirror this layer names (its `mirror` and `metadata-url` travel together).
    pub mirror: Option<Sourced<Mirror>>,
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
    /// Whether uv is told to trust the platform's certificate store.
    pub system_certs: Option<Sourced<SystemCerts>>,
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
            system_certs: self.system_certs.combine(other.system_certs),
        }
    }
}

impl Layer {
    /// The layer of one config file (already validated by [`config_file`]).
    pub fn from_file(file: &ConfigFile, origin: &Origin) -> Self {
        let sourced = |value: &Option<String>| {
            value
                .as_ref()
                .map(|v| Sourced::new(v.clone(), origin.clone()))
        };
        let urls = &file.urls;
        let mirror = (!urls.mirrors.is_empty() || urls.metadata.is_some()).then(|| {
            let mut mirror = Mirror::at(urls.mirrors.clone(), urls.metadata.clone());
            if file.metadata == Some(false) {
                mirror.metadata = MetadataSource::Unpublished;
            }
            Sourced::new(mirror, origin.clone())
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
            system_certs: file.system_certs.map(|c| Sourced::new(c, origin.clone())),
        }
    }
}

/// One config file: its layer, and the file itself for the keys only some
/// files may set.
#[derive(Debug, Clone)]
pub struct FileLayer {
    /// What the file sets.
    pub layer: Layer,
    /// The file as read.
    pub file: ConfigFile,
    /// Which file.
    pub origin: Origin,
}

impl FileLayer {
    /// The layer of `file`.
    pub fn new(file: ConfigFile, origin: Origin) -> Self {
        FileLayer {
            layer: Layer::from_file(&file, &origin),
            file,
            origin,
        }
    }
}

/// The resolved settings: layers combined, defaults applied.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The combined layers.
    pub layer: Layer,
    /// Metadata freshness.
    pub ttl: Sourced<Duration>,
    /// Whether DNS discovery may run.
    pub dns: Sourced<bool>,
    /// Whether uv is told to trust the platform's certificate store.
    pub system_certs: Sourced<SystemCerts>,
    /// What only the system file may decide.
    pub trust: Trust,
    /// Keys that were present but not honoured, with the reason (for `doctor`).
    pub ignored: Vec<String>,
}

impl Settings {
    /// Combines the layers: `env.combine(user).combine(system).combine(builtin)`.
    pub fn resolve(
        env: Layer,
        user: Option<&FileLayer>,
        system: Option<&FileLayer>,
        builtin: Option<&FileLayer>,
    ) -> Self {
        let layer_of = |f: Option<&FileLayer>| f.map(|f| f.layer.clone()).unwrap_or_default();
        let (user_layer, system_layer) = (layer_of(user), layer_of(system));
        let mut ignored = Vec::new();
        if let Some(FileLayer { file, origin, .. }) = user {
            for key in system_only_keys(file) {
                ignored.push(format!(
                    "`{key}` in {origin}: honoured only in the system config or the built-in one"
                ));
            }
        }
        let layer = env
            .combine(user_layer)
            .combine(system_layer)
            .combine(layer_of(builtin));
        Settings {
            ttl: layer
                .ttl
                .clone()
                .unwrap_or_else(|| Sourced::new(DEFAULT_TTL, Origin::Default)),
            dns: layer
                .dns
                .clone()
                .unwrap_or_else(|| Sourced::new(true, Origin::Default)),
            system_certs: layer
                .system_certs
                .clone()
                .unwrap_or_else(|| Sourced::new(SystemCerts::Auto, Origin::Default)),
            trust: Trust::from_system(system.map(|s| &s.file), builtin.map(|b| &b.file)),
            layer,
            ignored,
        }
    }
}

impl Settings {
    /// Adds what a source found after the config files (uv.toml, a static
    /// file, DNS): its mirror, and the keys that ride along with it, count
    /// only when no earlier layer named a mirror, and then only fill the
    /// gaps the config layers left.
    pub fn add_found(&mut self, found: Layer) {
        if self.layer.mirror.is_none() && found.mirror.is_some() {
            self.layer = std::mem::take(&mut self.layer).combine(found);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn file(text: &str) -> ConfigFile {
        config_file::parse(text, Path::new("test.toml")).unwrap()
    }

    #[test]
    fn env_beats_user_beats_system_field_by_field() {
        let user = file("ttl = \"1m\"\nindex-url = \"https://user.example/simple\"\n");
        let system = file(
            "mirror = \"https://sys.example/uv/\"\nttl = \"1h\"\nastral-mirror = \"https://sys.example/a\"\n",
        );
        let env = Layer {
            mirror: Some(Sourced::new(
                Mirror::at(vec![Url::parse("https://env.example/uv/").unwrap()], None),
                Origin::Env(crate::env_vars::EnvVars::UV_SHIM_MIRROR),
            )),
            ..Layer::default()
        };
        let settings = Settings::resolve(
            env,
            Some(&FileLayer::new(user, Origin::User("u".into()))),
            Some(&FileLayer::new(system, Origin::System("s".into()))),
            None,
        );
        let mirror = settings.layer.mirror.unwrap();
        assert_eq!(mirror.value.bases[0].as_str(), "https://env.example/uv/");
        assert_eq!(
            mirror.origin,
            Origin::Env(crate::env_vars::EnvVars::UV_SHIM_MIRROR)
        );
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
            Some(&FileLayer::new(user, Origin::User("u".into()))),
            Some(&FileLayer::new(system, Origin::System("s".into()))),
            None,
        );
        let mirror = settings.layer.mirror.unwrap();
        assert!(mirror.value.bases.is_empty());
        assert_eq!(mirror.origin, Origin::User("u".into()));
    }

    #[test]
    fn user_file_cannot_loosen_trust() {
        let user = file(
            "allow-http = true\ndns-allowed-hosts = [\"evil.example\"]\ndns-search = true\n\
             allowed-hosts = [\"evil.example\"]\nrequire-sha256 = false\n",
        );
        let settings = Settings::resolve(
            Layer::default(),
            Some(&FileLayer::new(user, Origin::User("u".into()))),
            None,
            None,
        );
        assert_eq!(settings.trust, Trust::default());
        assert!(settings.trust.require_sha256);
        assert_eq!(settings.ignored.len(), 5, "{:?}", settings.ignored);
        assert!(
            settings
                .ignored
                .iter()
                .any(|i| i.starts_with("`dns-search` in user config u:"))
        );
        assert!(
            settings
                .ignored
                .iter()
                .any(|i| i.starts_with("`require-sha256` in user config u"))
        );
        let system = file(
            "allow-http = true\ndns-allowed-hosts = [\"Mirror.Other.Example.\"]\ndns-search = true\n\
             allowed-hosts = [\"CDN.example\"]\nrequire-sha256 = false\n",
        );
        let settings = Settings::resolve(
            Layer::default(),
            None,
            Some(&FileLayer::new(system, Origin::System("s".into()))),
            None,
        );
        assert!(settings.trust.allow_http && settings.trust.dns_search);
        assert_eq!(
            settings.trust.dns_allowed_hosts,
            vec!["mirror.other.example"]
        );
        assert_eq!(settings.trust.allowed_hosts, vec!["cdn.example"]);
        assert!(!settings.trust.require_sha256);
    }

    #[test]
    fn the_builtin_config_is_the_lowest_layer_with_the_system_files_rights() {
        let builtin = file(
            "mirror = \"https://golden.example/uv/\"\nttl = \"2h\"\nrequire-sha256 = false\n\
             allowed-hosts = [\"cdn.example\"]\n",
        );
        let builtin = FileLayer::new(builtin, Origin::Builtin("golden.toml".into()));
        let user = file("mirror = \"https://user.example/uv/\"\nrequire-sha256 = true\n");
        let user = FileLayer::new(user, Origin::User("u".into()));
        let settings = Settings::resolve(Layer::default(), Some(&user), None, Some(&builtin));
        // A user file may name another mirror, but not touch a system-only key.
        let mirror = settings.layer.mirror.unwrap();
        assert_eq!(mirror.value.bases[0].as_str(), "https://user.example/uv/");
        assert_eq!(settings.ttl.origin, Origin::Builtin("golden.toml".into()));
        assert!(!settings.trust.require_sha256);
        assert_eq!(settings.trust.allowed_hosts, vec!["cdn.example"]);
        assert_eq!(
            Origin::Builtin("golden.toml".into()).to_string(),
            "built-in config (embedded at build time from golden.toml)"
        );
        // The system file, one layer up, overrides it key by key.
        let system = FileLayer::new(file("require-sha256 = true\n"), Origin::System("s".into()));
        let settings = Settings::resolve(Layer::default(), None, Some(&system), Some(&builtin));
        assert!(settings.trust.require_sha256);
        assert_eq!(settings.trust.allowed_hosts, vec!["cdn.example"]);
    }

    #[test]
    fn defaults_apply() {
        let settings = Settings::resolve(Layer::default(), None, None, None);
        assert_eq!(settings.ttl.value, DEFAULT_TTL);
        assert!(settings.dns.value);
        assert!(settings.layer.mirror.is_none());
    }
}
