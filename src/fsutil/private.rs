//! The cache belongs to one user. Its folders are made 0700 whatever the
//! umask; a folder or file that another user owns, that others may write,
//! or that is a symbolic link is not trusted; files are opened without
//! following links. So another local user (on a shared CI host, say) can
//! neither plant what this user's shim reads nor make it write elsewhere.

use std::path::Path;

/// Why a cache folder or file is not trusted, in words for the user.
pub type Distrust = String;

/// Checks what `path` itself is (its link, not a link's target).
pub fn check(path: &Path) -> Result<(), Distrust> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => check_metadata(path, &meta),
        Err(err) => Err(format!("cannot inspect {}: {err}", path.display())),
    }
}

#[cfg(unix)]
fn check_metadata(path: &Path, meta: &std::fs::Metadata) -> Result<(), Distrust> {
    use std::os::unix::fs::MetadataExt;
    let me = nix::unistd::geteuid().as_raw();
    if meta.file_type().is_symlink() {
        Err(format!("{} is a symbolic link", path.display()))
    } else if meta.uid() != me {
        Err(format!(
            "{} belongs to another user (uid {}, this is uid {me})",
            path.display(),
            meta.uid()
        ))
    } else if meta.mode() & 0o022 != 0 {
        Err(format!(
            "others may write to {} (mode {:o})",
            path.display(),
            meta.mode() & 0o777
        ))
    } else {
        Ok(())
    }
}

#[cfg(not(unix))]
fn check_metadata(path: &Path, meta: &std::fs::Metadata) -> Result<(), Distrust> {
    if meta.file_type().is_symlink() {
        Err(format!("{} is a symbolic link", path.display()))
    } else {
        Ok(())
    }
}

/// Who owns `path` (links followed); `None` when it cannot be stat'ed.
/// Windows has no uid: nothing there asks.
#[cfg(unix)]
pub fn owner(path: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|meta| meta.uid())
}

/// Makes `dir` (and any missing parent) with mode 0700, then checks it.
pub fn ensure_dir(dir: &Path) -> Result<(), Distrust> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    check(dir)
}

/// Writes `bytes` to `path` atomically, in a folder made private first (and
/// refused when it is not this user's own).
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        ensure_dir(dir).map_err(std::io::Error::other)?;
    }
    super::atomic::write_atomic(path, bytes)?;
    super::atomic::sweep_temp_files(path);
    Ok(())
}

/// Opens `path` for reading without following a link, and only when it
/// is this user's own file that nobody else may write.
pub fn open(path: &Path) -> std::io::Result<std::fs::File> {
    open_checked(path).map(|(file, _)| file)
}

fn open_checked(path: &Path) -> std::io::Result<(std::fs::File, std::fs::Metadata)> {
    let file = super::no_follow::open(path)?;
    let meta = file.metadata()?;
    check_metadata(path, &meta).map_err(std::io::Error::other)?;
    Ok((file, meta))
}

/// Reads this user's own file `path` as text (see [`open`]). The warm path
/// reads its plan this way: the size the check already learnt sizes the
/// buffer, so no further stat or seek is made.
pub fn read_to_string(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let (file, meta) = open_checked(path)?;
    let mut text = String::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(meta.len().saturating_add(1))
        .read_to_string(&mut text)?;
    Ok(text)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// (The story `shared_machines::umask_000_still_makes_private_folders`
    /// runs the shim under umask 000.)
    #[test]
    fn folders_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b");
        ensure_dir(&deep).unwrap();
        for made in [dir.path().join("a"), deep] {
            let mode = std::fs::metadata(&made).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700, "{}", made.display());
        }
    }

    #[test]
    fn links_and_shared_files_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state");
        std::fs::write(&file, "ok").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_to_string(&file).unwrap(), "ok");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(read_to_string(&link).is_err());
        assert!(check(&link).unwrap_err().contains("symbolic link"));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        let err = read_to_string(&file).unwrap_err().to_string();
        assert!(err.contains("others may write"), "{err}");
    }
}
