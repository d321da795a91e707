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
//! they fail under CI and are a visible skip elsewhere ([`common::skip`]).

use crate::common;

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::env::{TestEnv, assert_success, run, stderr, stdout};
use common::http::{Fault, HttpServer};
use common::mirror::{MirrorBuilder, Urls, host_python_version};
use common::scene::{METADATA, one_warning};
use common::uv::{UV_NEW, real_uv};

/// A mirror on a harness server and the shim pointed at it.
struct World {
    env: TestEnv,
    server: HttpServer,
    /// The shim's cache dir.
    cache: PathBuf,
}

impl World {
    fn new() -> World {
        let env = TestEnv::new()
            .real_uv(real_uv(UV_NEW))
            .with_env("UV_SHIM_HTTP_TIMEOUT", "1s");
        let server = HttpServer::start(env.root().join("www"));
        let cache = env.cache_dir();
        let world = World { env, server, cache };
        world.publish(1);
        world
            .env
            .write_system_config(&format!("mirror = \"{}\"\n", world.server.url("/uv/")));
        world
    }

    /// The mirror publishes `builds` builds (1 or more) of the host's Python line.
    fn publish(&self, builds: u32) {
        let (major, minor, patch) = host_python_version();
        let mut mirror = MirrorBuilder::new(self.env.root().join("www/uv"));
        for extra in 0..builds {
            mirror = mirror.cpython(major, minor + extra, patch, "20250101");
        }
        mirror.write_metadata(Urls::Relative);
    }

    fn requests(&self) -> usize {
        self.server.count(METADATA)
    }

    /// Moves the cache dir to `dir` (`UV_SHIM_CACHE_DIR`).
    fn set_cache_dir(&mut self, dir: PathBuf) {
        self.env.set_env("UV_SHIM_CACHE_DIR", &dir);
        self.cache = dir;
    }

    /// Lets the cache dir default to `$XDG_CACHE_HOME/uv-shim` (`~/.cache/uv-shim`).
    #[cfg(target_os = "linux")]
    fn default_cache_dir(&mut self) {
        self.env.unset_env("UV_SHIM_CACHE_DIR");
        self.cache = self.env.home().join(".cache").join("uv-shim");
    }

    fn copy_path(&self) -> PathBuf {
        common::cache::metadata_copy(&self.cache)
    }

    fn state_path(&self) -> PathBuf {
        self.copy_path().with_extension("state")
    }

    fn copy(&self) -> Vec<u8> {
        std::fs::read(self.copy_path()).unwrap()
    }

    /// Entries in the cached copy.
    fn entries(&self) -> usize {
        let value: serde_json::Value = serde_json::from_slice(&self.copy()).unwrap();
        value.as_object().unwrap().len()
    }

    /// Fills the cache with a good copy; returns its bytes.
    fn seed(&self) -> Vec<u8> {
        let before = self.requests();
        quiet(&run(self.env.uv().arg("--version")));
        assert_eq!(self.requests(), before + 1);
        self.copy()
    }

    fn shift_fetched(&self, shift: i64) {
        common::cache::shift_fetched(&self.cache, shift);
    }

    fn expire(&self) {
        common::cache::expire(&self.cache);
    }

    fn forget_warm_plan(&self) {
        common::cache::forget_warm_plans(&self.cache);
    }

    /// The metadata file the shim hands uv (`UV_PYTHON_DOWNLOADS_JSON_URL`), if any.
    fn handed_to_uv(&self) -> Option<PathBuf> {
        common::scene::handed_to_uv(&self.env)
    }
}

/// uv's own `--version`, and nothing from the shim.
#[track_caller]
fn quiet(output: &Output) {
    assert_success(output);
    assert!(stdout(output).starts_with("uv "), "{}", stdout(output));
    assert_eq!(stderr(output), "");
}

