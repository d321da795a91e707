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

    /// The time budget of one call's network work, every mirror and name look-up included (humantime, default `5s`).
    UV_SHIM_HTTP_TIMEOUT;

    /// `ip:port` of the DNS server to ask instead of the resolver's.
    UV_SHIM_DNS_SERVER;

    /// Comma-separated domains DNS discovery asks about (pins them, like `dns-domains`).
    UV_SHIM_DNS_DOMAINS;

    /// The resolv.conf to read name servers (and a trusted search list) from instead of `/etc/resolv.conf`.
    UV_SHIM_RESOLV_CONF;

    /// Set by the shim on the uv it starts: the PID that exec'd uv, to catch a shim exec'ing a shim.
    UV_SHIM_EXEC_PID;

    /// Set by the shim on the uv it starts: how many shims are in the chain of processes.
    UV_SHIM_DEPTH;

    /// Set by the shim when it asks a binary what it is: a uv-shim answers `uv --version` with `uv-shim <version>`.
    UV_SHIM_IDENTIFY;

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

    /// Windows: the roaming profile folder, home of the shim's user config and of uv's (`uv\uv.toml`).
    APPDATA;

    /// Windows: the local profile folder, home of the shim's cache (`%LOCALAPPDATA%\uv-shim`).
    LOCALAPPDATA;

    /// Windows: the system drive, where uv reads `ProgramData\uv\uv.toml`.
    SYSTEMDRIVE;

    /// Windows: the machine-wide data folder, home of the system config (`%PROGRAMDATA%\uv`).
    PROGRAMDATA;
}

/// Proxy variables: read only to name the proxy a request went through (in
/// errors and in `doctor`), never to decide anything, so deliberately not in
/// [`EnvVars::ALL`]: the warm path neither reads them nor keys its plans by
/// them. The HTTP client (reqwest) reads them itself, by these rules.
#[allow(non_upper_case_globals)]
impl EnvVars {
    /// Proxy for `http` URLs.
    pub const HTTP_PROXY: &'static str = "HTTP_PROXY";
    /// `HTTP_PROXY` in lower case, read when that is not set.
    pub const http_proxy: &'static str = "http_proxy";
    /// Proxy for `https` URLs.
    pub const HTTPS_PROXY: &'static str = "HTTPS_PROXY";
    /// `HTTPS_PROXY` in lower case, read when that is not set.
    pub const https_proxy: &'static str = "https_proxy";
    /// Proxy for either scheme when its own variable is not set.
    pub const ALL_PROXY: &'static str = "ALL_PROXY";
    /// `ALL_PROXY` in lower case, read when that is not set.
    pub const all_proxy: &'static str = "all_proxy";
    /// Hosts and networks reached without a proxy (comma-separated, `*` for all).
    pub const NO_PROXY: &'static str = "NO_PROXY";
    /// `NO_PROXY` in lower case, read when that is not set.
    pub const no_proxy: &'static str = "no_proxy";
    /// Set in a CGI program: then no proxy variable is trusted (a client can set `Proxy:`).
    pub const REQUEST_METHOD: &'static str = "REQUEST_METHOD";

    /// The proxy variables above, for `doctor`.
    pub const PROXY: &'static [&'static str] = &[
        EnvVars::HTTP_PROXY,
        EnvVars::http_proxy,
        EnvVars::HTTPS_PROXY,
        EnvVars::https_proxy,
        EnvVars::ALL_PROXY,
        EnvVars::all_proxy,
        EnvVars::NO_PROXY,
        EnvVars::no_proxy,
    ];
}

/// Read when the binary is built (by `build.rs`), never by the running
/// shim: not in [`EnvVars::ALL`], so no warm plan is keyed by it.
impl EnvVars {
    /// A TOML config file embedded into the binary as the built-in config
    /// (the lowest settings layer, with the system file's rights).
    // Listed so that every variable is here; only build.rs reads it.
    #[allow(dead_code)]
    pub const UV_SHIM_BUILTIN_CONFIG: &'static str = "UV_SHIM_BUILTIN_CONFIG";
}

impl EnvVars {
    /// Every variable the shim may set on uv's process; a remembered
    /// hand-over that sets anything else is not the shim's.
    pub const HANDED_TO_UV: &'static [&'static str] = &[
        EnvVars::UV_PYTHON_DOWNLOADS_JSON_URL,
        EnvVars::UV_PYTHON_INSTALL_MIRROR,
        EnvVars::UV_PYPY_INSTALL_MIRROR,
        EnvVars::UV_DEFAULT_INDEX,
        EnvVars::UV_ASTRAL_MIRROR_URL,
        EnvVars::UV_SYSTEM_CERTS,
        EnvVars::UV_NATIVE_TLS,
    ];

    /// Variables that change with every process (the loop guard): never part
    /// of what a decision rests on.
    pub const PER_PROCESS: &'static [&'static str] = &[
        EnvVars::UV_SHIM_EXEC_PID,
        EnvVars::UV_SHIM_DEPTH,
        EnvVars::UV_SHIM_IDENTIFY,
    ];
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
