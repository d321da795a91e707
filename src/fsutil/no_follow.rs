//! Opening a file of the shim's own without following a symbolic link.
//!
//! A link in the cache where a file should be may point anywhere (another
//! user's file, a device, a file that changes under the shim), so a cache
//! file that is a link is not trusted: reading it fails as if it were
//! damaged, and the shim fetches and writes a real file in its place.

use std::fs::File;
use std::io;
use std::path::Path;

/// Opens `path` for reading; a symbolic link (as the last part of the path)
/// is an error rather than followed.
pub fn open(path: &Path) -> io::Result<File> {
    let file = open_link_itself(path)?;
    if file.metadata()?.file_type().is_symlink() {
        return Err(refused());
    }
    Ok(file)
}

fn refused() -> io::Error {
    io::Error::other("it is a symbolic link, which the shim does not follow in its cache")
}

#[cfg(unix)]
fn open_link_itself(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|err| {
            // O_NOFOLLOW on a link fails with ELOOP; say what it means.
            if err.raw_os_error() == Some(libc::ELOOP) {
                refused()
            } else {
                err
            }
        })
}

#[cfg(windows)]
fn open_link_itself(path: &Path) -> io::Result<File> {
    use std::os::windows::fs::OpenOptionsExt;
    /// Opens a reparse point (a link) itself instead of its target.
    const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)
}

#[cfg(not(any(unix, windows)))]
fn open_link_itself(path: &Path) -> io::Result<File> {
    if std::fs::symlink_metadata(path)?.file_type().is_symlink() {
        return Err(refused());
    }
    File::open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn read_to_string(path: &Path) -> io::Result<String> {
        let mut text = String::new();
        io::Read::read_to_string(&mut open(path)?, &mut text)?;
        Ok(text)
    }

    #[test]
    fn a_link_is_refused_a_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("copy.json");
        let link = dir.path().join("link.json");
        std::fs::write(&file, "{}").unwrap();
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(read_to_string(&file).unwrap(), "{}");
        let err = read_to_string(&link).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(
            read_to_string(&dir.path().join("absent"))
                .unwrap_err()
                .kind(),
            io::ErrorKind::NotFound
        );
    }
}
