//! DNS answers kept in the shim's cache for their TTL, so a warm `uv` call
//! reads one small file per search domain and makes no query.
//!
//! One file per query name and resolver (`<cache>/dns/<key>`), a
//! [`record`]: no JSON, because it is read on every call that gets as far
//! as DNS discovery.
//!
//! ```text
//! uv-shim-dns 2
//! query _uv-mirror.corp.example
//! resolver 10.0.0.53:53
//! fetched 1700000000
//! expires 1700000300
//! outcome records
//! txt v=uvm1 url=https://mirror.corp.example/uv/
//! ```
//!
//! The raw records are kept, not the verdict on them: whether a record is
//! trusted depends on the system config, which may change before the TTL
//! runs out. Negative answers (no such name, no TXT record), timeouts and
//! other failures are cached too, for [`NEGATIVE_TTL`], so a resolver that
//! does not answer costs its timeout once a minute at most.
//!
//! When refreshing an expired list of records fails (a timeout, SERVFAIL,
//! no network), the records are kept a minute more at a time, for at most
//! [`MAX_STALE`] past their TTL, with a `stale <next try> <why>` line: a
//! flaky resolver must not flip a machine between its mirror and none. An
//! authoritative "no such record" replaces them at once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::txt;
use crate::cache::Cache;
use crate::fsutil::record::{self, Record};

/// Shortest time an answer is kept, however small its TTL.
pub const MIN_TTL: Duration = Duration::from_secs(60);

/// Longest time an answer is kept, however large its TTL.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// How long a negative answer, a timeout or a failure is kept.
pub const NEGATIVE_TTL: Duration = MIN_TTL;

/// How long past their TTL records are kept while refreshing them fails.
pub const MAX_STALE: Duration = MAX_TTL;

const KIND: &str = "dns";
const VERSION: &str = "2";

/// What the resolver said about one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// TXT records (each one's character-strings already joined).
    Records(Vec<Vec<u8>>),
    /// The name does not exist (NXDOMAIN).
    NoSuchName,
    /// The name exists but holds no TXT record.
    NoRecords,
    /// No answer within the time limit.
    Timeout,
    /// Any other failure (SERVFAIL, REFUSED, a network error), described.
    Failed(String),
}

impl Outcome {
    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Records(r) if r.len() == 1 => "1 TXT record".into(),
            Outcome::Records(r) => format!("{} TXT records", r.len()),
            Outcome::NoSuchName => "no such name (NXDOMAIN)".into(),
            Outcome::NoRecords => "no TXT record".into(),
            Outcome::Timeout => "no answer in time".into(),
            Outcome::Failed(why) => format!("lookup failed: {why}"),
        }
    }

    fn tag(&self) -> &'static str {
        match self {
            Outcome::Records(_) => "records",
            Outcome::NoSuchName => "nxdomain",
            Outcome::NoRecords => "no-records",
            Outcome::Timeout => "timeout",
            Outcome::Failed(_) => "failed",
        }
    }
}

/// One cached answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The name queried, e.g. `_uv-mirror.corp.example`.
    pub query: String,
    /// Which resolver answered (`UV_SHIM_DNS_SERVER`, or the system's servers).
    pub resolver: String,
    /// When it was received (Unix seconds).
    pub fetched: u64,
    /// Until when it may be used (Unix seconds).
    pub expires: u64,
    /// What it said.
    pub outcome: Outcome,
    /// Set when the records are kept past their TTL because refreshing them failed.
    pub stale: Option<Stale>,
}

/// Records kept past their TTL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    /// When to try refreshing them again (Unix seconds).
    pub retry: u64,
    /// Why the last refresh failed.
    pub why: String,
}

/// How long to keep an answer: its TTL clamped to [`MIN_TTL`] … [`MAX_TTL`];
/// [`NEGATIVE_TTL`] for anything but records, or records without a TTL.
pub fn keep_for(outcome: &Outcome, ttl: Option<u32>) -> Duration {
    match (outcome, ttl) {
        (Outcome::Records(_), Some(ttl)) => Duration::from_secs(ttl.into()).clamp(MIN_TTL, MAX_TTL),
        _ => NEGATIVE_TTL,
    }
}

impl Answer {
    /// An answer received at `now`, kept for [`keep_for`].
    pub fn new(
        query: String,
        resolver: String,
        now: u64,
        outcome: Outcome,
        ttl: Option<u32>,
    ) -> Self {
        let expires = now.saturating_add(keep_for(&outcome, ttl).as_secs());
        Answer {
            query,
            resolver,
            fetched: now,
            expires,
            outcome,
            stale: None,
        }
    }

    /// What to keep when a refresh at `now` failed (`failed` is the new
    /// outcome): these records until the next try, [`NEGATIVE_TTL`] from now,
    /// if they are records and not more than [`MAX_STALE`] past their TTL;
    /// else the failure itself.
    pub fn after_failed_refresh(self, now: u64, failed: Outcome) -> Answer {
        let grace_end = self.expires.saturating_add(MAX_STALE.as_secs());
        match (&self.outcome, &failed) {
            (Outcome::Records(_), Outcome::Timeout | Outcome::Failed(_)) if now < grace_end => {
                Answer {
                    stale: Some(Stale {
                        retry: now.saturating_add(NEGATIVE_TTL.as_secs()).min(grace_end),
                        why: failed.describe(),
                    }),
                    ..self
                }
            }
            _ => Answer::new(self.query, self.resolver, now, failed, None),
        }
    }

