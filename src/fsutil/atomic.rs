//! Atomic writes: a temporary file beside the target, synced, then renamed
//! over it.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// How the temporary files of a write begin.
pub const TEMP_PREFIX: &str = ".tmp-";

/// A temporary file older than this was left by a write that never finished.
pub const STALE_TEMP: Duration = Duration::from_secs(60 * 60);

/// Writes `bytes` to `path` atomically, creating the parent folder: a reader
/// sees the old file or the new one, never half of either.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|err| err.error)?;
    Ok(())
}

/// Removes the temporary files in the folder of `written` that an earlier,
/// interrupted write left behind (older than [`STALE_TEMP`]); a write still
/// under way elsewhere is younger than that and stays.
pub fn sweep_temp_files(written: &Path) {
    let Some(Ok(entries)) = written.parent().map(std::fs::read_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(TEMP_PREFIX))
            && entry.metadata().is_ok_and(|meta| {
                meta.is_file()
                    && meta
                        .modified()
                        .ok()
                        .and_then(|m| SystemTime::now().duration_since(m).ok())
                        .is_some_and(|age| age >= STALE_TEMP)
            });
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
