//! The pipeline every face of the shim shares, in the one direction data
//! flows: discover -> settings -> decide -> metadata -> hand-over. Every
//! variable and file it reads is recorded in [`Inputs`], from which the warm
//! plan is written. One [`Budget`] made here bounds all the network work of
//! the call (DNS discovery and every metadata source).

use std::path::PathBuf;

use crate::budget::Budget;
use crate::cache::{Cache, Passed};
use crate::decide::{self, Handover, Scheme};
use crate::discover::{self, Depth, Discovery, Paths, uv_toml};
use crate::env_vars::{EnvVars, Lookup};
use crate::handover::face::{self, Face, Target};
use crate::handover::real_uv::{self, RealUvError};
use crate::handover::uv_version::{Version, VersionSource};
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
    /// The cache used.
    pub cache: Cache,
    /// Why the cache folder asked for is not used.
    pub cache_passed: Option<Passed>,
    /// The real uv.
    pub uv: Result<Sourced<PathBuf>, RealUvError>,
    /// Other uv-shims passed over on `PATH`.
    pub other_shims: Vec<PathBuf>,
    /// Its version, when there is a mirror or a report.
    pub version: Option<Result<(Version, VersionSource), String>>,
    /// Its version whenever it said one (what `uvx` hands to, mirror or not).
    pub uv_version: Option<Version>,
    /// The metadata request, when the decision hands uv metadata.
    pub request: Option<Request>,
    /// How fresh the metadata copy is.
    pub freshness: Option<Freshness>,
    /// What uv gets.
    pub handover: Handover,
}

/// Runs the pipeline.
pub fn run(env: Lookup, depth: Depth, fetching: Fetching) -> Run {
    let inputs = Inputs::new();
    let recording = |name: &str| inputs.var(env, name);
    let env: Lookup = &recording;

    let (budget, bad_budget) = Budget::from_env(env);
    let paths = Paths::from_env(env);
    let (cache, cache_passed) =
        Cache::choose(paths.cache_dir.as_deref(), paths.own_cache_dir.as_deref());
    // Before anything reads the cache: what it prunes is then fetched afresh.
    crate::cache::housekeeping::run(&cache);
    let mut discovery = discover::discover(env, &inputs, paths, &cache, depth, &budget);
    discovery.problems.extend(bad_budget);
    let found = real_uv::find(
        discovery.settings.layer.uv.as_ref(),
        inputs.var_os(EnvVars::PATH),
        real_uv::this_binary().as_ref(),
        &cache,
        &inputs,
    );
    let uv_own = uv_toml::predict(env, &inputs);

    // The version matters only when there is a mirror to hand over (or a report to give).
    let wants_version = discovery.settings.layer.mirror.is_some() || depth == Depth::All;
    let (uv, version, other_shims) = match found {
        Ok(found) => (Ok(found.uv), Some(found.version), found.other_shims),
        Err(err) => {
            let shims = match &err {
                RealUvError::NotFound { shims } => shims.clone(),
                _ => Vec::new(),
            };
            (Err(err), None, shims)
        }
    };
    let uv_version = match &version {
        Some(Ok((v, _))) => Some(*v),
        _ => None,
    };
    let version = version.filter(|_| wants_version);
    let decision = decide::decide(&decide::Facts {
        env,
        settings: &discovery.settings,
        uv_own: &uv_own,
        reads_json_url: !matches!(&version, Some(Ok((v, _))) if !v.reads_json_url()),
        // An unknown version is taken for a recent one, as above.
        system_certs_var: match &version {
            Some(Ok((v, _))) => v.system_certs_var(),
            _ => EnvVars::UV_SYSTEM_CERTS,
        },
    });
    let request = decision.fetch.as_ref().map(|fetch| Request {
        sources: fetch.sources.clone(),
        rewrite: fetch.rewrite.clone(),
        policy: fetch.policy.clone(),
        ttl: discovery.settings.ttl.value,
        budget,
        force: fetching == Fetching::Force,
        netrc: crate::metadata::netrc::candidates(env),
        cert_file: env(EnvVars::SSL_CERT_FILE).is_some() || env(EnvVars::SSL_CERT_DIR).is_some(),
    });
    // Without a private cache there is no copy to hand over: uv gets the
    // mirror variables (the cache warning says why).
    let freshness = request
        .as_ref()
        .filter(|_| cache.is_usable())
        .map(|r| freshness::ensure(&cache, r, &inputs));
    let copy = freshness.as_ref().and_then(|f| f.copy());
    let handover = decision.handover(
        copy.map(|c| c.json.as_path()),
        copy.and_then(|c| c.state.tls),
    );
    Run {
        inputs,
        discovery,
        cache,
        cache_passed,
        uv,
        other_shims,
        version,
        uv_version,
        request,
        freshness,
        handover,
    }
}

