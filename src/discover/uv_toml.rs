//! Source 4: uv's own system config, `/etc/uv/uv.toml` (`python-install-mirror`,
//! `pypy-install-mirror`, `python-downloads-json-url`).
//!
//! Also predicts which mirror settings uv itself will apply, from the user's
//! variables and the `uv.toml` files uv reads, because uv refuses a mirror
//! variable next to metadata whose URLs already point at the mirror: where uv
//! applies a mirror, the metadata handed to it must keep the upstream prefix.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::report::{SourceId, SourceReport, Status};
use crate::env_vars::{EnvVars, Lookup};
use crate::inputs::Inputs;
use crate::settings::{Layer, MetadataSource, Mirror, Origin, Sourced};

/// The keys of uv's config that matter here; uv's other keys are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct UvToml {
    python_install_mirror: Option<String>,
    pypy_install_mirror: Option<String>,
    python_downloads_json_url: Option<String>,
}

fn read(path: &Path, inputs: &Inputs) -> Result<Option<UvToml>, String> {
    let text = match inputs.read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(format!("cannot read {}: {err}", path.display())),
    };
    toml::from_str::<UvToml>(&text)
        .map(|mut file| {
            for value in [
                &mut file.python_install_mirror,
                &mut file.pypy_install_mirror,
                &mut file.python_downloads_json_url,
            ] {
                *value = value.take().filter(|v| !v.trim().is_empty());
            }
            Some(file)
        })
        .map_err(|err| {
            let line = err.span().map_or(0, |s| {
                text[..s.start.min(text.len())].matches('\n').count() + 1
            });
            format!("{}:{line}: {}", path.display(), err.message().trim())
        })
}

/// Consults `<system dir>/uv.toml` as a mirror source.
pub fn consult(path: &Path, inputs: &Inputs) -> (SourceReport, Layer) {
    let mut line = SourceReport::new(SourceId::UvToml, path.display().to_string(), "no such file");
    let file = match read(path, inputs) {
        Ok(Some(file)) => file,
        Ok(None) => return (line, Layer::default()),
        Err(err) => {
            line.status = Status::Error(err);
            return (line, Layer::default());
        }
    };
    let origin = Origin::UvToml(path.to_path_buf());
    let mirror = file
        .python_install_mirror
        .as_deref()
        .and_then(|m| crate::urls::parse_fetchable(m).ok());
    let mirror = match (&file.python_downloads_json_url, mirror) {
        (Some(json), mirror) => {
            let remote = url::Url::parse(json)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"));
            Some(Mirror {
                bases: mirror.into_iter().collect(),
                metadata: match remote {
                    Some(url) => MetadataSource::Fetch(vec![url]),
                    None => MetadataSource::UvReadsItself(json.clone()),
                },
            })
        }
        (None, Some(mirror)) => Some(Mirror::at(vec![mirror], None)),
        (None, None) => {
            line.status =
                Status::NotSet("no `python-install-mirror` or `python-downloads-json-url`".into());
            None
        }
    };
    let layer = Layer {
        mirror: mirror.map(|m| Sourced::new(m, origin)),
        ..Layer::default()
    };
    (line, layer)
}

/// Mirror settings that uv will apply by itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UvOwn {
    /// `UV_PYTHON_INSTALL_MIRROR` or `python-install-mirror`, and where it is set.
    pub python_install_mirror: Option<(String, String)>,
    /// `UV_PYPY_INSTALL_MIRROR` or `pypy-install-mirror`, and where it is set.
    pub pypy_install_mirror: Option<(String, String)>,
}

/// Every place uv may read a `uv.toml` from, existing or not, in uv's order:
/// `UV_CONFIG_FILE` alone when set; else the user's file, then the system
/// candidates (Unix: `$XDG_CONFIG_DIRS/uv/uv.toml`, then `/etc/uv/uv.toml`;
/// Windows: `%SYSTEMDRIVE%\ProgramData\uv\uv.toml`).
pub fn uv_config_candidates(env: Lookup) -> (Vec<PathBuf>, Vec<PathBuf>) {
    if env(EnvVars::UV_NO_CONFIG).is_some() {
        return (Vec::new(), Vec::new());
    }
    if let Some(file) = env(EnvVars::UV_CONFIG_FILE) {
        return (vec![PathBuf::from(file)], Vec::new());
    }
    let user = user_config_dir(env).map(|dir| dir.join("uv").join("uv.toml"));
    (user.into_iter().collect(), system_candidates(env))
}

