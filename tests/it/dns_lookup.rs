//! DNS discovery (source 6), the look-up itself: which names are asked and
//! in which order, how long answers are kept, and what a missing name, a
//! silent or misconfigured resolver, or a large answer costs. Against a real
//! DNS server on 127.0.0.1 ([`World::dns_scene`]) with a query log, so a
//! story can prove from the server's side what was asked; never the
//! machine's resolver. The domains are pinned (`UV_SHIM_DNS_DOMAINS`)
//! unless a story is about the resolver's search list, which counts only
//! with `dns-search = true` in the system config ([`TRUST_SEARCH_LIST`]);
//! what an untrusted search list costs is told in `hostile_dns.rs`.

use std::fs;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::World;
use crate::common::cache::dns_answer_lifetime;
use crate::common::dns::{DOMAIN, NAME, TRUST_SEARCH_LIST};
use crate::common::env::stderr;

#[test]
fn no_such_name_falls_through_to_pass_through() {
    let w = World::dns_scene(&[DOMAIN]).build();
    let started = Instant::now();
    let output = w.uv_version();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(stderr(&output), "");
    assert_eq!(w.dns().count(NAME), 1, "{:?}", w.dns().queries());
    assert_eq!(w.dns().queries()[0].record_type, "TXT");

    let report = w.doctor();
    assert_eq!(report.dns_status(), "not set", "{}", report.dump());
    assert_eq!(report.json["scheme"], "pass-through");
    assert!(
        report
            .dns_details()
            .contains("_uv-mirror.corp.example: no such name (NXDOMAIN); cached"),
        "{}",
        report.dns_details()
    );
    // The negative answer was cached: doctor did not ask again.
    assert_eq!(w.dns().count(NAME), 1);
    assert!(
        report.json["problems"].as_array().unwrap().is_empty(),
        "{}",
        report.dump()
    );
}

#[test]
fn a_silent_server_costs_one_bounded_timeout_and_uv_still_runs() {
    let w = World::dns_scene(&[DOMAIN]).build();
    w.dns().set_silent(true);

    // The shim gives the query 1 s; a resolver's own default would be 5 s or
    // more. The rest of the bound is room for a loaded test machine.
    let started = Instant::now();
    let output = w.uv_version();
    let first = started.elapsed();
    eprintln!("a call on a silent, pinned network took {first:?}");
    assert!(
        first >= Duration::from_millis(900) && first < Duration::from_secs(3),
        "a silent resolver cost {first:?}"
    );
    assert_eq!(stderr(&output), "");
    let asked = w.dns().count(NAME);
    assert!(asked >= 1, "the query never reached the server");

    // The timeout is remembered: the next calls neither ask nor wait.
    let started = Instant::now();
    w.uv_version();
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "a warm call waited {:?}",
        started.elapsed()
    );
    assert_eq!(w.dns().count(NAME), asked);

    let report = w.doctor();
    assert_eq!(report.dns_status(), "not set", "{}", report.dump());
    assert!(
        report.dns_details().contains("no answer within 1s; cached"),
        "{}",
        report.dns_details()
    );
}

#[test]
fn answers_are_cached_for_their_ttl_so_warm_runs_ask_nothing() {
    let w = World::dns_scene(&[DOMAIN]).build();
    w.dns()
        .set_ttl(300)
        .txt(NAME, "v=uvm1 url=https://mirror.corp.example/uv/");

    w.uv_version();
    assert_eq!(w.dns().count(NAME), 1);
    for _ in 0..3 {
        w.uv_version();
    }
    let report = w.doctor();
    assert_eq!(report.dns_status(), "chosen", "{}", report.dump());
    assert_eq!(
        w.dns().total(),
        1,
        "warm runs asked the server: {:?}",
        w.dns().queries()
    );
    assert!(
        report.dns_details().contains("1 TXT record; cached"),
        "{}",
        report.dns_details()
    );

    // The cached file says for how long, in a plain line format.
    let files = w.dns_answers();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = &files[0].1;
    assert!(
        text.starts_with("uv-shim-dns 2\nquery _uv-mirror.corp.example\n"),
        "{text}"
    );
    assert_eq!(dns_answer_lifetime(text), 300);

    // Once it runs out, the next call asks again.
    w.expire_dns_answers();
    w.uv_version();
    assert_eq!(w.dns().count(NAME), 2);
    w.uv_version();
    assert_eq!(w.dns().count(NAME), 2);
}

