//! `uv-shim mirror sync` and `mirror verify`, told as stories: an upstream
//! of generated files on 127.0.0.1, a mirror folder, and in the end the real
//! uv installing from that mirror through the shim. Which builds a sync
//! chooses (filters, `--dry-run`, `--latest-patch`) is in
//! `mirror_filters.rs`; how the downloads themselves behave (hashes,
//! resume, retries, Ctrl-C), in `mirror_downloads.rs`.

use std::collections::BTreeSet;

use crate::common::World;
use crate::common::env::{assert_failure, assert_success, run, stderr, stdout};
use crate::common::http::{HttpServer, Request};
use crate::common::mirror::{MirrorBuilder, Urls, sha256_hex};
use crate::common::sync::{
    crafted_mirror, files_in, keys, metadata, set, sync, url_of_dir, verify,
};
use crate::common::upstream::{Spec, Upstream};
use crate::common::uv::{UV_NEW, UV_OLD};

#[test]
fn sync_lays_out_upstream_paths_and_a_noop_resync_downloads_nothing() {
    let world = World::builder().build();
    let env = &world.env;
    let mut up = Upstream::new();
    let cp = up.add(Spec::cpython("3.12.8", "20250115"));
    let ft = up.add(Spec {
        variant: Some("freethreaded"),
        ..Spec::cpython("3.13.1", "20250115")
    });
    let pypy = up.add(Spec {
        name: "pypy",
        version: "3.10.14",
        build: "7.3.17",
        ..Spec::cpython("", "")
    });
    let graal = up.add(Spec {
        name: "graalpy",
        version: "3.11.7",
        build: "24.1.1",
        ..Spec::cpython("", "")
    });
    let from = up.publish();
    let dest = env.root().join("mirror");

    let first = sync(env, &dest, &from, &[]);
    assert_success(&first);
    assert!(
        stdout(&first).contains("fetched 4 files"),
        "{}",
        stdout(&first)
    );
    // CPython keeps upstream's release path, with a literal `+`.
    assert_eq!(
        cp.rel,
        "20250115/cpython-3.12.8+20250115-x86_64-unknown-linux-gnu-install_only.tar.gz"
    );
    assert_eq!(
        files_in(&dest),
        set([
            "download-metadata.json",
            &cp.rel,
            &ft.rel,
            &pypy.rel,
            &graal.rel
        ])
    );
    assert!(pypy.rel.starts_with("pypy/") && graal.rel.starts_with("graalpy/"));

    let meta = metadata(&dest);
    assert_eq!(
        keys(&meta),
        [&cp.key, &ft.key, &pypy.key, &graal.key]
            .map(|k| k.to_string())
            .into()
    );
    for file in [&cp, &ft, &pypy, &graal] {
        let entry = &meta[&file.key];
        assert_eq!(
            entry["url"],
            file.rel.replace('+', "%2B"),
            "relative, + spelled %2B"
        );
        assert_eq!(entry["sha256"], file.sha256.as_str());
        assert_eq!(
            sha256_hex(&std::fs::read(dest.join(&file.rel)).unwrap()),
            file.sha256
        );
    }
    // Newest first, as uv's own list.
    let order: Vec<&String> = meta.keys().collect();
    assert_eq!(order[0], &ft.key);

    // Nothing changed upstream: only the list is read again.
    let mtime = std::fs::metadata(dest.join("download-metadata.json"))
        .unwrap()
        .modified()
        .unwrap();
    up.server.clear_log();
    let second = sync(env, &dest, &from, &[]);
    assert_success(&second);
    assert!(up.downloads().is_empty(), "{:#?}", up.downloads());
    assert!(
        stdout(&second).contains("fetched 0 files"),
        "{}",
        stdout(&second)
    );
    assert!(
        stdout(&second).contains("4 already present"),
        "{}",
        stdout(&second)
    );
    assert!(
        stdout(&second).contains("(unchanged)"),
        "{}",
        stdout(&second)
    );
    let again = std::fs::metadata(dest.join("download-metadata.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(mtime, again, "an unchanged metadata file is not rewritten");

    let checked = verify(env, &dest);
    assert_success(&checked);
    assert!(
        stdout(&checked).contains("4 listed files"),
        "{}",
        stdout(&checked)
    );
}

#[test]
fn a_rebuilt_upstream_keeps_older_builds_served_until_pruned() {
    let world = World::builder().build();
    let env = &world.env;
    let mut up = Upstream::new();
    let old12 = up.add(Spec::cpython("3.12.7", "20250101"));
    let only11 = up.add(Spec::cpython("3.11.9", "20250101"));
    let dest = env.root().join("mirror");
    assert_success(&sync(env, &dest, up.publish(), &[]));

    // Upstream rebuilds 3.12.7, drops 3.11.9 and adds 3.13.0.
    let new12 = up.add(Spec::cpython("3.12.7", "20250201"));
    up.remove(&only11.key);
    let new13 = up.add(Spec::cpython("3.13.0", "20250201"));
    let output = sync(env, &dest, up.publish(), &[]);
    assert_success(&output);
    assert!(
        stdout(&output).contains("3 entries (2 from this upstream list, 1 kept from the mirror)"),
        "{}",
        stdout(&output)
    );
    let meta = metadata(&dest);
    assert_eq!(
        keys(&meta),
        set([new12.key.as_str(), only11.key.as_str(), new13.key.as_str()])
    );
    assert_eq!(
        meta[&new12.key]["build"], "20250201",
        "the newest build the mirror holds"
    );
    assert_eq!(meta[&new12.key]["url"], new12.rel.replace('+', "%2B"));
    assert_eq!(meta[&only11.key]["url"], only11.rel.replace('+', "%2B"));
    assert!(
        dest.join(&old12.rel).is_file(),
        "the older build stays on disk for old uv's built-in list"
    );
    let checked = verify(env, &dest);
    assert_success(&checked);
    assert!(
        stdout(&checked).contains("3 listed files")
            && stdout(&checked).contains("1 kept older builds"),
        "{}",
        stdout(&checked)
    );

    // An upstream that lags behind the mirror does not take it back, nor is its older file fetched.
    let mut lagging = Upstream::new();
    let older13 = lagging.add(Spec::cpython("3.13.0", "20250101"));
    lagging.server.clear_log();
    assert_success(&sync(env, &dest, lagging.publish(), &[]));
    assert!(lagging.downloads().is_empty(), "{:#?}", lagging.downloads());
    assert_eq!(metadata(&dest)[&older13.key]["build"], "20250201");

    let dry = sync(env, &dest, up.publish(), &["--prune", "--dry-run"]);
    assert_success(&dry);
    assert!(
        stdout(&dry).contains(&format!("would remove 1 files (--prune):\n  {}", old12.rel)),
        "{}",
        stdout(&dry)
    );
    assert!(dest.join(&old12.rel).is_file());
    let pruned = sync(env, &dest, up.publish(), &["--prune"]);
    assert_success(&pruned);
    assert!(
        stdout(&pruned).contains("1 removed by --prune"),
        "{}",
        stdout(&pruned)
    );
    assert!(!dest.join(&old12.rel).exists());
    assert_eq!(
        keys(&metadata(&dest)).len(),
        3,
        "pruning touches no listed file"
    );
    let checked = verify(env, &dest);
    assert_success(&checked);
    assert!(
        stdout(&checked).contains("0 kept older builds"),
        "{}",
        stdout(&checked)
    );
}

#[test]
fn verify_finds_missing_corrupt_and_unlisted_files_and_sync_repairs_them() {
    let world = World::builder().build();
    let env = &world.env;
    let empty = env.root().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let nothing = verify(env, &empty);
    assert_eq!(nothing.status.code(), Some(1));
    assert!(
        stderr(&nothing).contains("cannot read the mirror's metadata"),
        "{}",
        stderr(&nothing)
    );

    let mut up = Upstream::new();
    let a = up.add(Spec::cpython("3.12.8", "20250115"));
    let b = up.add(Spec::cpython("3.11.11", "20250115"));
    let c = up.add(Spec::cpython("3.10.16", "20250115"));
    let from = up.publish();
    let dest = env.root().join("mirror");
    assert_success(&sync(env, &dest, &from, &[]));

    std::fs::remove_file(dest.join(&a.rel)).unwrap();
    let mut damaged = std::fs::read(dest.join(&b.rel)).unwrap();
    damaged[10] ^= 0xff;
    std::fs::write(dest.join(&b.rel), &damaged).unwrap();
    std::fs::write(dest.join("20250115/stray.tar.gz"), b"stray").unwrap();
    std::fs::write(dest.join("20250115/other.tar.gz.part"), b"half").unwrap();

    let checked = verify(env, &dest);
    assert_eq!(checked.status.code(), Some(1));
    let out = stdout(&checked);
    assert!(
        out.contains(&format!("missing  {} (listed as {})", a.rel, a.key)),
        "{out}"
    );
    assert!(
        out.contains(&format!("corrupt  {}: expected sha256 {}", b.rel, b.sha256)),
        "{out}"
    );
    assert!(out.contains("unlisted 20250115/stray.tar.gz"), "{out}");
    assert!(!out.contains(&c.rel), "a good file is not mentioned: {out}");
    assert!(out.contains("1 partial downloads"), "{out}");
    assert!(
        stderr(&checked).contains("has 3 problems"),
        "{}",
        stderr(&checked)
    );

    // The same-size damage is noticed (the stamp's mtime moved) and both are fetched again.
    up.server.clear_log();
    assert_success(&sync(env, &dest, &from, &[]));
    let fetched: BTreeSet<String> = up.downloads().into_iter().map(|r| r.path).collect();
    assert_eq!(fetched, set([a.served.as_str(), b.served.as_str()]));
    let checked = verify(env, &dest);
    assert_eq!(
        checked.status.code(),
        Some(1),
        "the stray file is still there"
    );
    assert_success(&sync(env, &dest, &from, &["--prune"]));
    assert!(
        !dest.join("20250115/other.tar.gz.part").exists(),
        "a part file nobody wants goes too"
    );
    assert_success(&verify(env, &dest));
}

#[test]
fn offline_import_lists_what_a_folder_already_holds_without_network() {
    let world = World::builder().build();
    let env = &world.env;
    let mut up = Upstream::new();
    let a = up.add(Spec::cpython("3.12.8", "20250115"));
    let b = up.add(Spec::cpython("3.11.11", "20250115"));
    let absent = up.add(Spec::cpython("3.10.16", "20250115"));
    let pypy = up.add(Spec {
        name: "pypy",
        version: "3.10.14",
        build: "7.3.17",
        ..Spec::cpython("", "")
    });
    let list = up.publish_file();

    // A folder made by another tool: release-tag folders; one name spelled
    // with %2B; PyPy at the top.
    let dest = env.root().join("imported");
    let www = up.dir.path().join("www");
    let copy = |from: &str, to: &str| {
        let to = dest.join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(www.join(from.trim_start_matches('/')), to).unwrap();
    };
    copy(&a.served, &a.rel);
    copy(&b.served, &b.rel.replace('+', "%2B"));
    copy(&pypy.served, pypy.rel.trim_start_matches("pypy/"));

    up.server.clear_log();
    let output = sync(env, &dest, &list, &["--offline"]);
    assert_success(&output);
    assert!(
        up.server.requests().is_empty(),
        "no network: {:#?}",
        up.server.requests()
    );
    assert!(stdout(&output).contains("imported"), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("1 not in the folder"),
        "{}",
        stdout(&output)
    );
    assert_eq!(
        keys(&metadata(&dest)),
        set([a.key.as_str(), b.key.as_str(), pypy.key.as_str()])
    );
    assert!(!metadata(&dest).contains_key(&absent.key));
    assert_eq!(
        files_in(&dest),
        set(["download-metadata.json", &a.rel, &b.rel, &pypy.rel]),
        "files moved to the mirror's names"
    );
    assert_success(&verify(env, &dest));

    // A damaged file is reported and left out.
    let mut damaged = std::fs::read(dest.join(&a.rel)).unwrap();
    damaged.push(0);
    std::fs::write(dest.join(&a.rel), damaged).unwrap();
    let output = sync(env, &dest, &list, &["--offline"]);
    assert_failure(&output);
    assert!(
        stderr(&output).contains(&format!("{} is corrupt", a.rel)),
        "{}",
        stderr(&output)
    );
    assert!(!metadata(&dest).contains_key(&a.key));
    assert!(up.server.requests().is_empty());
}

#[test]
fn real_uv_installs_through_the_shim_from_the_synced_mirror_over_http() {
    let mut world = World::builder().real_uv(UV_NEW).build();
    let env = &mut world.env;
    let (_upstream, entry, dest) = crafted_mirror(env);
    let mirror = HttpServer::start(&dest);
    env.set_env("UV_SHIM_MIRROR", mirror.base_url());
    let (major, minor, patch) = entry.version;

    let output = run(env
        .uv()
        .args(["python", "install", &format!("{major}.{minor}.{patch}")]));
    assert_success(&output);
    let served: Vec<Request> = mirror
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with(".tar.gz"))
        .collect();
    assert_eq!(served.len(), 1, "{served:#?}");
    assert_eq!(served[0].path, format!("/{}", entry.rel_path));
    assert_eq!(served[0].status, Some(200));
    let printed = run(env
        .command(env.managed_python(&entry))
        .args(["-c", "print(6 * 7)"]));
    assert_success(&printed);
    assert_eq!(stdout(&printed), "42\n");
}

#[test]
fn real_uv_installs_through_the_shim_from_the_synced_mirror_over_file_urls() {
    let mut world = World::builder().real_uv(UV_NEW).build();
    let env = &mut world.env;
    let (upstream, entry, dest) = crafted_mirror(env);
    drop(upstream);
    let base = url_of_dir(&dest);
    env.set_env("UV_SHIM_MIRROR", &base);
    let (major, minor, patch) = entry.version;
    let output = run(env
        .uv()
        .args(["python", "install", &format!("{major}.{minor}.{patch}")]));
    assert_success(&output);
    assert!(env.managed_python(&entry).exists());
}

#[test]
fn old_uv_finds_its_built_in_paths_in_the_synced_mirror() {
    // uv 0.5.31 knows cpython 3.11.7 as build 20240107 and only applies
    // UV_PYTHON_INSTALL_MIRROR; the mirror serves that very path. (Its
    // built-in sha256 then refuses the crafted file: that is expected.)
    let mut world = World::builder().real_uv(UV_OLD).build();
    let env = &mut world.env;
    let upstream_dir = env.root().join("upstream");
    let upstream = HttpServer::start(&upstream_dir);
    let entries = MirrorBuilder::new(&upstream_dir)
        .cpython(3, 11, 7, "20240107")
        .write_metadata(Urls::Absolute(upstream.base_url()));
    let dest = env.root().join("mirror");
    assert_success(&sync(
        env,
        &dest,
        upstream.url("download-metadata.json"),
        &[],
    ));
    let mirror = HttpServer::start(&dest);
    env.set_env("UV_SHIM_MIRROR", mirror.base_url());

    let output = run(env.uv().args(["python", "install", "3.11.7"]));
    assert_failure(&output);
    let served: Vec<Request> = mirror
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with(".tar.gz"))
        .collect();
    assert!(!served.is_empty(), "{}", stderr(&output));
    assert_eq!(served[0].path, format!("/{}", entries[0].rel_path));
    assert_eq!(served[0].status, Some(200), "{served:#?}");
}
