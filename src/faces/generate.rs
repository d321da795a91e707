//! `uv-shim generate`: shell completions and man pages made from the real
//! command line, for the release artifacts (`scripts/dist.sh`), so they can
//! never drift from what the binary accepts. Hidden from `--help`: users get
//! the files from a package, not from this command.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use clap_complete::Shell;

/// What to generate.
#[derive(Debug, Subcommand)]
pub enum Generate {
    /// Print the completion script for SHELL on stdout.
    Completions {
        /// The shell (bash, zsh, fish, powershell, elvish).
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Write the man pages (uv-shim.1 and one per command) into DIR.
    Man {
        /// The folder to write into; created when missing.
        #[arg(long, value_name = "DIR")]
        out_dir: PathBuf,
    },
}

/// Runs `what` for `command`, the whole `uv-shim` command line.
pub fn run(what: Generate, mut command: clap::Command) -> anyhow::Result<ExitCode> {
    match what {
        Generate::Completions { shell } => {
            let name = command.get_name().to_string();
            let mut out = std::io::stdout().lock();
            clap_complete::generate(shell, &mut command, name, &mut out);
            std::io::Write::flush(&mut out)?;
        }
        Generate::Man { out_dir } => man_pages(command, &out_dir)?,
    }
    Ok(ExitCode::SUCCESS)
}

fn man_pages(command: clap::Command, out_dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create the man page folder {}", out_dir.display()))?;
    clap_mangen::generate_to(command, out_dir)
        .with_context(|| format!("cannot write the man pages into {}", out_dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command() -> clap::Command {
        clap::Command::new("uv-shim")
            .subcommand(clap::Command::new("doctor").about("Show everything"))
            .subcommand(clap::Command::new("hidden").hide(true))
    }

    #[test]
    fn man_pages_cover_every_visible_command() {
        let dir = tempfile::tempdir().unwrap();
        man_pages(command(), dir.path()).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["uv-shim-doctor.1", "uv-shim.1"]);
    }
}
