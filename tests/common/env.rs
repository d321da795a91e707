//! One test's private environment: home, configs, caches, `/etc/uv`, and
//! commands aimed at the built shim. Stories get theirs from the
//! [`World`](super::World) builder.
//!
//! [`TestEnv::new`] makes a temporary directory (removed on drop) laid out as
//!
//! ```text
//! home/         HOME
//! home/.cache/  XDG_CACHE_HOME
//! config/       XDG_CONFIG_HOME  (user config: config/uv-shim/config.toml,
//!                                 uv's own: config/uv/uv.toml)
//! cache/        UV_SHIM_CACHE_DIR
//! etc/          UV_SHIM_SYSTEM_CONFIG_DIR, stands in for /etc/uv
//! resolv.conf   UV_SHIM_RESOLV_CONF, with no search domains (a world with a
//!               DNS server writes its own), so no test asks the machine's
//!               resolver
//! xdg/uv -> ../etc   XDG_CONFIG_DIRS=xdg, so the real uv reads etc/uv.toml
//!                    as its system config, as it would read /etc/uv/uv.toml
//! bin/uv -> the built uv-shim (the shim as `uv`, first on PATH)
//! python/       UV_PYTHON_INSTALL_DIR
//! pybin/        UV_PYTHON_BIN_DIR (uv would otherwise link into ~/.local/bin)
//! uvcache/      UV_CACHE_DIR
//! work/         the current directory of every command
//! ```
//!
//! Commands start from an empty environment ([`Command::env_clear`]) plus the
//! variables above, `UV_NO_PROGRESS=1`, `NO_COLOR=1` and
//! `PATH=<bin>:<dir of the real uv>:/usr/local/bin:/usr/bin:/bin`; the tests
//! add their own with [`TestEnv::set_env`]. `UV_SHIM_LOG` is not set.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::mirror::Entry;

/// The built shim binary.
pub const SHIM_EXE: &str = env!("CARGO_BIN_EXE_uv-shim");

/// How long [`run`] lets a command take before killing it.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// A temporary, isolated environment for one test.
#[derive(Debug)]
pub struct TestEnv {
    dir: tempfile::TempDir,
    /// The shim binary under test: [`SHIM_EXE`], or another build of it.
    shim: PathBuf,
    real_uv: Option<PathBuf>,
    /// Extra variables; `None` removes a default one.
    extra: BTreeMap<OsString, Option<OsString>>,
}

impl TestEnv {
    /// Creates the directories and the `bin/uv` symlink to the shim.
    pub fn new() -> TestEnv {
        let dir = tempfile::Builder::new()
            .prefix("uv-shim-test-")
            .tempdir()
            .expect("create temp dir");
        let env = TestEnv {
            dir,
            shim: PathBuf::from(SHIM_EXE),
            real_uv: None,
            extra: BTreeMap::new(),
        };
        for sub in [
            env.home(),
            env.home().join(".cache"),
            env.config_dir(),
            env.cache_dir(),
            env.etc_dir(),
            env.root().join("xdg"),
            env.bin_dir(),
            env.python_dir(),
            env.pybin_dir(),
            env.uv_cache_dir(),
            env.work_dir(),
        ] {
            fs::create_dir_all(&sub).unwrap_or_else(|e| panic!("mkdir {}: {e}", sub.display()));
        }
        symlink(Path::new("../etc"), &env.root().join("xdg").join("uv"));
        symlink(Path::new(SHIM_EXE), &env.uv_link());
        env.write_resolv_conf("# no search domains: tests never ask the machine's resolver\n");
        env
    }

    /// Runs another build of the shim (e.g. one for another architecture)
    /// instead of [`SHIM_EXE`]: `bin/uv` links to it and [`TestEnv::shim`]
    /// runs it.
    pub fn use_shim(&mut self, binary: impl Into<PathBuf>) {
        self.shim = binary.into();
        let link = self.uv_link();
        fs::remove_file(&link).unwrap_or_else(|e| panic!("remove {}: {e}", link.display()));
        symlink(&self.shim, &link);
    }

