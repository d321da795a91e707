//! What a run of the pipeline read: every environment variable and every
//! file, as it was at the moment it was read.
//!
//! Discovery, the prediction of uv's own config, the search for the real uv
//! and the metadata cache read the environment through [`Inputs::lookup`]
//! and files through [`Inputs::read_to_string`], [`Inputs::stamp`] and
//! friends. The warm plan is then written from this record alone, so a new
//! source or config file can never be forgotten by the warm path: whatever
//! it reads is on the list because it read it.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::env_vars::Lookup;
use crate::fsutil::FileStamp;

/// The record of one run's reads.
#[derive(Debug)]
pub struct Inputs {
    vars: RefCell<BTreeMap<&'static str, Option<OsString>>>,
    files: RefCell<BTreeMap<PathBuf, FileStamp>>,
    valid_until: Cell<u64>,
}

impl Default for Inputs {
    fn default() -> Self {
        Inputs {
            vars: RefCell::default(),
            files: RefCell::default(),
            valid_until: Cell::new(u64::MAX),
        }
    }
}

impl Inputs {
    /// An empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `name` through `env` and records the answer (unset included).
    pub fn var(&self, env: Lookup, name: &str) -> Option<String> {
        let value = env(name);
        self.note_var(name, value.as_ref().map(OsString::from));
        value
    }

    /// Reads `name` from the process environment as it is (not UTF-8
    /// allowed: `PATH`), records it, and returns it; empty means unset.
    pub fn var_os(&self, name: &str) -> Option<OsString> {
        let value = std::env::var_os(name).filter(|v| !v.is_empty());
        self.note_var(name, value.clone());
        value
    }

    fn note_var(&self, name: &str, value: Option<OsString>) {
        let Some(name) = crate::env_vars::EnvVars::ALL
            .iter()
            .find(|known| **known == name)
        else {
            // Every name comes from the registry; one that does not cannot be
            // checked by the warm path, so no plan may rest on this run.
            debug_assert!(false, "{name} is not in EnvVars");
            self.valid_until.set(0);
            return;
        };
        self.vars.borrow_mut().entry(name).or_insert(value);
    }

    /// Stamps `path` (recording it) and returns the stamp.
    pub fn stamp(&self, path: &Path) -> FileStamp {
        let stamp = FileStamp::of(path);
        self.files
            .borrow_mut()
            .entry(path.to_path_buf())
            .or_insert(stamp);
        stamp
    }

    /// Whether `path` is a regular file (recorded).
    pub fn is_file(&self, path: &Path) -> bool {
        self.stamp(path);
        path.is_file()
    }

    /// Reads a file as text, recording its stamp taken before the read, so a
    /// change during the read shows as a change next time.
    pub fn read_to_string(&self, path: &Path) -> std::io::Result<String> {
        self.stamp(path);
        std::fs::read_to_string(path)
    }

    /// Reads a file of this user's private cache (see
    /// [`crate::fsutil::private::read_to_string`]), recording its stamp.
    pub fn read_private(&self, path: &Path) -> std::io::Result<String> {
        self.stamp(path);
        crate::fsutil::private::read_to_string(path)
    }

    /// What this run decided stays right until `when` (seconds since the epoch) at the latest.
    pub fn valid_until(&self, when: u64) {
        self.valid_until.set(self.valid_until.get().min(when));
    }

    /// The latest moment the reads may be trusted (`u64::MAX`: no limit set).
    pub fn expires(&self) -> u64 {
        self.valid_until.get()
    }

    /// The variables read, with their values (`None`: unset), by name.
    pub fn vars(&self) -> Vec<(&'static str, Option<OsString>)> {
        self.vars
            .borrow()
            .iter()
            .map(|(name, value)| (*name, value.clone()))
            .collect()
    }

    /// The files read or looked for, with their stamps, by path.
    pub fn files(&self) -> Vec<(PathBuf, FileStamp)> {
        self.files
            .borrow()
            .iter()
            .map(|(path, stamp)| (path.clone(), *stamp))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_first_sight_of_each_read() {
        let inputs = Inputs::new();
        let env = |name: &str| (name == "UV_SHIM_MIRROR").then(|| "https://m.example/".into());
        assert!(inputs.var(&env, "UV_SHIM_MIRROR").is_some());
        assert!(inputs.var(&env, "UV_SHIM_CONFIG").is_none());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.toml");
        assert!(inputs.read_to_string(&file).is_err());
        std::fs::write(&file, "x").unwrap();
        // The first look is what the run decided on.
        assert!(inputs.is_file(&file));
        assert_eq!(inputs.files(), vec![(file, FileStamp::Absent)]);
        assert_eq!(
            inputs.vars(),
            vec![
                ("UV_SHIM_CONFIG", None),
                ("UV_SHIM_MIRROR", Some("https://m.example/".into()))
            ]
        );
        assert_eq!(inputs.expires(), u64::MAX);
        inputs.valid_until(50);
        inputs.valid_until(70);
        assert_eq!(inputs.expires(), 50);
    }
}
