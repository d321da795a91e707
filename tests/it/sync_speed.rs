//! How fast `uv-shim mirror sync` moves bytes, told as stories: how many
//! downloads it runs at once when `--jobs` is not given, and a large file
//! streamed through the writeback path landing byte for byte.

use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::World;
use crate::common::env::assert_success;
use crate::common::http::Fault;
use crate::common::sync::{metadata, sync};
use crate::common::upstream::{Spec, Upstream};

/// Versions enough for more files than the largest default (8 jobs).
const VERSIONS: [&str; 10] = [
    "3.12.1", "3.12.2", "3.12.3", "3.12.4", "3.12.5", "3.12.6", "3.12.7", "3.12.8", "3.12.9",
    "3.12.10",
];

#[test]
fn without_jobs_a_sync_runs_two_downloads_per_cpu_between_4_and_8() {
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    let expected = (cpus * 2).clamp(4, 8);
    let world = World::builder().build();
    let env = &world.env;
    let mut up = Upstream::new();
    // Two more files than jobs: the last two must wait for a free job.
    for version in &VERSIONS[..expected + 2] {
        let file = up.add(Spec::cpython(version, "20250115"));
        up.server.set_fault(
            Some(&file.served),
            Fault::Delay(Duration::from_millis(1500)),
        );
    }
    let from = up.publish();
    let dest = env.root().join("mirror");
    let mut child = env
        .shim()
        .args(["mirror", "sync", "--dest"])
        .arg(&dest)
        .args(["--from", &from])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while up.downloads().len() < expected {
        assert!(
            Instant::now() < deadline,
            "{} of {expected} downloads started",
            up.downloads().len()
        );
        thread::sleep(Duration::from_millis(20));
    }
    thread::sleep(Duration::from_millis(300));
    assert_eq!(
        up.downloads().len(),
        expected,
        "{cpus} CPUs: {expected} downloads at a time"
    );
    assert!(child.wait().unwrap().success());
    assert_eq!(up.downloads().len(), expected + 2);
    assert_eq!(metadata(&dest).len(), expected + 2);
}

#[test]
fn a_file_of_many_writeback_steps_lands_byte_for_byte() {
    let world = World::builder().build();
    let env = &world.env;
    let mut up = Upstream::new();
    // 8 MiB steps: several full ones and a partial one at the end.
    let big = up.add(Spec {
        size: 37 * 1024 * 1024 + 123,
        ..Spec::cpython("3.12.8", "20250115")
    });
    let from = up.publish();
    let dest = env.root().join("mirror");

    let output = sync(env, &dest, &from, &[]);
    assert_success(&output);
    let served = std::fs::read(
        up.dir
            .path()
            .join("www")
            .join(big.served.trim_start_matches('/')),
    )
    .unwrap();
    let landed = std::fs::read(dest.join(&big.rel)).unwrap();
    assert_eq!(landed.len(), served.len());
    assert!(
        landed == served,
        "the mirror's copy differs from upstream's"
    );
    assert_eq!(metadata(&dest)[&big.key]["sha256"], big.sha256.as_str());
}

/// A server that answers two requests at a time and tells the others it
/// is busy (429, then 503 in a second run, with `Retry-After`): the sync
/// runs fewer downloads at once for the rest of the run, says so once,
/// and ends with every file, byte for byte.
#[test]
fn a_busy_server_gets_fewer_downloads_at_once_and_the_sync_completes() {
    let world = World::builder().build();
    let env = &world.env;
    for status in [429, 503] {
        let mut up = Upstream::new();
        let files: Vec<_> = VERSIONS
            .iter()
            .map(|version| {
                up.add(Spec {
                    size: 200_000,
                    ..Spec::cpython(version, "20250115")
                })
            })
            .collect();
        let from = up.publish();
        up.server.set_fault(
            None,
            Fault::Busy {
                max: 2,
                status,
                retry_after: 1,
                hold: Duration::from_millis(200),
            },
        );
        let dest = env.root().join(format!("mirror-{status}"));
        let output = sync(env, &dest, &from, &["--jobs", "8"]);
        assert_success(&output);
        let refused = up
            .server
            .requests()
            .iter()
            .filter(|r| r.status == Some(status))
            .count();
        assert!(refused > 0, "the server never said it was busy");
        let out = String::from_utf8_lossy(&output.stdout);
        let said: Vec<&str> = out
            .lines()
            .filter(|l| l.contains("answered busy"))
            .collect();
        assert_eq!(said.len(), 1, "{out}");
        let now: usize = said[0]
            .split("ran ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{}", said[0]));
        assert!((1..=2).contains(&now), "{}", said[0]);
        assert!(said[0].contains("8 downloads at once"), "{}", said[0]);
        for file in &files {
            let served = std::fs::read(
                up.dir
                    .path()
                    .join("www")
                    .join(file.served.trim_start_matches('/')),
            )
            .unwrap();
            assert!(std::fs::read(dest.join(&file.rel)).unwrap() == served);
        }
        assert_eq!(metadata(&dest).len(), files.len());
    }
}
