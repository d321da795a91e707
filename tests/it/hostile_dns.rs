//! A hostile network's search domain. A hotel or café Wi-Fi hands out
//! `search hotel-wifi.test` by DHCP and publishes `_uv-mirror.hotel-wifi.test`
//! with https URLs on hosts inside its own zone, for which it can get real
//! certificates: the in-domain rule cannot tell that record from the
//! organisation's own. So the shim asks DNS only about pinned domains
//! (`dns-domains`, `UV_SHIM_DNS_DOMAINS`); the search list counts only when
//! the system config says `dns-search = true`.
//!
//! The network here is a DNS server on 127.0.0.1 that the test starts
//! (named by `UV_SHIM_DNS_SERVER`) and a resolv.conf of the test's own whose
//! search list is the hostile domain; the server's query log proves what
//! was asked.

use crate::common::World;
use crate::common::dns::TRUST_SEARCH_LIST;
use crate::common::doctor::Report;
use crate::common::env::stderr;
use crate::common::uv::UV_NEW;

/// The domain the hostile network hands out.
const HOSTILE: &str = "hotel-wifi.test";

/// Its record: https, and every host inside its own zone.
const HOSTILE_RECORD: &str =
    "v=uvm1 url=https://mirror.hotel-wifi.test/uv/ index=https://pypi.hotel-wifi.test/simple";

/// The organisation's domain and record.
const CORP: &str = "corp.example";
const CORP_RECORD: &str =
    "v=uvm1 url=https://mirror.corp.example/uv/ index=https://mirror.corp.example/pypi/simple";

/// A machine on the hostile network: its resolv.conf lists only the hostile
/// search domain, whose record the network's DNS server publishes, next to
/// the organisation's record.
fn on_the_hotel_network() -> World {
    let w = World::builder()
        .real_uv(UV_NEW)
        .dns_search_list(&[HOSTILE])
        .build();
    w.dns()
        .txt(&format!("_uv-mirror.{HOSTILE}"), HOSTILE_RECORD)
        .txt(&format!("_uv-mirror.{CORP}"), CORP_RECORD);
    w
}

#[track_caller]
fn assert_nothing_from_dns(w: &World, report: &Report) {
    assert_eq!(report.dns_status(), "not set", "{}", report.dump());
    assert_eq!(report.json["scheme"], "pass-through", "{}", report.dump());
    assert_eq!(
        report.env_var("UV_DEFAULT_INDEX"),
        None,
        "{}",
        report.dump()
    );
    let vars = w.seen_by_uv().vars;
    for name in [
        "UV_DEFAULT_INDEX",
        "UV_PYTHON_DOWNLOADS_JSON_URL",
        "UV_PYTHON_INSTALL_MIRROR",
    ] {
        assert!(!vars.contains_key(name), "uv got {name}: {vars:?}");
    }
    assert_eq!(
        w.dns().total(),
        0,
        "a query was made: {:?}",
        w.dns().queries()
    );
}

#[test]
fn a_hostile_search_domain_is_never_asked_and_a_pinned_domain_is() {
    let mut w = on_the_hotel_network();

    // Nothing pinned: uv runs untouched, and not one query reached the server.
    let output = w.uv_version();
    assert_eq!(stderr(&output), "");
    let report = w.doctor();
    assert_nothing_from_dns(&w, &report);
    let detail = report.dns()["detail"].as_str().unwrap();
    assert!(detail.contains("no domain is pinned"), "{detail}");
    assert!(
        detail.contains("UV_SHIM_DNS_DOMAINS") && detail.contains("`dns-domains = ["),
        "doctor must say how to pin: {detail}"
    );
    assert_eq!(
        report.json["problems"].as_array().unwrap().len(),
        0,
        "{}",
        report.dump()
    );

    // The user's own file cannot make the shim trust the search list.
    w.env.write_user_config(TRUST_SEARCH_LIST);
    let report = w.doctor();
    assert!(
        report.json["problems"]
            .to_string()
            .contains("`dns-search` in user config"),
        "{}",
        report.dump()
    );
    assert!(
        report.json["problems"]
            .to_string()
            .contains("honoured only in the system config"),
        "{}",
        report.dump()
    );
    assert_nothing_from_dns(&w, &report);
    std::fs::remove_file(w.env.config_dir().join("uv-shim/config.toml")).unwrap();

    // Pinned, by the environment: only the pinned domain is asked, and it works.
    w.env.set_env("UV_SHIM_DNS_DOMAINS", CORP);
    let report = w.doctor();
    assert_eq!(report.dns_status(), "chosen", "{}", report.dump());
    assert_eq!(report.bases(), ["https://mirror.corp.example/uv/"]);
    let asked: Vec<String> = w.dns().queries().into_iter().map(|q| q.name).collect();
    assert_eq!(asked, ["_uv-mirror.corp.example"]);
    assert_eq!(
        w.seen_by_uv().vars["UV_DEFAULT_INDEX"],
        "https://mirror.corp.example/pypi/simple"
    );

    // Pinned by a config file: the same.
    w.env.unset_env("UV_SHIM_DNS_DOMAINS");
    w.env
        .write_system_config(&format!("dns-domains = [\"{CORP}\"]\n"));
    let report = w.doctor();
    assert_eq!(report.dns_status(), "chosen", "{}", report.dump());
    assert!(
        report
            .dns_details()
            .contains("domains: corp.example (from system config "),
        "{}",
        report.dns_details()
    );
    assert!(
        !w.dns().queries().iter().any(|q| q.name.contains(HOSTILE)),
        "{:?}",
        w.dns().queries()
    );
}

#[test]
fn the_system_config_may_trust_the_search_list() {
    let w = on_the_hotel_network();
    w.env.write_system_config(TRUST_SEARCH_LIST);

    // An administrator who trusts the network's search list gets what it says.
    let report = w.doctor();
    assert_eq!(report.dns_status(), "chosen", "{}", report.dump());
    assert_eq!(report.bases(), ["https://mirror.hotel-wifi.test/uv/"]);
    let details = report.dns_details();
    assert!(
        details.contains("domains: hotel-wifi.test (from the search list of "),
        "{details}"
    );
    let setting = report.json["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "dns-search")
        .expect("doctor shows dns-search");
    assert_eq!(setting["value"], "true");
    let asked: Vec<String> = w.dns().queries().into_iter().map(|q| q.name).collect();
    assert_eq!(asked, ["_uv-mirror.hotel-wifi.test"]);
}

#[test]
fn a_silent_resolver_costs_nothing_while_nothing_is_pinned() {
    let w = on_the_hotel_network();
    // A resolver that swallows every query: pinned, a call would wait out
    // the 1 s query limit (`dns_lookup.rs`); unpinned, nothing is asked.
    w.dns().set_silent(true);
    let started = std::time::Instant::now();
    let output = w.uv_version();
    let took = started.elapsed();
    eprintln!("a call on a silent, unpinned network took {took:?}");
    assert_eq!(stderr(&output), "");
    assert_eq!(w.dns().total(), 0, "{:?}", w.dns().queries());
    // Room for a loaded machine, still under the query limit it never pays.
    assert!(took < std::time::Duration::from_millis(900), "{took:?}");
}
