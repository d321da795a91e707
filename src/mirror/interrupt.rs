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
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // The exit is registered before the flag, so it sees the flag as
        // the previous signal left it: the first signal only sets it, the
        // second ends the process with the shell's status for Ctrl-C.
        // Should either registration fail, the default action stays, which
        // loses nothing either. signal-hook restarts interrupted system
        // calls (`SA_RESTART`): the flag is polled, not delivered as EINTR.
        let _ = signal_hook::flag::register_conditional_shutdown(signal, 130, &REQUESTED);
        let _ = signal_hook::flag::register(signal, &REQUESTED);
    }
}
