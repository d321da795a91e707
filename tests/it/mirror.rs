//! `uv-shim mirror sync` and `mirror verify`, told as stories: an upstream
//! of generated files on 127.0.0.1 (with faults), a mirror folder, and in
//! the end the real uv installing from that mirror through the shim.

use crate::common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use common::env::{TestEnv, assert_failure, assert_success, run, stderr, stdout};
use common::http::{Fault, HttpServer, Request};
use common::mirror::{MirrorBuilder, Urls, host_python_version, sha256_hex};
use common::uv::{UV_NEW, UV_OLD, real_uv};

/// Where python-build-standalone files sit on the test upstream, as on GitHub.
const PBS: &str = "astral-sh/python-build-standalone/releases/download";

/// Deterministic bytes that do not compress: a little xorshift per seed.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// One download the upstream publishes.
#[derive(Debug, Clone)]
struct File {
    key: String,
    /// The decoded request path on the upstream server (`/…/a+b.tar.gz`).
    served: String,
    /// Where the mirror must put it.
    rel: String,
    sha256: String,
}

/// What to publish.
#[derive(Debug, Clone)]
struct Spec {
    name: &'static str,
    version: &'static str,
    build: &'static str,
    os: &'static str,
    arch: &'static str,
    libc: &'static str,
    variant: Option<&'static str>,
    size: usize,
}

impl Spec {
    fn cpython(version: &'static str, build: &'static str) -> Spec {
        Spec {
            name: "cpython",
            version,
            build,
            os: "linux",
            arch: "x86_64",
            libc: "gnu",
            variant: None,
            size: 2000,
        }
    }
}

/// A fake upstream: generated files served on 127.0.0.1, and its list.
struct Upstream {
    dir: tempfile::TempDir,
    server: HttpServer,
    entries: Vec<(String, Value)>,
    files: Vec<File>,
    seed: u64,
}

impl Upstream {
    fn new() -> Upstream {
        let dir = tempfile::tempdir().unwrap();
        let server = HttpServer::start(dir.path().join("www"));
        Upstream {
            dir,
            server,
            entries: Vec::new(),
            files: Vec::new(),
            seed: 1,
        }
    }

    /// Publishes a download; a later one with the same key replaces it in the list.
    fn add(&mut self, spec: Spec) -> File {
        let (major, minor, patch, pre) = split_version(spec.version);
        let (arch_family, arch_variant) = match spec.arch.split_once("_v") {
            Some((family, level)) => (family, Some(format!("v{level}"))),
            None => (spec.arch, None),
        };
        let variant_key = spec.variant.map(|v| format!("+{v}")).unwrap_or_default();
        let key = format!(
            "{}-{}{variant_key}-{}-{}-{}",
            spec.name, spec.version, spec.os, spec.arch, spec.libc
        );
        let (served, rel) = match spec.name {
            "cpython" => {
                let triple = match spec.os {
                    "darwin" => format!("{arch_family}-apple-darwin"),
                    "windows" => format!("{arch_family}-pc-windows-msvc"),
                    _ => format!("{}-unknown-linux-{}", spec.arch, spec.libc),
                };
                let flavour = spec.variant.map(|v| format!("-{v}")).unwrap_or_default();
                let file = format!(
                    "cpython-{}+{}-{triple}{flavour}-install_only.tar.gz",
                    spec.version, spec.build
                );
                (
                    format!("/{PBS}/{}/{file}", spec.build),
                    format!("{}/{file}", spec.build),
                )
            }
            "pypy" => {
                let file = format!(
                    "pypy{major}.{minor}-v{}-{}{}.tar.bz2",
                    spec.build, spec.os, spec.arch
                );
                (format!("/pypy/{file}"), format!("pypy/{file}"))
            }
            name => {
                let file = format!("{name}-{}-{}-{}.tar.gz", spec.build, spec.os, spec.arch);
                (
                    format!(
                        "/oracle/graalpython/releases/download/graal-{}/{file}",
                        spec.build
                    ),
                    format!("{name}/{file}"),
                )
            }
        };
        self.seed += 1;
        let content = bytes(self.seed, spec.size);
        let path = self
            .dir
            .path()
            .join("www")
            .join(served.trim_start_matches('/'));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &content).unwrap();
        let sha256 = sha256_hex(&content);
        let entry = json!({
            "name": spec.name,
            "arch": {"family": arch_family, "variant": arch_variant},
            "os": spec.os,
            "libc": spec.libc,
            "major": major, "minor": minor, "patch": patch,
            "prerelease": pre,
            "url": self.server.url(&served.replace('+', "%2B")),
            "sha256": sha256,
            "variant": spec.variant,
            "build": spec.build,
        });
        self.entries.retain(|(k, _)| *k != key);
        self.entries.push((key.clone(), entry));
        let file = File {
            key,
            served,
            rel,
            sha256,
        };
        self.files.retain(|f| f.key != file.key);
        self.files.push(file.clone());
        file
    }

    fn remove(&mut self, key: &str) {
        self.entries.retain(|(k, _)| k != key);
        self.files.retain(|f| f.key != key);
    }

    /// Changes one field of a published entry.
    fn tamper(&mut self, key: &str, field: &str, value: Value) {
        let entry = &mut self.entries.iter_mut().find(|(k, _)| k == key).unwrap().1;
        entry[field] = value;
    }

    /// Writes the list and returns its URL on the server.
    fn publish(&self) -> String {
        let map: Map<String, Value> = self.entries.iter().cloned().collect();
        let path = self.dir.path().join("www").join("download-metadata.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&map).unwrap()).unwrap();
        self.server.url("download-metadata.json")
    }

    /// The list as a local file (for `--offline`).
    fn publish_file(&self) -> PathBuf {
        self.publish();
        self.dir.path().join("www").join("download-metadata.json")
    }

    /// GET requests for downloads (the list itself left out).
    fn downloads(&self) -> Vec<Request> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.method == "GET" && !r.path.ends_with(".json"))
            .collect()
    }
}

