//! `mirror sync`: one run, start to end.
//!
//! 1. Read the upstream list (`--from`) and keep what the filters take.
//! 2. Place every entry in the mirror ([`layout`](super::layout)), read the
//!    mirror's own metadata and manifest.
//! 3. Decide per file: already verified (manifest stamp holds), to hash (on
//!    disk, unknown), to fetch. Hashing and fetching run on `--jobs` threads.
//! 4. Merge into the metadata (newest verified build per key), write it
//!    atomically, update the manifest, prune if asked, summarise.
//!
//! The metadata is written before anything is pruned and only ever names
//! verified files, so the mirror is consistent at every moment, Ctrl-C
//! included.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::{RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::HumanBytes;
use url::Url;

use super::args::{SyncArgs, UsageError};
use super::download::{DownloadError, Downloaded, Downloader, Event};
use super::entry::{self, compare_builds};
use super::hash::hash_file;
use super::interrupt;
use super::layout::{self, PART_SUFFIX, RelPath, STATE_DIR};
use super::manifest::{Manifest, Stamp};
use super::pool::spawn_pool;
use super::progress::{self, Progress};
use super::select::{self, Filters, Pattern};
use super::write::{self, ListedEntry, Placed};
use crate::urls::METADATA_FILE;

/// First pause before retrying a download; doubles with every failure.
const BACKOFF: Duration = Duration::from_millis(250);

/// How long workers get to reach a clean stop after Ctrl-C. Short: every
/// byte received is already on disk and renames are atomic, so a worker
/// still waiting on the network has nothing to lose.
const GRACE: Duration = Duration::from_secs(1);

/// The resolved settings of one sync.
#[derive(Debug)]
struct SyncOptions {
    /// The mirror folder, absolute.
    dest: PathBuf,
    /// The upstream list.
    from: Url,
    /// Which downloads to take.
    filters: Filters,
    /// Change nothing, list instead.
    dry_run: bool,
    /// Remove unnamed files.
    prune: bool,
    /// No network: import what is in `dest`.
    offline: bool,
    /// Worker threads.
    jobs: usize,
    /// Retries per download.
    retries: u32,
    /// Network time limit.
    timeout: Duration,
}

/// Parses `--from`: a URL, or a path (relative paths are taken from the current folder).
fn parse_from(text: &str) -> Result<Url, UsageError> {
    let bad = |why: String| UsageError(format!("--from {}: {why}", crate::redact::url(text)));
    if text.contains("://") {
        return crate::urls::parse_fetchable(text).map_err(bad);
    }
    let path = std::path::absolute(text).map_err(|err| bad(err.to_string()))?;
    Url::from_file_path(&path).map_err(|()| bad("not a usable path".into()))
}

fn settings(args: SyncArgs) -> anyhow::Result<SyncOptions> {
    let from = parse_from(&args.from)?;
    if args.offline && from.scheme() != "file" {
        return Err(UsageError(format!(
            "--offline reads the upstream list from a local file, but --from is {}",
            crate::redact::url(from.as_str())
        ))
        .into());
    }
    if args.dest.is_file() {
        return Err(UsageError(format!(
            "--dest {} is a file, not a folder",
            args.dest.display()
        ))
        .into());
    }
    // One spelling of the folder, so paths from URLs and from the disk compare equal.
    let dest = std::fs::canonicalize(&args.dest)
        .or_else(|_| std::path::absolute(&args.dest))
        .with_context(|| format!("cannot resolve --dest {}", args.dest.display()))?;
    let patterns = |values: &[String]| values.iter().map(|v| Pattern::new(v)).collect::<Vec<_>>();
    Ok(SyncOptions {
        dest,
        from,
        filters: Filters {
            python: args.python,
            implementation: args
                .implementation
                .iter()
                .map(|i| i.name().to_string())
                .collect(),
            os: patterns(&args.os),
            arch: patterns(&args.arch),
            libc: patterns(&args.libc),
            variant: patterns(&args.variant),
            latest_patch: args.latest_patch,
        },
        dry_run: args.dry_run,
        prune: args.prune,
        offline: args.offline,
        jobs: usize::from(args.jobs),
        retries: args.retries,
        timeout: args.timeout,
    })
}

