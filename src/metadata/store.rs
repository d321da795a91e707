//! What the cache knows about one metadata copy: where it came from, when it
//! was last confirmed, its sha256, its validators, the entries left out of
//! it, the last failure and where the next attempt starts. A small record
//! beside the JSON, read on every call that checks freshness, so no JSON is
//! parsed to decide whether the copy is good.

use std::path::Path;
use std::time::Duration;

use super::tls::Trust;
use crate::fsutil::record;

const KIND: &str = "state";
// 3: the copy's sha256 and the failover position (2 had neither; it is
// read as no state, so the first call after an upgrade fetches once).
// 4: the `tls` line (which roots vouched for the mirror).
// 5: the dropped entries (`dropped`, `dropped-entry`).
// 6: the key that signed the copy (`signed-by`), with `trusted-keys`.
const VERSION: &str = "6";

/// Freshness and validators of one cached document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// The URL (or path) the document came from.
    pub source: String,
    /// When the cached copy was last confirmed good (fetched, or revalidated with 304).
    pub fetched: u64,
    /// Size in bytes of the cached JSON, to detect a damaged file cheaply.
    pub size: u64,
    /// sha256 (lower-case hex) of the cached JSON as validated, checked by
    /// every call that runs the full pipeline, on a 304 and by `refresh`.
    pub sha256: Option<String>,
    /// How many entries the cached copy lists.
    pub entries: u64,
    /// How many entries of the document were left out of the copy.
    pub dropped: u64,
    /// The first few of them, each `` `key`: reason ``.
    pub dropped_first: Vec<String>,
    /// ETag of the response it came from (for a `file` source: its stamp).
    pub etag: Option<String>,
    /// Last-Modified of the response it came from.
    pub last_modified: Option<String>,
    /// When the last attempt failed (0: it did not).
    pub failed: u64,
    /// What went wrong then.
    pub error: Option<String>,
    /// The source (index in the failover list) the next attempt starts
    /// with: after a call that tried only some sources, the next tries the
    /// others.
    pub next: usize,
    /// Which roots vouched for the server on the last fetch or revalidation
    /// (`None`: no TLS, as for `http` and `file`).
    pub tls: Option<Trust>,
    /// The id of the minisign key that signed the copy (`None`: no
    /// `trusted-keys`, so no signature was asked for).
    pub signed_by: Option<String>,
}

impl State {
    /// Reads a state file; `None` when absent, unreadable or a symbolic
    /// link (treated as no cache).
    pub fn read(path: &Path) -> Option<State> {
        let text = crate::fsutil::private::read_to_string(path).ok()?;
        let lines = record::lines(KIND, VERSION, &text)?;
        let mut state = State::default();
        for (name, value) in lines {
            match name {
                "source" => state.source = value.into_owned(),
                "fetched" => state.fetched = value.parse().ok()?,
                "size" => state.size = value.parse().ok()?,
                "sha256" => state.sha256 = Some(value.into_owned()),
                "next" => state.next = value.parse().ok()?,
                "entries" => state.entries = value.parse().ok()?,
                "dropped" => state.dropped = value.parse().ok()?,
                "dropped-entry" => state.dropped_first.push(value.into_owned()),
                "etag" => state.etag = Some(value.into_owned()),
                "last-modified" => state.last_modified = Some(value.into_owned()),
                "failed" => state.failed = value.parse().ok()?,
                "error" => state.error = Some(value.into_owned()),
                "tls" => state.tls = Some(Trust::parse(&value)?),
                "signed-by" => state.signed_by = Some(value.into_owned()),
                _ => {}
            }
        }
        Some(state)
    }

    /// Writes the state file atomically.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        let mut record = record::Record::new(KIND, VERSION);
        record
            .push("source", &self.source)
            .push("fetched", self.fetched)
            .push("size", self.size)
            .push("entries", self.entries)
            .push("dropped", self.dropped)
            .push("failed", self.failed)
            .push("next", self.next)
            .push_some("sha256", self.sha256.as_ref())
            .push_some("etag", self.etag.as_ref())
            .push_some("last-modified", self.last_modified.as_ref())
            .push_some("error", self.error.as_ref())
            .push_some("tls", self.tls.map(Trust::as_str))
            .push_some("signed-by", self.signed_by.as_ref());
        for drop in &self.dropped_first {
            record.push("dropped-entry", drop);
        }
        record.write(path)
    }

    /// Whether a good copy exists (it was fetched at least once).
    pub fn has_copy(&self) -> bool {
        self.fetched > 0
    }

    /// Age of the good copy.
    pub fn age(&self, now: u64) -> Duration {
        Duration::from_secs(now.saturating_sub(self.fetched))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips() {
        let state = State {
            source: "https://m.example/uv/download-metadata.json".into(),
            fetched: 1_700_000_000,
            size: 1234,
            sha256: Some("ab".repeat(32)),
            entries: 7,
            dropped: 2,
            dropped_first: vec!["`a`: no sha256".into(), "`b`: url x".into()],
            etag: Some("\"abc\"".into()),
            last_modified: Some("Tue, 24 Nov 2026 10:00:00 GMT".into()),
            failed: 0,
            error: Some("line\nbreak".into()),
            next: 3,
            tls: Some(Trust::SystemStore),
            signed_by: Some("0123456789ABCDEF".into()),
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.state");
        state.write(&path).unwrap();
        assert_eq!(State::read(&path), Some(state));
    }

    #[test]
    fn garbage_state_is_no_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.state");
        std::fs::write(&path, "{\"json\": true}").unwrap();
        assert!(State::read(&path).is_none());
        std::fs::write(&path, format!("uv-shim-{KIND} {VERSION}\nfetched soon\n")).unwrap();
        assert!(State::read(&path).is_none());
        // Format 2 recorded no sha256: it vouches for nothing now.
        std::fs::write(&path, "uv-shim-state 2\nfetched 1\nsize 2\n").unwrap();
        assert!(State::read(&path).is_none());
    }

    #[cfg(unix)]
    #[test]
    fn a_linked_state_is_no_state() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("elsewhere");
        let state = State {
            fetched: 1,
            ..State::default()
        };
        state.write(&real).unwrap();
        let path = dir.path().join("s.state");
        std::os::unix::fs::symlink(&real, &path).unwrap();
        assert_eq!(State::read(&real), Some(state));
        assert!(State::read(&path).is_none());
    }
}
