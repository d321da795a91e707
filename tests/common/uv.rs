//! The real uv, installed from PyPI with pip, once per version and machine.
//!
//! The tests never mock uv: they run the genuine binaries. [`real_uv`] asks
//! `python3 -m pip` for the `uv` wheel of the given version (the only network
//! access the test suite makes; PyPI is reachable through pip's own
//! configuration) and unpacks it under `<target>/test-tools/uv-<version>`.
//!
//! Parallel tests (threads of one test binary, or several test binaries) all
//! take an exclusive file lock beside the install directory, so the wheel is
//! installed exactly once. pip writes into a temporary directory that is
//! renamed into place only when complete, so a half-finished install (an
//! interrupted run) is never used; it is removed by the next attempt.
//!
//! Two versions matter:
//!
//! * [`UV_NEW`] knows `UV_PYTHON_DOWNLOADS_JSON_URL` (since 0.6.13), fetches
//!   remote metadata itself, supports `uv python install --no-bin` and installs
//!   Python executables into `UV_PYTHON_BIN_DIR` (default `~/.local/bin`).
//! * [`UV_OLD`] ignores `UV_PYTHON_DOWNLOADS_JSON_URL` and only knows its
//!   built-in download list, rewritten by `UV_PYTHON_INSTALL_MIRROR`; it has no
//!   `--no-bin` flag and checks every download against its built-in sha256.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A recent uv: reads `UV_PYTHON_DOWNLOADS_JSON_URL`.
pub const UV_NEW: &str = "0.13.9";

/// An old uv (before 0.6.13): no `UV_PYTHON_DOWNLOADS_JSON_URL`, only
/// `UV_PYTHON_INSTALL_MIRROR` applied to its built-in download list.
pub const UV_OLD: &str = "0.5.31";

/// The oldest uv the suite runs: its built-in list writes `arch` as a plain
/// string (before 0.6.13 too, so only `UV_PYTHON_INSTALL_MIRROR`).
pub const UV_OLDEST: &str = "0.4.30";

/// Cargo's target directory (`target/`, or wherever `CARGO_TARGET_DIR` put it),
/// also when the tests were built with `--target TRIPLE`.
pub fn target_dir() -> PathBuf {
    // `CARGO_TARGET_TMPDIR` is `<target>/tmp` for integration tests, and
    // `<target>/<triple>/tmp` when built with `--target`: the tools and the
    // skips file live at the top either way, shared by both builds.
    let Some(dir) = Path::new(env!("CARGO_TARGET_TMPDIR")).parent() else {
        return Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    };
    let triple = format!("{}-", std::env::consts::ARCH);
    match (dir.file_name(), dir.parent()) {
        (Some(name), Some(top)) if name.to_string_lossy().starts_with(&triple) => top.to_path_buf(),
        _ => dir.to_path_buf(),
    }
}

/// The directory that holds the tools the tests install (`<target>/test-tools`).
pub fn tools_dir() -> PathBuf {
    target_dir().join("test-tools")
}

/// Path of the real uv `version`, installing it from PyPI on first use.
///
/// Returns `<target>/test-tools/uv-<version>/bin/uv`. Panics with a readable
/// message when `python3` or pip is missing or the install fails.
pub fn real_uv(version: &str) -> PathBuf {
    install_once(version, None)
}

/// Path of the real uv `version` built for another platform, from PyPI's
/// wheel for the pip platform tag `platform` (e.g. `musllinux_1_1_aarch64`),
/// installing it on first use: `<target>/test-tools/uv-<version>-<platform>/bin/uv`.
/// Its `--version` is checked, so the platform must run here already (for
/// aarch64: qemu-user registered with binfmt_misc, see [`super::aarch64`]).
pub fn foreign_uv(version: &str, platform: &str) -> PathBuf {
    install_once(version, Some(platform))
}

