//! Asking the metadata sources of a failover list, within the call's budget.
//!
//! One call tries at most [`MAX_TRIES`] sources, each with an equal share
//! of what is left of the budget ([`Budget::attempt`]), so one that stalls
//! cannot starve the ones after it and a long list cannot hold the call:
//! the whole stays within `UV_SHIM_HTTP_TIMEOUT`. The failure records where
//! the next attempt starts, so later calls (after the failure backoff) try
//! the sources this one did not reach. A success starts the next
//! revalidation from the first source again, the preferred one.

use std::path::Path;

use url::Url;

use super::fetch::{self, Access, Fetched, Validators};
use super::integrity;
use super::netrc::Auth;
use super::rules::{Policy, Rewrite};
use super::schema;
use super::store::State;
use super::tls::{Probe, Trust};
use crate::budget::{Attempt, Budget};
use crate::cache::MetadataFiles;
use crate::fsutil::{self, FileStamp};

/// At most this many sources are asked in one call; the rest on later calls.
pub const MAX_TRIES: usize = 4;

/// For `file` sources the validator is the file's stamp, checked on every call.
pub fn file_validator(url: &Url) -> Option<String> {
    let stamp = FileStamp::of(&url.to_file_path().ok()?);
    stamp.exists().then(|| format!("file:{stamp}"))
}

/// What to ask.
pub struct Sources<'a> {
    /// Metadata URLs in failover order.
    pub urls: &'a [Url],
    /// How URLs are handed to uv.
    pub rewrite: &'a Rewrite,
    /// Where entries may point.
    pub policy: &'a Policy,
    /// The call's time budget.
    pub budget: &'a Budget,
    /// Credentials from the netrc, sent as uv sends them.
    pub auth: &'a Auth,
    /// `SSL_CERT_FILE` or `SSL_CERT_DIR` is set: trust only that bundle, as uv does.
    pub cert_file: bool,
}

/// What a source gave: the state now written for the copy.
#[derive(Debug)]
pub enum Got {
    /// A new document, validated and written.
    Fetched(State),
    /// The cached copy confirmed (304, or an unchanged `file` source) and
    /// found intact.
    Confirmed(State),
}

/// Why no source gave anything.
#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    /// What went wrong, source by source, and what was left untried.
    pub error: String,
    /// The source the next attempt starts with.
    pub next: usize,
}

/// Asks the sources, from `start` on, until one answers; `previous` is the
/// intact copy's state (its validators are sent to its own source).
pub fn try_sources(
    entry: &MetadataFiles,
    sources: &Sources,
    previous: Option<&State>,
    start: usize,
) -> Result<Got, Failure> {
    let urls = sources.urls;
    if urls.is_empty() {
        return Err(Failure {
            error: "no metadata source is configured".into(),
            next: 0,
        });
    }
    let start = start % urls.len();
    let tries = urls.len().min(MAX_TRIES);
    let mut errors = Vec::new();
    let mut tried = 0;
    for k in 0..tries {
        let source = &urls[(start + k) % urls.len()];
        if sources.budget.is_spent() {
            errors.push(format!(
                "the {} budget ({}) was spent before {} could be asked",
                sources.budget.shown(),
                crate::env_vars::EnvVars::UV_SHIM_HTTP_TIMEOUT,
                crate::redact::url(source.as_str())
            ));
            break;
        }
        let attempt = sources.budget.attempt(tries - k);
        tried += 1;
        match fetch_one(entry, sources, source, previous, &attempt) {
            Ok(got) => return Ok(got),
            Err(error) => {
                crate::log::debug(|| format!("metadata source failed: {error}"));
                errors.push(error);
            }
        }
    }
    let next = (start + tried) % urls.len();
    let untried = urls.len() - tried;
    if untried > 0 {
        errors.push(format!(
            "{untried} more metadata source{} not asked in this call (at most {MAX_TRIES} per call); \
             the next attempt starts with {}",
            if untried == 1 { "" } else { "s" },
            crate::redact::url(urls[next].as_str())
        ));
    }
    Err(Failure {
        error: errors.join("; "),
        next,
    })
}

