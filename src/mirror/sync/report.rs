//! What a sync prints: a line for every file worth mentioning as it
//! settles, then the summary (counts on stdout, notes and a recap of the
//! problems on stderr), or on a dry run the list of what would change.

use std::collections::{BTreeSet, HashMap};
use std::process::ExitCode;

use indicatif::HumanBytes;

use super::options::SyncOptions;
use super::plan::{Findings, Item, SyncPlan};
use super::prune::prune;
use super::publish::Published;
use super::run::{Done, WorkDone};
use crate::mirror::download::{DownloadError, Downloaded, Downloader};
use crate::mirror::layout::RelPath;
use crate::mirror::progress::{self, Progress};
use crate::mirror::write;
use crate::urls::METADATA_FILE;

/// A line per finished file worth mentioning; problems and notes are also
/// kept in `findings` for the summary.
pub fn settled(progress: &Progress, item: &Item, done: &Done, findings: &mut Findings) {
    let rel = &item.rel;
    if let Some(from) = &done.moved_from {
        progress.line(&format!("moved {from} to {rel}"));
    }
    if let Some(downloaded) = &done.downloaded {
        let resumed = if downloaded.resumed_from > 0 {
            format!(", resumed at byte {}", downloaded.resumed_from)
        } else {
            String::new()
        };
        progress.line(&format!(
            "fetched {rel} ({}{resumed})",
            HumanBytes(downloaded.size)
        ));
    }
    let mut problem = None;
    if let Some(error) = &done.error
        && !matches!(error, DownloadError::Interrupted)
    {
        problem = Some(format!("{rel}: {error}"));
    } else if item.url.is_none() {
        match (&item.expected, &done.disk) {
            (Some(expected), Some(actual)) if expected != actual => {
                problem = Some(format!(
                    "{rel} is corrupt: expected sha256 {expected}, found {actual}; it is not listed"
                ));
            }
            (_, None) if !item.from_upstream => {
                findings.notes.push(format!(
                    "{rel} is gone; its entry is dropped from the metadata"
                ));
            }
            _ => {}
        }
    }
    if let Some(line) = problem {
        progress.line(&format!("error: {line}"));
        findings.problems.push(line);
    }
}

