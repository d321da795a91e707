//! Driving `uv-shim mirror sync` / `mirror verify` and reading the mirror
//! folder they wrote: its metadata, its files, what a dry run listed.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Map, Value};

use super::env::{TestEnv, assert_success, run, stdout};
use super::mirror::Entry;
use super::scene::Mirror;

/// `uv-shim mirror sync --dest DEST --from FROM ARGS…`.
#[track_caller]
pub fn sync(env: &TestEnv, dest: &Path, from: impl AsRef<OsStr>, args: &[&str]) -> Output {
    run(env
        .shim()
        .args(["mirror", "sync", "--dest"])
        .arg(dest)
        .arg("--from")
        .arg(from)
        .args(args))
}

/// `uv-shim mirror verify --dest DEST`.
#[track_caller]
pub fn verify(env: &TestEnv, dest: &Path) -> Output {
    run(env.shim().args(["mirror", "verify", "--dest"]).arg(dest))
}

/// The mirror's metadata.
#[track_caller]
pub fn metadata(dest: &Path) -> Map<String, Value> {
    let text = std::fs::read(dest.join("download-metadata.json")).expect("the mirror has metadata");
    serde_json::from_slice(&text).unwrap()
}

/// The keys of a metadata document.
pub fn keys(meta: &Map<String, Value>) -> BTreeSet<String> {
    meta.keys().cloned().collect()
}

/// Files below `dir`, relative, hidden ones left out.
pub fn files_in(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                out.insert(
                    entry
                        .path()
                        .strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .to_string(),
                );
            }
        }
    }
    out
}

/// The paths a dry run lists (its indented lines).
pub fn listed(output: &Output) -> BTreeSet<String> {
    let text = stdout(output);
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("already present") {
            break;
        }
        if let Some(rest) = line.strip_prefix("  ") {
            out.insert(rest.split("  ").next().unwrap().to_string());
        }
    }
    out
}

/// A set of strings, to compare with [`keys`], [`files_in`] and [`listed`].
pub fn set<const N: usize>(items: [&str; N]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The crafted build of the host's Python that the real uv accepts, served
/// by an upstream server and synced into `<root>/mirror`: the server (keep it
/// while the mirror's files are needed from it), the entry, and the mirror.
#[track_caller]
pub fn crafted_mirror(env: &TestEnv) -> (Mirror, Entry, PathBuf) {
    let upstream = Mirror::absolute(env.root().join("upstream"), "");
    let dest = env.root().join("mirror");
    let output = sync(env, &dest, upstream.metadata_url(), &[]);
    assert_success(&output);
    assert!(dest.join(&upstream.entry.rel_path).is_file());
    let entry = upstream.entry.clone();
    (upstream, entry, dest)
}

/// `file://<dir>`.
pub fn url_of_dir(dir: &Path) -> String {
    format!("file://{}", dir.display())
}
