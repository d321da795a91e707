//! How `uv-shim mirror sync` downloads, told as stories against an upstream
//! on 127.0.0.1 that misbehaves: a wrong hash, a cut connection, part files
//! left by an earlier run, server errors, credentials in URLs, the number of
//! parallel jobs, and Ctrl-C in the middle.

use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::World;
use crate::common::env::{assert_failure, assert_success, stderr, stdout, wait_with_timeout};
use crate::common::http::Fault;
use crate::common::mirror::sha256_hex;
use crate::common::sync::{files_in, keys, metadata, set, sync};
use crate::common::upstream::{Download, Drip, Spec, Upstream, bytes};

#[test]
fn a_wrong_hash_is_deleted_and_reported_with_both_hashes() {
    let world = World::builder().build();
    let env = &world.env;
    let mut up = Upstream::new();
    let good = up.add(Spec::cpython("3.12.8", "20250115"));
    let bad = up.add(Spec::cpython("3.11.11", "20250115"));
    let wrong = "0".repeat(64);
    up.tamper(&bad.key, "sha256", json!(wrong));
    let from = up.publish();
    let dest = env.root().join("mirror");

    let output = sync(env, &dest, &from, &[]);
    assert_failure(&output);
    let err = stderr(&output);
    assert!(err.contains("checksum mismatch"), "{err}");
    assert!(
        err.contains(&up.server.url(&bad.served.replace('+', "%2B"))),
        "names the URL: {err}"
    );
    assert!(
        err.contains(&wrong) && err.contains(&bad.sha256),
        "names both hashes: {err}"
    );
    assert!(stdout(&output).contains("1 failed"), "{}", stdout(&output));

    assert_eq!(
        files_in(&dest),
        set(["download-metadata.json", &good.rel]),
        "no file, no part file"
    );
    assert_eq!(keys(&metadata(&dest)), set([good.key.as_str()]));
    let gets = up
        .downloads()
        .into_iter()
        .filter(|r| r.path == bad.served)
        .count();
    assert_eq!(gets, 1, "a mismatch from scratch is not retried");
}

