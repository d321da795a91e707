//! The `minisign` tool (Debian package `minisign`), for the stories that
//! show the shim's keys and signatures are the tool's own formats.
//!
//! [`minisign`] finds the binary, installing the package with `apt-get`
//! when it is missing (once per machine: parallel tests wait on a file lock
//! beside the other test tools; `apt-get update` only when the first
//! attempt fails), as [`super::nginx`] does for nginx. Installing needs
//! root: without it, and without the tool, the caller skips ([`super::skip`]).

#![cfg(unix)]

use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// Where the Debian package puts the binary.
const DEBIAN_MINISIGN: &str = "/usr/bin/minisign";

/// The minisign binary, installing the package when missing; `Err` says
/// why there is none (the caller skips with that message).
pub fn minisign() -> Result<PathBuf, String> {
    if let Some(found) = find() {
        return Ok(found);
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("minisign is not installed and installing it needs root".into());
    }
    let tools = super::uv::tools_dir();
    std::fs::create_dir_all(&tools).unwrap_or_else(|e| panic!("mkdir {}: {e}", tools.display()));
    let lock_path = tools.join("minisign-install.lock");
    let lock =
        File::create(&lock_path).unwrap_or_else(|e| panic!("create {}: {e}", lock_path.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("lock {}: {e}", lock_path.display()));
    if let Some(found) = find() {
        return Ok(found);
    }
    install();
    Ok(find().unwrap_or_else(|| {
        panic!("`apt-get install minisign` succeeded, but no {DEBIAN_MINISIGN}")
    }))
}

/// minisign on `PATH` or where Debian puts it.
fn find() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|p| {
        std::env::split_paths(&p)
            .map(|dir| dir.join("minisign"))
            .collect::<Vec<_>>()
    });
    on_path
        .chain([PathBuf::from(DEBIAN_MINISIGN)])
        .find(|candidate| candidate.is_file())
}

/// `apt-get install -y minisign`, after `apt-get update` if the first attempt fails.
fn install() {
    let apt = |args: &[&str]| -> Output {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run apt-get: {e}"))
    };
    let install = ["install", "-y", "--no-install-recommends", "minisign"];
    let mut output = apt(&install);
    if !output.status.success() {
        let update = apt(&["update"]);
        assert!(
            update.status.success(),
            "`apt-get update` failed:\n{}",
            String::from_utf8_lossy(&update.stderr)
        );
        output = apt(&install);
    }
    assert!(
        output.status.success(),
        "`apt-get install minisign` failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
