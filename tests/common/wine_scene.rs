//! The folders, the mirror and the look-ups of the Windows story
//! (`tests/it/windows.rs`): the shim's copies on a Windows `PATH` ahead of
//! the real uv, a mirror on 127.0.0.1 listing a Windows build, and the
//! processes of the real uv.exe.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::env::{stderr, stdout};
use super::http::HttpServer;
use super::mirror::sha256_hex;
use super::wine::{Wine, windows_path};

/// SIGINT to a Unix process (a wine process: the console's Ctrl-C).
pub fn interrupt(pid: u32) {
    let pid = i32::try_from(pid).unwrap();
    // SAFETY: kill has no memory preconditions; the pid is one we started
    // or found running this story's uv.exe.
    assert_eq!(
        unsafe { libc::kill(pid, libc::SIGINT) },
        0,
        "kill -INT {pid}"
    );
}

#[track_caller]
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Unix processes of this machine running the real uv.exe of this story.
pub fn real_uv_processes(scene: &Scene) -> Vec<u32> {
    let real = windows_path(&scene.wine.uv_dir.join("uv.exe")).to_lowercase();
    let unix = scene.wine.uv_dir.join("uv.exe").display().to_string();
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let cmdline = String::from_utf8_lossy(&cmdline).to_lowercase();
            cmdline.contains(&real) || cmdline.contains(&unix.to_lowercase())
        })
        .collect()
}

/// One folder of the story: the shim in `bin` (`uv-shim.exe`, and `uv.exe`
/// a hard link to it: the same file; `uvx.exe`, `uvw.exe` copies), another
/// copy of the shim as `uv.exe` in `more` (a second install, after it on
/// `PATH`), a cache whose path has a space and a `'`, a work folder.
pub struct Scene<'w> {
    /// The prepared prefix and builds.
    pub wine: &'w Wine,
    /// The story's folder.
    pub dir: tempfile::TempDir,
    /// The shim's folder, first on the Windows `PATH`.
    pub bin: PathBuf,
    /// A second copy of the shim, next on `PATH`.
    pub more: PathBuf,
    /// `UV_SHIM_CACHE_DIR`.
    pub cache: PathBuf,
    work: PathBuf,
}

impl<'w> Scene<'w> {
    /// The folders, with the shim copied in.
    pub fn new(wine: &'w Wine) -> Scene<'w> {
        let dir = tempfile::Builder::new()
            .prefix("uv-shim-windows-")
            .tempdir()
            .unwrap();
        let bin = dir.path().join("bin");
        let more = dir.path().join("more");
        let work = dir.path().join("work");
        let cache = dir.path().join("cache dir 'o");
        for sub in [&bin, &more, &work, &cache] {
            fs::create_dir_all(sub).unwrap();
        }
        fs::copy(&wine.shim, bin.join("uv-shim.exe")).unwrap();
        fs::hard_link(bin.join("uv-shim.exe"), bin.join("uv.exe")).unwrap();
        for name in ["uvx.exe", "uvw.exe"] {
            fs::copy(&wine.shim, bin.join(name)).unwrap();
        }
        fs::copy(&wine.shim, more.join("uv.exe")).unwrap();
        Scene {
            wine,
            dir,
            bin,
            more,
            cache,
            work,
        }
    }

    /// `bin\<exe> args…` with the shim's folder, then the real uv's, on the
    /// Windows `PATH`, and the story's caches.
    pub fn command(&self, exe: &str, args: &[&str], vars: &[(&str, &str)]) -> Command {
        let mut cmd = self.wine.command(
            &self.bin.join(exe),
            &[&self.bin, &self.more, &self.wine.uv_dir],
            &self.work,
        );
        cmd.args(args)
            .env("UV_SHIM_CACHE_DIR", windows_path(&self.cache))
            .env(
                "UV_CACHE_DIR",
                windows_path(&self.dir.path().join("uv-cache")),
            )
            .env(
                "UV_PYTHON_INSTALL_DIR",
                windows_path(&self.dir.path().join("python")),
            );
        for (name, value) in vars {
            cmd.env(name, value);
        }
        cmd
    }

    /// [`Scene::command`], run to its end.
    pub fn run(&self, exe: &str, args: &[&str], vars: &[(&str, &str)]) -> Output {
        self.wine.run(&mut self.command(exe, args, vars))
    }

    /// The shim as `uv python install` from `mirror`, running until uv
    /// asked for the build (which the stalled mirror never sends).
    pub fn start_stalled_install(&self, mirror: &WindowsMirror) -> std::process::Child {
        let before = mirror.server.count(&mirror.tarball_path());
        let base = mirror.base();
        let python = self.dir.path().join("pythons");
        let mut shim = self
            .command(
                "uv.exe",
                &["python", "install", "3.12.4"],
                &[
                    ("UV_SHIM_MIRROR", &base),
                    ("UV_PYTHON_INSTALL_DIR", &windows_path(&python)),
                ],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the shim");
        wait_until("uv asks the mirror for the build", || {
            assert!(shim.try_wait().unwrap().is_none(), "the shim ended early");
            mirror.server.count(&mirror.tarball_path()) > before
        });
        shim
    }

    /// `uv-shim doctor --json`.
    pub fn doctor(&self, vars: &[(&str, &str)]) -> Value {
        let output = self.run("uv-shim.exe", &["doctor", "--json"], vars);
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "doctor --json: {e}\n{}\n{}",
                stdout(&output),
                stderr(&output)
            )
        })
    }
}

