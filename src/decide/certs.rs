//! The certificate part of the decision: whether uv is told to trust the
//! platform's certificate store (`UV_SYSTEM_CERTS`, before uv 0.11.0
//! `UV_NATIVE_TLS`), so that uv trusts the mirror the shim trusted.
//!
//! Most of it is known before anything is fetched: the user's own variables,
//! `system-certs = true | false`, a CA bundle named by `SSL_CERT_FILE` or
//! `SSL_CERT_DIR` (which uv and the shim both read, and which replaces every
//! other root), a mirror that is not https. What is left, `auto` with an
//! https mirror, waits for what the last fetch learnt about the mirror's
//! certificate ([`Trust`], kept in the copy's state record), so a warm call
//! replays the answer without any TLS.

use super::{Facts, Handover, Var};
use crate::env_vars::EnvVars;
use crate::metadata::tls::Trust;
use crate::settings::{MetadataSource, SystemCerts};

/// What uv is told about certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Certs {
    /// Nothing; the note (for `doctor`) says why, when worth saying.
    Nothing(Option<String>),
    /// The user's own variables stay.
    Kept(Vec<Var>),
    /// `var` is set, for the reason given.
    Set {
        /// `UV_SYSTEM_CERTS` or `UV_NATIVE_TLS`.
        var: &'static str,
        /// Why.
        why: String,
    },
    /// `auto` with an https mirror: `var` is set when only the platform
    /// store vouched for the mirror on the last fetch.
    Auto {
        /// `UV_SYSTEM_CERTS` or `UV_NATIVE_TLS`.
        var: &'static str,
    },
}

/// The value that turns uv's flag on.
const ON: &str = "1";

/// Decides what can be decided before the fetch.
pub(super) fn decide(facts: &Facts) -> Certs {
    let env = facts.env;
    let kept: Vec<Var> = [EnvVars::UV_SYSTEM_CERTS, EnvVars::UV_NATIVE_TLS]
        .into_iter()
        .filter_map(|name| {
            env(name).map(|value| Var {
                name,
                value,
                set: false,
                why: "set by the user; left alone".into(),
            })
        })
        .collect();
    if !kept.is_empty() {
        return Certs::Kept(kept);
    }
    let layer = &facts.settings.layer;
    // Nothing to hand over, nothing to trust: pass-through stays untouched.
    if layer.mirror.is_none() && layer.index_url.is_none() && layer.astral_mirror.is_none() {
        return Certs::Nothing(None);
    }
    let mode = &facts.settings.system_certs;
    let var = facts.system_certs_var;
    match mode.value {
        SystemCerts::Never => Certs::Nothing(Some(format!(
            "system-certs = false (from {}): uv keeps the roots it bundles",
            mode.origin
        ))),
        SystemCerts::Always => Certs::Set {
            var,
            why: format!("system-certs = true from {}", mode.origin),
        },
        SystemCerts::Auto => {
            if let Some(name) = [EnvVars::SSL_CERT_FILE, EnvVars::SSL_CERT_DIR]
                .into_iter()
                .find(|name| env(name).is_some())
            {
                return Certs::Nothing(Some(format!(
                    "{name} is set: uv and the shim both trust only that bundle, so {var} would change nothing"
                )));
            }
            if https_mirror(facts) {
                Certs::Auto { var }
            } else {
                Certs::Nothing(None)
            }
        }
    }
}

/// Whether any of the mirror's URLs is https.
fn https_mirror(facts: &Facts) -> bool {
    let Some(mirror) = &facts.settings.layer.mirror else {
        return false;
    };
    let metadata = match &mirror.value.metadata {
        MetadataSource::Fetch(urls) => urls.as_slice(),
        MetadataSource::UvReadsItself(_) | MetadataSource::Unpublished => &[],
    };
    mirror
        .value
        .bases
        .iter()
        .chain(metadata)
        .any(|url| url.scheme() == "https")
}

