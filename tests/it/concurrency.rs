//! Many `uv` calls at once: one fetch, a whole cache file, and uv running everywhere.
//!
//! Each story starts 64 calls through the shim together and waits for all:
//!
//! * with an empty cache: exactly one metadata request reaches the mirror, and
//!   every call hands uv a whole file (uv parses it: `uv python list
//!   --only-downloads` fails on a partial one) that is identical for all;
//! * while a refresh is under way (a stale copy, a slow mirror that publishes
//!   a new document): one request; the refreshing call gets the new document,
//!   every other call the old one at once, never half of either;
//! * while the mirror fails (500, or a stall) with a good copy, and a stall
//!   with no copy at all: uv runs everywhere, one request for the whole storm
//!   (the failure backoff), one warning line for the whole storm, the good
//!   copy survives byte for byte, and the storm ends in bounded time.
//!
//! `shim_cache.rs` has the simple 50-call case; these add the hard ones.

use std::process::Output;
use std::time::Duration;

use crate::common::World;
use crate::common::env::{assert_success, stderr, stdout};
use crate::common::http::Fault;
use crate::common::mirror::{MirrorBuilder, Urls, host_python_version};
use crate::common::scene::METADATA;

/// Calls per storm.
const CALLS: usize = 64;

/// The calls' warning lines, all together.
fn warnings(results: &[(Output, Duration)]) -> Vec<String> {
    results
        .iter()
        .flat_map(|(output, _)| {
            stderr(output)
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// What `uv python list --only-downloads` printed, per call (each must succeed).
#[track_caller]
fn listings(results: &[(Output, Duration)]) -> Vec<String> {
    results
        .iter()
        .map(|(output, _)| {
            assert_success(output);
            stdout(output)
        })
        .collect()
}

const LIST: &[&str] = &["python", "list", "--only-downloads"];

#[test]
fn sixty_four_cold_calls_make_one_fetch_and_share_one_whole_copy() {
    let world = World::scene().build();
    // Slow enough that every call arrives while the first one still fetches.
    world
        .server()
        .set_fault(Some(METADATA), Fault::Delay(Duration::from_millis(500)));

    let (results, took) = world.storm(CALLS, LIST);
    eprintln!("{CALLS} cold calls took {took:?}");
    let listings = listings(&results);
    assert_eq!(warnings(&results), Vec::<String>::new());
    assert_eq!(world.metadata_requests(), 1);
    // Every uv parsed the file it was handed, and all saw the same.
    let (major, minor, patch) = host_python_version();
    let key = format!("cpython-{major}.{minor}.{patch}-");
    assert!(listings[0].contains(&key), "{}", listings[0]);
    assert!(listings.iter().all(|l| *l == listings[0]), "{listings:#?}");
    let copy: serde_json::Value = serde_json::from_slice(&world.copy()).unwrap();
    assert_eq!(copy.as_object().unwrap().len(), 1);
}

#[test]
fn while_a_slow_refresh_is_under_way_the_others_use_the_old_copy_at_once() {
    let world = World::scene().http_timeout("5s").build();
    let old = world.seed();
    world.expire();
    // The mirror gains a build, and is slow to tell.
    let (major, minor, patch) = host_python_version();
    MirrorBuilder::new(&world.mirror().dir)
        .cpython(major, minor, patch, "20250101")
        .cpython(major, minor + 1, 0, "20250101")
        .write_metadata(Urls::Relative);
    // Long enough that all 64 calls start while the refresh is under way,
    // even on a busy machine.
    let delay = Duration::from_secs(3);
    world
        .server()
        .set_fault(Some(METADATA), Fault::Delay(delay));

    let (results, took) = world.storm(CALLS, LIST);
    eprintln!("{CALLS} calls during a refresh took {took:?}");
    let listings = listings(&results);
    assert_eq!(warnings(&results), Vec::<String>::new());
    assert_eq!(world.metadata_requests(), 2, "one seed, one refresh");

    let new_build = format!("cpython-{major}.{}.0-", minor + 1);
    let (new, old_listings): (Vec<_>, Vec<_>) = results
        .iter()
        .zip(&listings)
        .partition(|(_, listing)| listing.contains(&new_build));
    // The refreshing call waited for the mirror and got the new document;
    // all others got the whole old one: had they waited for the refresh,
    // they would have found the new one.
    assert_eq!(new.len(), 1, "{listings:#?}");
    assert!(new[0].0.1 >= delay, "{:?}", new[0].0.1);
    assert!(old_listings.iter().all(|(_, l)| *l == old_listings[0].1));
    let slowest = old_listings.iter().map(|((_, t), _)| *t).max().unwrap();
    eprintln!("the slowest of the other calls took {slowest:?}");

    let new_copy = world.copy();
    assert_ne!(new_copy, old);
    let parsed: serde_json::Value = serde_json::from_slice(&new_copy).unwrap();
    assert_eq!(parsed.as_object().unwrap().len(), 2);

    // The next storm is warm: no request at all.
    let (results, _) = world.storm(CALLS, &["--version"]);
    assert!(
        results
            .iter()
            .all(|(o, _)| o.status.success() && o.stderr.is_empty())
    );
    assert_eq!(world.metadata_requests(), 2);
}

/// A storm against a failing mirror, from a good stale copy: uv runs
/// everywhere, one request, one warning, the copy survives. Returns the
/// storm's duration.
#[track_caller]
fn storm_against(fault: Fault, says: &str) -> Duration {
    let world = World::scene().build();
    let good = world.seed();
    world.expire();
    world.server().set_fault(Some(METADATA), fault);

    let (results, took) = world.storm(CALLS, &["--version"]);
    for (output, _) in &results {
        assert_success(output);
        assert!(stdout(output).starts_with("uv "), "{}", stdout(output));
    }
    let warnings = warnings(&results);
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].contains("could not refresh") && warnings[0].contains(says),
        "{warnings:#?}"
    );
    assert_eq!(
        world.metadata_requests(),
        2,
        "one seed, one failed refresh for the whole storm"
    );
    assert_eq!(world.copy(), good);

    // Within the backoff window a second storm asks nothing and says nothing.
    let (results, _) = world.storm(CALLS, &["--version"]);
    assert!(
        results
            .iter()
            .all(|(o, _)| o.status.success() && o.stderr.is_empty())
    );
    assert_eq!(world.metadata_requests(), 2);
    assert_eq!(world.copy(), good);
    took
}

#[test]
fn sixty_four_calls_against_a_mirror_answering_500() {
    let took = storm_against(Fault::Status(500), "answered HTTP 500");
    eprintln!("{CALLS} calls against a 500 took {took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn sixty_four_calls_against_a_stalled_mirror() {
    let took = storm_against(Fault::Stall, "no complete answer within 1s");
    eprintln!("{CALLS} calls against a stall took {took:?}");
    // One time limit (1 s) for the one call that asked; the rest is start-up.
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn sixty_four_cold_calls_against_a_stalled_mirror() {
    let world = World::scene().build();
    world.server().set_fault(Some(METADATA), Fault::Stall);

    let (results, took) = world.storm(CALLS, &["--version"]);
    eprintln!("{CALLS} cold calls against a stall took {took:?}");
    for (output, _) in &results {
        assert_success(output);
    }
    // One call asked and warned; the others waited for it (bounded by the
    // time limit plus a second), then found the failure remembered.
    let warnings = warnings(&results);
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].contains("no complete answer within 1s"),
        "{warnings:#?}"
    );
    assert_eq!(world.metadata_requests(), 1);
    let slowest = results.iter().map(|(_, t)| *t).max().unwrap();
    assert!(slowest < Duration::from_secs(5), "{slowest:?}");
}
