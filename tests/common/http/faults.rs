//! The faults a harness server can show, and which one a request gets.
//!
//! A test sets a [`Fault`] for one decoded path or for every path, and may
//! switch it while the server runs; [`FaultTable`] keeps them and counts
//! the requests each has matched, so the counting kinds (`CutOnce`,
//! `BodyOnce`, `FailTimes`) know when to stop misbehaving. What each kind
//! does on the wire is carried out per connection, in
//! [`connection`](super::connection).

use std::time::Duration;

/// A misbehaviour the server shows instead of (or before) its normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status (e.g. 500, 404) with a short text body.
    Status(u16),
    /// Read the request, then close the connection without answering.
    Refuse,
    /// Read the request and never answer; the socket is held open until the
    /// server is dropped.
    Stall,
    /// Send the status line and headers of the normal answer, then stall.
    HeadersThenStall,
    /// Send the normal answer's headers (full `Content-Length`) but only the
    /// first `keep` bytes of its body, then close.
    Truncate {
        /// Body bytes sent before closing.
        keep: usize,
    },
    /// Answer 200 with this body instead of the file.
    Body(Vec<u8>),
    /// The first matching request gets 200 with this body instead of the
    /// file, later ones the file (a reader that caught a file mid-publish).
    BodyOnce(Vec<u8>),
    /// A server that answers `max` requests at a time: each matching
    /// request is held `hold`, then answered normally; one that arrives
    /// while `max` are being answered gets `status` with `Retry-After:
    /// retry_after` (seconds).
    Busy {
        /// Requests answered at once.
        max: usize,
        /// The status of the others (429, 503).
        status: u16,
        /// Their `Retry-After`, in seconds.
        retry_after: u64,
        /// How long each answered request is held before its answer.
        hold: Duration,
    },
    /// Answer 200 and stream this many bytes of `a`.
    Huge(u64),
    /// Answer 302 with `Location` pointing at the request itself.
    RedirectLoop,
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// The first matching request gets the normal headers (full length), then
    /// `after` body bytes, then the connection closes; later requests are
    /// answered normally (for resume tests).
    CutOnce {
        /// Body bytes sent before the cut.
        after: usize,
    },
    /// The first `times` matching requests are answered with `status`, later
    /// ones normally.
    FailTimes {
        /// How many requests fail.
        times: usize,
        /// The status they get.
        status: u16,
    },
}

/// A fault with the number of requests it has matched so far.
#[derive(Debug)]
struct FaultSlot {
    path: Option<String>,
    fault: Fault,
    hits: usize,
}

/// The faults set on a server, each with its count of matched requests.
#[derive(Debug, Default)]
pub(super) struct FaultTable {
    slots: Vec<FaultSlot>,
}

impl FaultTable {
    /// Sets the fault for `path` (every path for `None`), replacing an
    /// earlier one for the same path; its count starts afresh.
    pub(super) fn set(&mut self, path: Option<&str>, fault: Fault) {
        let path = path.map(str::to_owned);
        self.slots.retain(|slot| slot.path != path);
        self.slots.push(FaultSlot {
            path,
            fault,
            hits: 0,
        });
    }

    /// Removes the fault for `path` (or the every-path fault for `None`).
    pub(super) fn clear(&mut self, path: Option<&str>) {
        self.slots.retain(|slot| slot.path.as_deref() != path);
    }

    /// Removes every fault.
    pub(super) fn clear_all(&mut self) {
        self.slots.clear();
    }

    /// The fault that applies to a request for `path`, counting it: an
    /// exact path wins over the every-path fault.
    pub(super) fn take(&mut self, path: &str) -> Option<Fault> {
        let index = self
            .slots
            .iter()
            .position(|slot| slot.path.as_deref() == Some(path))
            .or_else(|| self.slots.iter().position(|slot| slot.path.is_none()))?;
        let slot = &mut self.slots[index];
        let hits = slot.hits;
        slot.hits += 1;
        match slot.fault {
            Fault::CutOnce { .. } | Fault::BodyOnce(_) if hits > 0 => None,
            Fault::FailTimes { times, .. } if hits >= times => None,
            ref fault => Some(fault.clone()),
        }
    }
}
