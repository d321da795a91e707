//! `mirror sync`: one run, start to end.
//!
//! 1. [`options`]: the command line, resolved.
//! 2. [`plan`]: read the upstream list (`--from`) and keep what the filters
//!    take, and the same of each `--for-uv` list ([`for_uv`]); place every entry in the mirror; read the mirror's own metadata
//!    and manifest; one item per file.
//! 3. [`run`](mod@run): per item, already verified (manifest stamp holds), to hash
//!    (on disk, unknown), or to fetch; hashing and fetching run on `--jobs`
//!    threads.
//! 4. [`publish`]: merge into the metadata (newest verified build per key),
//!    write it atomically, [`prune`] if asked, update the manifest.
//! 5. [`report`]: what is printed along the way and at the end.
//!
//! The metadata is written before anything is pruned and only ever names
//! verified files, so the mirror is consistent at every moment, Ctrl-C
//! included.

mod for_uv;
mod options;
mod plan;
mod prune;
mod publish;
mod report;
mod run;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use options::SyncOptions;
use plan::SyncPlan;

use crate::env_vars::Lookup;
use crate::metadata::netrc::{self, Auth};
use crate::mirror::args::SyncArgs;
use crate::mirror::download::Downloader;
use crate::mirror::interrupt;
use crate::mirror::progress::Progress;

/// First pause before retrying a download; doubles with every failure.
const BACKOFF: Duration = Duration::from_millis(250);

/// Runs `mirror sync`; credentials for the upstream come from its URL or a
/// netrc file, as for the shim's own fetch.
pub fn run(args: SyncArgs, env: Lookup) -> anyhow::Result<ExitCode> {
    let auth = Arc::new(Auth::load(&netrc::candidates(env)));
    let options = SyncOptions::from_args(args, auth)?;
    let mut plan = SyncPlan::prepare(&options)?;
    report::header(&plan, &options);
    // Only from here on does a sync change the mirror; before, the default
    // Ctrl-C (end at once) loses nothing.
    interrupt::install();
    let mut progress = Progress::new();
    let downloader = Downloader::new(
        options.jobs,
        options.timeout,
        options.retries,
        BACKOFF,
        Arc::clone(&options.auth),
    )?;
    let work = run::run_workers(
        &plan.items,
        &options,
        &downloader,
        &mut progress,
        &mut |progress, i, done| {
            report::settled(progress, &plan.items[i], done, &mut plan.findings)
        },
    );
    if options.dry_run {
        return Ok(report::dry_run(&plan, &options, &work));
    }
    let published = publish::publish(&plan, &options, &work)?;
    Ok(report::summary(
        &plan,
        &options,
        &progress,
        &downloader,
        &work,
        &published,
    ))
}
