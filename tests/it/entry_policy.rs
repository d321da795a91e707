//! Where metadata entries may point, and what a large answer costs.
//!
//! Every URL the shim hands uv lies under the mirror (or on a host the
//! system config allows): entries naming another host, a `//host` or
//! `\\host\share` path, a local file from a mirror that is not a `file`
//! mirror, plain http from a mirror that is not `http`, and entries without
//! a sha256 are dropped, counted in `doctor`, and really unusable by uv,
//! while the rest still installs with the real uv. uv's own upstream list
//! works from a mirror after the rewrite to the mirror's layout. A document
//! that loses every entry is a bad answer, and a 64 MiB answer is validated
//! in a few times its size, under a memory limit that uv then runs under.
//!
//! "Another host" is a second harness server on 127.0.0.1 serving the very
//! same files: a URL that reached uv would install from it, so its empty
//! request log is the proof.

use std::path::Path;

use serde_json::{Map, Value, json};

use crate::common::World;
use crate::common::doctor::Report;
use crate::common::env::{TestEnv, assert_failure, assert_success, run, stderr, stdout};
use crate::common::http::HttpServer;
use crate::common::mirror::{Entry, METADATA_FILE, MirrorBuilder, Urls, host_python_version};
use crate::common::scene::{METADATA, one_warning, quiet};
use crate::common::uv::UV_NEW;

const BUILD: &str = "20250101";

/// The upstream prefix of CPython builds, as uv's own list writes it.
const UPSTREAM: &str = "https://github.com/astral-sh/python-build-standalone/releases/download";

/// A mirror under `/uv/` of a harness server, holding `builds` crafted
/// builds of the host's Python line (patch, patch + 1, …), and a second
/// server on 127.0.0.1 serving the same files.
struct Hosts {
    world: World,
    mirror: HttpServer,
    other: HttpServer,
    entries: Vec<Entry>,
}

impl Hosts {
    fn new(builds: u32) -> Hosts {
        let world = World::builder().real_uv(UV_NEW).build();
        let www = world.env.root().join("www");
        let (major, minor, patch) = host_python_version();
        let mut builder = MirrorBuilder::new(www.join("uv"));
        for extra in 0..builds {
            builder = builder.cpython(major, minor, patch + extra, BUILD);
        }
        Hosts {
            mirror: HttpServer::start(&www),
            other: HttpServer::start(&www),
            entries: builder.entries(&Urls::Relative),
            world,
        }
    }

    fn env(&self) -> &TestEnv {
        &self.world.env
    }

    /// Publishes a document of `(entry, url)` pairs, the entry's JSON
    /// passed through `edit`.
    fn publish(&self, listed: &[(&Entry, String)], edit: impl Fn(&Entry, &mut Value)) {
        let mut doc = Map::new();
        for (entry, url) in listed {
            let mut json = entry.to_json(url);
            edit(entry, &mut json);
            doc.insert(entry.key.clone(), json);
        }
        let path = self.world.env.root().join("www/uv").join(METADATA_FILE);
        std::fs::write(path, Value::Object(doc).to_string()).unwrap();
    }

    /// `uv python install <the entry's version>` through the shim.
    fn install(&self, entry: &Entry) -> std::process::Output {
        let (major, minor, patch) = entry.version;
        run(self
            .env()
            .uv()
            .args(["python", "install", &format!("{major}.{minor}.{patch}")]))
    }

    /// Requests for the tarball of `entry` that reached `server`.
    fn fetched(server: &HttpServer, entry: &Entry) -> usize {
        server.count(&format!("/uv/{}", entry.rel_path))
    }
}

/// `metadata.dropped` of a doctor report: how many, and the first reasons.
fn dropped(report: &Report) -> (u64, Vec<String>) {
    let dropped = &report.json["metadata"]["dropped"];
    let first = dropped["first"]
        .as_array()
        .unwrap_or_else(|| panic!("no dropped entries in:\n{}", report.dump()))
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect();
    (dropped["count"].as_u64().unwrap(), first)
}

/// The one reason given for `entry` among `reasons`.
#[track_caller]
fn reason_for<'r>(reasons: &'r [String], entry: &Entry) -> &'r str {
    let key = format!("`{}`: ", entry.key);
    let found: Vec<&String> = reasons.iter().filter(|r| r.starts_with(&key)).collect();
    assert_eq!(found.len(), 1, "{key} in {reasons:#?}");
    found[0]
}