/// Only the real uv, for pass-through: `UV_SHIM_REAL_UV`, the config key
/// `uv`, `PATH`, with the same precedence as the full pipeline.
pub fn real_uv_only(env: Lookup) -> Result<Sourced<PathBuf>, RealUvError> {
    let inputs = Inputs::new();
    let paths = Paths::from_env(env);
    // Pure pass-through reads no config file at all: only the variable.
    let (_, env_layer) = discover::env::consult(env);
    let (cache, _) = Cache::choose(paths.cache_dir.as_deref(), paths.own_cache_dir.as_deref());
    real_uv::find(
        env_layer.uv.as_ref(),
        inputs.var_os(EnvVars::PATH),
        real_uv::this_binary().as_ref(),
        &cache,
        &inputs,
    )
    .map(|found| found.uv)
}

/// Longest a remembered hand-over is trusted, whatever else it rests on.
const PLAN_MAX_AGE: u64 = 24 * 60 * 60;

impl Run {
    /// The warning lines the `uv` face prints (at most one about metadata).
    pub fn warnings(&self) -> Vec<String> {
        let mut lines = self.discovery.problems.clone();
        lines.extend(
            self.cache_passed
                .iter()
                .filter(|passed| passed.news)
                .map(|passed| passed.why.clone()),
        );
        lines.extend(self.handover.problems.iter().cloned());
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

    /// What the `face` starts: the real uv, or for `uvx` the real uvx beside
    /// it or the real uv's own uvx command ([`face::target`]); the paths
    /// looked at join [`Run::inputs`], so the warm path rests on them too.
    pub fn target(&self, face: Face) -> Result<Target, &RealUvError> {
        let uv = self.uv.as_ref()?;
        Ok(face::target(
            face,
            &uv.value,
            self.uv_version.as_ref(),
            &self.inputs,
        ))
    }

    /// What the warm path may remember of this run: the hand-over of `target` and when
    /// it expires (what it rests on is in [`Run::inputs`]). `None` when this
    /// run had anything to say (a warning, a stale copy, no uv), so such runs
    /// always take the full pipeline again.
    pub fn warm_plan(&self, target: &Target) -> Option<(Remembered, u64)> {
        if !self.warnings().is_empty() {
            return None;
        }
        self.uv.as_ref().ok()?;
        if matches!(self.version, Some(Err(_))) {
            return None;
        }
        let now = crate::fsutil::now_secs();
        if self.inputs.expires() <= now {
            return None;
        }
        match &self.freshness {
            None
            | Some(Freshness::Fresh(_) | Freshness::Fetched(_) | Freshness::Revalidated(_)) => {}
            Some(Freshness::Stale { .. } | Freshness::Unavailable { .. }) => return None,
        }
        let expires = self.inputs.expires().min(now.saturating_add(PLAN_MAX_AGE));
        let hand_over = Remembered {
            uv: target.program.clone(),
            prefix: target.prefix.clone(),
            vars: self
                .handover
                .to_set()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        };
        Some((hand_over, expires))
    }
}