/// Installs uv `version` (for the pip `platform` tag, or for this machine)
/// once, under a lock; returns its `bin/uv`.
fn install_once(version: &str, platform: Option<&str>) -> PathBuf {
    let tools = tools_dir();
    let name = match platform {
        None => format!("uv-{version}"),
        Some(platform) => format!("uv-{version}-{platform}"),
    };
    let dir = tools.join(&name);
    let uv = dir.join("bin").join(exe("uv"));
    if uv.is_file() {
        return uv;
    }

    fs::create_dir_all(&tools).unwrap_or_else(|e| panic!("cannot create {}: {e}", tools.display()));
    let lock_path = tools.join(format!("{name}.lock"));
    let lock = File::create(&lock_path)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", lock_path.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("cannot lock {}: {e}", lock_path.display()));

    // Another test may have finished the install while we waited.
    if uv.is_file() {
        return uv;
    }

    let staging = tools.join(format!("{name}.partial"));
    remove_dir_if_present(&staging);
    pip_install(version, platform, &staging);
    let staged_uv = staging.join("bin").join(exe("uv"));
    assert!(
        staged_uv.is_file(),
        "pip installed uv=={version} into {} but {} is missing",
        staging.display(),
        staged_uv.display()
    );
    let found = uv_version(&staged_uv);
    assert_eq!(found, version, "pip installed the wrong uv");
    remove_dir_if_present(&dir);
    fs::rename(&staging, &dir).unwrap_or_else(|e| {
        panic!(
            "cannot move {} to {}: {e}",
            staging.display(),
            dir.display()
        )
    });
    // The lock is released when `lock` is dropped.
    uv
}

/// The version a uv binary reports, e.g. `"0.13.9"` for
/// `uv 0.13.9 (x86_64-unknown-linux-gnu)`.
pub fn uv_version(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    let output = Command::new(path)
        .arg("--version")
        .env_clear()
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} --version: {e}", path.display()));
    assert!(
        output.status.success(),
        "{} --version failed ({}): {}",
        path.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut words = stdout.split_whitespace();
    match (words.next(), words.next()) {
        (Some("uv"), Some(version)) => version.to_owned(),
        _ => panic!(
            "unexpected output of {} --version: {stdout:?}",
            path.display()
        ),
    }
}

/// Runs `python3 -m pip install … --target <staging> uv==<version>`, with
/// `--platform <platform> --only-binary=:all:` for another platform's wheel.
fn pip_install(version: &str, platform: Option<&str>, staging: &Path) {
    let mut pip = Command::new("python3");
    pip.args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
    ]);
    if let Some(platform) = platform {
        pip.args(["--only-binary=:all:", "--platform", platform]);
    }
    let output = pip
        .arg("--target")
        .arg(staging)
        .arg(format!("uv=={version}"))
        // Quiet the "running pip as root" warning; never prompt.
        .env("PIP_ROOT_USER_ACTION", "ignore")
        .env("PIP_NO_INPUT", "1")
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) if e.kind() == io::ErrorKind::NotFound => panic!(
            "python3 is not on PATH: the integration tests need `python3 -m pip` \
             to install the real uv {version} from PyPI"
        ),
        Err(e) => panic!("cannot run python3 -m pip: {e}"),
    };
    if output.status.success() {
        return;
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("No module named pip") {
        panic!(
            "pip is missing for python3: the integration tests need `python3 -m pip` \
             to install the real uv {version} from PyPI (try `python3 -m ensurepip`)"
        );
    }
    panic!(
        "`python3 -m pip install uv=={version}` failed ({}):\n--- stdout\n{}\n--- stderr\n{stderr}",
        output.status,
        String::from_utf8_lossy(&output.stdout)
    );
}

/// Removes a directory tree, ignoring "not found".
fn remove_dir_if_present(dir: &Path) {
    match fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => panic!("cannot remove {}: {e}", dir.display()),
    }
}

/// The file name of an executable on this platform.
fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}
