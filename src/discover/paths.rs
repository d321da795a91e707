//! The files and folders discovery reads: the user config, the folder
//! standing for `/etc/uv`, and the cache.

use std::path::PathBuf;

use crate::env_vars::{EnvVars, Lookup};

/// The files and folders discovery reads.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The user config file (`UV_SHIM_CONFIG`, or the platform's config dir).
    pub user_config: Option<PathBuf>,
    /// The folder standing for `/etc/uv`.
    pub system_dir: PathBuf,
    /// The cache folder.
    pub cache_dir: PathBuf,
}

/// The variables `directories` reads by itself to find the user's folders.
const BASE_DIR_VARS: &[&str] = &[
    EnvVars::HOME,
    EnvVars::XDG_CONFIG_HOME,
    EnvVars::XDG_CACHE_HOME,
    EnvVars::APPDATA,
];

impl Paths {
    /// The paths for this process, from the environment and the platform's conventions.
    pub fn from_env(env: Lookup) -> Self {
        for name in BASE_DIR_VARS {
            // Read through `env` so the warm path records them.
            env(name);
        }
        // `<config dir>/uv-shim`: `$XDG_CONFIG_HOME` or `~/.config` on Linux,
        // `%APPDATA%` on Windows, as the design contract names them.
        let dirs = directories::BaseDirs::new();
        let user_config = env(EnvVars::UV_SHIM_CONFIG).map(PathBuf::from).or_else(|| {
            dirs.as_ref()
                .map(|d| d.config_dir().join("uv-shim").join("config.toml"))
        });
        let system_dir = env(EnvVars::UV_SHIM_SYSTEM_CONFIG_DIR)
            .map(PathBuf::from)
            .unwrap_or_else(|| default_system_dir(env));
        Paths {
            user_config,
            system_dir,
            cache_dir: Self::cache_dir_with(env, dirs.as_ref()),
        }
    }

    /// The cache folder alone (the warm path needs nothing else).
    pub fn cache_dir(env: Lookup) -> PathBuf {
        if let Some(dir) = env(EnvVars::UV_SHIM_CACHE_DIR) {
            return PathBuf::from(dir);
        }
        Self::cache_dir_with(env, directories::BaseDirs::new().as_ref())
    }

    fn cache_dir_with(env: Lookup, dirs: Option<&directories::BaseDirs>) -> PathBuf {
        env(EnvVars::UV_SHIM_CACHE_DIR)
            .map(PathBuf::from)
            .or_else(|| dirs.map(|d| d.cache_dir().join("uv-shim")))
            .unwrap_or_else(|| std::env::temp_dir().join("uv-shim-cache"))
    }

    /// The system config file of the shim.
    pub fn system_config(&self) -> PathBuf {
        self.system_dir.join("shim.toml")
    }
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
