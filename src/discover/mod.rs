//! Discovery: where the organisation's mirror comes from. Each source reads
//! what it needs (through [`Inputs`], so the warm path knows what that was)
//! and returns its line of the report and a settings [`Layer`], the mirror
//! included. [`discover`] combines them in the order of the design contract:
//!
//! 1. `UV_SHIM_MIRROR` and the shim's other variables ([`env`])
//! 2. the user config file ([`user`])
//! 3. the system config file ([`system`])
//!
//! 3b. the built-in config, embedded at build time ([`builtin`])
//! 4. uv's own system config `uv.toml` ([`uv_toml`])
//! 5. a static `download-metadata.json` beside it ([`static_file`])
//! 6. a DNS TXT record ([`dns`])
//! 7. nothing: pure pass-through
//!
//! Layers 1–3b combine field by field; the first layer that names a mirror
//! wins it, and sources 4–6 are only asked while none has.

pub mod builtin;
pub mod config_source;
pub mod dns;
pub mod env;
pub mod paths;
pub mod report;
pub mod static_file;
pub mod system;
pub mod user;
pub mod uv_toml;

pub use paths::Paths;
pub use report::{SourceId, SourceReport, Status};

use crate::budget::Budget;
use crate::cache::Cache;
use crate::env_vars::Lookup;
use crate::inputs::Inputs;
use crate::settings::{Layer, Settings};

/// How far discovery goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Stop at the first source that names a mirror (the `uv` face).
    FirstHit,
    /// Consult every source, for the report (`doctor`).
    All,
}

/// Everything discovery learnt.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// The combined settings; `settings.layer.mirror` is the mirror in use.
    pub settings: Settings,
    /// One line per source, in order.
    pub report: Vec<SourceReport>,
    /// Problems to tell the user about (bad config files and the like).
    pub problems: Vec<String>,
    /// The paths consulted.
    pub paths: Paths,
}

/// Asks one of the sources found after the config files, given the settings so far.
type Consult<'a> = dyn Fn(&Settings) -> (SourceReport, Layer) + 'a;

/// Runs discovery; DNS queries stay within `budget`.
pub fn discover(
    env: Lookup,
    inputs: &Inputs,
    paths: Paths,
    cache: &Cache,
    depth: Depth,
    budget: &Budget,
) -> Discovery {
    let (mut settings, mut report, mut problems) = config_layers(env, inputs, &paths);

    let uv_toml = paths.system_dir.join("uv.toml");
    let static_file = paths.system_dir.join(crate::urls::METADATA_FILE);
    // Sources 4-6, each asked only while no mirror is named (or for the report).
    let later: [(SourceId, String, &Consult); 3] = [
        (SourceId::UvToml, uv_toml.display().to_string(), &|_| {
            uv_toml::consult(&uv_toml, inputs)
        }),
        (
            SourceId::StaticFile,
            static_file.display().to_string(),
            &|_| static_file::consult(&static_file, inputs),
        ),
        (
            SourceId::Dns,
            format!("{}.<pinned domains>", dns::txt::LABEL),
            &|settings| {
                dns::consult(&dns::Input {
                    env,
                    inputs,
                    settings,
                    cache,
                    budget,
                })
            },
        ),
    ];
    for (id, location, consult) in later {
        if settings.layer.mirror.is_some() && depth == Depth::FirstHit {
            let mut line = SourceReport::new(id, location, "");
            line.status = Status::Skipped("an earlier source named the mirror".into());
            report.push(line);
            continue;
        }
        let (line, found) = consult(&settings);
        report.push(line.naming(found.mirror.as_ref()));
        settings.add_found(found);
    }
    mark_the_winner(&mut report, &settings);
    problems.extend(settings.ignored.iter().cloned());
    Discovery {
        settings,
        report,
        problems,
        paths,
    }
}

/// Sources 1-3b, combined field by field: `env.combine(user).combine(system).combine(builtin)`.
fn config_layers(
    env: Lookup,
    inputs: &Inputs,
    paths: &Paths,
) -> (Settings, Vec<SourceReport>, Vec<String>) {
    let mut problems = Vec::new();
    let (env_line, env_layer) = env::consult(env);
    let user = user::consult(paths.user_config.as_deref(), inputs, &mut problems);
    let system = system::consult(&paths.system_config(), inputs, &mut problems);
    let env_line = env_line.naming(env_layer.mirror.as_ref());
    let builtin = builtin::consult(&mut problems);
    let settings = Settings::resolve(
        env_layer,
        user.file.as_ref(),
        system.file.as_ref(),
        builtin.as_ref().and_then(|b| b.file.as_ref()),
    );
    let mut report = vec![env_line, user.line, system.line];
    report.extend(builtin.map(|b| b.line));
    (settings, report, problems)
}

/// Every line that names a mirror but is not the source of the one in use is shadowed.
fn mark_the_winner(report: &mut [SourceReport], settings: &Settings) {
    let winner = settings
        .layer
        .mirror
        .as_ref()
        .and_then(|m| SourceId::of(&m.origin));
    for line in report {
        if let Status::Chosen(what) = &line.status
            && Some(line.id) != winner
        {
            line.status = Status::Shadowed(what.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The warm path knows what discovery read only because every read goes
    /// through `Inputs`. A source that reads a file or a variable behind its
    /// back would be invisible to it: no such read may exist here.
    #[test]
    fn discovery_reads_only_through_inputs() {
        fn visit(dir: &Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    visit(&path, found);
                    continue;
                }
                // Tests may set up files as they like, inline or in their own file.
                if path.file_name().is_some_and(|n| n == "tests.rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text.split("#[cfg(test)]").next().unwrap();
                for banned in [
                    "std::fs::read",
                    "fs::read_to_string",
                    "std::fs::metadata",
                    "std::env::var",
                    ".is_file()",
                    ".exists()",
                ] {
                    if code.contains(banned) {
                        found.push(format!("{}: {banned}", path.display()));
                    }
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = Vec::new();
        for dir in ["discover", "settings"] {
            visit(&root.join(dir), &mut found);
        }
        assert!(found.is_empty(), "reads that bypass Inputs: {found:#?}");
    }
}