/// Runs `mirror sync`.
pub fn run(args: SyncArgs) -> anyhow::Result<ExitCode> {
    let settings = settings(args)?;
    let sync = Sync::prepare(&settings)?;
    // Only from here on does a sync change the mirror; before, the default
    // Ctrl-C (end at once) loses nothing.
    interrupt::install();
    sync.execute(&settings)
}

/// One file of the mirror that this run looks at.
#[derive(Debug, Clone)]
struct Item {
    rel: RelPath,
    /// The sha256 the file must have (upstream's, else the mirror's own entry's).
    expected: Option<String>,
    /// Where to get it when it is missing or wrong (none: only check it).
    url: Option<Url>,
    /// The file's hash as the manifest knows it (the stamp still holds).
    known: Option<String>,
    /// Whether this run's upstream list names it (else only the mirror's metadata does).
    from_upstream: bool,
}

impl Item {
    /// Whether a known hash already settles the item.
    fn satisfied_by(&self, sha: Option<&str>) -> bool {
        sha.is_some_and(|sha| self.expected.as_deref().is_none_or(|e| e == sha))
    }
}

/// What a worker found or did for one item.
#[derive(Debug)]
struct Done {
    /// The hash of the file now at the item's path (`None`: no file).
    disk: Option<String>,
    /// Whether the worker read the file to learn it.
    hashed: bool,
    /// The download that landed.
    fetched: Option<Downloaded>,
    /// Dry run: the size of what would be fetched.
    would_fetch: Option<Result<Option<u64>, String>>,
    /// What went wrong.
    error: Option<DownloadError>,
    /// `--offline`: the file was found under another name and moved into place.
    moved_from: Option<String>,
}

/// Messages from the workers.
enum Msg {
    Started {
        item: usize,
        total: Option<u64>,
        offset: u64,
    },
    Retry {
        item: usize,
        detail: String,
        delay: Duration,
    },
    Finished {
        item: usize,
        done: Done,
    },
}

/// Everything known before the work starts.
struct Sync {
    upstream: Vec<Placed>,
    existing: Vec<Placed>,
    items: Vec<Item>,
    manifest: Manifest,
    /// Problems found while planning (they fail the run).
    problems: Vec<String>,
    /// Things worth saying that are not failures.
    notes: Vec<String>,
    _lock: Option<crate::cache::Lock>,
}

