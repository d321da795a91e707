//! Validation follows uv: a structure error still refuses a document, but a
//! value uv itself skips (an unknown `os`, `libc`, `arch` or implementation)
//! drops that entry only, counted in `doctor`, and the rest still installs
//! with the real uv. uv's published lists of three points of its history
//! are accepted as they are (the oldest, with `arch` as a plain string,
//! upgraded to the current form), and the real uv reads every entry the
//! shim hands it. `mirror sync --from` an old list writes the current form
//! and leaves out, with a note, what uv would skip.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::common::World;
use crate::common::doctor::Report;
use crate::common::env::{assert_success, run, stderr, stdout};
use crate::common::http::HttpServer;
use crate::common::mirror::{METADATA_FILE, MirrorBuilder, Urls, host_python_version};
use crate::common::scene::quiet;
use crate::common::sync::{metadata, sync, verify};
use crate::common::upstream::{Spec, Upstream};
use crate::common::uv::UV_NEW;

const BUILD: &str = "20250101";

/// One of uv's published lists (tests/fixtures), unpacked.
fn upstream_list(date: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/fixtures/download-metadata-{date}.json.gz"));
    let mut body = Vec::new();
    let file = std::fs::File::open(&path).unwrap();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(file), &mut body).unwrap();
    body
}