fn split_version(text: &str) -> (u64, u64, u64, String) {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (numbers, pre) = text.split_at(split);
    let n: Vec<u64> = numbers.split('.').map(|p| p.parse().unwrap()).collect();
    (n[0], n[1], n[2], pre.to_string())
}

/// `uv-shim mirror sync --dest DEST --from FROM ARGS…`.
#[track_caller]
fn sync(env: &TestEnv, dest: &Path, from: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Output {
    run(env
        .shim()
        .args(["mirror", "sync", "--dest"])
        .arg(dest)
        .arg("--from")
        .arg(from)
        .args(args))
}

#[track_caller]
fn verify(env: &TestEnv, dest: &Path) -> Output {
    run(env.shim().args(["mirror", "verify", "--dest"]).arg(dest))
}

/// The mirror's metadata.
#[track_caller]
fn metadata(dest: &Path) -> Map<String, Value> {
    let text = std::fs::read(dest.join("download-metadata.json")).expect("the mirror has metadata");
    serde_json::from_slice(&text).unwrap()
}

fn keys(meta: &Map<String, Value>) -> BTreeSet<String> {
    meta.keys().cloned().collect()
}

/// Files below `dir`, relative, hidden ones left out.
fn files_in(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                out.insert(
                    entry
                        .path()
                        .strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .to_string(),
                );
            }
        }
    }
    out
}

/// The paths a dry run lists (its indented lines).
fn listed(output: &Output) -> BTreeSet<String> {
    let text = stdout(output);
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("already present") {
            break;
        }
        if let Some(rest) = line.strip_prefix("  ") {
            out.insert(rest.split("  ").next().unwrap().to_string());
        }
    }
    out
}

