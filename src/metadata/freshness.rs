//! Keeps a validated copy of the mirror's metadata in the cache.
//!
//! The warm path reads one small state file and stats the JSON beside it: no
//! network, no JSON parsing. Only a missing or stale copy takes the lock and
//! goes to the network; whoever waited on the lock then finds the copy fresh
//! and makes no request of its own. A response that fails validation never
//! replaces a good copy.

use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use super::fetch::{self, Fetched, Validators};
use super::rules::{Policy, Rewrite};
use super::schema;
use super::store::State;
use crate::cache::{Cache, MetadataFiles};
use crate::fsutil::{self, FileStamp};
use crate::inputs::Inputs;

/// After a failed attempt, further attempts wait this long (at most the TTL),
/// so a dead mirror costs one timeout per interval, not one per `uv` call.
pub const FAILURE_BACKOFF: Duration = Duration::from_secs(60);

/// What to keep fresh.
#[derive(Debug, Clone)]
pub struct Request {
    /// Metadata URLs in failover order.
    pub sources: Vec<Url>,
    /// How URLs are handed to uv.
    pub rewrite: Rewrite,
    /// What the entries handed to uv must satisfy.
    pub policy: Policy,
    /// How long a copy counts as fresh.
    pub ttl: Duration,
    /// Time limit of one request.
    pub timeout: Duration,
    /// Revalidate now, whatever the TTL and backoff say.
    pub force: bool,
}

impl Request {
    /// The cache identity: every source and every rule that changes what
    /// uv gets.
    pub fn identity(&self) -> String {
        let mut identity = self.rewrite.identity();
        identity.push_str(&self.policy.identity());
        for source in &self.sources {
            identity.push_str("source ");
            identity.push_str(source.as_str());
            identity.push('\n');
        }
        identity
    }
}

/// The result of [`ensure`].
#[derive(Debug, Clone)]
pub enum Freshness {
    /// The cached copy is fresh; nothing was fetched.
    Fresh(CachedCopy),
    /// A new body was fetched and validated.
    Fetched(CachedCopy),
    /// The server confirmed the cached copy (304).
    Revalidated(CachedCopy),
    /// Refreshing failed; the last good copy is used.
    Stale {
        /// The copy.
        copy: CachedCopy,
        /// Why refreshing failed.
        error: String,
        /// Whether the failure happened in this call (else it is remembered from an earlier one).
        now: bool,
    },
    /// There is no usable copy.
    Unavailable {
        /// Why.
        error: String,
        /// Whether the failure happened in this call.
        now: bool,
    },
}

/// A good copy in the cache.
#[derive(Debug, Clone)]
pub struct CachedCopy {
    /// The JSON file handed to uv.
    pub json: PathBuf,
    /// Its state.
    pub state: State,
}

impl Freshness {
    /// The copy uv can use, if any.
    pub fn copy(&self) -> Option<&CachedCopy> {
        match self {
            Freshness::Fresh(c) | Freshness::Fetched(c) | Freshness::Revalidated(c) => Some(c),
            Freshness::Stale { copy, .. } => Some(copy),
            Freshness::Unavailable { .. } => None,
        }
    }
}

fn whole(json: &Path, state: &State) -> bool {
    state.has_copy() && std::fs::metadata(json).is_ok_and(|m| m.len() == state.size)
}

/// For `file` sources the validator is the file's stamp, checked on every call.
fn file_validator(url: &Url) -> Option<String> {
    let stamp = FileStamp::of(&url.to_file_path().ok()?);
    stamp.exists().then(|| format!("file:{stamp}"))
}

fn is_fresh(request: &Request, state: &State, now: u64) -> bool {
    let source = request.sources.iter().find(|s| s.as_str() == state.source);
    match source {
        Some(url) if url.scheme() == "file" => {
            file_validator(url).is_some_and(|v| state.etag.as_deref() == Some(v.as_str()))
        }
        // A copy "fetched" in the future means the clock went back (or the
        // state is damaged): it is not fresh, else it would stay fresh until
        // the clock caught up.
        Some(_) => state.fetched <= now && state.age(now) < request.ttl,
        // The copy came from a source no longer configured.
        None => false,
    }
}