    /// Whether it may still be used at `now`. An answer from the future (the
    /// clock went back) is not trusted to be fresh.
    pub fn is_fresh(&self, now: u64) -> bool {
        let until = match &self.stale {
            Some(stale) => stale.retry,
            None => self.expires,
        };
        self.fetched <= now && now < until
    }

    /// The file's text.
    pub fn render(&self) -> String {
        let mut record = Record::new(KIND, VERSION);
        record
            .push("query", &self.query)
            .push("resolver", &self.resolver)
            .push("fetched", self.fetched)
            .push("expires", self.expires)
            .push("outcome", self.outcome.tag());
        match &self.outcome {
            Outcome::Records(records) => {
                for bytes in records {
                    record.push("txt", txt::escape(bytes));
                }
            }
            Outcome::Failed(why) => {
                record.push("error", why);
            }
            _ => {}
        }
        if let Some(stale) = &self.stale {
            record.push("stale", format_args!("{} {}", stale.retry, stale.why));
        }
        record.into_text()
    }

    /// Parses a file's text; `None` for anything this version did not write.
    pub fn parse(text: &str) -> Option<Answer> {
        let (mut query, mut resolver, mut fetched, mut expires, mut tag) =
            (None, None, None, None, None);
        let mut records = Vec::new();
        let mut error = String::new();
        let mut stale = None;
        for (name, value) in record::lines(KIND, VERSION, text)? {
            match name {
                "query" => query = Some(value.into_owned()),
                "resolver" => resolver = Some(value.into_owned()),
                "fetched" => fetched = Some(value.parse().ok()?),
                "expires" => expires = Some(value.parse().ok()?),
                "outcome" => tag = Some(value.into_owned()),
                "txt" => records.push(txt::unescape(&value)?),
                "error" => error = value.into_owned(),
                "stale" => {
                    let (retry, why) = value.split_once(' ').unwrap_or((&value, ""));
                    stale = Some(Stale {
                        retry: retry.parse().ok()?,
                        why: why.to_string(),
                    });
                }
                _ => {}
            }
        }
        let outcome = match tag?.as_str() {
            "records" => Outcome::Records(records),
            "nxdomain" => Outcome::NoSuchName,
            "no-records" => Outcome::NoRecords,
            "timeout" => Outcome::Timeout,
            "failed" => Outcome::Failed(error),
            _ => return None,
        };
        Some(Answer {
            query: query?,
            resolver: resolver?,
            fetched: fetched?,
            expires: expires?,
            outcome,
            stale,
        })
    }
}

/// Where the answer for `query` from `resolver` is kept.
pub fn path(cache: &Cache, query: &str, resolver: &str) -> PathBuf {
    cache.keyed("dns", &format!("{query} {resolver}"))
}

/// The lock held while one process queries, so parallel calls make one query.
pub fn lock_path(cache: &Cache) -> PathBuf {
    cache.keyed("dns", "lock").with_extension("lock")
}

/// Reads a cached answer (the read recorded in `inputs`); `None` when
/// absent, unreadable or not for this query.
pub fn read(
    inputs: &crate::inputs::Inputs,
    path: &Path,
    query: &str,
    resolver: &str,
) -> Option<Answer> {
    let answer = Answer::parse(&inputs.read_private(path).ok()?)?;
    // The file name is a hash: make sure it really holds this query.
    (answer.query == query && answer.resolver == resolver).then_some(answer)
}

