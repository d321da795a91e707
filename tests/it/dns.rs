//! DNS discovery (source 6), against a real DNS server on 127.0.0.1.
//!
//! Every test starts its own [`DnsServer`] and points the shim at it with
//! `UV_SHIM_DNS_SERVER`; the search list comes from a resolv.conf of the
//! test's own (`UV_SHIM_RESOLV_CONF`), so nothing here reads the machine's
//! `/etc/resolv.conf` or asks its resolver. Mirrors named by records are
//! either hosts under `corp.example` that are never contacted (the record is
//! refused, or the metadata fetch fails fast) or the test HTTP server.
//!
//! The test HTTP server is plain http on `127.0.0.1`, which a DNS-found
//! mirror may not be by default (https, inside the queried domain). Tests
//! that really fetch from it therefore write a system config with
//! `allow-http = true` and `dns-allowed-hosts = ["127.0.0.1"]`, which is
//! exactly the loosening an administrator would have to make; other tests
//! prove that without it such a record is refused.

use crate::common;

use std::fs;
use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::dns::DnsServer;
use common::env::{TestEnv, assert_success, run, stderr, stdout};
use common::http::{Fault, HttpServer};
use common::mirror::{MirrorBuilder, Urls, host_python_version};
use common::uv::{UV_NEW, real_uv};

/// The search domain of most tests.
const DOMAIN: &str = "corp.example";

/// The name the shim asks about for [`DOMAIN`].
const NAME: &str = "_uv-mirror.corp.example";

/// The system config that lets a record name the plain-http test server.
const TRUST_TEST_SERVER: &str = "allow-http = true\ndns-allowed-hosts = [\"127.0.0.1\"]\n";

/// A test's world: the shim's environment and its DNS server.
struct World {
    env: TestEnv,
    dns: DnsServer,
}

impl World {
    /// A DNS server and an environment whose resolv.conf says `search corp.example`.
    fn new() -> World {
        World::with_search(&[DOMAIN])
    }

    /// Like [`World::new`] with another search list.
    fn with_search(domains: &[&str]) -> World {
        let dns = DnsServer::start();
        let env = TestEnv::new()
            .real_uv(real_uv(UV_NEW))
            .with_env("UV_SHIM_DNS_SERVER", dns.addr_string())
            // Bounds the metadata fetch from mirrors that do not exist.
            .with_env("UV_SHIM_HTTP_TIMEOUT", "2s");
        let resolv = env.root().join("resolv.conf");
        let search = if domains.is_empty() {
            String::new()
        } else {
            format!("search {}\n", domains.join(" "))
        };
        fs::write(
            &resolv,
            format!("# test resolver\n{search}nameserver 127.0.0.1\n"),
        )
        .unwrap();
        let env = env.with_env("UV_SHIM_RESOLV_CONF", &resolv);
        World { env, dns }
    }

    /// Runs `uv-shim doctor --json` and returns its report.
    #[track_caller]
    fn doctor(&self) -> Report {
        let output = run(self.env.shim().args(["doctor", "--json"]));
        let json: Value = serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| {
            panic!(
                "doctor --json printed no JSON ({e}):\n{}\n{}",
                stdout(&output),
                stderr(&output)
            )
        });
        Report { json, output }
    }

    /// Runs `uv --version` through the shim (the `uv` face) and checks it worked.
    #[track_caller]
    fn uv_version(&self) -> Output {
        let output = run(self.env.uv().arg("--version"));
        assert_success(&output);
        assert!(
            stdout(&output).starts_with(&format!("uv {UV_NEW}")),
            "{}",
            stdout(&output)
        );
        output
    }

    /// The cached answers (`<cache>/dns/*` without the lock).
    fn cached_answers(&self) -> Vec<(PathBuf, String)> {
        let dir = self.env.cache_dir().join("dns");
        let Ok(entries) = fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut files: Vec<(PathBuf, String)> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_none())
            .map(|p| {
                let text = fs::read_to_string(&p).unwrap();
                (p, text)
            })
            .collect();
        files.sort();
        files
    }
}

/// What `doctor --json` said.
struct Report {
    json: Value,
    output: Output,
}

impl Report {
    /// The line of the DNS source.
    fn dns(&self) -> &Value {
        self.json["sources"]
            .as_array()
            .expect("sources")
            .iter()
            .find(|s| s["name"] == "dns")
            .expect("a dns source line")
    }

    fn dns_status(&self) -> &str {
        self.dns()["status"].as_str().unwrap()
    }

