//! Finding the real uv and learning its version.
//!
//! Order: `UV_SHIM_REAL_UV`, the config key `uv`, then the first `uv` on
//! `PATH` that is not this binary. "Not this binary" compares file identity
//! (device and inode on Unix, the file index on Windows, by `same-file`),
//! not names, so links and copies under other names are recognised. Every
//! path looked at is recorded in [`Inputs`]: a uv appearing earlier on
//! `PATH` changes the choice, so the warm path must notice it. The version
//! is learnt once per binary (its [`FileStamp`]) and cached.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::cache::Cache;
use crate::fsutil::{FileStamp, record};
use crate::inputs::Inputs;
use crate::settings::{Origin, Sourced};

/// uv's first version that reads `UV_PYTHON_DOWNLOADS_JSON_URL`.
pub const FIRST_JSON_URL_VERSION: Version = Version(0, 6, 13);

/// uv's first version that reads `UV_SYSTEM_CERTS` (and warns about `UV_NATIVE_TLS`).
pub const FIRST_SYSTEM_CERTS_VERSION: Version = Version(0, 11, 0);

/// A uv version (major, minor, patch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

impl Version {
    /// Parses `0.6.13`, or the output of `uv --version` (`uv 0.6.13 (abc 2025-01-01)`).
    pub fn parse(text: &str) -> Option<Version> {
        let word = text
            .split_whitespace()
            .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))?;
        let mut parts = word.split(['.', '-', '+']).map(|p| p.parse::<u32>().ok());
        Some(Version(
            parts.next()??,
            parts.next()??,
            parts.next().flatten().unwrap_or(0),
        ))
    }

    /// Whether this uv reads `UV_PYTHON_DOWNLOADS_JSON_URL`.
    pub fn reads_json_url(self) -> bool {
        self >= FIRST_JSON_URL_VERSION
    }

    /// The variable that makes this uv trust the platform's certificate store.
    pub fn system_certs_var(self) -> &'static str {
        if self >= FIRST_SYSTEM_CERTS_VERSION {
            crate::env_vars::EnvVars::UV_SYSTEM_CERTS
        } else {
            crate::env_vars::EnvVars::UV_NATIVE_TLS
        }
    }
}

/// Why the real uv could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RealUvError {
    /// The path given does not exist or is not a file.
    #[error("the real uv named by {origin} does not exist: {path}")]
    Missing {
        /// The path.
        path: PathBuf,
        /// Where it was named.
        origin: Origin,
    },
    /// The path given is this shim.
    #[error(
        "{origin} names {path}, which is uv-shim itself, not the real uv; point it at the real uv binary"
    )]
    IsShim {
        /// The path.
        path: PathBuf,
        /// Where it was named.
        origin: Origin,
    },
    /// No other uv on PATH.
    #[error(
        "no real uv found on PATH (only uv-shim itself); install uv, or set UV_SHIM_REAL_UV or `uv = \"…\"` in the config"
    )]
    NotFound,
}

/// The identity of this very binary, to skip it in the PATH search.
pub fn this_binary() -> Option<same_file::Handle> {
    same_file::Handle::from_path(std::env::current_exe().ok()?).ok()
}

/// The executable name of uv on this platform.
const UV_EXE: &str = if cfg!(windows) { "uv.exe" } else { "uv" };

/// Every place on `path_var` where a `uv` could be, in search order.
pub fn path_candidates(path_var: &std::ffi::OsStr) -> impl Iterator<Item = PathBuf> + '_ {
    std::env::split_paths(path_var).map(|dir| dir.join(UV_EXE))
}

