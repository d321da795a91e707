//! uv-shim: one binary, two faces. Named `uv`, it hands every call to the
//! real uv after pointing it at the organisation's mirror; named anything
//! else (`uv-shim`), it is a tool of its own. This file only dispatches.

mod cache;
mod cli;
mod config;
mod discover;
mod doctor;
mod env_vars;
mod exec;
mod fetch;
mod log;
mod metadata;
mod mirror;
mod plan;
mod prepare;
mod realuv;
mod redact;
mod refresh;
mod settings;
mod shellenv;
mod shim;
mod urls;
mod uvenv;

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
    if invoked_as == "uv" {
        let uv_args = args.split_off(1);
        shim::run(&env_vars::process_env, uv_args)
    } else {
        cli::run(&env_vars::process_env, args)
    }
}
