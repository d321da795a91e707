//! Starts the disk writes of a file while it is still arriving (a download,
//! a file taken out of a bundle), so the `fsync` before its rename finds
//! little left to write.
//!
//! Without this the kernel keeps a whole file's dirty pages until the final
//! `fsync`, and the worker then waits for all of them while its connection
//! sits idle. Asking for writeback every few MiB (Linux `sync_file_range`,
//! which starts the writes and does not wait) keeps the disk busy during the
//! download instead of after it. It is only a hint: the `fsync` still makes
//! the file durable, and where the call does not exist nothing changes.

use std::fs::File;

/// Bytes written between two writeback requests: large enough that the
/// calls cost nothing, small enough that the final `fsync` is short.
const STEP: u64 = 8 * 1024 * 1024;

/// How far the writes of one part file have been handed to the disk.
pub(crate) struct Writeback {
    /// Offset up to which writeback was requested.
    requested: u64,
}

impl Writeback {
    /// Tracking a part file whose new bytes start at `from`.
    pub(crate) fn new(from: u64) -> Writeback {
        Writeback { requested: from }
    }

    /// Called after each write; `end` is the file's length now.
    pub(crate) fn wrote(&mut self, file: &File, end: u64) {
        if end - self.requested >= STEP {
            start_writeback(file, self.requested, end - self.requested);
            self.requested = end;
        }
    }
}

#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: the descriptor is open for the whole call (borrowed from
    // `file`), and the call only reads its arguments. A failure (EINVAL on
    // a file system without it, EIO) is ignored on purpose: the fsync
    // before the rename reports real write errors.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _offset: u64, _len: u64) {}
