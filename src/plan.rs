//! The warm path: the last hand-over, remembered.
//!
//! After a clean run of the full pipeline the shim writes down what it
//! decided (the real uv, the variables) together with everything the
//! decision rested on: the environment (as a hash in the file name), the
//! stamp (size, mtime, inode) of every file it read or looked for, and the
//! moment the metadata goes stale. The next call reads that one small file,
//! stats those paths and, when nothing moved, execs at once: no TOML, no URL
//! parsing, no JSON, no network. Anything unexpected falls back to the full
//! pipeline, which is always right; this file only ever saves time.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::env_vars::EnvVars;

const MAGIC: &str = concat!("uv-shim-plan 1 ", env!("CARGO_PKG_VERSION"));

/// What the warm path hands over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandOver {
    /// The real uv.
    pub uv: PathBuf,
    /// The variables to set.
    pub vars: Vec<(String, String)>,
}

/// Whether a variable is part of the decision. Every `UV_SHIM_*` variable is,
/// except the guard variables that change with every process, plus the
/// variables the pipeline reads to predict uv or find files.
fn is_input(name: &OsStr) -> bool {
    let Some(name) = name.to_str() else {
        return false;
    };
    if name.starts_with("UV_SHIM_") {
        return name != EnvVars::UV_SHIM_EXEC_PID && name != EnvVars::UV_SHIM_DEPTH;
    }
    matches!(
        name,
        EnvVars::UV_PYTHON_DOWNLOADS_JSON_URL
            | EnvVars::UV_PYTHON_INSTALL_MIRROR
            | EnvVars::UV_PYPY_INSTALL_MIRROR
            | EnvVars::UV_DEFAULT_INDEX
            | EnvVars::UV_INDEX_URL
            | EnvVars::UV_ASTRAL_MIRROR_URL
            | EnvVars::UV_CONFIG_FILE
            | EnvVars::UV_NO_CONFIG
            | EnvVars::PATH
            | EnvVars::HOME
            | EnvVars::XDG_CONFIG_HOME
            | EnvVars::XDG_CONFIG_DIRS
            | EnvVars::XDG_CACHE_HOME
            | EnvVars::APPDATA
            | EnvVars::PROGRAMDATA
    )
}

/// FNV-1a: stable across runs and builds, cheap, and enough to name a file.
fn fnv(hash: &mut u64, bytes: &[u8]) {
    for byte in bytes {
        *hash ^= u64::from(*byte);
        *hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
}

/// The plan file for this environment and this binary.
pub fn path(
    cache_dir: &Path,
    exe: &Path,
    vars: impl Iterator<Item = (OsString, OsString)>,
) -> PathBuf {
    let mut inputs: Vec<(OsString, OsString)> = vars.filter(|(name, _)| is_input(name)).collect();
    inputs.sort();
    let mut hash = 0xcbf2_9ce4_8422_2325;
    fnv(&mut hash, exe.as_os_str().as_encoded_bytes());
    for (name, value) in &inputs {
        // Empty means unset, everywhere in the shim.
        if value.is_empty() {
            continue;
        }
        fnv(&mut hash, b"\0");
        fnv(&mut hash, name.as_encoded_bytes());
        fnv(&mut hash, b"=");
        fnv(&mut hash, value.as_encoded_bytes());
    }
    cache_dir.join("plan").join(format!("{hash:016x}"))
}

/// A file's stamp: size, mtime and inode, or `-` when it does not exist.
pub fn stamp(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(meta) => {
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{}:{mtime}:{}", meta.len(), inode(&meta))
        }
        Err(_) => "-".into(),
    }
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.ino()
}

#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> u64 {
    0
}

/// Reads the plan at `path`; `None` unless every dependency is unchanged and it has not expired.
pub fn load(path: &Path, now: u64) -> Option<HandOver> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    if lines.next()? != MAGIC {
        return None;
    }
    let mut uv = None;
    let mut vars = Vec::new();
    for line in lines {
        let (kind, rest) = line.split_once(' ')?;
        match kind {
            "expires" => {
                if now >= rest.parse::<u64>().ok()? {
                    return None;
                }
            }
            // A plan made "in the future" means the clock went back: its
            // expiry cannot be trusted either.
            "made" => {
                if rest.parse::<u64>().ok()? > now {
                    return None;
                }
            }
            "dep" => {
                let (want, file) = rest.split_once(' ')?;
                if stamp(Path::new(file)) != want {
                    return None;
                }
            }
            "uv" => uv = Some(PathBuf::from(rest)),
            "set" => {
                let (name, value) = rest.split_once(' ')?;
                vars.push((name.to_string(), value.to_string()));
            }
            _ => return None,
        }
    }
    Some(HandOver { uv: uv?, vars })
}

