//! The discovery report: one line per source, in order, with what it
//! found; `doctor` prints it.

use crate::settings::{Mirror, Origin, Sourced};

/// The discovery sources, in the order of the design contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceId {
    /// 1: `UV_SHIM_MIRROR`.
    Env,
    /// 2: the user config file.
    UserConfig,
    /// 3: the system config file.
    SystemConfig,
    /// 3b: the config embedded at build time.
    BuiltinConfig,
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
            SourceId::BuiltinConfig => "built-in config",
            SourceId::UvToml => "uv.toml",
            SourceId::StaticFile => "static metadata",
            SourceId::Dns => "dns",
        }
    }

    /// The source a setting's origin belongs to.
    pub fn of(origin: &Origin) -> Option<SourceId> {
        match origin {
            Origin::Env(_) => Some(SourceId::Env),
            Origin::User(_) => Some(SourceId::UserConfig),
            Origin::System(_) => Some(SourceId::SystemConfig),
            Origin::Builtin(_) => Some(SourceId::BuiltinConfig),
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

impl SourceReport {
    /// Notes that this source names `mirror` (chosen or shadowed is settled later).
    pub fn naming(mut self, mirror: Option<&Sourced<Mirror>>) -> Self {
        if let Some(mirror) = mirror {
            self.status = Status::Chosen(mirror.value.describe());
        }
        self
    }
}
