//! The warm path: the last hand-over, remembered.
//!
//! After a clean run of the full pipeline the shim writes down what it
//! decided (the real uv, the variables) together with everything the
//! decision rested on, as [`Inputs`] recorded it while the pipeline ran:
//! each variable read (as a hash of its value), the [`FileStamp`] of each
//! file read or looked for, and the moment the answer goes stale. The next
//! call reads that one small record, checks those variables and stats those
//! paths and, when nothing moved, execs at once: no TOML, no URL parsing, no
//! JSON, no network. Anything unexpected falls back to the full pipeline,
//! which is always right; this file only ever saves time.
//!
//! The record's name is a hash of the binary, the face it was started
//! under (`uv`, `uvx`) and every variable in [`EnvVars::ALL`], so two shells
//! with different settings, or `uv` and `uvx`, keep two plans instead of
//! overwriting each other's.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::env_vars::EnvVars;
use crate::fsutil::{FileStamp, Record, record};
use crate::inputs::Inputs;

const KIND: &str = "plan";
// The built-in config's identity is part of the format: a binary built with
// another one (at the same path) never follows a plan this one made.
const VERSION: &str = concat!(
    "3 ",
    env!("CARGO_PKG_VERSION"),
    " ",
    env!("UV_SHIM_BUILTIN_ID")
);

/// What the warm path hands over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remembered {
    /// The program to start: the real uv (or, for `uvx`, the real uvx).
    pub uv: PathBuf,
    /// Arguments put before the caller's (`tool uvx` when uv stands in for uvx).
    pub prefix: Vec<String>,
    /// The variables to set.
    pub vars: Vec<(String, String)>,
}

