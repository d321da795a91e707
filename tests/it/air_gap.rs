//! Across the air gap: `mirror export` on the internet side, the bundle
//! carried over, `mirror import` on the inside, month after month.
//!
//! The outside mirror is synced from upstreams on 127.0.0.1 (real builds
//! of the host's Python that the real uv installs, and larger generated
//! builds); the inside mirror is another folder served by a second server.
//! The fault stories damage the bundle on its way and check that the
//! inside keeps serving what it served before, and says what is wrong.
//! Signatures across the gap are told in `air_gap_signed.rs`; clients
//! listing the inside during an import, in `air_gap_live.rs`.

use std::path::{Path, PathBuf};

use crate::common::World;
use crate::common::bundle::{
    RealUpstream, carried, export, import, install_through_shim, parts_of,
};
use crate::common::env::{TestEnv, assert_failure, assert_success, run, stderr, stdout};
use crate::common::http::HttpServer;
use crate::common::sync::{metadata, sync, verify};
use crate::common::upstream::{Download, Spec, Upstream};
use crate::common::uv::UV_NEW;

#[test]
fn the_monthly_routine_carries_a_mirror_and_then_only_what_is_new() {
    let mut world = World::builder().real_uv(UV_NEW).build();
    let env = &mut world.env;
    let outside = env.root().join("outside");
    let inside = env.root().join("inside");
    let media = env.root().join("media");
    std::fs::create_dir_all(&media).unwrap();
    let real = RealUpstream::new(env.root().join("upstream"));
    let mut generated = Upstream::new();

    // Month 1: sync, export everything, import inside, install from the inside.
    let first = real.publish("20250101");
    let old = generated.add(Spec {
        size: 1_000_000,
        ..Spec::cpython("3.11.9", "20250101")
    });
    assert_success(&sync(env, &outside, real.list(), &[]));
    assert_success(&sync(env, &outside, generated.publish(), &[]));
    let month1 = media.join("month1.tar");
    let out = export(env, &outside, &month1, &[]);
    assert_success(&out);
    assert!(
        stdout(&out).contains("delta: 2 of 2 files"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        carried(std::slice::from_ref(&month1)),
        [first.rel_path.clone(), old.rel.clone()].into()
    );

    let server = HttpServer::start(&inside);
    let imported = import(env, &[month1], &inside, &[]);
    assert_success(&imported);
    assert!(
        stdout(&imported).contains("2 files placed"),
        "{}",
        stdout(&imported)
    );
    env.set_env("UV_SHIM_MIRROR", server.base_url());
    assert_eq!(
        install_through_shim(env, &server, &first, false),
        format!("/{}", first.rel_path)
    );

    // Month 2: upstream rebuilds the host's Python and adds a version.
    let second = real.publish("20250201");
    let new = generated.add(Spec {
        size: 1_000_000,
        ..Spec::cpython("3.13.0", "20250201")
    });
    assert_success(&sync(env, &outside, real.list(), &[]));
    assert_success(&sync(env, &outside, generated.publish(), &[]));
    let month2 = media.join("month2.tar");
    let out = export(env, &outside, &month2, &["--since", "last"]);
    assert_success(&out);
    assert!(
        stdout(&out).contains("delta: 2 of 3 files"),
        "{}",
        stdout(&out)
    );
    let new_files = [second.rel_path.clone(), new.rel.clone()];
    assert_eq!(
        carried(std::slice::from_ref(&month2)),
        new_files.clone().into()
    );
    let new_bytes: u64 = new_files
        .iter()
        .map(|rel| std::fs::metadata(outside.join(rel)).unwrap().len())
        .sum();
    let bundle = std::fs::metadata(&month2).unwrap().len();
    assert!(
        bundle * 100 < new_bytes * 105,
        "a delta of {new_bytes} bytes took {bundle}"
    );
    println!("month 2: new files {new_bytes} bytes, delta bundle {bundle} bytes");
    print!("{}", stdout(&out));

    let imported = import(env, &[month2], &inside, &[]);
    assert_success(&imported);
    assert!(
        stdout(&imported).contains("2 files placed"),
        "{}",
        stdout(&imported)
    );
    assert_success(&run(env.shim().arg("refresh")));
    assert_eq!(
        install_through_shim(env, &server, &second, true),
        format!("/{}", second.rel_path)
    );
    let checked = verify(env, &inside);
    assert_success(&checked);
    assert!(
        stdout(&checked).contains("1 kept older builds"),
        "{}",
        stdout(&checked)
    );
    assert!(
        inside.join(&first.rel_path).is_file(),
        "the build the previous metadata named stays"
    );
    assert_eq!(metadata(&inside), metadata(&outside));
}

/// An outside mirror of two months (generated builds) and the bundles:
/// month 1 whole, month 2 as a delta cut into parts of 64 KiB.
pub(crate) struct Months {
    pub(crate) outside: PathBuf,
    pub(crate) month1: PathBuf,
    pub(crate) month2: Vec<PathBuf>,
    /// The files new in month 2.
    pub(crate) new: Vec<Download>,
    _upstream: Upstream,
}

pub(crate) fn two_months(env: &TestEnv) -> Months {
    let outside = env.root().join("outside");
    let media = env.root().join("media");
    std::fs::create_dir_all(&media).unwrap();
    let mut up = Upstream::new();
    up.add(Spec {
        size: 300_000,
        ..Spec::cpython("3.11.9", "20250101")
    });
    up.add(Spec {
        size: 300_000,
        ..Spec::cpython("3.12.7", "20250101")
    });
    assert_success(&sync(env, &outside, up.publish(), &[]));
    let month1 = media.join("month1.tar");
    assert_success(&export(env, &outside, &month1, &[]));
    let new = vec![
        up.add(Spec {
            size: 300_000,
            ..Spec::cpython("3.12.7", "20250201")
        }),
        up.add(Spec {
            size: 300_000,
            ..Spec::cpython("3.13.0", "20250201")
        }),
    ];
    assert_success(&sync(env, &outside, up.publish(), &[]));
    let out = media.join("month2.tar");
    assert_success(&export(
        env,
        &outside,
        &out,
        &["--since", "last", "--split", "64K"],
    ));
    let month2 = parts_of(&out);
    assert!(month2.len() >= 9, "{month2:?}");
    Months {
        outside,
        month1,
        month2,
        new,
        _upstream: up,
    }
}

/// The inside after month 1: its metadata, to compare after a fault.
pub(crate) fn inside_after_month1(env: &TestEnv, m: &Months) -> (PathBuf, Vec<u8>) {
    let inside = env.root().join("inside");
    assert_success(&import(env, std::slice::from_ref(&m.month1), &inside, &[]));
    let before = std::fs::read(inside.join("download-metadata.json")).unwrap();
    (inside, before)
}

/// The fault left the inside as it was: same metadata, and `verify` clean.
#[track_caller]
fn still_serving(env: &TestEnv, inside: &Path, before: &[u8]) {
    assert_eq!(
        std::fs::read(inside.join("download-metadata.json")).unwrap(),
        before
    );
    assert_success(&verify(env, inside));
}

#[test]
fn damaged_bundles_are_refused_by_name_and_the_inside_keeps_serving() {
    let world = World::builder().build();
    let env = &world.env;
    let m = two_months(env);
    let (inside, before) = inside_after_month1(env, &m);
    let stash = env.root().join("stash");
    std::fs::create_dir_all(&stash).unwrap();

    // A missing part.
    let mut without = m.month2.clone();
    let gone = without.remove(1);
    let out = import(env, &without, &inside, &[]);
    assert_failure(&out);
    assert!(
        stderr(&out).contains(&format!("part {} is missing", gone.display())),
        "{}",
        stderr(&out)
    );
    still_serving(env, &inside, &before);

    // A truncated part (not the last), then a truncated last part.
    let keep = stash.join("part");
    std::fs::copy(&m.month2[2], &keep).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&m.month2[2])
        .unwrap()
        .set_len(1000)
        .unwrap();
    let out = import(env, &m.month2, &inside, &[]);
    assert_failure(&out);
    assert!(
        stderr(&out).contains(&format!("part {} is 1000 bytes", m.month2[2].display()))
            && stderr(&out).contains("truncated"),
        "{}",
        stderr(&out)
    );
    still_serving(env, &inside, &before);
    std::fs::copy(&keep, &m.month2[2]).unwrap();
    let last = m.month2.last().unwrap();
    std::fs::copy(last, &keep).unwrap();
    std::fs::File::options()
        .write(true)
        .open(last)
        .unwrap()
        .set_len(100)
        .unwrap();
    let out = import(env, &m.month2, &inside, &[]);
    assert_failure(&out);
    assert!(
        stderr(&out).contains("cut short") || stderr(&out).contains("before its end mark"),
        "{}",
        stderr(&out)
    );
    still_serving(env, &inside, &before);
    std::fs::copy(&keep, last).unwrap();

    // A flipped byte in a carried file.
    let whole: Vec<u8> = m
        .month2
        .iter()
        .flat_map(|p| std::fs::read(p).unwrap())
        .collect();
    let content = std::fs::read(m.outside.join(&m.new[1].rel)).unwrap();
    let at = whole
        .windows(64)
        .position(|w| w == &content[1000..1064])
        .unwrap()
        + 10;
    let (part, offset) = (at / 65536, at % 65536);
    std::fs::copy(&m.month2[part], &keep).unwrap();
    let mut bytes = std::fs::read(&m.month2[part]).unwrap();
    bytes[offset] ^= 0x40;
    std::fs::write(&m.month2[part], bytes).unwrap();
    let out = import(env, &m.month2, &inside, &[]);
    assert_failure(&out);
    assert!(
        stderr(&out).contains(&format!("{} is damaged in the bundle", m.new[1].rel))
            && stderr(&out).contains(&m.new[1].sha256),
        "{}",
        stderr(&out)
    );
    still_serving(env, &inside, &before);
    std::fs::copy(&keep, &m.month2[part]).unwrap();

    // Intact, it goes in; a second time it changes nothing.
    let out = import(env, &m.month2, &inside, &[]);
    assert_success(&out);
    assert!(
        stdout(&out).contains("1 files placed") && stdout(&out).contains("1 already present"),
        "the failed imports had placed the first file: {}",
        stdout(&out)
    );
    let again = import(env, &m.month2, &inside, &[]);
    assert_success(&again);
    assert!(
        stdout(&again).contains("0 files placed")
            && stdout(&again).contains("2 already present")
            && stdout(&again).contains("already this one"),
        "{}",
        stdout(&again)
    );
    assert_eq!(metadata(&inside), metadata(&m.outside));
    assert_success(&verify(env, &inside));
}