/// Writes a plan: the hand-over, the files it rests on, when it was made and when it expires.
pub fn store(
    path: &Path,
    hand_over: &HandOver,
    deps: &[PathBuf],
    made: u64,
    expires: u64,
) -> std::io::Result<()> {
    let mut text = Vec::new();
    writeln!(text, "{MAGIC}")?;
    writeln!(text, "made {made}")?;
    writeln!(text, "expires {expires}")?;
    for dep in deps {
        let shown = dep.to_string_lossy();
        // A path that cannot be written on one line cannot be checked: no plan.
        if shown.contains('\n') || hand_over.uv.to_string_lossy().contains('\n') {
            return Ok(());
        }
        writeln!(text, "dep {} {shown}", stamp(dep))?;
    }
    writeln!(text, "uv {}", hand_over.uv.display())?;
    for (name, value) in &hand_over.vars {
        if value.contains('\n') {
            return Ok(());
        }
        writeln!(text, "set {name} {value}")?;
    }
    crate::cache::write_atomic(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_invalidation() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("shim.toml");
        let absent = dir.path().join("absent.toml");
        std::fs::write(&config, "mirror = \"x\"\n").unwrap();
        let plan = dir.path().join("plan/p");
        let hand_over = HandOver {
            uv: "/opt/uv/bin/uv".into(),
            vars: vec![("UV_PYTHON_DOWNLOADS_JSON_URL".into(), "/c/a b.json".into())],
        };
        store(
            &plan,
            &hand_over,
            &[config.clone(), absent.clone()],
            10,
            100,
        )
        .unwrap();
        assert_eq!(load(&plan, 99), Some(hand_over.clone()));
        // Expired.
        assert_eq!(load(&plan, 100), None);
        // Made after "now": the clock went back.
        assert_eq!(load(&plan, 9), None);
        // A file that appears.
        std::fs::write(&absent, "").unwrap();
        assert_eq!(load(&plan, 50), None);
        std::fs::remove_file(&absent).unwrap();
        assert_eq!(load(&plan, 50), Some(hand_over));
        // A file that changes.
        std::fs::write(&config, "mirror = \"y\"\n").unwrap();
        assert_eq!(load(&plan, 50), None);
    }

    #[test]
    fn key_follows_the_inputs_only() {
        let dir = Path::new("/c");
        let exe = Path::new("/bin/uv-shim");
        let vars = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v)))
                .collect::<Vec<_>>()
                .into_iter()
        };
        let base = path(dir, exe, vars(&[("UV_SHIM_MIRROR", "a"), ("TERM", "x")]));
        assert_eq!(
            base,
            path(dir, exe, vars(&[("TERM", "y"), ("UV_SHIM_MIRROR", "a")]))
        );
        assert_eq!(
            base,
            path(
                dir,
                exe,
                vars(&[("UV_SHIM_MIRROR", "a"), ("UV_SHIM_DEPTH", "3")])
            )
        );
        assert_eq!(
            base,
            path(
                dir,
                exe,
                vars(&[("UV_SHIM_MIRROR", "a"), ("UV_DEFAULT_INDEX", "")])
            )
        );
        assert_ne!(base, path(dir, exe, vars(&[("UV_SHIM_MIRROR", "b")])));
        assert_ne!(
            base,
            path(
                dir,
                exe,
                vars(&[("UV_SHIM_MIRROR", "a"), ("UV_DEFAULT_INDEX", "i")])
            )
        );
        assert_ne!(
            base,
            path(dir, Path::new("/other"), vars(&[("UV_SHIM_MIRROR", "a")]))
        );
    }

    #[test]
    fn garbage_is_no_plan() {
        let dir = tempfile::tempdir().unwrap();
        let plan = dir.path().join("p");
        std::fs::write(&plan, format!("{MAGIC}\nexpires soon\nuv /x\n")).unwrap();
        assert_eq!(load(&plan, 1), None);
        std::fs::write(&plan, "something else\n").unwrap();
        assert_eq!(load(&plan, 1), None);
    }
}