#[test]
fn a_failed_refresh_keeps_the_records_and_a_real_no_drops_them() {
    let w = World::dns_scene(&[DOMAIN]).build();
    w.dns()
        .txt(NAME, "v=uvm1 url=https://mirror.corp.example/uv/");
    w.uv_version();
    assert_eq!(w.dns().count(NAME), 1);

    // The TTL runs out while the resolver is down: the mirror stays.
    w.expire_dns_answers();
    w.dns().set_silent(true);
    w.uv_version();
    let asked = w.dns().count(NAME);
    assert!(asked >= 2, "the expired answer was not refreshed");
    let report = w.doctor();
    assert_eq!(report.dns_status(), "chosen", "{}", report.dump());
    assert_eq!(report.bases(), ["https://mirror.corp.example/uv/"]);
    assert!(
        report.dns_details().contains("1 TXT record, received")
            && report.dns_details().contains(
                "refreshing it failed (no answer in time), so it is kept until the next try in"
            ),
        "{}",
        report.dns_details()
    );
    // Retried a minute later, not on every call.
    assert_eq!(w.dns().count(NAME), asked);

    // Once the server answers that there is no such record, it is believed.
    w.expire_dns_answers();
    w.dns().set_silent(false).remove(NAME);
    let report = w.doctor();
    assert_eq!(report.dns_status(), "not set", "{}", report.dump());
    assert_eq!(report.json["mirror"], Value::Null);
}

#[test]
fn parallel_cold_calls_make_one_query() {
    let w = World::dns_scene(&[DOMAIN]).build();
    // Slow enough that every call starts before the first answer is back,
    // quick enough that the client does not retransmit (after 333 ms).
    w.dns()
        .set_delay(Duration::from_millis(200))
        .txt(NAME, "v=uvm1 url=https://mirror.corp.example/uv/");
    std::thread::scope(|scope| {
        let calls: Vec<_> = (0..4).map(|_| scope.spawn(|| w.uv_version())).collect();
        for call in calls {
            call.join().unwrap();
        }
    });
    assert_eq!(w.dns().count(NAME), 1, "{:?}", w.dns().queries());
}

#[test]
fn ttls_are_clamped_to_a_minute_and_a_day() {
    for (ttl, kept) in [(5, 60), (10_000_000, 86_400)] {
        let w = World::dns_scene(&[DOMAIN]).build();
        w.dns()
            .set_ttl(ttl)
            .txt(NAME, "v=uvm1 url=https://mirror.corp.example/uv/");
        w.uv_version();
        let files = w.dns_answers();
        assert_eq!(dns_answer_lifetime(&files[0].1), kept, "ttl {ttl}");
    }
}

/// A World whose resolv.conf lists `search`, trusted by the system config.
fn trusted_search_list(search: &[&str]) -> World {
    let w = World::builder()
        .real_uv(crate::common::uv::UV_NEW)
        .dns_search_list(search)
        .build();
    w.env.write_system_config(TRUST_SEARCH_LIST);
    w
}

#[test]
fn the_search_list_is_asked_in_order_without_walking_up() {
    let w = trusted_search_list(&["lab.corp.example", "corp.example"]);
    w.dns()
        .txt(NAME, "v=uvm1 url=https://mirror.corp.example/uv/");

    let report = w.doctor();
    assert_eq!(report.dns_status(), "chosen", "{}", report.dump());
    assert_eq!(
        report.json["mirror"]["origin"],
        "DNS TXT _uv-mirror.corp.example"
    );
    let mut asked: Vec<String> = w.dns().queries().into_iter().map(|q| q.name).collect();
    asked.sort();
    assert_eq!(
        asked,
        ["_uv-mirror.corp.example", "_uv-mirror.lab.corp.example"]
    );
    let details = report.dns_details();
    assert!(
        details.contains("domains: lab.corp.example, corp.example (from the search list of "),
        "{details}"
    );
    assert!(
        details.contains("trusted by `dns-search = true`"),
        "{details}"
    );
    assert!(
        details.contains("_uv-mirror.lab.corp.example: no such name (NXDOMAIN)"),
        "{details}"
    );

    // Only the record's own domain counts: a record under a parent is never asked for.
    let w = trusted_search_list(&["lab.corp.example"]);
    w.dns()
        .txt(NAME, "v=uvm1 url=https://mirror.corp.example/uv/");
    let report = w.doctor();
    assert_eq!(report.dns_status(), "not set", "{}", report.dump());
    let asked: Vec<String> = w.dns().queries().into_iter().map(|q| q.name).collect();
    assert_eq!(asked, ["_uv-mirror.lab.corp.example"]);
}

#[test]
fn the_first_domain_with_a_usable_record_wins() {
    let w = World::dns_scene(&["a.example", "b.example"]).build();
    w.dns()
        .txt(
            "_uv-mirror.a.example",
            "v=uvm1 url=https://mirror.a.example/uv/",
        )
        .txt(
            "_uv-mirror.b.example",
            "v=uvm1 url=https://mirror.b.example/uv/",
        );
    let report = w.doctor();
    assert_eq!(
        report.bases(),
        ["https://mirror.a.example/uv/"],
        "{}",
        report.dump()
    );

    // Warm: the first domain's cached answer settles it; the second is not even read.
    w.dns().clear_log();
    let report = w.doctor();
    assert_eq!(w.dns().total(), 0);
    assert!(
        report
            .dns_details()
            .contains("_uv-mirror.b.example: not consulted: _uv-mirror.a.example named the mirror"),
        "{}",
        report.dns_details()
    );
}