/// `--dry-run`: what would be fetched (with sizes), listed and removed.
pub fn dry_run(plan: &SyncPlan, s: &SyncOptions, work: &WorkDone) -> ExitCode {
    let mut total = 0u64;
    let mut unknown = 0usize;
    let mut lines = Vec::new();
    let mut failed = false;
    for (&i, done) in &work.results {
        let Some(size) = &done.would_fetch else {
            continue;
        };
        let item = &plan.items[i];
        let url = item
            .url
            .as_ref()
            .map(|u| crate::redact::url(u.as_str()))
            .unwrap_or_default();
        let size = match size {
            Ok(Some(size)) => {
                total += size;
                HumanBytes(*size).to_string()
            }
            Ok(None) => {
                unknown += 1;
                "size unknown".to_string()
            }
            Err(why) => {
                failed = true;
                unknown += 1;
                format!("size unknown: {why}")
            }
        };
        lines.push(crate::redact::text(&format!(
            "  {}  ({size})  {url}",
            item.rel
        )));
    }
    let present = plan
        .items
        .iter()
        .filter(|item| item.url.is_some() && item.satisfied_by(work.on_disk(&item.rel)))
        .count();
    // "0 B" would be a claim; with sizes missing the total is a floor.
    let size = match unknown {
        0 => HumanBytes(total).to_string(),
        n if n == lines.len() => "sizes unknown".to_string(),
        n => format!("at least {} ({n} sizes unknown)", HumanBytes(total)),
    };
    println!(
        "dry run: would fetch {} files, {size}, into {}",
        lines.len(),
        crate::redact::text(&s.dest.display().to_string())
    );
    for line in &lines {
        println!("{line}");
    }
    println!("already present and verified: {present} files");

    // As if every listed download had landed.
    let would: HashMap<&RelPath, Option<&str>> = work
        .results
        .iter()
        .filter(|(_, d)| matches!(d.would_fetch, Some(Ok(_))))
        .map(|(&i, _)| (&plan.items[i].rel, plan.items[i].expected.as_deref()))
        .collect();
    let verified = |rel: &RelPath, expected: Option<&str>| -> Option<String> {
        work.verified(rel, expected).or_else(|| {
            would
                .get(rel)
                .map(|sha| sha.unwrap_or("unknown").to_string())
        })
    };
    let listed = write::merge(&plan.upstream, &plan.existing, &verified);
    println!("metadata would list {} entries", listed.len());
    if s.prune && s.dest.is_dir() {
        match prune(&s.dest, &listed, &plan.for_uv, &BTreeSet::new(), true) {
            Ok(gone) => {
                println!("would remove {} files (--prune):", gone.len());
                for rel in gone {
                    println!("  {}", crate::redact::text(rel.as_str()));
                }
            }
            Err(err) => {
                eprintln!(
                    "uv-shim: warning: cannot list what --prune would remove: {}",
                    crate::redact::text(&format!("{err:#}"))
                )
            }
        }
    }
    for problem in &plan.findings.problems {
        eprintln!("uv-shim: error: {}", crate::redact::text(problem));
    }
    if failed || !plan.findings.problems.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The plan header, before any work: how many downloads of which
/// implementations the run takes, and what a filtered run left out by default.
pub fn header(plan: &SyncPlan, s: &SyncOptions) {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for p in &plan.upstream {
        match counts.iter_mut().find(|(name, _)| *name == p.download.name) {
            Some((_, n)) => *n += 1,
            None => counts.push((&p.download.name, 1)),
        }
    }
    let taken = counts
        .iter()
        .map(|(name, n)| format!("{name} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let default = if s.cpython_by_default {
        " (cpython only: the default when a filter is given; --implementation names others)"
    } else {
        ""
    };
    eprintln!(
        "uv-shim: taking {} downloads from {}: {taken}{default}",
        plan.upstream.len(),
        crate::redact::url(s.from.as_str())
    );
}

/// The end of a run: notes, a recap of the problems, the counts, and the
/// exit code (failure when anything failed or Ctrl-C cut the run short).
pub fn summary(
    plan: &SyncPlan,
    s: &SyncOptions,
    progress: &Progress,
    downloader: &Downloader,
    work: &WorkDone,
    published: &Published,
) -> ExitCode {
    let elapsed = progress.elapsed();
    let downloaded: Vec<&Downloaded> = work
        .results
        .values()
        .filter_map(|d| d.downloaded.as_ref())
        .collect();
    let downloaded_bytes: u64 = downloaded.iter().map(|f| f.size - f.resumed_from).sum();
    let upstream_items = || {
        plan.items
            .iter()
            .enumerate()
            .filter(|(_, item)| item.from_upstream)
    };
    let present = upstream_items()
        .filter(|&(i, item)| !work.downloaded(i) && item.satisfied_by(work.on_disk(&item.rel)))
        .count();
    let missing_offline = upstream_items()
        .filter(|(_, item)| !work.disk.contains_key(&item.rel))
        .count();
    let findings = &plan.findings;
    for note in &findings.notes {
        eprintln!("uv-shim: warning: {}", crate::redact::text(note));
    }
    // A recap: in a long log the lines above have scrolled away.
    if !findings.problems.is_empty() {
        eprintln!("uv-shim: error: {} problems:", findings.problems.len());
        for problem in &findings.problems {
            eprintln!("  - {}", crate::redact::text(problem));
        }
    }
    let verb = if s.offline { "imported" } else { "synced" };
    let mut line = format!(
        "{verb} {}: fetched {} files ({} in {}, {}), {present} already present",
        s.dest.display(),
        downloaded.len(),
        HumanBytes(downloaded_bytes),
        progress::seconds(elapsed),
        progress::rate(downloader.received(), elapsed),
    );
    if s.offline {
        line.push_str(&format!(", {missing_offline} not in the folder"));
    }
    line.push_str(&format!(", {} failed", findings.problems.len()));
    if !published.pruned.is_empty() {
        line.push_str(&format!(", {} removed by --prune", published.pruned.len()));
    }
    println!("{}", crate::redact::text(&line));
    if let Some((asked, now)) = downloader.concurrency_lowered() {
        println!(
            "the server answered busy (HTTP 429 or 503) to {asked} downloads at once: ran {now} at a time for the rest of the run; --jobs {now} avoids it next time"
        );
    }
    let listed = &published.listed;
    let newly_listed = listed.iter().filter(|c| c.from_upstream).count();
    println!(
        "metadata: {} entries ({} from this upstream list, {} kept from the mirror) in {}{}",
        listed.len(),
        newly_listed,
        listed.len() - newly_listed,
        crate::redact::text(&s.dest.join(METADATA_FILE).display().to_string()),
        if published.written {
            ""
        } else {
            " (unchanged)"
        }
    );
    if work.interrupted {
        eprintln!(
            "uv-shim: error: interrupted; the metadata lists only verified files and the next sync resumes the rest"
        );
        return ExitCode::FAILURE;
    }
    if findings.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
