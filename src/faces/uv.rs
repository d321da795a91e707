//! The `uv` face (and `uvx`, `uvw`): invisible. Every argument goes to the
//! real uv untouched (to the real uvx, for `uvx`); before the hand-over the
//! pipeline points uv at the mirror.

use std::ffi::OsString;
use std::process::ExitCode;

use crate::discover::Depth;
use crate::env_vars::{EnvVars, Lookup, is_truthy};
use crate::handover::face::{self, Face};
use crate::handover::{exec, warm};
use crate::pipeline::{self, Fetching};

/// Exit code for failures of the shim itself when acting as uv (uv's own code for errors).
const SHIM_FAILURE: u8 = 2;

/// Runs as `face`: prepare, then hand over to the real uv (or uvx) with `args`.
pub fn run(env: Lookup, face: Face, args: Vec<OsString>) -> ExitCode {
    // Another uv-shim asks what this binary is before taking it for uv.
    if env(EnvVars::UV_SHIM_IDENTIFY).is_some() && args == ["--version"] {
        println!(
            "{} {}",
            crate::handover::uv_version::SHIM_ANSWER,
            env!("CARGO_PKG_VERSION")
        );
        return ExitCode::SUCCESS;
    }
    crate::log::init(env(EnvVars::UV_SHIM_LOG).as_deref());
    match hand_over(env, face, args) {
        Ok(never) => match never {},
        Err(err) => {
            crate::log::emit(crate::log::Level::Error, &format!("{err:#}"));
            ExitCode::from(SHIM_FAILURE)
        }
    }
}

fn hand_over(
    env: Lookup,
    face: Face,
    args: Vec<OsString>,
) -> anyhow::Result<std::convert::Infallible> {
    let depth = exec::check_guard(env)?;
    if is_truthy(env(EnvVars::UV_SHIM_DISABLE).as_deref()) {
        crate::log::debug(|| format!("{} is set: pass-through", EnvVars::UV_SHIM_DISABLE));
        let uv = pipeline::real_uv_only(env)?;
        // No version asked for in pass-through: taken for a recent uv.
        let target = face::target(face, &uv.value, None, &crate::inputs::Inputs::new());
        let command = exec::command(
            &target.program,
            target.args(args),
            std::iter::empty::<(&str, &str)>(),
            depth,
        );
        return Ok(exec::run(command, face.hides_console())?);
    }
    // The warm path: a remembered hand-over whose inputs have not moved.
    // Skipped when the user asked to hear what the shim decides.
    let verbose = crate::log::enabled(crate::log::Level::Info);
    let plan_file = std::env::current_exe().ok().and_then(|exe| {
        let cache_dir = crate::discover::Paths::cache_dir(env)?;
        Some(warm::path_for_this_process(&cache_dir, &exe, face.name()))
    });
    if !verbose
        && let Some(file) = &plan_file
        && let Some(remembered) = warm::load(file, crate::fsutil::now_secs())
    {
        let args = remembered.prefix.iter().map(OsString::from).chain(args);
        let command = exec::command(&remembered.uv, args, remembered.vars, depth);
        return Ok(exec::run(command, face.hides_console())?);
    }

    let run = pipeline::run(env, Depth::FirstHit, Fetching::Normal);
    for line in run.warnings() {
        crate::log::warn(line);
    }
    let target = run.target(face).map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::log::debug(|| {
        let vars: Vec<String> = run
            .handover
            .to_set()
            .map(|(name, value)| format!("{name}={}", crate::redact::url(value)))
            .collect();
        format!("exec {} with [{}]", target.describe(), vars.join(", "))
    });
    if let Some(file) = &plan_file
        && let Some((remembered, expires)) = run.warm_plan(&target)
        && let Err(err) = warm::store(
            file,
            &remembered,
            &run.inputs,
            crate::fsutil::now_secs(),
            expires,
        )
    {
        crate::log::debug(|| format!("cannot write {}: {err}", file.display()));
    }
    let command = exec::command(
        &target.program,
        target.args(args),
        run.handover.to_set(),
        depth,
    );
    Ok(exec::run(command, face.hides_console())?)
}
