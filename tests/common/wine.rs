//! The Windows build of the shim, run under wine with the real `uv.exe`.
//!
//! [`Wine::get`] sets up, once per machine and under file locks beside the
//! other test tools:
//!
//! * Debian's `wine` and mingw-w64 (through [`super::debian::tool`]);
//! * the `x86_64-pc-windows-gnu` Rust target (`rustup target add`, a no-op
//!   when present), the shim and its unit-test binary built for it (with a
//!   target directory of their own, `<target>/windows`: the outer `cargo
//!   test` holds the lock of `<target>`);
//! * a wine prefix under `<target>/test-tools/wine-prefix`, with a stand-in
//!   `bcryptprimitives.dll` built from `tests/wine/bcryptprimitives.c`
//!   (Debian's wine 8 lacks `ProcessPrng`, which Rust's standard library and
//!   uv.exe import);
//! * `uv.exe`, `uvx.exe` and `uvw.exe` from PyPI's `win_amd64` wheel of
//!   [`UV_NEW`], under `<target>/test-tools/uv-<version>-win_amd64`.
//!
//! A machine without the packages and without root to install them skips
//! visibly (a failure under CI). Commands run with an empty environment plus
//! the prefix, `WINEDEBUG=-all` (wine's own chatter off) and `WINEPATH` (the
//! Windows `PATH`). Wine sets `APPDATA`, `PROGRAMDATA` and `SYSTEMDRIVE` from
//! the prefix itself: config files at those places are written into the
//! prefix ([`Wine::appdata`], [`Wine::programdata`]). The returned [`Wine`]
//! holds the prefix for one story at a time, and ends its wineserver when
//! dropped.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use super::debian;
use super::env::run_with_timeout;
use super::uv::{UV_NEW, target_dir, tools_dir};

/// The Rust target of the Windows build.
pub const TARGET: &str = "x86_64-pc-windows-gnu";

/// How long one wine command may take (a cold prefix starts its services).
const WINE_TIMEOUT: Duration = Duration::from_secs(180);

/// The prepared prefix, the Windows builds and the real uv.exe. Holds the
/// prefix's lock: one story at a time uses it.
pub struct Wine {
    wine: PathBuf,
    wineserver: PathBuf,
    prefix: PathBuf,
    /// The shim built for Windows (`uv-shim.exe`).
    pub shim: PathBuf,
    /// The shim's unit tests built for Windows.
    pub unit_tests: PathBuf,
    /// The folder holding the real `uv.exe`, `uvx.exe` and `uvw.exe`.
    pub uv_dir: PathBuf,
    _in_use: File,
}

impl Wine {
    /// Everything set up, or `None` after a visible skip (see
    /// [`super::skip()`]) when this machine cannot run wine.
    pub fn get() -> Option<Wine> {
        let packages = debian::tool("wine", "wine", "/usr/bin/wine").and_then(|wine| {
            debian::tool(
                "gcc-mingw-w64-x86-64",
                "x86_64-w64-mingw32-gcc",
                "/usr/bin/x86_64-w64-mingw32-gcc",
            )
            .map(|gcc| (wine, gcc))
        });
        let (wine, gcc) = match packages {
            Ok(found) => found,
            Err(why) => {
                super::skip(&format!("the Windows build runs under wine: {why}"));
                return None;
            }
        };
        let wineserver =
            on_path("wineserver").unwrap_or_else(|| PathBuf::from("/usr/lib/wine/wineserver64"));
        let (shim, unit_tests) = build_for_windows(&gcc);
        let uv_dir = windows_uv(UV_NEW);
        let tools = tools_dir();
        let in_use = locked(&tools.join("wine-prefix.use.lock"));
        let prefix = tools.join("wine-prefix");
        let wine = Wine {
            wine,
            wineserver,
            prefix,
            shim,
            unit_tests,
            uv_dir,
            _in_use: in_use,
        };
        wine.prepare_prefix(&gcc);
        // One wineserver for the whole story, started with no terminal of
        // ours: a server started by the first command would hold that
        // command's output pipes open after it ended.
        let mut server = Command::new(&wine.wineserver);
        server.arg("--persistent=60");
        wine.base_env(&mut server);
        let status = server
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", wine.wineserver.display()));
        assert!(status.success(), "wineserver --persistent: {status}");
        // Wine's own services start with the first program: let them start
        // now, with no pipes of a story's command to hold on to.
        let mut warm_up = Command::new(&wine.wine);
        wine.base_env(&mut warm_up);
        warm_up.args(["cmd", "/c", "exit"]);
        run_quietly(&mut warm_up);
        Some(wine)
    }