/// File systems mounted for the stories that need an unwritable or a full
/// one (Linux, as root).
#[cfg(target_os = "linux")]
mod mounts {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// Whether this process may mount file systems (root); a visible skip,
    /// or under CI a failure, otherwise.
    #[track_caller]
    pub fn can_mount() -> bool {
        crate::common::require_root("it mounts a tmpfs")
    }

    /// A tmpfs mounted for one story, unmounted (lazily) on drop.
    pub struct Tmpfs {
        path: PathBuf,
    }

    impl Tmpfs {
        /// Mounts a tmpfs with `options` at `path` (created); `None` when
        /// mounting fails (e.g. a container without the capability), after a
        /// visible skip or, under CI, a failure.
        #[track_caller]
        pub fn mount(path: &Path, options: &str) -> Option<Tmpfs> {
            std::fs::create_dir_all(path).unwrap();
            let output = Command::new("mount")
                .args(["-t", "tmpfs", "-o", options, "tmpfs"])
                .arg(path)
                .output()
                .expect("run mount");
            if !output.status.success() {
                crate::common::skip(&format!(
                    "cannot mount a tmpfs at {}: {}",
                    path.display(),
                    String::from_utf8_lossy(&output.stderr).trim()
                ));
                return None;
            }
            Some(Tmpfs {
                path: path.to_path_buf(),
            })
        }

        /// Remounts with `options` (e.g. `remount,rw`).
        pub fn remount(&self, options: &str) {
            let status = Command::new("mount")
                .args(["-o", options])
                .arg(&self.path)
                .status()
                .expect("run mount");
            assert!(
                status.success(),
                "remount {options} {}",
                self.path.display()
            );
        }
    }

    impl Drop for Tmpfs {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }

    /// Writes `path` until the file system is full.
    pub fn fill(path: &Path) {
        use std::io::Write;
        let mut file = std::fs::File::create(path).unwrap();
        let chunk = [0u8; 1024];
        while file
            .write_all(&chunk)
            .and_then(|()| file.sync_all())
            .is_ok()
        {}
    }
}

#[cfg(target_os = "linux")]
use mounts::{Tmpfs, can_mount, fill};

#[test]
fn a_cache_dir_that_cannot_be_a_directory() {
    let mut world = World::new();
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
            &world.cache.display().to_string(),
            "Not a directory",
        ],
    );
    // Nothing can be remembered, so each call asks again and says why again.
    let output = run(world.env.uv().arg("--version"));
    one_warning(&output, &["Not a directory"]);
    assert_eq!(world.requests(), 2);
    assert_eq!(world.handed_to_uv(), None);

    // Heals on the next good fetch once the path is usable.
    std::fs::remove_file(&blocker).unwrap();
    let before = world.requests();
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(world.requests(), before + 1);
    assert_eq!(world.handed_to_uv(), Some(world.copy_path()));
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(world.requests(), before + 1);
}

