//! What the cache knows about one metadata copy: where it came from, when it
//! was last confirmed, its validators, the entries left out of it and the
//! last failure. A small record
//! beside the JSON, read on every call that checks freshness, so no JSON is
//! parsed to decide whether the copy is good.

use std::path::Path;
use std::time::Duration;

use crate::fsutil::record;

const KIND: &str = "state";
// 3: the dropped entries (`dropped`, `dropped-entry`).
const VERSION: &str = "3";

/// Freshness and validators of one cached document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// The URL (or path) the document came from.
    pub source: String,
    /// When the cached copy was last confirmed good (fetched, or revalidated with 304).
    pub fetched: u64,
    /// Size in bytes of the cached JSON, to detect a damaged file cheaply.
    pub size: u64,
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
}

impl State {
    /// Reads a state file; `None` when absent or unreadable (treated as no cache).
    pub fn read(path: &Path) -> Option<State> {
        record::read(path, KIND, VERSION, |lines| {
            let mut state = State::default();
            for (name, value) in lines {
                match name {
                    "source" => state.source = value.into_owned(),
                    "fetched" => state.fetched = value.parse().ok()?,
                    "size" => state.size = value.parse().ok()?,
                    "entries" => state.entries = value.parse().ok()?,
                    "dropped" => state.dropped = value.parse().ok()?,
                    "dropped-entry" => state.dropped_first.push(value.into_owned()),
                    "etag" => state.etag = Some(value.into_owned()),
                    "last-modified" => state.last_modified = Some(value.into_owned()),
                    "failed" => state.failed = value.parse().ok()?,
                    "error" => state.error = Some(value.into_owned()),
                    _ => {}
                }
            }
            Some(state)
        })
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
            .push_some("etag", self.etag.as_ref())
            .push_some("last-modified", self.last_modified.as_ref())
            .push_some("error", self.error.as_ref());
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
            entries: 7,
            dropped: 2,
            dropped_first: vec!["`a`: no sha256".into(), "`b`: url x".into()],
            etag: Some("\"abc\"".into()),
            last_modified: Some("Tue, 24 Nov 2026 10:00:00 GMT".into()),
            failed: 0,
            error: Some("line\nbreak".into()),
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
    }
}
