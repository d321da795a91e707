//! The `uv` face: invisible. Every argument goes to the real uv untouched;
//! before the hand-over the pipeline points uv at the mirror.

use std::ffi::OsString;
use std::process::ExitCode;

use crate::discover::Depth;
use crate::env_vars::{EnvVars, Lookup, is_truthy};
use crate::prepare::{self, Fetching};

/// Exit code for failures of the shim itself when acting as uv (uv's own code for errors).
const SHIM_FAILURE: u8 = 2;

/// Runs as `uv`: prepare, then hand over to the real uv with `args`.
pub fn run(env: Lookup, args: Vec<OsString>) -> ExitCode {
    crate::log::init(env(EnvVars::UV_SHIM_LOG).as_deref());
    match hand_over(env, args) {
        Ok(never) => match never {},
        Err(err) => {
            crate::log::emit(crate::log::Level::Error, &format!("{err:#}"));
            ExitCode::from(SHIM_FAILURE)
        }
    }
}

fn hand_over(env: Lookup, args: Vec<OsString>) -> anyhow::Result<std::convert::Infallible> {
    let depth = crate::exec::check_guard(env)?;
    if is_truthy(env(EnvVars::UV_SHIM_DISABLE).as_deref()) {
        crate::log::debug(|| format!("{} is set: pass-through", EnvVars::UV_SHIM_DISABLE));
        let uv = prepare::real_uv_only(env)?;
        let command =
            crate::exec::command(&uv.value, args, std::iter::empty::<(&str, &str)>(), depth);
        return Ok(crate::exec::run(command)?);
    }
    // The warm path: a remembered hand-over whose inputs have not moved.
    // Skipped when the user asked to hear what the shim decides.
    let verbose = crate::log::enabled(crate::log::Level::Info);
    let plan_file = std::env::current_exe().ok().map(|exe| {
        let cache_dir = crate::discover::Paths::cache_dir(env);
        crate::plan::path(&cache_dir, &exe, std::env::vars_os())
    });
    if !verbose
        && let Some(file) = &plan_file
        && let Some(hand_over) = crate::plan::load(file, crate::cache::now_secs())
    {
        let command = crate::exec::command(&hand_over.uv, args, hand_over.vars, depth);
        return Ok(crate::exec::run(command)?);
    }

    let prepared = prepare::prepare(env, Depth::FirstHit, Fetching::Normal);
    for line in prepared.warnings() {
        crate::log::warn(line);
    }
    let uv = prepared.uv.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::log::debug(|| {
        let vars: Vec<String> = prepared
            .plan
            .to_set()
            .map(|(name, value)| format!("{name}={}", crate::redact::url(value)))
            .collect();
        format!("exec {} with [{}]", uv.value.display(), vars.join(", "))
    });
    if let Some(file) = &plan_file
        && let Some((hand_over, deps, expires)) = prepared.warm_plan(env)
        && let Err(err) =
            crate::plan::store(file, &hand_over, &deps, crate::cache::now_secs(), expires)
    {
        crate::log::debug(|| format!("cannot write {}: {err}", file.display()));
    }
    let command = crate::exec::command(&uv.value, args, prepared.plan.to_set(), depth);
    Ok(crate::exec::run(command)?)
}
