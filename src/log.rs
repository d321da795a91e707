//! The shim's own diagnostics on stderr, filtered by `UV_SHIM_LOG`.
//!
//! Deliberately tiny: the hot path must not pay for a logging framework.
//! Every line starts with `uv-shim:` so users can tell it from uv's output,
//! and passes through [`crate::redact::text`]: credentials hidden, control
//! characters escaped, so a message is always one line and can neither
//! drive the terminal nor forge a line of its own.

use std::sync::atomic::{AtomicU8, Ordering};

/// How much the shim says on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Only failures that stop the shim.
    Error = 0,
    /// Also problems the shim worked around (stale metadata, a bad config line).
    Warn = 1,
    /// Also what the shim decided.
    Info = 2,
    /// Also every step.
    Debug = 3,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Warn as u8);

/// Sets the level from the value of `UV_SHIM_LOG` (unknown values keep `warn`).
pub fn init(value: Option<&str>) {
    let level = match value.map(str::to_ascii_lowercase).as_deref() {
        Some("error") => Level::Error,
        Some("info") => Level::Info,
        Some("debug" | "trace") => Level::Debug,
        _ => Level::Warn,
    };
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// True when messages of `level` are shown.
pub fn enabled(level: Level) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// Prints one line at `level`.
pub fn emit(level: Level, message: &str) {
    if enabled(level) {
        let tag = match level {
            Level::Error => "error",
            Level::Warn => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
        };
        eprintln!("uv-shim: {tag}: {}", crate::redact::text(message));
    }
}

/// Logs at warn level.
pub fn warn(message: impl AsRef<str>) {
    emit(Level::Warn, message.as_ref());
}

/// Logs at debug level; the message is only built when shown.
pub fn debug(message: impl FnOnce() -> String) {
    if enabled(Level::Debug) {
        emit(Level::Debug, &message());
    }
}
