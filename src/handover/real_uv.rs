//! Finding the real uv.
//!
//! Order: `UV_SHIM_REAL_UV`, the config key `uv`, then the first `uv` on
//! `PATH` that is neither this binary nor another uv-shim. "Not this
//! binary" compares file identity (device and inode on Unix, the file index
//! on Windows, by `same-file`), not names, so links and copies under other
//! names are recognised; another uv-shim (a system install next to a user
//! install, say) says so when asked ([`uv_version`]), and the search goes
//! on past it. Every path looked at is recorded in [`Inputs`]: a uv
//! appearing earlier on `PATH` changes the choice, so the warm path must
//! notice it. Empty and relative `PATH` entries mean the current folder, as
//! in the shell; a choice that rests on one is not remembered.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::uv_version::{self, Identity, Version, VersionSource};
use crate::cache::Cache;
use crate::inputs::Inputs;
use crate::settings::{Origin, Sourced};

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
    /// The path given is another uv-shim.
    #[error(
        "{origin} names {path}, which is a uv-shim, not the real uv; point it at the real uv binary"
    )]
    OtherShim {
        /// The path.
        path: PathBuf,
        /// Where it was named.
        origin: Origin,
    },
    /// No other uv on PATH.
    #[error(
        "no real uv found on PATH (only uv-shim{}); install uv, or set UV_SHIM_REAL_UV or `uv = \"…\"` in the config",
        shims_seen(.shims)
    )]
    NotFound {
        /// Other uv-shims found on PATH.
        shims: Vec<PathBuf>,
    },
}

fn shims_seen(shims: &[PathBuf]) -> String {
    if shims.is_empty() {
        " itself".into()
    } else {
        let shown: Vec<String> = shims.iter().map(|s| s.display().to_string()).collect();
        format!(" itself and {}", shown.join(", "))
    }
}

/// The real uv, what it said it is, and the other uv-shims passed on the way.
#[derive(Debug)]
pub struct Found {
    /// The real uv and where it was named.
    pub uv: Sourced<PathBuf>,
    /// Its version, or why it is not known.
    pub version: Result<(Version, VersionSource), String>,
    /// Other uv-shims seen on `PATH` before it.
    pub other_shims: Vec<PathBuf>,
}

/// The identity of this very binary, to skip it in the PATH search.
pub fn this_binary() -> Option<same_file::Handle> {
    same_file::Handle::from_path(std::env::current_exe().ok()?).ok()
}

/// The executable name of uv on this platform.
const UV_EXE: &str = if cfg!(windows) { "uv.exe" } else { "uv" };

/// Every place on `path_var` where a `uv` could be, in search order, and
/// whether any of them depends on the current folder.
pub fn path_candidates(path_var: &std::ffi::OsStr) -> (Vec<PathBuf>, bool) {
    let here = std::env::current_dir().unwrap_or_default();
    let mut relative = false;
    let candidates = std::env::split_paths(path_var)
        .map(|dir| {
            if dir.is_relative() {
                // An empty entry is the current folder, as in the shell.
                relative = true;
                here.join(dir).join(UV_EXE)
            } else {
                dir.join(UV_EXE)
            }
        })
        .collect();
    (candidates, relative)
}

/// Finds the real uv: `configured` (env or config key) or the first `uv`
/// on `path_var` that is neither `me` nor another uv-shim.
pub fn find(
    configured: Option<&Sourced<PathBuf>>,
    path_var: Option<OsString>,
    me: Option<&same_file::Handle>,
    cache: &Cache,
    inputs: &Inputs,
) -> Result<Found, RealUvError> {
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
        return match uv_version::probe(cache, path, inputs) {
            Ok((Identity::Shim(_), _)) => Err(RealUvError::OtherShim {
                path: path.clone(),
                origin: configured.origin.clone(),
            }),
            probed => Ok(Found {
                uv: configured.clone(),
                version: version_of(probed),
                other_shims: Vec::new(),
            }),
        };
    }
    let (candidates, relative) = path_candidates(&path_var.unwrap_or_default());
    if relative {
        // The same PATH finds another uv in another folder: nothing to remember.
        inputs.valid_until(0);
    }
    let mut other_shims = Vec::new();
    for candidate in candidates {
        if !inputs.stamp(&candidate).exists() || is_me(&candidate) || !is_executable(&candidate) {
            continue;
        }
        let probed = uv_version::probe(cache, &candidate, inputs);
        if let Ok((Identity::Shim(_), _)) = probed {
            other_shims.push(candidate);
            continue;
        }
        return Ok(Found {
            uv: Sourced::new(candidate, Origin::Env(crate::env_vars::EnvVars::PATH)),
            version: version_of(probed),
            other_shims,
        });
    }
    Err(RealUvError::NotFound { shims: other_shims })
}