    /// Uses this real uv: its directory goes on `PATH` after `bin/`.
    pub fn set_real_uv(&mut self, path: impl Into<PathBuf>) {
        self.real_uv = Some(path.into());
    }

    /// Adds (or overrides) a variable for every command.
    pub fn set_env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) {
        self.extra
            .insert(key.as_ref().to_owned(), Some(value.as_ref().to_owned()));
    }

    /// Leaves a variable out of every command, even one of the defaults.
    pub fn unset_env(&mut self, key: impl AsRef<OsStr>) {
        self.extra.insert(key.as_ref().to_owned(), None);
    }

    /// The shim invoked through the `bin/uv` symlink (its "uv" face).
    pub fn uv(&self) -> Command {
        self.command(self.uv_link())
    }

    /// The shim invoked as `uv-shim` (its tool face).
    pub fn shim(&self) -> Command {
        self.command(&self.shim)
    }

    /// Any program, with this environment and `work/` as current directory.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear().current_dir(self.work_dir());
        for (key, value) in self.default_vars() {
            cmd.env(key, value);
        }
        for (key, value) in &self.extra {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        cmd
    }

    /// The variables every command starts with, before the extras.
    pub fn default_vars(&self) -> Vec<(OsString, OsString)> {
        let mut path = vec![self.bin_dir()];
        if let Some(dir) = self.real_uv.as_deref().and_then(Path::parent) {
            path.push(dir.to_path_buf());
        }
        path.extend(["/usr/local/bin", "/usr/bin", "/bin"].map(PathBuf::from));
        let path = std::env::join_paths(path).expect("PATH");
        let dirs: [(&str, PathBuf); 10] = [
            ("HOME", self.home()),
            ("XDG_CONFIG_HOME", self.config_dir()),
            ("XDG_CACHE_HOME", self.home().join(".cache")),
            ("XDG_CONFIG_DIRS", self.root().join("xdg")),
            ("UV_SHIM_CACHE_DIR", self.cache_dir()),
            ("UV_SHIM_SYSTEM_CONFIG_DIR", self.etc_dir()),
            ("UV_PYTHON_INSTALL_DIR", self.python_dir()),
            ("UV_PYTHON_BIN_DIR", self.pybin_dir()),
            ("UV_CACHE_DIR", self.uv_cache_dir()),
            // No search domains: DNS discovery never asks the machine's resolver.
            ("UV_SHIM_RESOLV_CONF", self.root().join("resolv.conf")),
        ];
        let mut vars = vec![(OsString::from("PATH"), path)];
        vars.extend(dirs.map(|(k, v)| (OsString::from(k), v.into_os_string())));
        vars.push(("UV_NO_PROGRESS".into(), "1".into()));
        vars.push(("NO_COLOR".into(), "1".into()));
        vars
    }

    /// The temporary directory holding everything.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `HOME`.
    pub fn home(&self) -> PathBuf {
        self.root().join("home")
    }

    /// `XDG_CONFIG_HOME`.
    pub fn config_dir(&self) -> PathBuf {
        self.root().join("config")
    }

    /// `UV_SHIM_CACHE_DIR`.
    pub fn cache_dir(&self) -> PathBuf {
        self.root().join("cache")
    }

    /// `UV_SHIM_SYSTEM_CONFIG_DIR`: this test's `/etc/uv`.
    pub fn etc_dir(&self) -> PathBuf {
        self.root().join("etc")
    }

    /// The directory first on `PATH`, holding the `uv` symlink to the shim.
    pub fn bin_dir(&self) -> PathBuf {
        self.root().join("bin")
    }

    /// `bin/uv`, the symlink to the shim.
    pub fn uv_link(&self) -> PathBuf {
        self.bin_dir().join("uv")
    }

    /// `UV_PYTHON_INSTALL_DIR`.
    pub fn python_dir(&self) -> PathBuf {
        self.root().join("python")
    }

    /// `UV_PYTHON_BIN_DIR`.
    pub fn pybin_dir(&self) -> PathBuf {
        self.root().join("pybin")
    }

    /// `UV_CACHE_DIR`.
    pub fn uv_cache_dir(&self) -> PathBuf {
        self.root().join("uvcache")
    }

    /// The current directory of every command.
    pub fn work_dir(&self) -> PathBuf {
        self.root().join("work")
    }

    /// The interpreter uv installs for `entry`:
    /// `<python>/<key>/bin/python<M>.<m>`.
    pub fn managed_python(&self, entry: &Entry) -> PathBuf {
        let (major, minor, _) = entry.version;
        self.python_dir()
            .join(&entry.key)
            .join("bin")
            .join(format!("python{major}.{minor}"))
    }

    /// Writes the user config (`config/uv-shim/config.toml`); returns its path.
    pub fn write_user_config(&self, text: &str) -> PathBuf {
        write(&self.config_dir().join("uv-shim").join("config.toml"), text)
    }

    /// Writes the system config (`etc/shim.toml`); returns its path.
    pub fn write_system_config(&self, text: &str) -> PathBuf {
        self.write_system_file("shim.toml", text)
    }

    /// Writes `etc/<name>` (e.g. `uv.toml`, `download-metadata.json`); returns
    /// its path. The real uv reads `etc/uv.toml` as its system config.
    pub fn write_system_file(&self, name: &str, text: &str) -> PathBuf {
        write(&self.etc_dir().join(name), text)
    }

    /// Writes the resolv.conf the shim reads (`UV_SHIM_RESOLV_CONF`).
    pub fn write_resolv_conf(&self, text: &str) -> PathBuf {
        write(&self.root().join("resolv.conf"), text)
    }
}

