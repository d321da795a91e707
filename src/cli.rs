//! The `uv-shim` face: its own command line (clap), one function per command.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::discover::Depth;
use crate::env_vars::{EnvVars, Lookup};
use crate::prepare::{self, Fetching};
use crate::refresh::Outcome;

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
    /// Print the variables for uv, for places that cannot use the shim: eval "$(uv-shim env)".
    Env {
        /// Output syntax.
        #[arg(long, value_enum, default_value_t = Shell::Sh)]
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
}

/// Output syntax of `env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// POSIX sh, bash, zsh.
    Sh,
    /// fish.
    Fish,
    /// PowerShell.
    Powershell,
    /// A JSON object.
    Json,
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
        Command::Doctor { json } => crate::doctor::run(env, json),
        Command::Env { shell } => print_env(env, shell),
        Command::Refresh => refresh(env),
        Command::Exec { args } => return crate::shim::run(env, args),
        Command::Mirror { command } => crate::mirror::run(command),
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
    let prepared = prepare::prepare(env, Depth::FirstHit, Fetching::Normal);
    for line in prepared.warnings() {
        crate::log::warn(line);
    }
    // Values go out as they are when captured (eval); on a terminal credentials are hidden.
    let reveal = !std::io::stdout().is_terminal();
    let vars: Vec<(&str, String)> = prepared
        .plan
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
    let text = crate::shellenv::render(shell, &vars);
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn refresh(env: Lookup) -> anyhow::Result<ExitCode> {
    let prepared = prepare::prepare(env, Depth::FirstHit, Fetching::Force);
    for problem in &prepared.discovery.problems {
        crate::log::warn(problem);
    }
    let Some(mirror) = &prepared.discovery.mirror else {
        println!("no mirror configured: nothing to refresh (see `uv-shim doctor`)");
        return Ok(ExitCode::SUCCESS);
    };
    let Some(outcome) = &prepared.outcome else {
        println!(
            "{}: the shim hands uv no metadata here ({:?}); nothing to refresh",
            mirror.describe(),
            prepared.plan.scheme
        );
        return Ok(ExitCode::SUCCESS);
    };
    let show = |copy: &crate::refresh::Copy| {
        format!(
            "{} entries from {} -> {}",
            copy.state.entries,
            crate::redact::url(&copy.state.source),
            copy.json.display()
        )
    };
    match outcome {
        Outcome::Fetched(copy) => println!("fetched: {}", show(copy)),
        Outcome::Revalidated(copy) | Outcome::Fresh(copy) => {
            println!("unchanged (revalidated): {}", show(copy));
        }
        Outcome::Stale { copy, error, .. } => {
            eprintln!(
                "uv-shim: error: refresh failed: {}",
                crate::redact::text(error)
            );
            println!("kept the last good copy: {}", show(copy));
            return Ok(ExitCode::FAILURE);
        }
        Outcome::Unavailable { error, .. } => {
            anyhow::bail!("refresh failed and there is no cached copy: {error}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
