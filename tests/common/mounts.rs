//! File systems mounted for the stories that need an unwritable or a full
//! one (Linux, as root: permission bits stop no write for root).
//!
//! A story that cannot mount fails under CI and is a visible skip elsewhere
//! ([`super::skip`]).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Whether this process may mount file systems (root); a visible skip,
/// or under CI a failure, otherwise.
#[track_caller]
pub fn can_mount() -> bool {
    super::require_root("it mounts a tmpfs")
}

/// A tmpfs mounted for one story, unmounted (lazily) on drop.
pub struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs with `options` at `path` (created); `None` when
    /// mounting fails (e.g. a container without the capability), after a
    /// visible skip or, under CI, a failure.
    #[track_caller]
    pub fn mount(path: &Path, options: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(path).unwrap();
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(path)
            .output()
            .expect("run mount");
        if !output.status.success() {
            super::skip(&format!(
                "cannot mount a tmpfs at {}: {}",
                path.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
            return None;
        }
        Some(Tmpfs {
            path: path.to_path_buf(),
        })
    }

    /// Remounts with `options` (e.g. `remount,rw`).
    pub fn remount(&self, options: &str) {
        let status = Command::new("mount")
            .args(["-o", options])
            .arg(&self.path)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "remount {options} {}",
            self.path.display()
        );
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// Writes `path` until the file system is full.
pub fn fill(path: &Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = [0u8; 1024];
    while file
        .write_all(&chunk)
        .and_then(|()| file.sync_all())
        .is_ok()
    {}
}
