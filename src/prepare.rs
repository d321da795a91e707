//! The pipeline every face of the shim shares, in the one direction data
//! flows: discover -> settings -> metadata -> env. `exec` comes after.

use std::path::PathBuf;
use std::time::Duration;

use crate::cache::Cache;
use crate::discover::uv_toml;
use crate::discover::{self, Depth, Discovery, MetadataPlan, Paths};
use crate::env_vars::{EnvVars, Lookup};
use crate::metadata::Rewrite;
use crate::realuv::{self, RealUvError, Version, VersionSource};
use crate::refresh::{self, Outcome, Request};
use crate::settings::Sourced;
use crate::uvenv::{self, Plan};

/// How hard to try for metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetching {
    /// Use the cache while fresh, fetch when stale (the `uv` face).
    Normal,
    /// Revalidate now (`uv-shim refresh`).
    Force,
}

/// Everything the pipeline learnt, for exec and for `doctor`.
pub struct Prepared {
    /// Discovery and settings.
    pub discovery: Discovery,
    /// The real uv.
    pub uv: Result<Sourced<PathBuf>, RealUvError>,
    /// Its version.
    pub version: Option<Result<(Version, VersionSource), String>>,
    /// The metadata request, when the shim hands uv metadata.
    pub request: Option<Request>,
    /// Its outcome.
    pub outcome: Option<Outcome>,
    /// The variables for uv.
    pub plan: Plan,
}

/// Time limit of one metadata request: `UV_SHIM_HTTP_TIMEOUT` or the default.
pub fn timeout(env: Lookup) -> Duration {
    env(EnvVars::UV_SHIM_HTTP_TIMEOUT)
        .and_then(|t| humantime::parse_duration(&t).ok())
        .unwrap_or(crate::fetch::DEFAULT_TIMEOUT)
}

/// Runs the pipeline.
pub fn prepare(env: Lookup, depth: Depth, fetching: Fetching) -> Prepared {
    let discovery = discover::discover(env, Paths::from_env(env), depth);
    let cache = Cache::new(discovery.paths.cache_dir.clone());
    let me = std::env::current_exe()
        .ok()
        .and_then(|p| realuv::identity(&p));
    let uv = realuv::find(
        discovery.settings.layer.uv.as_ref(),
        std::env::var_os(EnvVars::PATH),
        me,
    );
    let uv_own = uv_toml::predict(env);

    // The version matters only when there is a mirror to hand over (or a report to give).
    let version = match &uv {
        Ok(uv) if discovery.mirror.is_some() || depth == Depth::All => {
            Some(realuv::version(&cache, &uv.value))
        }
        _ => None,
    };
    let reads_json_url = match &version {
        Some(Ok((v, _))) => v.reads_json_url(),
        _ => true,
    };

    let request = discovery.mirror.as_ref().and_then(|mirror| {
        let MetadataPlan::Fetch(sources) = &mirror.metadata else {
            return None;
        };
        if !reads_json_url || env(EnvVars::UV_PYTHON_DOWNLOADS_JSON_URL).is_some() {
            return None;
        }
        Some(Request {
            sources: sources.clone(),
            rewrite: Rewrite {
                bases: mirror.bases.clone(),
                cpython_upstream: uv_own.python_install_mirror.is_some(),
                pypy_upstream: uv_own.pypy_install_mirror.is_some()
                    || discovery.settings.layer.pypy_mirror.is_some(),
            },
            ttl: discovery.settings.ttl.value,
            timeout: timeout(env),
            force: fetching == Fetching::Force,
        })
    });
    let outcome = request.as_ref().map(|r| refresh::ensure(&cache, r));

    let plan = uvenv::build(&uvenv::Inputs {
        env,
        settings: &discovery.settings,
        mirror: discovery.mirror.as_ref(),
        uv_own: &uv_own,
        reads_json_url,
        metadata: outcome
            .as_ref()
            .and_then(|o| o.copy())
            .map(|c| c.json.as_path()),
    });

    Prepared {
        discovery,
        uv,
        version,
        request,
        outcome,
        plan,
    }
}