fn fetch_one(
    entry: &MetadataFiles,
    sources: &Sources,
    source: &Url,
    previous: Option<&State>,
    attempt: &Attempt,
) -> Result<Got, String> {
    let same_source = previous.filter(|p| p.source == source.as_str());
    let now = fsutil::now_secs();
    if source.scheme() == "file" {
        let validator = file_validator(source);
        if let (Some(prev), Some(v)) = (same_source, &validator)
            && prev.etag.as_deref() == Some(v.as_str())
        {
            return confirm_or_refetch(entry, sources, source, prev, attempt, now, None);
        }
    }
    let probe = Probe::new(sources.cert_file);
    let access = Access {
        auth: sources.auth,
        probe: Some(&probe),
    };
    let validators = same_source
        .map(|p| Validators {
            etag: p.etag.clone(),
            last_modified: p.last_modified.clone(),
        })
        .unwrap_or_default();
    match fetch::fetch_within(source, &validators, attempt, access).map_err(|e| e.to_string())? {
        Fetched::NotModified => match same_source {
            Some(prev) => {
                confirm_or_refetch(entry, sources, source, prev, attempt, now, probe.trust())
            }
            None => Err(format!(
                "{} answered 304 Not Modified to a request without validators",
                crate::redact::url(source.as_str())
            )),
        },
        Fetched::Body { body, validators } => {
            let (body, validators, signed_by) = if sources.policy.trusted_keys.is_empty() {
                (body, validators, None)
            } else {
                let verified = super::signed::check(
                    source,
                    (body, validators),
                    &sources.policy.trusted_keys,
                    attempt,
                    sources.budget,
                    access,
                )?;
                (verified.body, verified.validators, Some(verified.signed_by))
            };
            let validated = schema::validate(&body, source, sources.rewrite, sources.policy)
                .map_err(|e| e.to_string())?;
            // The copy is all that is needed from here on: a large body
            // need not stay in memory while it is written.
            drop(body);
            let etag = if source.scheme() == "file" {
                file_validator(source)
            } else {
                validators.etag
            };
            let state = State {
                source: source.to_string(),
                fetched: now,
                size: validated.json.len() as u64,
                sha256: Some(integrity::sha256(&validated.json)),
                entries: validated.entries as u64,
                dropped: validated.dropped.count,
                dropped_first: validated.dropped.first,
                etag,
                last_modified: validators.last_modified,
                failed: 0,
                error: None,
                next: 0,
                tls: probe.trust(),
                signed_by,
            };
            // JSON first, then the state that vouches for it.
            fsutil::private::write(&entry.json, &validated.json)
                .map_err(|err| cannot_write(&entry.json, err))?;
            state
                .write(&entry.state)
                .map_err(|err| cannot_write(&entry.state, err))?;
            Ok(Got::Fetched(state))
        }
    }
}

/// The source confirmed the document the copy came from; whether the copy
/// still is that document is another matter (it was checked before the
/// request, but the file may have changed while the request was on its
/// way). Intact: confirmed. Not: fetched again in full, no validators sent.
fn confirm_or_refetch(
    entry: &MetadataFiles,
    sources: &Sources,
    source: &Url,
    previous: &State,
    attempt: &Attempt,
    now: u64,
    tls: Option<Trust>,
) -> Result<Got, String> {
    match integrity::check(&entry.json, previous) {
        Ok(()) => confirm(entry, previous, now, tls).map(Got::Confirmed),
        Err(why) => {
            crate::log::debug(|| {
                format!(
                    "the cached copy {} is not the validated one ({why}): fetching it again in full",
                    entry.json.display()
                )
            });
            let again = Attempt {
                limit: attempt.limit.min(sources.budget.remaining()),
                stated: attempt.stated.clone(),
            };
            fetch_one(entry, sources, source, None, &again)
        }
    }
}

/// The server confirmed the copy; `tls` is what vouched for it this time.
fn confirm(
    entry: &MetadataFiles,
    previous: &State,
    now: u64,
    tls: Option<Trust>,
) -> Result<State, String> {
    let state = State {
        fetched: now,
        failed: 0,
        error: None,
        next: 0,
        tls,
        ..previous.clone()
    };
    state
        .write(&entry.state)
        .map_err(|err| cannot_write(&entry.state, err))?;
    Ok(state)
}

fn cannot_write(path: &Path, err: std::io::Error) -> String {
    format!("cannot write the cache file {}: {err}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn urls(n: usize) -> Vec<Url> {
        // Port 9 (discard) on 127.0.0.1: nothing listens, so each try is
        // refused at once.
        (0..n)
            .map(|i| {
                Url::parse(&format!("http://127.0.0.1:9/m{i}/download-metadata.json")).unwrap()
            })
            .collect()
    }

    #[test]
    fn a_long_list_is_asked_a_few_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let entry = crate::cache::Cache::new(dir.path().to_path_buf()).metadata("x");
        let urls = urls(10);
        let budget = Budget::new(Duration::from_secs(5));
        let sources = Sources {
            urls: &urls,
            rewrite: &Rewrite::default(),
            policy: &Policy::default(),
            budget: &budget,
            auth: &Auth::none(),
            cert_file: false,
        };
        let failure = try_sources(&entry, &sources, None, 0).unwrap_err();
        assert_eq!(failure.next, 4);
        assert_eq!(
            failure.error.matches("cannot fetch").count(),
            4,
            "{}",
            failure.error
        );
        assert!(failure.error.contains("/m3/"), "{}", failure.error);
        assert!(!failure.error.contains("/m4/download-metadata.json:"));
        assert!(
            failure.error.ends_with(
                "6 more metadata sources not asked in this call (at most 4 per call); \
                 the next attempt starts with http://127.0.0.1:9/m4/download-metadata.json"
            ),
            "{}",
            failure.error
        );
        // The next call goes on where this one stopped, around the end of the list.
        let failure = try_sources(&entry, &sources, None, 8).unwrap_err();
        assert_eq!(failure.next, 2);
        assert!(failure.error.contains("/m9/") && failure.error.contains("/m1/"));

        // A spent budget asks nothing and says so.
        let spent = Budget::new(Duration::ZERO);
        let sources = Sources {
            budget: &spent,
            ..sources
        };
        let failure = try_sources(&entry, &sources, None, 5).unwrap_err();
        assert_eq!(failure.next, 5);
        assert!(
            failure.error.starts_with(
                "the 0s budget (UV_SHIM_HTTP_TIMEOUT) was spent before \
                 http://127.0.0.1:9/m5/download-metadata.json could be asked"
            ),
            "{}",
            failure.error
        );
    }
}
