//! Editing the shim's config file for `install`: a TOML library edits the
//! keys install owns (`uv`, `mirror`, `dns-domains`) and keeps everything
//! else as written (comments, order, quoting); values are escaped by the
//! library, so a path holding `"` stays valid TOML. The result is checked
//! the way the shim will read it before it replaces the file, atomically,
//! with the old file's mode and owner (a 0600 file holding a token stays
//! 0600 and its owner's).

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use toml_edit::{DocumentMut, Item, Value};

use crate::settings::config_file;

/// The keys install writes.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    /// The real uv (`uv`).
    pub uv: Option<PathBuf>,
    /// Mirror base URLs (`mirror`: one string, or a list for failover).
    pub mirrors: Vec<String>,
    /// Pinned DNS domains (`dns-domains`).
    pub dns_domains: Vec<String>,
}

/// Why the config could not be edited.
#[derive(Debug, thiserror::Error)]
pub enum ConfigEditError {
    /// Reading failed.
    #[error("cannot read the config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not TOML at all.
    #[error(
        "the config {path} is not valid TOML, so install leaves it alone; fix it first: {what}"
    )]
    NotToml {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        what: String,
    },
    /// The edited file would not be a config the shim accepts.
    #[error("the config {path} would not be valid after the edit, so it is left as it is: {what}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The loader's message.
        what: String,
    },
    /// A path that TOML cannot hold.
    #[error(
        "the path {0} is not valid UTF-8, which a TOML config cannot hold; install into a folder with a UTF-8 name"
    )]
    NotUtf8(PathBuf),
}

/// The config before and after the edit.
#[derive(Debug, Clone)]
pub struct Edited {
    /// The text before (`None`: there was no file).
    pub before: Option<String>,
    /// The text after.
    pub after: String,
    /// What changed, one line each, for the user.
    pub changes: Vec<String>,
}

impl Edited {
    /// True when the file would stay byte for byte as it is.
    pub fn is_unchanged(&self) -> bool {
        self.before.as_deref() == Some(self.after.as_str())
    }
}

/// Reads the config at `path` (absent is empty) and applies `wanted`.
pub fn edit(path: &Path, wanted: &Wanted) -> Result<Edited, ConfigEditError> {
    let before = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(ConfigEditError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut doc: DocumentMut =
        before
            .as_deref()
            .unwrap_or("")
            .parse()
            .map_err(|err: toml_edit::TomlError| ConfigEditError::NotToml {
                path: path.to_path_buf(),
                what: err.to_string().trim().to_string(),
            })?;
    let mut changes = Vec::new();
    if let Some(uv) = &wanted.uv {
        let text = uv
            .to_str()
            .ok_or_else(|| ConfigEditError::NotUtf8(uv.clone()))?;
        set(&mut doc, "uv", Value::from(text), &mut changes);
    }
    match wanted.mirrors.as_slice() {
        [] => {}
        [one] => set(&mut doc, "mirror", Value::from(one.as_str()), &mut changes),
        many => {
            let list: toml_edit::Array = many.iter().map(String::as_str).collect();
            set(&mut doc, "mirror", Value::Array(list), &mut changes);
        }
    }
    if !wanted.dns_domains.is_empty() {
        let list: toml_edit::Array = wanted.dns_domains.iter().map(String::as_str).collect();
        set(&mut doc, "dns-domains", Value::Array(list), &mut changes);
    }
    let after = doc.to_string();
    if before.as_deref() != Some(after.as_str()) {
        config_file::parse(&after, path).map_err(|err| ConfigEditError::Invalid {
            path: path.to_path_buf(),
            what: err.to_string(),
        })?;
    }
    Ok(Edited {
        before,
        after,
        changes,
    })
}

/// Sets `key` to `new` unless it already holds that value; an existing
/// value keeps its comments and spacing (its decor), however its key is quoted.
fn set(doc: &mut DocumentMut, key: &str, mut new: Value, changes: &mut Vec<String>) {
    match doc.get_mut(key) {
        Some(Item::Value(old)) => {
            if same_value(old, &new) {
                return;
            }
            changes.push(format!(
                "`{key}` changed from {} to {}",
                shown(old),
                shown(&new)
            ));
            *new.decor_mut() = old.decor().clone();
            *old = new;
        }
        _ => {
            changes.push(format!("`{key}` set to {}", shown(&new)));
            doc.insert(key, Item::Value(new));
        }
    }
}

/// Equal values, whatever their formatting.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) => a.value() == b.value(),
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b.iter()).all(|(a, b)| same_value(a, b))
        }
        _ => false,
    }
}

/// The value alone (no comment around it), credentials hidden.
fn shown(value: &Value) -> String {
    let mut bare = value.clone();
    bare.decor_mut().clear();
    crate::redact::url(bare.to_string().trim())
}

/// sha256 of `text`, as recorded.
pub fn digest(text: &str) -> String {
    crate::fsutil::hex(&Sha256::digest(text.as_bytes()))
}

