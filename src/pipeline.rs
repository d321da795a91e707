//! The pipeline every face of the shim shares, in the one direction data
//! flows: discover -> settings -> decide -> metadata -> hand-over. Every
//! variable and file it reads is recorded in [`Inputs`], from which the warm
//! plan is written.

use std::path::PathBuf;
use std::time::Duration;

use crate::cache::Cache;
use crate::decide::{self, Handover, Scheme};
use crate::discover::{self, Depth, Discovery, Paths, uv_toml};
use crate::env_vars::{EnvVars, Lookup};
use crate::handover::real_uv::{self, RealUvError, Version, VersionSource};
use crate::handover::warm::Remembered;
use crate::inputs::Inputs;
use crate::metadata::freshness::{self, Freshness, Request};
use crate::settings::Sourced;

/// How hard to try for metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetching {
    /// Use the cache while fresh, fetch when stale (the `uv` face).
    Normal,
    /// Revalidate now (`uv-shim refresh`).
    Force,
}

/// Everything the pipeline learnt, for the hand-over and for `doctor`.
pub struct Run {
    /// What it read.
    pub inputs: Inputs,
    /// Discovery and settings.
    pub discovery: Discovery,
    /// The real uv.
    pub uv: Result<Sourced<PathBuf>, RealUvError>,
    /// Its version.
    pub version: Option<Result<(Version, VersionSource), String>>,
    /// The metadata request, when the decision hands uv metadata.
    pub request: Option<Request>,
    /// How fresh the metadata copy is.
    pub freshness: Option<Freshness>,
    /// What uv gets.
    pub handover: Handover,
}

/// Time limit of one metadata request: `UV_SHIM_HTTP_TIMEOUT` or the default.
fn timeout(env: Lookup) -> Duration {
    env(EnvVars::UV_SHIM_HTTP_TIMEOUT)
        .and_then(|t| humantime::parse_duration(&t).ok())
        .unwrap_or(crate::metadata::fetch::DEFAULT_TIMEOUT)
}

/// Runs the pipeline.
pub fn run(env: Lookup, depth: Depth, fetching: Fetching) -> Run {
    let inputs = Inputs::new();
    let recording = |name: &str| inputs.var(env, name);
    let env: Lookup = &recording;

    let discovery = discover::discover(env, &inputs, Paths::from_env(env), depth);
    let cache = Cache::new(discovery.paths.cache_dir.clone());
    let uv = real_uv::find(
        discovery.settings.layer.uv.as_ref(),
        inputs.var_os(EnvVars::PATH),
        real_uv::this_binary().as_ref(),
        &inputs,
    );
    let uv_own = uv_toml::predict(env, &inputs);

    // The version matters only when there is a mirror to hand over (or a report to give).
    let version = match &uv {
        Ok(uv) if discovery.settings.layer.mirror.is_some() || depth == Depth::All => {
            Some(real_uv::version(&cache, &uv.value, &inputs))
        }
        _ => None,
    };
    let decision = decide::decide(&decide::Facts {
        env,
        settings: &discovery.settings,
        uv_own: &uv_own,
        reads_json_url: !matches!(&version, Some(Ok((v, _))) if !v.reads_json_url()),
    });
    let request = decision.fetch.as_ref().map(|fetch| Request {
        sources: fetch.sources.clone(),
        rewrite: fetch.rewrite.clone(),
        policy: fetch.policy.clone(),
        ttl: discovery.settings.ttl.value,
        timeout: timeout(env),
        force: fetching == Fetching::Force,
    });
    let freshness = request
        .as_ref()
        .map(|r| freshness::ensure(&cache, r, &inputs));
    let handover = decision.handover(
        freshness
            .as_ref()
            .and_then(|f| f.copy())
            .map(|c| c.json.as_path()),
    );
    Run {
        inputs,
        discovery,
        uv,
        version,
        request,
        freshness,
        handover,
    }
}

/// Only the real uv, for pass-through: `UV_SHIM_REAL_UV`, the config key
/// `uv`, `PATH`, with the same precedence as the full pipeline.
pub fn real_uv_only(env: Lookup) -> Result<Sourced<PathBuf>, RealUvError> {
    let inputs = Inputs::new();
    let settings = discover::config_settings(env, &inputs, &Paths::from_env(env));
    real_uv::find(
        settings.layer.uv.as_ref(),
        inputs.var_os(EnvVars::PATH),
        real_uv::this_binary().as_ref(),
        &inputs,
    )
}

/// Longest a remembered hand-over is trusted, whatever else it rests on.
const PLAN_MAX_AGE: u64 = 24 * 60 * 60;

impl Run {
    /// The warning lines the `uv` face prints (at most one about metadata).
    pub fn warnings(&self) -> Vec<String> {
        let mut lines = self.discovery.problems.clone();
        match &self.freshness {
            Some(Freshness::Stale {
                copy,
                error,
                now: true,
            }) => lines.push(format!(
                "could not refresh the mirror's metadata ({error}); using the copy from {} ago",
                humantime::format_duration(copy.state.age(crate::fsutil::now_secs()))
            )),
            Some(Freshness::Unavailable { error, now: true }) => lines.push(format!(
                "could not get the mirror's metadata ({error}); {}",
                match self.handover.scheme {
                    Scheme::MirrorVariables =>
                        "uv gets the mirror variables and its built-in list instead",
                    _ => "uv runs without it",
                }
            )),
            _ => {}
        }
        lines
    }

    /// What the warm path may remember of this run: the hand-over and when
    /// it expires (what it rests on is in [`Run::inputs`]). `None` when this
    /// run had anything to say (a warning, a stale copy, no uv), so such runs
    /// always take the full pipeline again.
    pub fn warm_plan(&self) -> Option<(Remembered, u64)> {
        if !self.warnings().is_empty() {
            return None;
        }
        let uv = self.uv.as_ref().ok()?;
        if matches!(self.version, Some(Err(_))) {
            return None;
        }
        match &self.freshness {
            None
            | Some(Freshness::Fresh(_) | Freshness::Fetched(_) | Freshness::Revalidated(_)) => {}
            Some(Freshness::Stale { .. } | Freshness::Unavailable { .. }) => return None,
        }
        let expires = self
            .inputs
            .expires()
            .min(crate::fsutil::now_secs().saturating_add(PLAN_MAX_AGE));
        let hand_over = Remembered {
            uv: uv.value.clone(),
            vars: self
                .handover
                .to_set()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        };
        Some((hand_over, expires))
    }
}