/// `metadata.dropped` of a doctor report: how many, and the first reasons.
fn dropped(report: &Report) -> (u64, Vec<String>) {
    let dropped = &report.json["metadata"]["dropped"];
    let first = dropped["first"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|d| d.as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    (dropped["count"].as_u64().unwrap_or(0), first)
}

#[test]
fn an_entry_uv_would_skip_is_dropped_and_the_others_still_install() {
    let world = World::builder().real_uv(UV_NEW).build();
    let env = &world.env;
    let www = env.root().join("www");
    let (major, minor, patch) = host_python_version();
    let mut builder = MirrorBuilder::new(www.join("uv"));
    for extra in 0..5 {
        builder = builder.cpython(major, minor, patch + extra, BUILD);
    }
    let entries = builder.entries(&Urls::Relative);
    let mirror = HttpServer::start(&www);
    let [good, os, libc, arch, name] = &entries[..] else {
        unreachable!()
    };
    let unknown = [
        (os, "os", json!("plan9")),
        (libc, "libc", json!("bionic")),
        (arch, "arch", json!({"family": "vax", "variant": null})),
        (name, "name", json!("jython")),
    ];
    let mut doc = Map::new();
    doc.insert(good.key.clone(), good.to_json(&good.url));
    for (entry, field, value) in &unknown {
        let mut json = entry.to_json(&entry.url);
        json[*field] = value.clone();
        doc.insert(entry.key.clone(), json);
    }
    std::fs::write(
        www.join("uv").join(METADATA_FILE),
        Value::Object(doc).to_string(),
    )
    .unwrap();
    env.write_system_config(&format!("mirror = \"{}\"\n", mirror.url("/uv/")));

    let report = world.doctor();
    assert_eq!(report.json["metadata"]["entries"], 1, "{}", report.dump());
    let (count, reasons) = dropped(&report);
    assert_eq!(count, 4, "{reasons:#?}");
    for ((entry, field, _), says) in unknown.iter().zip([
        "`os` = `plan9`",
        "`libc` = `bionic`",
        "`arch.family` = `vax`",
        "`name` = `jython`",
    ]) {
        let reason = reasons
            .iter()
            .find(|r| r.starts_with(&format!("`{}`: ", entry.key)))
            .unwrap_or_else(|| panic!("no reason for {field} in {reasons:#?}"));
        assert!(reason.contains(says), "{reason}");
        assert!(reason.contains("uv skips such entries"), "{reason}");
    }
    // A dropped entry is no failure: the uv face stays quiet.
    quiet(&run(env.uv().arg("--version")));

    let output = run(env
        .uv()
        .args(["python", "install", &format!("{major}.{minor}.{patch}")]));
    assert_success(&output);
    assert!(env.managed_python(good).exists(), "{}", stderr(&output));
    assert_eq!(mirror.count(&format!("/uv/{}", good.rel_path)), 1);
    // The four were never handed to uv: none of their files is asked for.
    for (entry, _, _) in &unknown {
        assert_eq!(mirror.count(&format!("/uv/{}", entry.rel_path)), 0);
    }
}

#[test]
fn a_structure_error_still_refuses_the_document() {
    let world = World::builder().real_uv(UV_NEW).build();
    let env = &world.env;
    let www = env.root().join("www");
    let (major, minor, patch) = host_python_version();
    let entries = MirrorBuilder::new(www.join("uv"))
        .cpython(major, minor, patch, BUILD)
        .cpython(major, minor, patch + 1, BUILD)
        .entries(&Urls::Relative);
    let mirror = HttpServer::start(&www);
    let mut doc = Map::new();
    for entry in &entries {
        doc.insert(entry.key.clone(), entry.to_json(&entry.url));
    }
    // An `os` of the wrong JSON type is no value uv skips: uv refuses the
    // whole list for it, and so does the shim.
    doc[&entries[1].key]["os"] = json!(7);
    std::fs::write(
        www.join("uv").join(METADATA_FILE),
        Value::Object(doc).to_string(),
    )
    .unwrap();
    env.write_system_config(&format!("mirror = \"{}\"\n", mirror.url("/uv/")));

    let report = world.doctor();
    let error = report.json["metadata"]["last_error"]
        .as_str()
        .unwrap_or_default();
    assert!(
        error.contains(&format!("entry `{}`: field `os`", entries[1].key)),
        "{}",
        report.dump()
    );
    assert!(
        report.json["metadata"]["entries"].is_null(),
        "{}",
        report.dump()
    );
}

/// What the real uv lists of the downloads it was handed, as
/// `(key, url)` pairs: `uv python list` through the shim, every version and
/// platform, downloads only.
fn listed_by_uv(world: &World) -> BTreeSet<(String, String)> {
    let output = run(world.env.uv().args([
        "python",
        "list",
        "--all-versions",
        "--all-platforms",
        "--all-arches",
        "--only-downloads",
        "--show-urls",
        "--output-format",
        "json",
    ]));
    assert_success(&output);
    let listed: Vec<Value> = serde_json::from_str(&stdout(&output)).unwrap();
    listed
        .iter()
        .map(|l| {
            (
                l["key"].as_str().unwrap().to_string(),
                l["url"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn each_published_upstream_list_is_accepted_and_uv_reads_every_entry_handed_to_it() {
    for date in ["2024-07-04", "2025-06-30", "2026-08-18"] {
        let world = World::builder().real_uv(UV_NEW).build();
        let env = &world.env;
        let www = env.root().join("www");
        std::fs::create_dir_all(www.join("uv")).unwrap();
        let list = upstream_list(date);
        std::fs::write(www.join("uv").join(METADATA_FILE), &list).unwrap();
        let upstream: Map<String, Value> = serde_json::from_slice(&list).unwrap();
        let mirror = HttpServer::start(&www);
        let base = mirror.url("/uv/");
        env.write_system_config(&format!("mirror = \"{base}\"\n"));

        let report = world.doctor();
        let entries = report.json["metadata"]["entries"].as_u64();
        let (count, reasons) = dropped(&report);
        // The only entries dropped from uv's own lists are those without a
        // sha256; every other one is handed over.
        let hashless = upstream.values().filter(|e| e["sha256"].is_null()).count();
        assert_eq!(count, hashless as u64, "{date}: {reasons:#?}");
        assert_eq!(
            entries,
            Some((upstream.len() - hashless) as u64),
            "{date}: {}",
            report.dump()
        );

        // The copy is in the current form, every URL on the mirror.
        let copy: Map<String, Value> = serde_json::from_slice(&world.copy()).unwrap();
        for (key, entry) in &copy {
            assert!(entry["arch"]["family"].is_string(), "{date} {key}");
            assert!(
                entry["url"].as_str().unwrap().starts_with(&base),
                "{date} {key}"
            );
        }

        // The newest uv reads the copy: every download it lists is one the
        // copy holds (its URL on the mirror), and it lists some for every
        // implementation, Python line and platform the copy holds (`uv
        // python list` shows no debug builds and no prerelease of a line
        // that has a final, so the two are not equal).
        let listed = listed_by_uv(&world);
        let handed: BTreeSet<String> = copy
            .values()
            .map(|e| e["url"].as_str().unwrap().to_string())
            .collect();
        let urls: BTreeSet<String> = listed.iter().map(|(_, url)| url.clone()).collect();
        let extra: Vec<_> = urls.difference(&handed).take(10).collect();
        assert!(
            extra.is_empty(),
            "{date}: listed but not handed: {extra:#?}"
        );
        assert!(urls.len() > 300, "{date}: {}", urls.len());
        let line = |name: &str, minor: &Value, os: &str| format!("{name}-3.{minor}-{os}");
        let lines_handed: BTreeSet<String> = copy
            .values()
            .map(|e| {
                line(
                    e["name"].as_str().unwrap(),
                    &e["minor"],
                    e["os"].as_str().unwrap(),
                )
            })
            .collect();
        let lines_listed: BTreeSet<String> = listed
            .iter()
            .map(|(key, _)| {
                let mut parts = key.split('-');
                let name = parts.next().unwrap();
                let minor = parts.next().unwrap().split('.').nth(1).unwrap();
                // uv shows the `darwin` of its lists as `macos`.
                let os = parts.next().unwrap().replace("macos", "darwin");
                line(name, &json!(minor.parse::<u64>().unwrap()), &os)
            })
            .collect();
        assert_eq!(lines_listed, lines_handed, "{date}");
    }
}

#[test]
fn mirror_sync_from_an_old_list_writes_the_current_form() {
    let world = World::builder().build();
    let env = &world.env;
    let mut up = Upstream::new();
    let plain = up.add(Spec::cpython("3.12.8", "20240726"));
    let mac = up.add(Spec {
        os: "darwin",
        arch: "aarch64",
        libc: "none",
        ..Spec::cpython("3.12.8", "20240726")
    });
    let plan9 = up.add(Spec::cpython("3.11.9", "20240726"));
    up.tamper(&plan9.key, "os", json!("plan9"));
    // The forms older uv lists wrote.
    up.tamper(&plain.key, "arch", json!("x86_64"));
    up.tamper(&mac.key, "arch", json!("aarch64"));
    up.tamper(&mac.key, "os", json!("macos"));
    let from = up.publish();
    let dest = env.root().join("mirror");

    let output = sync(env, &dest, &from, &[]);
    assert_success(&output);
    let meta = metadata(&dest);
    assert_eq!(meta.len(), 2, "{meta:#?}");
    assert_eq!(
        meta[&plain.key]["arch"],
        json!({"family": "x86_64", "variant": null})
    );
    assert_eq!(
        meta[&mac.key]["arch"],
        json!({"family": "aarch64", "variant": null})
    );
    assert_eq!(meta[&mac.key]["os"], "darwin");
    // Both files came down: the upgrade lost no entry. The entry uv would
    // skip is left out, and the sync says so.
    assert_eq!(up.downloads().len(), 2, "{:#?}", up.downloads());
    let said = format!("{}{}", stdout(&output), stderr(&output));
    assert!(
        said.contains("1 entries left out") && said.contains("`os` = `plan9`"),
        "{said}"
    );
    assert!(dest.join(&plain.rel).exists() && dest.join(&mac.rel).exists());
    assert_success(&verify(env, &dest));
}
