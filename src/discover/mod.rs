//! Discovery: where the organisation's mirror comes from. Sources are
//! consulted in the order of the design contract, first hit wins:
//!
//! 1. `UV_SHIM_MIRROR` ([`env`])
//! 2. the user config file ([`user`])
//! 3. the system config file ([`system`])
//! 4. uv's own system config `uv.toml` ([`uv_toml`])
//! 5. a static `download-metadata.json` beside it ([`static_file`])
//! 6. a DNS TXT record ([`dns`])
//! 7. nothing: pure pass-through
//!
//! Every other setting combines field by field in [`crate::settings`]. Each
//! source leaves a line in the report that `doctor` prints.

pub mod dns;
pub mod env;
pub mod static_file;
pub mod system;
pub mod user;
pub mod uv_toml;

use std::path::PathBuf;

use url::Url;

use crate::cache::Cache;
use crate::config::ConfigFile;
use crate::env_vars::{EnvVars, Lookup};
use crate::settings::{Combine, Layer, MirrorSpec, Origin, Settings, Sourced};

/// The files and folders discovery reads.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The user config file, and whether `UV_SHIM_CONFIG` named it.
    pub user_config: Option<PathBuf>,
    /// The folder standing for `/etc/uv`.
    pub system_dir: PathBuf,
    /// The cache folder.
    pub cache_dir: PathBuf,
}

impl Paths {
    /// The paths for this process, from the environment and the platform's conventions.
    pub fn from_env(env: Lookup) -> Self {
        // `<config dir>/uv-shim`: `$XDG_CONFIG_HOME` or `~/.config` on Linux,
        // `%APPDATA%` on Windows, as the design contract names them.
        let dirs = directories::BaseDirs::new();
        let user_config = env(EnvVars::UV_SHIM_CONFIG).map(PathBuf::from).or_else(|| {
            dirs.as_ref()
                .map(|d| d.config_dir().join("uv-shim").join("config.toml"))
        });
        let system_dir = env(EnvVars::UV_SHIM_SYSTEM_CONFIG_DIR)
            .map(PathBuf::from)
            .unwrap_or_else(default_system_dir);
        Paths {
            user_config,
            system_dir,
            cache_dir: Self::cache_dir_with(env, dirs.as_ref()),
        }
    }

    /// The cache folder alone (the warm path needs nothing else).
    pub fn cache_dir(env: Lookup) -> PathBuf {
        if let Some(dir) = env(EnvVars::UV_SHIM_CACHE_DIR) {
            return PathBuf::from(dir);
        }
        Self::cache_dir_with(env, directories::BaseDirs::new().as_ref())
    }

    fn cache_dir_with(env: Lookup, dirs: Option<&directories::BaseDirs>) -> PathBuf {
        env(EnvVars::UV_SHIM_CACHE_DIR)
            .map(PathBuf::from)
            .or_else(|| dirs.map(|d| d.cache_dir().join("uv-shim")))
            .unwrap_or_else(|| std::env::temp_dir().join("uv-shim-cache"))
    }

    /// The system config file of the shim.
    pub fn system_config(&self) -> PathBuf {
        self.system_dir.join("shim.toml")
    }
}

#[cfg(windows)]
fn default_system_dir() -> PathBuf {
    std::env::var_os(EnvVars::PROGRAMDATA)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"))
        .join("uv")
}

#[cfg(not(windows))]
fn default_system_dir() -> PathBuf {
    PathBuf::from("/etc/uv")
}

/// What one source said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// This source names the mirror in use.
    Chosen(String),
    /// This source names a mirror, but an earlier source won.
    Shadowed(String),
    /// Nothing there.
    NotSet(String),
    /// Not consulted, and why.
    Skipped(String),
    /// Something there is broken; discovery went on without it.
    Error(String),
}