/// The process environment as the warm path reads it: empty means unset.
fn process_var(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// Short hash of one variable's value, `-` when unset.
fn value_hash(value: Option<&OsStr>) -> String {
    match value {
        Some(value) => crate::fsutil::hex(&Sha256::digest(value.as_encoded_bytes())[..8]),
        None => "-".into(),
    }
}

/// The plan file for this binary and this environment (`env` gives each
/// variable's value, empty meaning unset).
pub fn path(
    cache_dir: &Path,
    exe: &Path,
    face: &str,
    env: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> PathBuf {
    let mut hash = Sha256::new();
    hash.update(exe.as_os_str().as_encoded_bytes());
    hash.update(b"\0");
    hash.update(face.as_bytes());
    for name in EnvVars::ALL {
        if EnvVars::PER_PROCESS.contains(name) {
            continue;
        }
        if let Some(value) = env(name) {
            hash.update(b"\0");
            hash.update(name.as_bytes());
            hash.update(b"=");
            hash.update(value.as_encoded_bytes());
        }
    }
    cache_dir
        .join("plan")
        .join(crate::fsutil::hex(&hash.finalize()[..8]))
}

/// The plan file for this process, started as `face`.
pub fn path_for_this_process(cache_dir: &Path, exe: &Path, face: &str) -> PathBuf {
    path(cache_dir, exe, face, process_var)
}

/// Reads the plan at `path`; `None` unless every variable and file it rests
/// on is unchanged and it has not expired. A plan can only say what the
/// shim itself would say: it sets only variables the shim hands to uv, and
/// the uv it names is one of the files it rests on, so a plan nobody made
/// (or made for another binary) is no plan.
pub fn load(path: &Path, now: u64) -> Option<Remembered> {
    record::read(path, KIND, VERSION, |lines| {
        let mut uv = None;
        let mut vars = Vec::new();
        let mut prefix = Vec::new();
        let mut files = Vec::new();
        for (kind, rest) in lines {
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
                "var" => {
                    let (name, want) = rest.split_once(' ')?;
                    if value_hash(process_var(name).as_deref()) != want {
                        return None;
                    }
                }
                "file" => {
                    let (want, file) = rest.split_once(' ')?;
                    if FileStamp::of(Path::new(file)) != want.parse().ok()? {
                        return None;
                    }
                    files.push(PathBuf::from(file));
                }
                "uv" => uv = Some(PathBuf::from(rest.as_ref())),
                "arg" => prefix.push(rest.to_string()),
                "set" => {
                    let (name, value) = rest.split_once(' ')?;
                    if !EnvVars::HANDED_TO_UV.contains(&name) {
                        return None;
                    }
                    vars.push((name.to_string(), value.to_string()));
                }
                _ => return None,
            }
        }
        let uv = uv?;
        // The only arguments a hand-over ever puts first: uvx's, as uv takes them.
        let known = match prefix.as_slice() {
            [] => true,
            [tool, command] => tool == "tool" && (command == "uvx" || command == "run"),
            _ => false,
        };
        if !known {
            return None;
        }
        files
            .contains(&uv)
            .then_some(Remembered { uv, prefix, vars })
    })
}

/// Writes a plan: the hand-over, what it rests on, when it was made and when it expires.
pub fn store(
    path: &Path,
    hand_over: &Remembered,
    inputs: &Inputs,
    made: u64,
    expires: u64,
) -> std::io::Result<()> {
    let mut record = Record::new(KIND, VERSION);
    record.push("made", made).push("expires", expires);
    for (name, value) in inputs.vars() {
        record.push(
            "var",
            format_args!("{name} {}", value_hash(value.as_deref())),
        );
    }
    for (file, stamp) in inputs.files() {
        record.push("file", format_args!("{stamp} {}", file.display()));
    }
    record.push("uv", hand_over.uv.display());
    for arg in &hand_over.prefix {
        record.push("arg", arg);
    }
    for (name, value) in &hand_over.vars {
        record.push("set", format_args!("{name} {value}"));
    }
    record.write(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hand_over() -> Remembered {
        Remembered {
            uv: "/opt/uv/bin/uv".into(),
            prefix: vec!["tool".into(), "uvx".into()],
            vars: vec![("UV_PYTHON_DOWNLOADS_JSON_URL".into(), "/c/a b.json".into())],
        }
    }

    #[test]
    fn round_trip_and_invalidation() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("shim.toml");
        let absent = dir.path().join("absent.toml");
        std::fs::write(&config, "mirror = \"x\"\n").unwrap();
        let inputs = Inputs::new();
        inputs.read_to_string(&config).unwrap();
        inputs.is_file(&absent);
        inputs.stamp(&hand_over().uv);
        let plan = dir.path().join("plan/p");
        store(&plan, &hand_over(), &inputs, 10, 100).unwrap();
        assert_eq!(load(&plan, 99), Some(hand_over()));
        // Expired.
        assert_eq!(load(&plan, 100), None);
        // Made after "now": the clock went back.
        assert_eq!(load(&plan, 9), None);
        // A file that appears.
        std::fs::write(&absent, "").unwrap();
        assert_eq!(load(&plan, 50), None);
        std::fs::remove_file(&absent).unwrap();
        assert_eq!(load(&plan, 50), Some(hand_over()));
        // A file that changes.
        std::fs::write(&config, "mirror = \"y\"\n").unwrap();
        assert_eq!(load(&plan, 50), None);
    }

    /// A source added to discovery tomorrow reads its file through the same
    /// `Inputs` every source uses; nobody adds it to a list, and still the
    /// warm path notices when that file changes.
    #[test]
    fn a_new_source_is_watched_without_being_listed() {
        fn tomorrows_source(inputs: &Inputs, folder: &Path) -> Option<String> {
            inputs.read_to_string(&folder.join("new-source.toml")).ok()
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("new-source.toml"), "mirror = 1\n").unwrap();
        let inputs = Inputs::new();
        inputs.stamp(&hand_over().uv);
        assert!(tomorrows_source(&inputs, dir.path()).is_some());
        let plan = dir.path().join("plan/p");
        store(&plan, &hand_over(), &inputs, 10, 100).unwrap();
        assert_eq!(load(&plan, 50), Some(hand_over()));
        std::fs::write(dir.path().join("new-source.toml"), "mirror = 22\n").unwrap();
        assert_eq!(load(&plan, 50), None);
    }

    #[test]
    fn a_variable_read_is_checked_by_value() {
        // The test process's own PATH stands for any variable a source reads.
        let dir = tempfile::tempdir().unwrap();
        let plan = dir.path().join("plan/p");
        let inputs = Inputs::new();
        inputs.stamp(&hand_over().uv);
        inputs.var_os(EnvVars::PATH);
        store(&plan, &hand_over(), &inputs, 10, 100).unwrap();
        assert_eq!(load(&plan, 50), Some(hand_over()));
        let text = std::fs::read_to_string(&plan).unwrap();
        let (_, after) = text.split_once("var PATH ").unwrap();
        let hash = after.lines().next().unwrap();
        std::fs::write(&plan, text.replace(hash, "0000000000000000")).unwrap();
        assert_eq!(load(&plan, 50), None);
    }

    #[test]
    fn key_follows_the_inputs_only() {
        let dir = Path::new("/c");
        let exe = Path::new("/bin/uv-shim");
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, v)| *k == name && !v.is_empty())
                    .map(|(_, v)| std::ffi::OsString::from(v))
            }
        };
        let base = path(
            dir,
            exe,
            "uv",
            env(&[("UV_SHIM_MIRROR", "a"), ("TERM", "x")]),
        );
        assert_eq!(
            base,
            path(
                dir,
                exe,
                "uv",
                env(&[("TERM", "y"), ("UV_SHIM_MIRROR", "a")])
            )
        );
        assert_eq!(
            base,
            path(
                dir,
                exe,
                "uv",
                env(&[("UV_SHIM_MIRROR", "a"), ("UV_SHIM_DEPTH", "3")])
            )
        );
        assert_eq!(
            base,
            path(
                dir,
                exe,
                "uv",
                env(&[("UV_SHIM_MIRROR", "a"), ("UV_DEFAULT_INDEX", "")])
            )
        );
        assert_ne!(base, path(dir, exe, "uv", env(&[("UV_SHIM_MIRROR", "b")])));
        assert_ne!(
            base,
            path(
                dir,
                exe,
                "uv",
                env(&[("UV_SHIM_MIRROR", "a"), ("UV_DEFAULT_INDEX", "i")])
            )
        );
        assert_ne!(
            base,
            path(
                dir,
                Path::new("/other"),
                "uv",
                env(&[("UV_SHIM_MIRROR", "a")])
            )
        );
        // `uv` and `uvx` through the same binary keep a plan each.
        assert_ne!(
            base,
            path(
                dir,
                exe,
                "uvx",
                env(&[("UV_SHIM_MIRROR", "a"), ("TERM", "x")])
            )
        );
    }

    /// A plan planted by someone else may name any program and any
    /// variable: it is only taken when it says what the shim would say.
    #[test]
    fn a_plan_says_only_what_the_shim_would_say() {
        let dir = tempfile::tempdir().unwrap();
        let uv = dir.path().join("uv");
        std::fs::write(&uv, "#!/bin/sh\n").unwrap();
        let plan = dir.path().join("plan/p");
        let ours = |vars: Vec<(String, String)>| Remembered {
            uv: uv.clone(),
            prefix: Vec::new(),
            vars,
        };
        // The uv is among the files the plan rests on: taken.
        let inputs = Inputs::new();
        inputs.stamp(&uv);
        store(&plan, &ours(hand_over().vars), &inputs, 10, 100).unwrap();
        assert!(load(&plan, 50).is_some());
        // A variable the shim never sets (LD_PRELOAD, say): refused.
        let preload = vec![("LD_PRELOAD".to_string(), "/tmp/evil.so".to_string())];
        store(&plan, &ours(preload), &inputs, 10, 100).unwrap();
        assert_eq!(load(&plan, 50), None);
        // Arguments the shim never puts before the caller's: refused.
        let mut odd = ours(hand_over().vars);
        odd.prefix = vec!["self".into(), "uninstall".into()];
        store(&plan, &odd, &inputs, 10, 100).unwrap();
        assert_eq!(load(&plan, 50), None);
        // A uv that is not among the files it rests on: refused.
        store(&plan, &hand_over(), &inputs, 10, 100).unwrap();
        assert_eq!(load(&plan, 50), None);
        // No dependency at all: refused.
        store(&plan, &ours(hand_over().vars), &Inputs::new(), 10, 100).unwrap();
        assert_eq!(load(&plan, 50), None);
    }

    #[test]
    fn garbage_is_no_plan() {
        let dir = tempfile::tempdir().unwrap();
        let plan = dir.path().join("p");
        std::fs::write(
            &plan,
            format!("uv-shim-{KIND} {VERSION}\nexpires soon\nuv /x\n"),
        )
        .unwrap();
        assert_eq!(load(&plan, 1), None);
        std::fs::write(&plan, "something else\n").unwrap();
        assert_eq!(load(&plan, 1), None);
    }
}
