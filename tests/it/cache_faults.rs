//! A cache that cannot be written, is full, damaged or locked never breaks `uv`.
//!
//! Each story breaks the shim's cache in one way and shows that `uv` still
//! runs (with one warning that names the path and the reason when the shim
//! cannot do its job), that uv is never handed a damaged file, and that the
//! shim heals on the next good fetch once the cause is gone:
//!
//! * a cache dir that cannot be a directory (it lies under a regular file);
//! * a read-only home holding the default cache dir (a read-only tmpfs);
//! * a full disk while a new document is written (a 64 KiB tmpfs);
//! * a truncated cache file, garbage in the state file, and a state file
//!   from the future (the clock went back);
//! * a lock held by a `uv` killed with SIGKILL in the middle of a fetch.
//!
//! Tests run as root, where permission bits stop no write, so unwritable
//! places are made with mounts (`mount -t tmpfs`), removed again on drop.
//! Those stories run on Linux only. When not root, or when mounting fails,
//! they fail under CI and are a visible skip elsewhere ([`crate::common::skip`]).

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::World;
use crate::common::env::{assert_success, run, stderr};
use crate::common::http::Fault;
use crate::common::scene::{METADATA, one_warning, quiet};

#[cfg(target_os = "linux")]
use crate::common::mounts::{Tmpfs, can_mount, fill};

#[test]
fn a_cache_dir_that_cannot_be_a_directory() {
    let mut world = World::scene().build();
    // The cache dir would lie under a regular file: nothing can be created there.
    let blocker = world.env.root().join("blocker");
    std::fs::write(&blocker, "not a directory").unwrap();
    world.set_cache_dir(blocker.join("uv-shim"));

    let output = run(world.env.uv().arg("--version"));
    one_warning(
        &output,
        &[
            "could not get the mirror's metadata",
            "cannot write the cache file",
            &world.cache_dir().display().to_string(),
            "Not a directory",
        ],
    );
    // Nothing can be remembered, so each call asks again and says why again.
    let output = run(world.env.uv().arg("--version"));
    one_warning(&output, &["Not a directory"]);
    assert_eq!(world.metadata_requests(), 2);
    assert_eq!(world.handed_to_uv(), None);

    // Heals on the next good fetch once the path is usable.
    std::fs::remove_file(&blocker).unwrap();
    let before = world.metadata_requests();
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(world.metadata_requests(), before + 1);
    assert_eq!(world.handed_to_uv(), Some(world.copy_path()));
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(world.metadata_requests(), before + 1);
}