/// uv's user config folder: `$XDG_CONFIG_HOME`, else `~/.config`.
#[cfg(not(windows))]
fn user_config_dir(env: Lookup) -> Option<PathBuf> {
    env(EnvVars::XDG_CONFIG_HOME)
        .map(PathBuf::from)
        .or_else(|| env(EnvVars::HOME).map(|h| PathBuf::from(h).join(".config")))
}

/// uv's user config folder on Windows: `%APPDATA%` when set, else the
/// roaming known folder (uv asks the shell, as `directories` does); uv
/// ignores `XDG_CONFIG_HOME` there.
#[cfg(windows)]
fn user_config_dir(env: Lookup) -> Option<PathBuf> {
    env(EnvVars::APPDATA)
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.config_dir().to_path_buf()))
}

#[cfg(not(windows))]
fn system_candidates(env: Lookup) -> Vec<PathBuf> {
    let xdg_dirs = env(EnvVars::XDG_CONFIG_DIRS).unwrap_or_else(|| "/etc/xdg".into());
    xdg_dirs
        .split(':')
        .take_while(|d| !d.is_empty())
        .map(|d| Path::new(d).join("uv").join("uv.toml"))
        .chain(std::iter::once(PathBuf::from("/etc/uv/uv.toml")))
        .collect()
}

/// uv reads `%SYSTEMDRIVE%\ProgramData\uv\uv.toml`, and no system file at
/// all when `SYSTEMDRIVE` is unset.
#[cfg(windows)]
fn system_candidates(env: Lookup) -> Vec<PathBuf> {
    env(EnvVars::SYSTEMDRIVE)
        .map(|drive| {
            PathBuf::from(format!("{drive}\\"))
                .join("ProgramData")
                .join("uv")
                .join("uv.toml")
        })
        .into_iter()
        .collect()
}

/// The `uv.toml` files uv reads: the user's, then the first system candidate that exists.
fn uv_config_files(env: Lookup, inputs: &Inputs) -> Vec<PathBuf> {
    let (mut files, system) = uv_config_candidates(env);
    files.extend(system.into_iter().find(|p| inputs.is_file(p)));
    files
}