#[test]
fn a_cut_connection_resumes_from_the_offset_with_a_range_request() {
    let world = World::builder().build();
    let env = &world.env;
    let mut up = Upstream::new();
    let big = up.add(Spec {
        size: 300_000,
        ..Spec::cpython("3.12.8", "20250115")
    });
    up.server
        .set_fault(Some(&big.served), Fault::CutOnce { after: 100_000 });
    let from = up.publish();
    let dest = env.root().join("mirror");

    let output = sync(env, &dest, &from, &[]);
    assert_success(&output);
    let gets = up.downloads();
    assert_eq!(gets.len(), 2, "{gets:#?}");
    assert_eq!(gets[0].range, None);
    assert_eq!(gets[1].range.as_deref(), Some("bytes=100000-"), "{gets:#?}");
    assert_eq!(gets[1].status, Some(206));
    assert!(stderr(&output).contains("retrying"), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("resumed at byte 100000"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        sha256_hex(&std::fs::read(dest.join(&big.rel)).unwrap()),
        big.sha256
    );
    assert_eq!(keys(&metadata(&dest)), set([big.key.as_str()]));
}

#[test]
fn leftover_part_files_are_finished_or_replaced() {
    let world = World::builder().build();
    let env = &world.env;
    let mut up = Upstream::new();
    let whole = up.add(Spec::cpython("3.12.8", "20250115"));
    let stale = up.add(Spec::cpython("3.11.11", "20250115"));
    let from = up.publish();
    let dest = env.root().join("mirror");
    let www = up.dir.path().join("www");
    let part_of = |file: &Download| dest.join(format!("{}.part", file.rel));
    std::fs::create_dir_all(dest.join("20250115")).unwrap();
    // A run killed between the last byte and the rename…
    std::fs::copy(
        www.join(whole.served.trim_start_matches('/')),
        part_of(&whole),
    )
    .unwrap();
    // …and one whose upstream file changed since: its first half no longer fits.
    std::fs::write(part_of(&stale), bytes(99, 700)).unwrap();

    let output = sync(env, &dest, &from, &[]);
    assert_success(&output);
    let gets = up.downloads();
    let of = |file: &Download| -> Vec<(Option<String>, Option<u16>)> {
        gets.iter()
            .filter(|r| r.path == file.served)
            .map(|r| (r.range.clone(), r.status))
            .collect()
    };
    // Nothing left to send: 416, and the part file is the download.
    assert_eq!(of(&whole), [(Some("bytes=2000-".to_string()), Some(416))]);
    // The resumed file fails its hash, so it is fetched once more from scratch.
    assert_eq!(
        of(&stale),
        [
            (Some("bytes=700-".to_string()), Some(206)),
            (None, Some(200))
        ]
    );
    for file in [&whole, &stale] {
        assert_eq!(
            sha256_hex(&std::fs::read(dest.join(&file.rel)).unwrap()),
            file.sha256
        );
        assert!(!part_of(file).exists());
    }
    assert_eq!(metadata(&dest).len(), 2);
}

#[test]
fn server_errors_are_retried_but_a_404_is_not() {
    let world = World::builder().build();
    let env = &world.env;
    let mut up = Upstream::new();
    let flaky = up.add(Spec::cpython("3.12.8", "20250115"));
    let gone = up.add(Spec::cpython("3.11.11", "20250115"));
    up.server.set_fault(
        Some(&flaky.served),
        Fault::FailTimes {
            times: 2,
            status: 503,
        },
    );
    up.server.set_fault(Some(&gone.served), Fault::Status(404));
    let from = up.publish();
    let dest = env.root().join("mirror");

    let output = sync(env, &dest, &from, &[]);
    assert_failure(&output);
    let gets = up.downloads();
    let flaky_gets: Vec<Option<u16>> = gets
        .iter()
        .filter(|r| r.path == flaky.served)
        .map(|r| r.status)
        .collect();
    assert_eq!(flaky_gets, [Some(503), Some(503), Some(200)]);
    assert_eq!(
        gets.iter().filter(|r| r.path == gone.served).count(),
        1,
        "404 is final"
    );
    let err = stderr(&output);
    assert_eq!(err.matches("retrying").count(), 2, "{err}");
    assert!(err.contains("answered HTTP 404"), "{err}");
    assert!(
        err.contains(&up.server.url(&gone.served.replace('+', "%2B"))),
        "{err}"
    );
    // The good one is in; the missing one neither listed nor left as a part file.
    assert_eq!(files_in(&dest), set(["download-metadata.json", &flaky.rel]));
    assert_eq!(keys(&metadata(&dest)), set([flaky.key.as_str()]));
}

#[test]
fn credentials_in_urls_are_used_but_never_printed() {
    let world = World::builder().build();
    let env = &world.env;
    let mut up = Upstream::new();
    let good = up.add(Spec::cpython("3.12.8", "20250115"));
    let gone = up.add(Spec::cpython("3.11.11", "20250115"));
    up.server.set_fault(Some(&gone.served), Fault::Status(404));
    let with_secret = |url: &str| url.replace("http://", "http://alice:s3cret@");
    for file in [&good, &gone] {
        let url = with_secret(&up.server.url(&file.served.replace('+', "%2B")));
        up.tamper(&file.key, "url", json!(url));
    }
    let from = with_secret(&up.publish());
    let dest = env.root().join("mirror");

    let dry = sync(env, &dest, &from, &["--dry-run"]);
    let real = sync(env, &dest, &from, &[]);
    assert_failure(&real);
    for output in [&dry, &real] {
        let all = format!("{}{}", stdout(output), stderr(output));
        assert!(!all.contains("s3cret"), "{all}");
        assert!(all.contains("http://****@127.0.0.1"), "{all}");
    }
    let gets = up.downloads();
    assert!(
        gets.iter().all(|r| r.header("authorization").is_some()),
        "{gets:#?}"
    );
    assert_eq!(keys(&metadata(&dest)), set([good.key.as_str()]));
}

#[test]
fn jobs_bound_the_parallel_downloads() {
    let world = World::builder().build();
    let env = &world.env;
    let mut up = Upstream::new();
    let mut files = Vec::new();
    for (n, version) in ["3.12.8", "3.12.7", "3.12.6", "3.12.5"]
        .into_iter()
        .enumerate()
    {
        let file = up.add(Spec::cpython(version, "20250115"));
        up.server.set_fault(
            Some(&file.served),
            Fault::Delay(Duration::from_millis(1500)),
        );
        files.push((n, file));
    }
    let from = up.publish();
    let dest = env.root().join("mirror");
    let mut child = env
        .shim()
        .args(["mirror", "sync", "--jobs", "2", "--dest"])
        .arg(&dest)
        .args(["--from", &from])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while up.downloads().len() < 2 {
        assert!(Instant::now() < deadline, "no downloads started");
        thread::sleep(Duration::from_millis(20));
    }
    thread::sleep(Duration::from_millis(300));
    assert_eq!(up.downloads().len(), 2, "two jobs, two downloads at a time");
    assert!(child.wait().unwrap().success());
    assert_eq!(up.downloads().len(), 4);
    assert_eq!(metadata(&dest).len(), 4);
}

#[test]
#[cfg(unix)]
fn ctrl_c_leaves_a_consistent_mirror_and_the_next_run_resumes() {
    let world = World::builder().build();
    let env = &world.env;
    let mut up = Upstream::new();
    let quick = up.add(Spec::cpython("3.12.8", "20250115"));
    let slow = up.add(Spec {
        size: 200_000,
        ..Spec::cpython("3.11.11", "20250115")
    });
    let body = std::fs::read(
        up.dir
            .path()
            .join("www")
            .join(slow.served.trim_start_matches('/')),
    )
    .unwrap();
    let drip = Drip::start(body, 50_000);
    // The first run gets the slow file from the stalling server.
    up.tamper(
        &slow.key,
        "url",
        json!(format!(
            "{}{}",
            drip.url_base,
            slow.served.replace('+', "%2B")
        )),
    );
    let from = up.publish();
    let dest = env.root().join("mirror");

    let child = env
        .shim()
        .args(["mirror", "sync", "--dest"])
        .arg(&dest)
        .args(["--from", &from])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let part = dest.join(format!("{}.part", slow.rel));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(dest.join(&quick.rel).is_file()
        && std::fs::metadata(&part).is_ok_and(|m| m.len() == 50_000))
    {
        assert!(Instant::now() < deadline, "the downloads did not get going");
        thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: a plain kill(2) on our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let stopped = Instant::now();
    let output = wait_with_timeout(child, "the interrupted sync", Duration::from_secs(15));
    assert!(
        stopped.elapsed() < Duration::from_secs(5),
        "Ctrl-C took {:?}",
        stopped.elapsed()
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("interrupted"),
        "{}",
        stderr(&output)
    );
    // Consistent: the metadata lists the verified file only; the part file waits.
    assert_eq!(keys(&metadata(&dest)), set([quick.key.as_str()]));
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 50_000);
    assert!(!dest.join(&slow.rel).exists());
    drop(drip);

    // The next run, from a healthy server, continues where the first stopped.
    up.tamper(
        &slow.key,
        "url",
        json!(up.server.url(&slow.served.replace('+', "%2B"))),
    );
    let from = up.publish();
    up.server.clear_log();
    let output = sync(env, &dest, &from, &[]);
    assert_success(&output);
    let gets = up.downloads();
    assert_eq!(gets.len(), 1, "{gets:#?}");
    assert_eq!(gets[0].path, slow.served);
    assert_eq!(gets[0].range.as_deref(), Some("bytes=50000-"));
    assert_eq!(
        sha256_hex(&std::fs::read(dest.join(&slow.rel)).unwrap()),
        slow.sha256
    );
    assert_eq!(
        keys(&metadata(&dest)),
        set([quick.key.as_str(), slow.key.as_str()])
    );
    assert!(!part.exists());
}
