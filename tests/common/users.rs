//! Other local users, for the stories of shared machines. CI runs as root,
//! so a story can act as two real unprivileged users: commands run through
//! `setpriv` with another uid and gid and no supplementary groups. The two
//! uids have no entry in the account database, like a container's or a CI
//! runner's arbitrary uid: no home folder but the `HOME` they are given.

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::env::TestEnv;

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

/// The permission bits of `path`.
pub fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o7777
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