impl Sync {
    fn prepare(s: &SyncOptions) -> anyhow::Result<Sync> {
        let shown_from = crate::redact::url(s.from.as_str());
        let body = match crate::fetch::fetch(
            &s.from,
            &Default::default(),
            s.timeout.max(Duration::from_secs(30)),
        )
        .with_context(|| format!("cannot read the upstream list {shown_from}"))?
        {
            crate::fetch::Fetched::Body { body, .. } => body,
            crate::fetch::Fetched::NotModified => {
                anyhow::bail!("{shown_from} answered 304 to an unconditional request")
            }
        };
        let all = entry::parse_document(&body, &s.from)?;
        let picked: std::collections::HashSet<usize> =
            select::select(&all, &s.filters).into_iter().collect();
        if picked.is_empty() {
            anyhow::bail!(
                "no download in {shown_from} matches the filters ({} entries; {})",
                all.len(),
                select::offered(&all)
            );
        }
        let mut problems = Vec::new();
        let mut notes = Vec::new();
        let mut upstream = Vec::new();
        let mut unhashed = 0;
        for (i, download) in all.into_iter().enumerate() {
            if !picked.contains(&i) {
                continue;
            }
            unhashed += usize::from(download.sha256.is_none());
            match layout::rel_path_for(&download.name, download.build.as_deref(), &download.url) {
                Ok(rel) => upstream.push(Placed { download, rel }),
                Err(why) => problems.push(format!(
                    "{}: cannot place it in the mirror: {why}",
                    download.key
                )),
            }
        }
        if unhashed > 0 {
            notes.push(format!(
                "{unhashed} entries of {shown_from} publish no sha256: their files are taken as they arrive, and the mirror's metadata records what they hashed to"
            ));
        }

        let lock = if s.dry_run {
            None
        } else {
            std::fs::create_dir_all(s.dest.join(STATE_DIR))
                .with_context(|| format!("cannot create the mirror folder {}", s.dest.display()))?;
            let path = s.dest.join(STATE_DIR).join("lock");
            let lock = crate::cache::lock(&path, Duration::ZERO)
                .with_context(|| format!("cannot lock {}", path.display()))?
                .with_context(|| {
                    format!(
                        "another `mirror sync` is working on {} (it holds {})",
                        s.dest.display(),
                        path.display()
                    )
                })?;
            Some(lock)
        };
        let manifest = Manifest::load(&s.dest);
        let existing = existing_entries(&s.dest, &mut notes)?;

        // The newest build per key that the mirror already holds, verified
        // by its stamp: no point fetching an older one.
        let mut newest_held: HashMap<&str, Option<&str>> = HashMap::new();
        for p in &existing {
            if p.download.sha256.is_some()
                && manifest.known(&s.dest, &p.rel) == p.download.sha256.as_deref()
            {
                let slot = newest_held
                    .entry(&p.download.key)
                    .or_insert(p.download.build.as_deref());
                if compare_builds(p.download.build.as_deref(), *slot).is_gt() {
                    *slot = p.download.build.as_deref();
                }
            }
        }

        let mut items: Vec<Item> = Vec::new();
        let mut by_rel: HashMap<RelPath, usize> = HashMap::new();
        for p in &upstream {
            let d = &p.download;
            let superseded = newest_held
                .get(d.key.as_str())
                .is_some_and(|held| compare_builds(*held, d.build.as_deref()).is_gt());
            let url = (!s.offline && !superseded).then(|| d.url.clone());
            match by_rel.get(&p.rel) {
                Some(&i) if items[i].expected != d.sha256 => problems.push(format!(
                    "{}: {} is also named by another entry with a different sha256; skipped",
                    d.key, p.rel
                )),
                Some(&i) => {
                    if items[i].url.is_none() {
                        items[i].url = url;
                    }
                }
                None => {
                    by_rel.insert(p.rel.clone(), items.len());
                    items.push(Item {
                        rel: p.rel.clone(),
                        expected: d.sha256.clone(),
                        url,
                        known: manifest.known(&s.dest, &p.rel).map(str::to_string),
                        from_upstream: true,
                    });
                }
            }
        }
        for p in &existing {
            by_rel.entry(p.rel.clone()).or_insert_with(|| {
                items.push(Item {
                    rel: p.rel.clone(),
                    expected: p.download.sha256.clone(),
                    url: None,
                    known: manifest.known(&s.dest, &p.rel).map(str::to_string),
                    from_upstream: false,
                });
                items.len() - 1
            });
        }
        Ok(Sync {
            upstream,
            existing,
            items,
            manifest,
            problems,
            notes,
            _lock: lock,
        })
    }

