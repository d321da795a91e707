//! The files install places in the bin dir: `uv-shim` itself, and `uv` and
//! `uvx` (`uvw` too on Windows) pointing at it: symbolic links on Unix,
//! copies (`uv.exe`) on Windows, where a link would not start as a program
//! of its own. A real program already standing where a face goes is moved
//! aside to `<face>-real` (the names the earlier install script used), never
//! deleted; a symbolic link that leads nowhere, or to another uv-shim, is
//! replaced, its target remembered so uninstall can make it again.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::record::{FaceChange, ShimPlacement};
use crate::cache::Cache;
use crate::handover::uv_version::{self, Identity};
use crate::inputs::Inputs;

/// The faces install places: the names uv itself ships.
pub const FACES: &[&str] = if cfg!(windows) {
    &["uv", "uvx", "uvw"]
} else {
    &["uv", "uvx"]
};

/// Where a replaced `uv-shim` is kept until uninstall, in the bin dir.
const SAVED_SHIM: &str = ".uv-shim-install.saved-uv-shim";

/// `name` as a program file name on this platform (`uv.exe` on Windows).
pub fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

/// Where a real `face` found in the bin dir is moved (`uv-real`).
pub fn moved_name(face: &str) -> String {
    exe(&format!("{face}-real"))
}

/// Why a file could not be placed.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Both the real program and its moved-aside name are taken.
    #[error(
        "{target} is not uv-shim, and {moved} exists too, so the real one cannot be moved aside; \
         move one of the two away (or remove the one you do not need), then run install again"
    )]
    BothTaken {
        /// `DIR/uv`.
        target: PathBuf,
        /// `DIR/uv-real`.
        moved: PathBuf,
    },
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> PlaceError + 'a {
    move |source| PlaceError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Puts this binary at `DIR/uv-shim`; returns what the record says about it
/// now (`prior`: what it said before).
pub fn place_shim(
    dir: &Path,
    prior: &ShimPlacement,
    said: &mut Vec<String>,
) -> Result<ShimPlacement, PlaceError> {
    let target = dir.join(exe("uv-shim"));
    let me = std::env::current_exe().map_err(io("cannot find this program", Path::new("")))?;
    if same_file::is_same_file(&me, &target).unwrap_or(false) {
        return Ok(prior.clone());
    }
    if std::fs::symlink_metadata(&target).is_err() {
        copy_program(&me, &target)?;
        said.push(format!("installed {}", target.display()));
        return Ok(match prior {
            ShimPlacement::Kept => ShimPlacement::Created,
            placed => placed.clone(),
        });
    }
    let mine = std::fs::read(&me).map_err(io("cannot read", &me))?;
    if std::fs::read(&target).is_ok_and(|there| there == mine) {
        return Ok(prior.clone());
    }
    if *prior != ShimPlacement::Kept {
        // Placed by an earlier install: this is an upgrade.
        copy_program(&me, &target)?;
        said.push(format!("updated {}", target.display()));
        return Ok(prior.clone());
    }
    let saved = dir.join(SAVED_SHIM);
    std::fs::rename(&target, &saved).map_err(io("cannot move aside", &target))?;
    copy_program(&me, &target)?;
    said.push(format!(
        "replaced {} (the one that was there is kept as {} until uninstall)",
        target.display(),
        saved.display()
    ));
    Ok(ShimPlacement::Replaced(saved))
}

/// Copies a program atomically (a running `uv` never sees half a file), mode 0755.
fn copy_program(from: &Path, to: &Path) -> Result<(), PlaceError> {
    let dir = to.parent().unwrap_or(Path::new("."));
    let bytes = std::fs::read(from).map_err(io("cannot read", from))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(crate::fsutil::atomic::TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(io("cannot write in", dir))?;
    tmp.write_all(&bytes).map_err(io("cannot write", to))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o755))
            .map_err(io("cannot set the mode of", to))?;
    }
    tmp.as_file().sync_all().map_err(io("cannot write", to))?;
    tmp.persist(to)
        .map_err(|err| err.error)
        .map_err(io("cannot write", to))?;
    Ok(())
}

