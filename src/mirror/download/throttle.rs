//! How many downloads run at once: `--jobs` at first, fewer for the rest of
//! the run once the server says it is busy (429 Too Many Requests, 503
//! Service Unavailable).
//!
//! Each busy answer to a request sent at the current limit halves it (down
//! to one); busy answers to requests sent before the last cut say nothing
//! new, since the burst that caused them was already answered, so a burst
//! of refusals halves the limit once, not once per refusal.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use crate::mirror::interrupt;

/// The shared limit and the downloads running under it.
#[derive(Debug)]
pub struct Throttle {
    state: Mutex<State>,
    freed: Condvar,
}

#[derive(Debug)]
struct State {
    /// The concurrency asked for (`--jobs`).
    asked: usize,
    /// The current limit.
    limit: usize,
    /// Downloads running now.
    running: usize,
    /// Bumped on every cut: which limit a request was sent under.
    generation: u64,
}

/// One running download; frees its place when dropped.
#[derive(Debug)]
pub struct Slot<'a> {
    throttle: &'a Throttle,
    generation: u64,
}

impl Throttle {
    /// A limit of `jobs` downloads at once.
    pub fn new(jobs: usize) -> Throttle {
        let jobs = jobs.max(1);
        Throttle {
            state: Mutex::new(State {
                asked: jobs,
                limit: jobs,
                running: 0,
                generation: 0,
            }),
            freed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a place under the limit; `None` on Ctrl-C.
    pub fn enter(&self) -> Option<Slot<'_>> {
        let mut state = self.lock();
        while state.running >= state.limit {
            if interrupt::requested() {
                return None;
            }
            state = self
                .freed
                .wait_timeout(state, Duration::from_millis(50))
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        state.running += 1;
        Some(Slot {
            throttle: self,
            generation: state.generation,
        })
    }

    /// The server answered `slot`'s request with "busy": halves the limit
    /// if that request was sent under the current one. Returns whether
    /// the answer counts as a failure of the download: only when the limit
    /// cannot go lower (one at a time and still busy).
    pub fn busy(&self, slot: &Slot<'_>) -> bool {
        let mut state = self.lock();
        if slot.generation != state.generation {
            return false;
        }
        if state.limit == 1 {
            return true;
        }
        state.limit = (state.limit / 2).max(1);
        state.generation += 1;
        false
    }

    /// `(asked, now)` when the limit was lowered during the run.
    pub fn lowered(&self) -> Option<(usize, usize)> {
        let state = self.lock();
        (state.limit < state.asked).then_some((state.asked, state.limit))
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.throttle.lock().running -= 1;
        self.throttle.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_busy_answers_halves_the_limit_once() {
        let throttle = Throttle::new(8);
        let slots: Vec<_> = (0..8).map(|_| throttle.enter().unwrap()).collect();
        for slot in &slots {
            assert!(!throttle.busy(slot));
        }
        assert_eq!(throttle.lowered(), Some((8, 4)));
        drop(slots);
        let a = throttle.enter().unwrap();
        assert!(!throttle.busy(&a));
        assert_eq!(throttle.lowered(), Some((8, 2)));
    }

    #[test]
    fn at_one_at_a_time_a_busy_answer_is_a_failure() {
        let throttle = Throttle::new(1);
        let slot = throttle.enter().unwrap();
        assert!(throttle.busy(&slot));
        assert_eq!(throttle.lowered(), None);
    }

    #[test]
    fn no_more_run_at_once_than_the_limit() {
        let throttle = Throttle::new(2);
        let a = throttle.enter().unwrap();
        throttle.busy(&a);
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let _b = throttle.enter().unwrap();
                assert!(done.load(std::sync::atomic::Ordering::SeqCst));
            });
            std::thread::sleep(Duration::from_millis(100));
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            drop(a);
        });
    }
}
