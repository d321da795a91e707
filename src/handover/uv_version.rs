//! What a `uv` binary is: the real uv (and which version), or another
//! uv-shim. Learnt once per binary by running it with `--version` and
//! `UV_SHIM_IDENTIFY=1` (a uv-shim answers `uv-shim <version>` instead of
//! passing the call on; uv ignores the variable), and kept in the cache
//! keyed by the binary's path and [`FileStamp`].

use std::path::{Path, PathBuf};

use crate::cache::Cache;
use crate::env_vars::EnvVars;
use crate::fsutil::{FileStamp, record};
use crate::inputs::Inputs;

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
            EnvVars::UV_SYSTEM_CERTS
        } else {
            EnvVars::UV_NATIVE_TLS
        }
    }
}

/// What a binary said it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// The real uv, this version.
    Uv(Version),
    /// Another uv-shim (its version).
    Shim(String),
}

/// The first word a uv-shim prints when asked to identify itself.
pub const SHIM_ANSWER: &str = "uv-shim";

impl Identity {
    /// Reads the first line `--version` printed.
    pub fn parse(text: &str) -> Option<Identity> {
        let line = text.lines().next()?.trim();
        match line.strip_prefix(SHIM_ANSWER) {
            Some(rest) if rest.starts_with(' ') => Some(Identity::Shim(rest.trim().to_string())),
            _ => Version::parse(line).map(Identity::Uv),
        }
    }
}

/// Where an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSource {
    /// Read from the cache.
    Cached,
    /// Learnt now by running the binary.
    Probed,
}

const KIND: &str = "uv-version";
const FORMAT: &str = "3";

/// What the binary at `path` is, from the cache or by asking it once per
/// binary (path and stamp).
pub fn probe(
    cache: &Cache,
    path: &Path,
    inputs: &Inputs,
) -> Result<(Identity, VersionSource), String> {
    let stamp = inputs.stamp(path);
    if !stamp.exists() {
        return Err(format!("cannot stat {}", path.display()));
    }
    let file = cache.keyed("uv-version", &path.to_string_lossy());
    let cached = record::read(&file, KIND, FORMAT, |lines| {
        let (mut named, mut seen, mut answer) = (None, None, None);
        for (key, value) in lines {
            match key {
                "uv" => named = Some(PathBuf::from(value.as_ref())),
                "stamp" => seen = value.parse::<FileStamp>().ok(),
                "answer" => answer = Identity::parse(&value),
                _ => {}
            }
        }
        (named.as_deref() == Some(path) && seen == Some(stamp)).then_some(answer)?
    });
    if let Some(identity) = cached {
        return Ok((identity, VersionSource::Cached));
    }
    // A wrapper that hides the question from a shim behind it would make
    // that shim ask again, and so on: the depth guard ends such a chain.
    let depth = std::env::var(EnvVars::UV_SHIM_DEPTH)
        .ok()
        .and_then(|d| d.parse::<u32>().ok())
        .unwrap_or(0);
    let output = std::process::Command::new(path)
        .arg("--version")
        .env(EnvVars::UV_SHIM_DISABLE, "1")
        .env(EnvVars::UV_SHIM_IDENTIFY, "1")
        .env(EnvVars::UV_SHIM_DEPTH, (depth + 1).to_string())
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {} --version: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&output.stdout);
    let identity = Identity::parse(&text).ok_or_else(|| {
        format!(
            "`{} --version` printed no version: {:?}",
            path.display(),
            text.trim()
        )
    })?;
    let answer = match &identity {
        Identity::Uv(version) => format!("uv {version}"),
        Identity::Shim(version) => format!("{SHIM_ANSWER} {version}"),
    };
    let mut record = record::Record::new(KIND, FORMAT);
    record
        .push("uv", path.display())
        .push("stamp", stamp)
        .push("answer", answer);
    let _ = record.write(&file);
    Ok((identity, VersionSource::Probed))
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
    fn a_shim_answers_with_its_own_name() {
        assert_eq!(
            Identity::parse("uv-shim 0.1.0\n"),
            Some(Identity::Shim("0.1.0".into()))
        );
        assert_eq!(
            Identity::parse("uv 0.13.9 (x86_64-unknown-linux-gnu)"),
            Some(Identity::Uv(Version(0, 13, 9)))
        );
        assert!(!matches!(
            Identity::parse("uv-shimmer 1.0"),
            Some(Identity::Shim(_))
        ));
    }
}
