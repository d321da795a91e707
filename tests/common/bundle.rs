//! Driving `uv-shim mirror export` / `mirror import` and looking into the
//! bundles they pass between them; an upstream of real builds, and uv
//! installing one through the shim.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;

use super::env::{TestEnv, assert_success, run};
use super::http::HttpServer;
use super::mirror::{Entry, MirrorBuilder, Urls, host_python_version};

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

/// Real builds of the host's Python on an upstream of their own.
pub struct RealUpstream {
    server: HttpServer,
    dir: PathBuf,
}

impl RealUpstream {
    /// Serves `dir` (empty yet) on 127.0.0.1.
    pub fn new(dir: PathBuf) -> RealUpstream {
        RealUpstream {
            server: HttpServer::start(&dir),
            dir,
        }
    }

    /// Publishes one build of the host's Python; returns its entry.
    pub fn publish(&self, build: &str) -> Entry {
        let (major, minor, patch) = host_python_version();
        MirrorBuilder::new(&self.dir)
            .cpython(major, minor, patch, build)
            .write_metadata(Urls::Absolute(self.server.base_url()))
            .remove(0)
    }

    /// The URL of its list.
    pub fn list(&self) -> String {
        self.server.url("download-metadata.json")
    }
}

/// `python install X.Y.Z` (with `--reinstall` when asked) through the shim:
/// the path the inside server served for it.
#[track_caller]
pub fn install_through_shim(
    env: &TestEnv,
    inside: &HttpServer,
    entry: &Entry,
    reinstall: bool,
) -> String {
    let (major, minor, patch) = entry.version;
    inside.clear_log();
    let mut cmd = env.uv();
    cmd.args(["python", "install", &format!("{major}.{minor}.{patch}")]);
    if reinstall {
        cmd.arg("--reinstall");
    }
    assert_success(&run(&mut cmd));
    let served: Vec<String> = inside
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with(".tar.gz") && r.status == Some(200))
        .map(|r| r.path)
        .collect();
    assert_eq!(served.len(), 1, "{served:#?}");
    served[0].clone()
}