#[test]
fn entries_off_the_mirror_or_without_a_hash_are_dropped_and_the_rest_installs() {
    let hosts = Hosts::new(6);
    let [good, off, slashes, share, local, hashless] = &hosts.entries[..] else {
        unreachable!()
    };
    let other = hosts.other.addr();
    let share_path = slashes.encoded_rel_path().replace('/', "\\");
    hosts.publish(
        &[
            (good, good.url.clone()),
            (off, format!("http://{other}/uv/{}", off.encoded_rel_path())),
            (
                slashes,
                format!("//{other}/uv/{}", slashes.encoded_rel_path()),
            ),
            (share, format!("\\\\{other}\\uv\\{share_path}")),
            (
                local,
                url::Url::from_file_path(&local.path).unwrap().to_string(),
            ),
            (hashless, hashless.url.clone()),
        ],
        |entry, json| {
            if entry == hashless {
                json.as_object_mut().unwrap().remove("sha256");
            }
        },
    );
    let env = hosts.env();
    env.write_system_config(&format!("mirror = \"{}\"\n", hosts.mirror.url("/uv/")));

    let report = hosts.world.doctor();
    assert_eq!(report.json["metadata"]["entries"], 1, "{}", report.dump());
    let (count, reasons) = dropped(&report);
    assert_eq!(count, 5, "{reasons:#?}");
    for (entry, says) in [
        (off, "lies outside the mirror"),
        (slashes, "names a host or share by itself"),
        (share, "names a host or share by itself"),
        (
            local,
            "is a local file, and the mirror is not a file mirror",
        ),
        (hashless, "no sha256"),
    ] {
        let reason = reason_for(&reasons, entry);
        assert!(reason.contains(says), "{reason}");
    }
    // Dropping is no failure: nothing to warn about on the uv face.
    quiet(&run(env.uv().arg("--version")));

    let output = hosts.install(good);
    assert_success(&output);
    assert!(env.managed_python(good).exists(), "{}", stderr(&output));
    assert_eq!(Hosts::fetched(&hosts.mirror, good), 1);

    // The dropped entries are gone for uv: it finds no download for them,
    // and neither host is asked for their files.
    for entry in [off, slashes, share, local, hashless] {
        let output = hosts.install(entry);
        assert_failure(&output);
        assert!(
            stderr(&output).contains("No download found"),
            "{}",
            stderr(&output)
        );
        assert!(!env.managed_python(entry).exists());
    }
    assert!(
        hosts.other.requests().is_empty(),
        "{:#?}",
        hosts.other.requests()
    );
    assert_eq!(Hosts::fetched(&hosts.mirror, hashless), 0);
}

#[test]
fn a_file_mirror_installs_its_own_files_and_drops_plain_http_and_files_elsewhere() {
    let hosts = Hosts::new(3);
    let [good, http, elsewhere] = &hosts.entries[..] else {
        unreachable!()
    };
    let env = hosts.env();
    // The same build, copied outside the mirror's folder.
    let outside = env.root().join("elsewhere").join(&elsewhere.file_name);
    std::fs::create_dir_all(outside.parent().unwrap()).unwrap();
    std::fs::copy(&elsewhere.path, &outside).unwrap();
    hosts.publish(
        &[
            (good, good.url.clone()),
            (
                http,
                hosts
                    .mirror
                    .url(&format!("/uv/{}", http.encoded_rel_path())),
            ),
            (
                elsewhere,
                url::Url::from_file_path(&outside).unwrap().to_string(),
            ),
        ],
        |_, _| {},
    );
    let mirror = url::Url::from_directory_path(env.root().join("www/uv")).unwrap();
    env.write_system_config(&format!("mirror = \"{mirror}\"\n"));

    let report = hosts.world.doctor();
    let (count, reasons) = dropped(&report);
    assert_eq!(count, 2, "{reasons:#?}");
    assert!(reason_for(&reasons, http).contains("is plain http, and the mirror is not http"));
    assert!(reason_for(&reasons, elsewhere).contains("lies outside the mirror"));

    let output = hosts.install(good);
    assert_success(&output);
    assert!(env.managed_python(good).exists(), "{}", stderr(&output));
    for entry in [http, elsewhere] {
        assert_failure(&hosts.install(entry));
    }
    assert!(
        hosts.mirror.requests().is_empty(),
        "{:#?}",
        hosts.mirror.requests()
    );
}

