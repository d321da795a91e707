//! `uv-shim uninstall`: undoes what the install record in the bin dir says
//! install did, and nothing else: the config as it was (or no config, when
//! install made it), the real uv and uvx back under their names, the links
//! that stood there made again, the folders install created removed.
//! Whatever changed since install (a config edited by hand, a face replaced)
//! is left as it is, and said.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use super::links::{exe, is_our_face, restore_link};
use super::record::{ConfigChange, InstallRecord, ShimPlacement};
use super::say::say;
use super::{config_edit, places};
use crate::env_vars::Lookup;

/// `uv-shim uninstall`'s arguments.
#[derive(Debug, clap::Args)]
pub struct UninstallArgs {
    /// The folder install put uv-shim in
    /// [default: /usr/local/bin as root, else ~/.local/bin].
    #[arg(long, value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,
}

/// Runs `uv-shim uninstall`; fails when the bin dir holds no install record.
pub fn uninstall(env: Lookup, args: UninstallArgs) -> anyhow::Result<ExitCode> {
    let dir = places::bin_dir(args.bin_dir.as_deref(), env)?;
    let Some(record) = InstallRecord::read(&dir).map_err(anyhow::Error::msg)? else {
        anyhow::bail!(
            "nothing to uninstall in {}: it holds no install record ({}), so `uv-shim install` did not install there, \
             or it was uninstalled already; pass the --bin-dir you installed into",
            dir.display(),
            record_name(&dir)
        );
    };
    let mut said = Vec::new();
    if let Some(config) = &record.config {
        restore_config(config, &mut said)?;
    }
    let shim = dir.join(exe("uv-shim"));
    for change in record.faces.iter().rev() {
        let target = dir.join(exe(&change.face));
        match std::fs::symlink_metadata(&target) {
            Ok(_) if is_our_face(&target, &shim) => {
                std::fs::remove_file(&target)
                    .with_context(|| format!("cannot remove {}", target.display()))?;
                said.push(format!("removed {}", target.display()));
            }
            Ok(_) => {
                said.push(format!(
                    "left {}: it no longer leads to uv-shim, so it is not install's to remove",
                    target.display()
                ));
                continue;
            }
            Err(_) => {}
        }
        if let Some(moved) = &change.moved_to {
            std::fs::rename(moved, &target).with_context(|| {
                format!(
                    "cannot move {} back to {}",
                    moved.display(),
                    target.display()
                )
            })?;
            said.push(format!(
                "moved the real {} back from {} to {}",
                change.face,
                moved.display(),
                target.display()
            ));
        }
        if let Some(old) = &change.old_link {
            restore_link(old, &target)
                .with_context(|| format!("cannot link {} again", target.display()))?;
            said.push(format!(
                "linked {} -> {} again",
                target.display(),
                old.display()
            ));
        }
    }
    match &record.shim {
        ShimPlacement::Kept => {}
        ShimPlacement::Created => {
            std::fs::remove_file(&shim)
                .with_context(|| format!("cannot remove {}", shim.display()))?;
            said.push(format!("removed {}", shim.display()));
        }
        ShimPlacement::Replaced(saved) => {
            std::fs::rename(saved, &shim)
                .with_context(|| format!("cannot put {} back", shim.display()))?;
            said.push(format!("put the earlier {} back", shim.display()));
        }
    }
    std::fs::remove_file(InstallRecord::path_in(&dir))
        .with_context(|| format!("cannot remove {}", record_name(&dir)))?;
    for made in record.made_dirs.iter().rev() {
        match std::fs::remove_dir(made) {
            Ok(()) => said.push(format!("removed {}", made.display())),
            Err(_) if std::fs::symlink_metadata(made).is_err() => {}
            Err(_) => said.push(format!(
                "left {}: install created it, but it holds other files now",
                made.display()
            )),
        }
    }
    for line in &said {
        say(line);
    }
    say(&format!("uninstalled from {}", dir.display()));
    Ok(ExitCode::SUCCESS)
}

fn record_name(dir: &Path) -> String {
    InstallRecord::path_in(dir).display().to_string()
}

/// Puts the config back as it was, when it still holds what install wrote.
fn restore_config(config: &ConfigChange, said: &mut Vec<String>) -> anyhow::Result<()> {
    let path = &config.path;
    let now = std::fs::read_to_string(path).ok();
    if now.as_deref().map(config_edit::digest).as_deref() != Some(config.written.as_str()) {
        let kept = match &config.backup {
            Some(backup) => format!(
                "; the file as it was before install is {}",
                backup.display()
            ),
            None => String::new(),
        };
        said.push(format!(
            "left {}: it changed after install{kept}",
            path.display()
        ));
        return Ok(());
    }
    match &config.backup {
        Some(backup) => {
            std::fs::rename(backup, path)
                .with_context(|| format!("cannot restore {}", path.display()))?;
            said.push(format!(
                "restored {} as it was before install",
                path.display()
            ));
        }
        None => {
            std::fs::remove_file(path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
            said.push(format!("removed {} (install wrote it)", path.display()));
        }
    }
    Ok(())
}
