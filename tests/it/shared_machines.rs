//! Shared machines: CI hosts, build servers and jump boxes where several
//! users (and root) run the shim. One user's cache, root and several
//! installs never turn into another user's code. The stories act as two
//! real unprivileged users (`setpriv`), so they need root: CI runs them as
//! root; elsewhere they are skipped visibly.

use std::path::Path;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::common::env::{SHIM_EXE, assert_success, run, stderr, stdout};
use crate::common::scene::quiet;
use crate::common::users::{
    ALICE, BOB, as_user, folder_of, home_vars, mode, open_to_others, owner, tripwire,
};
use crate::common::uv::{UV_NEW, real_uv};
use crate::common::{World, require_root};

/// Gives the world's commands the home of the user they run as.
fn live_in(world: &mut World, home: &Path) {
    for (key, value) in home_vars(home) {
        world.env.set_env(key, value);
    }
}

/// Ages `path` by `by`.
fn age(path: &Path, by: Duration) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - by).unwrap();
}

#[test]
fn a_plan_planted_in_a_shared_cache_is_not_run() {
    if !require_root("it acts as two users") {
        return;
    }
    let mut world = World::scene().build();
    open_to_others(&world.env);
    let alice_home = folder_of(&world.env, "alice", ALICE, 0o700);
    let shared = folder_of(&world.env, "shared-cache", ALICE, 0o700);
    live_in(&mut world, &alice_home);
    world.env.set_env("UV_SHIM_CACHE_DIR", &shared);

    // While the folder is Alice's alone, her calls remember their hand-over there.
    quiet(&run(&mut as_user(ALICE, world.env.uv().arg("--version"))));
    let plans: Vec<_> = std::fs::read_dir(shared.join("plan"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(plans.len(), 1, "{plans:?}");
    let plan = &plans[0];

    // The folder is opened up; Bob swaps in a plan of his own, under the
    // same name, naming his program as "the real uv".
    std::fs::set_permissions(&shared, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let marker = world.env.root().join("bob-was-here");
    let evil = tripwire(world.env.root(), &marker);
    let text = std::fs::read_to_string(plan).unwrap();
    let uv_line = text.lines().find(|l| l.starts_with("uv ")).unwrap();
    let planted = text.replace(uv_line, &format!("uv {}", evil.display()));
    std::fs::rename(shared.join("plan"), shared.join("plan-alice")).unwrap();
    let bobs = folder_of(&world.env, "shared-cache/plan", BOB, 0o777);
    std::fs::write(bobs.join(plan.file_name().unwrap()), planted).unwrap();
    std::os::unix::fs::chown(bobs.join(plan.file_name().unwrap()), Some(BOB), Some(BOB)).unwrap();

    let output = run(&mut as_user(ALICE, world.env.uv().arg("--version")));
    assert_success(&output);
    assert!(stdout(&output).starts_with("uv 0."), "{}", stdout(&output));
    assert!(!marker.exists(), "Alice's call ran Bob's program");
    // She is told once why the shared folder is not used, and where her cache went.
    let said = stderr(&output);
    assert!(
        said.contains(&format!("others may write to {}", shared.display()))
            && said.contains(&alice_home.join(".cache/uv-shim").display().to_string()),
        "{said}"
    );
    let again = run(&mut as_user(ALICE, world.env.uv().arg("--version")));
    quiet(&again);
    assert!(!marker.exists());
}

#[test]
fn umask_000_still_makes_private_folders() {
    if !require_root("it acts as another user") {
        return;
    }
    let mut world = World::scene().build();
    open_to_others(&world.env);
    let alice_home = folder_of(&world.env, "alice", ALICE, 0o755);
    live_in(&mut world, &alice_home);
    world.env.unset_env("UV_SHIM_CACHE_DIR");

    let mut cmd = as_user(ALICE, world.env.uv().arg("--version"));
    // SAFETY: umask is async-signal-safe and only touches the child.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::umask(0);
            Ok(())
        });
    }
    quiet(&run(&mut cmd));

    let cache = alice_home.join(".cache/uv-shim");
    let mut seen = 0;
    let mut stack = vec![cache.clone()];
    while let Some(dir) = stack.pop() {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        assert_eq!(owner(&dir), ALICE, "{}", dir.display());
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            seen += 1;
            if path.is_dir() {
                stack.push(path);
            } else {
                assert_eq!(mode(&path) & 0o077, 0, "{}", path.display());
                assert_eq!(owner(&path), ALICE, "{}", path.display());
            }
        }
    }
    assert!(
        seen >= 4,
        "the cache holds the copy, its state and the plan"
    );
}

