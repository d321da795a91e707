//! What `doctor` reports, as data: serialised as it is for `--json`, and
//! rendered as text for people.

use serde::Serialize;

#[derive(Serialize)]
pub(super) struct Report {
    pub(super) version: &'static str,
    pub(super) sources: Vec<SourceLine>,
    pub(super) mirror: Option<MirrorLine>,
    pub(super) settings: Vec<SettingLine>,
    pub(super) metadata: Option<MetadataLine>,
    pub(super) cache: CacheLine,
    pub(super) proxy: ProxyReport,
    pub(super) real_uv: UvLine,
    pub(super) scheme: crate::decide::Scheme,
    pub(super) env: Vec<crate::decide::Var>,
    pub(super) notes: Vec<String>,
    pub(super) problems: Vec<String>,
}

#[derive(Serialize)]
pub(super) struct CacheLine {
    /// The folder in use (`None`: running without a cache).
    pub(super) folder: Option<String>,
    /// Why the folder asked for is not the one in use.
    pub(super) passed_over: Option<String>,
}

#[derive(Serialize)]
pub(super) struct SourceLine {
    pub(super) order: usize,
    pub(super) name: &'static str,
    pub(super) location: String,
    pub(super) status: &'static str,
    pub(super) detail: String,
    pub(super) details: Vec<String>,
}

#[derive(Serialize)]
pub(super) struct MirrorLine {
    pub(super) origin: String,
    pub(super) bases: Vec<String>,
    pub(super) description: String,
}

#[derive(Serialize)]
pub(super) struct SettingLine {
    pub(super) key: &'static str,
    pub(super) value: String,
    pub(super) origin: String,
}

#[derive(Serialize)]
pub(super) struct MetadataLine {
    pub(super) sources: Vec<String>,
    pub(super) rewrite: &'static str,
    pub(super) cache_file: Option<String>,
    pub(super) state: &'static str,
    pub(super) source: Option<String>,
    pub(super) entries: Option<u64>,
    pub(super) age_seconds: Option<u64>,
    pub(super) ttl_seconds: u64,
    pub(super) etag: Option<String>,
    /// Which roots vouched for the mirror's certificate on the last fetch.
    pub(super) certificate: Option<&'static str>,
    /// The id of the minisign key that signed the copy in use (`trusted-keys`).
    pub(super) signed_by: Option<String>,
    pub(super) dropped: Option<DroppedLine>,
    pub(super) last_error: Option<String>,
}

/// The entries of the document left out of the copy, and the first reasons.
#[derive(Serialize)]
pub(super) struct DroppedLine {
    pub(super) count: u64,
    pub(super) first: Vec<String>,
}

#[derive(Serialize)]
pub(super) struct ProxyReport {
    /// Every proxy variable that is set, values redacted.
    pub(super) variables: Vec<ProxyVariable>,
    /// The metadata sources that go through a proxy, and which.
    pub(super) sources: Vec<ProxiedSource>,
}

#[derive(Serialize)]
pub(super) struct ProxyVariable {
    pub(super) name: &'static str,
    pub(super) value: String,
}

#[derive(Serialize)]
pub(super) struct ProxiedSource {
    pub(super) source: String,
    pub(super) proxy: String,
    pub(super) variable: &'static str,
}

#[derive(Serialize)]
pub(super) struct UvLine {
    pub(super) path: Option<String>,
    pub(super) origin: Option<String>,
    pub(super) version: Option<String>,
    pub(super) error: Option<String>,
    /// Other uv-shims found on PATH and passed over.
    pub(super) other_shims: Vec<String>,
    /// What a `uvx` call runs: the real uvx, or the real uv's uvx command.
    pub(super) uvx: Option<String>,
    /// What a `uvw` call runs (Windows only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) uvw: Option<String>,
}
