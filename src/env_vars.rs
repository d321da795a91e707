//! Every environment variable that uv-shim reads or sets, in one place.
//!
//! No other module spells a variable name as a string literal: they name a
//! constant here, so `grep` finds every use and the docs cannot drift. The
//! macro also lists them all in [`EnvVars::ALL`]: the warm path keys its
//! remembered hand-over by every variable here, so a variable that a new
//! source reads is part of the key the moment it is declared.

/// Namespace for the environment variable names.
pub struct EnvVars;

macro_rules! env_vars {
    ($($(#[$doc:meta])* $name:ident;)*) => {
        impl EnvVars {
            $($(#[$doc])* pub const $name: &'static str = stringify!($name);)*

            /// Every variable above, in the order declared.
            pub const ALL: &'static [&'static str] = &[$(EnvVars::$name),*];
        }
    };
}

env_vars! {
    // --- Read by uv-shim ---------------------------------------------------

    /// A mirror base URL (http, https or file); the first discovery source.
    UV_SHIM_MIRROR;

    /// The user config file to read instead of `$XDG_CONFIG_HOME/uv-shim/config.toml`.
    UV_SHIM_CONFIG;

    /// Replaces `/etc/uv` as the folder of `shim.toml`, `uv.toml` and `download-metadata.json`.
    UV_SHIM_SYSTEM_CONFIG_DIR;

    /// `1`/`true` skips discovery: uv runs with the environment untouched.
    UV_SHIM_DISABLE;

    /// Path of the real uv, ahead of the config key `uv` and the `PATH` search.
    UV_SHIM_REAL_UV;

    /// Log level of the shim's own messages: `error`, `warn` (default), `info`, `debug`.
    UV_SHIM_LOG;

    /// The shim's cache directory (default: the platform cache dir, `~/.cache/uv-shim`).
    UV_SHIM_CACHE_DIR;

    /// Overall time limit of one metadata request (humantime, default `5s`).
    UV_SHIM_HTTP_TIMEOUT;

    /// `ip:port` of the DNS server to ask instead of the resolver's.
    UV_SHIM_DNS_SERVER;

    /// Comma-separated domains to query instead of the resolver's search list.
    UV_SHIM_DNS_DOMAINS;

    /// The resolv.conf to read search domains and name servers from instead of `/etc/resolv.conf`.
    UV_SHIM_RESOLV_CONF;

    /// Set by the shim on the uv it starts: the PID that exec'd uv, to catch a shim exec'ing a shim.
    UV_SHIM_EXEC_PID;

    /// Set by the shim on the uv it starts: how many shims are in the chain of processes.
    UV_SHIM_DEPTH;

    // --- Set for uv (and left alone when the user set them) ----------------

    /// Path or URL of the Python download list (uv >= 0.6.13).
    UV_PYTHON_DOWNLOADS_JSON_URL;

    /// Replaces the python-build-standalone download prefix in uv's URLs.
    UV_PYTHON_INSTALL_MIRROR;

    /// Replaces the PyPy download prefix in uv's URLs.
    UV_PYPY_INSTALL_MIRROR;

    /// The default package index.
    UV_DEFAULT_INDEX;

    /// uv's older name for the default index; when the user set it, `UV_DEFAULT_INDEX` is left alone.
    UV_INDEX_URL;

    /// Base URL of Astral's own mirror (uv's self-update and tool downloads).
    UV_ASTRAL_MIRROR_URL;

    /// `1`: uv >= 0.11.0 trusts the platform's certificate store instead of its bundled roots.
    UV_SYSTEM_CERTS;

    /// uv's older name of `UV_SYSTEM_CERTS` (deprecated from 0.11.0, where it earns a warning).
    UV_NATIVE_TLS;

    // --- Read to predict what uv itself will do -----------------------------

    /// A uv config file that uv reads instead of its user and system files.
    UV_CONFIG_FILE;

    /// When set, uv reads no config file at all.
    UV_NO_CONFIG;

    /// A CA bundle that replaces every other root, for uv and for the shim alike.
    SSL_CERT_FILE;

    /// Folders of CA certificates that replace every other root, for uv and for the shim alike.
    SSL_CERT_DIR;

    /// The netrc file with mirror credentials, instead of `~/.netrc` (uv reads it too).
    NETRC;

    // --- Platform -----------------------------------------------------------

    /// The executable search path, scanned for the real uv.
    PATH;

    /// The user's config folder, where uv reads `uv/uv.toml`.
    XDG_CONFIG_HOME;

    /// The system config folders, where uv reads `uv/uv.toml` before `/etc/uv`.
    XDG_CONFIG_DIRS;

    /// The user's home folder.
    HOME;

    /// The user's cache folder, under which the shim's cache lives by default.
    XDG_CACHE_HOME;

    /// Windows: the user's profile folder, where uv looks for `.netrc` and `_netrc`.
    USERPROFILE;

    /// Windows: the roaming profile folder, home of the user config.
    APPDATA;

    /// Windows: the machine-wide data folder, home of the system config (`%PROGRAMDATA%\uv`).
    PROGRAMDATA;
}

impl EnvVars {
    /// Variables that change with every process (the loop guard): never part
    /// of what a decision rests on.
    pub const PER_PROCESS: &'static [&'static str] =
        &[EnvVars::UV_SHIM_EXEC_PID, EnvVars::UV_SHIM_DEPTH];
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
