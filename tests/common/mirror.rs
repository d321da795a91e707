//! A crafted Python mirror that the real uv accepts.
//!
//! [`MirrorBuilder`] writes tiny `install_only` tarballs laid out like
//! python-build-standalone releases, and a `download-metadata.json` in uv's
//! schema that lists them:
//!
//! ```text
//! <dir>/download-metadata.json
//! <dir>/<build>/cpython-<M>.<m>.<p>+<build>-<triple>-install_only.tar.gz
//! ```
//!
//! # What real uv (0.13.9) needs, found by trying
//!
//! * The tarball holds `python/bin/python<M>.<m>` plus the `python3` and
//!   `python` symlinks, the directory `python/lib/python<M>.<m>/` (uv writes
//!   `EXTERNALLY-MANAGED` into it; without it the install fails) and one
//!   `python/lib/python<M>.<m>/_sysconfigdata_*.py` (without it: "Python
//!   installation is missing a `_sysconfigdata_` file"). A first line
//!   `# system configuration generated and used by the sysconfig module` and
//!   `build_time_vars = {}` is enough; uv rewrites it to add
//!   `"PYTHON_BUILD_STANDALONE": 1`.
//! * Symlinks with an absolute target are refused ("unsafe symbolic-link
//!   target"), so the interpreter is a `sh` script that `exec`s the host's
//!   python3 by its absolute path. Its `sys.executable` is therefore the
//!   host's, which is what `uv python find` then reports.
//! * `uv python install` does not run the interpreter. It writes
//!   `<UV_PYTHON_INSTALL_DIR>/cpython-<M>.<m>.<p>-<os>-<arch>-<libc>/`, a
//!   `cpython-<M>.<m>-…` minor-version symlink and, unless `--no-bin` is given,
//!   a `python<M>.<m>` link in `UV_PYTHON_BIN_DIR` (default `~/.local/bin`).
//! * URLs in the metadata must be absolute: a relative one fails with
//!   "Invalid download URL: relative URL without a base", also when the
//!   metadata itself was fetched over http. The shim resolves them.
//! * uv requests exactly the path written in the URL: `%2B` stays `%2B`
//!   (upstream's spelling, used here), a literal `+` stays `+`. The test server
//!   decodes both to the file with a literal `+`.
//! * `sha256` is optional; when present it is checked.
//! * `UV_PYTHON_INSTALL_MIRROR` next to metadata whose URLs do not start with
//!   the upstream prefix is an error ("A mirror was provided via
//!   `UV_PYTHON_INSTALL_MIRROR`, but the URL does not match the expected
//!   format"); with upstream's own URLs
//!   (`https://github.com/astral-sh/python-build-standalone/releases/download/…`)
//!   the mirror rewrite works.
//!
//! # Old uv (0.5.31)
//!
//! It ignores `UV_PYTHON_DOWNLOADS_JSON_URL`. With
//! `UV_PYTHON_INSTALL_MIRROR=http://127.0.0.1:PORT/mirror`,
//! `uv python install 3.11` requests
//! `/mirror/20250212/cpython-3.11.11%2B20250212-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz`
//! and `uv python install 3.11.7` requests
//! `/mirror/20240107/cpython-3.11.7%2B20240107-x86_64-unknown-linux-gnu-install_only.tar.gz`.
//! It checks its built-in sha256, so a crafted tarball served there fails with
//! "Hash mismatch": old uv can prove where it asked, not install our builds.

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// The name of the metadata file in a mirror.
pub const METADATA_FILE: &str = "download-metadata.json";

/// How the `url` fields of the metadata are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Urls {
    /// Relative to the metadata file: `<build>/<file name with %2B>`.
    /// Real uv refuses these; the shim must resolve them.
    Relative,
    /// `<base>/<build>/<file name with %2B>`, e.g. with the test server's
    /// [`base_url`](super::http::HttpServer::base_url).
    Absolute(String),
}

