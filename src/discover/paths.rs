//! The files and folders discovery reads: the user config, the folder
//! standing for `/etc/uv`, and the cache.

use std::path::PathBuf;

use crate::env_vars::{EnvVars, Lookup};
#[cfg(unix)]
use crate::fsutil::private;

/// The files and folders discovery reads.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The user config file (`UV_SHIM_CONFIG`, or the platform's config dir).
    pub user_config: Option<PathBuf>,
    /// The folder standing for `/etc/uv`.
    pub system_dir: PathBuf,
    /// The cache folder asked for (`UV_SHIM_CACHE_DIR`, or the platform's);
    /// `None` when there is no per-user place at all.
    pub cache_dir: Option<PathBuf>,
    /// This user's own cache folder (the platform's, or for root with
    /// another user's folders, root's own by the account database), where
    /// the cache goes when the one asked for is not this user's.
    pub own_cache_dir: Option<PathBuf>,
    /// Folders that were passed over, and why (for `doctor`).
    pub notes: Vec<String>,
}

/// The variables `directories` reads by itself to find the user's folders.
const BASE_DIR_VARS: &[&str] = &[
    EnvVars::HOME,
    EnvVars::XDG_CONFIG_HOME,
    EnvVars::XDG_CACHE_HOME,
    EnvVars::APPDATA,
    EnvVars::LOCALAPPDATA,
];

/// Where this process's per-user folders are, and whether they are its own.
struct Homes {
    dirs: Option<directories::BaseDirs>,
    /// Root running with another user's folders (`sudo -E`): those are not used.
    foreign: Option<String>,
    /// Windows: `%APPDATA%` and `%LOCALAPPDATA%` as set, ahead of the known
    /// folders (uv follows the variables too; `directories` asks the shell).
    appdata: Option<PathBuf>,
    local_appdata: Option<PathBuf>,
}

impl Homes {
    fn of(env: Lookup) -> Homes {
        for name in BASE_DIR_VARS {
            // Read through `env` so the warm path records them.
            env(name);
        }
        let foreign = foreign_folders(env);
        let dirs = match foreign {
            Some(_) => None,
            None => directories::BaseDirs::new(),
        };
        let windows_var = |name: &str| {
            env(name)
                .filter(|_| cfg!(windows))
                .map(PathBuf::from)
                .filter(|dir| dir.is_absolute())
        };
        Homes {
            dirs,
            foreign,
            appdata: windows_var(EnvVars::APPDATA),
            local_appdata: windows_var(EnvVars::LOCALAPPDATA),
        }
    }

    fn config_dir(&self) -> Option<PathBuf> {
        if let Some(dir) = &self.appdata {
            return Some(dir.clone());
        }
        match &self.dirs {
            Some(dirs) => Some(dirs.config_dir().to_path_buf()),
            None => own_home().map(|home| home.join(".config")),
        }
    }

    fn cache_dir(&self) -> Option<PathBuf> {
        if let Some(dir) = &self.local_appdata {
            return Some(dir.clone());
        }
        match &self.dirs {
            Some(dirs) => Some(dirs.cache_dir().to_path_buf()),
            None => own_home().map(|home| home.join(".cache")),
        }
    }
}

impl Paths {
    /// The paths for this process, from the environment and the platform's conventions.
    pub fn from_env(env: Lookup) -> Self {
        let homes = Homes::of(env);
        let mut notes: Vec<String> = homes.foreign.iter().cloned().collect();
        // `<config dir>/uv-shim`: `$XDG_CONFIG_HOME` or `~/.config` on Linux,
        // `%APPDATA%` on Windows, as the design contract names them.
        let user_config = env(EnvVars::UV_SHIM_CONFIG)
            .map(PathBuf::from)
            .or_else(|| {
                homes
                    .config_dir()
                    .map(|d| d.join("uv-shim").join("config.toml"))
            })
            .filter(|file| match foreign_file(file) {
                Some(why) => {
                    notes.push(why);
                    false
                }
                None => true,
            });
        let system_dir = env(EnvVars::UV_SHIM_SYSTEM_CONFIG_DIR)
            .map(PathBuf::from)
            .unwrap_or_else(|| default_system_dir(env));
        Paths {
            user_config,
            system_dir,
            cache_dir: Self::cache_dir_with(env, &homes),
            own_cache_dir: homes.cache_dir().map(|dir| dir.join("uv-shim")),
            notes,
        }
    }