/// Writes an answer atomically. A cache that cannot be written costs a
/// query next time, nothing more, so the error is only logged.
pub fn write(path: &Path, answer: &Answer) {
    if let Err(err) = crate::fsutil::private::write(path, answer.render().as_bytes()) {
        crate::log::debug(|| format!("cannot cache the DNS answer in {}: {err}", path.display()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_clamped_and_negative_answers_keep_a_minute() {
        let records = Outcome::Records(vec![b"v=uvm1".to_vec()]);
        assert_eq!(keep_for(&records, Some(0)), MIN_TTL);
        assert_eq!(keep_for(&records, Some(59)), MIN_TTL);
        assert_eq!(keep_for(&records, Some(300)), Duration::from_secs(300));
        assert_eq!(keep_for(&records, Some(u32::MAX)), MAX_TTL);
        assert_eq!(keep_for(&records, None), NEGATIVE_TTL);
        for outcome in [
            Outcome::NoSuchName,
            Outcome::NoRecords,
            Outcome::Timeout,
            Outcome::Failed("x".into()),
        ] {
            assert_eq!(keep_for(&outcome, Some(3600)), NEGATIVE_TTL);
        }
    }

    #[test]
    fn freshness_follows_the_expiry() {
        let a = Answer::new("q".into(), "r".into(), 1000, Outcome::NoSuchName, None);
        assert!(a.is_fresh(1000));
        assert!(a.is_fresh(1059));
        assert!(!a.is_fresh(1060));
        assert!(!a.is_fresh(999), "an answer from the future is not fresh");
    }

    #[test]
    fn every_outcome_round_trips() {
        for outcome in [
            Outcome::Records(vec![
                b"v=uvm1 url=https://m.example/".to_vec(),
                b"line\nbreak\\\xff".to_vec(),
            ]),
            Outcome::Records(Vec::new()),
            Outcome::NoSuchName,
            Outcome::NoRecords,
            Outcome::Timeout,
            Outcome::Failed("SERVFAIL\nfrom 10.0.0.1".into()),
        ] {
            let a = Answer::new(
                "_uv-mirror.corp.example".into(),
                "10.0.0.53:53".into(),
                1_700_000_000,
                outcome,
                Some(300),
            );
            let text = a.render();
            let back = Answer::parse(&text).unwrap_or_else(|| panic!("{text}"));
            // Exactly, line breaks in an error included.
            assert_eq!(back, a);
            assert_eq!(
                text.lines().count(),
                text.split('\n').count() - 1,
                "one record per line"
            );
        }
    }

    #[test]
    fn records_outlive_a_failed_refresh_for_a_while() {
        let records = Outcome::Records(vec![b"v=uvm1 url=https://m.example/".to_vec()]);
        let cached = Answer::new("q".into(), "r".into(), 1000, records.clone(), Some(300));
        assert_eq!(cached.expires, 1300);
        assert!(!cached.is_fresh(1400));

        let kept = cached.clone().after_failed_refresh(1400, Outcome::Timeout);
        assert_eq!(kept.outcome, records);
        assert_eq!((kept.fetched, kept.expires), (1000, 1300));
        let stale = kept.stale.clone().unwrap();
        assert_eq!(
            (stale.retry, stale.why.as_str()),
            (1460, "no answer in time")
        );
        assert!(kept.is_fresh(1459) && !kept.is_fresh(1460));
        assert_eq!(Answer::parse(&kept.render()), Some(kept.clone()));

        // Kept again on the next failure, but never past the grace period.
        let end = 1300 + MAX_STALE.as_secs();
        let last = kept.after_failed_refresh(end - 10, Outcome::Failed("SERVFAIL".into()));
        assert_eq!(last.stale.as_ref().unwrap().retry, end);
        let gone = last.after_failed_refresh(end, Outcome::Timeout);
        assert_eq!(gone.outcome, Outcome::Timeout);
        assert_eq!(gone.stale, None);

        // A real "no" from the server is believed at once.
        let no = cached
            .clone()
            .after_failed_refresh(1400, Outcome::NoSuchName);
        assert_eq!((no.outcome, no.expires), (Outcome::NoSuchName, 1460));
        // And a failure does not keep a negative answer.
        let neg = Answer::new("q".into(), "r".into(), 1000, Outcome::NoRecords, None);
        let failed = neg.after_failed_refresh(1100, Outcome::Timeout);
        assert_eq!((failed.outcome, failed.stale), (Outcome::Timeout, None));
    }

    const MAGIC: &str = "uv-shim-dns 2";

    #[test]
    fn foreign_or_damaged_files_are_no_answer() {
        assert!(Answer::parse("").is_none());
        assert!(Answer::parse("{\"json\": 1}").is_none());
        assert!(
            Answer::parse(&format!(
                "{MAGIC}\nquery q\nresolver r\nfetched 1\nexpires 2\n"
            ))
            .is_none()
        );
        assert!(
            Answer::parse(&format!(
                "{MAGIC}\nquery q\nresolver r\nfetched x\nexpires 2\noutcome timeout\n"
            ))
            .is_none()
        );
        assert!(
            Answer::parse(&format!(
                "{MAGIC}\nquery q\nresolver r\nfetched 1\nexpires 2\noutcome maybe\n"
            ))
            .is_none()
        );
        assert!(
            Answer::parse(&format!(
                "{MAGIC}\nquery q\nresolver r\nfetched 1\nexpires 2\noutcome records\ntxt bad\\q\n"
            ))
            .is_none()
        );
    }

    #[test]
    fn read_checks_the_query_behind_the_hash() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let a = Answer::new(
            "_uv-mirror.a.example".into(),
            "system".into(),
            5,
            Outcome::NoRecords,
            None,
        );
        let p = path(&cache, &a.query, &a.resolver);
        write(&p, &a);
        assert_eq!(
            read(
                &crate::inputs::Inputs::new(),
                &p,
                "_uv-mirror.a.example",
                "system"
            ),
            Some(a)
        );
        assert_eq!(
            read(
                &crate::inputs::Inputs::new(),
                &p,
                "_uv-mirror.b.example",
                "system"
            ),
            None
        );
        assert_eq!(
            read(
                &crate::inputs::Inputs::new(),
                &p,
                "_uv-mirror.a.example",
                "10.0.0.1:53"
            ),
            None
        );
        assert_ne!(p, path(&cache, "_uv-mirror.a.example", "10.0.0.1:53"));
    }
}
