//! `uv-shim install` and `uninstall`: the one installer of every channel
//! (the tarball's and the wheel's users run it, `install.sh` builds and
//! then runs it). Install puts `uv-shim` in a bin dir with `uv` and `uvx`
//! leading to it, ahead of the real uv and without ever deleting it,
//! records the real uv in the config when the shim could not find it by
//! itself, writes `--mirror` / `--dns-domain` into the config, and keeps an
//! install record in the bin dir. Running it again changes nothing.
//! Uninstall reads the record and puts back exactly what was there.

mod checks;
mod config_edit;
mod links;
mod places;
mod record;
mod say;
mod uninstall;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use self::config_edit::Wanted;
use self::places::Scope;
use self::record::{ConfigChange, InstallRecord};
use self::say::say;
use crate::cache::Cache;
use crate::discover::Paths;
use crate::env_vars::{EnvVars, Lookup};
use crate::handover::real_uv;
use crate::inputs::Inputs;
use crate::settings::{Origin, Sourced};

pub use uninstall::{UninstallArgs, uninstall};

/// `uv-shim install`'s arguments.
#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// The folder for uv-shim, uv and uvx; it belongs early on PATH
    /// [default: /usr/local/bin as root, else ~/.local/bin].
    #[arg(long, value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,
    /// Write the system config (/etc/uv/shim.toml): the default as root.
    #[arg(long, conflicts_with = "user")]
    pub system: bool,
    /// Write this user's config (~/.config/uv-shim/config.toml): the default for anyone but root.
    #[arg(long)]
    pub user: bool,
    /// A mirror base URL to write into the config (repeat for failover, in order).
    #[arg(long = "mirror", value_name = "URL")]
    pub mirrors: Vec<String>,
    /// A domain whose `_uv-mirror` TXT record names the mirror (repeatable): pins it in the config.
    #[arg(long = "dns-domain", value_name = "DOMAIN")]
    pub dns_domains: Vec<String>,
    /// Do not run `uv-shim doctor` at the end.
    #[arg(long)]
    pub no_doctor: bool,
}

/// Runs `uv-shim install`.
pub fn install(env: Lookup, args: InstallArgs) -> anyhow::Result<ExitCode> {
    let wanted = wanted_from(&args)?;
    let scope = Scope::choose(args.system, args.user);
    let dir = places::bin_dir(args.bin_dir.as_deref(), env)?;
    let config = places::config_file(scope, env)?;
    let mut record = InstallRecord::read(&dir)
        .map_err(anyhow::Error::msg)?
        .unwrap_or_default();
    let mut said = Vec::new();

    let made = places::make_dirs(&dir)
        .with_context(|| format!("cannot create the bin dir {}", permission_hint(&dir)))?;
    for made in made {
        said.push(format!("created {}", made.display()));
        record.made_dirs.push(made);
    }
    tempfile::tempfile_in(&dir)
        .with_context(|| format!("cannot write in the bin dir {}", permission_hint(&dir)))?;
    let save = |record: &InstallRecord| save_record(&dir, record);

    record.shim = links::place_shim(&dir, &record.shim, &mut said)?;
    save(&record)?;
    let cache = user_cache(env);
    for face in links::FACES {
        let prior = record.face(face).cloned();
        if let Some(change) = links::place_face(&dir, face, prior.as_ref(), &cache, &mut said)? {
            record.faces.retain(|f| f.face != *face);
            record.faces.push(change);
        }
        save(&record)?;
    }

    let mut notes = Vec::new();
    let wanted = Wanted {
        uv: real_uv_to_record(&dir, &record, &config, env, &cache, &mut said, &mut notes),
        ..wanted
    };
    let private = matches!(scope, Scope::User);
    write_config(&config, &wanted, private, &mut record, &mut said)?;
    save(&record)?;

    if said.is_empty() {
        say(&format!(
            "nothing to do: {} already holds uv-shim with {} leading to it, and {} already says what it should",
            dir.display(),
            links::FACES.join(" and "),
            config.display()
        ));
    }
    for line in &said {
        say(line);
    }
    notes.extend(checks::path_advice(&dir, env));
    for line in &notes {
        say(line);
    }
    if !args.no_doctor {
        say("running: uv-shim doctor");
        for line in checks::doctor(&dir) {
            say(&line);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The config keys asked for on the command line, checked as the config loader checks them.
fn wanted_from(args: &InstallArgs) -> anyhow::Result<Wanted> {
    for mirror in &args.mirrors {
        crate::urls::parse_fetchable(mirror).map_err(|problem| {
            anyhow::anyhow!(
                "--mirror `{}` is not a usable URL: {problem}",
                crate::redact::url(mirror)
            )
        })?;
    }
    let mut domains = Vec::new();
    for domain in &args.dns_domains {
        let normal = crate::settings::config_file::normalize_host(domain)
            .filter(|host| host.parse::<std::net::IpAddr>().is_err())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--dns-domain `{domain}` is not a domain name; write the domain alone, e.g. `corp.example`"
                )
            })?;
        if !domains.contains(&normal) {
            domains.push(normal);
        }
    }
    Ok(Wanted {
        uv: None,
        mirrors: args.mirrors.iter().map(|m| m.trim().to_string()).collect(),
        dns_domains: domains,
    })
}

/// What to do about a folder that cannot be written.
fn permission_hint(dir: &Path) -> String {
    format!(
        "{}: run install as its owner (or as root), or choose a folder you own with --bin-dir, e.g. ~/.local/bin",
        dir.display()
    )
}

