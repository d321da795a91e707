//! The command line of `uv-shim mirror`: what the user typed, as clap
//! parses it. `mirror sync` and `mirror verify` resolve it in their own modules.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};

use super::select::PythonSpec;
use crate::urls::UPSTREAM_METADATA;

/// `uv-shim mirror …`.
#[derive(Debug, Subcommand)]
pub enum MirrorCommand {
    /// Download Python builds from uv's upstream list into DIR and write its download-metadata.json.
    ///
    /// Files already present and verified are skipped, interrupted downloads
    /// resume, and the metadata lists only files that passed their sha256,
    /// merged with what the mirror already held.
    Sync(Box<SyncArgs>),
    /// Rehash every file of the mirror in DIR; report missing, corrupt and unlisted files.
    Verify(VerifyArgs),
    /// Make a minisign key pair for signing the mirror's metadata: KEYFILE (secret) and KEYFILE.pub.
    ///
    /// The last line of KEYFILE.pub is the public key string that the
    /// `trusted-keys` config key and `--trusted-key` take. Never prompts: the
    /// secret key is unencrypted unless --password-file is given.
    Keygen(KeygenArgs),
    /// Write the mirror in DIR as a bundle to carry across an air gap (all of it, or what is new since an export).
    ///
    /// The bundle holds the files, the metadata (and its signature) and a
    /// manifest of every file the metadata names with its size and sha256.
    Export(ExportArgs),
    /// Place a bundle of `mirror export` into the mirror in DIR, every file checked, the metadata last.
    ///
    /// Idempotent and resumable; a delta whose base files are not in DIR is
    /// refused. Nothing is deleted but with --prune.
    Import(ImportArgs),
}

/// Arguments of `mirror keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The secret key file to create (never overwritten); the public key goes to KEYFILE.pub.
    #[arg(long, value_name = "KEYFILE")]
    pub out: PathBuf,
    /// Encrypt the secret key with the first line of this file (then give it to every command that signs).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

/// Arguments of `mirror export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The mirror folder.
    #[arg(long, value_name = "DIR")]
    pub dest: PathBuf,
    /// The bundle to write (with --split: FILE.001, FILE.002, …).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Carry only files new since an export: `last` (the one recorded in DIR/.uv-shim/), or a bundle or record FILE.
    #[arg(long, value_name = "last|FILE")]
    pub since: Option<String>,
    /// Cut the bundle into numbered parts of at most SIZE (bytes, or 500M, 4G, 100MB…).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub split: Option<u64>,
    /// Sign the metadata carried in the bundle with this minisign secret key.
    #[arg(long, value_name = "KEYFILE")]
    pub sign: Option<PathBuf>,
    /// The file whose first line unlocks an encrypted --sign key.
    #[arg(long, value_name = "FILE", requires = "sign")]
    pub password_file: Option<PathBuf>,
}

/// Arguments of `mirror import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The bundle, or all its numbered parts (in any order).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// The mirror folder (created if missing).
    #[arg(long, value_name = "DIR")]
    pub dest: PathBuf,
    /// Remove the files this mirror recorded that the new metadata no longer names.
    #[arg(long)]
    pub prune: bool,
    /// Publish only metadata signed by this key (a public key string or a .pub file; repeatable).
    #[arg(long = "trusted-key", value_name = "KEY")]
    pub trusted_keys: Vec<String>,
}

/// A size: bytes, or a number with K, M, G, T (powers of 1024, also KiB…) or KB, MB, GB, TB (powers of 1000).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. 500M, 4G, 1048576)"))?;
    let factor: u64 = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KIB" => 1 << 10,
        "M" | "MIB" => 1 << 20,
        "G" | "GIB" => 1 << 30,
        "T" | "TIB" => 1 << 40,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?} (K, M, G, T, KB, MB, GB, TB)"
            ));
        }
    };
    match number.checked_mul(factor) {
        // A tar entry header is 512 bytes: smaller parts would be all overhead.
        Some(size) if size >= 1024 => Ok(size),
        Some(_) => Err(format!(
            "{text:?} is too small: a part holds at least 1024 bytes"
        )),
        None => Err(format!("{text:?} is too large")),
    }
}

