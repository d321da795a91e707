//! DNS discovery (source 6), against a real DNS server on 127.0.0.1: what a
//! TXT record says, which records win, which are trusted, and a machine that
//! installs Python with nothing but a record. Which names are asked, how
//! often, and what a silent or broken resolver costs: `dns_lookup.rs`.
//!
//! Every test starts its own DNS server ([`World::dns_scene`]), points the
//! shim at it with `UV_SHIM_DNS_SERVER` and pins the domain it asks about
//! with `UV_SHIM_DNS_DOMAINS` (the resolver's search list is not trusted,
//! see `hostile_dns.rs`); the resolv.conf is the test's own
//! (`UV_SHIM_RESOLV_CONF`), so nothing here reads the machine's
//! `/etc/resolv.conf` or asks its resolver. Mirrors named
//! by records are either hosts under `corp.example` that are never contacted
//! (the record is refused, or the metadata fetch fails fast) or the test HTTP
//! server.
//!
//! The test HTTP server is plain http on `127.0.0.1`, which a DNS-found
//! mirror may not be by default (https, inside the queried domain). Tests
//! that really fetch from it therefore write a system config with
//! `allow-http = true` and `dns-allowed-hosts = ["127.0.0.1"]`
//! ([`TRUST_TEST_SERVER`]), which is exactly the loosening an administrator
//! would have to make; other tests prove that without it such a record is
//! refused.

use std::fs;

use serde_json::Value;

use crate::common::World;
use crate::common::dns::{DOMAIN, NAME, TRUST_TEST_SERVER};
use crate::common::env::{assert_success, run, stderr};
use crate::common::http::Fault;
use crate::common::scene::Mirror;

