//! The environment handed to uv: which variables the shim sets, which it
//! leaves alone because the user set them, and why.
//!
//! Two schemes, never mixed: uv >= 0.6.13 gets `UV_PYTHON_DOWNLOADS_JSON_URL`
//! pointing at the validated copy in the cache; older uv (or a newer one
//! when no copy could be had) gets the mirror variables instead.

use std::path::Path;

use crate::discover::Chosen;
use crate::discover::uv_toml::UvOwn;
use crate::env_vars::{EnvVars, Lookup};
use crate::settings::Settings;

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

/// The variables for uv.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Plan {
    /// The scheme in use.
    pub scheme: Scheme,
    /// Every variable the shim considered.
    pub vars: Vec<Var>,
    /// Explanations for doctor (which uv.toml case applies and so on).
    pub notes: Vec<String>,
}

impl Plan {
    /// The variables to set on uv's process.
    pub fn to_set(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.vars
            .iter()
            .filter(|v| v.set)
            .map(|v| (v.name, v.value.as_str()))
    }
}

/// What [`build`] needs to know.
pub struct Inputs<'a> {
    /// The environment the user gave.
    pub env: Lookup<'a>,
    /// The combined settings.
    pub settings: &'a Settings,
    /// The mirror in use.
    pub mirror: Option<&'a Chosen>,
    /// What uv applies by itself.
    pub uv_own: &'a UvOwn,
    /// Whether the real uv reads `UV_PYTHON_DOWNLOADS_JSON_URL` (unknown: assume it does).
    pub reads_json_url: bool,
    /// The validated copy in the cache, when there is one.
    pub metadata: Option<&'a Path>,
}

/// Decides the variables.
pub fn build(inputs: &Inputs) -> Plan {
    let mut plan = Plan {
        scheme: Scheme::PassThrough,
        vars: Vec::new(),
        notes: Vec::new(),
    };
    let env = inputs.env;
    let mut offer =
        |plan: &mut Plan, name: &'static str, value: String, why: String| match env(name) {
            Some(user) => plan.vars.push(Var {
                name,
                value: user,
                set: false,
                why: "set by the user; left alone".into(),
            }),
            None => plan.vars.push(Var {
                name,
                value,
                set: true,
                why,
            }),
        };

    if let Some(mirror) = inputs.mirror {
        python_downloads(inputs, mirror, &mut plan, &mut offer);
    }

    let layer = &inputs.settings.layer;
    if let Some(index) = &layer.index_url {
        if let Some(user) = env(EnvVars::UV_INDEX_URL) {
            plan.vars.push(Var {
                name: EnvVars::UV_INDEX_URL,
                value: user,
                set: false,
                why: format!(
                    "set by the user; {} is left alone so the two do not conflict",
                    EnvVars::UV_DEFAULT_INDEX
                ),
            });
        } else {
            offer(
                &mut plan,
                EnvVars::UV_DEFAULT_INDEX,
                index.value.clone(),
                format!("index-url from {}", index.origin),
            );
        }
    }
    if let Some(astral) = &layer.astral_mirror {
        offer(
            &mut plan,
            EnvVars::UV_ASTRAL_MIRROR_URL,
            astral.value.clone(),
            format!("astral-mirror from {}", astral.origin),
        );
    }
    plan
}

type Offer<'o> = dyn FnMut(&mut Plan, &'static str, String, String) + 'o;

