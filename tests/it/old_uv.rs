//! Old uv (before 0.6.13) through a mirror built with `mirror sync --for-uv`.
//!
//! Such a uv takes no list: it asks `UV_PYTHON_INSTALL_MIRROR` for the very
//! builds its own built-in list names, and checks them against the sha256
//! compiled into it. So the story serves that version's real list (in its own
//! format) from a test upstream with crafted files, syncs one mirror with and
//! one without `--for-uv`, and counts in the mirror's server log what the real
//! uv asks for and what it gets. Crafted files can never pass uv's built-in
//! hashes, so the install itself fails: the answers are the check.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use serde_json::{Map, Value};

use crate::common::World;
use crate::common::env::{TestEnv, assert_failure, assert_success, run, stderr};
use crate::common::mirror::sha256_hex;
use crate::common::sync::{metadata, sync, verify};
use crate::common::upstream::{Spec, Upstream, bytes};
use crate::common::uv::{UV_OLD, UV_OLDEST};

/// The Python minors the story installs.
const MINORS: [u64; 2] = [11, 12];

/// The built-in list of uv `version`, from `tests/fixtures/`.
fn builtin_list(version: &str) -> Map<String, Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("uv-builtin-{version}.json.gz"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Whether an entry is a default CPython build for x86_64 Linux (glibc) of
/// one of [`MINORS`], whatever format its `arch` is written in.
fn tested(entry: &Value) -> bool {
    let plain_x86_64 = match &entry["arch"] {
        Value::String(arch) => arch == "x86_64",
        arch => arch["family"] == "x86_64" && arch["variant"].is_null(),
    };
    entry["name"] == "cpython"
        && entry["os"] == "linux"
        && entry["libc"] == "gnu"
        && plain_x86_64
        && entry["variant"].is_null()
        && entry["prerelease"] == ""
        && entry["major"] == 3
        && MINORS.iter().any(|m| entry["minor"] == *m)
}

/// The mirror path of an upstream URL of uv's list (`<build>/<file>`).
fn mirror_path(url: &str) -> String {
    let tail = url.split("/releases/download/").nth(1).unwrap();
    format!("/{}", tail.replace("%2B", "+"))
}

/// Writes uv `version`'s list, unchanged but for its hosts (the test
/// upstream) and the files the sync takes (crafted, with their sha256),
/// into `lists/<version>.json`; returns, per minor, the newest patch and the
/// mirror path of its build, which uv asks for.
fn serve_old_list(up: &Upstream, lists: &Path, version: &str) -> Vec<(u64, u64, String)> {
    let mut list = builtin_list(version);
    let mut newest: Vec<(u64, u64, String)> = Vec::new();
    for (seed, entry) in list.values_mut().enumerate() {
        let url = entry["url"].as_str().unwrap().to_string();
        let path = url.split_once("://").unwrap().1.split_once('/').unwrap().1;
        entry["url"] = Value::String(up.server.url(path));
        if !tested(entry) {
            continue;
        }
        let (minor, patch) = (
            entry["minor"].as_u64().unwrap(),
            entry["patch"].as_u64().unwrap(),
        );
        let content = bytes(1000 + seed as u64, 300);
        let served = up.dir.path().join("www").join(path.replace("%2B", "+"));
        std::fs::create_dir_all(served.parent().unwrap()).unwrap();
        std::fs::write(&served, &content).unwrap();
        entry["sha256"] = Value::String(sha256_hex(&content));
        match newest.iter_mut().find(|(m, _, _)| *m == minor) {
            Some(slot) if slot.1 >= patch => {}
            Some(slot) => *slot = (minor, patch, mirror_path(&url)),
            None => newest.push((minor, patch, mirror_path(&url))),
        }
    }
    std::fs::create_dir_all(lists).unwrap();
    std::fs::write(
        lists.join(format!("{version}.json")),
        serde_json::to_vec_pretty(&list).unwrap(),
    )
    .unwrap();
    newest.sort();
    newest
}

/// Runs `uv python install 3.<minor>` for every tested minor through the
/// shim against a mirror served from `dest`; returns each download request
/// the mirror saw, with its status.
fn old_uv_asks(env: &mut TestEnv, dest: &Path) -> BTreeSet<(String, Option<u16>)> {
    let mirror = crate::common::http::HttpServer::start(dest);
    env.set_env("UV_SHIM_MIRROR", mirror.base_url());
    for minor in MINORS {
        // The crafted file fails uv's built-in sha256 (or the mirror has none).
        assert_failure(&run(env.uv().args([
            "python",
            "install",
            &format!("3.{minor}"),
        ])));
    }
    mirror
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with(".tar.gz"))
        .map(|r| (r.path, r.status))
        .collect()
}

