//! A fake upstream for `uv-shim mirror sync`: generated downloads served on
//! 127.0.0.1 by a harness [`HttpServer`] (with its faults), and the list that
//! names them in uv's schema, laid out as python-build-standalone, PyPy and
//! GraalPy publish them. Also [`Drip`], a server that stalls mid-download.
//!
//! The files are random bytes, not Pythons: sync only checks their sha256.
//! For builds the real uv installs, see [`super::mirror`].

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::http::{HttpServer, Request};
use super::mirror::sha256_hex;

/// Where python-build-standalone files sit on the test upstream, as on GitHub.
const PBS: &str = "astral-sh/python-build-standalone/releases/download";

/// Deterministic bytes that do not compress: a little xorshift per seed.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
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
pub struct Download {
    /// Its key in the list (`cpython-3.12.8-linux-x86_64-gnu`).
    pub key: String,
    /// The decoded request path on the upstream server (`/…/a+b.tar.gz`).
    pub served: String,
    /// Where the mirror must put it.
    pub rel: String,
    /// Lowercase hex sha256 of its bytes.
    pub sha256: String,
}

/// What to publish.
#[derive(Debug, Clone)]
pub struct Spec {
    /// `cpython`, `pypy`, `graalpy`.
    pub name: &'static str,
    /// The Python version, e.g. `3.12.8` or `3.14.0rc2`.
    pub version: &'static str,
    /// The build tag (release date for CPython, PyPy or GraalPy version).
    pub build: &'static str,
    /// uv's `os` field.
    pub os: &'static str,
    /// uv's arch, with an optional `_vN` level (`x86_64_v3`).
    pub arch: &'static str,
    /// uv's `libc` field.
    pub libc: &'static str,
    /// uv's `variant` field (`freethreaded`, …).
    pub variant: Option<&'static str>,
    /// Size of the generated file in bytes.
    pub size: usize,
}

impl Spec {
    /// A 2000-byte CPython build for x86_64 Linux (glibc).
    pub fn cpython(version: &'static str, build: &'static str) -> Spec {
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
pub struct Upstream {
    /// Holds `www/`, the served folder.
    pub dir: tempfile::TempDir,
    /// The server of `www/`.
    pub server: HttpServer,
    entries: Vec<(String, Value)>,
    files: Vec<Download>,
    seed: u64,
}

impl Upstream {
    /// An upstream that publishes nothing yet.
    pub fn new() -> Upstream {
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
    pub fn add(&mut self, spec: Spec) -> Download {
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
        let file = Download {
            key,
            served,
            rel,
            sha256,
        };
        self.files.retain(|f| f.key != file.key);
        self.files.push(file.clone());
        file
    }

    /// Takes a download off the list (its file stays served).
    pub fn remove(&mut self, key: &str) {
        self.entries.retain(|(k, _)| k != key);
        self.files.retain(|f| f.key != key);
    }

    /// Changes one field of a published entry.
    pub fn tamper(&mut self, key: &str, field: &str, value: Value) {
        let entry = &mut self.entries.iter_mut().find(|(k, _)| k == key).unwrap().1;
        entry[field] = value;
    }

    /// Writes the list and returns its URL on the server.
    pub fn publish(&self) -> String {
        let map: Map<String, Value> = self.entries.iter().cloned().collect();
        let path = self.dir.path().join("www").join("download-metadata.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&map).unwrap()).unwrap();
        self.server.url("download-metadata.json")
    }

    /// The list as a local file (for `--offline`).
    pub fn publish_file(&self) -> PathBuf {
        self.publish();
        self.dir.path().join("www").join("download-metadata.json")
    }

    /// GET requests for downloads (the list itself left out).
    pub fn downloads(&self) -> Vec<Request> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.method == "GET" && !r.path.ends_with(".json"))
            .collect()
    }
}

/// `3.14.0rc2` as `(3, 14, 0, "rc2")`.
fn split_version(text: &str) -> (u64, u64, u64, String) {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    let (numbers, pre) = text.split_at(split);
    let n: Vec<u64> = numbers.split('.').map(|p| p.parse().unwrap()).collect();
    (n[0], n[1], n[2], pre.to_string())
}

/// Serves one download, badly: the headers of the whole file, `sent`
/// bytes of it, then nothing until dropped, like a stalled link.
pub struct Drip {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub url_base: String,
    stop: Arc<AtomicBool>,
}

impl Drip {
    /// Serves `body` (announced in full) by sending `sent` bytes, then stalling.
    pub fn start(body: Vec<u8>, sent: usize) -> Drip {
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
                                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
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