/// One line of the discovery report.
#[derive(Debug, Clone)]
pub struct SourceReport {
    /// Short name of the source.
    pub name: &'static str,
    /// Where it looked (path, variable, domain).
    pub location: String,
    /// What it found.
    pub status: Status,
    /// Further lines (DNS: domains tried, records seen).
    pub details: Vec<String>,
}

/// How the chosen mirror's metadata reaches uv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataPlan {
    /// The shim fetches, validates and caches it from these URLs (failover order).
    Fetch(Vec<Url>),
    /// uv reads it itself from this local path (set in uv's own config); the shim leaves it.
    UvReadsItself(String),
}

/// The mirror discovery settled on.
#[derive(Debug, Clone)]
pub struct Chosen {
    /// Which source named it.
    pub origin: Origin,
    /// Mirror bases in failover order (empty when only metadata is known).
    pub bases: Vec<Url>,
    /// Where its metadata comes from.
    pub metadata: MetadataPlan,
}

impl Chosen {
    /// The mirror described by a settings layer.
    pub fn from_spec(spec: &Sourced<MirrorSpec>) -> Self {
        let sources = match &spec.value.metadata_url {
            Some(url) => vec![url.clone()],
            None => spec
                .value
                .bases
                .iter()
                .map(crate::urls::metadata_url_of)
                .collect(),
        };
        Chosen {
            origin: spec.origin.clone(),
            bases: spec.value.bases.clone(),
            metadata: MetadataPlan::Fetch(sources),
        }
    }

    /// One line for humans.
    pub fn describe(&self) -> String {
        let bases: Vec<String> = self
            .bases
            .iter()
            .map(|b| crate::redact::url(b.as_str()))
            .collect();
        let metadata = match &self.metadata {
            MetadataPlan::Fetch(urls) => urls
                .iter()
                .map(|u| crate::redact::url(u.as_str()))
                .collect::<Vec<_>>()
                .join(", "),
            MetadataPlan::UvReadsItself(path) => format!("{path} (read by uv itself)"),
        };
        if bases.is_empty() {
            format!("metadata {metadata}")
        } else {
            format!("mirror {} (metadata {metadata})", bases.join(", "))
        }
    }
}

/// How far discovery goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Stop at the first source that names a mirror (the `uv` face).
    FirstHit,
    /// Consult every source, for the report (`doctor`).
    All,
}

/// Everything discovery learnt.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// The combined settings.
    pub settings: Settings,
    /// The mirror in use, if any.
    pub mirror: Option<Chosen>,
    /// One line per source, in order.
    pub report: Vec<SourceReport>,
    /// Problems to tell the user about (bad config files and the like).
    pub problems: Vec<String>,
    /// The paths consulted.
    pub paths: Paths,
}

