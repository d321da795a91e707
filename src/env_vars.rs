//! Every environment variable that uv-shim reads or sets, in one place.
//!
//! No other module spells a variable name as a string literal: they name a
//! constant here, so `grep` finds every use and the docs cannot drift.

/// Namespace for the environment variable names.
pub struct EnvVars;

impl EnvVars {
    // --- Read by uv-shim ---------------------------------------------------

    /// A mirror base URL (http, https or file); the first discovery source.
    pub const UV_SHIM_MIRROR: &'static str = "UV_SHIM_MIRROR";

    /// The user config file to read instead of `$XDG_CONFIG_HOME/uv-shim/config.toml`.
    pub const UV_SHIM_CONFIG: &'static str = "UV_SHIM_CONFIG";

    /// Replaces `/etc/uv` as the folder of `shim.toml`, `uv.toml` and `download-metadata.json`.
    pub const UV_SHIM_SYSTEM_CONFIG_DIR: &'static str = "UV_SHIM_SYSTEM_CONFIG_DIR";

    /// `1`/`true` skips discovery: uv runs with the environment untouched.
    pub const UV_SHIM_DISABLE: &'static str = "UV_SHIM_DISABLE";

    /// Path of the real uv, ahead of the config key `uv` and the `PATH` search.
    pub const UV_SHIM_REAL_UV: &'static str = "UV_SHIM_REAL_UV";

    /// Log level of the shim's own messages: `error`, `warn` (default), `info`, `debug`.
    pub const UV_SHIM_LOG: &'static str = "UV_SHIM_LOG";

    /// The shim's cache directory (default: the platform cache dir, `~/.cache/uv-shim`).
    pub const UV_SHIM_CACHE_DIR: &'static str = "UV_SHIM_CACHE_DIR";

    /// Overall time limit of one metadata request (humantime, default `5s`).
    pub const UV_SHIM_HTTP_TIMEOUT: &'static str = "UV_SHIM_HTTP_TIMEOUT";

    /// `ip:port` of the DNS server to ask instead of the resolver's.
    pub const UV_SHIM_DNS_SERVER: &'static str = "UV_SHIM_DNS_SERVER";

    /// Comma-separated domains to query instead of the resolver's search list.
    pub const UV_SHIM_DNS_DOMAINS: &'static str = "UV_SHIM_DNS_DOMAINS";

    /// The resolv.conf to read search domains and name servers from instead of `/etc/resolv.conf`.
    pub const UV_SHIM_RESOLV_CONF: &'static str = "UV_SHIM_RESOLV_CONF";

    /// Set by the shim on the uv it starts: the PID that exec'd uv, to catch a shim exec'ing a shim.
    pub const UV_SHIM_EXEC_PID: &'static str = "UV_SHIM_EXEC_PID";

    /// Set by the shim on the uv it starts: how many shims are in the chain of processes.
    pub const UV_SHIM_DEPTH: &'static str = "UV_SHIM_DEPTH";

    // --- Set for uv (and left alone when the user set them) ----------------

    /// Path or URL of the Python download list (uv >= 0.6.13).
    pub const UV_PYTHON_DOWNLOADS_JSON_URL: &'static str = "UV_PYTHON_DOWNLOADS_JSON_URL";

    /// Replaces the python-build-standalone download prefix in uv's URLs.
    pub const UV_PYTHON_INSTALL_MIRROR: &'static str = "UV_PYTHON_INSTALL_MIRROR";

    /// Replaces the PyPy download prefix in uv's URLs.
    pub const UV_PYPY_INSTALL_MIRROR: &'static str = "UV_PYPY_INSTALL_MIRROR";

    /// The default package index.
    pub const UV_DEFAULT_INDEX: &'static str = "UV_DEFAULT_INDEX";

    /// uv's older name for the default index; when the user set it, `UV_DEFAULT_INDEX` is left alone.
    pub const UV_INDEX_URL: &'static str = "UV_INDEX_URL";

    /// Base URL of Astral's own mirror (uv's self-update and tool downloads).
    pub const UV_ASTRAL_MIRROR_URL: &'static str = "UV_ASTRAL_MIRROR_URL";

    // --- Read to predict what uv itself will do -----------------------------

    /// A uv config file that uv reads instead of its user and system files.
    pub const UV_CONFIG_FILE: &'static str = "UV_CONFIG_FILE";

    /// When set, uv reads no config file at all.
    pub const UV_NO_CONFIG: &'static str = "UV_NO_CONFIG";

    // --- Platform -----------------------------------------------------------

    /// The executable search path, scanned for the real uv.
    pub const PATH: &'static str = "PATH";

    /// The user's config folder, where uv reads `uv/uv.toml`.
    pub const XDG_CONFIG_HOME: &'static str = "XDG_CONFIG_HOME";

    /// The system config folders, where uv reads `uv/uv.toml` before `/etc/uv`.
    pub const XDG_CONFIG_DIRS: &'static str = "XDG_CONFIG_DIRS";

    /// The user's home folder.
    pub const HOME: &'static str = "HOME";

    /// The user's cache folder, under which the shim's cache lives by default.
    pub const XDG_CACHE_HOME: &'static str = "XDG_CACHE_HOME";

    /// Windows: the roaming profile folder, home of the user config.
    pub const APPDATA: &'static str = "APPDATA";

    /// Windows: the machine-wide data folder, home of the system config (`%PROGRAMDATA%\uv`).
    pub const PROGRAMDATA: &'static str = "PROGRAMDATA";
}

/// Reads one environment variable, the way every module here must: an empty
/// value means unset, and a value that is not UTF-8 is treated as unset.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment as a [`Lookup`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// True when a variable holds a "yes" value (`1`, `true`, `yes`, `on`).
pub fn is_truthy(value: Option<&str>) -> bool {
    matches!(
        value.map(|v| v.trim().to_ascii_lowercase()).as_deref(),
        Some("1" | "true" | "yes" | "on")
    )
}
