//! One time budget per call: `UV_SHIM_HTTP_TIMEOUT` bounds all the network
//! work of a call, however it fails.
//!
//! * A system resolver that never answers costs the connect limit (2 s, or
//!   the budget when shorter), not the C library's 10 s, and the warning
//!   says it was the name look-up (Linux, root: a mount namespace of the
//!   story's own puts a silent name server in `/etc/resolv.conf`).
//! * Ten mirrors that all stall cost one budget: at most four are asked
//!   per call, each with its share, and later calls ask the others.
//! * DNS discovery with a silent DNS server stays within the budget and
//!   asks at most four names per call.
//! * A bad `UV_SHIM_HTTP_TIMEOUT` is named in one warning; the default holds.
//! * A connection refused by a proxy names the proxy, credentials hidden,
//!   and `doctor` shows the proxy variables.
//!
//! Every story prints what its calls took (`grep took`); the figures are in
//! `docs/faults.md`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::World;
use crate::common::env::{assert_success, run, stderr, stdout};
use crate::common::http::{Fault, HttpServer, dead_port};
use crate::common::scene::{METADATA, one_warning, quiet};
use crate::common::uv::UV_NEW;

/// What a call through the shim may take beyond its budget: uv's start and
/// the shim's own work, on a slow machine.
const SLACK: Duration = Duration::from_millis(1500);

/// Runs `cmd` and says how long it took.
fn timed(cmd: &mut Command) -> (Output, Duration) {
    let started = Instant::now();
    let output = run(cmd);
    (output, started.elapsed())
}

/// The metadata state file (the one there is), with or without a copy.
#[track_caller]
fn state_file(cache_dir: &Path) -> PathBuf {
    let dir = cache_dir.join("metadata");
    let states: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "state"))
        .collect();
    assert_eq!(states.len(), 1, "{states:?}");
    states[0].clone()
}

/// Ends the failure backoff, as a minute's wait would: the next call tries again.
#[track_caller]
fn end_backoff(world: &World) {
    let state = state_file(world.cache_dir());
    let text = std::fs::read_to_string(&state).unwrap();
    let ended: String = text
        .lines()
        .map(|line| match line.strip_prefix("failed ") {
            Some(_) => "failed 0\n".to_string(),
            None => format!("{line}\n"),
        })
        .collect();
    std::fs::write(&state, ended).unwrap();
    world.forget_warm_plans();
}

#[cfg(target_os = "linux")]
#[test]
fn a_silent_system_resolver_costs_the_connect_limit_not_ten_seconds() {
    use crate::common::silent_resolver::SilentResolver;
    if !crate::common::require_root("it binds port 53 and mounts over /etc/resolv.conf") {
        return;
    }
    let mut world = World::builder()
        .real_uv(UV_NEW)
        .default_http_timeout()
        .build();
    let resolver = SilentResolver::start(world.env.root());
    world
        .env
        .write_system_config("mirror = \"http://mirror.silent.test/uv/\"\n");
    let url = "http://mirror.silent.test/uv/download-metadata.json";

    let (output, took) = timed(resolver.apply(world.env.uv().arg("--version")));
    eprintln!(
        "took {took:?} with a silent system resolver, default budget: {}",
        stderr(&output).trim()
    );
    one_warning(
        &output,
        &[
            "could not get the mirror's metadata",
            url,
            "the name look-up of `mirror.silent.test` got no answer within 2s",
        ],
    );
    // The look-up really went to the silent resolver of this namespace.
    assert!(
        resolver
            .asked()
            .iter()
            .any(|name| name == "mirror.silent.test"),
        "asked {:?} at {}",
        resolver.asked(),
        resolver.addr()
    );
    assert!(
        took < Duration::from_secs(2) + SLACK,
        "a silent resolver held the call for {took:?}"
    );

    // A shorter budget bounds the look-up as well.
    world.env.set_env("UV_SHIM_HTTP_TIMEOUT", "1s");
    end_backoff(&world);
    let (output, took) = timed(resolver.apply(world.env.uv().arg("--version")));
    eprintln!("took {took:?} with a silent system resolver, 1s budget");
    one_warning(
        &output,
        &["the name look-up of `mirror.silent.test` got no answer within 1s"],
    );
    assert!(took < Duration::from_secs(1) + SLACK, "took {took:?}");
}

/// Ten mirror servers whose metadata requests all stall, and the config
/// naming them in order.
fn ten_stalling_mirrors(world: &World) -> Vec<HttpServer> {
    let servers: Vec<HttpServer> = (0..10)
        .map(|i| {
            let root = world.env.root().join(format!("stall-{i}"));
            std::fs::create_dir_all(&root).unwrap();
            let server = HttpServer::start(root);
            server.set_fault(None, Fault::Stall);
            server
        })
        .collect();
    let list: Vec<String> = servers
        .iter()
        .map(|s| format!("\"{}\"", s.url("/uv/")))
        .collect();
    world
        .env
        .write_system_config(&format!("mirror = [{}]\n", list.join(", ")));
    servers
}

/// How many metadata requests each server received.
fn asked(servers: &[HttpServer]) -> Vec<usize> {
    servers.iter().map(|s| s.count(METADATA)).collect()
}