fn python_downloads(inputs: &Inputs, mirror: &Chosen, plan: &mut Plan, offer: &mut Offer) {
    let env = inputs.env;
    if let Some(user) = env(EnvVars::UV_PYTHON_DOWNLOADS_JSON_URL) {
        plan.scheme = Scheme::LeftToUv;
        plan.vars.push(Var {
            name: EnvVars::UV_PYTHON_DOWNLOADS_JSON_URL,
            value: user,
            set: false,
            why: "set by the user; the shim hands uv no metadata".into(),
        });
        return;
    }
    if let crate::discover::MetadataPlan::UvReadsItself(path) = &mirror.metadata {
        plan.scheme = Scheme::LeftToUv;
        plan.notes.push(format!(
            "uv reads `python-downloads-json-url = {path}` from {} itself; the shim leaves it",
            mirror.origin
        ));
        return;
    }
    let pypy_mirror = inputs.settings.layer.pypy_mirror.as_ref();
    if inputs.reads_json_url
        && let Some(json) = inputs.metadata
    {
        plan.scheme = Scheme::Metadata;
        offer(
            plan,
            EnvVars::UV_PYTHON_DOWNLOADS_JSON_URL,
            json.display().to_string(),
            format!(
                "validated copy of the metadata of the mirror from {}",
                mirror.origin
            ),
        );
        if let Some((value, place)) = &inputs.uv_own.python_install_mirror {
            plan.notes.push(format!(
                "uv applies python-install-mirror = {} (from {place}) itself, so the metadata keeps the upstream URL prefix for CPython",
                crate::redact::url(value)
            ));
        }
        if let Some(pypy) = pypy_mirror {
            offer(
                plan,
                EnvVars::UV_PYPY_INSTALL_MIRROR,
                pypy.value.clone(),
                format!(
                    "pypy-mirror from {}; PyPy entries keep the upstream prefix",
                    pypy.origin
                ),
            );
        }
        return;
    }
    // The mirror variables: old uv, or no copy of the metadata to hand over.
    if !inputs.reads_json_url {
        plan.notes.push(format!(
            "this uv predates {} (0.6.13): it gets the mirror variables and its built-in download list",
            EnvVars::UV_PYTHON_DOWNLOADS_JSON_URL
        ));
    } else {
        plan.notes.push(
            "no validated copy of the mirror's metadata: uv gets the mirror variables and its built-in download list".into(),
        );
    }
    let Some(base) = mirror.bases.first() else {
        plan.notes.push(
            "the mirror source names only metadata, no mirror base: nothing to hand over".into(),
        );
        return;
    };
    plan.scheme = Scheme::MirrorVariables;
    if let Some((value, place)) = &inputs.uv_own.python_install_mirror {
        plan.notes.push(format!(
            "uv applies python-install-mirror = {} (from {place}) itself",
            crate::redact::url(value)
        ));
    } else {
        offer(
            plan,
            EnvVars::UV_PYTHON_INSTALL_MIRROR,
            crate::urls::mirror_value(base),
            format!("mirror from {}", mirror.origin),
        );
    }
    if inputs.uv_own.pypy_install_mirror.is_none() {
        let (value, why) = match pypy_mirror {
            Some(pypy) => (
                pypy.value.clone(),
                format!("pypy-mirror from {}", pypy.origin),
            ),
            None => (
                format!("{}/pypy", crate::urls::mirror_value(base)),
                format!("the pypy/ folder of the mirror from {}", mirror.origin),
            ),
        };
        offer(plan, EnvVars::UV_PYPY_INSTALL_MIRROR, value, why);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::MetadataPlan;
    use crate::settings::{Layer, Origin, Sourced};

    fn mirror() -> Chosen {
        let base = url::Url::parse("https://m.example/uv/").unwrap();
        Chosen {
            origin: Origin::Default,
            metadata: MetadataPlan::Fetch(vec![crate::urls::metadata_url_of(&base)]),
            bases: vec![base],
        }
    }

    fn settings() -> Settings {
        let mut s = Settings::resolve(Layer::default(), None, None);
        s.layer.index_url = Some(Sourced::new(
            "https://m.example/simple".into(),
            Origin::Default,
        ));
        s
    }

    fn names(plan: &Plan) -> Vec<&str> {
        plan.to_set().map(|(n, _)| n).collect()
    }

    #[test]
    fn new_uv_gets_metadata_only() {
        let no_env = |_: &str| None;
        let s = settings();
        let m = mirror();
        let own = UvOwn::default();
        let plan = build(&Inputs {
            env: &no_env,
            settings: &s,
            mirror: Some(&m),
            uv_own: &own,
            reads_json_url: true,
            metadata: Some(Path::new("/c/x.json")),
        });
        assert_eq!(plan.scheme, Scheme::Metadata);
        assert_eq!(
            names(&plan),
            [
                EnvVars::UV_PYTHON_DOWNLOADS_JSON_URL,
                EnvVars::UV_DEFAULT_INDEX
            ]
        );
    }

    #[test]
    fn old_uv_gets_mirror_variables_only() {
        let no_env = |_: &str| None;
        let s = settings();
        let m = mirror();
        let own = UvOwn::default();
        let plan = build(&Inputs {
            env: &no_env,
            settings: &s,
            mirror: Some(&m),
            uv_own: &own,
            reads_json_url: false,
            metadata: Some(Path::new("/c/x.json")),
        });
        assert_eq!(plan.scheme, Scheme::MirrorVariables);
        let set: Vec<_> = plan.to_set().collect();
        assert!(set.contains(&(EnvVars::UV_PYTHON_INSTALL_MIRROR, "https://m.example/uv")));
        assert!(set.contains(&(EnvVars::UV_PYPY_INSTALL_MIRROR, "https://m.example/uv/pypy")));
        assert!(!names(&plan).contains(&EnvVars::UV_PYTHON_DOWNLOADS_JSON_URL));
    }

    #[test]
    fn user_values_win() {
        let env = |name: &str| match name {
            "UV_PYTHON_DOWNLOADS_JSON_URL" => Some("/mine.json".to_string()),
            "UV_INDEX_URL" => Some("https://mine.example/simple".to_string()),
            _ => None,
        };
        let s = settings();
        let m = mirror();
        let own = UvOwn::default();
        let plan = build(&Inputs {
            env: &env,
            settings: &s,
            mirror: Some(&m),
            uv_own: &own,
            reads_json_url: true,
            metadata: Some(Path::new("/c/x.json")),
        });
        assert_eq!(plan.scheme, Scheme::LeftToUv);
        assert!(names(&plan).is_empty());
        assert_eq!(plan.vars.iter().filter(|v| !v.set).count(), 2);
    }
}
