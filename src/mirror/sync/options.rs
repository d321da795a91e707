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
    /// No `--implementation` was given but another filter was, so only
    /// CPython is taken (the plan header says so).
    pub cpython_by_default: bool,
    /// `--for-uv`: each uv version and where its built-in list is read.
    pub for_uv: Vec<(String, Url)>,
    /// `--sign`: the key that signs the metadata, loaded before anything is downloaded.
    pub sign: Option<crate::signature::SigningKey>,
}

impl SyncOptions {
    /// Checks what clap cannot (a usage error, exit code 2) and resolves the rest.
    pub fn from_args(args: SyncArgs, auth: Arc<Auth>) -> anyhow::Result<SyncOptions> {
        let from = parse_from(&args.from)?;
        let sign = args
            .sign
            .as_deref()
            .map(|key| crate::mirror::sign::load_key(key, args.password_file.as_deref()))
            .transpose()?;
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
        let for_uv = args
            .for_uv
            .iter()
            .map(|version| Ok((version.clone(), uv_list(version, args.uv_lists.as_deref())?)))
            .collect::<Result<Vec<_>, UsageError>>()?;
        if let Some((version, url)) = for_uv.iter().find(|(_, url)| url.scheme() != "file")
            && args.offline
        {
            return Err(UsageError(format!(
                "--offline reads every list from a local file, but the list of --for-uv {version} is {} (name a folder with --uv-lists)",
                crate::redact::url(url.as_str())
            ))
            .into());
        }
        let patterns =
            |values: &[String]| values.iter().map(|v| Pattern::new(v)).collect::<Vec<_>>();
        // `--python 3.12` asks for what `uv python install 3.12` installs:
        // CPython. uv takes PyPy or GraalPy only when named, so a filtered
        // sync does too; with no filter at all a sync takes everything.
        let any_filter = !(args.python.is_empty()
            && args.os.is_empty()
            && args.arch.is_empty()
            && args.libc.is_empty()
            && args.variant.is_empty());
        let cpython_by_default = args.implementation.is_empty() && any_filter;
        let implementation = if cpython_by_default {
            vec!["cpython".to_string()]
        } else {
            args.implementation
                .iter()
                .map(|i| i.name().to_string())
                .collect()
        };
        Ok(SyncOptions {
            dest,
            from,
            filters: Filters {
                python: args.python,
                implementation,
                os: patterns(&args.os),
                arch: patterns(&args.arch),
                libc: patterns(&args.libc),
                variant: patterns(&args.variant),
                latest_patch: args.latest_patch,
            },
            dry_run: args.dry_run,
            prune: args.prune,
            offline: args.offline,
            jobs: args.jobs.map_or_else(
                || {
                    crate::mirror::download::default_jobs(
                        std::thread::available_parallelism().map_or(1, |n| n.get()),
                    )
                },
                usize::from,
            ),
            retries: args.retries,
            timeout: args.timeout,
            auth,
            cpython_by_default,
            for_uv,
            sign,
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

/// Where the built-in list of uv `version` is read: `BASE/<version>.json`
/// (BASE a URL or a folder), else uv's repository at that release tag.
fn uv_list(version: &str, base: Option<&str>) -> Result<Url, UsageError> {
    let valid = !version.is_empty()
        && version.split('.').count() == 3
        && version
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    if !valid {
        return Err(UsageError(format!(
            "--for-uv {version:?}: expected a uv release such as 0.5.31"
        )));
    }
    let Some(base) = base else {
        return parse_from(&crate::urls::builtin_list_of_uv(version));
    };
    let bad = |why: String| UsageError(format!("--uv-lists {}: {why}", crate::redact::url(base)));
    if base.contains("://") {
        let mut url = crate::urls::parse_fetchable(base).map_err(bad)?;
        if !url.path().ends_with('/') {
            url.set_path(&format!("{}/", url.path()));
        }
        return url
            .join(&format!("{version}.json"))
            .map_err(|err| bad(err.to_string()));
    }
    let path = std::path::absolute(base).map_err(|err| bad(err.to_string()))?;
    Url::from_file_path(path.join(format!("{version}.json")))
        .map_err(|()| bad("not a usable path".into()))
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

    #[test]
    fn uv_lists_name_one_file_per_version() {
        let url = uv_list("0.5.31", Some("https://h.example/lists")).unwrap();
        assert_eq!(url.as_str(), "https://h.example/lists/0.5.31.json");
        let url = uv_list("0.4.30", Some("lists")).unwrap();
        assert!(url.path().ends_with("/lists/0.4.30.json"));
        let url = uv_list("0.4.30", None).unwrap();
        assert!(url.path().contains("/0.4.30/"));
        let err = uv_list("latest", None).unwrap_err();
        assert!(err.0.contains("--for-uv \"latest\""), "{err}");
    }
}
