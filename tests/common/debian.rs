//! Debian packages the stories need (nginx, minisign), installed by the
//! harness itself when missing: once per machine (parallel tests wait on a
//! file lock beside the other test tools), with `apt-get update` only when
//! the first attempt fails, and no service started by the install.
//! Installing needs root: without it, and without the tool, the caller
//! skips ([`super::skip`]).

#![cfg(unix)]

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Where Debian's `invoke-rc.d` asks whether a service may start.
const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";

/// The program `binary` of Debian's `package`: on `PATH`, or at `debian_path`
/// (where the package puts it), installing the package when missing. `Err`
/// says why there is none.
pub fn tool(package: &str, binary: &str, debian_path: &str) -> Result<PathBuf, String> {
    let find = || {
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|p| {
                std::env::split_paths(&p)
                    .map(|dir| dir.join(binary))
                    .collect::<Vec<_>>()
            })
            .chain([PathBuf::from(debian_path)])
            .find(|candidate| candidate.is_file())
    };
    ensure(package, find)
}

/// The file at `path` that Debian's `package` provides (headers, a library),
/// installing the package when it is missing; `Err` says why there is none.
pub fn file(package: &str, path: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(path);
    ensure(package, || path.is_file().then(|| path.clone()))
}

/// What `find` finds, after installing `package` if it found nothing.
fn ensure(package: &str, find: impl Fn() -> Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(found) = find() {
        return Ok(found);
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(format!(
            "{package} is not installed and installing it needs root"
        ));
    }
    let tools = super::uv::tools_dir();
    fs::create_dir_all(&tools).unwrap_or_else(|e| panic!("mkdir {}: {e}", tools.display()));
    let lock_path = tools.join(format!("{package}-install.lock"));
    let lock =
        File::create(&lock_path).unwrap_or_else(|e| panic!("create {}: {e}", lock_path.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("lock {}: {e}", lock_path.display()));
    // Another test may have installed it while we waited.
    if let Some(found) = find() {
        return Ok(found);
    }
    install(package);
    Ok(find().unwrap_or_else(|| {
        panic!("`apt-get install {package}` succeeded, but what it should provide is missing")
    }))
}

/// `apt-get install -y PACKAGE`, after `apt-get update` if the first attempt fails.
fn install(package: &str) {
    let apt = |args: &[&str]| -> Output {
        // Another installer (a second test binary, a build script) may hold
        // dpkg's lock for a while: wait for it rather than fail.
        Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=900"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run apt-get: {e}"))
    };
    let _no_services = NoServices::new();
    let install = ["install", "-y", "--no-install-recommends", package];
    let mut output = apt(&install);
    if !output.status.success() {
        let update = apt(&["update"]);
        assert!(
            update.status.success(),
            "`apt-get update` failed:\n{}",
            String::from_utf8_lossy(&update.stderr)
        );
        output = apt(&install);
    }
    assert!(
        output.status.success(),
        "`apt-get install {package}` failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A `policy-rc.d` that refuses to start services, for the install only;
/// an existing one is left alone.
struct NoServices {
    created: bool,
}

impl NoServices {
    fn new() -> NoServices {
        let path = Path::new(POLICY_RC_D);
        if path.exists() {
            return NoServices { created: false };
        }
        fs::write(
            path,
            "#!/bin/sh\n# uv-shim tests: no services while installing test tools\nexit 101\n",
        )
        .unwrap_or_else(|e| panic!("write {POLICY_RC_D}: {e}"));
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
        NoServices { created: true }
    }
}

impl Drop for NoServices {
    fn drop(&mut self) {
        if self.created {
            let _ = fs::remove_file(POLICY_RC_D);
        }
    }
}
