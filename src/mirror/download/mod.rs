//! One download into the mirror, done so that the mirror never holds a file
//! whose hash was not checked:
//!
//! * the body streams into `<file>.part` through a fixed-size buffer while
//!   sha256 is computed on the fly (memory stays flat whatever the size);
//! * after an interruption (cut connection, Ctrl-C, a killed process) the
//!   part file is kept; the next attempt rehashes what is on disk and asks
//!   for the rest with `Range: bytes=<len>-`;
//! * transient failures (connection errors, timeouts, 408, 429, 5xx) are
//!   retried with exponential backoff; other statuses (404…) are not;
//! * only when the hash matched is the part file renamed onto the target.
//!   A mismatch deletes it and reports the URL and both hashes (after one
//!   fresh attempt when the bad file had been resumed, in case upstream
//!   replaced the file between the two halves).
//!
//! [`error`] says how a download fails; [`source`] where its bytes come from.

mod error;
mod source;
mod throttle;

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use url::Url;

pub use error::{DownloadError, SizeError};
use error::{Failed, io_error, transient, with_attempts};
use source::{Open, Opened, content_length, open_file, open_http};
use throttle::Throttle;

use super::hash::{BUFFER, hash_into};
use super::interrupt;
use super::layout::PART_SUFFIX;
use crate::fsutil::hex;
use crate::metadata::netrc::Auth;

/// Time allowed to open a connection; longer than the shim's own because
/// mirrors are built through corporate proxies, and retries follow anyway.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Attempts that made progress do not count against `--retries`, but a
/// download never takes more attempts than this.
const MAX_ATTEMPTS: u32 = 100;

/// The default number of parallel downloads of `mirror sync` on a machine
/// with `cpus` CPUs.
///
/// Two per CPU: a download waits on the server or the disk part of the
/// time, and the other job of its CPU hashes meanwhile. At least 4, as
/// before; at most 8, because against a local nginx 8 jobs on two CPUs
/// were only 5 % faster than 4 but held 19 MiB instead of 14 (each
/// connection keeps its own buffers), and a server counts every connection.
pub fn default_jobs(cpus: usize) -> usize {
    cpus.saturating_mul(2).clamp(4, 8)
}

/// The part file of `target`.
pub fn part_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(PART_SUFFIX);
    target.with_file_name(name)
}

/// What a download reports while it runs.
#[derive(Debug, Clone)]
pub enum Event {
    /// The body started; `total` is the whole file's size when the server said.
    Started {
        /// Size of the whole file, if known.
        total: Option<u64>,
        /// Bytes already on disk that this attempt continues from.
        offset: u64,
    },
    /// An attempt failed and the download waits before the next one.
    Retry {
        /// What went wrong (redacted).
        detail: String,
        /// The wait.
        delay: Duration,
    },
}

/// A download that landed in the mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// Its sha256, lowercase hex.
    pub sha256: String,
    /// Its size.
    pub size: u64,
    /// The length of the part file the last attempt continued from (0: from scratch).
    pub resumed_from: u64,
}

/// Downloads files; shared by the worker threads.
#[derive(Debug, Clone)]
pub struct Downloader {
    client: reqwest::blocking::Client,
    retries: u32,
    backoff: Duration,
    timeout: Duration,
    received: Arc<AtomicU64>,
    auth: Arc<Auth>,
    throttle: Arc<Throttle>,
}