#[cfg(target_os = "linux")]
#[test]
fn a_read_only_home() {
    if !can_mount() {
        return;
    }
    // The default cache dir, $XDG_CACHE_HOME/uv-shim = ~/.cache/uv-shim, on a read-only home.
    let mut world = World::new();
    world.default_cache_dir();
    let Some(home) = Tmpfs::mount(&world.env.home(), "ro,size=1m") else {
        return;
    };

    let output = run(world.env.uv().arg("--version"));
    one_warning(
        &output,
        &[
            "could not get the mirror's metadata",
            &world.cache.display().to_string(),
            "Read-only file system",
        ],
    );
    assert_eq!(world.handed_to_uv(), None);

    home.remount("remount,rw");
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(world.handed_to_uv(), Some(world.copy_path()));
    let requests = world.requests();
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(world.requests(), requests, "a warm call asked the mirror");
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_keeps_the_good_copy_until_there_is_room() {
    if !can_mount() {
        return;
    }
    let mut world = World::new();
    let small = world.env.root().join("small");
    let Some(_disk) = Tmpfs::mount(&small, "size=64k") else {
        return;
    };
    world.set_cache_dir(small.join("cache"));
    let good = world.seed();

    // The mirror publishes a bigger document; the copy goes stale; the disk fills up.
    world.publish(2);
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
    let before = world.requests();
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(world.requests(), before + 1);
    assert_eq!(world.entries(), 2);
}

#[test]
fn a_truncated_cache_file_is_never_handed_to_uv() {
    let world = World::new();
    let good = world.seed();
    let path = world.copy_path();

    // Cut in half: the shim notices (the size is in the state) and fetches again.
    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    let before = world.requests();
    let started = Instant::now();
    let output = run(world.env.uv().args(["python", "list", "--only-downloads"]));
    assert_success(&output);
    assert_eq!(stderr(&output), "");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(world.requests(), before + 1);
    assert_eq!(world.copy(), good);
    // A full fetch: the damaged copy's validators were not trusted.
    let last = world.server.requests().pop().unwrap();
    assert_eq!((last.if_none_match, last.status), (None, Some(200)));

    // Cut again while the mirror is down: uv runs without the damaged file.
    std::fs::write(&path, &good[..good.len() / 2]).unwrap();
    world.server.set_fault(Some(METADATA), Fault::Status(503));
    let output = run(world.env.uv().arg("--version"));
    one_warning(
        &output,
        &["could not get the mirror's metadata", "answered HTTP 503"],
    );
    assert_eq!(world.handed_to_uv(), None);

    // Heals on the next good fetch.
    world.server.clear_faults();
    assert_success(&run(world.env.shim().arg("refresh")));
    assert_eq!(world.copy(), good);
    quiet(&run(world.env.uv().arg("--version")));
}

#[test]
fn garbage_in_the_state_file_means_no_copy_until_the_next_fetch() {
    let world = World::new();
    let good = world.seed();
    let state = world.state_path();

    std::fs::write(&state, "\u{0}\u{1}garbage{\"fetched\": 3}\n").unwrap();
    world.forget_warm_plan();
    let before = world.requests();
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(world.requests(), before + 1);
    assert_eq!(world.copy(), good);
    let healed = std::fs::read_to_string(&state).unwrap();
    assert!(healed.starts_with("uv-shim-state 1\n"), "{healed}");

    // Garbage while the mirror is down: one warning, uv runs, and a fetch heals it.
    std::fs::write(&state, "uv-shim-state 1\nfetched soon\nsize many\n").unwrap();
    world.forget_warm_plan();
    world.server.set_fault(Some(METADATA), Fault::Status(500));
    let output = run(world.env.uv().arg("--version"));
    one_warning(
        &output,
        &["could not get the mirror's metadata", "answered HTTP 500"],
    );
    world.server.clear_faults();
    assert_success(&run(world.env.shim().arg("refresh")));
    assert_eq!(world.copy(), good);
    assert_eq!(world.handed_to_uv(), Some(world.copy_path()));
}

#[test]
fn a_copy_from_the_future_is_revalidated_not_trusted() {
    let world = World::new();
    world.seed();
    // The clock went back a day after the fetch: the copy is not "fresh for a day".
    world.shift_fetched(86_400);
    let before = world.requests();
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(world.requests(), before + 1);
    let last = world.server.requests().pop().unwrap();
    assert_eq!(last.status, Some(304), "{last:?}");

    // A failure from the future does not stop retries for a day either.
    world.server.set_fault(Some(METADATA), Fault::Status(500));
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
    world.server.clear_faults();
    let before = world.requests();
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(world.requests(), before + 1);
}

#[test]
fn a_lock_left_by_a_killed_uv_does_not_block_the_next_call() {
    let world = World::new();
    world.server.set_fault(Some(METADATA), Fault::Stall);

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
    while world.requests() == 0 {
        assert!(
            Instant::now() < deadline,
            "the victim never asked the mirror"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let lock = std::fs::read_dir(world.cache.join("metadata"))
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
    world.server.clear_faults();
    let started = Instant::now();
    quiet(&run(world.env.uv().arg("--version")));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(world.requests(), 2);
    assert_eq!(world.handed_to_uv(), Some(world.copy_path()));
}