    /// The cache folder alone (the warm path needs nothing else).
    pub fn cache_dir(env: Lookup) -> Option<PathBuf> {
        if let Some(dir) = env(EnvVars::UV_SHIM_CACHE_DIR) {
            return Some(PathBuf::from(dir));
        }
        Self::cache_dir_with(env, &Homes::of(env))
    }

    /// `UV_SHIM_CACHE_DIR`, else the platform's cache folder; there is no
    /// shared fallback folder.
    fn cache_dir_with(env: Lookup, homes: &Homes) -> Option<PathBuf> {
        env(EnvVars::UV_SHIM_CACHE_DIR)
            .map(PathBuf::from)
            .or_else(|| homes.cache_dir().map(|d| d.join("uv-shim")))
    }

    /// The system config file of the shim.
    pub fn system_config(&self) -> PathBuf {
        self.system_dir.join("shim.toml")
    }
}

/// This user's home folder by the account database (not `HOME`).
#[cfg(unix)]
fn own_home() -> Option<PathBuf> {
    let user = nix::unistd::User::from_uid(nix::unistd::geteuid()).ok()??;
    Some(user.dir).filter(|dir| dir.is_absolute())
}

#[cfg(not(unix))]
fn own_home() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf())
}

/// Root running with another user's `HOME` or XDG folders (`sudo -E uv …`):
/// what that user's files say must not steer root, and root must not leave
/// its files in that user's cache.
#[cfg(unix)]
fn foreign_folders(env: Lookup) -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    [EnvVars::HOME, EnvVars::XDG_CONFIG_HOME, EnvVars::XDG_CACHE_HOME]
        .into_iter()
        .find_map(|name| {
            let dir = env(name)?;
            let owner = private::owner(std::path::Path::new(&dir))?;
            (owner != 0).then(|| {
                format!(
                    "{name}={dir} belongs to uid {owner}, not root: that user's config and cache are not used; root uses its own"
                )
            })
        })
}

#[cfg(not(unix))]
fn foreign_folders(_: Lookup) -> Option<String> {
    None
}

/// Root does not follow a user config file that another user owns.
#[cfg(unix)]
fn foreign_file(file: &std::path::Path) -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    let owner = private::owner(file)?;
    (owner != 0).then(|| {
        format!(
            "{} belongs to uid {owner}, not root: root does not read it",
            file.display()
        )
    })
}

#[cfg(not(unix))]
fn foreign_file(_: &std::path::Path) -> Option<String> {
    None
}

#[cfg(windows)]
fn default_system_dir(env: Lookup) -> PathBuf {
    env(EnvVars::PROGRAMDATA)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"))
        .join("uv")
}

#[cfg(not(windows))]
fn default_system_dir(_: Lookup) -> PathBuf {
    PathBuf::from("/etc/uv")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On Windows the user config is in `%APPDATA%`, the cache in
    /// `%LOCALAPPDATA%` and the system config in `%PROGRAMDATA%\uv`, each
    /// following its variable.
    #[cfg(windows)]
    #[test]
    fn windows_folders_follow_their_variables() {
        let env = |name: &str| match name {
            "APPDATA" => Some(r"D:\Roaming".to_string()),
            "LOCALAPPDATA" => Some(r"D:\Local".to_string()),
            "PROGRAMDATA" => Some(r"E:\Data".to_string()),
            // Not Windows' variables: ignored there.
            "XDG_CONFIG_HOME" | "XDG_CACHE_HOME" => Some(r"C:\nowhere".to_string()),
            _ => None,
        };
        let paths = Paths::from_env(&env);
        assert_eq!(
            paths.user_config,
            Some(PathBuf::from(r"D:\Roaming\uv-shim\config.toml"))
        );
        assert_eq!(paths.cache_dir, Some(PathBuf::from(r"D:\Local\uv-shim")));
        assert_eq!(
            paths.system_config(),
            PathBuf::from(r"E:\Data\uv\shim.toml")
        );
    }

    /// Elsewhere `APPDATA` means nothing.
    #[cfg(unix)]
    #[test]
    fn appdata_means_nothing_off_windows() {
        let env = |name: &str| match name {
            "APPDATA" => Some("/roaming".to_string()),
            "LOCALAPPDATA" => Some("/local".to_string()),
            "XDG_CONFIG_HOME" => Some("/xdg-config".to_string()),
            "XDG_CACHE_HOME" => Some("/xdg-cache".to_string()),
            _ => None,
        };
        let paths = Paths::from_env(&env);
        assert!(!paths.user_config.unwrap().starts_with("/roaming"));
        assert!(!paths.cache_dir.unwrap().starts_with("/local"));
    }
}