fn set<const N: usize>(items: [&str; N]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn sync_lays_out_upstream_paths_and_a_noop_resync_downloads_nothing() {
    let env = TestEnv::new();
    let mut up = Upstream::new();
    let cp = up.add(Spec::cpython("3.12.8", "20250115"));
    let ft = up.add(Spec {
        variant: Some("freethreaded"),
        ..Spec::cpython("3.13.1", "20250115")
    });
    let pypy = up.add(Spec {
        name: "pypy",
        version: "3.10.14",
        build: "7.3.17",
        ..Spec::cpython("", "")
    });
    let graal = up.add(Spec {
        name: "graalpy",
        version: "3.11.7",
        build: "24.1.1",
        ..Spec::cpython("", "")
    });
    let from = up.publish();
    let dest = env.root().join("mirror");

    let first = sync(&env, &dest, &from, &[]);
    assert_success(&first);
    assert!(
        stdout(&first).contains("fetched 4 files"),
        "{}",
        stdout(&first)
    );
    // CPython keeps upstream's release path, with a literal `+`.
    assert_eq!(
        cp.rel,
        "20250115/cpython-3.12.8+20250115-x86_64-unknown-linux-gnu-install_only.tar.gz"
    );
    assert_eq!(
        files_in(&dest),
        set([
            "download-metadata.json",
            &cp.rel,
            &ft.rel,
            &pypy.rel,
            &graal.rel
        ])
    );
    assert!(pypy.rel.starts_with("pypy/") && graal.rel.starts_with("graalpy/"));

    let meta = metadata(&dest);
    assert_eq!(
        keys(&meta),
        [&cp.key, &ft.key, &pypy.key, &graal.key]
            .map(|k| k.to_string())
            .into()
    );
    for file in [&cp, &ft, &pypy, &graal] {
        let entry = &meta[&file.key];
        assert_eq!(
            entry["url"],
            file.rel.replace('+', "%2B"),
            "relative, + spelled %2B"
        );
        assert_eq!(entry["sha256"], file.sha256.as_str());
        assert_eq!(
            sha256_hex(&std::fs::read(dest.join(&file.rel)).unwrap()),
            file.sha256
        );
    }
    // Newest first, as uv's own list.
    let order: Vec<&String> = meta.keys().collect();
    assert_eq!(order[0], &ft.key);

    // Nothing changed upstream: only the list is read again.
    let mtime = std::fs::metadata(dest.join("download-metadata.json"))
        .unwrap()
        .modified()
        .unwrap();
    up.server.clear_log();
    let second = sync(&env, &dest, &from, &[]);
    assert_success(&second);
    assert!(up.downloads().is_empty(), "{:#?}", up.downloads());
    assert!(
        stdout(&second).contains("fetched 0 files"),
        "{}",
        stdout(&second)
    );
    assert!(
        stdout(&second).contains("4 already present"),
        "{}",
        stdout(&second)
    );
    assert!(
        stdout(&second).contains("(unchanged)"),
        "{}",
        stdout(&second)
    );
    let again = std::fs::metadata(dest.join("download-metadata.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(mtime, again, "an unchanged metadata file is not rewritten");

    let checked = verify(&env, &dest);
    assert_success(&checked);
    assert!(
        stdout(&checked).contains("4 listed files"),
        "{}",
        stdout(&checked)
    );
}

#[test]
fn filters_and_dry_run_choose_without_touching_anything() {
    let env = TestEnv::new();
    let mut up = Upstream::new();
    let p = |version, build| Spec {
        size: 300,
        ..Spec::cpython(version, build)
    };
    let a = up.add(p("3.11.9", "20240814"));
    let b = up.add(p("3.11.11", "20250115"));
    let c = up.add(p("3.12.7", "20241016"));
    let d = up.add(p("3.12.8", "20250115"));
    let e = up.add(Spec {
        os: "darwin",
        arch: "aarch64",
        libc: "none",
        ..p("3.12.8", "20250115")
    });
    let f = up.add(Spec {
        libc: "musl",
        ..p("3.12.8", "20250115")
    });
    let g = up.add(Spec {
        variant: Some("freethreaded"),
        ..p("3.13.1", "20250115")
    });
    let h = up.add(Spec {
        arch: "x86_64_v3",
        ..p("3.12.8", "20250115")
    });
    let i = up.add(p("3.14.0rc2", "20250115"));
    let j = up.add(Spec {
        name: "pypy",
        build: "7.3.17",
        ..p("3.10.14", "")
    });
    let from = up.publish();
    let dest = env.root().join("mirror");

    let dry = |args: &[&str]| {
        let mut all = vec!["--dry-run"];
        all.extend_from_slice(args);
        let output = sync(&env, &dest, &from, &all);
        assert_success(&output);
        listed(&output)
    };
    let rels = |files: &[&File]| files.iter().map(|f| f.rel.clone()).collect::<BTreeSet<_>>();

    let everything = sync(&env, &dest, &from, &["--dry-run"]);
    assert_success(&everything);
    assert_eq!(listed(&everything).len(), 10);
    // Sizes come from HEAD; the total is summed.
    assert!(
        stdout(&everything).contains(&format!("  {}  (300 B)  http://", a.rel)),
        "{}",
        stdout(&everything)
    );
    assert!(
        stdout(&everything).contains("would fetch 10 files, 2.93 KiB"),
        "{}",
        stdout(&everything)
    );

    assert_eq!(dry(&["--python", "3.12"]), rels(&[&c, &d, &e, &f, &h]));
    assert_eq!(
        dry(&["--python", "3.12.8", "--os", "linux", "--libc", "gnu"]),
        rels(&[&d, &h])
    );
    assert_eq!(dry(&["--python", ">=3.11,<3.12"]), rels(&[&a, &b]));
    assert_eq!(
        dry(&["--python", "3.11.9", "--python", "3.14"]),
        rels(&[&a, &i])
    );
    assert_eq!(dry(&["--python", ">=3.13"]), rels(&[&g, &i]));
    assert_eq!(dry(&["--implementation", "pypy"]), rels(&[&j]));
    assert_eq!(dry(&["--os", "macos"]), rels(&[&e]));
    assert_eq!(dry(&["--arch", "x86_64_v3"]), rels(&[&h]));
    assert_eq!(
        dry(&["--arch", "x86_64*", "--libc", "gnu", "--python", "3.12.8"]),
        rels(&[&d, &h])
    );
    assert_eq!(dry(&["--variant", "freethreaded"]), rels(&[&g]));
    assert_eq!(
        dry(&[
            "--latest-patch",
            "--implementation",
            "cpython",
            "--os",
            "linux",
            "--libc",
            "gnu",
            "--arch",
            "x86_64",
            "--variant",
            "default"
        ]),
        rels(&[&b, &d, &i])
    );

    // The dry runs asked for sizes only, and wrote nothing.
    assert!(up.downloads().is_empty(), "{:#?}", up.downloads());
    assert!(up.server.requests().iter().any(|r| r.method == "HEAD"));
    assert!(!dest.exists(), "a dry run creates nothing");

    let none = sync(&env, &dest, &from, &["--python", "2.7"]);
    assert_failure(&none);
    assert!(
        stderr(&none).contains("matches the filters"),
        "{}",
        stderr(&none)
    );
    assert!(
        stderr(&none).contains("implementations: cpython, pypy"),
        "{}",
        stderr(&none)
    );

    let bad = sync(&env, &dest, &from, &["--python", "three"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    let offline_remote = sync(&env, &dest, &from, &["--offline"]);
    assert_eq!(
        offline_remote.status.code(),
        Some(2),
        "{}",
        stderr(&offline_remote)
    );
    assert!(
        stderr(&offline_remote).contains("--offline"),
        "{}",
        stderr(&offline_remote)
    );
}

#[test]
fn latest_patch_prefers_a_final_release_over_its_release_candidate() {
    let env = TestEnv::new();
    let mut up = Upstream::new();
    up.add(Spec::cpython("3.14.0rc2", "20250115"));
    let fin = up.add(Spec::cpython("3.14.0", "20250201"));
    let from = up.publish();
    let output = sync(
        &env,
        &env.root().join("m"),
        &from,
        &["--dry-run", "--latest-patch"],
    );
    assert_success(&output);
    assert_eq!(listed(&output), set([fin.rel.as_str()]));
}

#[test]
fn a_wrong_hash_is_deleted_and_reported_with_both_hashes() {
    let env = TestEnv::new();
    let mut up = Upstream::new();
    let good = up.add(Spec::cpython("3.12.8", "20250115"));
    let bad = up.add(Spec::cpython("3.11.11", "20250115"));
    let wrong = "0".repeat(64);
    up.tamper(&bad.key, "sha256", json!(wrong));
    let from = up.publish();
    let dest = env.root().join("mirror");

    let output = sync(&env, &dest, &from, &[]);
    assert_failure(&output);
    let err = stderr(&output);
    assert!(err.contains("checksum mismatch"), "{err}");
    assert!(
        err.contains(&up.server.url(&bad.served.replace('+', "%2B"))),
        "names the URL: {err}"
    );
    assert!(
        err.contains(&wrong) && err.contains(&bad.sha256),
        "names both hashes: {err}"
    );
    assert!(stdout(&output).contains("1 failed"), "{}", stdout(&output));

    assert_eq!(
        files_in(&dest),
        set(["download-metadata.json", &good.rel]),
        "no file, no part file"
    );
    assert_eq!(keys(&metadata(&dest)), set([good.key.as_str()]));
    let gets = up
        .downloads()
        .into_iter()
        .filter(|r| r.path == bad.served)
        .count();
    assert_eq!(gets, 1, "a mismatch from scratch is not retried");
}

#[test]
fn a_cut_connection_resumes_from_the_offset_with_a_range_request() {
    let env = TestEnv::new();
    let mut up = Upstream::new();
    let big = up.add(Spec {
        size: 300_000,
        ..Spec::cpython("3.12.8", "20250115")
    });
    up.server
        .set_fault(Some(&big.served), Fault::CutOnce { after: 100_000 });
    let from = up.publish();
    let dest = env.root().join("mirror");

    let output = sync(&env, &dest, &from, &[]);
    assert_success(&output);
    let gets = up.downloads();
    assert_eq!(gets.len(), 2, "{gets:#?}");
    assert_eq!(gets[0].range, None);
    assert_eq!(gets[1].range.as_deref(), Some("bytes=100000-"), "{gets:#?}");
    assert_eq!(gets[1].status, Some(206));
    assert!(stderr(&output).contains("retrying"), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("resumed at byte 100000"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        sha256_hex(&std::fs::read(dest.join(&big.rel)).unwrap()),
        big.sha256
    );
    assert_eq!(keys(&metadata(&dest)), set([big.key.as_str()]));
}

#[test]
fn leftover_part_files_are_finished_or_replaced() {
    let env = TestEnv::new();
    let mut up = Upstream::new();
    let whole = up.add(Spec::cpython("3.12.8", "20250115"));
    let stale = up.add(Spec::cpython("3.11.11", "20250115"));
    let from = up.publish();
    let dest = env.root().join("mirror");
    let www = up.dir.path().join("www");
    let part_of = |file: &File| dest.join(format!("{}.part", file.rel));
    std::fs::create_dir_all(dest.join("20250115")).unwrap();
    // A run killed between the last byte and the rename…
    std::fs::copy(
        www.join(whole.served.trim_start_matches('/')),
        part_of(&whole),
    )
    .unwrap();
    // …and one whose upstream file changed since: its first half no longer fits.
    std::fs::write(part_of(&stale), bytes(99, 700)).unwrap();

    let output = sync(&env, &dest, &from, &[]);
    assert_success(&output);
    let gets = up.downloads();
    let of = |file: &File| -> Vec<(Option<String>, Option<u16>)> {
        gets.iter()
            .filter(|r| r.path == file.served)
            .map(|r| (r.range.clone(), r.status))
            .collect()
    };
    // Nothing left to send: 416, and the part file is the download.
    assert_eq!(of(&whole), [(Some("bytes=2000-".to_string()), Some(416))]);
    // The resumed file fails its hash, so it is fetched once more from scratch.
    assert_eq!(
        of(&stale),
        [
            (Some("bytes=700-".to_string()), Some(206)),
            (None, Some(200))
        ]
    );
    for file in [&whole, &stale] {
        assert_eq!(
            sha256_hex(&std::fs::read(dest.join(&file.rel)).unwrap()),
            file.sha256
        );
        assert!(!part_of(file).exists());
    }
    assert_eq!(metadata(&dest).len(), 2);
}

#[test]
fn server_errors_are_retried_but_a_404_is_not() {
    let env = TestEnv::new();
    let mut up = Upstream::new();
    let flaky = up.add(Spec::cpython("3.12.8", "20250115"));
    let gone = up.add(Spec::cpython("3.11.11", "20250115"));
    up.server.set_fault(
        Some(&flaky.served),
        Fault::FailTimes {
            times: 2,
            status: 503,
        },
    );
    up.server.set_fault(Some(&gone.served), Fault::Status(404));
    let from = up.publish();
    let dest = env.root().join("mirror");

    let output = sync(&env, &dest, &from, &[]);
    assert_failure(&output);
    let gets = up.downloads();
    let flaky_gets: Vec<Option<u16>> = gets
        .iter()
        .filter(|r| r.path == flaky.served)
        .map(|r| r.status)
        .collect();
    assert_eq!(flaky_gets, [Some(503), Some(503), Some(200)]);
    assert_eq!(
        gets.iter().filter(|r| r.path == gone.served).count(),
        1,
        "404 is final"
    );
    let err = stderr(&output);
    assert_eq!(err.matches("retrying").count(), 2, "{err}");
    assert!(err.contains("answered HTTP 404"), "{err}");
    assert!(
        err.contains(&up.server.url(&gone.served.replace('+', "%2B"))),
        "{err}"
    );
    // The good one is in; the missing one neither listed nor left as a part file.
    assert_eq!(files_in(&dest), set(["download-metadata.json", &flaky.rel]));
    assert_eq!(keys(&metadata(&dest)), set([flaky.key.as_str()]));
}

#[test]
fn credentials_in_urls_are_used_but_never_printed() {
    let env = TestEnv::new();
    let mut up = Upstream::new();
    let good = up.add(Spec::cpython("3.12.8", "20250115"));
    let gone = up.add(Spec::cpython("3.11.11", "20250115"));
    up.server.set_fault(Some(&gone.served), Fault::Status(404));
    let with_secret = |url: &str| url.replace("http://", "http://alice:s3cret@");
    for file in [&good, &gone] {
        let url = with_secret(&up.server.url(&file.served.replace('+', "%2B")));
        up.tamper(&file.key, "url", json!(url));
    }
    let from = with_secret(&up.publish());
    let dest = env.root().join("mirror");

    let dry = sync(&env, &dest, &from, &["--dry-run"]);
    let real = sync(&env, &dest, &from, &[]);
    assert_failure(&real);
    for output in [&dry, &real] {
        let all = format!("{}{}", stdout(output), stderr(output));
        assert!(!all.contains("s3cret"), "{all}");
        assert!(all.contains("http://****@127.0.0.1"), "{all}");
    }
    let gets = up.downloads();
    assert!(
        gets.iter().all(|r| r.header("authorization").is_some()),
        "{gets:#?}"
    );
    assert_eq!(keys(&metadata(&dest)), set([good.key.as_str()]));
}

#[test]
fn jobs_bound_the_parallel_downloads() {
    let env = TestEnv::new();
    let mut up = Upstream::new();
    let mut files = Vec::new();
    for (n, version) in ["3.12.8", "3.12.7", "3.12.6", "3.12.5"]
        .into_iter()
        .enumerate()
    {
        let file = up.add(Spec::cpython(version, "20250115"));
        up.server.set_fault(
            Some(&file.served),
            Fault::Delay(Duration::from_millis(1500)),
        );
        files.push((n, file));
    }
    let from = up.publish();
    let dest = env.root().join("mirror");
    let mut child = env
        .shim()
        .args(["mirror", "sync", "--jobs", "2", "--dest"])
        .arg(&dest)
        .args(["--from", &from])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while up.downloads().len() < 2 {
        assert!(Instant::now() < deadline, "no downloads started");
        thread::sleep(Duration::from_millis(20));
    }
    thread::sleep(Duration::from_millis(300));
    assert_eq!(up.downloads().len(), 2, "two jobs, two downloads at a time");
    assert!(child.wait().unwrap().success());
    assert_eq!(up.downloads().len(), 4);
    assert_eq!(metadata(&dest).len(), 4);
}

#[test]
fn a_rebuilt_upstream_keeps_older_builds_served_until_pruned() {
    let env = TestEnv::new();
    let mut up = Upstream::new();
    let old12 = up.add(Spec::cpython("3.12.7", "20250101"));
    let only11 = up.add(Spec::cpython("3.11.9", "20250101"));
    let dest = env.root().join("mirror");
    assert_success(&sync(&env, &dest, up.publish(), &[]));

    // Upstream rebuilds 3.12.7, drops 3.11.9 and adds 3.13.0.
    let new12 = up.add(Spec::cpython("3.12.7", "20250201"));
    up.remove(&only11.key);
    let new13 = up.add(Spec::cpython("3.13.0", "20250201"));
    let output = sync(&env, &dest, up.publish(), &[]);
    assert_success(&output);
    assert!(
        stdout(&output).contains("3 entries (2 from this upstream list, 1 kept from the mirror)"),
        "{}",
        stdout(&output)
    );
    let meta = metadata(&dest);
    assert_eq!(
        keys(&meta),
        set([new12.key.as_str(), only11.key.as_str(), new13.key.as_str()])
    );
    assert_eq!(
        meta[&new12.key]["build"], "20250201",
        "the newest build the mirror holds"
    );
    assert_eq!(meta[&new12.key]["url"], new12.rel.replace('+', "%2B"));
    assert_eq!(meta[&only11.key]["url"], only11.rel.replace('+', "%2B"));
    assert!(
        dest.join(&old12.rel).is_file(),
        "the older build stays on disk for old uv's built-in list"
    );
    let checked = verify(&env, &dest);
    assert_success(&checked);
    assert!(
        stdout(&checked).contains("3 listed files")
            && stdout(&checked).contains("1 kept older builds"),
        "{}",
        stdout(&checked)
    );

    // An upstream that lags behind the mirror does not take it back, nor is its older file fetched.
    let mut lagging = Upstream::new();
    let older13 = lagging.add(Spec::cpython("3.13.0", "20250101"));
    lagging.server.clear_log();
    assert_success(&sync(&env, &dest, lagging.publish(), &[]));
    assert!(lagging.downloads().is_empty(), "{:#?}", lagging.downloads());
    assert_eq!(metadata(&dest)[&older13.key]["build"], "20250201");

    let dry = sync(&env, &dest, up.publish(), &["--prune", "--dry-run"]);
    assert_success(&dry);
    assert!(
        stdout(&dry).contains(&format!("would remove 1 files (--prune):\n  {}", old12.rel)),
        "{}",
        stdout(&dry)
    );
    assert!(dest.join(&old12.rel).is_file());
    let pruned = sync(&env, &dest, up.publish(), &["--prune"]);
    assert_success(&pruned);
    assert!(
        stdout(&pruned).contains("1 removed by --prune"),
        "{}",
        stdout(&pruned)
    );
    assert!(!dest.join(&old12.rel).exists());
    assert_eq!(
        keys(&metadata(&dest)).len(),
        3,
        "pruning touches no listed file"
    );
    let checked = verify(&env, &dest);
    assert_success(&checked);
    assert!(
        stdout(&checked).contains("0 kept older builds"),
        "{}",
        stdout(&checked)
    );
}

#[test]
fn verify_finds_missing_corrupt_and_unlisted_files_and_sync_repairs_them() {
    let env = TestEnv::new();
    let empty = env.root().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let nothing = verify(&env, &empty);
    assert_eq!(nothing.status.code(), Some(1));
    assert!(
        stderr(&nothing).contains("cannot read the mirror's metadata"),
        "{}",
        stderr(&nothing)
    );

    let mut up = Upstream::new();
    let a = up.add(Spec::cpython("3.12.8", "20250115"));
    let b = up.add(Spec::cpython("3.11.11", "20250115"));
    let c = up.add(Spec::cpython("3.10.16", "20250115"));
    let from = up.publish();
    let dest = env.root().join("mirror");
    assert_success(&sync(&env, &dest, &from, &[]));

    std::fs::remove_file(dest.join(&a.rel)).unwrap();
    let mut damaged = std::fs::read(dest.join(&b.rel)).unwrap();
    damaged[10] ^= 0xff;
    std::fs::write(dest.join(&b.rel), &damaged).unwrap();
    std::fs::write(dest.join("20250115/stray.tar.gz"), b"stray").unwrap();
    std::fs::write(dest.join("20250115/other.tar.gz.part"), b"half").unwrap();

    let checked = verify(&env, &dest);
    assert_eq!(checked.status.code(), Some(1));
    let out = stdout(&checked);
    assert!(
        out.contains(&format!("missing  {} (listed as {})", a.rel, a.key)),
        "{out}"
    );
    assert!(
        out.contains(&format!("corrupt  {}: expected sha256 {}", b.rel, b.sha256)),
        "{out}"
    );
    assert!(out.contains("unlisted 20250115/stray.tar.gz"), "{out}");
    assert!(!out.contains(&c.rel), "a good file is not mentioned: {out}");
    assert!(out.contains("1 partial downloads"), "{out}");
    assert!(
        stderr(&checked).contains("has 3 problems"),
        "{}",
        stderr(&checked)
    );

    // The same-size damage is noticed (the stamp's mtime moved) and both are fetched again.
    up.server.clear_log();
    assert_success(&sync(&env, &dest, &from, &[]));
    let fetched: BTreeSet<String> = up.downloads().into_iter().map(|r| r.path).collect();
    assert_eq!(fetched, set([a.served.as_str(), b.served.as_str()]));
    let checked = verify(&env, &dest);
    assert_eq!(
        checked.status.code(),
        Some(1),
        "the stray file is still there"
    );
    assert_success(&sync(&env, &dest, &from, &["--prune"]));
    assert!(
        !dest.join("20250115/other.tar.gz.part").exists(),
        "a part file nobody wants goes too"
    );
    assert_success(&verify(&env, &dest));
}

#[test]
fn offline_import_lists_what_a_folder_already_holds_without_network() {
    let env = TestEnv::new();
    let mut up = Upstream::new();
    let a = up.add(Spec::cpython("3.12.8", "20250115"));
    let b = up.add(Spec::cpython("3.11.11", "20250115"));
    let absent = up.add(Spec::cpython("3.10.16", "20250115"));
    let pypy = up.add(Spec {
        name: "pypy",
        version: "3.10.14",
        build: "7.3.17",
        ..Spec::cpython("", "")
    });
    let list = up.publish_file();

    // A folder made by another tool: release-tag folders; one name spelled
    // with %2B; PyPy at the top.
    let dest = env.root().join("imported");
    let www = up.dir.path().join("www");
    let copy = |from: &str, to: &str| {
        let to = dest.join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(www.join(from.trim_start_matches('/')), to).unwrap();
    };
    copy(&a.served, &a.rel);
    copy(&b.served, &b.rel.replace('+', "%2B"));
    copy(&pypy.served, pypy.rel.trim_start_matches("pypy/"));

    up.server.clear_log();
    let output = sync(&env, &dest, &list, &["--offline"]);
    assert_success(&output);
    assert!(
        up.server.requests().is_empty(),
        "no network: {:#?}",
        up.server.requests()
    );
    assert!(stdout(&output).contains("imported"), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("1 not in the folder"),
        "{}",
        stdout(&output)
    );
    assert_eq!(
        keys(&metadata(&dest)),
        set([a.key.as_str(), b.key.as_str(), pypy.key.as_str()])
    );
    assert!(!metadata(&dest).contains_key(&absent.key));
    assert_eq!(
        files_in(&dest),
        set(["download-metadata.json", &a.rel, &b.rel, &pypy.rel]),
        "files moved to the mirror's names"
    );
    assert_success(&verify(&env, &dest));

    // A damaged file is reported and left out.
    let mut damaged = std::fs::read(dest.join(&a.rel)).unwrap();
    damaged.push(0);
    std::fs::write(dest.join(&a.rel), damaged).unwrap();
    let output = sync(&env, &dest, &list, &["--offline"]);
    assert_failure(&output);
    assert!(
        stderr(&output).contains(&format!("{} is corrupt", a.rel)),
        "{}",
        stderr(&output)
    );
    assert!(!metadata(&dest).contains_key(&a.key));
    assert!(up.server.requests().is_empty());
}

/// Serves one download, badly: the headers of the whole file, `sent`
/// bytes of it, then nothing until dropped, like a stalled link.
struct Drip {
    url_base: String,
    stop: Arc<AtomicBool>,
}

impl Drip {
    fn start(body: Vec<u8>, sent: usize) -> Drip {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url_base = format!("http://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        let mut head = Vec::new();
                        let mut buf = [0u8; 1024];
                        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                            match stream.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => head.extend_from_slice(&buf[..n]),
                            }
                        }
                        let _ = write!(
                            stream,
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                            body.len()
                        );
                        let _ = stream.write_all(&body[..sent]);
                        let _ = stream.flush();
                        held.push(stream);
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Drip { url_base, stop }
    }
}

impl Drop for Drip {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[test]
#[cfg(unix)]
fn ctrl_c_leaves_a_consistent_mirror_and_the_next_run_resumes() {
    let env = TestEnv::new();
    let mut up = Upstream::new();
    let quick = up.add(Spec::cpython("3.12.8", "20250115"));
    let slow = up.add(Spec {
        size: 200_000,
        ..Spec::cpython("3.11.11", "20250115")
    });
    let body = std::fs::read(
        up.dir
            .path()
            .join("www")
            .join(slow.served.trim_start_matches('/')),
    )
    .unwrap();
    let drip = Drip::start(body, 50_000);
    // The first run gets the slow file from the stalling server.
    up.tamper(
        &slow.key,
        "url",
        json!(format!(
            "{}{}",
            drip.url_base,
            slow.served.replace('+', "%2B")
        )),
    );
    let from = up.publish();
    let dest = env.root().join("mirror");

    let mut child = env
        .shim()
        .args(["mirror", "sync", "--dest"])
        .arg(&dest)
        .args(["--from", &from])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let part = dest.join(format!("{}.part", slow.rel));
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(dest.join(&quick.rel).is_file()
        && std::fs::metadata(&part).is_ok_and(|m| m.len() == 50_000))
    {
        assert!(Instant::now() < deadline, "the downloads did not get going");
        thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: a plain kill(2) on our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let stopped = Instant::now();
    let output = wait_with_output(&mut child, Duration::from_secs(15));
    assert!(
        stopped.elapsed() < Duration::from_secs(5),
        "Ctrl-C took {:?}",
        stopped.elapsed()
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("interrupted"),
        "{}",
        stderr(&output)
    );
    // Consistent: the metadata lists the verified file only; the part file waits.
    assert_eq!(keys(&metadata(&dest)), set([quick.key.as_str()]));
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 50_000);
    assert!(!dest.join(&slow.rel).exists());
    drop(drip);

    // The next run, from a healthy server, continues where the first stopped.
    up.tamper(
        &slow.key,
        "url",
        json!(up.server.url(&slow.served.replace('+', "%2B"))),
    );
    let from = up.publish();
    up.server.clear_log();
    let output = sync(&env, &dest, &from, &[]);
    assert_success(&output);
    let gets = up.downloads();
    assert_eq!(gets.len(), 1, "{gets:#?}");
    assert_eq!(gets[0].path, slow.served);
    assert_eq!(gets[0].range.as_deref(), Some("bytes=50000-"));
    assert_eq!(
        sha256_hex(&std::fs::read(dest.join(&slow.rel)).unwrap()),
        slow.sha256
    );
    assert_eq!(
        keys(&metadata(&dest)),
        set([quick.key.as_str(), slow.key.as_str()])
    );
    assert!(!part.exists());
}

/// Waits for a child with piped output, killing it after `limit`.
fn wait_with_output(child: &mut std::process::Child, limit: Duration) -> Output {
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the sync did not stop within {limit:?}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// The crafted builds the real uv accepts, synced into a mirror from an upstream server.
fn crafted_mirror(env: &TestEnv) -> (HttpServer, common::mirror::Entry, PathBuf) {
    let (major, minor, patch) = host_python_version();
    let upstream_dir = env.root().join("upstream");
    let upstream = HttpServer::start(&upstream_dir);
    let entries = MirrorBuilder::new(&upstream_dir)
        .cpython(major, minor, patch, "20250101")
        .write_metadata(Urls::Absolute(upstream.base_url()));
    let dest = env.root().join("mirror");
    let output = sync(env, &dest, upstream.url("download-metadata.json"), &[]);
    assert_success(&output);
    assert!(dest.join(&entries[0].rel_path).is_file());
    (upstream, entries[0].clone(), dest)
}

#[test]
fn real_uv_installs_through_the_shim_from_the_synced_mirror_over_http() {
    let mut env = TestEnv::new().real_uv(real_uv(UV_NEW));
    let (_upstream, entry, dest) = crafted_mirror(&env);
    let mirror = HttpServer::start(&dest);
    env.set_env("UV_SHIM_MIRROR", mirror.base_url());
    let (major, minor, patch) = entry.version;

    let output = run(env
        .uv()
        .args(["python", "install", &format!("{major}.{minor}.{patch}")]));
    assert_success(&output);
    let served: Vec<Request> = mirror
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with(".tar.gz"))
        .collect();
    assert_eq!(served.len(), 1, "{served:#?}");
    assert_eq!(served[0].path, format!("/{}", entry.rel_path));
    assert_eq!(served[0].status, Some(200));
    let printed = run(env
        .command(env.managed_python(&entry))
        .args(["-c", "print(6 * 7)"]));
    assert_success(&printed);
    assert_eq!(stdout(&printed), "42\n");
}

#[test]
fn real_uv_installs_through_the_shim_from_the_synced_mirror_over_file_urls() {
    let mut env = TestEnv::new().real_uv(real_uv(UV_NEW));
    let (upstream, entry, dest) = crafted_mirror(&env);
    drop(upstream);
    let base = url_of_dir(&dest);
    env.set_env("UV_SHIM_MIRROR", &base);
    let (major, minor, patch) = entry.version;
    let output = run(env
        .uv()
        .args(["python", "install", &format!("{major}.{minor}.{patch}")]));
    assert_success(&output);
    assert!(env.managed_python(&entry).exists());
}

#[test]
fn old_uv_finds_its_built_in_paths_in_the_synced_mirror() {
    // uv 0.5.31 knows cpython 3.11.7 as build 20240107 and only applies
    // UV_PYTHON_INSTALL_MIRROR; the mirror serves that very path. (Its
    // built-in sha256 then refuses the crafted file: that is expected.)
    let mut env = TestEnv::new().real_uv(real_uv(UV_OLD));
    let upstream_dir = env.root().join("upstream");
    let upstream = HttpServer::start(&upstream_dir);
    let entries = MirrorBuilder::new(&upstream_dir)
        .cpython(3, 11, 7, "20240107")
        .write_metadata(Urls::Absolute(upstream.base_url()));
    let dest = env.root().join("mirror");
    assert_success(&sync(
        &env,
        &dest,
        upstream.url("download-metadata.json"),
        &[],
    ));
    let mirror = HttpServer::start(&dest);
    env.set_env("UV_SHIM_MIRROR", mirror.base_url());

    let output = run(env.uv().args(["python", "install", "3.11.7"]));
    assert_failure(&output);
    let served: Vec<Request> = mirror
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with(".tar.gz"))
        .collect();
    assert!(!served.is_empty(), "{}", stderr(&output));
    assert_eq!(served[0].path, format!("/{}", entries[0].rel_path));
    assert_eq!(served[0].status, Some(200), "{served:#?}");
}

fn url_of_dir(dir: &Path) -> String {
    format!("file://{}", dir.display())
}
