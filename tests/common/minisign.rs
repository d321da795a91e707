//! The `minisign` tool (Debian package `minisign`), for the stories that
//! show the shim's keys and signatures are the tool's own formats.
//!
//! [`minisign`] finds the binary, installing the package with `apt-get`
//! when it is missing (once per machine: parallel tests wait on a file lock
//! beside the other test tools; `apt-get update` only when the first
//! attempt fails), as [`super::nginx`] does for nginx. Installing needs
//! root: without it, and without the tool, the caller skips ([`super::skip`]).

#![cfg(unix)]

use std::path::PathBuf;

/// Where the Debian package puts the binary.
const DEBIAN_MINISIGN: &str = "/usr/bin/minisign";

/// The minisign binary, installing the package when missing; `Err` says
/// why there is none (the caller skips with that message).
pub fn minisign() -> Result<PathBuf, String> {
    super::debian::tool("minisign", "minisign", DEBIAN_MINISIGN)
}
