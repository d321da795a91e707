//! Handing over to the real uv: `exec` on Unix (same PID, uv's signals and
//! exit code), spawn and wait on Windows. The environment is set on the
//! `Command`, never on our own process.
//!
//! A guard stops a shim from starting itself: the shim records its PID and
//! the chain depth on the uv it starts. A process that finds its own PID
//! there was exec'd straight from a shim, which means "the real uv" is
//! another copy of the shim.

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::process::Command;

use crate::env_vars::{EnvVars, Lookup};

/// More nested shims than this is a loop, not `uv run` calling `uv`.
pub const MAX_DEPTH: u32 = 16;

/// Why the shim refused to hand over.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// This process was exec'd by a shim: the "real uv" is a shim.
    #[error(
        "the real uv that uv-shim started is uv-shim again (a copy of the shim, not uv); set UV_SHIM_REAL_UV or `uv = \"…\"` to the real uv binary"
    )]
    Loop,
    /// Too many nested shims.
    #[error(
        "{depth} nested uv-shim calls; this looks like a loop. Set UV_SHIM_REAL_UV to the real uv binary"
    )]
    TooDeep {
        /// The depth found.
        depth: u32,
    },
    /// exec/spawn failed.
    // The OS error is part of this message, not a source: shown once.
    #[error("cannot run the real uv at {path}: {error}")]
    Start {
        /// The uv path.
        path: String,
        /// The OS error.
        error: std::io::Error,
    },
}

/// Checks the guard; returns the depth of this shim in the chain.
pub fn check_guard(env: Lookup) -> Result<u32, ExecError> {
    if env(EnvVars::UV_SHIM_EXEC_PID).is_some_and(|pid| pid == std::process::id().to_string()) {
        return Err(ExecError::Loop);
    }
    let depth = env(EnvVars::UV_SHIM_DEPTH)
        .and_then(|d| d.parse::<u32>().ok())
        .unwrap_or(0);
    if depth >= MAX_DEPTH {
        return Err(ExecError::TooDeep { depth });
    }
    Ok(depth + 1)
}

/// Builds the command for the real uv.
pub fn command<K: AsRef<OsStr>, V: AsRef<OsStr>>(
    uv: &Path,
    args: impl IntoIterator<Item = OsString>,
    vars: impl IntoIterator<Item = (K, V)>,
    depth: u32,
) -> Command {
    let mut command = Command::new(uv);
    command
        .args(args)
        .envs(vars)
        .env(EnvVars::UV_SHIM_EXEC_PID, std::process::id().to_string())
        .env(EnvVars::UV_SHIM_DEPTH, depth.to_string());
    command
}

/// Replaces this process with `command`; returns only on failure.
#[cfg(unix)]
pub fn run(mut command: Command) -> Result<std::convert::Infallible, ExecError> {
    use std::os::unix::process::CommandExt;
    let error = command.exec();
    Err(ExecError::Start {
        path: command.get_program().to_string_lossy().into_owned(),
        error,
    })
}

/// Runs `command` and exits with its code.
#[cfg(not(unix))]
pub fn run(mut command: Command) -> Result<std::convert::Infallible, ExecError> {
    let status = command.status().map_err(|error| ExecError::Start {
        path: command.get_program().to_string_lossy().into_owned(),
        error,
    })?;
    std::process::exit(status.code().unwrap_or(1));
}
