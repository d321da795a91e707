//! The `uv-shim` face: its own command line (clap), one function per command.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use super::shell::Shell;
use crate::discover::Depth;
use crate::env_vars::{EnvVars, Lookup};
use crate::metadata::freshness::{CachedCopy, Freshness};
use crate::pipeline::{self, Fetching};

/// Run uv behind a firewall: discover the organisation's Python mirror,
/// keep a validated copy of its metadata, and point uv at it.
///
/// Installed as `uv` early on PATH, it is invisible and hands every call to
/// the real uv. Called as `uv-shim`, it explains itself.
#[derive(Debug, Parser)]
#[command(name = "uv-shim", version, about, long_about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
// Parsed once per run: the size of the `mirror` variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show every discovery source, the chosen mirror, the cache, the real uv and the variables it gets.
    Doctor {
        /// Print JSON for tools instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the variables for uv, for places that cannot use the shim: eval "$(uv-shim env)"
    /// (PowerShell: uv-shim env | Invoke-Expression).
    Env {
        /// Output syntax (default: powershell on Windows, sh elsewhere).
        #[arg(long, value_enum, default_value_t = Shell::native())]
        shell: Shell,
    },
    /// Revalidate the mirror's metadata now, whatever its age.
    Refresh,
    /// Do what running as `uv` does: uv-shim exec -- python install 3.12
    Exec {
        /// Arguments for uv.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Build and check a mirror of Python downloads: uv-shim mirror sync --dest DIR
    Mirror {
        /// What to do.
        #[command(subcommand)]
        command: crate::mirror::MirrorCommand,
    },
    /// Put uv-shim, uv and uvx in a bin dir ahead of the real uv (never deleting it) and write the config.
    Install(crate::install::InstallArgs),
    /// Undo `uv-shim install`: put back exactly what was there.
    Uninstall(crate::install::UninstallArgs),
    /// Shell completions and man pages, for packagers (scripts/dist.sh).
    #[command(hide = true)]
    Generate {
        /// What to generate.
        #[command(subcommand)]
        what: super::generate::Generate,
    },
}

/// Parses `args` and runs the command.
pub fn run(env: Lookup, args: Vec<OsString>) -> ExitCode {
    crate::log::init(env(EnvVars::UV_SHIM_LOG).as_deref());
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Doctor { json } => super::doctor::run(env, json),
        Command::Env { shell } => print_env(env, shell),
        Command::Refresh => refresh(env),
        Command::Exec { args } => {
            return super::uv::run(env, crate::handover::face::Face::Uv, args);
        }
        Command::Mirror { command } => crate::mirror::run(command, env),
        Command::Install(args) => crate::install::install(env, args),
        Command::Uninstall(args) => crate::install::uninstall(env, args),
        Command::Generate { what } => super::generate::run(what, Cli::command()),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            eprintln!(
                "uv-shim: error: {}",
                crate::redact::text(&format!("{err:#}"))
            );
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn print_env(env: Lookup, shell: Shell) -> anyhow::Result<ExitCode> {
    let run = pipeline::run(env, Depth::FirstHit, Fetching::Normal);
    for line in run.warnings() {
        crate::log::warn(line);
    }
    // Values go out as they are when captured (eval); on a terminal credentials are hidden.
    let reveal = !std::io::stdout().is_terminal();
    let vars: Vec<(&str, String)> = run
        .handover
        .to_set()
        .map(|(name, value)| {
            let value = if reveal {
                value.to_string()
            } else {
                crate::redact::url(value)
            };
            (name, value)
        })
        .collect();
    let text = super::shell::render(shell, &vars);
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn refresh(env: Lookup) -> anyhow::Result<ExitCode> {
    let run = pipeline::run(env, Depth::FirstHit, Fetching::Force);
    for problem in &run.discovery.problems {
        crate::log::warn(problem);
    }
    let Some(mirror) = &run.discovery.settings.layer.mirror else {
        println!("no mirror configured: nothing to refresh (see `uv-shim doctor`)");
        return Ok(ExitCode::SUCCESS);
    };
    let Some(outcome) = &run.freshness else {
        println!(
            "{}: the shim hands uv no metadata here ({:?}); nothing to refresh",
            crate::redact::text(&mirror.value.describe()),
            run.handover.scheme
        );
        return Ok(ExitCode::SUCCESS);
    };
    let show = |copy: &CachedCopy| {
        let dropped = match copy.state.dropped {
            0 => String::new(),
            n => format!(" ({n} dropped: see `uv-shim doctor`)"),
        };
        crate::redact::text(&format!(
            "{} entries{dropped} from {} -> {}",
            copy.state.entries,
            copy.state.source,
            copy.json.display()
        ))
    };
    match outcome {
        Freshness::Fetched(copy) => println!("fetched: {}", show(copy)),
        Freshness::Revalidated(copy) | Freshness::Fresh(copy) => {
            println!("unchanged (revalidated): {}", show(copy));
        }
        Freshness::Stale { copy, error, .. } => {
            eprintln!(
                "uv-shim: error: refresh failed: {}",
                crate::redact::text(error)
            );
            println!("kept the last good copy: {}", show(copy));
            return Ok(ExitCode::FAILURE);
        }
        Freshness::Unavailable { error, .. } => {
            anyhow::bail!("refresh failed and there is no cached copy: {error}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
