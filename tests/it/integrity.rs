//! The cached copy is trusted only while it is, byte for byte, the document
//! that was validated.
//!
//! The state file records the copy's sha256. Each story damages the copy in
//! a way its size cannot show (one byte changed in place, the file swapped
//! for a link to the same bytes) and shows that the shim notices on the next
//! call that runs the full pipeline: it fetches the document again in full
//! (no validators, so the server cannot answer 304 for the damaged copy),
//! `refresh` does the same, a 304 that arrives for a copy damaged while the
//! request was on its way is not taken as a confirmation, and while the
//! mirror is down a damaged copy is no copy: uv gets the mirror variables,
//! never the damaged file, and `doctor` does not call it validated.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::World;
use crate::common::env::{RUN_TIMEOUT, assert_success, run, stdout, wait_with_timeout};
use crate::common::http::Fault;
use crate::common::scene::{METADATA, one_warning, quiet};

/// Changes one digit of the copy in place: same size, same inode, still
/// JSON, another document. Returns the damaged bytes.
#[track_caller]
fn flip_a_digit(path: &Path) -> Vec<u8> {
    let mut bytes = std::fs::read(path).unwrap();
    let at = bytes
        .iter()
        .position(u8::is_ascii_digit)
        .expect("a digit in the copy");
    bytes[at] = if bytes[at] == b'9' {
        b'0'
    } else {
        bytes[at] + 1
    };
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, &bytes, 0).unwrap();
    bytes
}

/// The last metadata request: whether it carried a validator, and its status.
#[track_caller]
fn last_request(world: &World) -> (bool, Option<u16>) {
    let last = world
        .server()
        .requests()
        .into_iter()
        .rfind(|r| r.path == METADATA)
        .expect("a metadata request");
    (last.if_none_match.is_some(), last.status)
}

#[test]
fn a_same_size_tampered_copy_is_healed_by_the_next_revalidation() {
    let world = World::scene().build();
    let good = world.seed();
    let path = world.copy_path();

    // Damaged and due for revalidation: the mirror would answer a
    // conditional request with 304, which would keep the damage.
    flip_a_digit(&path);
    world.expire();
    let before = world.metadata_requests();
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(world.metadata_requests(), before + 1);
    assert_eq!(
        last_request(&world),
        (false, Some(200)),
        "validators were sent"
    );
    assert_eq!(world.copy(), good);

    // Damaged while still fresh: the warm plan rests on the file's stamp,
    // which the change moved, so the full pipeline looks and heals it too.
    flip_a_digit(&path);
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(world.metadata_requests(), before + 2);
    assert_eq!(last_request(&world), (false, Some(200)));
    assert_eq!(world.copy(), good);
    assert_eq!(world.handed_to_uv(), Some(path));
}

#[test]
fn a_304_does_not_confirm_a_copy_damaged_while_the_request_was_on_its_way() {
    // Room for two slow answers in one call's budget.
    let world = World::scene().http_timeout("5s").build();
    let good = world.seed();
    let path = world.copy_path();
    world.expire();
    // Slow answers leave time to damage the copy after it was checked and
    // the conditional request sent.
    world
        .server()
        .set_fault(Some(METADATA), Fault::Delay(Duration::from_millis(700)));
    let before = world.metadata_requests();
    let child = world
        .env
        .uv()
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while world.metadata_requests() == before {
        assert!(Instant::now() < deadline, "no revalidation came");
        std::thread::sleep(Duration::from_millis(10));
    }
    flip_a_digit(&path);
    let output = wait_with_timeout(child, "uv --version", RUN_TIMEOUT);
    quiet(&output);

    let requests: Vec<(bool, Option<u16>)> = world
        .server()
        .requests()
        .into_iter()
        .filter(|r| r.path == METADATA)
        .skip(before)
        .map(|r| (r.if_none_match.is_some(), r.status))
        .collect();
    // The 304 confirmed the server's document, not the damaged bytes: the
    // same call fetched it again in full.
    assert_eq!(requests, [(true, Some(304)), (false, Some(200))]);
    assert_eq!(world.copy(), good);
}

#[test]
fn refresh_fetches_a_tampered_copy_again_instead_of_calling_it_unchanged() {
    let world = World::scene().build();
    let good = world.seed();
    flip_a_digit(&world.copy_path());

    let output = run(world.env.shim().arg("refresh"));
    assert_success(&output);
    assert!(
        stdout(&output).starts_with("fetched: "),
        "{}",
        stdout(&output)
    );
    assert_eq!(last_request(&world), (false, Some(200)));
    assert_eq!(world.copy(), good);

    // An intact copy is confirmed with a 304, as before.
    let output = run(world.env.shim().arg("refresh"));
    assert!(
        stdout(&output).starts_with("unchanged (revalidated): "),
        "{}",
        stdout(&output)
    );
    assert_eq!(last_request(&world), (true, Some(304)));
}

#[test]
fn a_tampered_copy_is_no_copy_while_the_mirror_is_down() {
    let world = World::scene().build();
    let good = world.seed();
    let path = world.copy_path();
    flip_a_digit(&path);
    world.server().set_fault(Some(METADATA), Fault::Status(503));

    let output = run(world.env.uv().arg("--version"));
    one_warning(
        &output,
        &[
            "could not get the mirror's metadata",
            "answered HTTP 503",
            &format!("the cached copy {} is not used", path.display()),
            "changed since it was validated (sha256 mismatch)",
            "uv gets the mirror variables",
        ],
    );
    assert_eq!(world.handed_to_uv(), None);
    let report = world.doctor();
    assert_eq!(
        report.json["metadata"]["state"],
        "unavailable",
        "{}",
        report.dump()
    );
    assert!(
        !report.json["env"].to_string().contains("validated copy"),
        "{}",
        report.dump()
    );

    world.server().clear_faults();
    assert_success(&run(world.env.shim().arg("refresh")));
    assert_eq!(world.copy(), good);
    quiet(&run(world.env.uv().arg("--version")));
}

#[cfg(unix)]
#[test]
fn a_cache_file_that_is_a_symlink_is_not_trusted() {
    let world = World::scene().build();
    let good = world.seed();
    let path = world.copy_path();
    let state = world.state_path();

    // The same bytes, elsewhere, behind a link: size and hash would pass.
    let decoy = world.env.root().join("decoy.json");
    std::fs::write(&decoy, &good).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&decoy, &path).unwrap();
    world.expire();
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(last_request(&world), (false, Some(200)));
    assert!(std::fs::symlink_metadata(&path).unwrap().is_file());
    assert_eq!(world.copy(), good);
    assert_eq!(
        std::fs::read(&decoy).unwrap(),
        good,
        "the link's target was written"
    );

    // A linked state file is no state either.
    let decoy_state = world.env.root().join("decoy.state");
    std::fs::copy(&state, &decoy_state).unwrap();
    std::fs::remove_file(&state).unwrap();
    std::os::unix::fs::symlink(&decoy_state, &state).unwrap();
    world.forget_warm_plans();
    let before = world.metadata_requests();
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(world.metadata_requests(), before + 1);
    assert_eq!(last_request(&world), (false, Some(200)));
    assert!(std::fs::symlink_metadata(&state).unwrap().is_file());

    // With the mirror down, a linked copy is never handed to uv.
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&decoy, &path).unwrap();
    world.forget_warm_plans();
    world.server().set_fault(Some(METADATA), Fault::Status(503));
    let output = run(world.env.uv().arg("--version"));
    one_warning(&output, &["symbolic link", "answered HTTP 503"]);
    assert_eq!(world.handed_to_uv(), None);
}