    fn execute(mut self, s: &SyncOptions) -> anyhow::Result<ExitCode> {
        let mut progress = Progress::new();
        let downloader = Downloader::new(s.timeout, s.retries, BACKOFF)?;

        // What is on disk at each item's path, as far as known.
        let mut disk: HashMap<RelPath, String> = HashMap::new();
        let mut jobs = Vec::new();
        for (i, item) in self.items.iter().enumerate() {
            if let Some(known) = &item.known {
                disk.insert(item.rel.clone(), known.clone());
            }
            let settled = item.satisfied_by(item.known.as_deref())
                || (item.known.is_some() && item.url.is_none());
            if !settled {
                jobs.push(i);
            }
        }
        let job_count = jobs.len();
        let mut pending_fetch: BTreeSet<usize> = jobs
            .iter()
            .copied()
            .filter(|&i| self.items[i].url.is_some())
            .collect();

        let ctx = Arc::new(WorkerCtx {
            dest: s.dest.clone(),
            items: self.items.clone(),
            downloader: downloader.clone(),
            dry_run: s.dry_run,
            offline: s.offline,
        });
        let rx = spawn_pool(jobs, s.jobs, move |i, tx| ctx.work(i, tx));

        let mut results: BTreeMap<usize, Done> = BTreeMap::new();
        let mut sizes: HashMap<usize, Option<u64>> = HashMap::new();
        let mut grace: Option<Instant> = None;
        let mut shown = Instant::now();
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Msg::Started {
                    item,
                    total,
                    offset,
                }) => {
                    pending_fetch.remove(&item);
                    sizes.insert(item, total.map(|t| t.saturating_sub(offset)));
                }
                Ok(Msg::Retry {
                    item,
                    detail,
                    delay,
                }) => {
                    progress.line(&format!(
                        "retrying {} in {}: {detail}",
                        self.items[item].rel,
                        progress::seconds(delay)
                    ));
                }
                Ok(Msg::Finished { item, done }) => {
                    pending_fetch.remove(&item);
                    self.report(&progress, item, &done);
                    results.insert(item, done);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if shown.elapsed() >= Duration::from_millis(100) {
                shown = Instant::now();
                // Sizes are learnt as downloads start; the ones still to
                // start are guessed at the average so far, for the ETA.
                let known: Vec<u64> = sizes.values().filter_map(|s| *s).collect();
                let total: u64 = known.iter().sum();
                let average = total.checked_div(known.len() as u64).unwrap_or(0);
                let unknown = pending_fetch.len() + sizes.values().filter(|s| s.is_none()).count();
                let estimate = total + unknown as u64 * average;
                progress.update(downloader.received(), estimate, results.len(), job_count);
            }
            if interrupt::requested() {
                match grace {
                    None => {
                        progress.line("interrupted: stopping downloads (part files are kept), writing the metadata…");
                        grace = Some(Instant::now() + GRACE);
                    }
                    Some(until) if Instant::now() >= until => break,
                    Some(_) => {}
                }
            }
        }
        progress.finish();
        let interrupted = interrupt::requested();

        // What the disk holds now.
        for (&i, done) in &results {
            let rel = &self.items[i].rel;
            match &done.disk {
                Some(sha) => disk.insert(rel.clone(), sha.clone()),
                None => disk.remove(rel),
            };
        }
        if s.dry_run {
            return Ok(self.dry_run_report(s, &disk, &results));
        }

        let verified = |rel: &RelPath, expected: Option<&str>| -> Option<String> {
            let sha = disk.get(rel)?;
            expected.is_none_or(|e| e == sha).then(|| sha.clone())
        };
        let chosen = write::merge(&self.upstream, &self.existing, &verified);
        let metadata_path = s.dest.join(METADATA_FILE);
        let written = write::write_if_changed(&metadata_path, &write::render(&chosen))
            .with_context(|| format!("cannot write {}", metadata_path.display()))?;

        let manifest = self.updated_manifest(s, &disk, &results);
        let mut pruned = Vec::new();
        if s.prune && !interrupted {
            let keep_parts: BTreeSet<&RelPath> = results
                .iter()
                .filter(|(_, done)| done.error.is_some())
                .map(|(&i, _)| &self.items[i].rel)
                .collect();
            pruned = prune(&s.dest, &chosen, &keep_parts, false)?;
        }
        let mut manifest = manifest;
        for rel in &pruned {
            manifest.files.remove(rel);
        }
        if manifest != self.manifest {
            manifest
                .save(&s.dest)
                .with_context(|| format!("cannot write {}", Manifest::path(&s.dest).display()))?;
        }