#[test]
fn one_record_names_the_mirror_and_its_index() {
    let w = World::dns_scene(&[DOMAIN]).build();
    w.dns().txt(
        NAME,
        "v=uvm1 url=https://mirror.corp.example/uv/ index=https://mirror.corp.example/pypi/simple",
    );

    let report = w.doctor();
    assert_eq!(report.dns_status(), "chosen", "{}", report.dump());
    assert_eq!(report.bases(), ["https://mirror.corp.example/uv/"]);
    assert_eq!(
        report.json["mirror"]["origin"],
        "DNS TXT _uv-mirror.corp.example"
    );
    let details = report.dns_details();
    assert!(
        details.contains("domains: corp.example (from "),
        "{details}"
    );
    assert!(
        details.contains(&format!(
            "resolver: {} (from UV_SHIM_DNS_SERVER)",
            w.dns().addr()
        )),
        "{details}"
    );
    assert!(
        details.contains("_uv-mirror.corp.example: 1 TXT record; asked now, kept for 5m"),
        "{details}"
    );
    assert!(details.contains("record `v=uvm1 url=https://mirror.corp.example/uv/ index=https://mirror.corp.example/pypi/simple`: chosen"), "{details}");
    // The index in the record fills what no config file set.
    let index = report
        .env_var("UV_DEFAULT_INDEX")
        .expect("UV_DEFAULT_INDEX");
    assert_eq!(index["value"], "https://mirror.corp.example/pypi/simple");
    assert_eq!(index["set"], true);
    let setting = report.json["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "index-url")
        .unwrap();
    assert_eq!(setting["origin"], "DNS TXT _uv-mirror.corp.example");
    // And the real uv receives it.
    let vars = w.seen_by_uv().vars;
    assert_eq!(
        vars["UV_DEFAULT_INDEX"],
        "https://mirror.corp.example/pypi/simple"
    );
}

#[test]
fn a_config_file_index_beats_the_record_index() {
    let w = World::dns_scene(&[DOMAIN]).build();
    w.dns().txt(
        NAME,
        "v=uvm1 url=https://mirror.corp.example/uv/ index=https://mirror.corp.example/pypi/simple",
    );
    w.env
        .write_user_config("index-url = \"https://user.corp.example/simple\"\n");
    let report = w.doctor();
    assert_eq!(report.dns_status(), "chosen", "{}", report.dump());
    assert_eq!(
        report.env_var("UV_DEFAULT_INDEX").unwrap()["value"],
        "https://user.corp.example/simple"
    );
    let vars = w.seen_by_uv().vars;
    assert_eq!(vars["UV_DEFAULT_INDEX"], "https://user.corp.example/simple");
}

#[test]
fn lowest_prio_wins_and_every_url_of_it_is_a_failover() {
    let w = World::dns_scene(&[DOMAIN]).build();
    w.dns()
        .txt(NAME, "v=uvm1 prio=20 url=https://backup.corp.example/uv/")
        .txt(
            NAME,
            "v=uvm1 prio=10 url=https://a.corp.example/uv/ url=https://a2.corp.example/uv/",
        )
        .txt(NAME, "v=uvm1 prio=10 url=https://b.corp.example/uv/");

    let report = w.doctor();
    assert_eq!(report.dns_status(), "chosen", "{}", report.dump());
    // Winners in a stable order (DNS servers rotate records), every url kept.
    assert_eq!(
        report.bases(),
        [
            "https://a.corp.example/uv/",
            "https://a2.corp.example/uv/",
            "https://b.corp.example/uv/"
        ]
    );
    let details = report.dns_details();
    assert!(
        details.contains("_uv-mirror.corp.example: 3 TXT records"),
        "{details}"
    );
    assert!(
        details.contains(
            "prio=20 url=https://backup.corp.example/uv/`: not chosen: prio 20 loses to prio 10"
        ),
        "{details}"
    );
    assert!(
        details.contains(
            "url=https://b.corp.example/uv/`: chosen: prio 10 is the lowest, shared by 2 records"
        ),
        "{details}"
    );
    let sources = report.json["metadata"]["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 3, "{}", report.dump());
    assert_eq!(
        sources[0],
        "https://a.corp.example/uv/download-metadata.json"
    );
}

#[test]
fn a_record_of_several_strings_is_joined_before_parsing() {
    let w = World::dns_scene(&[DOMAIN]).build();
    // Split in the middle of a key and of a URL, as a zone file with long records does.
    w.dns().txt_strings(
        NAME,
        &[
            "v=uvm1 ur",
            "l=https://mirror.corp.exa",
            "mple/uv/ pr",
            "io=3",
        ],
    );
    let report = w.doctor();
    assert_eq!(report.dns_status(), "chosen", "{}", report.dump());
    assert_eq!(report.bases(), ["https://mirror.corp.example/uv/"]);
    assert!(
        report
            .dns_details()
            .contains("record `v=uvm1 url=https://mirror.corp.example/uv/ prio=3`: chosen")
    );
}

#[test]
fn garbage_records_are_ignored_and_the_good_one_wins() {
    let w = World::dns_scene(&[DOMAIN]).build();
    w.dns()
        .txt(NAME, "v=spf1 -all")
        .txt(NAME, "hello")
        .txt(NAME, "v=uvm1")
        .txt(NAME, "v=uvm1 url=mirror.corp.example")
        .txt(NAME, "v=uvm1 url=https://x.corp.example/ prio=soon")
        .txt_bytes(NAME, &[b"v=uvm1 url=https://y.corp.example/\xff\n\x1b[31m"])
        .txt(
            NAME,
            "v=uvm1 url=https://mirror.corp.example/uv/ colour=blue",
        );

    let report = w.doctor();
    assert_eq!(report.dns_status(), "chosen", "{}", report.dump());
    assert_eq!(report.bases(), ["https://mirror.corp.example/uv/"]);
    let details = report.dns_details();
    for needle in [
        "record `v=spf1 -all`: ignored: does not start with v=uvm1",
        "record `hello`: ignored: does not start with v=uvm1",
        "record `v=uvm1`: ignored: malformed: names no mirror",
        "record `v=uvm1 url=mirror.corp.example`: ignored: malformed: `url=mirror.corp.example` is not a URL",
        "ignored: malformed: `prio=soon` is not a number",
        "record `v=uvm1 url=https://y.corp.example/\\xff\\x0a\\x1b[31m`: ignored: malformed: not UTF-8",
    ] {
        assert!(details.contains(needle), "missing {needle:?} in\n{details}");
    }
    assert!(
        !report.json.to_string().contains('\u{1b}'),
        "control codes reached the report"
    );
}

#[test]
fn only_garbage_means_pass_through() {
    let w = World::dns_scene(&[DOMAIN]).build();
    w.dns().txt(NAME, "v=spf1 -all").txt(NAME, "v=uvm1 url=");
    let report = w.doctor();
    assert_eq!(report.dns_status(), "not set", "{}", report.dump());
    assert_eq!(report.json["mirror"], Value::Null);
    assert_eq!(report.json["scheme"], "pass-through");
    let output = w.uv_version();
    assert_eq!(stderr(&output), "", "garbage is not worth a warning");
}

#[test]
fn plain_http_is_refused_unless_the_system_config_allows_it() {
    let w = World::dns_scene(&[DOMAIN]).build();
    let mirror = Mirror::absolute(w.env.root().join("mirror"), "");
    let server = &mirror.server;
    w.dns()
        .txt(NAME, &format!("v=uvm1 url={}/", server.base_url()));
    // The host is allowed; only the scheme is at stake here.
    w.env
        .write_system_config("dns-allowed-hosts = [\"127.0.0.1\"]\n");

    let report = w.doctor();
    assert_eq!(report.dns_status(), "error", "{}", report.dump());
    assert!(
        report.dns()["detail"].as_str().unwrap().contains("refused"),
        "{}",
        report.dump()
    );
    assert!(
        report
            .dns_details()
            .contains("refused: `url` http://127.0.0.1:"),
        "{}",
        report.dns_details()
    );
    assert!(
        report
            .dns_details()
            .contains("is plain http; a mirror found by DNS must use https")
    );
    assert!(
        report.json["problems"].to_string().contains("refused"),
        "{}",
        report.dump()
    );
    assert_eq!(report.json["mirror"], Value::Null);

    // uv still runs, untouched; nothing was fetched from the refused mirror.
    let output = w.uv_version();
    assert_eq!(server.requests().len(), 0, "a refused mirror was contacted");
    assert_eq!(
        stderr(&output),
        "",
        "the refusal was already reported when the answer arrived"
    );

    // The user's file cannot loosen it.
    w.env.write_user_config("allow-http = true\n");
    let report = w.doctor();
    assert_eq!(report.dns_status(), "error", "{}", report.dump());
    assert!(
        report.json["problems"]
            .to_string()
            .contains("honoured only in the system config")
    );

    // The system's can.
    w.env.write_system_config(TRUST_TEST_SERVER);
    fs::remove_file(w.env.config_dir().join("uv-shim/config.toml")).unwrap();
    let report = w.doctor();
    assert_eq!(report.dns_status(), "chosen", "{}", report.dump());
    assert_eq!(report.bases(), [format!("{}/", server.base_url())]);
    assert_eq!(
        report.json["metadata"]["state"],
        "fetched now",
        "{}",
        report.dump()
    );
    assert_eq!(server.count("/download-metadata.json"), 1);
}

#[test]
fn the_first_refusal_warns_once_on_the_uv_face() {
    let w = World::dns_scene(&[DOMAIN]).build();
    w.dns()
        .txt(NAME, "v=uvm1 url=http://mirror.corp.example/uv/");
    let first = w.uv_version();
    assert!(
        stderr(&first).contains("uv-shim: warning: DNS record _uv-mirror.corp.example refused: `url` http://mirror.corp.example/uv/ is plain http"),
        "{}",
        stderr(&first)
    );
    let second = w.uv_version();
    assert_eq!(
        stderr(&second),
        "",
        "the cached answer must not warn on every call"
    );
}

#[test]
fn hosts_outside_the_domain_are_refused_unless_the_system_config_allows_them() {
    let w = World::dns_scene(&[DOMAIN]).build();
    w.dns()
        .txt(NAME, "v=uvm1 url=https://mirror.other.example/uv/")
        // Inside the domain, but the index is not: the whole record goes.
        .txt(NAME, "v=uvm1 prio=5 url=https://mirror.corp.example/uv/ index=https://pypi.other.example/simple")
        // A look-alike that only ends with the domain's text.
        .txt(NAME, "v=uvm1 prio=7 url=https://evilcorp.example/uv/");

    let report = w.doctor();
    assert_eq!(report.dns_status(), "error", "{}", report.dump());
    let details = report.dns_details();
    for needle in [
        "`url` https://mirror.other.example/uv/ names host `mirror.other.example`, which is outside `corp.example`",
        "`index` https://pypi.other.example/simple names host `pypi.other.example`, which is outside `corp.example`",
        "`url` https://evilcorp.example/uv/ names host `evilcorp.example`, which is outside `corp.example`",
    ] {
        assert!(details.contains(needle), "missing {needle:?} in\n{details}");
    }
    assert_eq!(report.json["mirror"], Value::Null);
    assert_eq!(
        report.env_var("UV_DEFAULT_INDEX"),
        None,
        "a refused record set the index"
    );

    // Not from the user's file.
    w.env.write_user_config(
        "dns-allowed-hosts = [\"mirror.other.example\", \"pypi.other.example\"]\n",
    );
    let report = w.doctor();
    assert_eq!(report.dns_status(), "error", "{}", report.dump());
    assert!(
        report.json["problems"]
            .to_string()
            .contains("`dns-allowed-hosts`"),
        "{}",
        report.dump()
    );

    // From the system's: exactly the hosts it names.
    w.env
        .write_system_config("dns-allowed-hosts = [\"mirror.other.example\"]\n");
    let report = w.doctor();
    assert_eq!(report.dns_status(), "chosen", "{}", report.dump());
    assert_eq!(report.bases(), ["https://mirror.other.example/uv/"]);
    let details = report.dns_details();
    assert!(
        details
            .contains("`index` https://pypi.other.example/simple names host `pypi.other.example`"),
        "{details}"
    );
}

#[test]
fn a_failing_mirror_found_by_dns_fails_over_to_the_next_url() {
    let w = World::dns_scene(&[DOMAIN]).build();
    let good = Mirror::absolute(w.env.root().join("good"), "").server;
    let bad = Mirror::absolute(w.env.root().join("bad"), "").server;
    bad.set_fault(None, Fault::Status(500));
    w.env.write_system_config(TRUST_TEST_SERVER);
    // One record, two urls: the written order is the failover order.
    w.dns().txt(
        NAME,
        &format!("v=uvm1 url={}/ url={}/", bad.base_url(), good.base_url()),
    );
    let report = w.doctor();
    assert_eq!(
        report.json["metadata"]["state"],
        "fetched now",
        "{}",
        report.dump()
    );
    assert_eq!(bad.count("/download-metadata.json"), 1);
    assert_eq!(good.count("/download-metadata.json"), 1);
}

/// The story of the issue: a machine with no config file at all but a
/// pinned domain, whose resolver serves the record, installs Python from
/// the mirror.
#[test]
fn uv_python_install_with_only_a_txt_record() {
    let w = World::dns_scene(&[DOMAIN]).build();
    let mirror = Mirror::absolute(w.env.root().join("mirror"), "");
    let (server, entry) = (&mirror.server, &mirror.entry);
    w.dns()
        .txt(NAME, &format!("v=uvm1 url={}/", server.base_url()));
    // The one concession to the test setup: the mirror is plain http on
    // 127.0.0.1, outside `corp.example`. A real deployment serves
    // https://mirror.corp.example/ and needs no system config at all.
    w.env.write_system_config(TRUST_TEST_SERVER);
    assert!(!w.env.config_dir().join("uv-shim/config.toml").exists());

    let (major, minor, patch) = entry.version;
    let output = run(w
        .env
        .uv()
        .args(["python", "install", &format!("{major}.{minor}.{patch}")]));
    assert_success(&output);
    assert!(w.env.managed_python(entry).exists(), "{}", stderr(&output));
    let log = server.requests();
    assert!(
        log.iter().any(|r| r.path == "/download-metadata.json"),
        "{log:#?}"
    );
    assert!(
        log.iter()
            .any(|r| r.path == format!("/{}", entry.rel_path) && r.status == Some(200)),
        "{log:#?}"
    );
    assert_eq!(w.dns().count(NAME), 1);

    // Warm: uv finds it again, the shim asks DNS nothing and fetches nothing.
    server.clear_log();
    let found = run(w
        .env
        .uv()
        .args(["python", "find", &format!("{major}.{minor}.{patch}")]));
    assert_success(&found);
    assert_eq!(w.dns().count(NAME), 1);
    assert!(server.requests().is_empty(), "{:#?}", server.requests());
}
