//! Driving `uv-shim mirror export` / `mirror import` and looking into the
//! bundles they pass between them.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;

use super::env::{TestEnv, run};

/// `uv-shim mirror export --dest DEST --out OUT ARGS…`.
#[track_caller]
pub fn export(env: &TestEnv, dest: &Path, out: &Path, args: &[&str]) -> Output {
    run(env
        .shim()
        .args(["mirror", "export", "--dest"])
        .arg(dest)
        .arg("--out")
        .arg(out)
        .args(args))
}

/// `uv-shim mirror import FILES… --dest DEST ARGS…`.
#[track_caller]
pub fn import(env: &TestEnv, files: &[PathBuf], dest: &Path, args: &[&str]) -> Output {
    run(env
        .shim()
        .args(["mirror", "import"])
        .args(files)
        .arg("--dest")
        .arg(dest)
        .args(args))
}

/// The carried files of a bundle (its `files/` entries), read with the tar crate.
pub fn carried(parts: &[PathBuf]) -> BTreeSet<String> {
    let mut bytes = Vec::new();
    for part in parts {
        std::fs::File::open(part)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
    }
    let mut archive = tar::Archive::new(&bytes[..]);
    archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .filter_map(|p| p.strip_prefix("files/").map(str::to_owned))
        .collect()
}

/// The parts `--split` wrote for `out`, in order.
pub fn parts_of(out: &Path) -> Vec<PathBuf> {
    let dir = out.parent().unwrap();
    let stem = out.file_name().unwrap().to_string_lossy().into_owned();
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .strip_prefix(&format!("{stem}."))
                .is_some_and(|n| n.len() == 3)
        })
        .collect();
    parts.sort();
    parts
}

/// The names of every entry of a one-file bundle, in order.
pub fn entries(bundle: &Path) -> Vec<String> {
    let file = std::fs::File::open(bundle).unwrap();
    tar::Archive::new(file)
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect()
}