#[test]
fn a_lock_link_planted_by_another_user_creates_nothing() {
    if !require_root("it acts as two users") {
        return;
    }
    let mut world = World::scene().build();
    open_to_others(&world.env);
    let alice_home = folder_of(&world.env, "alice", ALICE, 0o755);
    live_in(&mut world, &alice_home);
    // Bob's folder, named as the cache for everyone, with a link where
    // Alice's lock file for this mirror would be.
    let shared = folder_of(&world.env, "shared-cache", BOB, 0o777);
    let metadata = folder_of(&world.env, "shared-cache/metadata", BOB, 0o777);
    let key = Sha256::digest(format!("mirror\n{}", world.metadata_url()));
    let key: String = key[..10].iter().map(|b| format!("{b:02x}")).collect();
    let target = alice_home.join("created-by-the-shim");
    std::os::unix::fs::symlink(&target, metadata.join(format!("{key}.lock"))).unwrap();
    world.env.set_env("UV_SHIM_CACHE_DIR", &shared);

    let output = run(&mut as_user(ALICE, world.env.uv().arg("--version")));
    assert_success(&output);
    assert!(!target.exists(), "the lock link was followed");
    assert!(
        stderr(&output).contains(&format!("{} belongs to another user", shared.display())),
        "{}",
        stderr(&output)
    );
    // Her cache went to her own folder, and uv got the mirror's metadata from it.
    assert!(alice_home.join(".cache/uv-shim/metadata").is_dir());
}

#[test]
fn root_with_another_users_home_ignores_their_config() {
    if !require_root("it runs as root with another user's HOME") {
        return;
    }
    let mut world = World::scene().build();
    open_to_others(&world.env);
    let bob_home = folder_of(&world.env, "bob", BOB, 0o755);
    let config = folder_of(&world.env, "bob/.config", BOB, 0o755);
    folder_of(&world.env, "bob/.config/uv-shim", BOB, 0o755);
    let marker = world.env.root().join("bob-was-here");
    let evil = tripwire(world.env.root(), &marker);
    let file = config.join("uv-shim/config.toml");
    std::fs::write(&file, format!("uv = \"{}\"\n", evil.display())).unwrap();
    std::os::unix::fs::chown(&file, Some(BOB), Some(BOB)).unwrap();
    // `sudo -E uv …`: root, with Bob's variables.
    live_in(&mut world, &bob_home);

    let output = run(world.env.uv().arg("--version"));
    assert_success(&output);
    assert!(!marker.exists(), "root ran the program Bob's config names");
    assert!(
        !bob_home.join(".cache/uv-shim").exists(),
        "root wrote into Bob's cache"
    );
    let report = world.doctor();
    assert!(
        report.json["notes"].as_array().unwrap().iter().any(|n| n
            .as_str()
            .unwrap()
            .contains(&format!("belongs to uid {BOB}"))),
        "{}",
        report.dump()
    );

    // Pure pass-through reads no config at all, for any user.
    world.env.set_env("UV_SHIM_DISABLE", "1");
    assert_success(&run(world.env.uv().arg("--version")));
    assert!(!marker.exists());
}

