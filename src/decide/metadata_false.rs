//! The decision for a mirror that publishes no metadata (`metadata =
//! false`, a pull-through proxy): the mirror variables for every uv, no
//! fetch, no problem to warn about, and a note on the trade-off.

use super::*;
use crate::settings::{Layer, MetadataSource, Origin};

fn proxy_settings() -> Settings {
    let mut s = Settings::resolve(Layer::default(), None, None, None);
    let base = url::Url::parse("https://proxy.example/pbs/").unwrap();
    let mut mirror = Mirror::at(vec![base], None);
    mirror.metadata = MetadataSource::Unpublished;
    s.layer.mirror = Some(Sourced::new(mirror, Origin::Default));
    s
}

#[test]
fn a_mirror_without_metadata_gets_mirror_variables_for_every_uv() {
    let settings = proxy_settings();
    for reads_json_url in [true, false] {
        let decision = decide(&Facts {
            env: &|_| None,
            settings: &settings,
            uv_own: &UvOwn::default(),
            reads_json_url,
            system_certs_var: EnvVars::UV_SYSTEM_CERTS,
        });
        assert!(decision.fetch.is_none());
        let handover = decision.handover(None, None);
        assert_eq!(handover.scheme, Scheme::MirrorVariables);
        let set: Vec<_> = handover.to_set().collect();
        assert!(set.contains(&(
            EnvVars::UV_PYTHON_INSTALL_MIRROR,
            "https://proxy.example/pbs"
        )));
        assert!(handover.problems.is_empty());
        assert!(
            handover.notes[0].contains("built-in list"),
            "{:?}",
            handover.notes
        );
    }
}
