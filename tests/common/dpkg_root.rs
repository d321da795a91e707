//! A throw-away Debian root for installing a `.deb` for real: dpkg's own
//! database in a temporary folder, `dpkg --root` with
//! `--force-script-chrootless`, so the package's maintainer scripts run on
//! this machine with `DPKG_ROOT` pointing at the folder (and dpkg-divert
//! acting inside it). Nothing of the machine's own `/usr` or dpkg database
//! is touched. Needs root (dpkg refuses otherwise).
//!
//! [`DpkgRoot::snapshot`] lists every file outside dpkg's database, so a
//! story can show that install then remove (or purge) leaves the root as it
//! was, byte for byte. [`DpkgRoot::chroot`] runs a program inside the root
//! (a static binary, or one whose libraries [`DpkgRoot::add_libraries_of`]
//! copied in).

#![cfg(unix)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary root with an empty dpkg database.
#[derive(Debug)]
pub struct DpkgRoot {
    dir: tempfile::TempDir,
}

/// One entry of a [`DpkgRoot::snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A folder and its mode.
    Dir(u32),
    /// A file, its mode and contents.
    File(u32, Vec<u8>),
    /// A symbolic link and its target.
    Link(PathBuf),
}

impl DpkgRoot {
    /// An empty root laid out as a Debian system is: `/usr/bin`, `/usr/lib`,
    /// `/etc`, and dpkg's database under `/var/lib/dpkg`.
    pub fn new() -> DpkgRoot {
        let dir = tempfile::Builder::new()
            .prefix("uv-shim-dpkg-root")
            .tempdir()
            .expect("create a temporary dpkg root");
        let root = DpkgRoot { dir };
        for folder in [
            "usr/bin",
            "usr/lib",
            "etc",
            "tmp",
            "var/log",
            "var/lib/dpkg/info",
            "var/lib/dpkg/updates",
            "var/lib/dpkg/triggers",
        ] {
            fs::create_dir_all(root.path(folder)).unwrap();
        }
        for file in ["var/lib/dpkg/status", "var/lib/dpkg/available"] {
            fs::write(root.path(file), "").unwrap();
        }
        root
    }

    /// The host path of `rel` (a path inside the root, without the leading `/`).
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel.trim_start_matches('/'))
    }

    /// Puts an executable file at `rel` inside the root.
    pub fn put_executable(&self, rel: &str, contents: &[u8]) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, contents).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Runs `dpkg --root ROOT --force-script-chrootless ARGS…` (e.g. `-i DEB`,
    /// `-r uv-shim`, `-P uv-shim`), returning its output.
    pub fn dpkg(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("dpkg");
        cmd.arg(format!("--root={}", self.dir.path().display()))
            .arg("--force-script-chrootless")
            .arg(format!("--log={}", self.path("var/log/dpkg.log").display()))
            .args(args)
            // dpkg wants ldconfig and start-stop-daemon on PATH.
            .env(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )
            .env("DEBIAN_FRONTEND", "noninteractive");
        cmd.output().expect("run dpkg")
    }

    /// `dpkg-divert --list` of the root: one line per diversion.
    pub fn diversions(&self) -> String {
        let output = Command::new("dpkg-divert")
            .arg(format!("--root={}", self.dir.path().display()))
            .arg("--list")
            .output()
            .expect("run dpkg-divert");
        assert!(output.status.success(), "dpkg-divert --list failed");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Every path under the root except dpkg's database and log and `/tmp`
    /// (where programs run by [`DpkgRoot::chroot`] may write), with what is there.
    pub fn snapshot(&self) -> BTreeMap<String, Node> {
        let mut found = BTreeMap::new();
        walk(self.dir.path(), self.dir.path(), &mut found);
        found
    }

    /// Copies the shared libraries that `exe` (a host binary) loads, and its
    /// loader, to the same paths inside the root, so `chroot` can run a copy of it.
    pub fn add_libraries_of(&self, exe: &Path) {
        let output = Command::new("ldd").arg(exe).output().expect("run ldd");
        let listing = String::from_utf8_lossy(&output.stdout);
        for word in listing.split_whitespace() {
            if word.starts_with('/') && Path::new(word).is_file() {
                let inside = self.path(word);
                fs::create_dir_all(inside.parent().unwrap()).unwrap();
                fs::copy(word, &inside).unwrap_or_else(|e| panic!("copy {word}: {e}"));
            }
        }
    }

    /// Runs `program ARGS…` chrooted into the root with only `vars` set.
    pub fn chroot(&self, program: &str, args: &[&str], vars: &[(&str, &str)]) -> Output {
        // Named by its path: the child's PATH (from `vars`) is the root's.
        let chroot = ["/usr/sbin/chroot", "/usr/bin/chroot"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .expect("no chroot in /usr/sbin or /usr/bin");
        Command::new(chroot)
            .arg(self.dir.path())
            .arg(program)
            .args(args)
            .env_clear()
            .envs(vars.iter().copied())
            .output()
            .expect("run chroot")
    }
}

fn walk(top: &Path, dir: &Path, found: &mut BTreeMap<String, Node>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let rel = path
            .strip_prefix(top)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if rel.starts_with("var/lib/dpkg") || rel.starts_with("var/log") || rel == "tmp" {
            continue;
        }
        let meta = fs::symlink_metadata(&path).unwrap();
        let mode = meta.permissions().mode() & 0o7777;
        if meta.file_type().is_symlink() {
            found.insert(rel, Node::Link(fs::read_link(&path).unwrap()));
        } else if meta.is_dir() {
            found.insert(rel, Node::Dir(mode));
            walk(top, &path, found);
        } else {
            found.insert(rel, Node::File(mode, fs::read(&path).unwrap()));
        }
    }
}
