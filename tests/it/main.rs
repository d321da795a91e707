//! The integration tests: one test binary (`cargo test --test it`), one
//! module per story, and the shared harness of `tests/common/` compiled once.
//!
//! Every story runs the built `uv-shim` (as `uv` through a symlink, and as
//! `uv-shim`) against the real uv, and against servers on 127.0.0.1 that the
//! test starts and controls. Filter by module to run one story file, e.g.
//! `cargo test --test it -- faults::`.
//!
//! The stories drive the shim from a Unix host (users, modes, symbolic
//! links, the host's python3); the Windows build is run by the `windows`
//! story, under wine, from Linux. Built for Windows, this binary is empty.

#![cfg(unix)]

#[path = "../common/mod.rs"]
mod common;

// The x86_64 Linux machine plays aarch64 with qemu-user.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod aarch64;
mod air_gap;
mod air_gap_live;
mod air_gap_signed;
mod budget;
// Unix only: the golden binary replaces a symbolic link.
#[cfg(unix)]
mod builtin_config;
mod cache_faults;
mod concurrency;
mod control_chars;
// Linux only: it installs the .deb with dpkg and runs the Linux binaries.
#[cfg(target_os = "linux")]
mod dist;
mod dns;
mod dns_lookup;
mod entry_policy;
// Linux only: its bare server relies on how Linux treats a full listen queue.
#[cfg(target_os = "linux")]
mod faults;
mod follows_uv;
mod harness;
mod hostile_dns;
#[cfg(unix)]
mod install;
// Unix only: it damages the copy in place and swaps it for a symbolic link.
#[cfg(unix)]
mod integrity;
mod mirror;
mod mirror_downloads;
mod mirror_filters;
#[cfg(unix)]
mod nginx;
mod old_uv;
mod pull_through;
#[cfg(unix)]
mod served_mirror;
#[cfg(unix)]
mod shared_machines;
mod shim;
mod shim_cache;
#[cfg(unix)]
mod signed;
mod sync_speed;
mod sync_usability;
mod trust;
mod uv_matrix;
#[cfg(unix)]
mod uvx;
// Linux only: wine and mingw-w64 come from Debian.
#[cfg(target_os = "linux")]
mod windows;
