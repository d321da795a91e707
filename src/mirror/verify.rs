//! `mirror verify`: reads every file of the mirror again, whatever the
//! manifest says, and reports
//!
//! * missing: an entry of the metadata whose file is not there;
//! * corrupt: a file whose sha256 is not the one published for it;
//! * unlisted: a file that neither the metadata names nor the manifest
//!   records as an older build kept on purpose (`sync --prune` removes it).
//!
//! Entries that point outside the mirror or lack a sha256 are problems too,
//! and so is, with `--trusted-key`, a signature that is missing or bad.
//! Kept older builds are rehashed against the manifest. Hidden files and
//! folders and `*.part` files (downloads to be resumed) are not problems.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use indicatif::HumanBytes;
use sha2::{Digest, Sha256};
use url::Url;

use super::args::VerifyArgs;
use super::entry;
use super::hash::hash_into;
use super::layout::{PART_SUFFIX, RelPath};
use super::manifest::Manifest;
use super::pool::spawn_pool;
use super::progress::{self, Progress};
use crate::fsutil::hex;
use crate::urls::{METADATA_FILE, SIGNATURE_FILE};

/// Why a file is checked.
#[derive(Debug, Clone)]
enum Role {
    /// The metadata names it, for these keys.
    Listed(Vec<String>),
    /// An older build the manifest records.
    Kept,
}

/// What a worker found.
enum Found {
    Hash(String),
    Missing,
    Unreadable(String),
}

