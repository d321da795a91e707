//! How a download fails: the error the caller sees ([`DownloadError`]) and,
//! inside the retry loop, how one attempt ended ([`Failed`]), which decides
//! whether to try again.

use std::path::Path;
use std::time::Duration;

/// Why a size (a HEAD request) could not be learnt.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SizeError {
    /// No answer: the connection failed or timed out.
    #[error("{0}")]
    Unreachable(String),
    /// An answer that gives no size (an error status, an unreadable file).
    #[error("{0}")]
    Refused(String),
}

/// Why a download failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DownloadError {
    /// The content does not have the published hash.
    #[error(
        "checksum mismatch for {url}: expected sha256 {expected}, got {actual}; removed the download"
    )]
    Mismatch {
        /// The URL (redacted).
        url: String,
        /// The published sha256.
        expected: String,
        /// The sha256 of what arrived.
        actual: String,
    },
    /// The server answered with an error status.
    #[error("{url} answered HTTP {status}{}", tries(*.attempts))]
    Status {
        /// The URL (redacted).
        url: String,
        /// The status.
        status: u16,
        /// How many requests were made.
        attempts: u32,
    },
    /// The transfer failed.
    #[error("cannot fetch {url}: {detail}{}", tries(*.attempts))]
    Transport {
        /// The URL (redacted).
        url: String,
        /// What went wrong (redacted).
        detail: String,
        /// How many requests were made.
        attempts: u32,
    },
    /// The mirror's disk failed us.
    #[error("cannot write {path}: {detail}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        detail: String,
    },
    /// Ctrl-C.
    #[error("interrupted; the partial download is kept for the next run")]
    Interrupted,
}

fn tries(attempts: u32) -> String {
    if attempts > 1 {
        format!(" (gave up after {attempts} attempts)")
    } else {
        String::new()
    }
}

/// How one attempt ended, when it did not deliver a file.
pub(super) enum Failed {
    /// Worth another attempt.
    Transient {
        error: DownloadError,
        /// Bytes arrived before the failure.
        progressed: bool,
        /// The server asked for this pause (`Retry-After`).
        retry_after: Option<Duration>,
    },
    /// Not worth another attempt.
    Permanent(DownloadError),
    /// The part file cannot be continued: delete it and start over.
    Restart(DownloadError),
}

/// A failure worth another attempt, before any byte arrived.
pub(super) fn transient(shown: &str, detail: String) -> Failed {
    Failed::Transient {
        error: DownloadError::Transport {
            url: shown.to_string(),
            detail,
            attempts: 1,
        },
        progressed: false,
        retry_after: None,
    }
}

/// A failure not worth another attempt.
pub(super) fn permanent(shown: &str, detail: String) -> Failed {
    Failed::Permanent(DownloadError::Transport {
        url: shown.to_string(),
        detail,
        attempts: 1,
    })
}

/// The part file cannot be continued: start over.
pub(super) fn restart(shown: &str, detail: &str) -> Failed {
    Failed::Restart(DownloadError::Transport {
        url: shown.to_string(),
        detail: format!("{detail}; starting over"),
        attempts: 1,
    })
}

/// `error`, saying how many requests were made.
pub(super) fn with_attempts(error: DownloadError, attempts: u32) -> DownloadError {
    match error {
        DownloadError::Status { url, status, .. } => DownloadError::Status {
            url,
            status,
            attempts,
        },
        DownloadError::Transport { url, detail, .. } => DownloadError::Transport {
            url,
            detail,
            attempts,
        },
        other => other,
    }
}

/// The mirror's disk failed at `path`.
pub(super) fn io_error(path: &Path, err: &std::io::Error) -> DownloadError {
    DownloadError::Io {
        path: path.display().to_string(),
        detail: err.to_string(),
    }
}