    /// The DNS source's detail lines, one string.
    fn dns_details(&self) -> String {
        let details: Vec<&str> = self.dns()["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap())
            .collect();
        details.join("\n")
    }

    /// The mirror bases in failover order (empty: no mirror).
    fn bases(&self) -> Vec<String> {
        match &self.json["mirror"] {
            Value::Null => Vec::new(),
            mirror => mirror["bases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_str().unwrap().to_string())
                .collect(),
        }
    }

    /// The value the shim sets (or keeps) for `name`, if any.
    fn env_var(&self, name: &str) -> Option<&Value> {
        self.json["env"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
    }

    /// For assertion messages.
    fn dump(&self) -> String {
        format!(
            "{}\n--- stderr\n{}",
            serde_json::to_string_pretty(&self.json).unwrap(),
            stderr(&self.output)
        )
    }
}

/// A crafted mirror with the host's Python, served over http, with absolute URLs.
fn served_mirror(env: &TestEnv, name: &str) -> (HttpServer, Vec<common::mirror::Entry>) {
    let dir = env.root().join(name);
    let server = HttpServer::start(&dir);
    let (major, minor, patch) = host_python_version();
    let entries = MirrorBuilder::new(&dir)
        .cpython(major, minor, patch, "20250101")
        .write_metadata(Urls::Absolute(server.base_url()));
    (server, entries)
}

#[test]
fn one_record_names_the_mirror_and_its_index() {
    let w = World::new();
    w.dns.txt(
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
            w.dns.addr()
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
}

#[test]
fn a_config_file_index_beats_the_record_index() {
    let w = World::new();
    w.dns.txt(
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
}

#[test]
fn lowest_prio_wins_and_every_url_of_it_is_a_failover() {
    let w = World::new();
    w.dns
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
    let w = World::new();
    // Split in the middle of a key and of a URL, as a zone file with long records does.
    w.dns.txt_strings(
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
    let w = World::new();
    w.dns
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
    let w = World::new();
    w.dns.txt(NAME, "v=spf1 -all").txt(NAME, "v=uvm1 url=");
    let report = w.doctor();
    assert_eq!(report.dns_status(), "not set", "{}", report.dump());
    assert_eq!(report.json["mirror"], Value::Null);
    assert_eq!(report.json["scheme"], "pass-through");
    let output = w.uv_version();
    assert_eq!(stderr(&output), "", "garbage is not worth a warning");
}

#[test]
fn plain_http_is_refused_unless_the_system_config_allows_it() {
    let w = World::new();
    let (server, _) = served_mirror(&w.env, "mirror");
    w.dns
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
    let w = World::new();
    w.dns.txt(NAME, "v=uvm1 url=http://mirror.corp.example/uv/");
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
    let w = World::new();
    w.dns
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
fn no_such_name_falls_through_to_pass_through() {
    let w = World::new();
    let started = Instant::now();
    let output = w.uv_version();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(stderr(&output), "");
    assert_eq!(w.dns.count(NAME), 1, "{:?}", w.dns.queries());
    assert_eq!(w.dns.queries()[0].record_type, "TXT");

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
    assert_eq!(w.dns.count(NAME), 1);
    assert!(
        report.json["problems"].as_array().unwrap().is_empty(),
        "{}",
        report.dump()
    );
}

#[test]
fn a_silent_server_costs_one_bounded_timeout_and_uv_still_runs() {
    let w = World::new();
    w.dns.set_silent(true);

    // The shim gives the query 1 s; a resolver's own default would be 5 s or
    // more. The rest of the bound is room for a loaded test machine.
    let started = Instant::now();
    let output = w.uv_version();
    let first = started.elapsed();
    assert!(
        first >= Duration::from_millis(900) && first < Duration::from_secs(3),
        "a silent resolver cost {first:?}"
    );
    assert_eq!(stderr(&output), "");
    let asked = w.dns.count(NAME);
    assert!(asked >= 1, "the query never reached the server");

    // The timeout is remembered: the next calls neither ask nor wait.
    let started = Instant::now();
    w.uv_version();
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "a warm call waited {:?}",
        started.elapsed()
    );
    assert_eq!(w.dns.count(NAME), asked);

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
    let w = World::new();
    w.dns
        .set_ttl(300)
        .txt(NAME, "v=uvm1 url=https://mirror.corp.example/uv/");

    w.uv_version();
    assert_eq!(w.dns.count(NAME), 1);
    for _ in 0..3 {
        w.uv_version();
    }
    let report = w.doctor();
    assert_eq!(report.dns_status(), "chosen", "{}", report.dump());
    assert_eq!(
        w.dns.total(),
        1,
        "warm runs asked the server: {:?}",
        w.dns.queries()
    );
    assert!(
        report.dns_details().contains("1 TXT record; cached"),
        "{}",
        report.dns_details()
    );

    // The cached file says for how long, in a plain line format.
    let files = w.cached_answers();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = &files[0].1;
    assert!(
        text.starts_with("uv-shim-dns 1\nquery _uv-mirror.corp.example\n"),
        "{text}"
    );
    assert_eq!(lifetime(text), 300);

    // Once it runs out, the next call asks again.
    expire(&w);
    w.uv_version();
    assert_eq!(w.dns.count(NAME), 2);
    w.uv_version();
    assert_eq!(w.dns.count(NAME), 2);
}

#[test]
fn a_failed_refresh_keeps_the_records_and_a_real_no_drops_them() {
    let w = World::new();
    w.dns
        .txt(NAME, "v=uvm1 url=https://mirror.corp.example/uv/");
    w.uv_version();
    assert_eq!(w.dns.count(NAME), 1);

    // The TTL runs out while the resolver is down: the mirror stays.
    expire(&w);
    w.dns.set_silent(true);
    w.uv_version();
    let asked = w.dns.count(NAME);
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
    assert_eq!(w.dns.count(NAME), asked);

    // Once the server answers that there is no such record, it is believed.
    expire(&w);
    w.dns.set_silent(false).remove(NAME);
    let report = w.doctor();
    assert_eq!(report.dns_status(), "not set", "{}", report.dump());
    assert_eq!(report.json["mirror"], Value::Null);
}

/// Makes the cached answers of `w` look received 10 minutes ago with a TTL
/// of 5 minutes, and forgets any failed refresh.
fn expire(w: &World) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (path, text) in w.cached_answers() {
        let old: String = text
            .lines()
            .filter(|l| !l.starts_with("stale "))
            .map(|l| match l.split_once(' ') {
                Some(("fetched", _)) => format!("fetched {}\n", now - 600),
                Some(("expires", _)) => format!("expires {}\n", now - 300),
                _ => format!("{l}\n"),
            })
            .collect();
        fs::write(path, old).unwrap();
    }
}

/// `expires - fetched` of a cached answer.
fn lifetime(text: &str) -> u64 {
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .trim()
            .parse()
            .unwrap()
    };
    field("expires ") - field("fetched ")
}

#[test]
fn parallel_cold_calls_make_one_query() {
    let w = World::new();
    // Slow enough that every call starts before the first answer is back,
    // quick enough that the client does not retransmit (after 333 ms).
    w.dns
        .set_delay(Duration::from_millis(200))
        .txt(NAME, "v=uvm1 url=https://mirror.corp.example/uv/");
    std::thread::scope(|scope| {
        let calls: Vec<_> = (0..4).map(|_| scope.spawn(|| w.uv_version())).collect();
        for call in calls {
            call.join().unwrap();
        }
    });
    assert_eq!(w.dns.count(NAME), 1, "{:?}", w.dns.queries());
}

#[test]
fn ttls_are_clamped_to_a_minute_and_a_day() {
    for (ttl, kept) in [(5, 60), (10_000_000, 86_400)] {
        let w = World::new();
        w.dns
            .set_ttl(ttl)
            .txt(NAME, "v=uvm1 url=https://mirror.corp.example/uv/");
        w.uv_version();
        let files = w.cached_answers();
        assert_eq!(lifetime(&files[0].1), kept, "ttl {ttl}");
    }
}

#[test]
fn the_search_list_is_asked_in_order_without_walking_up() {
    let w = World::with_search(&["lab.corp.example", "corp.example"]);
    w.dns
        .txt(NAME, "v=uvm1 url=https://mirror.corp.example/uv/");

    let report = w.doctor();
    assert_eq!(report.dns_status(), "chosen", "{}", report.dump());
    assert_eq!(
        report.json["mirror"]["origin"],
        "DNS TXT _uv-mirror.corp.example"
    );
    let mut asked: Vec<String> = w.dns.queries().into_iter().map(|q| q.name).collect();
    asked.sort();
    assert_eq!(
        asked,
        ["_uv-mirror.corp.example", "_uv-mirror.lab.corp.example"]
    );
    let details = report.dns_details();
    assert!(
        details.contains("domains: lab.corp.example, corp.example"),
        "{details}"
    );
    assert!(
        details.contains("_uv-mirror.lab.corp.example: no such name (NXDOMAIN)"),
        "{details}"
    );

    // Only the record's own domain counts: a record under a parent is never asked for.
    let w = World::with_search(&["lab.corp.example"]);
    w.dns
        .txt(NAME, "v=uvm1 url=https://mirror.corp.example/uv/");
    let report = w.doctor();
    assert_eq!(report.dns_status(), "not set", "{}", report.dump());
    let asked: Vec<String> = w.dns.queries().into_iter().map(|q| q.name).collect();
    assert_eq!(asked, ["_uv-mirror.lab.corp.example"]);
}

#[test]
fn the_first_domain_with_a_usable_record_wins() {
    let w = World::with_search(&["a.example", "b.example"]);
    w.dns
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
    w.dns.clear_log();
    let report = w.doctor();
    assert_eq!(w.dns.total(), 0);
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
    let w = World::new();
    w.dns.txt(
        "_uv-mirror.other.example",
        "v=uvm1 url=https://mirror.other.example/uv/",
    );
    let mut env = w.env;
    env.set_env("UV_SHIM_DNS_DOMAINS", "other.example");
    let w = World { env, dns: w.dns };
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
    let asked: Vec<String> = w.dns.queries().into_iter().map(|q| q.name).collect();
    assert_eq!(asked, ["_uv-mirror.other.example"]);

    // The config key does the same.
    let w = World::new();
    w.dns.txt(
        "_uv-mirror.cfg.example",
        "v=uvm1 url=https://mirror.cfg.example/uv/",
    );
    w.env
        .write_system_config("dns-domains = [\"cfg.example\"]\n");
    let report = w.doctor();
    assert_eq!(
        report.bases(),
        ["https://mirror.cfg.example/uv/"],
        "{}",
        report.dump()
    );
}

#[test]
fn no_search_domain_asks_nothing() {
    let w = World::with_search(&[]);
    let report = w.doctor();
    assert_eq!(report.dns_status(), "not set", "{}", report.dump());
    assert!(
        report.dns()["detail"]
            .as_str()
            .unwrap()
            .contains("no search domains"),
        "{}",
        report.dump()
    );
    assert_eq!(w.dns.total(), 0);
}

#[test]
fn dns_false_disables_discovery() {
    let w = World::new();
    w.dns
        .txt(NAME, "v=uvm1 url=https://mirror.corp.example/uv/");
    w.env.write_system_config("dns = false\n");
    let report = w.doctor();
    assert_eq!(report.dns_status(), "skipped", "{}", report.dump());
    w.uv_version();
    assert_eq!(w.dns.total(), 0);
}

#[test]
fn an_earlier_source_wins_and_the_uv_face_asks_no_dns() {
    let w = World::new();
    w.dns
        .txt(NAME, "v=uvm1 url=https://mirror.corp.example/uv/");
    w.env
        .write_system_config("mirror = \"https://sys.corp.example/uv/\"\n");
    let report = w.doctor();
    // doctor consults every source, for the report...
    assert_eq!(report.dns_status(), "shadowed", "{}", report.dump());
    assert_eq!(report.bases(), ["https://sys.corp.example/uv/"]);
    // ...but `uv` stops at the first hit.
    w.dns.clear_log();
    fs::remove_dir_all(w.env.cache_dir().join("dns")).unwrap();
    w.uv_version();
    assert_eq!(w.dns.total(), 0);
}

#[test]
fn a_large_answer_arrives_over_tcp() {
    let w = World::new();
    // Far more than fits a UDP answer.
    for i in 0..40 {
        w.dns.txt(
            NAME,
            &format!(
                "v=uvm1 prio={} url=https://m{i}.corp.example/uv/ note={}",
                100 + i,
                "x".repeat(150)
            ),
        );
    }
    w.dns
        .txt(NAME, "v=uvm1 prio=1 url=https://mirror.corp.example/uv/");
    let report = w.doctor();
    assert_eq!(
        report.bases(),
        ["https://mirror.corp.example/uv/"],
        "{}",
        report.dump()
    );
    let protocols: Vec<String> = w.dns.queries().into_iter().map(|q| q.protocol).collect();
    assert!(protocols.contains(&"tcp".to_string()), "{protocols:?}");
}

#[test]
fn a_bad_server_address_is_reported_and_uv_still_runs() {
    let w = World::new();
    let mut env = w.env;
    env.set_env("UV_SHIM_DNS_SERVER", "dns.corp.example");
    let w = World { env, dns: w.dns };
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

#[test]
fn a_failing_mirror_found_by_dns_fails_over_to_the_next_url() {
    let w = World::new();
    let (good, _) = served_mirror(&w.env, "good");
    let (bad, _) = served_mirror(&w.env, "bad");
    bad.set_fault(None, Fault::Status(500));
    w.env.write_system_config(TRUST_TEST_SERVER);
    // One record, two urls: the written order is the failover order.
    w.dns.txt(
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

/// The story of the issue: a machine with no config file at all, whose
/// resolver serves the record, installs Python from the mirror.
#[test]
fn uv_python_install_with_only_a_txt_record() {
    let w = World::new();
    let (server, entries) = served_mirror(&w.env, "mirror");
    let entry = &entries[0];
    w.dns
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
    assert_eq!(w.dns.count(NAME), 1);

    // Warm: uv finds it again, the shim asks DNS nothing and fetches nothing.
    server.clear_log();
    let found = run(w
        .env
        .uv()
        .args(["python", "find", &format!("{major}.{minor}.{patch}")]));
    assert_success(&found);
    assert_eq!(w.dns.count(NAME), 1);
    assert!(server.requests().is_empty(), "{:#?}", server.requests());
}
