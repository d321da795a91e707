//! The work of a sync: every item that its manifest stamp does not settle
//! is hashed, and fetched when it is missing or wrong, on `--jobs` worker
//! threads. This thread listens to them, keeps the progress display, and
//! stops them shortly after Ctrl-C.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::options::SyncOptions;
use super::plan::Item;
use crate::mirror::download::{DownloadError, Downloaded, Downloader, Event, SizeError};
use crate::mirror::hash::hash_file;
use crate::mirror::interrupt;
use crate::mirror::layout::RelPath;
use crate::mirror::pool::spawn_pool;
use crate::mirror::progress::{self, Progress};

/// How long workers get to reach a clean stop after Ctrl-C. Short: every
/// byte received is already on disk and renames are atomic, so a worker
/// still waiting on the network has nothing to lose.
const GRACE: Duration = Duration::from_secs(1);

/// A dry run stops asking a host for sizes after this many connection
/// failures: behind a firewall that drops packets each one costs a whole
/// `--timeout`, and a list names thousands of files on one host.
const HOST_FAILURES: u32 = 3;

/// What a worker found or did for one item.
#[derive(Debug)]
pub struct Done {
    /// The hash of the file now at the item's path (`None`: no file).
    pub disk: Option<String>,
    /// Whether the worker read the file to learn it.
    pub hashed: bool,
    /// The download that landed.
    pub downloaded: Option<Downloaded>,
    /// Dry run: the size of what would be fetched.
    pub would_fetch: Option<Result<Option<u64>, SizeError>>,
    /// What went wrong.
    pub error: Option<DownloadError>,
    /// `--offline`: the file was found under another name and moved into place.
    pub moved_from: Option<String>,
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

/// What the work left behind.
#[derive(Debug)]
pub struct WorkDone {
    /// What the workers did, by item index (items they did not reach are absent).
    pub results: BTreeMap<usize, Done>,
    /// The hash of what is on disk now at each path, as far as known.
    pub disk: HashMap<RelPath, String>,
    /// Whether Ctrl-C cut the work short.
    pub interrupted: bool,
}

impl WorkDone {
    /// The hash of the file at `rel`, if known.
    pub fn on_disk(&self, rel: &RelPath) -> Option<&str> {
        self.disk.get(rel).map(String::as_str)
    }

    /// The file's sha256 when it is present and (if `expected` is given) matches it.
    pub fn verified(&self, rel: &RelPath, expected: Option<&str>) -> Option<String> {
        let sha = self.disk.get(rel)?;
        expected.is_none_or(|e| e == sha).then(|| sha.clone())
    }

    /// Whether the item at index `i` was fetched by this run.
    pub fn downloaded(&self, i: usize) -> bool {
        self.results.get(&i).is_some_and(|d| d.downloaded.is_some())
    }
}

/// Hashes and fetches what `items` need on `s.jobs` threads; `on_settled`
/// hears about every item a worker finished, as it finishes.
pub fn run_workers(
    items: &[Item],
    s: &SyncOptions,
    downloader: &Downloader,
    progress: &mut Progress,
    on_settled: &mut dyn FnMut(&Progress, usize, &Done),
) -> WorkDone {
    // What is on disk at each item's path, as far as known.
    let mut disk: HashMap<RelPath, String> = HashMap::new();
    let mut jobs = Vec::new();
    for (i, item) in items.iter().enumerate() {
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
        .filter(|&i| items[i].url.is_some())
        .collect();

    let ctx = Arc::new(WorkerCtx {
        dest: s.dest.clone(),
        items: items.to_vec(),
        downloader: downloader.clone(),
        dry_run: s.dry_run,
        offline: s.offline,
        unreachable: Mutex::new(HashMap::new()),
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
                    items[item].rel,
                    progress::seconds(delay)
                ));
            }
            Ok(Msg::Finished { item, done }) => {
                pending_fetch.remove(&item);
                on_settled(progress, item, &done);
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
                    progress.line(
                        "interrupted: stopping downloads (part files are kept), writing the metadata…",
                    );
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
        let rel = &items[i].rel;
        match &done.disk {
            Some(sha) => disk.insert(rel.clone(), sha.clone()),
            None => disk.remove(rel),
        };
    }
    WorkDone {
        results,
        disk,
        interrupted,
    }
}

/// What the worker threads share.
struct WorkerCtx {
    dest: PathBuf,
    items: Vec<Item>,
    downloader: Downloader,
    dry_run: bool,
    offline: bool,
    /// Dry run: connection failures per host.
    unreachable: Mutex<HashMap<String, u32>>,
}

impl WorkerCtx {
    /// The size of `url`, unless its host failed [`HOST_FAILURES`] connections already.
    fn size_of(&self, url: &url::Url) -> Result<Option<u64>, SizeError> {
        let host = url.host_str().unwrap_or_default().to_string();
        let seen = self
            .unreachable
            .lock()
            .unwrap()
            .get(&host)
            .copied()
            .unwrap_or(0);
        if seen >= HOST_FAILURES {
            return Err(SizeError::Unreachable(format!(
                "not asked: {seen} connections to {host} failed"
            )));
        }
        let size = self.downloader.size_of(url);
        if let Err(SizeError::Unreachable(_)) = &size {
            *self
                .unreachable
                .lock()
                .unwrap()
                .entry(host.clone())
                .or_default() += 1;
        }
        size
    }

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
            downloaded: None,
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
            done.would_fetch = Some(self.size_of(url));
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
            Ok(downloaded) => {
                done.disk = Some(downloaded.sha256.clone());
                done.downloaded = Some(downloaded);
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
