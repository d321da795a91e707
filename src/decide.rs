//! The one decision of the pipeline, made before anything is fetched: how
//! uv is pointed at the mirror (the scheme), which metadata to fetch and how
//! its URLs are rewritten, which variables uv gets and which of the user's
//! own are left alone, and why. The fetch and the hand-over only carry it
//! out; `doctor` prints the same data.
//!
//! Two schemes, never mixed: uv >= 0.6.13 gets `UV_PYTHON_DOWNLOADS_JSON_URL`
//! pointing at the validated copy in the cache; older uv (or a newer one
//! when no copy could be had) gets the mirror variables instead. Whether uv
//! is told to trust the platform's certificate store is decided in [`certs`].

mod certs;
#[cfg(test)]
mod metadata_false;

use std::path::Path;

use url::Url;

use crate::discover::uv_toml::UvOwn;
use crate::env_vars::{EnvVars, Lookup};
use crate::metadata::rules::{Policy, Rewrite, Scope};
use crate::metadata::tls::Trust;
use crate::settings::{MetadataSource, Mirror, Origin, Settings, Sourced};

/// How uv is pointed at the mirror.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scheme {
    /// No mirror: uv runs untouched (apart from index settings).
    PassThrough,
    /// `UV_PYTHON_DOWNLOADS_JSON_URL` names the cached metadata.
    Metadata,
    /// `UV_PYTHON_INSTALL_MIRROR` (and PyPy's) name the mirror base.
    MirrorVariables,
    /// uv is already pointed at Python downloads by the user or its own config; the shim adds nothing.
    LeftToUv,
}

/// One variable and what the shim does with it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Var {
    /// The variable.
    pub name: &'static str,
    /// The value the shim sets, or the user's value it keeps.
    pub value: String,
    /// True when the shim sets it; false when the user's own value stays.
    pub set: bool,
    /// Why.
    pub why: String,
}

/// What uv gets: the scheme and every variable considered.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Handover {
    /// The scheme in use.
    pub scheme: Scheme,
    /// Every variable the shim considered.
    pub vars: Vec<Var>,
    /// Explanations for doctor (which uv.toml case applies and so on).
    pub notes: Vec<String>,
    /// Variables that could not be set, and why (warnings; uv still runs).
    pub problems: Vec<String>,
}

impl Handover {
    /// The variables to set on uv's process.
    pub fn to_set(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.vars
            .iter()
            .filter(|v| v.set)
            .map(|v| (v.name, v.value.as_str()))
    }
}

/// Longest `NAME=value` Linux passes to a program (`MAX_ARG_STRLEN`, the
/// terminating NUL included); a longer one makes the exec fail with E2BIG.
const MAX_VARIABLE: usize = 128 * 1024;

/// What the decision rests on.
pub struct Facts<'a> {
    /// The environment the user gave.
    pub env: Lookup<'a>,
    /// The combined settings (the mirror among them).
    pub settings: &'a Settings,
    /// What uv applies by itself.
    pub uv_own: &'a UvOwn,
    /// Whether the real uv reads `UV_PYTHON_DOWNLOADS_JSON_URL` (unknown: assume it does).
    pub reads_json_url: bool,
    /// The variable that makes the real uv trust the platform's certificate
    /// store (`UV_SYSTEM_CERTS`; `UV_NATIVE_TLS` before 0.11.0).
    pub system_certs_var: &'static str,
}

/// The metadata to keep in the cache for uv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataFetch {
    /// Metadata URLs in failover order.
    pub sources: Vec<Url>,
    /// How its URLs are handed to uv.
    pub rewrite: Rewrite,
    /// What its entries must satisfy to be handed to uv.
    pub policy: Policy,
}

/// The decision.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The metadata to fetch, when uv is to get metadata.
    pub fetch: Option<MetadataFetch>,
    /// What uv gets with a validated copy (only with `fetch`); the copy's
    /// path is filled in by [`Decision::handover`].
    with_copy: Option<Handover>,
    /// What uv gets otherwise.
    without_copy: Handover,
    /// What uv is told about certificates, whichever of the two.
    certs: certs::Certs,
}

impl Decision {
    /// Carries the decision out: `copy` is the validated metadata the cache
    /// holds, if any, and `trust` what vouched for the mirror's certificate
    /// when that copy was last fetched or confirmed.
    pub fn handover(&self, copy: Option<&Path>, trust: Option<Trust>) -> Handover {
        let mut handover = self.scheme_handover(copy);
        self.certs.apply(&mut handover, trust);
        handover
    }