#[test]
fn a_delta_without_its_base_is_refused_naming_the_missing_files() {
    let world = World::builder().build();
    let env = &world.env;
    let m = two_months(env);
    let empty = env.root().join("new-inside");
    let out = import(env, &m.month2, &empty, &[]);
    assert_failure(&out);
    let err = stderr(&out);
    // The older 3.12.7 build is no base: the new metadata names its rebuild.
    assert!(err.contains("lacks 1 of the files it builds on"), "{err}");
    assert!(err.contains("3.11.9+20250101"), "{err}");
    assert!(!empty.join("download-metadata.json").exists());
}

#[cfg(unix)]
#[test]
fn an_import_killed_halfway_resumes_and_publishes_only_at_the_end() {
    let world = World::builder().build();
    let env = &world.env;
    let m = two_months(env);
    let (inside, before) = inside_after_month1(env, &m);

    // The last part is a pipe nobody writes to: the import places what the
    // earlier parts hold, then waits, and is killed there.
    let last = m.month2.last().unwrap().clone();
    let kept = env.root().join("last-part");
    std::fs::rename(&last, &kept).unwrap();
    let made = run(env.command("mkfifo").arg(&last));
    assert_success(&made);
    let mut child = env
        .shim()
        .args(["mirror", "import"])
        .args(&m.month2)
        .arg("--dest")
        .arg(&inside)
        .spawn()
        .unwrap();
    // Placed and recorded: the import is then waiting on the pipe.
    let manifest = inside.join(".uv-shim/manifest");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !std::fs::read_to_string(&manifest).is_ok_and(|text| text.contains(&m.new[0].rel)) {
        assert!(
            std::time::Instant::now() < deadline,
            "the import placed nothing"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    still_serving(env, &inside, &before);

    std::fs::remove_file(&last).unwrap();
    std::fs::rename(&kept, &last).unwrap();
    let out = import(env, &m.month2, &inside, &[]);
    assert_success(&out);
    assert!(
        stdout(&out).contains("1 already present"),
        "{}",
        stdout(&out)
    );
    assert_eq!(metadata(&inside), metadata(&m.outside));
    assert_success(&verify(env, &inside));

    // --prune removes what no metadata names any more, and nothing else.
    let pruned = import(env, &m.month2, &inside, &["--prune"]);
    assert_success(&pruned);
    assert!(
        stdout(&pruned).contains("1 removed by --prune"),
        "{}",
        stdout(&pruned)
    );
    assert!(
        !inside
            .join("20250101/cpython-3.12.7+20250101-x86_64-unknown-linux-gnu-install_only.tar.gz")
            .exists()
    );
    assert!(
        inside
            .join("20250101/cpython-3.11.9+20250101-x86_64-unknown-linux-gnu-install_only.tar.gz")
            .exists()
    );
    assert_success(&verify(env, &inside));
}