/// Predicts the mirror settings uv applies by itself.
pub fn predict(env: Lookup, inputs: &Inputs) -> UvOwn {
    let mut own = UvOwn {
        python_install_mirror: env(EnvVars::UV_PYTHON_INSTALL_MIRROR)
            .map(|v| (v, format!("env {}", EnvVars::UV_PYTHON_INSTALL_MIRROR))),
        pypy_install_mirror: env(EnvVars::UV_PYPY_INSTALL_MIRROR)
            .map(|v| (v, format!("env {}", EnvVars::UV_PYPY_INSTALL_MIRROR))),
    };
    for path in uv_config_files(env, inputs) {
        let Ok(Some(file)) = read(&path, inputs) else {
            continue;
        };
        let place = path.display().to_string();
        if own.python_install_mirror.is_none() {
            own.python_install_mirror = file.python_install_mirror.map(|v| (v, place.clone()));
        }
        if own.pypy_install_mirror.is_none() {
            own.pypy_install_mirror = file.pypy_install_mirror.map(|v| (v, place));
        }
    }
    own
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_only_fetches_its_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("uv.toml");
        std::fs::write(
            &path,
            "python-install-mirror = \"https://m.example/pbs\"\n[pip]\nindex-url = \"x\"\n",
        )
        .unwrap();
        let (_, layer) = consult(&path, &Inputs::new());
        let chosen = layer.mirror.unwrap().value;
        assert_eq!(
            chosen.metadata,
            MetadataSource::Fetch(vec![
                url::Url::parse("https://m.example/pbs/download-metadata.json").unwrap()
            ])
        );
    }

    #[test]
    fn local_json_is_left_to_uv_and_remote_is_fetched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("uv.toml");
        std::fs::write(&path, "python-downloads-json-url = \"/srv/meta.json\"\n").unwrap();
        let chosen = consult(&path, &Inputs::new()).1.mirror.unwrap().value;
        assert_eq!(
            chosen.metadata,
            MetadataSource::UvReadsItself("/srv/meta.json".into())
        );
        std::fs::write(
            &path,
            "python-downloads-json-url = \"https://m.example/meta.json\"\n",
        )
        .unwrap();
        let chosen = consult(&path, &Inputs::new()).1.mirror.unwrap().value;
        assert!(matches!(chosen.metadata, MetadataSource::Fetch(_)));
    }

    #[test]
    fn broken_file_is_an_error_with_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("uv.toml");
        std::fs::write(&path, "a = 1\npython-install-mirror = [\n").unwrap();
        let (line, layer) = consult(&path, &Inputs::new());
        assert!(layer.mirror.is_none());
        assert!(
            matches!(line.status, Status::Error(ref e) if e.contains(":2:") || e.contains(":3:")),
            "{:?}",
            line.status
        );
    }

    #[cfg(unix)]
    #[test]
    fn predicts_from_user_variable_and_config_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("uv")).unwrap();
        std::fs::write(
            dir.path().join("uv/uv.toml"),
            "python-install-mirror = \"https://cfg.example/\"\n",
        )
        .unwrap();
        let home = dir.path().to_string_lossy().to_string();
        let env = move |name: &str| match name {
            "XDG_CONFIG_HOME" => Some(home.clone()),
            "UV_PYPY_INSTALL_MIRROR" => Some("https://pypy.example/".to_string()),
            _ => None,
        };
        let own = predict(&env, &Inputs::new());
        assert_eq!(own.python_install_mirror.unwrap().0, "https://cfg.example/");
        assert_eq!(own.pypy_install_mirror.unwrap().0, "https://pypy.example/");
        let no_config = |name: &str| (name == "UV_NO_CONFIG").then(|| "1".to_string());
        assert_eq!(predict(&no_config, &Inputs::new()), UvOwn::default());
    }

    /// On Windows uv reads `%APPDATA%\uv\uv.toml` and
    /// `%SYSTEMDRIVE%\ProgramData\uv\uv.toml`; `XDG_*` mean nothing there.
    #[cfg(windows)]
    #[test]
    fn predicts_from_windows_config_files() {
        let dir = tempfile::tempdir().unwrap();
        let roaming = dir.path().join("Roaming");
        std::fs::create_dir_all(roaming.join("uv")).unwrap();
        std::fs::write(
            roaming.join("uv").join("uv.toml"),
            "python-install-mirror = \"https://user.example/\"\n",
        )
        .unwrap();
        let drive = dir.path().join("drive");
        std::fs::create_dir_all(drive.join("ProgramData").join("uv")).unwrap();
        std::fs::write(
            drive.join("ProgramData").join("uv").join("uv.toml"),
            "pypy-install-mirror = \"https://system.example/\"\n",
        )
        .unwrap();
        let (appdata, drive) = (
            roaming.to_string_lossy().to_string(),
            drive.to_string_lossy().to_string(),
        );
        let env = move |name: &str| match name {
            "APPDATA" => Some(appdata.clone()),
            "SYSTEMDRIVE" => Some(drive.clone()),
            "XDG_CONFIG_HOME" => Some("C:\\nowhere".to_string()),
            _ => None,
        };
        let own = predict(&env, &Inputs::new());
        assert_eq!(
            own.python_install_mirror.unwrap().0,
            "https://user.example/"
        );
        assert_eq!(
            own.pypy_install_mirror.unwrap().0,
            "https://system.example/"
        );
        let (user, system) = uv_config_candidates(&env);
        assert_eq!(user, [roaming.join("uv").join("uv.toml")]);
        assert_eq!(system.len(), 1);
    }
}
