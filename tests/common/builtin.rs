//! A golden binary: uv-shim built with a built-in config
//! (`UV_SHIM_BUILTIN_CONFIG`), naming a `file://` mirror at a fixed place
//! under the target folder, since a config compiled in cannot learn a port
//! a test picks later.
//!
//! Built once per config text and cached under `<target>/builtin-config/`,
//! under a file lock. Its own target folder starts with the compiled
//! dependencies of the main build (see [`seed_dependencies`]), so cargo
//! compiles only uv-shim itself again.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::env::{SHIM_EXE, run, stderr};
use super::mirror::{Entry, MirrorBuilder, Urls, host_python_version};
use super::uv::target_dir;

/// The file name the built-in config is embedded from (doctor names it).
pub const CONFIG_NAME: &str = "golden.toml";

/// The golden binary and the mirror its built-in config names. The story
/// holding it holds the lock of the golden builds and of that mirror.
pub struct Golden {
    _lock: File,
    /// The binary.
    pub exe: PathBuf,
    /// The mirror's base URL (`file://…/`).
    pub mirror_url: String,
    /// The one build the mirror holds.
    pub entry: Entry,
}

/// The cache folder of everything here.
fn root() -> PathBuf {
    target_dir().join("builtin-config")
}

/// uv-shim built with a built-in config holding `extra` after the line
/// naming the mirror (a one-build `file://` mirror made once).
pub fn golden(extra: &str) -> Golden {
    let root = root();
    let lock = lock();
    let (mirror_url, entry) = mirror(&root.join("mirror").join("uv"));
    let text = format!("mirror = \"{mirror_url}\"\n{extra}");
    let digest = Sha256::digest(text.as_bytes());
    let key: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let dir = root.join(key);
    let exe = dir.join("debug").join("uv-shim");
    let config = dir.join(CONFIG_NAME);
    if !dir.join("debug").is_dir() {
        seed_dependencies(&dir.join("debug"));
    }
    if std::fs::read_to_string(&config).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&config, &text).unwrap();
    }
    // Always asked: cargo rebuilds uv-shim when its code changed (a second or so when not).
    let output = run(cargo_build(&dir).env("UV_SHIM_BUILTIN_CONFIG", &config));
    assert!(
        output.status.success(),
        "building uv-shim with a built-in config failed:\n{}",
        stderr(&output)
    );
    Golden {
        _lock: lock,
        exe,
        mirror_url,
        entry,
    }
}

/// `cargo build` of uv-shim into `target`, as the main build does it.
pub fn cargo_build(target: &Path) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--locked", "--bin", "uv-shim"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_INCREMENTAL", "0")
        .env_remove("UV_SHIM_BUILTIN_CONFIG");
    cmd
}

/// A build folder of its own (seeded like the golden ones, once) for a
/// story that builds uv-shim itself, under [`lock`], to watch a build fail.
pub fn scratch_build_dir(name: &str) -> PathBuf {
    let dir = root().join(name);
    if !dir.join("debug").is_dir() {
        seed_dependencies(&dir.join("debug"));
    }
    dir
}

/// Holds the lock of the golden builds (and their mirror) while it lives.
pub fn lock() -> File {
    std::fs::create_dir_all(root()).unwrap();
    let file = File::create(root().join("build.lock")).unwrap();
    file.lock().unwrap();
    file
}

/// A one-build mirror at `dir` (made again by each story, under the lock), and its `file://` URL.
fn mirror(dir: &Path) -> (String, Entry) {
    let (major, minor, patch) = host_python_version();
    let entry = MirrorBuilder::new(dir)
        .cpython(major, minor, patch, "20250101")
        .write_metadata(Urls::Relative)
        .remove(0);
    let url = url::Url::from_directory_path(dir).unwrap().to_string();
    (url, entry)
}

/// The main build's compiled dependencies in `profile_dir`, leaving out
/// uv-shim's own files and the test binaries: the compiled files are hard
/// links (a file cargo makes again gets a new name, or is made in place with
/// the same content), cargo's own bookkeeping (`.fingerprint`, `build`,
/// which it rewrites in place) is copied with its times, so neither folder's
/// cargo ever sees the other's writes.
fn seed_dependencies(profile_dir: &Path) {
    let main = Path::new(SHIM_EXE).parent().unwrap();
    copy_tree(&main.join("deps"), &profile_dir.join("deps"), true);
    for sub in ["build", ".fingerprint"] {
        copy_tree(&main.join(sub), &profile_dir.join(sub), false);
    }
}

fn copy_tree(from: &Path, to: &Path, link: bool) {
    let Ok(entries) = std::fs::read_dir(from) else {
        return;
    };
    std::fs::create_dir_all(to).unwrap();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let text = name.to_string_lossy();
        if ["uv_shim", "libuv_shim", "uv-shim", "it-"]
            .iter()
            .any(|own| text.starts_with(own))
        {
            continue;
        }
        let (source, target) = (entry.path(), to.join(&name));
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            copy_tree(&source, &target, link);
        } else if kind.is_file() && std::fs::symlink_metadata(&target).is_err() {
            // A file that cannot be copied is left for cargo to make again.
            if link {
                let _ = std::fs::hard_link(&source, &target);
            } else {
                let _ = copy_with_time(&source, &target);
            }
        }
    }
}

/// Copies a file keeping its modification time, which cargo judges freshness by.
fn copy_with_time(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::copy(from, to)?;
    let modified = std::fs::metadata(from)?.modified()?;
    std::fs::File::options()
        .write(true)
        .open(to)?
        .set_modified(modified)
}