/// Writes `text` to `path` atomically. An existing file keeps its mode and
/// owner, and is first kept at `backup` (a hard link, so its bytes, mode
/// and owner stay exactly as they were) when `backup` is given. A new file
/// is `private` (0600: a user's config may come to hold a token) or gets
/// the umask's mode (the system config must be readable by everyone).
pub fn write(path: &Path, text: &str, backup: Option<&Path>, private: bool) -> std::io::Result<()> {
    let old = match std::fs::metadata(path) {
        Ok(meta) => Some(meta),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => return Err(err),
    };
    if old.is_none() && !private {
        return crate::fsutil::write_public(path, text.as_bytes());
    }
    if let (Some(_), Some(backup)) = (&old, backup) {
        keep_aside(path, backup)?;
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    // A temporary file is made 0600, so a new private file never shows more.
    let mut tmp = tempfile::Builder::new()
        .prefix(crate::fsutil::atomic::TEMP_PREFIX)
        .tempfile_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    if let Some(old) = &old {
        same_owner_and_mode(tmp.as_file(), old)?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|err| err.error)?;
    Ok(())
}

/// `backup` becomes a second name of `path` (a copy where links cannot be made).
fn keep_aside(path: &Path, backup: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(backup) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    if std::fs::hard_link(path, backup).is_ok() {
        return Ok(());
    }
    std::fs::copy(path, backup)?;
    let meta = std::fs::metadata(path)?;
    same_owner_and_mode(&std::fs::File::open(backup)?, &meta)
}

#[cfg(unix)]
fn same_owner_and_mode(file: &std::fs::File, like: &std::fs::Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let now = file.metadata()?;
    if (now.uid(), now.gid()) != (like.uid(), like.gid()) {
        std::os::unix::fs::fchown(file, Some(like.uid()), Some(like.gid())).map_err(|err| {
            std::io::Error::new(
                err.kind(),
                format!(
                    "cannot give the new file the old one's owner {}:{} ({err}); run install as that user or as root",
                    like.uid(),
                    like.gid()
                ),
            )
        })?;
    }
    file.set_permissions(like.permissions())
}

#[cfg(not(unix))]
fn same_owner_and_mode(file: &std::fs::File, like: &std::fs::Metadata) -> std::io::Result<()> {
    file.set_permissions(like.permissions())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edited(before: &str, wanted: &Wanted) -> Edited {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shim.toml");
        std::fs::write(&path, before).unwrap();
        edit(&path, wanted).unwrap()
    }

    #[test]
    fn a_quoted_uv_key_is_edited_in_place_and_comments_stay() {
        let before = "# the real one\n\"uv\" = \"/old/uv\" # kept\nttl = \"1m\"\n";
        let wanted = Wanted {
            uv: Some("/bin/dir \"q\"/uv-real".into()),
            ..Wanted::default()
        };
        let after = edited(before, &wanted).after;
        assert_eq!(
            after,
            "# the real one\n\"uv\" = '/bin/dir \"q\"/uv-real' # kept\nttl = \"1m\"\n"
        );
        let parsed = config_file::parse(&after, Path::new("x")).unwrap();
        assert_eq!(parsed.uv, Some(PathBuf::from("/bin/dir \"q\"/uv-real")));
    }

    #[test]
    fn the_same_values_change_nothing() {
        let before = "mirror = [ 'https://a.example/uv/' ]\ndns-domains=[\"corp.example\"]\n";
        let wanted = Wanted {
            mirrors: vec!["https://a.example/uv/".into()],
            dns_domains: vec!["corp.example".into()],
            ..Wanted::default()
        };
        // A list of one becomes the one string install writes; a second edit changes nothing.
        let first = edited(before, &wanted);
        let second = edited(&first.after, &wanted);
        assert!(second.is_unchanged(), "{}", second.after);
        assert!(second.changes.is_empty());
    }

    #[test]
    fn a_bad_mirror_is_refused_naming_the_key() {
        let wanted = Wanted {
            mirrors: vec!["ftp://x.example/".into()],
            ..Wanted::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let err = edit(&dir.path().join("c.toml"), &wanted)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`mirror`") && err.contains("ftp"), "{err}");
    }

    #[test]
    fn broken_toml_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "uv = \"unterminated\n").unwrap();
        let err = edit(&path, &Wanted::default()).unwrap_err().to_string();
        assert!(
            err.contains("not valid TOML") && err.contains("c.toml"),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_mode_survives_and_the_backup_is_the_old_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "mirror = \"https://u:tok@m.example/\"\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let backup = dir.path().join(".c.toml.backup");
        // `private` is for new files only: an existing one keeps its own mode.
        write(&path, "ttl = \"1m\"\n", Some(&backup), false).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&backup), 0o600);
        assert_eq!(
            std::fs::read_to_string(&backup).unwrap(),
            "mirror = \"https://u:tok@m.example/\"\n"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "ttl = \"1m\"\n");
    }

    #[cfg(unix)]
    #[test]
    fn a_new_user_config_is_private_and_a_new_system_config_readable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        let user = dir.path().join("user.toml");
        write(&user, "mirror = \"https://u:tok@m.example/\"\n", None, true).unwrap();
        assert_eq!(mode(&user), 0o600);
        let system = dir.path().join("system.toml");
        write(&system, "ttl = \"1m\"\n", None, false).unwrap();
        assert_eq!(mode(&system) & 0o044, 0o044, "readable by everyone");
    }
}