/// Runs `mirror verify`.
pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let keys = super::sign::trusted_keys(&args.trusted_key)?;
    let dest = std::fs::canonicalize(&args.dest)
        .with_context(|| format!("there is no mirror at {}", args.dest.display()))?;
    let path = dest.join(METADATA_FILE);
    let body = std::fs::read(&path)
        .with_context(|| format!("cannot read the mirror's metadata {}", path.display()))?;
    let source = Url::from_file_path(&path)
        .map_err(|()| anyhow::anyhow!("{} is not an absolute path", path.display()))?;
    let downloads = match entry::parse_document(&body, &source) {
        Ok(downloads) => downloads,
        Err(crate::metadata::schema::MetadataError::Empty { .. }) => Vec::new(),
        Err(err) => anyhow::bail!("{err}"),
    };

    let mut problems: Vec<String> = Vec::new();
    let mut expected: BTreeMap<RelPath, (String, Role)> = BTreeMap::new();
    for d in &downloads {
        let Some(rel) = RelPath::from_file_url(&dest, &d.url) else {
            problems.push(format!(
                "outside  {}: its URL {} is not a file of this mirror",
                d.key,
                crate::redact::url(d.url.as_str())
            ));
            continue;
        };
        let Some(sha) = &d.sha256 else {
            problems.push(format!("no hash  {}: {rel} has no sha256 to check", d.key));
            continue;
        };
        match expected.get_mut(&rel) {
            Some((other, Role::Listed(keys))) if other == sha => keys.push(d.key.clone()),
            Some(_) => problems.push(format!(
                "conflict {}: {rel} is listed with two different sha256",
                d.key
            )),
            None => {
                expected.insert(rel, (sha.clone(), Role::Listed(vec![d.key.clone()])));
            }
        }
    }

    let manifest = Manifest::load(&dest);
    let mut partial = 0usize;
    let mut unlisted = Vec::new();
    for file in files_of(&dest)? {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.ends_with(PART_SUFFIX) {
            partial += 1;
            continue;
        }
        let Some(rel) = RelPath::from_path(&dest, &file) else {
            unlisted.push(
                file.strip_prefix(&dest)
                    .unwrap_or(&file)
                    .display()
                    .to_string(),
            );
            continue;
        };
        if expected.contains_key(&rel) {
            continue;
        }
        match manifest.files.get(&rel) {
            Some(stamp) => {
                expected.insert(rel, (stamp.sha256.clone(), Role::Kept));
            }
            None => unlisted.push(rel.to_string()),
        }
    }

    let jobs: Vec<(RelPath, String, Role)> = expected
        .into_iter()
        .map(|(rel, (sha, role))| (rel, sha, role))
        .collect();
    let total_bytes: u64 = jobs
        .iter()
        .filter_map(|(rel, _, _)| std::fs::metadata(rel.under(&dest)).ok())
        .map(|m| m.len())
        .sum();
    let count = jobs.len();
    let hashed = Arc::new(AtomicU64::new(0));
    let workers = args
        .jobs
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let rx = {
        let dest = dest.clone();
        let hashed = Arc::clone(&hashed);
        spawn_pool(jobs, workers, move |(rel, sha, role), tx| {
            let found = hash(&rel.under(&dest), &hashed);
            let _ = tx.send((rel, sha, role, found));
        })
    };
    let mut progress = Progress::new();
    let mut listed = 0usize;
    let mut kept = 0usize;
    let mut listed_bytes = 0u64;
    let mut missing = 0usize;
    let mut corrupt = 0usize;
    let mut done = 0usize;
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok((rel, sha, role, found)) => {
                done += 1;
                let problem = match (&found, &role) {
                    (Found::Hash(actual), _) if *actual == sha => None,
                    (Found::Hash(actual), Role::Listed(_)) => Some(format!(
                        "corrupt  {rel}: expected sha256 {sha}, found {actual}"
                    )),
                    (Found::Hash(actual), Role::Kept) => Some(format!(
                        "corrupt  {rel} (kept older build): expected sha256 {sha}, found {actual}"
                    )),
                    (Found::Missing, Role::Listed(keys)) => {
                        Some(format!("missing  {rel} (listed as {})", keys.join(", ")))
                    }
                    // A kept build that vanished is simply no longer kept.
                    (Found::Missing, Role::Kept) => None,
                    (Found::Unreadable(why), _) => Some(format!("unreadable {rel}: {why}")),
                };
                match (&problem, &found) {
                    (Some(_), Found::Missing) => missing += 1,
                    (Some(_), _) => corrupt += 1,
                    (None, Found::Hash(_)) => match role {
                        Role::Listed(_) => {
                            listed += 1;
                            listed_bytes +=
                                std::fs::metadata(rel.under(&dest)).map_or(0, |m| m.len());
                        }
                        Role::Kept => kept += 1,
                    },
                    (None, _) => {}
                }
                if let Some(problem) = problem {
                    progress.out(&problem);
                    problems.push(problem);
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        progress.update(hashed.load(Ordering::Relaxed), total_bytes, done, count);
    }
    progress.finish();
    for file in &unlisted {
        let line = crate::redact::text(&format!(
            "unlisted {file}: not named by the metadata (`mirror sync --prune` removes it)"
        ));
        println!("{line}");
        problems.push(line);
    }
    if !keys.is_empty() {
        match super::sign::check(&dest, &keys) {
            Ok(line) => println!("{line}"),
            Err(line) => {
                println!("{line}");
                problems.push(line);
            }
        }
    }
    let elapsed = progress.elapsed();
    println!(
        "verified {}: {listed} listed files ({}) and {kept} kept older builds rehashed in {} ({}); {missing} missing, {corrupt} corrupt, {} unlisted{}",
        crate::redact::text(&dest.display().to_string()),
        HumanBytes(listed_bytes),
        progress::seconds(elapsed),
        progress::rate(hashed.load(Ordering::Relaxed), elapsed),
        unlisted.len(),
        if partial > 0 {
            format!("; {partial} partial downloads wait for the next sync")
        } else {
            String::new()
        }
    );
    if problems.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "uv-shim: error: the mirror at {} has {} problems",
            crate::redact::text(&dest.display().to_string()),
            problems.len()
        );
        Ok(ExitCode::FAILURE)
    }
}

/// Every regular file below `dest`, hidden entries, the metadata and its signature excepted.
fn files_of(dest: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![dest.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
        {
            let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.')
                || (dir == dest && (name == METADATA_FILE || name == SIGNATURE_FILE))
            {
                continue;
            }
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Hashes one file, adding what it reads to `counter`.
fn hash(path: &Path, counter: &AtomicU64) -> Found {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Found::Missing,
        Err(err) => return Found::Unreadable(err.to_string()),
    };
    let mut reader = Counting {
        inner: file,
        counter,
    };
    let mut hasher = Sha256::new();
    match hash_into(&mut reader, u64::MAX, &mut hasher, &|| false) {
        Ok(_) => Found::Hash(hex(&hasher.finalize())),
        Err(err) => Found::Unreadable(err.to_string()),
    }
}

/// A reader that counts what passes through, for the progress bar.
struct Counting<'a, R> {
    inner: R,
    counter: &'a AtomicU64,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
