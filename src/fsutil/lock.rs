//! File locks: one process at a time per lock file, waiting a bounded time.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

/// An exclusive lock on a lock file, released on drop (and by the OS when
/// the process dies, so a killed process leaves no stale lock behind).
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

/// Takes the lock at `path`, waiting at most `wait`. `Ok(None)` when the
/// wait ran out. A link at its place is not followed, so nobody can make
/// the locker create a file elsewhere; a new lock file gets the umask's mode
/// (a mirror's lock sits among files a web server reads).
pub fn lock(path: &Path, wait: Duration) -> std::io::Result<Option<Lock>> {
    lock_with_mode(path, wait, 0o666)
}

/// [`lock`] for the private cache: the lock file is made 0600.
pub fn lock_private(path: &Path, wait: Duration) -> std::io::Result<Option<Lock>> {
    lock_with_mode(path, wait, 0o600)
}

fn lock_with_mode(path: &Path, wait: Duration, mode: u32) -> std::io::Result<Option<Lock>> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = File::options();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode).custom_flags(libc::O_NOFOLLOW);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let file = options.open(path)?;
    let deadline = Instant::now() + wait;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(Lock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => {
                if Instant::now() >= deadline {
                    return Ok(None);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(std::fs::TryLockError::Error(err)) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_waits_then_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let held = lock(&path, Duration::ZERO).unwrap();
        assert!(held.is_some());
        assert!(lock(&path, Duration::from_millis(30)).unwrap().is_none());
        drop(held);
        // A process another test forks at this moment shares the descriptor
        // until its exec closes it: allow it that moment.
        assert!(lock(&path, Duration::from_secs(1)).unwrap().is_some());
    }

    #[cfg(unix)]
    #[test]
    fn a_link_in_place_of_the_lock_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("chosen-by-someone-else");
        let path = dir.path().join("x.lock");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        assert!(lock(&path, Duration::ZERO).is_err());
        assert!(!target.exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_lock_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.lock");
        let _held = lock_private(&path, Duration::ZERO).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0);
    }
}