#[test]
fn only_the_system_config_lets_entries_name_another_host_or_go_without_a_hash() {
    let hosts = Hosts::new(3);
    let [good, other_host, hashless] = &hosts.entries[..] else {
        unreachable!()
    };
    // `localhost` is another host name than the mirror's 127.0.0.1.
    let port = hosts.other.addr().port();
    hosts.publish(
        &[
            (good, good.url.clone()),
            (
                other_host,
                format!(
                    "http://localhost:{port}/uv/{}",
                    other_host.encoded_rel_path()
                ),
            ),
            (hashless, hashless.url.clone()),
        ],
        |entry, json| {
            if entry == hashless {
                json.as_object_mut().unwrap().remove("sha256");
            }
        },
    );
    let env = hosts.env();
    let mirror = format!("mirror = \"{}\"\n", hosts.mirror.url("/uv/"));
    let loosen = "allowed-hosts = [\"localhost\"]\nrequire-sha256 = false\n";

    // A user file cannot loosen the rules; each attempt is named.
    env.write_system_config(&mirror);
    env.write_user_config(loosen);
    let report = hosts.world.doctor();
    assert_eq!(dropped(&report).0, 2, "{}", report.dump());
    let problems = report.json["problems"].to_string();
    for key in ["allowed-hosts", "require-sha256"] {
        assert!(
            problems.contains(&format!("`{key}` in user config"))
                && problems.contains("honoured only in the system config"),
            "{problems}"
        );
    }
    assert_failure(&hosts.install(other_host));

    // The system config can. What uv gets changes at once: the rules are
    // part of the cached copy's identity.
    std::fs::remove_file(env.config_dir().join("uv-shim/config.toml")).unwrap();
    env.write_system_config(&format!("{mirror}{loosen}"));
    let report = hosts.world.doctor();
    assert_eq!(report.json["metadata"]["entries"], 3, "{}", report.dump());
    assert_eq!(dropped(&report).0, 0);
    for entry in [other_host, hashless] {
        let output = hosts.install(entry);
        assert_success(&output);
        assert!(env.managed_python(entry).exists(), "{}", stderr(&output));
    }
    assert_eq!(Hosts::fetched(&hosts.other, other_host), 1);
    assert_eq!(Hosts::fetched(&hosts.mirror, hashless), 1);
}

#[test]
fn a_list_written_with_upstream_urls_installs_from_the_mirror() {
    // uv's own list writes every CPython URL under GitHub's release
    // prefix; copied next to the files, it is rewritten to the mirror.
    let hosts = Hosts::new(1);
    let good = &hosts.entries[0];
    hosts.publish(
        &[(good, format!("{UPSTREAM}/{}", good.encoded_rel_path()))],
        |_, _| {},
    );
    let env = hosts.env();
    env.write_system_config(&format!("mirror = \"{}\"\n", hosts.mirror.url("/uv/")));

    let output = hosts.install(good);
    assert_success(&output);
    assert!(env.managed_python(good).exists(), "{}", stderr(&output));
    assert_eq!(Hosts::fetched(&hosts.mirror, good), 1);
    let copy = std::fs::read_to_string(hosts.world.copy_path()).unwrap();
    assert!(!copy.contains("github.com"), "{copy}");
}

/// uv's published list (tests/fixtures, 5,530 entries), unpacked.
fn upstream_list() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/download-metadata-2026-08-18.json.gz");
    let mut body = Vec::new();
    let file = std::fs::File::open(&path).unwrap();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(file), &mut body).unwrap();
    body
}

#[test]
fn uvs_own_list_served_unchanged_points_uv_at_the_mirror() {
    let hosts = Hosts::new(1);
    let list = upstream_list();
    let upstream: Map<String, Value> = serde_json::from_slice(&list).unwrap();
    std::fs::write(
        hosts.world.env.root().join("www/uv").join(METADATA_FILE),
        &list,
    )
    .unwrap();
    let env = hosts.env();
    let base = hosts.mirror.url("/uv/");
    env.write_system_config(&format!("mirror = \"{base}\"\n"));

    let report = hosts.world.doctor();
    let hashless = upstream.values().filter(|e| e["sha256"].is_null()).count();
    assert!(hashless > 0);
    assert_eq!(dropped(&report).0, hashless as u64, "{}", report.dump());
    assert_eq!(
        report.json["metadata"]["entries"],
        upstream.len() - hashless
    );

    // Every URL uv gets is on the mirror, in the layout `mirror sync` writes.
    let copy: Map<String, Value> = serde_json::from_slice(&hosts.world.copy()).unwrap();
    for (key, entry) in &copy {
        let url = entry["url"].as_str().unwrap();
        let upstream_url = upstream[key]["url"].as_str().unwrap();
        let file = upstream_url.rsplit('/').next().unwrap();
        let folder = match entry["name"].as_str().unwrap() {
            "pypy" => "pypy".to_string(),
            "graalpy" => "graalpy".to_string(),
            _ => upstream_url.rsplit('/').nth(1).unwrap().to_string(),
        };
        assert_eq!(url, format!("{base}{folder}/{file}"), "{key}");
    }

    // The real uv reads the copy and asks the mirror for a real build (the
    // mirror holds none: a 404, so uv fails, having asked only the mirror).
    hosts.mirror.clear_log();
    let (major, minor, _) = host_python_version();
    assert_failure(&run(env.uv().args([
        "python",
        "install",
        &format!("{major}.{minor}"),
    ])));
    let asked: Vec<String> = hosts
        .mirror
        .requests()
        .into_iter()
        .map(|r| r.raw_path)
        .filter(|p| p != METADATA)
        .collect();
    assert!(!asked.is_empty());
    for path in &asked {
        assert!(
            copy.values()
                .any(|e| e["url"].as_str().unwrap().ends_with(path.as_str())),
            "{path} is not a URL of the copy"
        );
    }
}