/// Runs discovery.
pub fn discover(env: Lookup, paths: Paths, depth: Depth) -> Discovery {
    let mut report = Vec::new();
    let mut problems = Vec::new();

    let user = load_config(paths.user_config.as_deref(), &mut problems);
    let system_path = paths.system_config();
    let system = load_config(Some(&system_path), &mut problems);
    let settings = Settings::resolve(
        Layer::from_env(env),
        loaded(&user).zip(paths.user_config.clone().map(Origin::User)),
        loaded(&system).map(|f| (f, Origin::System(system_path.clone()))),
    );
    problems.extend(settings.ignored.iter().cloned());

    let mut chosen: Option<Chosen> = None;
    let mut extras = Layer::default();
    let mut offer = |report: &mut Vec<SourceReport>,
                     mut line: SourceReport,
                     candidate: Option<(Chosen, Layer)>,
                     chosen: &mut Option<Chosen>| {
        if let Some((candidate, layer)) = candidate {
            if chosen.is_none() {
                line.status = Status::Chosen(candidate.describe());
                *chosen = Some(candidate);
                extras = layer;
            } else {
                line.status = Status::Shadowed(candidate.describe());
            }
        }
        report.push(line);
    };

    let (line, candidate) = env::consult(env);
    offer(
        &mut report,
        line,
        candidate.map(|c| (c, Layer::default())),
        &mut chosen,
    );
    let (line, candidate) = user::consult(paths.user_config.as_deref(), &user);
    offer(
        &mut report,
        line,
        candidate.map(|c| (c, Layer::default())),
        &mut chosen,
    );
    let (line, candidate) = system::consult(&system_path, &system);
    offer(
        &mut report,
        line,
        candidate.map(|c| (c, Layer::default())),
        &mut chosen,
    );

    let more = |chosen: &Option<Chosen>| chosen.is_none() || depth == Depth::All;
    let skip = |name: &'static str, location: String| SourceReport {
        name,
        location,
        status: Status::Skipped("an earlier source named the mirror".into()),
        details: Vec::new(),
    };

    let uv_toml_path = paths.system_dir.join("uv.toml");
    if more(&chosen) {
        let (line, candidate) = uv_toml::consult(&uv_toml_path);
        offer(&mut report, line, candidate, &mut chosen);
    } else {
        report.push(skip("uv.toml", uv_toml_path.display().to_string()));
    }

    let static_path = paths.system_dir.join(crate::urls::METADATA_FILE);
    if more(&chosen) {
        let (line, candidate) = static_file::consult(&static_path);
        offer(
            &mut report,
            line,
            candidate.map(|c| (c, Layer::default())),
            &mut chosen,
        );
    } else {
        report.push(skip("static metadata", static_path.display().to_string()));
    }

    if more(&chosen) {
        let cache = Cache::new(paths.cache_dir.clone());
        let input = dns::Input {
            env,
            settings: &settings,
            cache: &cache,
        };
        let (line, candidate) = dns::consult(&input);
        offer(&mut report, line, candidate, &mut chosen);
    } else {
        report.push(skip("dns", "_uv-mirror.<search domains>".into()));
    }

    let mut settings = settings;
    // A source found after the config files (uv.toml, DNS) may carry extra
    // settings; they fill only what env, user and system left open.
    settings.layer = settings.layer.combine(extras);

    Discovery {
        settings,
        mirror: chosen,
        report,
        problems,
        paths,
    }
}

pub(crate) type Loaded = Result<Option<ConfigFile>, String>;

fn load_result(path: Option<&std::path::Path>) -> Loaded {
    match path {
        Some(path) => crate::config::load(path).map_err(|e| e.to_string()),
        None => Ok(None),
    }
}

fn load_config(path: Option<&std::path::Path>, problems: &mut Vec<String>) -> Loaded {
    let loaded = load_result(path);
    if let Err(err) = &loaded {
        problems.push(format!("{err} (file ignored)"));
    }
    loaded
}

/// Sources 2 and 3 read the same file format; this is their common part.
fn consult_config_file(
    name: &'static str,
    path: Option<&std::path::Path>,
    loaded: &Loaded,
    origin: impl FnOnce(PathBuf) -> Origin,
) -> (SourceReport, Option<Chosen>) {
    let mut line = SourceReport {
        name,
        location: path.map_or_else(|| "(no config dir)".into(), |p| p.display().to_string()),
        status: Status::NotSet("no such file".into()),
        details: Vec::new(),
    };
    let (Some(path), loaded) = (path, loaded) else {
        return (line, None);
    };
    match loaded {
        Err(err) => {
            line.status = Status::Error(err.clone());
            (line, None)
        }
        Ok(None) => (line, None),
        Ok(Some(file)) => {
            let layer = Layer::from_file(file, &origin(path.to_path_buf()));
            match layer.mirror {
                Some(spec) => (line, Some(Chosen::from_spec(&spec))),
                None => {
                    line.status = Status::NotSet("no `mirror` or `metadata-url` key".into());
                    (line, None)
                }
            }
        }
    }
}

fn loaded(l: &Loaded) -> Option<&ConfigFile> {
    l.as_ref().ok().and_then(|file| file.as_ref())
}
