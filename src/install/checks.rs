//! What install checks when it is done: is the shim the `uv` a shell finds
//! first (else the line that makes it so), and what `doctor` says.

use std::path::Path;

use super::links::{exe, is_our_face};
use crate::env_vars::{EnvVars, Lookup};

/// `None` when the first `uv` on `PATH` is the shim in `dir`; else a note
/// with the line that puts `dir` in front.
pub fn path_advice(dir: &Path, env: Lookup) -> Option<String> {
    let path = env(EnvVars::PATH).unwrap_or_default();
    let shim = dir.join(exe("uv-shim"));
    let first = std::env::split_paths(&path)
        .map(|d| d.join(exe("uv")))
        .find(|uv| std::fs::metadata(uv).is_ok_and(|m| m.is_file()));
    if first.as_deref().is_some_and(|uv| is_our_face(uv, &shim)) {
        return None;
    }
    let on_path = std::env::split_paths(&path).any(|d| same_dir(&d, dir));
    let why = match (&first, on_path) {
        (_, false) => format!("{} is not on PATH", dir.display()),
        (Some(other), true) => format!(
            "{} comes first on PATH, so `uv` runs it, not the shim",
            other.display()
        ),
        (None, true) => format!("no `uv` on PATH leads to {}", shim.display()),
    };
    Some(format!(
        "note: {why}; put {} in front of the other folders on PATH (in your shell's profile):\n    {}",
        dir.display(),
        path_line(dir)
    ))
}

fn same_dir(a: &Path, b: &Path) -> bool {
    a == b || same_file::is_same_file(a, b).unwrap_or(false)
}

#[cfg(not(windows))]
fn path_line(dir: &Path) -> String {
    // Quoted for sh: a folder with a space or a quote in its name still works.
    let quoted = dir.display().to_string().replace('\'', r"'\''");
    format!("export PATH='{quoted}':\"$PATH\"")
}

#[cfg(windows)]
fn path_line(dir: &Path) -> String {
    format!(
        "$env:Path = '{};' + $env:Path   (PowerShell; for good: Settings > Environment Variables)",
        dir.display().to_string().replace('\'', "''")
    )
}

/// Runs `DIR/uv-shim doctor` as the user will, its report going straight
/// to the terminal; says so when it found problems.
pub fn doctor(dir: &Path) -> Vec<String> {
    let shim = dir.join(exe("uv-shim"));
    match std::process::Command::new(&shim).arg("doctor").status() {
        Ok(status) if status.success() => Vec::new(),
        Ok(_) => vec![
            "`uv-shim doctor` reports problems above (the shim still hands every call to uv)"
                .into(),
        ],
        Err(err) => vec![format!("cannot run {} doctor: {err}", shim.display())],
    }
}