    fn scheme_handover(&self, copy: Option<&Path>) -> Handover {
        match (&self.with_copy, copy) {
            (Some(with_copy), Some(copy)) => {
                let mut handover = with_copy.clone();
                for var in &mut handover.vars {
                    if var.set && var.name == EnvVars::UV_PYTHON_DOWNLOADS_JSON_URL {
                        var.value = copy.display().to_string();
                    }
                }
                handover
            }
            _ => self.without_copy.clone(),
        }
    }
}

/// Decides.
pub fn decide(facts: &Facts) -> Decision {
    let mirror = facts.settings.layer.mirror.as_ref();
    let fetch = mirror.and_then(|mirror| metadata_fetch(facts, mirror));
    let with_copy = fetch.as_ref().map(|_| {
        let mut handover = Handover::new(Scheme::Metadata);
        if let Some(mirror) = mirror {
            metadata_vars(facts, mirror, &mut handover);
        }
        other_vars(facts, &mut handover);
        handover
    });
    let mut without_copy = Handover::new(Scheme::PassThrough);
    if let Some(mirror) = mirror {
        without_metadata(facts, mirror, &mut without_copy);
    }
    other_vars(facts, &mut without_copy);
    Decision {
        fetch,
        with_copy,
        without_copy,
        certs: certs::decide(facts),
    }
}

/// The metadata to fetch: a fetchable source, a uv that reads the variable,
/// and no user value of its own.
fn metadata_fetch(facts: &Facts, mirror: &Sourced<Mirror>) -> Option<MetadataFetch> {
    let MetadataSource::Fetch(sources) = &mirror.value.metadata else {
        return None;
    };
    if !facts.reads_json_url || (facts.env)(EnvVars::UV_PYTHON_DOWNLOADS_JSON_URL).is_some() {
        return None;
    }
    let pypy_mirror = facts.settings.layer.pypy_mirror.as_ref();
    let trust = &facts.settings.trust;
    Some(MetadataFetch {
        sources: sources.clone(),
        rewrite: Rewrite {
            bases: mirror.value.bases.clone(),
            pypy_mirror: pypy_mirror.and_then(|p| crate::urls::parse_fetchable(&p.value).ok()),
            cpython_upstream: facts.uv_own.python_install_mirror.is_some(),
            pypy_upstream: facts.uv_own.pypy_install_mirror.is_some() || pypy_mirror.is_some(),
        },
        policy: Policy {
            // The admin's own static file is as trusted as the system
            // config beside it: its URLs stay as written. Whatever came
            // from elsewhere stays on the mirror.
            scope: match mirror.origin {
                Origin::StaticFile(_) => Scope::Anywhere,
                _ => Scope::Mirror,
            },
            allowed_hosts: trust.allowed_hosts.clone(),
            require_sha256: trust.require_sha256,
            trusted_keys: trust.trusted_keys.clone(),
        },
    })
}