/// The platform strings of the machine running the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// uv's `os` field: `linux`, `darwin`.
    pub os: &'static str,
    /// uv's `arch.family`: `x86_64`, `aarch64`, …
    pub arch: &'static str,
    /// uv's `libc` field: `gnu` on Linux, `none` on macOS.
    pub libc: &'static str,
    /// The target triple in the tarball's name, e.g. `x86_64-unknown-linux-gnu`.
    pub triple: String,
    /// The `_sysconfigdata_` module file name for this platform.
    pub sysconfigdata: String,
}

impl Host {
    /// Linux with glibc on `arch` (uv's `arch.family`, e.g. `aarch64`).
    pub fn linux_gnu(arch: &'static str) -> Host {
        Host {
            os: "linux",
            arch,
            libc: "gnu",
            triple: format!("{arch}-unknown-linux-gnu"),
            sysconfigdata: format!("_sysconfigdata__linux_{arch}-linux-gnu.py"),
        }
    }
}

/// The host platform, derived from [`std::env::consts`] (glibc assumed on Linux).
pub fn host() -> Host {
    let arch = std::env::consts::ARCH;
    match std::env::consts::OS {
        "linux" => Host::linux_gnu(arch),
        "macos" => Host {
            os: "darwin",
            arch,
            libc: "none",
            triple: format!("{arch}-apple-darwin"),
            sysconfigdata: "_sysconfigdata__darwin_darwin.py".to_owned(),
        },
        other => panic!("the crafted mirror does not support {other}"),
    }
}

/// The machine's `python3` (first on the test process's `PATH`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPython {
    /// Absolute, symlink-free path of the interpreter.
    pub path: PathBuf,
    /// Its `(major, minor, patch)`.
    pub version: (u32, u32, u32),
}

/// The machine's python3: its real path and version, asked once.
pub fn host_python() -> &'static HostPython {
    static HOST: OnceLock<HostPython> = OnceLock::new();
    HOST.get_or_init(|| {
        let output = Command::new("python3")
            .args([
                "-c",
                "import os, sys; print(os.path.realpath(sys.executable)); print(*sys.version_info[:3])",
            ])
            .output()
            .unwrap_or_else(|e| panic!("cannot run python3 (needed by the crafted mirror): {e}"));
        assert!(
            output.status.success(),
            "python3 failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).expect("python3 printed non-UTF-8");
        let mut lines = stdout.lines();
        let path = PathBuf::from(lines.next().expect("python3 printed no path"));
        let numbers: Vec<u32> = lines
            .next()
            .expect("python3 printed no version")
            .split_whitespace()
            .map(|n| n.parse().expect("version number"))
            .collect();
        let [major, minor, patch] = numbers[..] else {
            panic!("unexpected python3 version {numbers:?}");
        };
        HostPython {
            path,
            version: (major, minor, patch),
        }
    })
}

/// The machine's python3 version, e.g. `(3, 11, 7)`. Builds meant to be run
/// must use its major and minor.
pub fn host_python_version() -> (u32, u32, u32) {
    host_python().version
}

/// One Python build in the crafted mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The metadata key, e.g. `cpython-3.11.7-linux-x86_64-gnu`; also the
    /// directory uv installs the build into under `UV_PYTHON_INSTALL_DIR`.
    pub key: String,
    /// `(major, minor, patch)`.
    pub version: (u32, u32, u32),
    /// The build tag, e.g. `20250101`.
    pub build: String,
    /// The tarball's file name, with a literal `+`.
    pub file_name: String,
    /// The tarball on disk: `<dir>/<build>/<file_name>`.
    pub path: PathBuf,
    /// Path of the tarball relative to the mirror root, with a literal `+`
    /// (`<build>/<file_name>`): what the test server's log shows decoded.
    pub rel_path: String,
    /// Lowercase hex sha256 of the tarball.
    pub sha256: String,
    /// The `url` written into the metadata (empty until
    /// [`MirrorBuilder::write_metadata`] or [`MirrorBuilder::entries`]).
    pub url: String,
    /// The platform the build is for ([`host`] unless
    /// [`MirrorBuilder::platform`] said otherwise).
    pub platform: Host,
}