fn backing_off(request: &Request, state: &State, now: u64) -> bool {
    let backoff = FAILURE_BACKOFF.min(request.ttl).as_secs();
    // A failure in the future (the clock went back) would otherwise stop
    // every retry until the clock caught up.
    state.failed > 0 && state.failed <= now && now - state.failed < backoff
}

/// Makes sure a validated copy is in the cache, fetching only when needed.
/// What the answer rests on (the copy, a local source, the TTL) goes into `inputs`.
pub fn ensure(cache: &Cache, request: &Request, inputs: &Inputs) -> Freshness {
    let freshness = ensure_copy(cache, request);
    if let Some(copy) = freshness.copy() {
        inputs.stamp(&copy.json);
        let source = request
            .sources
            .iter()
            .find(|s| s.as_str() == copy.state.source);
        match source.map(|s| (s, s.to_file_path())) {
            Some((source, Ok(file))) if source.scheme() == "file" => {
                inputs.stamp(&file);
            }
            _ => inputs.valid_until(copy.state.fetched.saturating_add(request.ttl.as_secs())),
        }
    }
    freshness
}

/// How long to wait for another process's refresh: not at all while a good
/// (stale) copy can be served, else as long as that refresh may take.
fn lock_wait(request: &Request, have_stale_copy: bool) -> Duration {
    if have_stale_copy && !request.force {
        Duration::ZERO
    } else {
        request.timeout * request.sources.len().max(1) as u32 + Duration::from_secs(1)
    }
}

fn ensure_copy(cache: &Cache, request: &Request) -> Freshness {
    let entry = cache.metadata(&request.identity());
    let seen = Seen::read(&entry);
    if !request.force
        && let Some(outcome) = decide_without_network(&entry, request, &seen, fsutil::now_secs())
    {
        return outcome;
    }
    // A stale but good copy is served while another process refreshes it
    // (stale-while-revalidate): waiting for that refresh would make every
    // parallel call pay the slow mirror, and a refresher that hangs (a `uv`
    // stopped with Ctrl-Z mid-fetch) would stall every call. Only without a
    // copy, or when told to revalidate, is the refresh worth waiting for;
    // several sources may each take the full timeout, longer is pointless.
    let stale = seen.good();
    let _lock = match fsutil::lock(&entry.lock, lock_wait(request, stale.is_some())) {
        Ok(Some(lock)) => Some(lock),
        Ok(None) => {
            let error = format!(
                "another uv-shim is still refreshing the metadata (it holds {})",
                entry.lock.display()
            );
            crate::log::debug(|| error.clone());
            // A good copy with someone refreshing it is not worth a warning.
            let worth_a_warning = request.force || stale.is_none();
            return not_refreshed(&entry, stale, error, worth_a_warning);
        }
        Err(err) => {
            // An unwritable cache must not stop uv: go on without the lock.
            crate::log::debug(|| format!("cannot lock {}: {err}", entry.lock.display()));
            None
        }
    };
    // Whoever held the lock may have refreshed the copy meanwhile: look once more.
    let seen = Seen::read(&entry);
    if !request.force
        && let Some(outcome) = decide_without_network(&entry, request, &seen, fsutil::now_secs())
    {
        return outcome;
    }
    fetch_sources(&entry, request, seen.good())
}

/// The state record as read, and whether the JSON it vouches for is whole.
struct Seen {
    state: Option<State>,
    whole: bool,
}

impl Seen {
    fn read(entry: &MetadataFiles) -> Seen {
        let state = State::read(&entry.state);
        let whole = state.as_ref().is_some_and(|s| whole(&entry.json, s));
        Seen { state, whole }
    }