impl Handover {
    fn new(scheme: Scheme) -> Self {
        Handover {
            scheme,
            vars: Vec::new(),
            notes: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Sets `name` unless the user set it already, in which case theirs
    /// stays, or unless the value is too long for the system to pass on.
    fn offer(&mut self, env: Lookup, name: &'static str, value: String, why: String) {
        if name.len() + value.len() + 2 > MAX_VARIABLE {
            self.problems.push(format!(
                "{name} would be {} KiB long, more than the system passes to a program; not set ({why})",
                value.len() >> 10
            ));
            return;
        }
        self.vars.push(match env(name) {
            Some(user) => Var {
                name,
                value: user,
                set: false,
                why: "set by the user; left alone".into(),
            },
            None => Var {
                name,
                value,
                set: true,
                why,
            },
        });
    }
}

/// uv gets the validated copy (its path filled in later).
fn metadata_vars(facts: &Facts, mirror: &Sourced<Mirror>, handover: &mut Handover) {
    handover.offer(
        facts.env,
        EnvVars::UV_PYTHON_DOWNLOADS_JSON_URL,
        String::new(),
        format!(
            "validated copy of the metadata of the mirror from {}",
            mirror.origin
        ),
    );
    if let Some((value, place)) = &facts.uv_own.python_install_mirror {
        handover.notes.push(format!(
            "uv applies python-install-mirror = {} (from {place}) itself, so the metadata keeps the upstream URL prefix for CPython",
            crate::redact::url(value)
        ));
    }
    if let Some(pypy) = &facts.settings.layer.pypy_mirror {
        handover.offer(
            facts.env,
            EnvVars::UV_PYPY_INSTALL_MIRROR,
            pypy.value.clone(),
            format!(
                "pypy-mirror from {}; PyPy entries keep the upstream prefix",
                pypy.origin
            ),
        );
    }
}

/// What uv gets about Python downloads when it gets no metadata copy.
fn without_metadata(facts: &Facts, mirror: &Sourced<Mirror>, handover: &mut Handover) {
    let env = facts.env;
    if let Some(user) = env(EnvVars::UV_PYTHON_DOWNLOADS_JSON_URL) {
        handover.scheme = Scheme::LeftToUv;
        handover.vars.push(Var {
            name: EnvVars::UV_PYTHON_DOWNLOADS_JSON_URL,
            value: user,
            set: false,
            why: "set by the user; the shim hands uv no metadata".into(),
        });
        return;
    }
    if let MetadataSource::UvReadsItself(path) = &mirror.value.metadata {
        handover.scheme = Scheme::LeftToUv;
        handover.notes.push(format!(
            "uv reads `python-downloads-json-url = {path}` from {} itself; the shim leaves it",
            mirror.origin
        ));
        return;
    }
    // The mirror variables: a mirror without metadata, old uv, or no copy
    // of the metadata to hand over.
    handover.notes.push(if mirror.value.metadata == MetadataSource::Unpublished {
        format!(
            "the mirror publishes no metadata (`metadata = false` in {}): uv gets the mirror \
             variables, whatever its version, and nothing is fetched; the trade-off: uv asks the \
             mirror for the builds its own built-in list names (the build dates compiled into \
             that uv), so the mirror must serve those, and each uv version may ask for others",
            mirror.origin
        )
    } else if facts.reads_json_url {
        "no validated copy of the mirror's metadata: uv gets the mirror variables and its built-in download list".into()
    } else {
        format!(
            "this uv predates {} (0.6.13): it gets the mirror variables and its built-in download list",
            EnvVars::UV_PYTHON_DOWNLOADS_JSON_URL
        )
    });
    let Some(base) = mirror.value.bases.first() else {
        handover.notes.push(
            "the mirror source names only metadata, no mirror base: nothing to hand over".into(),
        );
        return;
    };
    handover.scheme = Scheme::MirrorVariables;
    if let Some((value, place)) = &facts.uv_own.python_install_mirror {
        handover.notes.push(format!(
            "uv applies python-install-mirror = {} (from {place}) itself",
            crate::redact::url(value)
        ));
    } else {
        handover.offer(
            env,
            EnvVars::UV_PYTHON_INSTALL_MIRROR,
            crate::urls::mirror_value(base),
            format!("mirror from {}", mirror.origin),
        );
    }
    if facts.uv_own.pypy_install_mirror.is_none() {
        let (value, why) = match &facts.settings.layer.pypy_mirror {
            Some(pypy) => (
                pypy.value.clone(),
                format!("pypy-mirror from {}", pypy.origin),
            ),
            None => (
                format!("{}/pypy", crate::urls::mirror_value(base)),
                format!("the pypy/ folder of the mirror from {}", mirror.origin),
            ),
        };
        handover.offer(env, EnvVars::UV_PYPY_INSTALL_MIRROR, value, why);
    }
}

/// The package index and Astral's mirror, whatever the scheme.
fn other_vars(facts: &Facts, handover: &mut Handover) {
    let env = facts.env;
    let layer = &facts.settings.layer;
    if let Some(index) = &layer.index_url {
        if let Some(user) = env(EnvVars::UV_INDEX_URL) {
            handover.vars.push(Var {
                name: EnvVars::UV_INDEX_URL,
                value: user,
                set: false,
                why: format!(
                    "set by the user; {} is left alone so the two do not conflict",
                    EnvVars::UV_DEFAULT_INDEX
                ),
            });
        } else {
            handover.offer(
                env,
                EnvVars::UV_DEFAULT_INDEX,
                index.value.clone(),
                format!("index-url from {}", index.origin),
            );
        }
    }
    if let Some(astral) = &layer.astral_mirror {
        handover.offer(
            env,
            EnvVars::UV_ASTRAL_MIRROR_URL,
            astral.value.clone(),
            format!("astral-mirror from {}", astral.origin),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Layer, Origin};

    fn settings() -> Settings {
        let mut s = Settings::resolve(Layer::default(), None, None, None);
        let base = url::Url::parse("https://m.example/uv/").unwrap();
        s.layer.mirror = Some(Sourced::new(Mirror::at(vec![base], None), Origin::Default));
        s.layer.index_url = Some(Sourced::new(
            "https://m.example/simple".into(),
            Origin::Default,
        ));
        s
    }

    fn names(handover: &Handover) -> Vec<&str> {
        handover.to_set().map(|(n, _)| n).collect()
    }

    fn decide_with(env: Lookup, reads_json_url: bool) -> Decision {
        decide(&Facts {
            env,
            settings: &settings(),
            uv_own: &UvOwn::default(),
            reads_json_url,
            system_certs_var: EnvVars::UV_SYSTEM_CERTS,
        })
    }

    #[test]
    fn new_uv_gets_metadata_only() {
        let decision = decide_with(&|_| None, true);
        let fetch = decision.fetch.as_ref().unwrap();
        assert_eq!(
            fetch.sources[0].as_str(),
            "https://m.example/uv/download-metadata.json"
        );
        let handover = decision.handover(Some(Path::new("/c/x.json")), None);
        assert_eq!(handover.scheme, Scheme::Metadata);
        assert_eq!(
            names(&handover),
            [
                EnvVars::UV_PYTHON_DOWNLOADS_JSON_URL,
                EnvVars::UV_DEFAULT_INDEX
            ]
        );
        assert!(handover.to_set().any(|(_, v)| v == "/c/x.json"));
        // No copy could be had: the mirror variables instead, never both.
        let handover = decision.handover(None, None);
        assert_eq!(handover.scheme, Scheme::MirrorVariables);
        assert!(!names(&handover).contains(&EnvVars::UV_PYTHON_DOWNLOADS_JSON_URL));
    }

    #[test]
    fn old_uv_gets_mirror_variables_only() {
        let decision = decide_with(&|_| None, false);
        assert!(decision.fetch.is_none());
        let handover = decision.handover(Some(Path::new("/c/x.json")), None);
        assert_eq!(handover.scheme, Scheme::MirrorVariables);
        let set: Vec<_> = handover.to_set().collect();
        assert!(set.contains(&(EnvVars::UV_PYTHON_INSTALL_MIRROR, "https://m.example/uv")));
        assert!(set.contains(&(EnvVars::UV_PYPY_INSTALL_MIRROR, "https://m.example/uv/pypy")));
        assert!(!names(&handover).contains(&EnvVars::UV_PYTHON_DOWNLOADS_JSON_URL));
    }

    #[test]
    fn user_values_win() {
        let env = |name: &str| match name {
            "UV_PYTHON_DOWNLOADS_JSON_URL" => Some("/mine.json".to_string()),
            "UV_INDEX_URL" => Some("https://mine.example/simple".to_string()),
            _ => None,
        };
        let decision = decide_with(&env, true);
        assert!(decision.fetch.is_none());
        let handover = decision.handover(Some(Path::new("/c/x.json")), None);
        assert_eq!(handover.scheme, Scheme::LeftToUv);
        assert!(names(&handover).is_empty());
        assert_eq!(handover.vars.iter().filter(|v| !v.set).count(), 2);
    }

    #[test]
    fn only_variables_the_registry_lists_as_handed_to_uv_are_set() {
        for reads_json_url in [true, false] {
            let decision = decide_with(&|_| None, reads_json_url);
            for copy in [Some(Path::new("/c/x.json")), None] {
                for (name, _) in decision.handover(copy, None).to_set() {
                    assert!(EnvVars::HANDED_TO_UV.contains(&name), "{name}");
                }
            }
        }
    }

    #[test]
    fn a_value_too_long_to_pass_on_is_skipped_with_a_warning() {
        let mut s = settings();
        s.layer.index_url = Some(Sourced::new(
            format!("https://m.example/{}", "x".repeat(MAX_VARIABLE)),
            Origin::Default,
        ));
        let decision = decide(&Facts {
            env: &|_| None,
            settings: &s,
            uv_own: &UvOwn::default(),
            reads_json_url: true,
            system_certs_var: EnvVars::UV_SYSTEM_CERTS,
        });
        let handover = decision.handover(Some(Path::new("/c/x.json")), None);
        assert!(!names(&handover).contains(&EnvVars::UV_DEFAULT_INDEX));
        assert!(names(&handover).contains(&EnvVars::UV_PYTHON_DOWNLOADS_JSON_URL));
        assert_eq!(handover.problems.len(), 1);
        assert!(
            handover.problems[0].contains("UV_DEFAULT_INDEX"),
            "{:?}",
            handover.problems
        );
    }
}
