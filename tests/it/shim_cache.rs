//! The shim's metadata cache, seen from the `uv` face: one fetch for many
//! calls, warm calls that touch no network, revalidation with a conditional
//! request, a bad answer that never replaces the good copy, and a mirror that
//! is dead or never answers. The harder fault and concurrency cases are in
//! `faults.rs`, `cache_faults.rs` and `concurrency.rs`.
//!
//! Every test runs the built binary against the real uv from PyPI and a real
//! HTTP server on 127.0.0.1 serving a crafted mirror.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::common::World;
use crate::common::cache::metadata_copy;
use crate::common::env::{assert_failure, assert_success, run, stderr, stdout};
use crate::common::http::{Fault, dead_port};
use crate::common::mirror::{MirrorBuilder, Urls};
use crate::common::uv::UV_NEW;

#[test]
fn a_warm_call_touches_no_network() {
    let world = World::builder()
        .real_uv(UV_NEW)
        .mirror()
        .named_in_system_config()
        .build();
    let (env, mirror) = (&world.env, world.mirror());

    assert_success(&run(env.uv().arg("--version")));
    assert_eq!(mirror.metadata_requests(), 1);
    for _ in 0..3 {
        assert_success(&run(env.uv().arg("--version")));
    }
    assert_eq!(mirror.server.requests().len(), 1);
}

#[test]
fn a_stale_copy_is_revalidated_with_a_conditional_request() {
    let world = World::builder().real_uv(UV_NEW).mirror().build();
    let (env, mirror) = (&world.env, world.mirror());
    env.write_system_config(&format!("mirror = \"{}\"\nttl = \"1s\"\n", mirror.base()));

    assert_success(&run(env.uv().arg("--version")));
    let file = metadata_copy(&env.cache_dir());
    let before = std::fs::read(&file).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let output = run(env.uv().arg("--version"));
    assert_success(&output);
    assert_eq!(stderr(&output), "");

    let log = mirror.server.requests();
    assert_eq!(log.len(), 2, "{log:#?}");
    assert!(log[1].if_none_match.is_some(), "{log:#?}");
    assert_eq!(log[1].status, Some(304));
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

#[test]
fn a_bad_answer_never_replaces_the_good_copy() {
    let world = World::builder()
        .real_uv(UV_NEW)
        .mirror()
        .named_in_system_config()
        .build();
    let (env, mirror) = (&world.env, world.mirror());
    assert_success(&run(env.uv().arg("--version")));
    let file = metadata_copy(&env.cache_dir());
    let good = std::fs::read(&file).unwrap();

    // The mirror now serves an entry with a bad checksum: refresh refuses it by name.
    let mut doc = MirrorBuilder::new(&mirror.dir)
        .cpython(3, 12, 1, "20250101")
        .metadata_json(&Urls::Relative);
    let key = doc.as_object().unwrap().keys().next().unwrap().clone();
    doc[&key]["sha256"] = "not-a-hash".into();
    mirror.server.set_fault(
        Some("/uv/download-metadata.json"),
        Fault::Body(doc.to_string().into_bytes()),
    );
    let output = run(env.shim().arg("refresh"));
    assert_failure(&output);
    let message = stderr(&output);
    assert!(
        message.contains(&format!("`{key}`")) && message.contains("`sha256`"),
        "{message}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), good);

    // Not JSON at all: same story, and uv still gets the good copy.
    mirror.server.set_fault(
        Some("/uv/download-metadata.json"),
        Fault::Body(b"<html>proxy login</html>".to_vec()),
    );
    let output = run(env.shim().arg("refresh"));
    assert_failure(&output);
    assert!(
        stderr(&output).contains("not valid JSON"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read(&file).unwrap(), good);
    let vars = world.seen_by_uv().vars;
    assert_eq!(PathBuf::from(&vars["UV_PYTHON_DOWNLOADS_JSON_URL"]), file);
}

#[test]
fn an_unreachable_mirror_without_cache_warns_once_and_uv_still_runs() {
    let world = World::builder().real_uv(UV_NEW).build();
    let env = &world.env;
    let port = dead_port();
    env.write_system_config(&format!("mirror = \"http://127.0.0.1:{port}/uv/\"\n"));

    let started = Instant::now();
    let output = run(env.uv().arg("--version"));
    assert_success(&output);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let warning = stderr(&output);
    assert_eq!(warning.lines().count(), 1, "{warning}");
    assert!(
        warning.starts_with("uv-shim: warning:") && warning.contains(&port.to_string()),
        "{warning}"
    );
    assert!(stdout(&output).starts_with("uv "));

    // The failure is remembered: the next call does not wait on the dead mirror again.
    let output = run(env.uv().arg("--version"));
    assert_success(&output);
    assert_eq!(stderr(&output), "");
}

#[test]
fn a_mirror_that_never_answers_costs_a_bounded_delay() {
    let world = World::builder()
        .real_uv(UV_NEW)
        .http_timeout("1s")
        .mirror()
        .named_in_system_config()
        .build();
    let env = &world.env;
    world.server().set_fault(None, Fault::Stall);

    let started = Instant::now();
    let output = run(env.uv().arg("--version"));
    assert_success(&output);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(stderr(&output).contains("within 1s"), "{}", stderr(&output));
}

#[test]
fn fifty_parallel_calls_make_one_fetch() {
    let world = World::builder().real_uv(UV_NEW).mirror().build();
    let (env, mirror) = (&world.env, world.mirror());
    mirror.server.set_fault(
        Some("/uv/download-metadata.json"),
        Fault::Delay(Duration::from_millis(300)),
    );
    env.write_system_config(&format!("mirror = \"{}\"\n", mirror.base()));

    let children: Vec<_> = (0..50)
        .map(|_| {
            env.uv()
                .arg("--version")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert_success(&output);
        assert_eq!(stderr(&output), "");
    }
    assert_eq!(mirror.metadata_requests(), 1);
    // Exactly one whole copy, no debris of interrupted writes.
    let cached = metadata_copy(&env.cache_dir());
    let _: serde_json::Value = serde_json::from_slice(&std::fs::read(&cached).unwrap()).unwrap();
}
