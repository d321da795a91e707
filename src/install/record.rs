//! The install record: what `uv-shim install` changed in one bin dir, so
//! that `uninstall` puts back exactly what was there. One
//! [`fsutil::record`](crate::fsutil::record) file in the bin dir itself
//! (`.uv-shim-install`), written only when an install changed something.
//!
//! ```text
//! uv-shim-install 1
//! made-dir /home/me/.local/bin
//! shim created
//! face uv
//! face-moved uv /home/me/.local/bin/uv-real
//! face uvx
//! face-link uvx /opt/other/uv-shim
//! config /home/me/.config/uv-shim/config.toml
//! config-backup /home/me/.config/uv-shim/.config.toml.uv-shim-install-backup
//! config-written 3f5c…
//! ```
//!
//! What an install found already in place (a link from an earlier install
//! script, a config line it did not write) is not recorded: uninstall only
//! undoes what install did.

use std::path::{Path, PathBuf};

use crate::fsutil::{Record, record};

const KIND: &str = "install";
const VERSION: &str = "1";

/// The record's file name in the bin dir.
pub const FILE_NAME: &str = ".uv-shim-install";

/// What happened to `DIR/uv-shim`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ShimPlacement {
    /// The binary was already there (this very binary, or the same bytes).
    #[default]
    Kept,
    /// Install put it there; nothing was there before.
    Created,
    /// Another uv-shim was there; it was moved to this path.
    Replaced(PathBuf),
}

/// What install did at `DIR/<face>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaceChange {
    /// `uv` or `uvx` (without `.exe`).
    pub face: String,
    /// A real program that stood there was moved to this path.
    pub moved_to: Option<PathBuf>,
    /// A symbolic link that stood there (dangling, or to another uv-shim), and its target.
    pub old_link: Option<PathBuf>,
}

/// What install did to the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigChange {
    /// The file.
    pub path: PathBuf,
    /// The file as it was before (a hard link to it), or `None` when there was none.
    pub backup: Option<PathBuf>,
    /// sha256 of the text install wrote last: uninstall restores only a file still holding it.
    pub written: String,
}

/// Everything one bin dir's installs changed, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstallRecord {
    /// Folders install created (parents first).
    pub made_dirs: Vec<PathBuf>,
    /// What happened to `DIR/uv-shim`.
    pub shim: ShimPlacement,
    /// The faces install linked.
    pub faces: Vec<FaceChange>,
    /// The config file install wrote.
    pub config: Option<ConfigChange>,
}

impl InstallRecord {
    /// The record's path in `bin_dir`.
    pub fn path_in(bin_dir: &Path) -> PathBuf {
        bin_dir.join(FILE_NAME)
    }

    /// The record in `bin_dir`: `Ok(None)` when there is none; an error
    /// when there is a file that is not a record this version reads.
    pub fn read(bin_dir: &Path) -> Result<Option<InstallRecord>, String> {
        let path = Self::path_in(bin_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(format!("cannot read {}: {err}", path.display())),
        };
        Self::parse(&text).map(Some).ok_or_else(|| {
            format!(
                "{} is not an install record this uv-shim reads (format uv-shim-{KIND} {VERSION}); \
                 undo that install with the uv-shim that made it",
                path.display()
            )
        })
    }

    fn parse(text: &str) -> Option<InstallRecord> {
        let mut found = InstallRecord::default();
        let mut config: Option<ConfigChange> = None;
        for (key, value) in record::lines(KIND, VERSION, text)? {
            let value = value.as_ref();
            match key {
                "made-dir" => found.made_dirs.push(PathBuf::from(value)),
                "shim" => {
                    found.shim = match value {
                        "created" => ShimPlacement::Created,
                        "kept" => ShimPlacement::Kept,
                        _ => return None,
                    }
                }
                "shim-saved" => found.shim = ShimPlacement::Replaced(PathBuf::from(value)),
                "face" => found.faces.push(FaceChange {
                    face: value.to_string(),
                    moved_to: None,
                    old_link: None,
                }),
                "face-moved" | "face-link" => {
                    let (face, path) = value.split_once(' ')?;
                    let change = found.faces.iter_mut().find(|f| f.face == face)?;
                    let path = Some(PathBuf::from(path));
                    if key == "face-moved" {
                        change.moved_to = path;
                    } else {
                        change.old_link = path;
                    }
                }
                "config" => {
                    config = Some(ConfigChange {
                        path: PathBuf::from(value),
                        backup: None,
                        written: String::new(),
                    })
                }
                "config-backup" => config.as_mut()?.backup = Some(PathBuf::from(value)),
                "config-written" => config.as_mut()?.written = value.to_string(),
                _ => return None,
            }
        }
        found.config = config;
        Some(found)
    }

    /// The record's text.
    pub fn to_text(&self) -> String {
        let mut out = Record::new(KIND, VERSION);
        for dir in &self.made_dirs {
            out.push("made-dir", dir.display());
        }
        match &self.shim {
            ShimPlacement::Kept => out.push("shim", "kept"),
            ShimPlacement::Created => out.push("shim", "created"),
            ShimPlacement::Replaced(saved) => out.push("shim-saved", saved.display()),
        };
        for face in &self.faces {
            out.push("face", &face.face);
            if let Some(moved) = &face.moved_to {
                out.push(
                    "face-moved",
                    format_args!("{} {}", face.face, moved.display()),
                );
            }
            if let Some(link) = &face.old_link {
                out.push(
                    "face-link",
                    format_args!("{} {}", face.face, link.display()),
                );
            }
        }
        if let Some(config) = &self.config {
            out.push("config", config.path.display());
            out.push_some("config-backup", config.backup.as_ref().map(|b| b.display()));
            out.push("config-written", &config.written);
        }
        out.into_text()
    }

    /// True when install changed nothing at all (no record is kept then).
    pub fn is_empty(&self) -> bool {
        *self == InstallRecord::default()
    }

    /// The change recorded for `face`.
    pub fn face(&self, face: &str) -> Option<&FaceChange> {
        self.faces.iter().find(|f| f.face == face)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_change() {
        let record = InstallRecord {
            made_dirs: vec!["/a/b\"c".into()],
            shim: ShimPlacement::Replaced("/a/b/.saved".into()),
            faces: vec![
                FaceChange {
                    face: "uv".into(),
                    moved_to: Some("/a/b/uv-real".into()),
                    old_link: None,
                },
                FaceChange {
                    face: "uvx".into(),
                    moved_to: None,
                    old_link: Some("../gone with space".into()),
                },
            ],
            config: Some(ConfigChange {
                path: "/etc/uv/shim.toml".into(),
                backup: None,
                written: "abc".into(),
            }),
        };
        assert_eq!(InstallRecord::parse(&record.to_text()), Some(record));
        assert!(InstallRecord::default().is_empty());
        assert_eq!(InstallRecord::parse("uv-shim-install 2\n"), None);
    }
}