#[test]
fn a_document_that_loses_every_entry_keeps_the_good_copy() {
    let world = World::scene().build();
    let good = world.seed();
    let (fault, _) = world.tampered("url", json!("https://evil.example/uv/python.tar.gz"));
    world.server().set_fault(Some(METADATA), fault);
    world.expire();

    let before = world.metadata_requests();
    one_warning(
        &run(world.env.uv().arg("--version")),
        &[
            "none of its 1 entries",
            "evil.example",
            "lies outside the mirror",
        ],
    );
    assert_eq!(world.metadata_requests(), before + 1);
    assert_eq!(world.copy(), good);
    let report = world.doctor();
    assert_eq!(report.json["metadata"]["state"], "stale (refresh failed)");
    // The failure is remembered: the next calls ask nothing and say nothing.
    quiet(&run(world.env.uv().arg("--version")));
    assert_eq!(world.metadata_requests(), before + 1);
}

/// The mirror's document grown to `size` bytes with zeros in an unknown
/// field of its first entry: valid JSON that costs a tree of values 30
/// times its size.
fn padded(document: &[u8], size: usize) -> Vec<u8> {
    let doc: Map<String, Value> = serde_json::from_slice(document).unwrap();
    let (key, entry) = doc.into_iter().next().unwrap();
    let entry = entry.to_string();
    let head = format!(
        "{{{}:{},\"x-padding\":[",
        Value::String(key),
        &entry[..entry.len() - 1]
    );
    let mut body = head.into_bytes();
    while body.len() + 2 + 4 <= size {
        body.extend_from_slice(b"0,");
    }
    body.extend_from_slice(b"0]}}");
    body
}

#[cfg(target_os = "linux")]
#[test]
fn a_64_mib_answer_is_validated_within_four_times_its_size_and_uv_uses_it() {
    const BODY: usize = 64 * 1024 * 1024 - 4096;
    // Four times the body, and 32 MiB for the shim's own mappings and
    // threads; the old tree of values needed 2.4 GB for this body.
    const LIMIT: usize = 4 * BODY + (32 << 20);
    // Validating 64 MiB takes a debug build several seconds.
    let world = World::scene().http_timeout("60s").build();
    let mirror = world.mirror();
    let body = padded(&mirror.document(), BODY);
    assert!(body.len() <= BODY && body.len() > BODY - 16);
    std::fs::write(mirror.dir.join(METADATA_FILE), &body).unwrap();

    let limited = |limit: usize| {
        // The limit is kept across the exec into uv.
        run(world
            .env
            .command("prlimit")
            .arg(format!("--as={limit}"))
            .arg("--")
            .arg(world.env.uv_link())
            .arg("--version"))
    };

    // Too little memory for the copy is a failure like any other: uv runs,
    // the failure is remembered, and the next call does not fetch again.
    // (The body itself and no more: with musl's allocator, which reserves
    // less address space than glibc's, twice the body is still enough.)
    let tight = BODY + (32 << 20);
    one_warning(&limited(tight), &["no memory for a", "ulimit -v"]);
    quiet(&limited(tight));
    assert_eq!(world.metadata_requests(), 1);
    world.forget_metadata();

    // A cold call under four times the body: the shim fetches and
    // validates the answer, then uv runs.
    let output = limited(LIMIT);
    assert_success(&output);
    assert_eq!(stderr(&output), "");
    assert!(stdout(&output).starts_with("uv "));
    assert_eq!(world.metadata_requests(), 2);
    // The copy is the whole answer, unknown field and all.
    assert!(world.copy().len() > BODY - 4096);

    // uv reads that copy and installs from it; nothing is fetched again.
    let output = run(world
        .env
        .uv()
        .args(["python", "install", &mirror.version()]));
    assert_success(&output);
    assert!(
        world.env.managed_python(&mirror.entry).exists(),
        "{}",
        stderr(&output)
    );
    assert_eq!(world.metadata_requests(), 2);
}
