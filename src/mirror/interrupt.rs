//! Ctrl-C (and `SIGTERM`, as CI runners send on cancel) during a sync.
//!
//! The first signal only raises a flag: downloads stop at their next block
//! and keep their `.part` files, and the sync still writes metadata for
//! what was verified, so the mirror stays consistent and the next run
//! resumes. A second signal ends the process at once; that is safe too,
//! because every file and the metadata are only ever replaced by a rename.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Whether the user asked to stop.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// Installs the handler (Unix; elsewhere the default behaviour stays, which
/// still leaves a consistent mirror).
pub fn install() {
    #[cfg(unix)]
    unix::install();
}

#[cfg(unix)]
mod unix {
    use super::{Ordering, REQUESTED};

    extern "C" fn on_signal(_signal: libc::c_int) {
        // Only async-signal-safe work here: an atomic swap and `_exit`.
        if REQUESTED.swap(true, Ordering::SeqCst) {
            // SAFETY: `_exit` is async-signal-safe and ends the process.
            unsafe { libc::_exit(130) };
        }
    }

    pub fn install() {
        for signal in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: a zeroed `sigaction` is a valid "no flags, empty mask"
            // value; the handler only touches an atomic and calls `_exit`.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
                // Restart interrupted system calls: the flag is polled, not
                // delivered through EINTR.
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    }
}