#[cfg(target_os = "linux")]
#[test]
fn a_read_only_home() {
    if !can_mount() {
        return;
    }
    // The default cache dir, $XDG_CACHE_HOME/uv-shim = ~/.cache/uv-shim, on a read-only home.
    let mut world = World::scene().build();
    world.default_cache_dir();
    let Some(home) = Tmpfs::mount(&world.env.home(), "ro,size=1m") else {
        return;
    };

    let output = run(world.env.uv().arg("--version"));
    one_warning(
        &output,
        &[
            "could not get the mirror's metadata",
            &world.cache_dir().display().to_string(),
            "Read-only file system",
        ],
    );
    assert_eq!(world.handed_to_uv(), None);

    home.remount("remount,rw");
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(world.handed_to_uv(), Some(world.copy_path()));
    let requests = world.metadata_requests();
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(
        world.metadata_requests(),
        requests,
        "a warm call asked the mirror"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_keeps_the_good_copy_until_there_is_room() {
    if !can_mount() {
        return;
    }
    let mut world = World::scene().build();
    let small = world.env.root().join("small");
    let Some(_disk) = Tmpfs::mount(&small, "size=64k") else {
        return;
    };
    world.set_cache_dir(small.join("cache"));
    let good = world.seed();

    // The mirror publishes a bigger document; the copy goes stale; the disk fills up.
    world.mirror().publish(2);
    world.expire();
    let ballast = small.join("ballast");
    fill(&ballast);

    let output = run(world.env.uv().arg("--version"));
    one_warning(
        &output,
        &[
            "could not refresh the mirror's metadata",
            "cannot write the cache file",
            "No space left on device",
            "using the copy from 1h",
        ],
    );
    assert_eq!(world.copy(), good, "the good copy changed");

    // Room again: the next call fetches the new document and is quiet.
    std::fs::remove_file(&ballast).unwrap();
    let before = world.metadata_requests();
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(world.metadata_requests(), before + 1);
    assert_eq!(world.copy_entries(), 2);
}

#[test]
fn a_truncated_cache_file_is_never_handed_to_uv() {
    let world = World::scene().build();
    let good = world.seed();
    let path = world.copy_path();

    // Cut in half: the shim notices (the size is in the state) and fetches again.
    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    let before = world.metadata_requests();
    let started = Instant::now();
    let output = run(world.env.uv().args(["python", "list", "--only-downloads"]));
    assert_success(&output);
    assert_eq!(stderr(&output), "");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(world.metadata_requests(), before + 1);
    assert_eq!(world.copy(), good);
    // A full fetch: the damaged copy's validators were not trusted.
    let last = world.server().requests().pop().unwrap();
    assert_eq!((last.if_none_match, last.status), (None, Some(200)));

    // Cut again while the mirror is down: uv runs without the damaged file.
    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    world.server().set_fault(Some(METADATA), Fault::Status(503));
    let output = run(world.env.uv().arg("--version"));
    one_warning(
        &output,
        &["could not get the mirror's metadata", "answered HTTP 503"],
    );
    assert_eq!(world.handed_to_uv(), None);

    // Heals on the next good fetch.
    world.server().clear_faults();
    assert_success(&run(world.env.shim().arg("refresh")));
    assert_eq!(world.copy(), good);
    quiet(&run(world.env.uv().arg("--version")));
}

#[test]
fn garbage_in_the_state_file_means_no_copy_until_the_next_fetch() {
    let world = World::scene().build();
    let good = world.seed();
    let state = world.state_path();

    std::fs::write(&state, "\u{0}\u{1}garbage{\"fetched\": 3}\n").unwrap();
    world.forget_warm_plans();
    let before = world.metadata_requests();
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(world.metadata_requests(), before + 1);
    assert_eq!(world.copy(), good);
    let healed = std::fs::read_to_string(&state).unwrap();
    assert!(healed.starts_with("uv-shim-state 6\n"), "{healed}");

    // Garbage while the mirror is down: one warning, uv runs, and a fetch heals it.
    std::fs::write(&state, "uv-shim-state 6\nfetched soon\nsize many\n").unwrap();
    world.forget_warm_plans();
    world.server().set_fault(Some(METADATA), Fault::Status(500));
    let output = run(world.env.uv().arg("--version"));
    one_warning(
        &output,
        &["could not get the mirror's metadata", "answered HTTP 500"],
    );
    world.server().clear_faults();
    assert_success(&run(world.env.shim().arg("refresh")));
    assert_eq!(world.copy(), good);
    assert_eq!(world.handed_to_uv(), Some(world.copy_path()));
}

#[test]
fn a_copy_from_the_future_is_revalidated_not_trusted() {
    let world = World::scene().build();
    world.seed();
    // The clock went back a day after the fetch: the copy is not "fresh for a day".
    world.shift_fetched(86_400);
    let before = world.metadata_requests();
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(world.metadata_requests(), before + 1);
    let last = world.server().requests().pop().unwrap();
    assert_eq!(last.status, Some(304), "{last:?}");

    // A failure from the future does not stop retries for a day either.
    world.server().set_fault(Some(METADATA), Fault::Status(500));
    world.expire();
    let output = run(world.env.uv().arg("--version"));
    one_warning(&output, &["answered HTTP 500"]);
    let state = world.state_path();
    let text = std::fs::read_to_string(&state).unwrap();
    let failed: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("failed "))
        .unwrap()
        .parse()
        .unwrap();
    let future: String = text.replace(
        &format!("failed {failed}"),
        &format!("failed {}", failed + 86_400),
    );
    std::fs::write(&state, future).unwrap();
    world.server().clear_faults();
    let before = world.metadata_requests();
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(world.metadata_requests(), before + 1);
}

#[test]
fn a_lock_left_by_a_killed_uv_does_not_block_the_next_call() {
    let world = World::scene().build();
    world.server().set_fault(Some(METADATA), Fault::Stall);

    // A `uv` takes the lock to fill the empty cache, meets a stalled mirror
    // (with a long time limit) and is killed with SIGKILL mid-fetch.
    let mut victim = world
        .env
        .uv()
        .arg("--version")
        .env("UV_SHIM_HTTP_TIMEOUT", "60s")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while world.metadata_requests() == 0 {
        assert!(
            Instant::now() < deadline,
            "the victim never asked the mirror"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let lock = std::fs::read_dir(world.cache_dir().join("metadata"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "lock"))
        .expect("a lock file");

    // While it lives, a call with no copy waits a bounded time, then runs uv.
    let started = Instant::now();
    let output = run(world.env.uv().arg("--version"));
    let waited = started.elapsed();
    one_warning(
        &output,
        &[
            "another uv-shim is still refreshing",
            &lock.display().to_string(),
        ],
    );
    // The time limit (1 s) plus a second.
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(4),
        "{waited:?}"
    );

    victim.kill().unwrap();
    victim.wait().unwrap();
    assert!(lock.exists(), "the lock file stays behind");

    // The OS freed the lock with the process: the next call goes straight to the mirror.
    world.server().clear_faults();
    let started = Instant::now();
    quiet(&run(world.env.uv().arg("--version")));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(world.metadata_requests(), 2);
    assert_eq!(world.handed_to_uv(), Some(world.copy_path()));
}