        Ok(self.summary(
            s,
            &progress,
            &downloader,
            &results,
            &disk,
            &chosen,
            written,
            &pruned,
            interrupted,
        ))
    }

    /// A line per finished file worth mentioning.
    fn report(&mut self, progress: &Progress, i: usize, done: &Done) {
        let item = &self.items[i];
        let rel = &item.rel;
        if let Some(from) = &done.moved_from {
            progress.line(&format!("moved {from} to {rel}"));
        }
        if let Some(fetched) = &done.fetched {
            let resumed = if fetched.resumed_from > 0 {
                format!(", resumed at byte {}", fetched.resumed_from)
            } else {
                String::new()
            };
            progress.line(&format!(
                "fetched {rel} ({}{resumed})",
                HumanBytes(fetched.size)
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
                    self.notes.push(format!(
                        "{rel} is gone; its entry is dropped from the metadata"
                    ));
                }
                _ => {}
            }
        }
        if let Some(line) = problem {
            progress.line(&format!("error: {line}"));
            self.problems.push(line);
        }
    }

    /// The manifest after this run: stamps for the files that matched a
    /// published checksum, none for files that are gone or changed.
    fn updated_manifest(
        &self,
        s: &SyncOptions,
        disk: &HashMap<RelPath, String>,
        results: &BTreeMap<usize, Done>,
    ) -> Manifest {
        let mut published: HashMap<&RelPath, BTreeSet<&str>> = HashMap::new();
        for p in self.upstream.iter().chain(&self.existing) {
            if let Some(sha) = &p.download.sha256 {
                published.entry(&p.rel).or_default().insert(sha);
            }
        }
        let mut manifest = self.manifest.clone();
        // Kept files whose stamp no longer holds are forgotten (and rehashed if ever named again).
        manifest
            .files
            .retain(|rel, stamp| stamp.still_matches(&rel.under(&s.dest)));
        for (i, item) in self.items.iter().enumerate() {
            let Some(sha) = disk.get(&item.rel) else {
                manifest.files.remove(&item.rel);
                continue;
            };
            let trusted = published
                .get(&item.rel)
                .is_some_and(|set| set.contains(sha.as_str()))
                || (item.expected.is_none()
                    && results.get(&i).is_some_and(|d| d.fetched.is_some()));
            if !trusted {
                manifest.files.remove(&item.rel);
                continue;
            }
            let fresh = results
                .get(&i)
                .is_some_and(|d| d.hashed || d.fetched.is_some());
            if fresh || !manifest.files.contains_key(&item.rel) {
                match Stamp::of(&item.rel.under(&s.dest), sha.clone()) {
                    Ok(stamp) => {
                        manifest.files.insert(item.rel.clone(), stamp);
                    }
                    Err(_) => {
                        manifest.files.remove(&item.rel);
                    }
                }
            }
        }
        manifest
    }

    fn dry_run_report(
        &self,
        s: &SyncOptions,
        disk: &HashMap<RelPath, String>,
        results: &BTreeMap<usize, Done>,
    ) -> ExitCode {
        let mut total = 0u64;
        let mut unknown = 0usize;
        let mut lines = Vec::new();
        let mut failed = false;
        for (&i, done) in results {
            let Some(size) = &done.would_fetch else {
                continue;
            };
            let item = &self.items[i];
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
                    format!("unavailable: {why}")
                }
            };
            lines.push(format!("  {}  ({size})  {url}", item.rel));
        }
        let present = self
            .items
            .iter()
            .filter(|item| {
                item.url.is_some() && item.satisfied_by(disk.get(&item.rel).map(String::as_str))
            })
            .count();
        let unknown_note = if unknown > 0 {
            format!("; {unknown} sizes unknown")
        } else {
            String::new()
        };
        println!(
            "dry run: would fetch {} files, {}{unknown_note}, into {}",
            lines.len(),
            HumanBytes(total),
            s.dest.display()
        );
        for line in &lines {
            println!("{line}");
        }
        println!("already present and verified: {present} files");

        // As if every listed download had landed.
        let would: HashMap<&RelPath, Option<&str>> = results
            .iter()
            .filter(|(_, d)| matches!(d.would_fetch, Some(Ok(_))))
            .map(|(&i, _)| (&self.items[i].rel, self.items[i].expected.as_deref()))
            .collect();
        let verified = |rel: &RelPath, expected: Option<&str>| -> Option<String> {
            if let Some(sha) = disk
                .get(rel)
                .filter(|sha| expected.is_none_or(|e| e == sha.as_str()))
            {
                return Some(sha.clone());
            }
            would
                .get(rel)
                .map(|sha| sha.unwrap_or("unknown").to_string())
        };
        let chosen = write::merge(&self.upstream, &self.existing, &verified);
        println!("metadata would list {} entries", chosen.len());
        if s.prune && s.dest.is_dir() {
            match prune(&s.dest, &chosen, &BTreeSet::new(), true) {
                Ok(gone) => {
                    println!("would remove {} files (--prune):", gone.len());
                    for rel in gone {
                        println!("  {rel}");
                    }
                }
                Err(err) => {
                    eprintln!("uv-shim: warning: cannot list what --prune would remove: {err:#}")
                }
            }
        }
        for problem in &self.problems {
            eprintln!("uv-shim: error: {}", crate::redact::text(problem));
        }
        if failed || !self.problems.is_empty() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn summary(
        &self,
        s: &SyncOptions,
        progress: &Progress,
        downloader: &Downloader,
        results: &BTreeMap<usize, Done>,
        disk: &HashMap<RelPath, String>,
        chosen: &[ListedEntry],
        written: bool,
        pruned: &[RelPath],
        interrupted: bool,
    ) -> ExitCode {
        let elapsed = progress.elapsed();
        let fetched: Vec<&Downloaded> = results
            .values()
            .filter_map(|d| d.fetched.as_ref())
            .collect();
        let fetched_bytes: u64 = fetched.iter().map(|f| f.size - f.resumed_from).sum();
        let fetched_now = |i: usize| results.get(&i).is_some_and(|d| d.fetched.is_some());
        let upstream_items = || {
            self.items
                .iter()
                .enumerate()
                .filter(|(_, item)| item.from_upstream)
        };
        let present = upstream_items()
            .filter(|&(i, item)| {
                !fetched_now(i) && item.satisfied_by(disk.get(&item.rel).map(String::as_str))
            })
            .count();
        let missing_offline = upstream_items()
            .filter(|(_, item)| !disk.contains_key(&item.rel))
            .count();
        for note in &self.notes {
            eprintln!("uv-shim: warning: {}", crate::redact::text(note));
        }
        // A recap: in a long log the lines above have scrolled away.
        if !self.problems.is_empty() {
            eprintln!("uv-shim: error: {} problems:", self.problems.len());
            for problem in &self.problems {
                eprintln!("  - {}", crate::redact::text(problem));
            }
        }
        let verb = if s.offline { "imported" } else { "synced" };
        let mut line = format!(
            "{verb} {}: fetched {} files ({} in {}, {}), {present} already present",
            s.dest.display(),
            fetched.len(),
            HumanBytes(fetched_bytes),
            progress::seconds(elapsed),
            progress::rate(downloader.received(), elapsed),
        );
        if s.offline {
            line.push_str(&format!(", {missing_offline} not in the folder"));
        }
        line.push_str(&format!(", {} failed", self.problems.len()));
        if !pruned.is_empty() {
            line.push_str(&format!(", {} removed by --prune", pruned.len()));
        }
        println!("{line}");
        let newly_listed = chosen.iter().filter(|c| c.from_upstream).count();
        println!(
            "metadata: {} entries ({} from this upstream list, {} kept from the mirror) in {}{}",
            chosen.len(),
            newly_listed,
            chosen.len() - newly_listed,
            s.dest.join(METADATA_FILE).display(),
            if written { "" } else { " (unchanged)" }
        );
        if interrupted {
            eprintln!(
                "uv-shim: error: interrupted; the metadata lists only verified files and the next sync resumes the rest"
            );
            return ExitCode::FAILURE;
        }
        if self.problems.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    }
}

