//! Which builds `uv-shim mirror sync` chooses from an upstream list: the
//! filters (`--python`, `--implementation`, `--os`, `--arch`, `--libc`,
//! `--variant`, `--latest-patch`), told through `--dry-run`, which asks for
//! sizes only and writes nothing; and what it says when nothing matches or
//! an option is wrong.

use std::collections::BTreeSet;

use crate::common::World;
use crate::common::env::{assert_failure, assert_success, stderr, stdout};
use crate::common::sync::{listed, set, sync};
use crate::common::upstream::{Download, Spec, Upstream};

#[test]
fn filters_and_dry_run_choose_without_touching_anything() {
    let world = World::builder().build();
    let env = &world.env;
    let mut up = Upstream::new();
    let p = |version, build| Spec {
        size: 300,
        ..Spec::cpython(version, build)
    };
    let a = up.add(p("3.11.9", "20240814"));
    let b = up.add(p("3.11.11", "20250115"));
    let c = up.add(p("3.12.7", "20241016"));
    let d = up.add(p("3.12.8", "20250115"));
    let e = up.add(Spec {
        os: "darwin",
        arch: "aarch64",
        libc: "none",
        ..p("3.12.8", "20250115")
    });
    let f = up.add(Spec {
        libc: "musl",
        ..p("3.12.8", "20250115")
    });
    let g = up.add(Spec {
        variant: Some("freethreaded"),
        ..p("3.13.1", "20250115")
    });
    let h = up.add(Spec {
        arch: "x86_64_v3",
        ..p("3.12.8", "20250115")
    });
    let i = up.add(p("3.14.0rc2", "20250115"));
    let j = up.add(Spec {
        name: "pypy",
        build: "7.3.17",
        ..p("3.10.14", "")
    });
    let from = up.publish();
    let dest = env.root().join("mirror");

    let dry = |args: &[&str]| {
        let mut all = vec!["--dry-run"];
        all.extend_from_slice(args);
        let output = sync(env, &dest, &from, &all);
        assert_success(&output);
        listed(&output)
    };
    let rels = |files: &[&Download]| files.iter().map(|f| f.rel.clone()).collect::<BTreeSet<_>>();

    let everything = sync(env, &dest, &from, &["--dry-run"]);
    assert_success(&everything);
    assert_eq!(listed(&everything).len(), 10);
    // Sizes come from HEAD; the total is summed.
    assert!(
        stdout(&everything).contains(&format!("  {}  (300 B)  http://", a.rel)),
        "{}",
        stdout(&everything)
    );
    assert!(
        stdout(&everything).contains("would fetch 10 files, 2.93 KiB"),
        "{}",
        stdout(&everything)
    );

    assert_eq!(dry(&["--python", "3.12"]), rels(&[&c, &d, &e, &f, &h]));
    assert_eq!(
        dry(&["--python", "3.12.8", "--os", "linux", "--libc", "gnu"]),
        rels(&[&d, &h])
    );
    assert_eq!(dry(&["--python", ">=3.11,<3.12"]), rels(&[&a, &b]));
    assert_eq!(
        dry(&["--python", "3.11.9", "--python", "3.14"]),
        rels(&[&a, &i])
    );
    assert_eq!(dry(&["--python", ">=3.13"]), rels(&[&g, &i]));
    assert_eq!(dry(&["--implementation", "pypy"]), rels(&[&j]));
    assert_eq!(dry(&["--os", "macos"]), rels(&[&e]));
    assert_eq!(dry(&["--arch", "x86_64_v3"]), rels(&[&h]));
    assert_eq!(
        dry(&["--arch", "x86_64*", "--libc", "gnu", "--python", "3.12.8"]),
        rels(&[&d, &h])
    );
    assert_eq!(dry(&["--variant", "freethreaded"]), rels(&[&g]));
    assert_eq!(
        dry(&[
            "--latest-patch",
            "--implementation",
            "cpython",
            "--os",
            "linux",
            "--libc",
            "gnu",
            "--arch",
            "x86_64",
            "--variant",
            "default"
        ]),
        rels(&[&b, &d, &i])
    );

    // The dry runs asked for sizes only, and wrote nothing.
    assert!(up.downloads().is_empty(), "{:#?}", up.downloads());
    assert!(up.server.requests().iter().any(|r| r.method == "HEAD"));
    assert!(!dest.exists(), "a dry run creates nothing");

    let none = sync(env, &dest, &from, &["--python", "2.7"]);
    assert_failure(&none);
    assert!(
        stderr(&none).contains("matches the filters"),
        "{}",
        stderr(&none)
    );
    assert!(
        stderr(&none).contains("implementations: cpython, pypy"),
        "{}",
        stderr(&none)
    );

    let bad = sync(env, &dest, &from, &["--python", "three"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    let offline_remote = sync(env, &dest, &from, &["--offline"]);
    assert_eq!(
        offline_remote.status.code(),
        Some(2),
        "{}",
        stderr(&offline_remote)
    );
    assert!(
        stderr(&offline_remote).contains("--offline"),
        "{}",
        stderr(&offline_remote)
    );
}

#[test]
fn latest_patch_prefers_a_final_release_over_its_release_candidate() {
    let world = World::builder().build();
    let env = &world.env;
    let mut up = Upstream::new();
    up.add(Spec::cpython("3.14.0rc2", "20250115"));
    let fin = up.add(Spec::cpython("3.14.0", "20250201"));
    let from = up.publish();
    let output = sync(
        env,
        &env.root().join("m"),
        &from,
        &["--dry-run", "--latest-patch"],
    );
    assert_success(&output);
    assert_eq!(listed(&output), set([fin.rel.as_str()]));
}