impl Entry {
    /// The `<build>/<file name with %2B>` path, as it appears in URLs.
    pub fn encoded_rel_path(&self) -> String {
        format!("{}/{}", self.build, self.file_name.replace('+', "%2B"))
    }

    /// The entry as uv's schema describes it, with the given `url`.
    pub fn to_json(&self, url: &str) -> Value {
        let host = &self.platform;
        let (major, minor, patch) = self.version;
        json!({
            "name": "cpython",
            "arch": { "family": host.arch, "variant": null },
            "os": host.os,
            "libc": host.libc,
            "major": major,
            "minor": minor,
            "patch": patch,
            "prerelease": "",
            "url": url,
            "sha256": self.sha256,
            "variant": null,
            "build": self.build,
        })
    }
}

/// Builds a crafted mirror in a directory.
///
/// ```ignore
/// let mirror = MirrorBuilder::new(dir.path()).cpython(3, 11, 7, "20250101");
/// let entries = mirror.write_metadata(Urls::Absolute(server.base_url()));
/// ```
#[derive(Debug)]
pub struct MirrorBuilder {
    dir: PathBuf,
    entries: Vec<Entry>,
    /// The platform of the builds added from now on.
    platform: Host,
}

impl MirrorBuilder {
    /// A mirror rooted at `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        MirrorBuilder {
            dir,
            entries: Vec::new(),
            platform: host(),
        }
    }

    /// The builds added from now on are for `platform` instead of the host
    /// (their interpreter still runs the host's python3).
    pub fn platform(mut self, platform: Host) -> Self {
        self.platform = platform;
        self
    }

    /// Path of `download-metadata.json` in the mirror.
    pub fn metadata_path(&self) -> PathBuf {
        self.dir.join(METADATA_FILE)
    }

    /// Adds a CPython build for the platform (the host, unless
    /// [`MirrorBuilder::platform`] changed it) and writes its tarball now.
    ///
    /// When `major.minor` is the host python3's, the interpreter in the tarball
    /// runs the host python3; otherwise it prints an error and exits 127 (it
    /// can still be installed, not run). A later entry with the same key
    /// replaces the earlier one in the metadata; both tarballs stay on disk.
    pub fn cpython(mut self, major: u32, minor: u32, patch: u32, build: &str) -> Self {
        let entry = self.write_tarball(major, minor, patch, build);
        self.entries.retain(|e| e.key != entry.key);
        self.entries.push(entry);
        self
    }

    /// The entries with their `url` filled in for `urls`, in insertion order.
    pub fn entries(&self, urls: &Urls) -> Vec<Entry> {
        self.entries
            .iter()
            .map(|entry| {
                let rel = entry.encoded_rel_path();
                let url = match urls {
                    Urls::Relative => rel,
                    Urls::Absolute(base) => format!("{}/{rel}", base.trim_end_matches('/')),
                };
                Entry {
                    url,
                    ..entry.clone()
                }
            })
            .collect()
    }

    /// The metadata document (uv's schema) for `urls`, for tests that want to
    /// tamper with it before writing.
    pub fn metadata_json(&self, urls: &Urls) -> Value {
        let mut map = Map::new();
        for entry in self.entries(urls) {
            map.insert(entry.key.clone(), entry.to_json(&entry.url));
        }
        Value::Object(map)
    }

    /// Writes `<dir>/download-metadata.json` and returns the entries listed.
    pub fn write_metadata(&self, urls: Urls) -> Vec<Entry> {
        let path = self.metadata_path();
        let text = serde_json::to_string_pretty(&self.metadata_json(&urls)).expect("json");
        fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self.entries(&urls)
    }

    /// Writes one tarball and returns its entry (without URL).
    fn write_tarball(&self, major: u32, minor: u32, patch: u32, build: &str) -> Entry {
        let host = self.platform.clone();
        let file_name = format!(
            "cpython-{major}.{minor}.{patch}+{build}-{}-install_only.tar.gz",
            host.triple
        );
        let build_dir = self.dir.join(build);
        fs::create_dir_all(&build_dir)
            .unwrap_or_else(|e| panic!("mkdir {}: {e}", build_dir.display()));
        let path = build_dir.join(&file_name);
        let bytes = tarball(major, minor, &host);
        fs::write(&path, &bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        Entry {
            key: format!(
                "cpython-{major}.{minor}.{patch}-{}-{}-{}",
                host.os, host.arch, host.libc
            ),
            version: (major, minor, patch),
            build: build.to_owned(),
            rel_path: format!("{build}/{file_name}"),
            file_name,
            path,
            sha256: sha256_hex(&bytes),
            url: String::new(),
            platform: host,
        }
    }
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A fixed mtime, so the same build gives the same bytes (and sha256).
const MTIME: u64 = 1_700_000_000;

/// The gzipped tar of a minimal `install_only` build.
fn tarball(major: u32, minor: u32, host: &Host) -> Vec<u8> {
    let mm = format!("{major}.{minor}");
    let python = host_python();
    assert!(
        !python.path.to_string_lossy().contains('\''),
        "host python path {} holds a quote",
        python.path.display()
    );
    let interpreter = if (python.version.0, python.version.1) == (major, minor) {
        format!(
            "#!/bin/sh\n# crafted cpython {mm} for tests: runs the host's python{mm}\nexec '{}' \"$@\"\n",
            python.path.display()
        )
    } else {
        format!(
            "#!/bin/sh\necho 'crafted cpython {mm}: the host python3 is {}.{}, cannot run' >&2\nexit 127\n",
            python.version.0, python.version.1
        )
    };
    let sysconfig = "# system configuration generated and used by the sysconfig module\n\
                     build_time_vars = {}\n";

    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for dir in ["python", "python/bin", "python/lib"] {
        append_dir(&mut tar, dir);
    }
    append_dir(&mut tar, &format!("python/lib/python{mm}"));
    append_file(
        &mut tar,
        &format!("python/bin/python{mm}"),
        0o755,
        interpreter.as_bytes(),
    );
    append_symlink(&mut tar, "python/bin/python3", &format!("python{mm}"));
    append_symlink(&mut tar, "python/bin/python", &format!("python{mm}"));
    append_file(
        &mut tar,
        &format!("python/lib/python{mm}/{}", host.sysconfigdata),
        0o644,
        sysconfig.as_bytes(),
    );
    let gz = tar.into_inner().expect("finish tar");
    gz.finish().expect("finish gzip")
}

/// A header with the common fields set.
fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(MTIME);
    header.set_uid(0);
    header.set_gid(0);
    header
}

/// Appends a directory entry.
fn append_dir<W: Write>(tar: &mut tar::Builder<W>, path: &str) {
    let mut h = header(tar::EntryType::Directory, 0o755, 0);
    tar.append_data(&mut h, path, std::io::empty())
        .expect("tar dir");
}

/// Appends a regular file.
fn append_file<W: Write>(tar: &mut tar::Builder<W>, path: &str, mode: u32, data: &[u8]) {
    let mut h = header(tar::EntryType::Regular, mode, data.len() as u64);
    tar.append_data(&mut h, path, data).expect("tar file");
}

/// Appends a symbolic link.
fn append_symlink<W: Write>(tar: &mut tar::Builder<W>, path: &str, target: &str) {
    let mut h = header(tar::EntryType::Symlink, 0o777, 0);
    tar.append_link(&mut h, path, target).expect("tar symlink");
}