/// The entries of the mirror's current metadata, placed.
fn existing_entries(dest: &Path, notes: &mut Vec<String>) -> anyhow::Result<Vec<Placed>> {
    let path = dest.join(METADATA_FILE);
    let body = match std::fs::read(&path) {
        Ok(body) => body,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
    };
    let source = Url::from_file_path(&path)
        .map_err(|()| anyhow::anyhow!("{} is not an absolute path", path.display()))?;
    let downloads = match entry::parse_document(&body, &source) {
        Ok(downloads) => downloads,
        Err(crate::metadata::MetadataError::Empty { .. }) => return Ok(Vec::new()),
        Err(err) => {
            return Err(anyhow::anyhow!(
                "the mirror's own metadata is damaged: {err}; fix it, or move it away to rebuild it from the files"
            ));
        }
    };
    let mut placed = Vec::new();
    for download in downloads {
        match RelPath::from_file_url(dest, &download.url) {
            Some(rel) => placed.push(Placed { download, rel }),
            None => notes.push(format!(
                "{}: the mirror's metadata names {}, which is not a file of the mirror; dropped",
                download.key,
                crate::redact::url(download.url.as_str())
            )),
        }
    }
    Ok(placed)
}

/// Removes (or, `dry_run`, lists) every file under `dest` that no chosen
/// entry names: hidden files and folders (the mirror's state, a server's
/// `.htaccess`) and the metadata itself excepted; part files survive while
/// their download is still wanted (`keep_parts`).
fn prune(
    dest: &Path,
    chosen: &[ListedEntry],
    keep_parts: &BTreeSet<&RelPath>,
    dry_run: bool,
) -> anyhow::Result<Vec<RelPath>> {
    let named: BTreeSet<&RelPath> = chosen.iter().map(|c| &c.rel).collect();
    let mut gone = Vec::new();
    let mut dirs = Vec::new();
    let mut stack = vec![dest.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with('.') || (dir == dest && name == METADATA_FILE) {
                continue;
            }
            let path = entry.path();
            let kind = entry
                .file_type()
                .with_context(|| format!("cannot stat {}", path.display()))?;
            if kind.is_dir() {
                dirs.push(path.clone());
                stack.push(path);
                continue;
            }
            let keep = if let Some(target) = name.strip_suffix(PART_SUFFIX) {
                RelPath::from_path(dest, &path.with_file_name(target))
                    .is_some_and(|rel| keep_parts.contains(&rel))
            } else {
                RelPath::from_path(dest, &path).is_some_and(|rel| named.contains(&rel))
            };
            if keep {
                continue;
            }
            let rel = relative_display(dest, &path);
            if !dry_run {
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
            }
            gone.push(rel);
        }
    }
    if !dry_run {
        // Deepest first; a folder that is not empty simply stays.
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for dir in dirs {
            let _ = std::fs::remove_dir(dir);
        }
    }
    gone.sort();
    Ok(gone)
}