/// The version in what a binary said (a binary that said nothing usable is
/// still taken as uv, its version unknown).
fn version_of(
    probed: Result<(Identity, VersionSource), String>,
) -> Result<(Version, VersionSource), String> {
    match probed? {
        (Identity::Uv(version), source) => Ok((version, source)),
        (Identity::Shim(version), _) => Err(format!("a uv-shim {version}, not uv")),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn script(path: &Path, text: &str) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
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
        let cache = Cache::new(dir.path().join("cache"));
        let first = dir.path().join("a");
        let second = dir.path().join("b");
        std::fs::create_dir_all(&first).unwrap();
        std::fs::create_dir_all(&second).unwrap();
        let shim = dir.path().join("shim-binary");
        script(&shim, "#!/bin/sh\necho 'uv 0.13.9'\n");
        std::os::unix::fs::symlink(&shim, first.join("uv")).unwrap();
        std::fs::copy(&shim, second.join("uv")).unwrap();
        let me = same_file::Handle::from_path(&shim).ok();
        let me = me.as_ref();
        let inputs = Inputs::new();
        let path = std::env::join_paths([&first, &second]).unwrap();
        let found = find(None, Some(path.clone()), me, &cache, &inputs).unwrap();
        // Both places looked at are recorded for the warm path.
        assert_eq!(inputs.files().len(), 2);
        assert_eq!(found.uv.value, second.join("uv"));
        assert_eq!(found.version.unwrap().0, Version(0, 13, 9));
        // Only the shim on PATH: a clear error, never a loop.
        std::fs::remove_file(second.join("uv")).unwrap();
        assert!(matches!(
            find(None, Some(path), me, &cache, &inputs),
            Err(RealUvError::NotFound { .. })
        ));
        // Configured to point at the shim itself.
        let configured = Sourced::new(first.join("uv"), Origin::Default);
        assert!(matches!(
            find(Some(&configured), None, me, &cache, &inputs),
            Err(RealUvError::IsShim { .. })
        ));
    }

    /// A second uv-shim earlier on PATH (a user install in front of a system
    /// install) is passed over: it says what it is when asked.
    #[cfg(unix)]
    #[test]
    fn another_shim_on_path_is_passed_over() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        let (first, second) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(&first).unwrap();
        std::fs::create_dir_all(&second).unwrap();
        script(
            &first.join("uv"),
            "#!/bin/sh\nif [ \"$UV_SHIM_IDENTIFY\" = 1 ]; then echo 'uv-shim 9.9.9'; else echo 'uv 0.1.0'; fi\n",
        );
        script(&second.join("uv"), "#!/bin/sh\necho 'uv 0.13.9'\n");
        let path = std::env::join_paths([&first, &second]).unwrap();
        let found = find(None, Some(path), None, &cache, &Inputs::new()).unwrap();
        assert_eq!(found.uv.value, second.join("uv"));
        assert_eq!(found.other_shims, vec![first.join("uv")]);
        // Asked once per binary: the answer is cached by its stamp.
        let (_, source) = uv_version::probe(&cache, &first.join("uv"), &Inputs::new()).unwrap();
        assert_eq!(source, VersionSource::Cached);
    }

    #[test]
    fn empty_and_relative_entries_mean_the_current_folder() {
        let here = std::env::current_dir().unwrap();
        // `/abs` has no drive, so on Windows it is relative too.
        let abs = if cfg!(windows) { r"C:\abs" } else { "/abs" };
        let path = std::env::join_paths(["", "rel", abs]).unwrap();
        let (candidates, relative) = path_candidates(&path);
        assert!(relative);
        assert_eq!(
            candidates,
            [
                here.join(UV_EXE),
                here.join("rel").join(UV_EXE),
                Path::new(abs).join(UV_EXE)
            ]
        );
        let inputs = Inputs::new();
        let cache = Cache::new(std::env::temp_dir().join("uv-shim-test-unused"));
        let _ = find(None, Some(path), None, &cache, &inputs);
        assert_eq!(
            inputs.expires(),
            0,
            "a choice resting on the current folder is not remembered"
        );
    }
}
