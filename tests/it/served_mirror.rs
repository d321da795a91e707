//! A synced mirror is read by others: a web server whose workers run as
//! another user, or a `file://` reader that is not the user who ran
//! `mirror sync`. Every file the sync writes (metadata, manifest, builds)
//! therefore gets the mode the umask gives a new file, not the 0600 of a
//! temporary file, while the shim's own cache stays private.
//!
//! The stories with another user run as root (CI does): they hand the
//! reader's folders to `nobody` and switch to it with `setpriv`
//! ([`crate::common::users`]); nginx serves through a worker running as
//! `nobody` ([`crate::common::nginx`]).

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::World;
use crate::common::env::{TestEnv, assert_success, run, stderr};
use crate::common::mirror::Entry;
use crate::common::nginx::{Nginx, nginx};
use crate::common::scene::Mirror;
use crate::common::sync::{metadata, url_of_dir};
use crate::common::upstream::{Spec, Upstream};
use crate::common::users::{let_others_through, mode, nobody, with_umask};
use crate::common::uv::UV_NEW;
use crate::common::{require_root, skip};

/// The usual umask of a server's administrator.
const UMASK: u32 = 0o022;

/// `uv-shim mirror sync --dest DEST --from FROM` under `umask`.
#[track_caller]
fn sync_under(env: &TestEnv, umask: u32, dest: &Path, from: &str) -> Output {
    let mut cmd = env.shim();
    cmd.args(["mirror", "sync", "--dest"])
        .arg(dest)
        .args(["--from", from]);
    let output = run(with_umask(&mut cmd, umask));
    assert_success(&output);
    output
}

/// Every file and folder below `dir` (hidden ones included), with its mode.
fn modes_below(dir: &Path) -> Vec<(PathBuf, bool, u32)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let is_dir = path.is_dir();
            if is_dir {
                stack.push(path.clone());
            }
            out.push((path.clone(), is_dir, mode(&path)));
        }
    }
    out.sort();
    out
}

/// The crafted build of the host's Python, served by an upstream on
/// 127.0.0.1 and synced into `dest` under the usual umask: the upstream
/// (keep it while its files are needed) and the entry.
#[track_caller]
fn synced_python(env: &TestEnv, dest: &Path) -> (Mirror, Entry) {
    let upstream = Mirror::absolute(env.root().join("upstream"), "");
    sync_under(env, UMASK, dest, &upstream.metadata_url());
    let entry = upstream.entry.clone();
    assert!(dest.join(&entry.rel_path).is_file());
    (upstream, entry)
}

/// `X.Y.Z` of an entry.
fn version(entry: &Entry) -> String {
    let (major, minor, patch) = entry.version;
    format!("{major}.{minor}.{patch}")
}

#[test]
fn every_file_a_sync_writes_gets_the_umask_mode() {
    let world = World::builder().build();
    let env = &world.env;
    let mut up = Upstream::new();
    up.add(Spec::cpython("3.12.8", "20250115"));
    up.add(Spec {
        name: "pypy",
        version: "3.10.14",
        build: "7.3.17",
        ..Spec::cpython("", "")
    });
    let from = up.publish();

    for (umask, file_mode, dir_mode) in [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)] {
        let dest = env.root().join(format!("mirror-{umask:03o}"));
        sync_under(env, umask, &dest, &from);
        let found = modes_below(&dest);
        for name in [
            "download-metadata.json",
            ".uv-shim/manifest",
            "20250115",
            "pypy",
        ] {
            assert!(
                found.iter().any(|(p, _, _)| p == &dest.join(name)),
                "no {name} in {found:#?}"
            );
        }
        assert!(found.len() >= 7, "{found:#?}");
        for (path, is_dir, mode) in &found {
            let want = if *is_dir { dir_mode } else { file_mode };
            assert_eq!(
                *mode,
                want,
                "{} under umask {umask:03o}: {mode:o}, not {want:o}",
                path.display()
            );
        }
    }

    // A metadata file an earlier version left 0600 is made readable by the
    // next sync, even though its content does not change.
    let dest = env.root().join("mirror-022");
    let meta = dest.join("download-metadata.json");
    let before = metadata(&dest);
    std::fs::set_permissions(&meta, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    sync_under(env, UMASK, &dest, &from);
    assert_eq!(mode(&meta), 0o644);
    assert_eq!(metadata(&dest), before);
}

#[test]
fn another_user_installs_python_from_a_synced_file_mirror() {
    if !require_root("it switches to the `nobody` user") {
        return;
    }
    let mut world = World::builder().real_uv(UV_NEW).build();
    let dest = world.env.root().join("mirror");
    let (_upstream, entry) = synced_python(&world.env, &dest);
    world.env.set_env("UV_SHIM_MIRROR", url_of_dir(&dest));

    // The reader owns its home, caches and Python folder; the mirror stays
    // root's, as the sync wrote it.
    let reader = nobody();
    let_others_through(&dest);
    for entry in std::fs::read_dir(world.env.root()).unwrap() {
        let path = entry.unwrap().path();
        if path != dest && !path.ends_with("upstream") {
            reader.own(&path);
        }
    }
    let env = &world.env;
    let output =
        run(reader
            .command(env, env.uv_link())
            .args(["python", "install", &version(&entry)]));
    assert_success(&output);
    assert_eq!(
        stderr(&output).matches("uv-shim:").count(),
        0,
        "{}",
        stderr(&output)
    );
    let python = env.managed_python(&entry);
    assert!(python.exists(), "{}", stderr(&output));
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&python).unwrap());
    assert_eq!(
        owner, reader.uid,
        "installed by another user than the reader"
    );
}

#[test]
fn nginx_with_an_unprivileged_worker_serves_a_freshly_synced_mirror() {
    // As any other user, nginx's worker would be the sync's own user.
    if !require_root("nginx must serve through a worker running as `nobody`") {
        return;
    }
    let binary = match nginx() {
        Ok(binary) => binary,
        Err(why) => {
            skip(&why);
            return;
        }
    };
    let world = World::builder().real_uv(UV_NEW).build();
    let env = &world.env;
    let www = env.root().join("www");
    let (_upstream, entry) = synced_python(env, &www.join("uv"));

    let nginx = Nginx::start(&binary, &www);
    assert_eq!(nginx.workers(), Some(&nobody()));
    env.write_system_config(&format!("mirror = \"{}\"\n", nginx.url("/uv/")));

    let output = run(env.uv().args(["python", "install", &version(&entry)]));
    let hits = nginx.hits();
    assert!(
        output.status.success() && env.managed_python(&entry).exists(),
        "{}\n{hits:#?}\n{}",
        stderr(&output),
        nginx.error_log()
    );
    let status_of = |suffix: &str| -> Vec<u16> {
        hits.iter()
            .filter(|h| h.uri.ends_with(suffix))
            .map(|h| h.status)
            .collect()
    };
    assert_eq!(status_of("/uv/download-metadata.json"), [200], "{hits:#?}");
    assert_eq!(status_of(".tar.gz"), [200], "{hits:#?}");
}
