//! Every uv of the compatibility table that reads `UV_PYTHON_DOWNLOADS_JSON_URL`
//! (0.6.13 and later), through the shim: each installs the mirror's build
//! from the validated copy the shim hands it. (uv before 0.6.13 checks the
//! hashes of the real builds compiled into it, so crafted builds can never
//! install; `old_uv.rs` shows those versions asking the mirror for exactly
//! their built-in builds.)

use crate::common::World;

/// The pinned versions, oldest first; each is installed from PyPI once.
const MATRIX: &[&str] = &["0.6.13", "0.8.24", "0.9.10", "0.11.33", "0.12.24", "0.13.9"];

#[test]
fn every_uv_from_0_6_13_on_installs_from_the_mirror() {
    for version in MATRIX {
        let world = World::builder()
            .real_uv(version)
            .mirror()
            .named_in_system_config()
            .build();
        world.install_from_mirror(&format!("uv {version}"));
        // It was the shim's validated copy that uv read.
        assert_eq!(
            world.handed_to_uv(),
            Some(world.copy_path()),
            "uv {version}"
        );
    }
}