/// A path below `dest` as a [`RelPath`], even for names a download could
/// not have (`x.part`), for listing.
fn relative_display(dest: &Path, path: &Path) -> RelPath {
    RelPath::from_path(dest, path).unwrap_or_else(|| {
        let text = path
            .strip_prefix(dest)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        RelPath::unchecked(text)
    })
}

/// What the worker threads share.
struct WorkerCtx {
    dest: PathBuf,
    items: Vec<Item>,
    downloader: Downloader,
    dry_run: bool,
    offline: bool,
}

impl WorkerCtx {
    fn work(&self, i: usize, tx: &Sender<Msg>) {
        let done = self.settle(i, tx);
        let _ = tx.send(Msg::Finished { item: i, done });
    }

    fn settle(&self, i: usize, tx: &Sender<Msg>) -> Done {
        let item = &self.items[i];
        let path = item.rel.under(&self.dest);
        let mut done = Done {
            disk: item.known.clone(),
            hashed: false,
            fetched: None,
            would_fetch: None,
            error: None,
            moved_from: None,
        };
        // A known hash that does not fit needs no second read.
        if item.known.is_none() {
            let mut read_from = path.clone();
            if self.offline
                && !path.exists()
                && let Some(found) = self.elsewhere(item, &path)
            {
                let shown = found
                    .strip_prefix(&self.dest)
                    .unwrap_or(&found)
                    .display()
                    .to_string();
                if self.dry_run {
                    read_from = found;
                } else if path
                    .parent()
                    .is_some_and(|dir| std::fs::create_dir_all(dir).is_ok())
                    && std::fs::rename(&found, &path).is_ok()
                {
                    done.moved_from = Some(shown);
                }
            }
            match hash_file(&read_from, &interrupt::requested) {
                Ok(sha) => {
                    done.disk = Some(sha);
                    done.hashed = true;
                }
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => done.disk = None,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {
                    done.error = Some(DownloadError::Interrupted);
                    return done;
                }
                Err(err) => {
                    done.error = Some(DownloadError::Io {
                        path: path.display().to_string(),
                        detail: err.to_string(),
                    });
                    return done;
                }
            }
        }
        let Some(url) = &item.url else { return done };
        if item.satisfied_by(done.disk.as_deref()) {
            return done;
        }
        if self.dry_run {
            done.would_fetch = Some(self.downloader.size_of(url));
            return done;
        }
        let events = |event: Event| {
            let _ = tx.send(match event {
                Event::Started { total, offset } => Msg::Started {
                    item: i,
                    total,
                    offset,
                },
                Event::Retry { detail, delay } => Msg::Retry {
                    item: i,
                    detail,
                    delay,
                },
            });
        };
        match self
            .downloader
            .download(url, &path, item.expected.as_deref(), &events)
        {
            Ok(fetched) => {
                done.disk = Some(fetched.sha256.clone());
                done.fetched = Some(fetched);
            }
            Err(error) => done.error = Some(error),
        }
        done
    }

