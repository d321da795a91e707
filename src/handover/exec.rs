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

/// Replaces this process with `command`; returns only on failure. Unix
/// has no console window to hide: `hide_console` means nothing here.
#[cfg(unix)]
pub fn run(
    mut command: Command,
    hide_console: bool,
) -> Result<std::convert::Infallible, ExecError> {
    use std::os::unix::process::CommandExt;
    let _ = hide_console;
    let error = command.exec();
    Err(ExecError::Start {
        path: command.get_program().to_string_lossy().into_owned(),
        error,
    })
}

/// Starts `command` and exits with its code, as uv's own `uvx` does on
/// Windows (there is no `exec`): the child is put in a job object that
/// kills it when this process ends (killed by a task scheduler, say), and
/// this process ignores Ctrl-C and Ctrl-Break, which the console delivers
/// to the child as well: uv decides whether the call ends. `hide_console`
/// (the `uvw` face) starts the child without a console window.
#[cfg(windows)]
pub fn run(
    mut command: Command,
    hide_console: bool,
) -> Result<std::convert::Infallible, ExecError> {
    let start_error = |command: &Command, error| ExecError::Start {
        path: command.get_program().to_string_lossy().into_owned(),
        error,
    };
    if hide_console {
        use std::os::windows::process::CommandExt;
        super::windows::release_own_console();
        command.creation_flags(windows_sys::Win32::System::Threading::CREATE_NO_WINDOW);
    }
    let mut child = command.spawn().map_err(|e| start_error(&command, e))?;
    // Without the job, the child would outlive a killed shim; uv's uvx
    // goes on without it too (a job may be refused inside another job).
    let job = super::windows::Job::new().and_then(|job| job.assign(&child).map(|()| job));
    if let Err(err) = &job {
        crate::log::debug(|| format!("the real uv runs outside a job object: {err}"));
    }
    super::windows::ignore_ctrl_c();
    let status = child.wait().map_err(|e| start_error(&command, e))?;
    drop(job);
    std::process::exit(status.code().unwrap_or(1))
}