    /// The state of a good copy, if there is one.
    fn good(&self) -> Option<State> {
        self.state.clone().filter(|_| self.whole)
    }
}

fn decide_without_network(
    entry: &MetadataFiles,
    request: &Request,
    seen: &Seen,
    now: u64,
) -> Option<Freshness> {
    let state = seen.state.as_ref()?;
    let copy = seen.whole.then(|| CachedCopy {
        json: entry.json.clone(),
        state: state.clone(),
    });
    match copy {
        Some(copy) if is_fresh(request, state, now) => Some(Freshness::Fresh(copy)),
        Some(copy) if backing_off(request, state, now) => Some(Freshness::Stale {
            copy,
            error: state.error.clone().unwrap_or_default(),
            now: false,
        }),
        None if backing_off(request, state, now) => Some(Freshness::Unavailable {
            error: state.error.clone().unwrap_or_default(),
            now: false,
        }),
        _ => None,
    }
}

fn fetch_sources(entry: &MetadataFiles, request: &Request, previous: Option<State>) -> Freshness {
    let mut errors = Vec::new();
    for source in &request.sources {
        match fetch_one(entry, request, source, previous.as_ref()) {
            Ok(outcome) => return outcome,
            Err(error) => {
                crate::log::debug(|| format!("metadata source failed: {error}"));
                errors.push(error);
            }
        }
    }
    let error = if errors.is_empty() {
        "no metadata source is configured".to_string()
    } else {
        errors.join("; ")
    };
    let now = fsutil::now_secs();
    let mut state = previous.clone().unwrap_or_default();
    state.failed = now;
    state.error = Some(error.clone());
    if previous.is_none() {
        // Remember the failure (for the backoff) without claiming a copy.
        state.fetched = 0;
        state.size = 0;
    }
    if let Err(err) = state.write(&entry.state) {
        crate::log::debug(|| format!("cannot write {}: {err}", entry.state.display()));
    }
    not_refreshed(entry, previous.map(|_| state), error, true)
}

/// The copy (if `state` vouches for one) could not be refreshed because of `error`.
fn not_refreshed(
    entry: &MetadataFiles,
    state: Option<State>,
    error: String,
    now: bool,
) -> Freshness {
    match state {
        Some(state) => Freshness::Stale {
            copy: CachedCopy {
                json: entry.json.clone(),
                state,
            },
            error,
            now,
        },
        None => Freshness::Unavailable { error, now },
    }
}

fn fetch_one(
    entry: &MetadataFiles,
    request: &Request,
    source: &Url,
    previous: Option<&State>,
) -> Result<Freshness, String> {
    let same_source = previous.filter(|p| p.source == source.as_str());
    let now = fsutil::now_secs();
    if source.scheme() == "file" {
        let validator = file_validator(source);
        if let (Some(prev), Some(v)) = (same_source, &validator)
            && prev.etag.as_deref() == Some(v.as_str())
        {
            return Ok(Freshness::Revalidated(confirm(entry, prev, now)?));
        }
    }
    let validators = same_source
        .map(|p| Validators {
            etag: p.etag.clone(),
            last_modified: p.last_modified.clone(),
        })
        .unwrap_or_default();
    match fetch::fetch(source, &validators, request.timeout).map_err(|e| e.to_string())? {
        Fetched::NotModified => match same_source {
            Some(prev) => Ok(Freshness::Revalidated(confirm(entry, prev, now)?)),
            None => Err(format!(
                "{} answered 304 Not Modified to a request without validators",
                crate::redact::url(source.as_str())
            )),
        },
        Fetched::Body { body, validators } => {
            let validated = schema::validate(&body, source, &request.rewrite, &request.policy)
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
                entries: validated.entries as u64,
                dropped: validated.dropped.count,
                dropped_first: validated.dropped.first,
                etag,
                last_modified: validators.last_modified,
                failed: 0,
                error: None,
            };
            let cannot = |path: &Path, err: std::io::Error| {
                format!("cannot write the cache file {}: {err}", path.display())
            };
            // JSON first, then the state that vouches for it.
            fsutil::write_atomic(&entry.json, &validated.json)
                .map_err(|err| cannot(&entry.json, err))?;
            state
                .write(&entry.state)
                .map_err(|err| cannot(&entry.state, err))?;
            Ok(Freshness::Fetched(CachedCopy {
                json: entry.json.clone(),
                state,
            }))
        }
    }
}

