//! Discovery: where the organisation's mirror comes from. Each source reads
//! what it needs (through [`Inputs`], so the warm path knows what that was)
//! and returns its line of the report and a settings [`Layer`], the mirror
//! included. [`discover`] combines them in the order of the design contract:
//!
//! 1. `UV_SHIM_MIRROR` and the shim's other variables ([`env`])
//! 2. the user config file ([`user`])
//! 3. the system config file ([`system`])
//! 4. uv's own system config `uv.toml` ([`uv_toml`])
//! 5. a static `download-metadata.json` beside it ([`static_file`])
//! 6. a DNS TXT record ([`dns`])
//! 7. nothing: pure pass-through
//!
//! Layers 1–3 combine field by field; the first layer that names a mirror
//! wins it, and sources 4–6 are only asked while none has.

pub mod dns;
pub mod env;
pub mod static_file;
pub mod system;
pub mod user;
pub mod uv_toml;

use std::path::{Path, PathBuf};

use crate::cache::Cache;
use crate::env_vars::{EnvVars, Lookup};
use crate::inputs::Inputs;
use crate::settings::config_file;
use crate::settings::{FileLayer, Layer, Mirror, Origin, Settings, Sourced};

/// The files and folders discovery reads.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The user config file (`UV_SHIM_CONFIG`, or the platform's config dir).
    pub user_config: Option<PathBuf>,
    /// The folder standing for `/etc/uv`.
    pub system_dir: PathBuf,
    /// The cache folder.
    pub cache_dir: PathBuf,
}

/// The variables `directories` reads by itself to find the user's folders.
const BASE_DIR_VARS: &[&str] = &[
    EnvVars::HOME,
    EnvVars::XDG_CONFIG_HOME,
    EnvVars::XDG_CACHE_HOME,
    EnvVars::APPDATA,
];

impl Paths {
    /// The paths for this process, from the environment and the platform's conventions.
    pub fn from_env(env: Lookup) -> Self {
        for name in BASE_DIR_VARS {
            // Read through `env` so the warm path records them.
            env(name);
        }
        // `<config dir>/uv-shim`: `$XDG_CONFIG_HOME` or `~/.config` on Linux,
        // `%APPDATA%` on Windows, as the design contract names them.
        let dirs = directories::BaseDirs::new();
        let user_config = env(EnvVars::UV_SHIM_CONFIG).map(PathBuf::from).or_else(|| {
            dirs.as_ref()
                .map(|d| d.config_dir().join("uv-shim").join("config.toml"))
        });
        let system_dir = env(EnvVars::UV_SHIM_SYSTEM_CONFIG_DIR)
            .map(PathBuf::from)
            .unwrap_or_else(|| default_system_dir(env));
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
fn default_system_dir(env: Lookup) -> PathBuf {
    env(EnvVars::PROGRAMDATA)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"))
        .join("uv")
}

#[cfg(not(windows))]
fn default_system_dir(_: Lookup) -> PathBuf {
    PathBuf::from("/etc/uv")
}

/// The discovery sources, in the order of the design contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceId {
    /// 1: `UV_SHIM_MIRROR`.
    Env,
    /// 2: the user config file.
    UserConfig,
    /// 3: the system config file.
    SystemConfig,
    /// 4: uv's own system `uv.toml`.
    UvToml,
    /// 5: a static `download-metadata.json`.
    StaticFile,
    /// 6: a DNS TXT record.
    Dns,
}

impl SourceId {
    /// The short name `doctor` shows.
    pub fn name(self) -> &'static str {
        match self {
            SourceId::Env => "env",
            SourceId::UserConfig => "user config",
            SourceId::SystemConfig => "system config",
            SourceId::UvToml => "uv.toml",
            SourceId::StaticFile => "static metadata",
            SourceId::Dns => "dns",
        }
    }

    /// The source a setting's origin belongs to.
    fn of(origin: &Origin) -> Option<SourceId> {
        match origin {
            Origin::Env(_) => Some(SourceId::Env),
            Origin::User(_) => Some(SourceId::UserConfig),
            Origin::System(_) => Some(SourceId::SystemConfig),
            Origin::UvToml(_) => Some(SourceId::UvToml),
            Origin::StaticFile(_) => Some(SourceId::StaticFile),
            Origin::Dns(_) => Some(SourceId::Dns),
            Origin::Default => None,
        }
    }
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
    /// Which source.
    pub id: SourceId,
    /// Where it looked (path, variable, domain).
    pub location: String,
    /// What it found.
    pub status: Status,
    /// Further lines (DNS: domains tried, records seen).
    pub details: Vec<String>,
}

