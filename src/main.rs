//! uv-shim: one binary, several faces. Named `uv` (or `uvx`), it hands every
//! call to the real uv (or uvx) after pointing it at the organisation's mirror; named
//! anything else (`uv-shim`), it is a tool of its own. This file only
//! dispatches.
//!
//! The data flows one way, and the modules follow it:
//! [`faces`] -> [`pipeline`] ([`discover`] -> [`settings`] -> [`decide`] ->
//! [`metadata`] -> [`handover`]); [`mirror`] builds mirrors beside it.

mod budget;
mod cache;
mod decide;
mod discover;
mod env_vars;
mod faces;
mod fsutil;
mod handover;
mod inputs;
mod install;
mod log;
mod metadata;
mod mirror;
mod pipeline;
mod redact;
mod settings;
mod signature;
mod urls;

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    let invoked_as = args
        .first()
        .and_then(|arg0| Path::new(arg0).file_stem())
        .and_then(|stem| stem.to_str())
        .unwrap_or_default()
        .to_string();
    // `uv`, `uvx` (and `uvw` on Windows): the invisible faces.
    if let Some(face) = handover::face::Face::from_stem(&invoked_as) {
        let uv_args = args.split_off(1);
        faces::uv::run(&env_vars::process_env, face, uv_args)
    } else {
        faces::cli::run(&env_vars::process_env, args)
    }
}