#[test]
fn dns_domains_replace_the_search_list() {
    let mut w = trusted_search_list(&[DOMAIN]);
    w.dns().txt(
        "_uv-mirror.other.example",
        "v=uvm1 url=https://mirror.other.example/uv/",
    );
    w.env.set_env("UV_SHIM_DNS_DOMAINS", "other.example");
    let report = w.doctor();
    assert_eq!(
        report.bases(),
        ["https://mirror.other.example/uv/"],
        "{}",
        report.dump()
    );
    assert!(
        report
            .dns_details()
            .contains("domains: other.example (from env UV_SHIM_DNS_DOMAINS)")
    );
    let asked: Vec<String> = w.dns().queries().into_iter().map(|q| q.name).collect();
    assert_eq!(asked, ["_uv-mirror.other.example"]);

    // The config key does the same.
    let w = trusted_search_list(&[DOMAIN]);
    w.dns().txt(
        "_uv-mirror.cfg.example",
        "v=uvm1 url=https://mirror.cfg.example/uv/",
    );
    w.env.write_system_config(&format!(
        "{TRUST_SEARCH_LIST}dns-domains = [\"cfg.example\"]\n"
    ));
    let report = w.doctor();
    assert_eq!(
        report.bases(),
        ["https://mirror.cfg.example/uv/"],
        "{}",
        report.dump()
    );
}

#[test]
fn a_trusted_but_empty_search_list_asks_nothing() {
    let w = trusted_search_list(&[]);
    let report = w.doctor();
    assert_eq!(report.dns_status(), "not set", "{}", report.dump());
    assert!(
        report.dns()["detail"]
            .as_str()
            .unwrap()
            .contains("no domains in the search list of "),
        "{}",
        report.dump()
    );
    assert_eq!(w.dns().total(), 0);
}

#[test]
fn dns_false_disables_discovery() {
    let w = World::dns_scene(&[DOMAIN]).build();
    w.dns()
        .txt(NAME, "v=uvm1 url=https://mirror.corp.example/uv/");
    w.env.write_system_config("dns = false\n");
    let report = w.doctor();
    assert_eq!(report.dns_status(), "skipped", "{}", report.dump());
    w.uv_version();
    assert_eq!(w.dns().total(), 0);
}

#[test]
fn an_earlier_source_wins_and_the_uv_face_asks_no_dns() {
    let w = World::dns_scene(&[DOMAIN]).build();
    w.dns()
        .txt(NAME, "v=uvm1 url=https://mirror.corp.example/uv/");
    w.env
        .write_system_config("mirror = \"https://sys.corp.example/uv/\"\n");
    let report = w.doctor();
    // doctor consults every source, for the report...
    assert_eq!(report.dns_status(), "shadowed", "{}", report.dump());
    assert_eq!(report.bases(), ["https://sys.corp.example/uv/"]);
    // ...but `uv` stops at the first hit.
    w.dns().clear_log();
    fs::remove_dir_all(w.env.cache_dir().join("dns")).unwrap();
    w.uv_version();
    assert_eq!(w.dns().total(), 0);
}

#[test]
fn a_large_answer_arrives_over_tcp() {
    let w = World::dns_scene(&[DOMAIN]).build();
    // Far more than fits a UDP answer.
    for i in 0..40 {
        w.dns().txt(
            NAME,
            &format!(
                "v=uvm1 prio={} url=https://m{i}.corp.example/uv/ note={}",
                100 + i,
                "x".repeat(150)
            ),
        );
    }
    w.dns()
        .txt(NAME, "v=uvm1 prio=1 url=https://mirror.corp.example/uv/");
    let report = w.doctor();
    assert_eq!(
        report.bases(),
        ["https://mirror.corp.example/uv/"],
        "{}",
        report.dump()
    );
    let protocols: Vec<String> = w.dns().queries().into_iter().map(|q| q.protocol).collect();
    assert!(protocols.contains(&"tcp".to_string()), "{protocols:?}");
}

#[test]
fn a_bad_server_address_is_reported_and_uv_still_runs() {
    let mut w = World::dns_scene(&[DOMAIN]).build();
    w.env.set_env("UV_SHIM_DNS_SERVER", "dns.corp.example");
    let report = w.doctor();
    assert_eq!(report.dns_status(), "error", "{}", report.dump());
    assert!(
        report.dns()["detail"]
            .as_str()
            .unwrap()
            .contains("UV_SHIM_DNS_SERVER: `dns.corp.example` is not an address")
    );
    w.uv_version();
}