/// The story for one old uv version.
fn old_uv_gets_what_it_asks_for(version: &str) {
    let mut world = World::builder().real_uv(version).build();
    let env = &mut world.env;
    let mut up = Upstream::new();
    let lists = env.root().join("uv-lists");
    let old = serve_old_list(&up, &lists, version);
    assert_eq!(old.len(), MINORS.len(), "{old:?}");
    // What new uv gets: a newer 3.11, and a rebuild of the very 3.12 key
    // the old list names, so the metadata has to choose per key while the
    // old build stays served.
    let new_311 = up.add(Spec::cpython("3.11.14", "20251014"));
    let (_, patch, _) = old[1];
    let rebuilt: &'static str = Box::leak(format!("3.12.{patch}").into_boxed_str());
    let rebuild = up.add(Spec::cpython(rebuilt, "20991231"));
    let from = up.publish();
    let filters = [
        "--python",
        "3.11",
        "--python",
        "3.12",
        "--os",
        "linux",
        "--arch",
        "x86_64",
        "--libc",
        "gnu",
        "--variant",
        "default",
        "--implementation",
        "cpython",
        "--latest-patch",
    ];

    let plain = env.root().join("plain");
    assert_success(&sync(env, &plain, &from, &filters));
    // The same mirror, then synced again for the old uv: its builds are
    // fetched although the mirror already holds a newer build of one key.
    let served_for_it = env.root().join("for-uv");
    assert_success(&sync(env, &served_for_it, &from, &filters));
    let mut args = filters.to_vec();
    args.extend(["--for-uv", version, "--uv-lists", lists.to_str().unwrap()]);
    let output = sync(env, &served_for_it, &from, &args);
    assert_success(&output);
    let said = format!(
        "uv {version}: {} builds of its built-in list are taken",
        MINORS.len()
    );
    assert!(stderr(&output).contains(&said), "{}", stderr(&output));

    // New uv still gets the newest build per key.
    let meta = metadata(&served_for_it);
    for new in [&new_311, &rebuild] {
        let url = meta[&new.key]["url"].as_str().unwrap().replace("%2B", "+");
        assert_eq!(url, new.rel, "{meta:#?}");
    }
    let without = old_uv_asks(env, &plain);
    let with = old_uv_asks(env, &served_for_it);
    let paths = |log: &BTreeSet<(String, Option<u16>)>| {
        log.iter().map(|(p, _)| p.clone()).collect::<BTreeSet<_>>()
    };
    let expected: BTreeSet<String> = old.iter().map(|(_, _, path)| path.clone()).collect();
    assert_eq!(
        paths(&without),
        expected,
        "uv {version} asked for {without:?}"
    );
    assert_eq!(paths(&with), expected, "uv {version} asked for {with:?}");
    assert!(
        without.iter().all(|(_, status)| *status == Some(404)),
        "{without:?}"
    );
    assert!(
        with.iter().all(|(_, status)| *status == Some(200)),
        "{with:?}"
    );

    // A pruning sync that names the same uv keeps its builds, and the mirror
    // checks out whole.
    args.push("--prune");
    assert_success(&sync(env, &served_for_it, &from, &args));
    for path in &expected {
        assert!(
            served_for_it.join(&path[1..]).is_file(),
            "{path} was pruned"
        );
    }
    assert_success(&verify(env, &served_for_it));

    // Without --for-uv a pruning sync drops the old build the metadata does
    // not name (the README says to repeat --for-uv); the named one stays.
    let mut args = filters.to_vec();
    args.push("--prune");
    assert_success(&sync(env, &served_for_it, &from, &args));
    assert!(!served_for_it.join(&old[1].2[1..]).exists());
    assert!(served_for_it.join(&old[0].2[1..]).is_file());
}

#[test]
fn uv_0_5_31_finds_its_built_in_builds_only_in_a_mirror_synced_for_it() {
    old_uv_gets_what_it_asks_for(UV_OLD);
}

#[test]
fn uv_0_4_30_finds_its_built_in_builds_from_a_list_in_the_old_format() {
    old_uv_gets_what_it_asks_for(UV_OLDEST);
}

#[test]
fn for_uv_names_what_was_wrong_and_where() {
    let world = World::builder().build();
    let env = &world.env;
    let mut up = Upstream::new();
    up.add(Spec::cpython("3.12.8", "20250115"));
    let from = up.publish();
    let dest = env.root().join("mirror");
    let lists = env.root().join("uv-lists");
    std::fs::create_dir_all(&lists).unwrap();

    let not_a_release = sync(env, &dest, &from, &["--for-uv", "latest"]);
    assert_eq!(not_a_release.status.code(), Some(2));
    assert!(
        stderr(&not_a_release)
            .contains("--for-uv \"latest\": expected a uv release such as 0.5.31"),
        "{}",
        stderr(&not_a_release)
    );

    // --offline never reaches for uv's repository.
    let local = up.publish_file();
    let offline = sync(env, &dest, &local, &["--offline", "--for-uv", "0.5.31"]);
    assert_eq!(offline.status.code(), Some(2), "{}", stderr(&offline));
    assert!(
        stderr(&offline).contains("(name a folder with --uv-lists)"),
        "{}",
        stderr(&offline)
    );

    let args = ["--for-uv", "0.5.31", "--uv-lists", lists.to_str().unwrap()];
    let missing = sync(env, &dest, &from, &args);
    assert_failure(&missing);
    assert!(
        stderr(&missing).contains("cannot read the built-in list of uv 0.5.31 (file://")
            && stderr(&missing).contains("0.5.31.json"),
        "{}",
        stderr(&missing)
    );

    std::fs::write(lists.join("0.5.31.json"), "{\"k\": [1]}").unwrap();
    let damaged = sync(env, &dest, &from, &args);
    assert_failure(&damaged);
    assert!(
        stderr(&damaged).contains("the built-in list of uv 0.5.31"),
        "{}",
        stderr(&damaged)
    );
    // Nothing was written: the list is read before the mirror is touched.
    assert!(!dest.join("download-metadata.json").exists());
}