impl Certs {
    /// Carries it out: `trust` is what vouched for the mirror on the last fetch.
    pub(super) fn apply(&self, handover: &mut Handover, trust: Option<Trust>) {
        let auto = "system-certs = auto";
        match self {
            Certs::Nothing(note) => handover.notes.extend(note.clone()),
            Certs::Kept(vars) => handover.vars.extend(vars.iter().cloned()),
            Certs::Set { var, why } => handover.vars.push(Var {
                name: var,
                value: ON.into(),
                set: true,
                why: why.clone(),
            }),
            Certs::Auto { var } => match trust {
                Some(Trust::SystemStore) => handover.vars.push(Var {
                    name: var,
                    value: ON.into(),
                    set: true,
                    why: format!(
                        "{auto}: only the system certificate store vouched for the mirror's certificate, and uv reads that store only when told"
                    ),
                }),
                Some(Trust::Bundled) => handover.notes.push(format!(
                    "{auto}: a root that uv bundles vouched for the mirror's certificate, so {var} is not needed"
                )),
                Some(Trust::CertFile) | None => handover.notes.push(format!(
                    "{auto}: not known yet which roots vouch for the mirror's certificate (learnt on the next https fetch of its metadata); with a CA of your own and a uv that gets no metadata, set `system-certs = true`"
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::uv_toml::UvOwn;
    use crate::env_vars::Lookup;
    use crate::settings::{Layer, Mirror, Origin, Settings, Sourced};

    fn settings(base: &str, mode: SystemCerts) -> Settings {
        let mut s = Settings::resolve(Layer::default(), None, None, None);
        let base = url::Url::parse(base).unwrap();
        s.layer.mirror = Some(Sourced::new(Mirror::at(vec![base], None), Origin::Default));
        s.system_certs = Sourced::new(mode, Origin::System("/etc/uv/shim.toml".into()));
        s
    }

    /// What uv is told, for a mirror at `base`, with `env`, after a fetch that learnt `trust`.
    fn told(
        base: &str,
        mode: SystemCerts,
        env: Lookup,
        var: &'static str,
        trust: Option<Trust>,
    ) -> Handover {
        let settings = settings(base, mode);
        let certs = decide(&Facts {
            env,
            settings: &settings,
            uv_own: &UvOwn::default(),
            reads_json_url: true,
            system_certs_var: var,
        });
        let mut handover = Handover::new(super::super::Scheme::Metadata);
        certs.apply(&mut handover, trust);
        handover
    }

    fn set(handover: &Handover) -> Vec<(&str, &str)> {
        handover.to_set().collect()
    }

    const HTTPS: &str = "https://m.example/uv/";
    const SYSTEM: &str = EnvVars::UV_SYSTEM_CERTS;

    #[test]
    fn auto_sets_the_variable_only_when_only_the_system_store_vouched() {
        let none: Lookup = &|_| None;
        let only_system = told(
            HTTPS,
            SystemCerts::Auto,
            none,
            SYSTEM,
            Some(Trust::SystemStore),
        );
        assert_eq!(set(&only_system), [(SYSTEM, "1")]);
        assert!(
            only_system.vars[0]
                .why
                .contains("only the system certificate store")
        );
        let bundled = told(HTTPS, SystemCerts::Auto, none, SYSTEM, Some(Trust::Bundled));
        assert!(set(&bundled).is_empty());
        assert!(
            bundled.notes[0].contains("a root that uv bundles"),
            "{:?}",
            bundled.notes
        );
        let unknown = told(HTTPS, SystemCerts::Auto, none, SYSTEM, None);
        assert!(set(&unknown).is_empty() && unknown.notes[0].contains("not known yet"));
        // An old uv gets the old name.
        let old = told(
            HTTPS,
            SystemCerts::Auto,
            none,
            EnvVars::UV_NATIVE_TLS,
            Some(Trust::SystemStore),
        );
        assert_eq!(set(&old), [(EnvVars::UV_NATIVE_TLS, "1")]);
        // No TLS, nothing to say.
        let http = told(
            "http://m.example/uv/",
            SystemCerts::Auto,
            none,
            SYSTEM,
            Some(Trust::SystemStore),
        );
        assert!(set(&http).is_empty() && http.notes.is_empty());
    }

    #[test]
    fn a_named_bundle_adds_nothing() {
        let env = |name: &str| (name == EnvVars::SSL_CERT_FILE).then(|| "/ca.pem".to_string());
        let handover = told(
            HTTPS,
            SystemCerts::Auto,
            &env,
            SYSTEM,
            Some(Trust::CertFile),
        );
        assert!(set(&handover).is_empty());
        assert!(
            handover.notes[0].starts_with("SSL_CERT_FILE is set"),
            "{:?}",
            handover.notes
        );
    }

    #[test]
    fn the_config_key_overrides_and_the_user_wins() {
        let none: Lookup = &|_| None;
        let never = told(
            HTTPS,
            SystemCerts::Never,
            none,
            SYSTEM,
            Some(Trust::SystemStore),
        );
        assert!(set(&never).is_empty() && never.notes[0].contains("system-certs = false"));
        let always = told("http://m.example/", SystemCerts::Always, none, SYSTEM, None);
        assert_eq!(set(&always), [(SYSTEM, "1")]);
        assert!(
            always.vars[0]
                .why
                .contains("system-certs = true from system config")
        );
        let user = |name: &str| (name == EnvVars::UV_NATIVE_TLS).then(|| "false".to_string());
        let kept = told(
            HTTPS,
            SystemCerts::Always,
            &user,
            SYSTEM,
            Some(Trust::SystemStore),
        );
        assert!(set(&kept).is_empty());
        assert_eq!(kept.vars[0].name, EnvVars::UV_NATIVE_TLS);
        assert_eq!(kept.vars[0].value, "false");
    }
}
