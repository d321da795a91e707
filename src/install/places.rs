//! Where install puts things: the bin dir, and the config file it writes
//! (the system config as root or with `--system`, the user config
//! otherwise), found exactly as the shim finds them when it reads them.

use std::path::{Path, PathBuf};

use crate::discover::Paths;
use crate::env_vars::{EnvVars, Lookup};

/// Which config install writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `/etc/uv/shim.toml` (or `UV_SHIM_SYSTEM_CONFIG_DIR`): every user's.
    System,
    /// `~/.config/uv-shim/config.toml` (or `UV_SHIM_CONFIG`): this user's.
    User,
}

impl Scope {
    /// `--system` / `--user`, else the system config for root, the user's for anyone else.
    pub fn choose(system: bool, user: bool) -> Scope {
        if system {
            Scope::System
        } else if user || !is_root() {
            Scope::User
        } else {
            Scope::System
        }
    }
}

#[cfg(unix)]
fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[cfg(not(unix))]
fn is_root() -> bool {
    false
}

/// The bin dir: the one given (made absolute), else `/usr/local/bin` for
/// root and `~/.local/bin` (where uv's own installer puts uv) for anyone else.
pub fn bin_dir(given: Option<&Path>, env: Lookup) -> anyhow::Result<PathBuf> {
    let dir = match given {
        Some(dir) => dir.to_path_buf(),
        None if is_root() && cfg!(unix) => PathBuf::from("/usr/local/bin"),
        None => home(env)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "no home folder is known (HOME is not set) to put ~/.local/bin in; pass --bin-dir DIR"
                )
            })?
            .join(".local")
            .join("bin"),
    };
    if dir.is_absolute() {
        return Ok(dir);
    }
    Ok(std::env::current_dir()?.join(dir))
}

fn home(env: Lookup) -> Option<PathBuf> {
    env(EnvVars::HOME)
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()))
}

/// The config file of `scope`, as the shim reads it; a symbolic link is
/// followed, so the file it leads to is edited and the link stays.
pub fn config_file(scope: Scope, env: Lookup) -> anyhow::Result<PathBuf> {
    let paths = Paths::from_env(env);
    let path = match scope {
        Scope::System => paths.system_config(),
        Scope::User => paths.user_config.ok_or_else(|| {
            anyhow::anyhow!(
                "there is no user config file to write ({}): set {} to a file, or install with --system",
                paths.notes.join("; "),
                EnvVars::UV_SHIM_CONFIG
            )
        })?,
    };
    let is_link = std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
    if is_link && let Ok(real) = std::fs::canonicalize(&path) {
        return Ok(real);
    }
    Ok(path)
}

/// Creates `dir` and its missing parents; returns the folders it made, parents first.
pub fn make_dirs(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let missing: Vec<PathBuf> = dir
        .ancestors()
        .take_while(|d| !d.as_os_str().is_empty() && std::fs::symlink_metadata(d).is_err())
        .map(Path::to_path_buf)
        .collect();
    std::fs::create_dir_all(dir)?;
    Ok(missing.into_iter().rev().collect())
}