fn confirm(entry: &MetadataFiles, previous: &State, now: u64) -> Result<CachedCopy, String> {
    let state = State {
        fetched: now,
        failed: 0,
        error: None,
        ..previous.clone()
    };
    state.write(&entry.state).map_err(|err| {
        format!(
            "cannot write the cache file {}: {err}",
            entry.state.display()
        )
    })?;
    Ok(CachedCopy {
        json: entry.json.clone(),
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(force: bool) -> Request {
        Request {
            // Nothing listens there; the tests below must not get that far.
            sources: vec![Url::parse("http://127.0.0.1:9/uv/download-metadata.json").unwrap()],
            rewrite: Rewrite::default(),
            policy: Policy::default(),
            ttl: Duration::from_secs(600),
            timeout: Duration::from_secs(5),
            force,
        }
    }

    fn state(fetched: u64, failed: u64) -> State {
        State {
            source: request(false).sources[0].to_string(),
            fetched,
            size: 2,
            entries: 1,
            failed,
            ..State::default()
        }
    }

    #[test]
    fn timestamps_from_the_future_count_as_stale() {
        let now = 1_000_000;
        let r = request(false);
        assert!(is_fresh(&r, &state(now - 10, 0), now));
        assert!(!is_fresh(&r, &state(now - 600, 0), now));
        // The clock went back a day: refresh rather than trust the copy for a day.
        assert!(!is_fresh(&r, &state(now + 86_400, 0), now));
        assert!(backing_off(&r, &state(now - 600, now - 5), now));
        assert!(!backing_off(&r, &state(now - 600, now - 60), now));
        assert!(!backing_off(&r, &state(now - 600, now + 86_400), now));
    }

    /// A stale copy whose refresh is held up by another process is used at
    /// once; without a copy the wait is bounded by what the refresh may take.
    #[test]
    fn a_busy_lock_serves_the_stale_copy_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let r = request(false);
        assert_eq!(lock_wait(&r, true), Duration::ZERO);
        assert_eq!(lock_wait(&request(true), true), Duration::from_secs(6));
        let entry = cache.metadata(&r.identity());
        let old = fsutil::now_secs() - 3600;
        fsutil::write_atomic(&entry.json, b"{}").unwrap();
        state(old, 0).write(&entry.state).unwrap();
        let _held = fsutil::lock(&entry.lock, Duration::ZERO).unwrap().unwrap();

        let inputs = Inputs::new();
        match ensure(&cache, &r, &inputs) {
            Freshness::Stale { copy, now, .. } => {
                assert!(!now, "a busy lock is no failure worth a warning");
                assert_eq!(copy.state.fetched, old);
            }
            other => panic!("{other:?}"),
        }
        // The copy served is what the answer rests on.
        assert_eq!(inputs.files()[0].0, entry.json);

        // Without a copy there is nothing to serve: wait (bounded), then say why.
        std::fs::remove_file(&entry.json).unwrap();
        let r = Request {
            timeout: Duration::from_millis(100),
            ..r
        };
        assert_eq!(lock_wait(&r, false), Duration::from_millis(1100));
        let outcome = ensure(&cache, &r, &Inputs::new());
        assert!(
            matches!(&outcome, Freshness::Unavailable { error, now: true } if error.contains("still refreshing")),
            "{outcome:?}"
        );
    }
}
