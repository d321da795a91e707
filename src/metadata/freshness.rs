//! Keeps a validated copy of the mirror's metadata in the cache.
//!
//! The warm path reads one small state file and stats the JSON beside it: no
//! network, no JSON parsing. Only a missing or stale copy takes the lock and
//! goes to the network; whoever waited on the lock then finds the copy fresh
//! and makes no request of its own. A response that fails validation never
//! replaces a good copy, and a copy that is no longer the document that was
//! validated ([`integrity`]) is no copy. The sources are asked within the
//! call's time budget ([`failover`]).

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::failover::{self, Got, Sources, file_validator};
use super::integrity;
use super::netrc::Auth;
use super::rules::{Policy, Rewrite};
use super::store::State;
use crate::budget::Budget;
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
    /// The call's time budget for all network work.
    pub budget: Budget,
    /// Revalidate now, whatever the TTL and backoff say.
    pub force: bool,
    /// Where a netrc file with credentials may be, in order (read only to fetch).
    pub netrc: Vec<PathBuf>,
    /// `SSL_CERT_FILE` or `SSL_CERT_DIR` is set: trust only that bundle, as uv does.
    pub cert_file: bool,
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
/// (stale) copy can be served, else as long as that refresh may take (its
/// call's budget, all sources included).
fn lock_wait(request: &Request, have_stale_copy: bool) -> Duration {
    if have_stale_copy && !request.force {
        Duration::ZERO
    } else {
        request.budget.total() + Duration::from_secs(1)
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
    // copy, or when told to revalidate, is the refresh worth waiting for,
    // and never longer than that refresh's whole budget.
    let stale = seen.good();
    let private = entry
        .lock
        .parent()
        .map_or(Ok(()), fsutil::private::ensure_dir);
    let locked = private
        .map_err(std::io::Error::other)
        .and_then(|()| fsutil::lock_private(&entry.lock, lock_wait(request, stale.is_some())));
    let _lock = match locked {
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
    let seen = seen.read_again(&entry);
    if !request.force
        && let Some(outcome) = decide_without_network(&entry, request, &seen, fsutil::now_secs())
    {
        return outcome;
    }
    fetch_sources(&entry, request, &seen)
}

/// The state record as read, and whether the JSON it vouches for is whole:
/// the document that was validated, byte for byte.
struct Seen {
    state: Option<State>,
    whole: bool,
    /// Why a copy the state vouches for is not whole.
    damaged: Option<String>,
    /// The JSON file itself (a link not followed) when it was checked.
    json: FileStamp,
}

impl Seen {
    fn read(entry: &MetadataFiles) -> Seen {
        let state = State::read(&entry.state);
        let json = own_stamp(&entry.json);
        let check = state
            .as_ref()
            .filter(|s| s.has_copy())
            .map(|s| integrity::check(&entry.json, s));
        let whole = matches!(check, Some(Ok(())));
        let damaged = check.and_then(Result::err);
        if let Some(why) = &damaged {
            crate::log::debug(|| format!("{}: {why}", entry.json.display()));
        }
        Seen {
            state,
            whole,
            damaged,
            json,
        }
    }

    /// Reads again after waiting for the lock; the hash is not computed
    /// twice for a state and a file that did not move meanwhile.
    fn read_again(self, entry: &MetadataFiles) -> Seen {
        let state = State::read(&entry.state);
        if state == self.state && own_stamp(&entry.json) == self.json {
            return self;
        }
        Seen::read(entry)
    }

    /// The state of a good copy, if there is one.
    fn good(&self) -> Option<State> {
        self.state.clone().filter(|_| self.whole)
    }
}

/// The stamp of the file at `path` itself, a link not followed.
fn own_stamp(path: &std::path::Path) -> FileStamp {
    std::fs::symlink_metadata(path).map_or(FileStamp::Absent, |m| FileStamp::from_metadata(&m))
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

fn fetch_sources(entry: &MetadataFiles, request: &Request, seen: &Seen) -> Freshness {
    let previous = seen.good();
    let auth = Auth::load(&request.netrc);
    let sources = Sources {
        urls: &request.sources,
        rewrite: &request.rewrite,
        policy: &request.policy,
        budget: &request.budget,
        auth: &auth,
        cert_file: request.cert_file,
    };
    let start = seen.state.as_ref().map_or(0, |s| s.next);
    let failure = match failover::try_sources(entry, &sources, previous.as_ref(), start) {
        Ok(Got::Fetched(state)) => return Freshness::Fetched(copy(entry, state)),
        Ok(Got::Confirmed(state)) => return Freshness::Revalidated(copy(entry, state)),
        Err(failure) => failure,
    };
    let mut error = failure.error;
    if let Some(why) = &seen.damaged {
        error.push_str(&format!(
            "; the cached copy {} is not used: {why}",
            entry.json.display()
        ));
    }
    let now = fsutil::now_secs();
    let mut state = previous.clone().unwrap_or_default();
    state.failed = now;
    state.error = Some(error.clone());
    state.next = failure.next;
    if previous.is_none() {
        // Remember the failure (for the backoff) without claiming a copy.
        state.fetched = 0;
        state.size = 0;
        state.sha256 = None;
    }
    if let Err(err) = state.write(&entry.state) {
        crate::log::debug(|| format!("cannot write {}: {err}", entry.state.display()));
    }
    not_refreshed(entry, previous.map(|_| state), error, true)
}

fn copy(entry: &MetadataFiles, state: State) -> CachedCopy {
    CachedCopy {
        json: entry.json.clone(),
        state,
    }
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
            budget: Budget::new(Duration::from_secs(5)),
            force,
            netrc: Vec::new(),
            cert_file: false,
        }
    }

    fn state(fetched: u64, failed: u64) -> State {
        State {
            source: request(false).sources[0].to_string(),
            fetched,
            size: 2,
            sha256: Some(integrity::sha256(b"{}")),
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
        fsutil::private::write(&entry.json, b"{}").unwrap();
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
            budget: Budget::new(Duration::from_millis(100)),
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
