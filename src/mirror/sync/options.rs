//! What one `mirror sync` was asked to do, resolved from its command line:
//! the upstream list as a URL, the mirror folder as one absolute spelling,
//! the filters ready to match.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use url::Url;

use crate::metadata::netrc::Auth;
use crate::mirror::args::{SyncArgs, UsageError};
use crate::mirror::select::{Filters, Pattern};

/// The resolved options of one sync.
#[derive(Debug)]
pub struct SyncOptions {
    /// The mirror folder, absolute.
    pub dest: PathBuf,
    /// The upstream list.
    pub from: Url,
    /// Which downloads to take.
    pub filters: Filters,
    /// Change nothing, list instead.
    pub dry_run: bool,
    /// Remove unnamed files.
    pub prune: bool,
    /// No network: import what is in `dest`.
    pub offline: bool,
    /// Worker threads.
    pub jobs: usize,
    /// Retries per download.
    pub retries: u32,
    /// Network time limit.
    pub timeout: Duration,
    /// Credentials from a netrc file, for an upstream that wants them.
    pub auth: Arc<Auth>,
}

impl SyncOptions {
    /// Checks what clap cannot (a usage error, exit code 2) and resolves the rest.
    pub fn from_args(args: SyncArgs, auth: Arc<Auth>) -> anyhow::Result<SyncOptions> {
        let from = parse_from(&args.from)?;
        if args.offline && from.scheme() != "file" {
            return Err(UsageError(format!(
                "--offline reads the upstream list from a local file, but --from is {}",
                crate::redact::url(from.as_str())
            ))
            .into());
        }
        if args.dest.is_file() {
            return Err(UsageError(format!(
                "--dest {} is a file, not a folder",
                args.dest.display()
            ))
            .into());
        }
        // One spelling of the folder, so paths from URLs and from the disk compare equal.
        let dest = std::fs::canonicalize(&args.dest)
            .or_else(|_| std::path::absolute(&args.dest))
            .with_context(|| format!("cannot resolve --dest {}", args.dest.display()))?;
        let patterns =
            |values: &[String]| values.iter().map(|v| Pattern::new(v)).collect::<Vec<_>>();
        Ok(SyncOptions {
            dest,
            from,
            filters: Filters {
                python: args.python,
                implementation: args
                    .implementation
                    .iter()
                    .map(|i| i.name().to_string())
                    .collect(),
                os: patterns(&args.os),
                arch: patterns(&args.arch),
                libc: patterns(&args.libc),
                variant: patterns(&args.variant),
                latest_patch: args.latest_patch,
            },
            dry_run: args.dry_run,
            prune: args.prune,
            offline: args.offline,
            jobs: usize::from(args.jobs),
            retries: args.retries,
            timeout: args.timeout,
            auth,
        })
    }
}

/// Parses `--from`: a URL, or a path (relative paths are taken from the current folder).
fn parse_from(text: &str) -> Result<Url, UsageError> {
    let bad = |why: String| UsageError(format!("--from {}: {why}", crate::redact::url(text)));
    if text.contains("://") {
        return crate::urls::parse_fetchable(text).map_err(bad);
    }
    let path = std::path::absolute(text).map_err(|err| bad(err.to_string()))?;
    Url::from_file_path(&path).map_err(|()| bad("not a usable path".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_takes_urls_and_paths() {
        assert_eq!(
            parse_from("https://h.example/m.json").unwrap().scheme(),
            "https"
        );
        let url = parse_from("meta.json").unwrap();
        assert_eq!(url.scheme(), "file");
        assert!(url.path().ends_with("/meta.json"));
        assert!(parse_from("ftp://h.example/x").is_err());
    }
}
