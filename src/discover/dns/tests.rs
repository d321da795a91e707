//! DNS discovery end to end inside the process: settings, cache, answers.

use super::*;

fn records(texts: &[&str]) -> Outcome {
    Outcome::Records(texts.iter().map(|t| t.as_bytes().to_vec()).collect())
}

fn settings(domains: Option<&str>, dns: bool) -> Settings {
    let env = |name: &str| match name {
        n if n == EnvVars::UV_SHIM_DNS_DOMAINS => domains.map(str::to_string),
        _ => None,
    };
    let mut s = Settings::resolve(super::super::env::consult(&env).1, None, None, None);
    s.dns.value = dns;
    s
}

/// DNS discovery with these settings, environment and cache, and a 5 s budget.
fn ask(cache: &Cache, s: &Settings, env: Lookup, inputs: &Inputs) -> (SourceReport, Layer) {
    consult(&Input {
        env,
        inputs,
        settings: s,
        cache,
        budget: &Budget::new(Duration::from_secs(5)),
    })
}

#[test]
fn disabled_dns_asks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().to_path_buf());
    let s = settings(Some("corp.example"), false);
    let env = |_: &str| None;
    let (line, found) = ask(&cache, &s, &env, &Inputs::new());
    assert!(matches!(line.status, Status::Skipped(_)));
    assert!(found.mirror.is_none());
}

#[test]
fn a_fresh_cached_answer_is_used_without_asking() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().to_path_buf());
    let s = settings(Some("Corp.Example.,lab.example"), true);
    // A server that does not exist: any query would time out or fail.
    let env =
        |name: &str| (name == EnvVars::UV_SHIM_DNS_SERVER).then(|| "192.0.2.1:53".to_string());
    let query = "_uv-mirror.corp.example";
    let answer = Answer::new(
        query.into(),
        "192.0.2.1:53".into(),
        crate::fsutil::now_secs(),
        records(&["v=uvm1 url=https://m.corp.example/uv/"]),
        Some(300),
    );
    answer_cache::write(&answer_cache::path(&cache, query, "192.0.2.1:53"), &answer);
    let (line, found) = ask(&cache, &s, &env, &Inputs::new());
    // Nothing was asked: a query, answered or not, is written to the cache.
    let lab = answer_cache::path(&cache, "_uv-mirror.lab.example", "192.0.2.1:53");
    assert!(!lab.exists());
    let chosen = found.mirror.unwrap().value;
    assert_eq!(chosen.bases[0].as_str(), "https://m.corp.example/uv/");
    let details = line.details.join("\n");
    assert!(
        details.contains("_uv-mirror.corp.example: 1 TXT record; cached"),
        "{details}"
    );
    assert!(
        details.contains(
            "_uv-mirror.lab.example: not consulted: _uv-mirror.corp.example named the mirror"
        ),
        "{details}"
    );
}

/// A resolv.conf with a search domain whose cached answer names a
/// mirror, and a server that does not exist: only what the settings
/// trust decides whether that mirror is found.
fn with_search_list(dns_search: bool) -> (SourceReport, Layer, Inputs) {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().join("cache"));
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(&resolv, "search hotel-wifi.test\nnameserver 192.0.2.1\n").unwrap();
    let resolv = resolv.display().to_string();
    let env = |name: &str| (name == EnvVars::UV_SHIM_RESOLV_CONF).then(|| resolv.clone());
    let query = "_uv-mirror.hotel-wifi.test";
    let answer = Answer::new(
        query.into(),
        "192.0.2.1:53".into(),
        crate::fsutil::now_secs(),
        records(&["v=uvm1 url=https://pypi.hotel-wifi.test/uv/"]),
        Some(300),
    );
    answer_cache::write(&answer_cache::path(&cache, query, "192.0.2.1:53"), &answer);
    let mut s = settings(None, true);
    s.trust.dns_search = dns_search;
    let inputs = Inputs::new();
    let (line, found) = ask(&cache, &s, &env, &inputs);
    (line, found, inputs)
}

#[test]
fn nothing_pinned_reads_and_asks_nothing_and_says_how_to_pin() {
    let (line, found, inputs) = with_search_list(false);
    assert!(found.mirror.is_none());
    let Status::NotSet(why) = &line.status else {
        panic!("{:?}", line.status);
    };
    assert!(why.contains("no domain is pinned"), "{why}");
    assert!(why.contains("UV_SHIM_DNS_DOMAINS"), "{why}");
    assert!(why.contains("`dns-search = true`"), "{why}");
    // Not even the resolver's configuration was read, and the warm path
    // has no reason to come back.
    assert!(inputs.files().is_empty(), "{:?}", inputs.files());
    assert_eq!(inputs.expires(), u64::MAX);
}

#[test]
fn the_search_list_counts_only_when_the_system_config_trusts_it() {
    let (line, found, inputs) = with_search_list(true);
    let chosen = found.mirror.expect("the search domain's record").value;
    assert_eq!(chosen.bases[0].as_str(), "https://pypi.hotel-wifi.test/uv/");
    let details = line.details.join("\n");
    assert!(
        details.contains("domains: hotel-wifi.test (from the search list of "),
        "{details}"
    );
    assert!(
        details.contains("trusted by `dns-search = true`"),
        "{details}"
    );
    assert!(
        inputs
            .files()
            .iter()
            .any(|(p, _)| p.ends_with("resolv.conf")),
        "{:?}",
        inputs.files()
    );
    assert!(inputs.expires() < u64::MAX);
}

#[test]
fn an_empty_pinned_list_asks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().to_path_buf());
    let s = settings(Some(" , "), true);
    let env = |_: &str| None;
    let (line, found) = ask(&cache, &s, &env, &Inputs::new());
    assert!(found.mirror.is_none());
    assert!(
        matches!(&line.status, Status::NotSet(why) if why.contains("no domains in env UV_SHIM_DNS_DOMAINS")),
        "{:?}",
        line.status
    );
}

#[test]
fn a_bad_server_variable_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().to_path_buf());
    let s = settings(Some("corp.example"), true);
    let env = |name: &str| (name == EnvVars::UV_SHIM_DNS_SERVER).then(|| "dns.example".to_string());
    let (line, _) = ask(&cache, &s, &env, &Inputs::new());
    assert!(
        matches!(&line.status, Status::Error(e) if e.contains("UV_SHIM_DNS_SERVER")),
        "{:?}",
        line.status
    );
}