#[test]
fn ten_stalling_mirrors_cost_one_budget_and_later_calls_ask_the_rest() {
    let mut world = World::builder().real_uv(UV_NEW).http_timeout("1s").build();
    let servers = ten_stalling_mirrors(&world);

    let (output, took) = timed(world.env.uv().arg("--version"));
    eprintln!("took {took:?} with 10 stalling mirrors, 1s budget");
    let fifth = servers[4].url(METADATA);
    one_warning(
        &output,
        &[
            "could not get the mirror's metadata",
            "no complete answer within",
            "its share of the 1s budget",
            &format!(
                "6 more metadata sources not asked in this call (at most 4 per call); \
                 the next attempt starts with {fifth}"
            ),
        ],
    );
    assert!(took < Duration::from_secs(1) + SLACK, "took {took:?}");
    assert_eq!(asked(&servers), [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);

    // In the backoff nothing is asked and nothing said.
    let output = run(world.env.uv().arg("--version"));
    assert_success(&output);
    assert_eq!(stderr(&output), "");
    assert_eq!(asked(&servers), [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);

    // The next attempts go on down the list, then round to its start.
    end_backoff(&world);
    let output = run(world.env.uv().arg("--version"));
    one_warning(&output, &["the next attempt starts with"]);
    assert_eq!(asked(&servers), [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    end_backoff(&world);
    let output = run(world.env.uv().arg("--version"));
    one_warning(&output, &[&servers[2].url(METADATA)]);
    assert_eq!(asked(&servers), [2, 2, 1, 1, 1, 1, 1, 1, 1, 1]);

    // The default budget bounds the call the same way.
    world.env.unset_env("UV_SHIM_HTTP_TIMEOUT");
    end_backoff(&world);
    let (output, took) = timed(world.env.uv().arg("--version"));
    eprintln!("took {took:?} with 10 stalling mirrors, default budget");
    one_warning(&output, &["its share of the 5s budget"]);
    assert!(took < Duration::from_secs(5) + SLACK, "took {took:?}");
}

#[test]
fn a_silent_dns_server_stays_within_the_budget_four_names_a_call() {
    let domains = [
        "a.example",
        "b.example",
        "c.example",
        "d.example",
        "e.example",
        "f.example",
    ];
    let world = World::dns_scene(&domains).http_timeout("1s").build();
    world.dns().set_silent(true);

    let (output, took) = timed(world.env.uv().arg("--version"));
    eprintln!("took {took:?} with a silent DNS server and 6 domains, 1s budget");
    assert_success(&output);
    assert!(took < Duration::from_secs(1) + SLACK, "took {took:?}");
    let names = |world: &World| {
        let mut names: Vec<String> = world.dns().queries().into_iter().map(|q| q.name).collect();
        names.dedup();
        names.sort();
        names.dedup();
        names
    };
    let first: Vec<String> = domains[..4]
        .iter()
        .map(|d| format!("_uv-mirror.{d}"))
        .collect();
    assert_eq!(names(&world), first);

    // The next call asks the two names this one left (the four are cached).
    world.forget_warm_plans();
    let (output, took) = timed(world.env.uv().arg("--version"));
    assert_success(&output);
    assert!(took < Duration::from_secs(1) + SLACK, "took {took:?}");
    let all: Vec<String> = domains.iter().map(|d| format!("_uv-mirror.{d}")).collect();
    assert_eq!(names(&world), all);
    let report = world.doctor();
    assert!(
        report.dns_details().contains("no answer within 500ms"),
        "{}",
        report.dump()
    );
}

#[test]
fn a_bad_timeout_value_is_named_once_and_the_default_holds() {
    let world = World::scene().http_timeout("soon").build();
    let output = run(world.env.uv().arg("--version"));
    one_warning(
        &output,
        &[
            "UV_SHIM_HTTP_TIMEOUT=`soon` is not a duration such as `5s` or `1500ms`",
            "using 5s",
        ],
    );
    // The metadata was fetched all the same, within the default budget.
    assert_eq!(world.metadata_requests(), 1);
    assert_eq!(world.handed_to_uv(), Some(world.copy_path()));

    let report = world.doctor();
    let problems = report.json["problems"].to_string();
    assert!(problems.contains("`soon`"), "{}", report.dump());
    assert_eq!(report.output.status.code(), Some(1));
}

#[test]
fn a_refused_proxy_is_named_without_its_credentials() {
    let port = dead_port();
    let world = World::scene()
        .env("HTTP_PROXY", format!("http://user:secret@127.0.0.1:{port}"))
        .build();
    let (output, took) = timed(world.env.uv().arg("--version"));
    eprintln!("took {took:?} with a proxy that refuses");
    let warning = one_warning(
        &output,
        &[
            "could not get the mirror's metadata",
            &format!(
                "connection failed through the proxy http://****@127.0.0.1:{port} (from HTTP_PROXY)"
            ),
            "Connection refused",
        ],
    );
    assert!(!warning.contains("secret"), "{warning}");
    // It went to the proxy, not to the mirror.
    assert_eq!(world.metadata_requests(), 0);

    let report = world.doctor();
    let proxy = &report.json["proxy"];
    assert_eq!(
        proxy["variables"],
        serde_json::json!([{"name": "HTTP_PROXY", "value": format!("http://****@127.0.0.1:{port}")}]),
        "{}",
        report.dump()
    );
    assert_eq!(proxy["sources"][0]["source"], world.metadata_url());
    assert!(!stdout(&report.output).contains("secret"));
    let text = run(world.env.shim().arg("doctor"));
    assert!(
        stdout(&text).contains(&format!("HTTP_PROXY         http://****@127.0.0.1:{port}")),
        "{}",
        stdout(&text)
    );

    // NO_PROXY takes the mirror off the proxy: the same rules as the client's.
    let world = World::scene()
        .env("HTTP_PROXY", format!("http://127.0.0.1:{port}"))
        .env("NO_PROXY", "127.0.0.1")
        .build();
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(world.metadata_requests(), 1);
    assert_eq!(
        world.doctor().json["proxy"]["sources"],
        serde_json::json!([])
    );
}
