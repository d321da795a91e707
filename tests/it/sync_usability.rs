//! `mirror sync` as an admin meets it: a comma in `--python` reads as in
//! every other filter, a filtered sync takes only what was asked for and
//! its header says what it takes, and a dry run against a host that never
//! answers ends soon and claims no size it does not know.

use std::collections::BTreeSet;

use crate::common::World;
use crate::common::env::{assert_failure, assert_success, stderr, stdout};
use crate::common::sync::{listed, sync};
use crate::common::upstream::{Download, Spec, Upstream};

fn rels(files: &[&Download]) -> BTreeSet<String> {
    files.iter().map(|f| f.rel.clone()).collect()
}

/// An upstream of three CPython minors, a PyPy and a GraalPy of 3.12.
fn mixed_upstream() -> (Upstream, Vec<Download>) {
    let mut up = Upstream::new();
    let files = vec![
        up.add(Spec::cpython("3.11.9", "20240814")),
        up.add(Spec::cpython("3.12.8", "20250115")),
        up.add(Spec::cpython("3.13.1", "20250115")),
        up.add(Spec {
            name: "pypy",
            build: "7.3.17",
            ..Spec::cpython("3.12.7", "")
        }),
        up.add(Spec {
            name: "graalpy",
            build: "24.1.1",
            ..Spec::cpython("3.12.0", "")
        }),
    ];
    (up, files)
}

#[test]
fn a_comma_in_python_means_or_and_a_mixed_one_is_refused_with_the_fix() {
    let world = World::builder().build();
    let env = &world.env;
    let (up, f) = mixed_upstream();
    let from = up.publish();
    let dest = env.root().join("mirror");

    let output = sync(env, &dest, &from, &["--dry-run", "--python", "3.12,3.13"]);
    assert_success(&output);
    assert_eq!(
        listed(&output),
        rels(&[&f[1], &f[2]]),
        "{}",
        stdout(&output)
    );
    // A comma inside a range still joins its bounds.
    let output = sync(
        env,
        &dest,
        &from,
        &["--dry-run", "--python", ">=3.12,<3.13"],
    );
    assert_success(&output);
    assert_eq!(listed(&output), rels(&[&f[1]]), "{}", stdout(&output));

    let mixed = sync(env, &dest, &from, &["--dry-run", "--python", "3.12,>=3.13"]);
    assert_eq!(mixed.status.code(), Some(2), "{}", stderr(&mixed));
    assert!(
        stderr(&mixed).contains("--python 3.12 --python '>=3.13'"),
        "the error shows the fix: {}",
        stderr(&mixed)
    );
}

#[test]
fn a_filtered_sync_takes_cpython_only_and_its_header_names_what_it_takes() {
    let world = World::builder().build();
    let env = &world.env;
    let (up, f) = mixed_upstream();
    let from = up.publish();
    let dest = env.root().join("mirror");

    // GraalPy and PyPy of 3.12 stay out unless named.
    let output = sync(env, &dest, &from, &["--dry-run", "--python", "3.12"]);
    assert_success(&output);
    assert_eq!(listed(&output), rels(&[&f[1]]), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("taking 1 downloads from")
            && stderr(&output)
                .contains(": cpython 1 (cpython only: the default when a filter is given"),
        "{}",
        stderr(&output)
    );

    let output = sync(
        env,
        &dest,
        &from,
        &[
            "--dry-run",
            "--python",
            "3.12",
            "--implementation",
            "cpython,graalpy",
        ],
    );
    assert_success(&output);
    assert_eq!(
        listed(&output),
        rels(&[&f[1], &f[4]]),
        "{}",
        stdout(&output)
    );
    assert!(
        stderr(&output).contains(": cpython 1, graalpy 1\n"),
        "{}",
        stderr(&output)
    );

    // No filter at all: a full mirror, every implementation.
    let output = sync(env, &dest, &from, &["--dry-run"]);
    assert_success(&output);
    assert_eq!(listed(&output).len(), 5, "{}", stdout(&output));
    assert!(
        stderr(&output).contains(": cpython 3, pypy 1, graalpy 1\n"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_dry_run_stops_asking_a_silent_host_and_says_the_sizes_are_unknown() {
    use std::time::{Duration, Instant};

    let world = World::builder().build();
    let env = &world.env;
    // A host that never answers: the kernel completes the connections into
    // the listen queue, and nobody ever accepts or reads them.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut up = Upstream::new();
    let versions: Vec<String> = (0..20).map(|patch| format!("3.12.{patch}")).collect();
    for version in &versions {
        let version: &'static str = Box::leak(version.clone().into_boxed_str());
        let d = up.add(Spec::cpython(version, "20250115"));
        let url = format!(
            "http://{}/astral-sh/python-build-standalone/releases/download/20250115/{}",
            silent.local_addr().unwrap(),
            d.rel.rsplit('/').next().unwrap().replace('+', "%2B")
        );
        up.tamper(&d.key, "url", serde_json::Value::String(url));
    }
    let from = up.publish();
    let dest = env.root().join("mirror");

    let started = Instant::now();
    let output = sync(
        env,
        &dest,
        &from,
        &["--dry-run", "--timeout", "1s", "--jobs", "2"],
    );
    let took = started.elapsed();
    // The figure docs/faults.md quotes.
    eprintln!("dry run of 20 files against a silent host: {took:?}");
    // Unbounded, 20 files at one 1 s timeout each on two workers take 10 s.
    assert!(took < Duration::from_secs(6), "took {took:?}");
    assert_failure(&output);
    let out = stdout(&output);
    assert!(
        out.contains("dry run: would fetch 20 files, sizes unknown, into"),
        "{out}"
    );
    assert!(!out.contains(" 0 B"), "{out}");
    // Two workers may both fail while the count is at two: three or four.
    assert!(
        out.contains("size unknown: not asked: ")
            && out.contains(" connections to 127.0.0.1 failed"),
        "{out}"
    );
}