impl SourceReport {
    /// A line for `id` at `location` that found nothing (yet).
    pub fn new(id: SourceId, location: impl Into<String>, not_set: impl Into<String>) -> Self {
        SourceReport {
            id,
            location: location.into(),
            status: Status::NotSet(not_set.into()),
            details: Vec::new(),
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
    /// The combined settings; `settings.layer.mirror` is the mirror in use.
    pub settings: Settings,
    /// One line per source, in order.
    pub report: Vec<SourceReport>,
    /// Problems to tell the user about (bad config files and the like).
    pub problems: Vec<String>,
    /// The paths consulted.
    pub paths: Paths,
}

/// Asks one of the sources found after the config files, given the settings so far.
type Consult<'a> = dyn Fn(&Settings) -> (SourceReport, Layer) + 'a;

/// Runs discovery.
pub fn discover(env: Lookup, inputs: &Inputs, paths: Paths, depth: Depth) -> Discovery {
    let (mut settings, mut report, mut problems) = config_layers(env, inputs, &paths);

    let uv_toml = paths.system_dir.join("uv.toml");
    let static_file = paths.system_dir.join(crate::urls::METADATA_FILE);
    let cache = Cache::new(paths.cache_dir.clone());
    // Sources 4-6, each asked only while no mirror is named (or for the report).
    let later: [(SourceId, String, &Consult); 3] = [
        (SourceId::UvToml, uv_toml.display().to_string(), &|_| {
            uv_toml::consult(&uv_toml, inputs)
        }),
        (
            SourceId::StaticFile,
            static_file.display().to_string(),
            &|_| static_file::consult(&static_file, inputs),
        ),
        (
            SourceId::Dns,
            format!("{}.<search domains>", dns::LABEL),
            &|settings| {
                dns::consult(&dns::Input {
                    env,
                    inputs,
                    settings,
                    cache: &cache,
                })
            },
        ),
    ];
    for (id, location, consult) in later {
        if settings.layer.mirror.is_some() && depth == Depth::FirstHit {
            let mut line = SourceReport::new(id, location, "");
            line.status = Status::Skipped("an earlier source named the mirror".into());
            report.push(line);
            continue;
        }
        let (line, found) = consult(&settings);
        report.push(line.naming(found.mirror.as_ref()));
        settings.add_found(found);
    }
    mark_the_winner(&mut report, &settings);
    problems.extend(settings.ignored.iter().cloned());
    Discovery {
        settings,
        report,
        problems,
        paths,
    }
}

/// Only the environment and the two config files: the settings without
/// asking uv.toml, a static file or DNS (the pass-through of
/// `UV_SHIM_DISABLE` still needs the `uv` key).
pub fn config_settings(env: Lookup, inputs: &Inputs, paths: &Paths) -> Settings {
    config_layers(env, inputs, paths).0
}

/// Sources 1-3, combined field by field: `env.combine(user).combine(system)`.
fn config_layers(
    env: Lookup,
    inputs: &Inputs,
    paths: &Paths,
) -> (Settings, Vec<SourceReport>, Vec<String>) {
    let mut problems = Vec::new();
    let (env_line, env_layer) = env::consult(env);
    let user = user::consult(paths.user_config.as_deref(), inputs, &mut problems);
    let system = system::consult(&paths.system_config(), inputs, &mut problems);
    let env_line = env_line.naming(env_layer.mirror.as_ref());
    let settings = Settings::resolve(env_layer, user.file.as_ref(), system.file.as_ref());
    let report = vec![env_line, user.line, system.line];
    (settings, report, problems)
}

impl SourceReport {
    /// Notes that this source names `mirror` (chosen or shadowed is settled later).
    fn naming(mut self, mirror: Option<&Sourced<Mirror>>) -> Self {
        if let Some(mirror) = mirror {
            self.status = Status::Chosen(mirror.value.describe());
        }
        self
    }
}

/// Every line that names a mirror but is not the source of the one in use is shadowed.
fn mark_the_winner(report: &mut [SourceReport], settings: &Settings) {
    let winner = settings
        .layer
        .mirror
        .as_ref()
        .and_then(|m| SourceId::of(&m.origin));
    for line in report {
        if let Status::Chosen(what) = &line.status
            && Some(line.id) != winner
        {
            line.status = Status::Shadowed(what.clone());
        }
    }
}

/// One config file (source 2 or 3): the report line and the parsed file.
pub struct ConfigSource {
    /// The report line.
    pub line: SourceReport,
    /// The file and its layer, when it exists and is valid.
    pub file: Option<FileLayer>,
}

/// Sources 2 and 3 read the same file format; this is their common part.
fn consult_config_file(
    id: SourceId,
    path: Option<&Path>,
    inputs: &Inputs,
    problems: &mut Vec<String>,
    origin: impl FnOnce(PathBuf) -> Origin,
) -> ConfigSource {
    let location = path.map_or_else(|| "(no config dir)".into(), |p| p.display().to_string());
    let mut line = SourceReport::new(id, location, "no such file");
    let Some(path) = path else {
        return ConfigSource { line, file: None };
    };
    let file = match config_file::load(path, inputs) {
        Err(err) => {
            let err = err.to_string();
            problems.push(format!("{err} (file ignored)"));
            line.status = Status::Error(err);
            None
        }
        Ok(None) => None,
        Ok(Some(file)) => {
            let file = FileLayer::new(file, origin(path.to_path_buf()));
            match &file.layer.mirror {
                Some(mirror) => line = line.naming(Some(mirror)),
                None => line.status = Status::NotSet("no `mirror` or `metadata-url` key".into()),
            }
            Some(file)
        }
    };
    ConfigSource { line, file }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The warm path knows what discovery read only because every read goes
    /// through `Inputs`. A source that reads a file or a variable behind its
    /// back would be invisible to it: no such read may exist here.
    #[test]
    fn discovery_reads_only_through_inputs() {
        fn visit(dir: &Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    visit(&path, found);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                // Tests may set up files as they like.
                let code = text.split("#[cfg(test)]").next().unwrap();
                for banned in [
                    "std::fs::read",
                    "fs::read_to_string",
                    "std::fs::metadata",
                    "std::env::var",
                    ".is_file()",
                    ".exists()",
                ] {
                    if code.contains(banned) {
                        found.push(format!("{}: {banned}", path.display()));
                    }
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = Vec::new();
        for dir in ["discover", "settings"] {
            visit(&root.join(dir), &mut found);
        }
        assert!(found.is_empty(), "reads that bypass Inputs: {found:#?}");
    }
}