impl Downloader {
    /// A downloader that runs at most `jobs` downloads at once (fewer once
    /// the server answers 429 or 503), waits at most `timeout` for any
    /// answer or block of data, retries transient failures `retries` times,
    /// and gives the servers that want them the credentials of `auth`.
    pub fn new(
        jobs: usize,
        timeout: Duration,
        retries: u32,
        backoff: Duration,
        auth: Arc<Auth>,
    ) -> anyhow::Result<Downloader> {
        let client = crate::metadata::fetch::client_builder(timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .build()
            .map_err(|err| {
                anyhow::anyhow!(
                    "cannot set up the HTTP client: {}",
                    crate::metadata::fetch::chain(&err)
                )
            })?;
        Ok(Downloader {
            client,
            retries,
            backoff,
            timeout,
            received: Arc::new(AtomicU64::new(0)),
            auth,
            throttle: Arc::new(Throttle::new(jobs)),
        })
    }

    /// `(asked, now)` when busy answers (429, 503) lowered the number of
    /// downloads at once during the run.
    pub fn concurrency_lowered(&self) -> Option<(usize, usize)> {
        self.throttle.lowered()
    }

    /// Bytes received so far by every download of this downloader.
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// The size of the file at `url` (HEAD's `Content-Length`), `Ok(None)`
    /// when the server does not say; the error does not repeat the URL.
    pub fn size_of(&self, url: &Url) -> Result<Option<u64>, SizeError> {
        if url.scheme() == "file" {
            let path = url
                .to_file_path()
                .map_err(|()| SizeError::Refused("not a local path".to_string()))?;
            return std::fs::metadata(&path)
                .map(|m| Some(m.len()))
                .map_err(|err| {
                    SizeError::Refused(format!("cannot read {}: {err}", path.display()))
                });
        }
        let response = self
            .auth
            .send(self.client.head(url.as_str()), url)
            .map_err(|err| {
                SizeError::Unreachable(crate::metadata::fetch::describe(&err, self.timeout))
            })?;
        let status = response.status();
        if status.is_success() {
            Ok(content_length(&response))
        } else if matches!(status.as_u16(), 405 | 501) {
            // The server does not do HEAD; the size stays unknown.
            Ok(None)
        } else {
            Err(SizeError::Refused(format!("HTTP {}", status.as_u16())))
        }
    }

    /// Downloads `url` to `target`, checking `expected` (when the metadata
    /// publishes a hash). `events` hears about starts and retries.
    pub fn download(
        &self,
        url: &Url,
        target: &Path,
        expected: Option<&str>,
        events: &dyn Fn(Event),
    ) -> Result<Downloaded, DownloadError> {
        let part = part_path(target);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|err| io_error(dir, &err))?;
        }
        let mut failures = 0u32;
        let mut attempts = 0u32;
        let mut restarted = false;
        loop {
            if interrupt::requested() {
                return Err(DownloadError::Interrupted);
            }
            attempts += 1;
            let Some(slot) = self.throttle.enter() else {
                return Err(DownloadError::Interrupted);
            };
            let result = self.attempt(url, &part, events);
            // A busy answer to a request sent with too many others running
            // is the concurrency's fault, not the download's: the limit
            // goes down, and the attempt does not count against --retries.
            let forgiven = match &result {
                Err(Failed::Transient {
                    error:
                        DownloadError::Status {
                            status: 429 | 503, ..
                        },
                    ..
                }) => !self.throttle.busy(&slot),
                _ => false,
            };
            drop(slot);
            let failed = match result {
                Ok(fetched) => {
                    match expected {
                        Some(expected) if expected != fetched.sha256 => {
                            let _ = std::fs::remove_file(&part);
                            if fetched.resumed_from > 0 && !restarted {
                                // The two halves may come from different
                                // versions of the file: one clean try.
                                restarted = true;
                                continue;
                            }
                            return Err(DownloadError::Mismatch {
                                url: crate::redact::url(url.as_str()),
                                expected: expected.to_string(),
                                actual: fetched.sha256,
                            });
                        }
                        _ => {}
                    }
                    std::fs::rename(&part, target).map_err(|err| io_error(target, &err))?;
                    return Ok(fetched);
                }
                Err(failed) => failed,
            };
            match failed {
                Failed::Permanent(DownloadError::Status { url, status, .. }) => {
                    // The file is gone upstream; a part of it is no use.
                    let _ = std::fs::remove_file(&part);
                    return Err(DownloadError::Status {
                        url,
                        status,
                        attempts,
                    });
                }
                Failed::Permanent(error) => return Err(error),
                Failed::Restart(error) => {
                    if attempts >= MAX_ATTEMPTS {
                        return Err(with_attempts(error, attempts));
                    }
                    std::fs::remove_file(&part).map_err(|err| io_error(&part, &err))?;
                    events(Event::Retry {
                        detail: error.to_string(),
                        delay: Duration::ZERO,
                    });
                }
                Failed::Transient {
                    error,
                    progressed,
                    retry_after,
                } => {
                    failures = match (progressed, forgiven) {
                        (true, _) => 0,
                        (false, true) => failures,
                        (false, false) => failures + 1,
                    };
                    if failures > self.retries || attempts >= MAX_ATTEMPTS {
                        return Err(with_attempts(error, attempts));
                    }
                    let exponent = failures.saturating_sub(1).min(16);
                    let delay = (self.backoff * 2u32.pow(exponent))
                        .max(retry_after.unwrap_or_default())
                        .min(MAX_BACKOFF);
                    events(Event::Retry {
                        detail: error.to_string(),
                        delay,
                    });
                    if !sleep(delay) {
                        return Err(DownloadError::Interrupted);
                    }
                }
            }
        }
    }

    /// One request: continue the part file, or start it.
    fn attempt(
        &self,
        url: &Url,
        part: &Path,
        events: &dyn Fn(Event),
    ) -> Result<Downloaded, Failed> {
        let io = |path: &Path, err: std::io::Error| {
            if err.kind() == std::io::ErrorKind::Interrupted {
                Failed::Permanent(DownloadError::Interrupted)
            } else {
                Failed::Permanent(io_error(path, &err))
            }
        };
        // What is on disk already counts: rehash it so the final hash covers the whole file.
        let mut hasher = Sha256::new();
        let on_disk = match std::fs::metadata(part) {
            Ok(meta) => meta.len(),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => 0,
            Err(err) => return Err(io(part, err)),
        };
        let mut offset = 0;
        if on_disk > 0 {
            let mut file = File::open(part).map_err(|err| io(part, err))?;
            offset = hash_into(&mut file, on_disk, &mut hasher, &interrupt::requested)
                .map_err(|err| io(part, err))?;
        }

        let opened = match url.scheme() {
            "file" => open_file(url, offset)?,
            _ => open_http(&self.client, &self.auth, self.timeout, url, offset)?,
        };
        let Opened { body, from, length } = match opened {
            Open::Body(opened) => opened,
            Open::AlreadyComplete => {
                return Ok(Downloaded {
                    sha256: hex(&hasher.finalize()),
                    size: offset,
                    resumed_from: offset,
                });
            }
        };
        if from != offset {
            // The server sent the whole file: start over.
            hasher = Sha256::new();
        }
        events(Event::Started {
            total: length.map(|len| from + len),
            offset: from,
        });

        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(part)
            .map_err(|err| io(part, err))?;
        file.set_len(from).map_err(|err| io(part, err))?;
        file.seek(SeekFrom::Start(from))
            .map_err(|err| io(part, err))?;
        let shown = crate::redact::url(url.as_str());
        let (received, read_error) =
            self.stream(body, &mut file, from, &mut hasher, length, &shown);
        if let Some(failed) = read_error {
            return Err(match failed {
                Failed::Transient {
                    error,
                    retry_after,
                    progressed: _,
                } => Failed::Transient {
                    error,
                    progressed: received > 0,
                    retry_after,
                },
                permanent => permanent,
            });
        }
        // The rename comes next; make sure the bytes are on disk before it.
        file.sync_all().map_err(|err| io(part, err))?;
        Ok(Downloaded {
            sha256: hex(&hasher.finalize()),
            size: from + received,
            resumed_from: from,
        })
    }

    /// Copies the body into `out`, hashing it; returns the bytes copied and the failure that stopped it.
    fn stream(
        &self,
        mut body: Box<dyn Read + Send>,
        out: &mut File,
        from: u64,
        hasher: &mut Sha256,
        length: Option<u64>,
        shown: &str,
    ) -> (u64, Option<Failed>) {
        // Every block goes straight to the file, unbuffered: whatever
        // arrived is on disk when a connection stalls or the process dies,
        // so the next attempt resumes from there.
        let mut buf = vec![0u8; BUFFER];
        let mut received = 0u64;
        let mut writeback = super::writeback::Writeback::new(from);
        loop {
            if interrupt::requested() {
                return (
                    received,
                    Some(Failed::Permanent(DownloadError::Interrupted)),
                );
            }
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    let detail = match err
                        .get_ref()
                        .and_then(|e| e.downcast_ref::<reqwest::Error>())
                    {
                        Some(inner) => crate::metadata::fetch::describe(inner, self.timeout),
                        None => format!(
                            "the body was cut short: {}",
                            crate::metadata::fetch::chain(&err)
                        ),
                    };
                    return (received, Some(transient(shown, detail)));
                }
            };
            if let Err(err) = out.write_all(&buf[..n]) {
                let error = DownloadError::Io {
                    path: format!("the partial download of {shown}"),
                    detail: err.to_string(),
                };
                return (received, Some(Failed::Permanent(error)));
            }
            hasher.update(&buf[..n]);
            received += n as u64;
            self.received.fetch_add(n as u64, Ordering::Relaxed);
            writeback.wrote(out, from + received);
        }
        match length {
            Some(length) if received != length => (
                received,
                Some(transient(
                    shown,
                    format!("the body was cut short after {received} of {length} bytes"),
                )),
            ),
            _ => (received, None),
        }
    }
}

/// Sleeps `delay`, waking early (`false`) on Ctrl-C.
fn sleep(delay: Duration) -> bool {
    let until = Instant::now() + delay;
    while Instant::now() < until {
        if interrupt::requested() {
            return false;
        }
        std::thread::sleep((until - Instant::now()).min(Duration::from_millis(50)));
    }
    !interrupt::requested()
}