fn save_record(dir: &Path, record: &InstallRecord) -> anyhow::Result<()> {
    let path = InstallRecord::path_in(dir);
    let text = record.to_text();
    if record.is_empty() || std::fs::read_to_string(&path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    crate::fsutil::write_public(&path, text.as_bytes())
        .with_context(|| format!("cannot write the install record {}", path.display()))
}

/// The user's own cache (where the shim keeps what each uv said it is).
fn user_cache(env: Lookup) -> Cache {
    let paths = Paths::from_env(env);
    Cache::choose(paths.cache_dir.as_deref(), paths.own_cache_dir.as_deref()).0
}

/// The real uv to write into the config, if the config must name it: the
/// one install moved aside (or an earlier install script did, as
/// `uv-real`), or a real uv on `PATH` when the config names one that is
/// gone or is the shim. A real uv the shim finds on `PATH` by itself is
/// not recorded: the shim then follows it wherever uv is reinstalled.
fn real_uv_to_record(
    dir: &Path,
    record: &InstallRecord,
    config: &Path,
    env: Lookup,
    cache: &Cache,
    said: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Option<PathBuf> {
    let shim = same_file::Handle::from_path(dir.join(links::exe("uv-shim"))).ok();
    let inputs = Inputs::new();
    let check = |path: &Path| {
        real_uv::find(
            Some(&Sourced::new(path.to_path_buf(), Origin::Default)),
            None,
            shim.as_ref(),
            cache,
            &inputs,
        )
    };
    let configured = match crate::settings::config_file::load(config, &inputs) {
        Ok(file) => file.and_then(|f| f.uv),
        Err(err) => {
            notes.push(format!("warning: {err}"));
            None
        }
    };
    let configured_ok = configured.as_deref().is_some_and(|uv| check(uv).is_ok());
    let moved = record
        .face("uv")
        .and_then(|f| f.moved_to.clone())
        .or_else(|| Some(dir.join(links::moved_name("uv"))))
        .filter(|moved| check(moved).is_ok());
    if configured_ok {
        let uv = configured.unwrap_or_default();
        if moved.as_ref().is_some_and(|m| *m != uv) {
            notes.push(format!(
                "note: {} names the real uv {}; left as it is (the one moved aside is {})",
                config.display(),
                uv.display(),
                moved.unwrap_or_default().display()
            ));
        }
        return None;
    }
    if moved.is_some() {
        return moved;
    }
    let found = real_uv::find(
        None,
        env(EnvVars::PATH).map(Into::into),
        shim.as_ref(),
        cache,
        &inputs,
    );
    match (found, configured) {
        (Ok(found), Some(broken)) => {
            said.push(format!(
                "{} named {} as the real uv, which is gone or is the shim; it now names {}",
                config.display(),
                broken.display(),
                found.uv.value.display()
            ));
            Some(found.uv.value)
        }
        (Ok(found), None) => {
            notes.push(format!(
                "the real uv is {} (found on PATH, where the shim finds it by itself: nothing to record)",
                found.uv.value.display()
            ));
            None
        }
        (Err(err), _) => {
            notes.push(format!(
                "warning: {err}; until there is one, every `uv` call fails with this message"
            ));
            None
        }
    }
}

/// Writes the wanted keys into the config (nothing when it already says
/// them), keeping the file as it was before the first install for uninstall.
/// A new user config is `private` (0600), a new system config readable by all.
fn write_config(
    path: &Path,
    wanted: &Wanted,
    private: bool,
    record: &mut InstallRecord,
    said: &mut Vec<String>,
) -> anyhow::Result<()> {
    let edited = config_edit::edit(path, wanted)?;
    if edited.is_unchanged() || (edited.before.is_none() && edited.changes.is_empty()) {
        return Ok(());
    }
    if let Some(prior) = &record.config
        && prior.path != path
    {
        anyhow::bail!(
            "an earlier install in this bin dir wrote {}, not {}; run `uv-shim uninstall` first, or install with the same --system/--user",
            prior.path.display(),
            path.display()
        );
    }
    let parent = path.parent().unwrap_or(Path::new("."));
    for made in places::make_dirs(parent)
        .with_context(|| format!("cannot create {}", permission_hint(parent)))?
    {
        said.push(format!("created {}", made.display()));
        record.made_dirs.push(made);
    }
    let backup = match &record.config {
        Some(prior) => prior.backup.clone(),
        None => edited.before.as_ref().map(|_| backup_path(path)),
    };
    let new_backup = backup.as_deref().filter(|_| record.config.is_none());
    config_edit::write(path, &edited.after, new_backup, private)
        .with_context(|| format!("cannot write the config {}", permission_hint(path)))?;
    record.config = Some(ConfigChange {
        path: path.to_path_buf(),
        backup,
        written: config_edit::digest(&edited.after),
    });
    let what = if edited.before.is_none() {
        "wrote"
    } else {
        "edited"
    };
    said.push(format!(
        "{what} {}: {}",
        path.display(),
        edited.changes.join("; ")
    ));
    Ok(())
}

/// Where the config as it was before install is kept: beside it, so it
/// keeps the folder's protection.
fn backup_path(config: &Path) -> PathBuf {
    let name = config
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    config.with_file_name(format!(".{name}.uv-shim-install-backup"))
}