/// Whether `path` is this install's face: the same file as `shim` (a link
/// to it), or on Windows a copy of it.
pub fn is_our_face(path: &Path, shim: &Path) -> bool {
    if same_file::is_same_file(path, shim).unwrap_or(false) {
        return true;
    }
    cfg!(windows)
        && std::fs::read(path)
            .ok()
            .zip(std::fs::read(shim).ok())
            .is_some_and(|(a, b)| a == b)
}

/// Whether the program at `path` says it is a uv-shim.
pub fn is_a_shim(path: &Path, cache: &Cache) -> bool {
    matches!(
        uv_version::probe(cache, path, &Inputs::new()),
        Ok((Identity::Shim(_), _))
    )
}

/// Makes `DIR/<face>` lead to `DIR/uv-shim`; returns the change to record
/// (`prior`: what an earlier install recorded for this face, which stays:
/// it describes what was there first).
pub fn place_face(
    dir: &Path,
    face: &str,
    prior: Option<&FaceChange>,
    cache: &Cache,
    said: &mut Vec<String>,
) -> Result<Option<FaceChange>, PlaceError> {
    let target = dir.join(exe(face));
    let shim = dir.join(exe("uv-shim"));
    let mut change = FaceChange {
        face: face.to_string(),
        moved_to: None,
        old_link: None,
    };
    match std::fs::symlink_metadata(&target) {
        Err(_) => {}
        Ok(_) if is_our_face(&target, &shim) => return Ok(prior.cloned()),
        Ok(meta) => {
            let dangling = meta.file_type().is_symlink() && std::fs::metadata(&target).is_err();
            if meta.file_type().is_symlink() && (dangling || is_a_shim(&target, cache)) {
                let old = std::fs::read_link(&target).map_err(io("cannot read", &target))?;
                std::fs::remove_file(&target).map_err(io("cannot remove", &target))?;
                said.push(format!(
                    "replaced {}, a link to {} ({})",
                    target.display(),
                    old.display(),
                    if dangling {
                        "which does not exist"
                    } else {
                        "another uv-shim"
                    }
                ));
                change.old_link = Some(old);
            } else {
                let moved = dir.join(moved_name(face));
                if std::fs::symlink_metadata(&moved).is_ok() {
                    return Err(PlaceError::BothTaken { target, moved });
                }
                std::fs::rename(&target, &moved).map_err(io("cannot move aside", &target))?;
                said.push(format!(
                    "moved the real {face} from {} to {}",
                    target.display(),
                    moved.display()
                ));
                change.moved_to = Some(moved);
            }
        }
    }
    make_face(&shim, &target)?;
    said.push(format!("linked {} -> {}", target.display(), exe("uv-shim")));
    Ok(Some(prior.cloned().unwrap_or(change)))
}

#[cfg(unix)]
fn make_face(shim: &Path, target: &Path) -> Result<(), PlaceError> {
    // Relative: the bin dir can move (a container image, a renamed home) and the links still hold.
    let name = shim.file_name().map(PathBuf::from).unwrap_or_default();
    std::os::unix::fs::symlink(name, target).map_err(io("cannot link", target))
}

#[cfg(not(unix))]
fn make_face(shim: &Path, target: &Path) -> Result<(), PlaceError> {
    copy_program(shim, target)
}

/// Makes the link that stood at `target` before install again.
#[cfg(unix)]
pub fn restore_link(old: &Path, target: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(old, target)
}

/// Makes the link that stood at `target` before install again.
#[cfg(windows)]
pub fn restore_link(old: &Path, target: &Path) -> std::io::Result<()> {
    std::os::windows::fs::symlink_file(old, target)
}