    /// `--offline`: a folder made by other tools may spell `+` as `%2B`
    /// (`<tag>/cpython-3.12.8%2B…`) or hold PyPy files at its top; such a
    /// file is moved to the mirror's name.
    fn elsewhere(&self, item: &Item, path: &Path) -> Option<PathBuf> {
        let file = item.rel.file_name();
        let mut candidates: Vec<PathBuf> = Vec::new();
        if file.contains('+') {
            candidates.push(path.with_file_name(file.replace('+', "%2B")));
        }
        if item.rel.as_str().starts_with("pypy/") {
            candidates.push(self.dest.join(file));
        }
        candidates.into_iter().find(|c| c.is_file())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_takes_urls_and_paths() {
        assert_eq!(
            parse_from("https://h.example/m.json").unwrap().scheme(),
            "https"
        );
        let url = parse_from("meta.json").unwrap();
        assert_eq!(url.scheme(), "file");
        assert!(url.path().ends_with("/meta.json"));
        assert!(parse_from("ftp://h.example/x").is_err());
    }

    #[test]
    fn prune_keeps_named_hidden_and_wanted_parts() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path();
        let write = |rel: &str| {
            let path = dest.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, b"x").unwrap();
        };
        for rel in [
            "b1/keep.tar.gz",
            "b0/old.tar.gz",
            "b1/wanted.tar.gz.part",
            "b1/stale.tar.gz.part",
            ".uv-shim/manifest",
            ".htaccess",
            METADATA_FILE,
        ] {
            write(rel);
        }
        let keep = RelPath::from_segments(&["b1", "keep.tar.gz"]).unwrap();
        let wanted = RelPath::from_segments(&["b1", "wanted.tar.gz"]).unwrap();
        let chosen = vec![ListedEntry {
            key: "k".into(),
            rel: keep,
            build: None,
            from_upstream: true,
            entry: Default::default(),
        }];
        let parts = BTreeSet::from([&wanted]);
        let listed = prune(dest, &chosen, &parts, true).unwrap();
        let names: Vec<&str> = listed.iter().map(RelPath::as_str).collect();
        assert_eq!(names, ["b0/old.tar.gz", "b1/stale.tar.gz.part"]);
        assert!(
            dest.join("b0/old.tar.gz").exists(),
            "a dry run removes nothing"
        );
        prune(dest, &chosen, &parts, false).unwrap();
        assert!(!dest.join("b0").exists(), "emptied folders go too");
        assert!(dest.join("b1/wanted.tar.gz.part").exists());
        assert!(dest.join(".htaccess").exists() && dest.join(METADATA_FILE).exists());
    }
}