/// Finds the real uv: `configured` (env or config key) or the first `uv`
/// on `path_var` that is not `me`.
pub fn find(
    configured: Option<&Sourced<PathBuf>>,
    path_var: Option<OsString>,
    me: Option<&same_file::Handle>,
    inputs: &Inputs,
) -> Result<Sourced<PathBuf>, RealUvError> {
    let is_me = |path: &Path| {
        me.is_some_and(|me| same_file::Handle::from_path(path).is_ok_and(|h| &h == me))
    };
    if let Some(configured) = configured {
        let path = &configured.value;
        if !inputs.is_file(path) {
            return Err(RealUvError::Missing {
                path: path.clone(),
                origin: configured.origin.clone(),
            });
        }
        if is_me(path) {
            return Err(RealUvError::IsShim {
                path: path.clone(),
                origin: configured.origin.clone(),
            });
        }
        return Ok(configured.clone());
    }
    for candidate in path_candidates(&path_var.unwrap_or_default()) {
        if !inputs.stamp(&candidate).exists() || is_me(&candidate) || !is_executable(&candidate) {
            continue;
        }
        return Ok(Sourced::new(
            candidate,
            Origin::Env(crate::env_vars::EnvVars::PATH),
        ));
    }
    Err(RealUvError::NotFound)
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Where a version came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSource {
    /// Read from the cache.
    Cached,
    /// Learnt now by running `uv --version`.
    Probed,
}

const VERSION_KIND: &str = "uv-version";
const VERSION_FORMAT: &str = "2";

/// The real uv's version, from the cache or by running `uv --version` once
/// per binary (path and stamp).
pub fn version(
    cache: &Cache,
    uv: &Path,
    inputs: &Inputs,
) -> Result<(Version, VersionSource), String> {
    let stamp = inputs.stamp(uv);
    if !stamp.exists() {
        return Err(format!("cannot stat {}", uv.display()));
    }
    let file = cache.keyed("uv-version", &uv.to_string_lossy());
    let cached = record::read(&file, VERSION_KIND, VERSION_FORMAT, |lines| {
        let (mut path, mut seen, mut version) = (None, None, None);
        for (key, value) in lines {
            match key {
                "uv" => path = Some(PathBuf::from(value.as_ref())),
                "stamp" => seen = value.parse::<FileStamp>().ok(),
                "version" => version = Version::parse(&value),
                _ => {}
            }
        }
        (path.as_deref() == Some(uv) && seen == Some(stamp)).then_some(version)?
    });
    if let Some(version) = cached {
        return Ok((version, VersionSource::Cached));
    }
    let output = std::process::Command::new(uv)
        .arg("--version")
        .env(crate::env_vars::EnvVars::UV_SHIM_DISABLE, "1")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {} --version: {e}", uv.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = Version::parse(&text).ok_or_else(|| {
        format!(
            "`{} --version` printed no version: {:?}",
            uv.display(),
            text.trim()
        )
    })?;
    let mut record = record::Record::new(VERSION_KIND, VERSION_FORMAT);
    record
        .push("uv", uv.display())
        .push("stamp", stamp)
        .push("version", version);
    let _ = record.write(&file);
    Ok((version, VersionSource::Probed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_uv_version_lines() {
        assert_eq!(
            Version::parse("uv 0.13.9 (x86_64-unknown-linux-gnu)"),
            Some(Version(0, 13, 9))
        );
        assert_eq!(Version::parse("uv 0.5.31"), Some(Version(0, 5, 31)));
        assert_eq!(
            Version::parse("uv 0.6.13 (a1b2 2025-04-01)"),
            Some(Version(0, 6, 13))
        );
        assert_eq!(Version::parse("nonsense"), None);
    }

    #[test]
    fn json_url_threshold() {
        assert!(!Version(0, 6, 12).reads_json_url());
        assert!(Version(0, 6, 13).reads_json_url());
        assert!(Version(0, 13, 9).reads_json_url());
        assert!(!Version(0, 5, 31).reads_json_url());
    }

    #[test]
    fn system_certs_variable_by_version() {
        assert_eq!(Version(0, 10, 9).system_certs_var(), "UV_NATIVE_TLS");
        assert_eq!(Version(0, 11, 0).system_certs_var(), "UV_SYSTEM_CERTS");
        assert_eq!(Version(0, 5, 31).system_certs_var(), "UV_NATIVE_TLS");
    }

    #[cfg(unix)]
    #[test]
    fn path_search_skips_this_binary_by_identity() {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("a");
        let second = dir.path().join("b");
        std::fs::create_dir_all(&first).unwrap();
        std::fs::create_dir_all(&second).unwrap();
        let shim = dir.path().join("shim-binary");
        std::fs::write(&shim, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink(&shim, first.join("uv")).unwrap();
        std::fs::copy(&shim, second.join("uv")).unwrap();
        let me = same_file::Handle::from_path(&shim).ok();
        let me = me.as_ref();
        let inputs = Inputs::new();
        let path = std::env::join_paths([&first, &second]).unwrap();
        let found = find(None, Some(path.clone()), me, &inputs).unwrap();
        // Both places looked at are recorded for the warm path.
        assert_eq!(inputs.files().len(), 2);
        assert_eq!(found.value, second.join("uv"));
        // Only the shim on PATH: a clear error, never a loop.
        std::fs::remove_file(second.join("uv")).unwrap();
        assert!(matches!(
            find(None, Some(path), me, &inputs),
            Err(RealUvError::NotFound)
        ));
        // Configured to point at the shim itself.
        let configured = Sourced::new(first.join("uv"), Origin::Default);
        assert!(matches!(
            find(Some(&configured), None, me, &inputs),
            Err(RealUvError::IsShim { .. })
        ));
    }
}