/// Arguments of `mirror sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The mirror folder (created if missing).
    #[arg(long, value_name = "DIR")]
    pub dest: PathBuf,
    /// The upstream download list: an https/http/file URL or a path.
    #[arg(long, value_name = "URL|FILE", default_value = UPSTREAM_METADATA)]
    pub from: String,
    /// Python versions to take: 3.12, 3.12.8, >=3.11, ">=3.11,<3.13", 3.12,3.13 (repeatable; any may match; a comma between bare versions means "or", within a range "and").
    #[arg(long = "python", value_name = "VERSION", value_parser = PythonSpec::parse)]
    pub python: Vec<PythonSpec>,
    /// Implementations to take (repeatable or comma-separated; default: all without filters, else cpython only).
    #[arg(long, value_enum, value_delimiter = ',', value_name = "NAME")]
    pub implementation: Vec<Implementation>,
    /// Operating systems: linux, darwin (or macos), windows… (repeatable or comma-separated; a trailing * matches a prefix).
    #[arg(long, value_delimiter = ',', value_name = "OS")]
    pub os: Vec<String>,
    /// Architectures: x86_64, aarch64, x86_64_v3… (repeatable or comma-separated; x86_64* takes every x86_64 level).
    #[arg(long, value_delimiter = ',', value_name = "ARCH")]
    pub arch: Vec<String>,
    /// C libraries: gnu, musl, none… (repeatable or comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "LIBC")]
    pub libc: Vec<String>,
    /// Build variants: default, freethreaded, debug, freethreaded+debug (repeatable or comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "VARIANT")]
    pub variant: Vec<String>,
    /// Only the newest patch release of each minor version (per platform and variant).
    #[arg(long)]
    pub latest_patch: bool,
    /// List what would be fetched (with sizes) and removed; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Parallel downloads (and hashes) [default: two per CPU, at least 4, at most 8].
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: Option<u16>,
    /// Remove files that no entry of the resulting metadata names (older builds, strays, stale .part files).
    #[arg(long)]
    pub prune: bool,
    /// Import files already in DIR (release-tag folders, upstream names) without any network; needs a local --from.
    #[arg(long)]
    pub offline: bool,
    /// Retries of a download after a transient failure (connection error, timeout, 408, 429, 5xx).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub retries: u32,
    /// Also take the builds that uv VERSION's built-in list names (repeatable), so uv before 0.6.13 finds the paths it asks for.
    #[arg(long = "for-uv", value_name = "VERSION")]
    pub for_uv: Vec<String>,
    /// Where the built-in lists of `--for-uv` come from: BASE/<VERSION>.json, a URL or a folder (default: uv's repository at the release tag).
    #[arg(long = "uv-lists", value_name = "BASE", requires = "for_uv")]
    pub uv_lists: Option<String>,
    /// Longest wait for a connection, an answer or the next block of data.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Sign the metadata with this secret key (from `mirror keygen` or `minisign -G`): writes download-metadata.json.minisig.
    #[arg(long, value_name = "KEYFILE")]
    pub sign: Option<PathBuf>,
    /// The password of an encrypted --sign key: the first line of this file (nothing is ever prompted).
    #[arg(long, value_name = "FILE", requires = "sign")]
    pub password_file: Option<PathBuf>,
}

/// Arguments of `mirror verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The mirror folder.
    #[arg(long, value_name = "DIR")]
    pub dest: PathBuf,
    /// Files hashed in parallel (default: the number of CPUs).
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: Option<u16>,
    /// Also check download-metadata.json.minisig against this public key (repeatable: any may have signed).
    #[arg(long = "trusted-key", value_name = "KEY")]
    pub trusted_key: Vec<String>,
}

/// A Python implementation uv can install.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Implementation {
    /// CPython (python-build-standalone).
    Cpython,
    /// PyPy.
    Pypy,
    /// GraalPy.
    Graalpy,
    /// Pyodide.
    Pyodide,
}

impl Implementation {
    /// The `name` field of uv's metadata.
    pub fn name(self) -> &'static str {
        match self {
            Implementation::Cpython => "cpython",
            Implementation::Pypy => "pypy",
            Implementation::Graalpy => "graalpy",
            Implementation::Pyodide => "pyodide",
        }
    }
}

/// A mistake in the command line that clap cannot see (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units_and_name_what_is_wrong() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64K"), Ok(65536));
        assert_eq!(parse_size("2MB"), Ok(2_000_000));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert!(parse_size("12Q").unwrap_err().contains("unknown unit"));
        assert!(parse_size("big").unwrap_err().contains("not a size"));
        assert!(parse_size("10").unwrap_err().contains("too small"));
    }
}