/// A mirror on 127.0.0.1 for Windows: one CPython build whose metadata entry
/// names uv's upstream URL (the shim rewrites it to the mirror, or leaves it
/// to uv's own `python-install-mirror`).
pub struct WindowsMirror {
    /// The server; its log shows what uv and the shim asked for.
    pub server: HttpServer,
}

const BUILD_FILE: &str = "cpython-3.12.4+20250101-x86_64-pc-windows-msvc-install_only.tar.gz";

impl WindowsMirror {
    /// Writes the mirror under `root/uv` and serves `root`.
    pub fn start(root: &Path) -> WindowsMirror {
        let dir = root.join("uv");
        fs::create_dir_all(dir.join("20250101")).unwrap();
        let tarball = b"not a real build: uv stalls before reading it";
        fs::write(dir.join("20250101").join(BUILD_FILE), tarball).unwrap();
        let url = format!(
            "https://github.com/astral-sh/python-build-standalone/releases/download/20250101/{}",
            BUILD_FILE.replace('+', "%2B")
        );
        let metadata = json!({
            "cpython-3.12.4-windows-x86_64-none": {
                "name": "cpython",
                "arch": { "family": "x86_64", "variant": null },
                "os": "windows",
                "libc": "none",
                "major": 3, "minor": 12, "patch": 4,
                "prerelease": "",
                "url": url,
                "sha256": sha256_hex(tarball),
                "variant": null,
                "build": "20250101",
            }
        });
        fs::write(
            dir.join("download-metadata.json"),
            serde_json::to_string_pretty(&metadata).unwrap(),
        )
        .unwrap();
        WindowsMirror {
            server: HttpServer::start(root),
        }
    }

    /// The mirror's base URL (with a trailing slash).
    pub fn base(&self) -> String {
        self.server.url("/uv/")
    }

    /// The build's path on the server.
    pub fn tarball_path(&self) -> String {
        format!("/uv/20250101/{BUILD_FILE}")
    }

    /// uv listed the mirror's build, at the mirror, and no other URL.
    #[track_caller]
    pub fn assert_listed_only(&self, output: &Output, label: &str) {
        assert_listed_only_at(output, label, &self.base());
    }
}

/// uv listed the mirror's build with a URL under `base`, and no other URL.
#[track_caller]
pub fn assert_listed_only_at(output: &Output, label: &str, base: &str) {
    assert_eq!(output.status.code(), Some(0), "{label}: {}", stderr(output));
    let text = stdout(output);
    let urls: Vec<&str> = text
        .split_whitespace()
        .filter(|word| word.contains("://"))
        .collect();
    assert!(
        text.contains("cpython-3.12.4-windows-x86_64-none"),
        "{label}: {text}"
    );
    assert!(!urls.is_empty(), "{label}: {text}");
    for url in urls {
        assert!(url.starts_with(base), "{label}: {url} is not under {base}");
    }
}

/// The doctor's line for the source called `name`.
pub fn source<'a>(doctor: &'a Value, name: &str) -> &'a Value {
    doctor["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name} source: {doctor:#}"))
}

/// Writes `text` to `path`, making its folder.
pub fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// Removes the files a check put into the shared prefix, also when it fails.
pub struct Cleanup(Vec<PathBuf>);

impl Cleanup {
    /// Removes `files` now (left by an interrupted run) and when dropped.
    pub fn now_and_after(files: Vec<PathBuf>) -> Cleanup {
        let cleanup = Cleanup(files);
        cleanup.remove();
        cleanup
    }

    fn remove(&self) {
        for file in &self.0 {
            let _ = fs::remove_file(file);
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.remove();
    }
}
