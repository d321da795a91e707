//! Another user and the umask, for stories about who can read what the
//! shim writes: a web server's workers, or a `file://` reader, that are not
//! the user who ran `mirror sync`.
//!
//! * [`nobody`]: the unprivileged account (`nobody` and its primary group),
//!   read from the system's user database.
//! * [`Account::command`]: a command run as that account through
//!   `setpriv` (util-linux, part of every Debian system), with the test's
//!   environment; only root can switch users, so stories that use it start
//!   with [`super::require_root`].
//! * [`Account::own`]: hands a folder tree to the account.
//! * [`let_others_through`]: the folders above a path gain the search bit
//!   for others (`o+x`), as `/srv` and `/var/www` have, because a test's
//!   temporary folder is private (0700); the path itself and everything
//!   below it are left exactly as the program under test wrote them.
//! * [`with_umask`]: runs a command under a given umask, so a story states
//!   the umask it expects modes from instead of inheriting the runner's.
//! * [`mode`]: a file's permission bits.
//! * [`ALICE`] and [`BOB`]: two unprivileged uids with no entry in the
//!   account database (like a container's or a CI runner's arbitrary uid),
//!   for the stories of shared machines: [`as_user`] runs a command as one
//!   of them, [`folder_of`] makes a folder one of them owns.

#![cfg(unix)]

use std::ffi::{CStr, OsStr};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::env::TestEnv;

/// Where Debian keeps `setpriv`.
const SETPRIV: &str = "/usr/bin/setpriv";

/// A user account other than the test's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Its name (`nobody`).
    pub name: String,
    /// The name of its primary group (`nogroup` on Debian).
    pub group: String,
    /// Its uid.
    pub uid: u32,
    /// Its primary gid.
    pub gid: u32,
}

/// The `nobody` account. Panics when the system has none.
pub fn nobody() -> Account {
    // SAFETY: getpwnam and getgrgid return pointers into static storage (or
    // null), read at once and copied; tests that call this do not race on
    // the user database.
    unsafe {
        let pw = libc::getpwnam(c"nobody".as_ptr());
        assert!(!pw.is_null(), "this system has no `nobody` user");
        let (uid, gid) = ((*pw).pw_uid, (*pw).pw_gid);
        let gr = libc::getgrgid(gid);
        assert!(!gr.is_null(), "the group {gid} of `nobody` has no name");
        let group = CStr::from_ptr((*gr).gr_name).to_string_lossy().into_owned();
        Account {
            name: "nobody".into(),
            group,
            uid,
            gid,
        }
    }
}

impl Account {
    /// `program` run as this account (uid, gid, no supplementary groups)
    /// with `env`'s variables and working folder.
    pub fn command(&self, env: &TestEnv, program: impl AsRef<OsStr>) -> Command {
        assert!(
            Path::new(SETPRIV).is_file(),
            "{SETPRIV} is missing (Debian's util-linux)"
        );
        let mut cmd = env.command(SETPRIV);
        cmd.arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .arg("--clear-groups")
            .arg("--")
            .arg(program);
        cmd
    }

    /// Makes this account the owner of `path` and everything below it
    /// (symbolic links themselves, not their targets).
    #[track_caller]
    pub fn own(&self, path: &Path) {
        std::os::unix::fs::lchown(path, Some(self.uid), Some(self.gid))
            .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
        let meta = std::fs::symlink_metadata(path).unwrap();
        if meta.is_dir() {
            for entry in std::fs::read_dir(path).unwrap() {
                self.own(&entry.unwrap().path());
            }
        }
    }
}

/// Gives others the search bit (`o+x`) on every folder above `path` that
/// the test owns, so another user can reach `path`; `path` itself and what
/// lies below it keep their modes.
#[track_caller]
pub fn let_others_through(path: &Path) {
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    for dir in path.ancestors().skip(1) {
        let Ok(meta) = std::fs::metadata(dir) else {
            continue;
        };
        if meta.uid() != me || meta.mode() & 0o001 != 0 {
            continue;
        }
        let mode = (meta.mode() & 0o7777) | 0o001;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", dir.display()));
    }
}

/// Runs `cmd` under `umask` (the rest of its set-up unchanged).
pub fn with_umask(cmd: &mut Command, umask: u32) -> &mut Command {
    let umask = umask as libc::mode_t;
    // SAFETY: umask is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(move || {
            libc::umask(umask);
            Ok(())
        })
    }
}

/// The permission bits of `path` (`0o644`), links followed.
#[track_caller]
pub fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .mode()
        & 0o7777
}

/// The user whose calls the stories protect.
pub const ALICE: u32 = 4101;
/// The other user on the same machine.
pub const BOB: u32 = 4102;

/// Opens the test's folder to other users (read and search), so that they
/// can reach the binaries, configs and mirror inside it.
pub fn open_to_others(env: &TestEnv) {
    for dir in [env.root().to_path_buf(), env.work_dir(), env.bin_dir()] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("chmod {}: {e}", dir.display()));
    }
}

/// A folder owned by `uid` with `mode`, made inside the test's folder.
pub fn folder_of(env: &TestEnv, name: &str, uid: u32, mode: u32) -> PathBuf {
    let dir = env.root().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(uid), Some(uid)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
    dir
}

/// `cmd` (its program, arguments, variables and folder), run as `uid`.
pub fn as_user(uid: u32, cmd: &Command) -> Command {
    let mut wrapped = Command::new("setpriv");
    wrapped
        .arg(format!("--reuid={uid}"))
        .arg(format!("--regid={uid}"))
        .arg("--clear-groups")
        .arg("--")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    wrapped.env_clear();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            wrapped.env(key, value);
        }
    }
    if let Some(dir) = cmd.get_current_dir() {
        wrapped.current_dir(dir);
    }
    wrapped
}

/// Who owns `path` (not following a link).
pub fn owner(path: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .uid()
}

/// A script that leaves `marker` behind when anything runs it: a stand-in
/// for a program an attacker wants run.
pub fn tripwire(dir: &Path, marker: &Path) -> PathBuf {
    let script = dir.join("tripwire.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ntouch '{}'\necho 'uv 0.13.9'\n",
            marker.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// `HOME`, config and cache variables pointing into `home`.
pub fn home_vars(home: &Path) -> Vec<(&'static OsStr, PathBuf)> {
    vec![
        (OsStr::new("HOME"), home.to_path_buf()),
        (OsStr::new("XDG_CONFIG_HOME"), home.join(".config")),
        (OsStr::new("XDG_CACHE_HOME"), home.join(".cache")),
    ]
}