impl Prepared {
    /// The warning lines the `uv` face prints (at most one about metadata).
    pub fn warnings(&self) -> Vec<String> {
        let mut lines = self.discovery.problems.clone();
        match &self.outcome {
            Some(Outcome::Stale {
                copy,
                error,
                now: true,
            }) => lines.push(format!(
                "could not refresh the mirror's metadata ({error}); using the copy from {} ago",
                humantime::format_duration(copy.state.age(crate::cache::now_secs()))
            )),
            Some(Outcome::Unavailable { error, now: true }) => lines.push(format!(
                "could not get the mirror's metadata ({error}); {}",
                match self.plan.scheme {
                    uvenv::Scheme::MirrorVariables =>
                        "uv gets the mirror variables and its built-in list instead",
                    _ => "uv runs without it",
                }
            )),
            _ => {}
        }
        lines
    }
}

/// Only the real uv, for pass-through: `UV_SHIM_REAL_UV`, the config key `uv`, `PATH`.
pub fn real_uv_only(env: Lookup) -> Result<Sourced<PathBuf>, RealUvError> {
    let paths = Paths::from_env(env);
    let from_file = |path: Option<PathBuf>, origin: fn(PathBuf) -> crate::settings::Origin| {
        let path = path?;
        let file = crate::config::load(&path).ok()??;
        file.uv.map(|uv| Sourced::new(uv, origin(path)))
    };
    let configured = crate::settings::Layer::from_env(env)
        .uv
        .or_else(|| from_file(paths.user_config.clone(), crate::settings::Origin::User))
        .or_else(|| from_file(Some(paths.system_config()), crate::settings::Origin::System));
    let me = std::env::current_exe()
        .ok()
        .and_then(|p| realuv::identity(&p));
    realuv::find(configured.as_ref(), std::env::var_os(EnvVars::PATH), me)
}

/// Longest a remembered hand-over is trusted, whatever else it rests on.
const PLAN_MAX_AGE: u64 = 24 * 60 * 60;

/// After a DNS look-up (a hit or a miss) the full pipeline runs again this
/// often; the DNS cache keeps those runs free of queries until the answer's TTL.
const PLAN_DNS_AGE: u64 = 60;

impl Prepared {
    /// What the warm path may remember of this run: the hand-over, the files
    /// it rests on, and when it expires. `None` when this run had anything to
    /// say (a warning, a stale copy, no uv), so such runs always take the full
    /// pipeline again.
    pub fn warm_plan(&self, env: Lookup) -> Option<(crate::plan::HandOver, Vec<PathBuf>, u64)> {
        if !self.warnings().is_empty() {
            return None;
        }
        let uv = self.uv.as_ref().ok()?;
        if matches!(self.version, Some(Err(_))) {
            return None;
        }
        let now = crate::cache::now_secs();
        let mut expires = now + PLAN_MAX_AGE;
        let paths = &self.discovery.paths;
        let mut deps: Vec<PathBuf> = paths.user_config.iter().cloned().collect();
        deps.push(paths.system_config());
        deps.push(paths.system_dir.join("uv.toml"));
        deps.push(paths.system_dir.join(crate::urls::METADATA_FILE));
        let (user_uv, system_uv) = uv_toml::uv_config_candidates(env);
        deps.extend(user_uv);
        deps.extend(system_uv);
        if uv.origin == crate::settings::Origin::Env(EnvVars::PATH) {
            // A uv appearing earlier on PATH would change the choice.
            let path_var = std::env::var_os(EnvVars::PATH).unwrap_or_default();
            for candidate in realuv::path_candidates(&path_var) {
                let done = candidate == uv.value;
                deps.push(candidate);
                if done {
                    break;
                }
            }
        } else {
            deps.push(uv.value.clone());
        }
        match (&self.request, &self.outcome) {
            (Some(request), Some(outcome)) => {
                let copy = match outcome {
                    Outcome::Fresh(c) | Outcome::Fetched(c) | Outcome::Revalidated(c) => c,
                    _ => return None,
                };
                deps.push(copy.json.clone());
                let source = request
                    .sources
                    .iter()
                    .find(|s| s.as_str() == copy.state.source)?;
                match source.to_file_path() {
                    Ok(file) if source.scheme() == "file" => deps.push(file),
                    _ => expires = expires.min(copy.state.fetched + request.ttl.as_secs()),
                }
            }
            (None, None) => {}
            _ => return None,
        }
        let dns_consulted = self.discovery.report.iter().any(|line| {
            line.name == "dns" && !matches!(line.status, crate::discover::Status::Skipped(_))
        });
        if dns_consulted {
            expires = expires.min(now + PLAN_DNS_AGE);
        }
        let hand_over = crate::plan::HandOver {
            uv: uv.value.clone(),
            vars: self
                .plan
                .to_set()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        };
        Some((hand_over, deps, expires))
    }
}
