//! Keeping the cache small: what an interrupted write left behind, and what
//! nobody has used for a month. Runs at most once a day, after a full run of
//! the pipeline, never on the warm path; it only ever removes this user's
//! own regular files inside the cache's known folders.

use std::path::Path;
use std::time::{Duration, SystemTime};

use super::Cache;
use crate::fsutil::atomic::{STALE_TEMP, TEMP_PREFIX};

/// Entries not touched for this long are removed.
pub const UNUSED: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// How often the whole cache is looked over.
const EVERY: Duration = Duration::from_secs(24 * 60 * 60);

/// The folders of the cache that hold entries.
const FOLDERS: &[&str] = &["metadata", "plan", "dns", "uv-version", "untrusted"];

/// The marker whose age says when the cache was last looked over.
const MARKER: &str = "housekeeping";

/// Looks the cache over when the last time was a day ago or more.
pub fn run(cache: &Cache) {
    if !cache.is_usable() {
        return;
    }
    let marker = cache.dir().join(MARKER);
    let last = age(&marker);
    if last.is_some_and(|age| age < EVERY) {
        return;
    }
    if crate::fsutil::private::write(&marker, b"").is_err() || last.is_none() {
        // A new cache has nothing old yet: the first look-over is a day later.
        return;
    }
    for folder in FOLDERS {
        let dir = cache.dir().join(folder);
        remove_older(&dir, STALE_TEMP, |name| name.starts_with(TEMP_PREFIX));
        remove_older(&dir, UNUSED, |name| {
            !name.starts_with(TEMP_PREFIX) && !name.ends_with(".lock")
        });
    }
    // Locks whose copy is gone. A young one may be held by a fetch that has
    // not written its copy yet: only month-old ones go.
    let metadata = cache.dir().join("metadata");
    remove_older(&metadata, UNUSED, |name| {
        name.strip_suffix(".lock")
            .is_some_and(|key| !metadata.join(format!("{key}.state")).exists())
    });
}

fn age(path: &Path) -> Option<Duration> {
    let modified = std::fs::symlink_metadata(path).ok()?.modified().ok()?;
    SystemTime::now().duration_since(modified).ok()
}

/// Removes this user's regular files in `dir` that match and are older than `older`.
fn remove_older(dir: &Path, older: Duration, matches: impl Fn(&str) -> bool) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = entry.path();
        let own_file = crate::fsutil::private::check(&path).is_ok()
            && entry.file_type().is_ok_and(|t| t.is_file());
        if matches(name) && own_file && age(&path).is_some_and(|age| age >= older) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aged(path: &Path, by: Duration) {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::now() - by).unwrap();
    }

    #[test]
    fn stale_temp_files_and_month_old_entries_go() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let metadata = dir.path().join("metadata");
        crate::fsutil::private::ensure_dir(&metadata).unwrap();
        let write = |name: &str, age: Duration| {
            let path = metadata.join(name);
            crate::fsutil::private::write(&path, b"x").unwrap();
            aged(&path, age);
            path
        };
        let hour = Duration::from_secs(3600);
        let old_temp = write(".tmp-old", hour * 2);
        let new_temp = write(".tmp-new", Duration::ZERO);
        let old_json = write("a.json", UNUSED + hour);
        let old_state = write("a.state", UNUSED + hour);
        let old_lock = write("a.lock", UNUSED + hour);
        let used_state = write("b.state", hour);
        let used_lock = write("b.lock", UNUSED + hour);

        // A write sweeps its own folder's stale temp files only.
        crate::fsutil::atomic::sweep_temp_files(&metadata.join("b.state"));
        assert!(!old_temp.exists() && new_temp.exists());

        // A new cache (no marker yet) is only marked: nothing is that old yet.
        run(&cache);
        assert!(old_json.exists());
        aged(&dir.path().join(MARKER), EVERY + hour);
        run(&cache);
        assert!(!old_json.exists() && !old_state.exists() && !old_lock.exists());
        assert!(used_state.exists() && used_lock.exists());
        // At most once a day.
        let late = write("c.state", UNUSED + hour);
        run(&cache);
        assert!(late.exists());
    }
}