impl Default for TestEnv {
    fn default() -> Self {
        TestEnv::new()
    }
}

/// Writes a file, creating its directory.
fn write(path: &Path, text: &str) -> PathBuf {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir {}: {e}", parent.display()));
    }
    fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path.to_path_buf()
}

/// Creates a symlink (Unix only).
fn symlink(target: &Path, link: &Path) {
    #[cfg(unix)]
    std::os::unix::fs::symlink(target, link)
        .unwrap_or_else(|e| panic!("symlink {} -> {}: {e}", link.display(), target.display()));
    #[cfg(not(unix))]
    panic!(
        "the test environment needs symlinks ({} -> {})",
        link.display(),
        target.display()
    );
}

/// Runs a command to completion (stdin empty), killing it after
/// [`RUN_TIMEOUT`].
#[track_caller]
pub fn run(cmd: &mut Command) -> Output {
    run_with_timeout(cmd, RUN_TIMEOUT)
}

/// Runs a command to completion (stdin empty); panics if it takes longer
/// than `timeout`.
#[track_caller]
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    wait_with_timeout(child, &format!("{cmd:?}"), timeout)
}

/// Waits for a child started with piped stdout and stderr, reading both;
/// kills it and panics, naming it `what`, if it takes longer than `timeout`.
#[track_caller]
pub fn wait_with_timeout(mut child: Child, what: &str, timeout: Duration) -> Output {
    let stdout = drain(child.stdout.take().expect("stdout"));
    let stderr = drain(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not finish within {timeout:?}; killed");
        }
        thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Reads a pipe to its end on a thread.
fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// What the command printed on stdout (lossy UTF-8).
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What the command printed on stderr (lossy UTF-8).
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Panics, showing stdout and stderr, unless the command succeeded.
#[track_caller]
pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "command failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        stdout(output),
        stderr(output)
    );
}

/// Panics, showing stdout and stderr, unless the command failed.
#[track_caller]
pub fn assert_failure(output: &Output) {
    assert!(
        !output.status.success(),
        "command unexpectedly succeeded\n--- stdout\n{}\n--- stderr\n{}",
        stdout(output),
        stderr(output)
    );
}
