//! `uv-shim mirror sync`, `verify`, `keygen`, `export` and `import`: build,
//! refresh, sign, check and carry a Python mirror laid out as the design
//! contract says, from uv's
//! upstream download list.
//!
//! From the bottom up (each module imports only ones above it in this list):
//!
//! * [`layout`]: where each file goes, and the names every module shares;
//!   [`hash`]: sha256 and hex; [`interrupt`]: Ctrl-C; [`progress`]: what the user sees;
//! * [`entry`]: one download of uv's metadata; [`select`]: the filters;
//!   [`args`]: the command line; [`pool`]: the worker threads;
//! * [`download`]: one download (part file, hash on the fly, resume, retry);
//! * [`write`](mod@write): the mirror's metadata; [`manifest`]: its record of verified files;
//! * [`sync`]: the run (plan, parallel work, publish, prune, report);
//!   [`verify`]: the full check; [`sign`]: the metadata's signature and `keygen`.
//! * [`bundle`]: `export` and `import`, the mirror carried across an air gap.
//!
//! Nothing here runs on the shim's hot path.

mod args;
mod bundle;
mod download;
mod entry;
mod hash;
mod interrupt;
mod layout;
mod manifest;
mod pool;
mod progress;
mod select;
mod sign;
mod sync;
mod verify;
mod write;
mod writeback;

use std::process::ExitCode;

use crate::env_vars::Lookup;
pub use args::MirrorCommand;
use args::UsageError;

/// Runs a `mirror` command; `env` says where credentials may be (`NETRC`, the home folder).
pub fn run(command: MirrorCommand, env: Lookup) -> anyhow::Result<ExitCode> {
    let result = match command {
        MirrorCommand::Sync(args) => sync::run(*args, env),
        MirrorCommand::Verify(args) => verify::run(args),
        MirrorCommand::Keygen(args) => sign::keygen(&args),
        MirrorCommand::Export(args) => bundle::export::run(args),
        MirrorCommand::Import(args) => bundle::import::run(args),
    };
    match result {
        Err(err) if err.downcast_ref::<UsageError>().is_some() => {
            eprintln!(
                "uv-shim: error: {}",
                crate::redact::text(&format!("{err:#}"))
            );
            Ok(ExitCode::from(2))
        }
        other => other,
    }
}