    /// `wine <exe> args…`, in `cwd`, with `WINEPATH` set to `path` (Windows
    /// folders, searched before the system's), and nothing else of ours.
    pub fn command(&self, exe: &Path, path: &[&Path], cwd: &Path) -> Command {
        let mut cmd = Command::new(&self.wine);
        self.base_env(&mut cmd);
        let winepath: Vec<String> = path.iter().map(|p| windows_path(p)).collect();
        cmd.arg(exe)
            .env("WINEPATH", winepath.join(";"))
            .env("NO_COLOR", "1")
            .env("UV_NO_PROGRESS", "1")
            .current_dir(cwd)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `cmd` (from [`Wine::command`]) with a generous timeout.
    pub fn run(&self, cmd: &mut Command) -> Output {
        run_with_timeout(cmd, WINE_TIMEOUT)
    }

    /// The prefix's `%APPDATA%` (the user's roaming folder), as a Unix path.
    pub fn appdata(&self) -> PathBuf {
        self.user_dir().join("AppData").join("Roaming")
    }

    /// The prefix's `%PROGRAMDATA%` (= `%SYSTEMDRIVE%\ProgramData`), as a Unix path.
    pub fn programdata(&self) -> PathBuf {
        self.prefix.join("drive_c").join("ProgramData")
    }

    /// The Windows form of a Unix path inside the prefix's `C:` drive.
    pub fn on_c(&self, path: &Path) -> String {
        let rest = path
            .strip_prefix(self.prefix.join("drive_c"))
            .unwrap_or_else(|_| panic!("{} is not on the prefix's C:", path.display()));
        format!(r"C:\{}", rest.display()).replace('/', r"\")
    }

    /// `C:\users\<user>`: wine names the profile after the Unix user.
    fn user_dir(&self) -> PathBuf {
        let users = self.prefix.join("drive_c").join("users");
        let mut found = fs::read_dir(&users)
            .unwrap_or_else(|e| panic!("read {}: {e}", users.display()))
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|dir| dir.file_name().is_some_and(|n| n != "Public") && dir.is_dir());
        let user = found.next().expect("the prefix has a user profile");
        assert!(
            found.next().is_none(),
            "one user profile in {}",
            users.display()
        );
        user
    }

    /// The variables every wine command gets.
    fn base_env(&self, cmd: &mut Command) {
        cmd.env_clear()
            .env("WINEPREFIX", &self.prefix)
            .env("WINEDEBUG", "-all")
            // No Mono or Gecko install offered when the prefix is made.
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env(
                "HOME",
                std::env::var_os("HOME").unwrap_or_else(|| "/root".into()),
            );
        if let Some(user) = std::env::var_os("USER") {
            cmd.env("USER", user);
        }
    }

    /// Makes the prefix once (marked ready when complete) and puts the
    /// stand-in DLL into its system32 (every time: cheap, and a changed
    /// source is picked up).
    fn prepare_prefix(&self, gcc: &Path) {
        let ready = self.prefix.join(".uv-shim-ready");
        if !ready.exists() {
            match fs::remove_dir_all(&self.prefix) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => panic!("remove {}: {e}", self.prefix.display()),
            }
            fs::create_dir_all(&self.prefix)
                .unwrap_or_else(|e| panic!("mkdir {}: {e}", self.prefix.display()));
            let mut boot = Command::new(&self.wine);
            self.base_env(&mut boot);
            boot.args(["wineboot", "--init"]).stdin(Stdio::null());
            let output = run_quietly(&mut boot);
            assert!(output.status.success(), "wineboot --init: {output:?}");
            // Wait until the server has written the registry.
            let mut wait = Command::new(&self.wineserver);
            self.base_env(&mut wait);
            wait.arg("--wait");
            run_quietly(&mut wait);
        }
        let system32 = self.prefix.join("drive_c/windows/system32");
        let dll = target_dir().join("windows").join("bcryptprimitives.dll");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wine");
        let output = Command::new(gcc)
            .args(["-shared", "-O2", "-s", "-o"])
            .arg(&dll)
            .arg(source.join("bcryptprimitives.c"))
            .arg(source.join("bcryptprimitives.def"))
            .arg("-ladvapi32")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", gcc.display()));
        assert!(
            output.status.success(),
            "building the stand-in bcryptprimitives.dll failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        fs::copy(&dll, system32.join("bcryptprimitives.dll"))
            .unwrap_or_else(|e| panic!("copy the DLL into {}: {e}", system32.display()));
        fs::write(&ready, "").unwrap_or_else(|e| panic!("write {}: {e}", ready.display()));
    }
}

impl Drop for Wine {
    fn drop(&mut self) {
        let mut kill = Command::new(&self.wineserver);
        self.base_env(&mut kill);
        kill.arg("--kill");
        let _ = kill
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// The Windows form of a Unix path: wine's `Z:` drive is `/`.
pub fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', r"\")
}

/// Builds the shim and its unit tests for Windows, under a lock; returns
/// both executables. Cargo itself makes a second call cheap.
fn build_for_windows(gcc: &Path) -> (PathBuf, PathBuf) {
    let target = target_dir();
    let dir = target.join("windows");
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    let _lock = locked(&target.join("windows.lock"));
    let rustup = Command::new("rustup")
        .args(["target", "add", TARGET])
        .output();
    match rustup {
        Ok(out) => assert!(
            out.status.success(),
            "rustup target add {TARGET}: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        // No rustup: the target may still be installed with the toolchain.
        Err(e) => eprintln!("cannot run rustup ({e}); building for {TARGET} anyway"),
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let cargo_run = |args: &[&str]| -> String {
        let output = Command::new(&cargo)
            .args(args)
            .args(["--locked", "--target", TARGET, "--message-format=json"])
            .env("CARGO_TARGET_DIR", &dir)
            .env("CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER", gcc)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
        assert!(
            output.status.success(),
            "cargo {} for {TARGET} failed:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let shim = executable(&cargo_run(&["build", "--bin", "uv-shim"]), false);
    let tests = executable(&cargo_run(&["test", "--no-run", "--bin", "uv-shim"]), true);
    (shim, tests)
}

/// The executable of the `uv-shim` artifact in cargo's JSON messages (its
/// test build when `test`).
fn executable(messages: &str, test: bool) -> PathBuf {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "uv-shim")
        .filter(|m| m["profile"]["test"] == test)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo named no uv-shim executable (test: {test})"))
}

/// `uv.exe`, `uvx.exe` and `uvw.exe` of uv `version` from PyPI's
/// `win_amd64` wheel, once per machine; returns their folder.
fn windows_uv(version: &str) -> PathBuf {
    let tools = tools_dir();
    let dir = tools.join(format!("uv-{version}-win_amd64"));
    let complete = |dir: &Path| {
        ["uv.exe", "uvx.exe", "uvw.exe"]
            .iter()
            .all(|f| dir.join(f).is_file())
    };
    if complete(&dir) {
        return dir;
    }
    fs::create_dir_all(&tools).unwrap_or_else(|e| panic!("mkdir {}: {e}", tools.display()));
    let _lock = locked(&tools.join(format!("uv-{version}-win_amd64.lock")));
    if complete(&dir) {
        return dir;
    }
    let staging = tools.join(format!("uv-{version}-win_amd64.partial"));
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging).unwrap_or_else(|e| panic!("mkdir {}: {e}", staging.display()));
    let output = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args([
            "--only-binary=:all:",
            "--platform",
            "win_amd64",
            "--no-deps",
        ])
        .arg("--dest")
        .arg(&staging)
        .arg(format!("uv=={version}"))
        .env("PIP_ROOT_USER_ACTION", "ignore")
        .env("PIP_NO_INPUT", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 -m pip: {e}"));
    assert!(
        output.status.success(),
        "pip download uv=={version} (win_amd64) failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The wheel is a zip: its scripts folder holds the three programs.
    let unpack = "import sys, zipfile, pathlib\n\
        dest = pathlib.Path(sys.argv[2])\n\
        with zipfile.ZipFile(sys.argv[1]) as wheel:\n\
        \x20   for name in wheel.namelist():\n\
        \x20       if '.data/scripts/' in name and name.endswith('.exe'):\n\
        \x20           (dest / name.rsplit('/', 1)[1]).write_bytes(wheel.read(name))\n";
    let wheel = fs::read_dir(&staging)
        .unwrap_or_else(|e| panic!("read {}: {e}", staging.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .expect("pip downloaded a wheel");
    let output = Command::new("python3")
        .args(["-c", unpack])
        .arg(&wheel)
        .arg(&staging)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3: {e}"));
    assert!(
        output.status.success() && complete(&staging),
        "unpacking {} failed:\n{}",
        wheel.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = fs::remove_file(&wheel);
    let _ = fs::remove_dir_all(&dir);
    fs::rename(&staging, &dir)
        .unwrap_or_else(|e| panic!("move {} to {}: {e}", staging.display(), dir.display()));
    dir
}

/// An exclusive lock on `path` (created if missing), released on drop.
fn locked(path: &Path) -> File {
    let file = File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    file.lock()
        .unwrap_or_else(|e| panic!("lock {}: {e}", path.display()));
    file
}

/// The first `name` on this process's `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Runs a set-up command with its output discarded (wine's helpers keep
/// inherited pipes open long after they finish).
fn run_quietly(cmd: &mut Command) -> Output {
    let status = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    Output {
        status,
        stdout: Vec::new(),
        stderr: Vec::new(),
    }
}
