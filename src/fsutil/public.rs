//! Atomic writes of files that others must read: the mirror's metadata and
//! manifest, served by a web server running as another user or read
//! through `file://` by anyone.
//!
//! [`super::write_atomic`] keeps the temporary file's private mode (0600),
//! which is right for the shim's own cache and wrong here: a mirror file
//! left 0600 is a 403 from nginx. A public file gets the mode any new file
//! gets from the process's umask (0644 under the usual 022), the same as
//! the builds that `mirror sync` streams into place, so the administrator's
//! umask decides, not the shim.

use std::io::Write;
use std::path::Path;

/// The mode asked for at creation; the umask takes its bits away, as for
/// any file a program creates.
#[cfg(unix)]
const CREATE_MODE: u32 = 0o666;

/// Writes `bytes` to `path` atomically (a temporary file beside it, synced,
/// then renamed over it), creating the parent folders, with the mode the
/// umask gives a new file rather than a temporary file's 0600.
pub fn write_public(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tmp-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(CREATE_MODE));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|err| err.error)?;
    Ok(())
}

/// Whether the file at `path` is private to its owner the way a temporary
/// file is (no bit for group or others), as earlier versions left the
/// mirror's metadata: such a file is rewritten even when its content is
/// unchanged. Never true off Unix.
pub fn is_private(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 == 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

#[cfg(unix)]
#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_public_file_gets_the_mode_of_a_new_file_and_a_private_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        // What the umask makes of a plain new file, whatever it is here.
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"x").unwrap();
        let public = dir.path().join("sub/public.json");
        write_public(&public, b"{}").unwrap();
        assert_eq!(std::fs::read(&public).unwrap(), b"{}");
        assert_eq!(mode(&public), mode(&plain));
        assert!(!dir.path().join("sub").read_dir().unwrap().any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".tmp-")
        }));

        let private = dir.path().join("private");
        crate::fsutil::atomic::write_atomic(&private, b"{}").unwrap();
        assert_eq!(mode(&private), 0o600);
        assert!(is_private(&private));
        // Rewriting it publicly replaces the mode too.
        write_public(&private, b"{}").unwrap();
        assert_eq!(mode(&private), mode(&plain));
        assert_eq!(is_private(&private), mode(&plain) & 0o077 == 0);
    }
}