#[test]
fn two_installs_of_the_shim_cooperate() {
    let mut world = World::scene().build();
    // A system install, and the user's own in front of it; the real uv after both.
    let system_bin = world.env.root().join("system-bin");
    std::fs::create_dir_all(&system_bin).unwrap();
    std::fs::copy(SHIM_EXE, system_bin.join("uv")).unwrap();
    let real_uv_dir = real_uv(UV_NEW).parent().unwrap().to_path_buf();
    let path = |dirs: &[&Path]| {
        std::env::join_paths(dirs.iter().chain([
            &real_uv_dir.as_path(),
            &Path::new("/usr/bin"),
            &Path::new("/bin"),
        ]))
        .unwrap()
    };
    let user_bin = world.env.bin_dir();
    world.env.set_env("PATH", path(&[&user_bin, &system_bin]));

    let version = world.mirror().version();
    let output = run(world.env.uv().args(["python", "install", &version]));
    assert_success(&output);
    assert!(world.env.managed_python(&world.mirror().entry).exists());
    let report = world.doctor();
    assert_eq!(report.output.status.code(), Some(0), "{}", report.dump());
    assert_eq!(
        report.json["real_uv"]["other_shims"][0].as_str(),
        Some(system_bin.join("uv").to_str().unwrap()),
        "{}",
        report.dump()
    );

    // The other order: the system install in front passes over the user's.
    world.env.set_env("PATH", path(&[&system_bin, &user_bin]));
    let output = run(world.env.command(system_bin.join("uv")).arg("--version"));
    assert_success(&output);
    assert!(stdout(&output).starts_with("uv 0."), "{}", stdout(&output));
}

#[test]
fn a_cache_shared_in_good_faith_gives_each_user_their_own() {
    if !require_root("it acts as two users") {
        return;
    }
    let mut world = World::scene().build();
    open_to_others(&world.env);
    let shared = folder_of(&world.env, "runners-cache", ALICE, 0o755);
    world.env.set_env("UV_SHIM_CACHE_DIR", &shared);
    let bob_home = folder_of(&world.env, "bob", BOB, 0o700);
    live_in(&mut world, &bob_home);

    let env_json = |world: &World| {
        let output = run(&mut as_user(
            BOB,
            world.env.shim().args(["env", "--shell", "json"]),
        ));
        assert_success(&output);
        (stdout(&output), stderr(&output))
    };
    let (vars, said) = env_json(&world);
    // Bob gets the mirror's metadata from a cache of his own, not the mirror variables.
    let own = bob_home.join(".cache/uv-shim");
    assert!(
        vars.contains("UV_PYTHON_DOWNLOADS_JSON_URL") && vars.contains(&own.display().to_string()),
        "{vars}"
    );
    assert!(said.contains("belongs to another user"), "{said}");
    // Said once.
    let (_, said) = env_json(&world);
    assert_eq!(said, "");
}

#[test]
fn interrupted_fetches_leave_nothing_behind() {
    let world = World::scene().build();
    world.seed();
    world.expire();
    world.forget_warm_plans();
    let metadata = world.cache_dir().join("metadata");
    let old = metadata.join(".tmp-interrupted");
    let young = metadata.join(".tmp-under-way");
    std::fs::write(&old, vec![0u8; 4096]).unwrap();
    std::fs::write(&young, b"").unwrap();
    age(&old, Duration::from_secs(2 * 60 * 60));

    // The next write in that folder (a revalidation) sweeps what was left.
    quiet(&run(world.env.uv().arg("--version")));
    assert!(!old.exists(), "a stale temp file stayed");
    assert!(young.exists(), "a write under way lost its temp file");
}

#[test]
fn an_aged_cache_is_pruned_once_a_day() {
    let world = World::scene().build();
    world.seed();
    let month = Duration::from_secs(31 * 24 * 60 * 60);
    let mut dead = Vec::new();
    for rel in [
        "metadata/dead.json",
        "metadata/dead.state",
        "metadata/dead.lock",
        "plan/dead",
        "dns/dead",
        "uv-version/dead",
    ] {
        let path = world.cache_dir().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"x").unwrap();
        age(&path, month);
        dead.push(path);
    }
    // The last look-over was two days ago.
    age(
        &world.cache_dir().join("housekeeping"),
        Duration::from_secs(2 * 24 * 60 * 60),
    );
    world.forget_warm_plans();
    quiet(&run(world.env.uv().arg("--version")));
    for path in &dead {
        assert!(!path.exists(), "{} stayed", path.display());
    }
    // What is in use stays, and uv still gets it.
    assert_eq!(world.handed_to_uv(), Some(world.copy_path()));

    // Not again the same day.
    let late = world.cache_dir().join("dns/late");
    std::fs::write(&late, b"x").unwrap();
    age(&late, month);
    world.forget_warm_plans();
    quiet(&run(world.env.uv().arg("--version")));
    assert!(late.exists());
}
