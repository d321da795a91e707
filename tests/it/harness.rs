//! Proves the test harness itself: the HTTP server and its faults, the
//! crafted mirror with the real uv, and the isolated environment.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::World;
use crate::common::env::{SHIM_EXE, assert_failure, assert_success, run, stdout};
use crate::common::http::{Fault, HttpServer, dead_port, http_date};
use crate::common::mirror::{MirrorBuilder, Urls, host, host_python_version};
use crate::common::uv::{UV_NEW, UV_OLD, real_uv, uv_version};

/// How a raw exchange ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// The server closed the connection.
    Eof,
    /// Nothing more arrived within the client's timeout.
    Timeout,
    /// The connection was reset.
    Reset,
}

/// What came back on one connection.
#[derive(Debug)]
struct Reply {
    bytes: Vec<u8>,
    end: End,
}

impl Reply {
    fn split(&self) -> (&str, &[u8]) {
        let at = self
            .bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("no complete header in reply");
        let head = std::str::from_utf8(&self.bytes[..at]).expect("utf-8 header");
        (head, &self.bytes[at + 4..])
    }

    fn status(&self) -> u16 {
        let (head, _) = self.split();
        head.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    fn header(&self, name: &str) -> Option<String> {
        let (head, _) = self.split();
        head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    fn body(&self) -> &[u8] {
        self.split().1
    }
}

/// Sends one request by hand and reads until close or `timeout` of silence.
fn exchange(server: &HttpServer, method: &str, target: &str, headers: &[(&str, &str)]) -> Reply {
    exchange_with_timeout(server, method, target, headers, Duration::from_secs(3))
}

fn exchange_with_timeout(
    server: &HttpServer,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    timeout: Duration,
) -> Reply {
    let mut stream = TcpStream::connect(server.addr()).expect("connect");
    stream.set_read_timeout(Some(timeout)).unwrap();
    let mut request = format!("{method} {target} HTTP/1.1\r\nHost: {}\r\n", server.addr());
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    let mut bytes = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let end = loop {
        match stream.read(&mut buf) {
            Ok(0) => break End::Eof,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                break End::Timeout;
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break End::Reset,
            // A signal cut the wait short (a socket with a read timeout is
            // never restarted): read again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("read: {e}"),
        }
    };
    Reply { bytes, end }
}

fn get(server: &HttpServer, target: &str) -> Reply {
    exchange(server, "GET", target, &[])
}

/// A served directory with a text file, a `+` file and a 1000-byte file.
fn served_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), "hello world").unwrap();
    std::fs::create_dir(dir.path().join("20250101")).unwrap();
    std::fs::write(dir.path().join("20250101/a+b.txt"), "plus").unwrap();
    let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("data.bin"), data).unwrap();
    dir
}

#[test]
fn server_serves_files_with_validators_ranges_and_a_log() {
    let dir = served_dir();
    let server = HttpServer::start(dir.path());
    assert!(server.base_url().starts_with("http://127.0.0.1:"));
    assert_eq!(server.url("/x"), format!("{}/x", server.base_url()));

    let full = get(&server, "/hello.txt");
    assert_eq!(full.status(), 200);
    assert_eq!(full.body(), b"hello world");
    assert_eq!(full.end, End::Eof);
    let etag = full.header("etag").expect("etag");
    let last_modified = full.header("last-modified").expect("last-modified");
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert_eq!(full.header("accept-ranges").as_deref(), Some("bytes"));

    let cached = exchange(&server, "GET", "/hello.txt", &[("If-None-Match", &etag)]);
    assert_eq!(cached.status(), 304);
    assert!(cached.body().is_empty());
    let other = exchange(
        &server,
        "GET",
        "/hello.txt",
        &[("If-None-Match", "\"nope\"")],
    );
    assert_eq!(other.status(), 200);

    let since = exchange(
        &server,
        "GET",
        "/hello.txt",
        &[("If-Modified-Since", &last_modified)],
    );
    assert_eq!(since.status(), 304);
    let old = http_date(0);
    assert_eq!(old, "Thu, 01 Jan 1970 00:00:00 GMT");
    let stale = exchange(&server, "GET", "/hello.txt", &[("If-Modified-Since", &old)]);
    assert_eq!(stale.status(), 200);

    let tail = exchange(&server, "GET", "/hello.txt", &[("Range", "bytes=6-")]);
    assert_eq!(tail.status(), 206);
    assert_eq!(tail.body(), b"world");
    assert_eq!(
        tail.header("content-range").as_deref(),
        Some("bytes 6-10/11")
    );
    let beyond = exchange(&server, "GET", "/hello.txt", &[("Range", "bytes=11-")]);
    assert_eq!(beyond.status(), 416);

    let head = exchange(&server, "HEAD", "/hello.txt", &[]);
    assert_eq!(head.status(), 200);
    assert_eq!(head.header("content-length").as_deref(), Some("11"));
    assert!(head.body().is_empty());

    assert_eq!(get(&server, "/missing").status(), 404);
    assert_eq!(get(&server, "/20250101").status(), 404);
    assert_eq!(get(&server, "/../hello.txt").status(), 403);
    assert_eq!(get(&server, "/20250101/a%2Bb.txt").body(), b"plus");
    assert_eq!(get(&server, "/20250101/a+b.txt").body(), b"plus");
    assert_eq!(get(&server, "/hello.txt?x=1").body(), b"hello world");

    let log = server.requests();
    let encoded = log
        .iter()
        .find(|r| r.raw_path == "/20250101/a%2Bb.txt")
        .expect("logged");
    assert_eq!(encoded.path, "/20250101/a+b.txt");
    assert_eq!(encoded.method, "GET");
    assert_eq!(encoded.status, Some(200));
    assert_eq!(log[1].if_none_match.as_deref(), Some(etag.as_str()));
    assert!(log.iter().any(|r| r.range.as_deref() == Some("bytes=6-")));
    assert!(
        log.iter()
            .any(|r| r.if_modified_since.as_deref() == Some(old.as_str()))
    );
    assert_eq!(server.count("/hello.txt"), 9);
    assert_eq!(server.count("/20250101/"), 2);
    server.clear_log();
    assert!(server.requests().is_empty());
}

#[test]
fn every_fault_behaves_as_documented() {
    let dir = served_dir();
    let server = HttpServer::start(dir.path());
    let file = Some("/data.bin");
    let fast = Duration::from_millis(300);

    server.set_fault(file, Fault::Status(500));
    assert_eq!(get(&server, "/data.bin").status(), 500);

    server.set_fault(file, Fault::Refuse);
    let refused = get(&server, "/data.bin");
    assert!(
        refused.bytes.is_empty() && refused.end != End::Timeout,
        "{refused:?}"
    );

    server.set_fault(file, Fault::Stall);
    let stalled = exchange_with_timeout(&server, "GET", "/data.bin", &[], fast);
    assert!(stalled.bytes.is_empty());
    assert_eq!(stalled.end, End::Timeout);
    assert_eq!(server.requests().last().unwrap().status, None);

    server.set_fault(file, Fault::HeadersThenStall);
    let headers_only = exchange_with_timeout(&server, "GET", "/data.bin", &[], fast);
    assert_eq!(headers_only.status(), 200);
    assert_eq!(
        headers_only.header("content-length").as_deref(),
        Some("1000")
    );
    assert!(headers_only.body().is_empty());
    assert_eq!(headers_only.end, End::Timeout);

    server.set_fault(file, Fault::Truncate { keep: 10 });
    let truncated = get(&server, "/data.bin");
    assert_eq!(truncated.header("content-length").as_deref(), Some("1000"));
    assert_eq!(truncated.body().len(), 10);
    assert_eq!(truncated.end, End::Eof);

    server.set_fault(file, Fault::Body(b"xyz".to_vec()));
    let replaced = get(&server, "/data.bin");
    assert_eq!((replaced.status(), replaced.body()), (200, &b"xyz"[..]));

    server.set_fault(file, Fault::Huge(3_000_000));
    let huge = get(&server, "/data.bin");
    assert_eq!(huge.header("content-length").as_deref(), Some("3000000"));
    assert_eq!(huge.body().len(), 3_000_000);
    assert!(huge.body().iter().all(|&b| b == b'a'));

    server.set_fault(file, Fault::RedirectLoop);
    let redirect = get(&server, "/data.bin");
    assert_eq!(redirect.status(), 302);
    assert_eq!(redirect.header("location"), Some(server.url("/data.bin")));

    server.set_fault(file, Fault::Delay(fast));
    let started = Instant::now();
    let delayed = get(&server, "/data.bin");
    assert!(started.elapsed() >= fast);
    assert_eq!(delayed.body().len(), 1000);

    server.set_fault(file, Fault::CutOnce { after: 100 });
    let cut = get(&server, "/data.bin");
    assert_eq!(cut.header("content-length").as_deref(), Some("1000"));
    assert_eq!(cut.body().len(), 100);
    let resumed = exchange(&server, "GET", "/data.bin", &[("Range", "bytes=100-")]);
    assert_eq!(resumed.status(), 206);
    assert_eq!(
        resumed.body(),
        &std::fs::read(dir.path().join("data.bin")).unwrap()[100..]
    );

    server.set_fault(
        file,
        Fault::FailTimes {
            times: 2,
            status: 503,
        },
    );
    let statuses: Vec<u16> = (0..3).map(|_| get(&server, "/data.bin").status()).collect();
    assert_eq!(statuses, [503, 503, 200]);

    // An exact path wins over the every-path fault.
    server.set_fault(None, Fault::Status(502));
    server.set_fault(file, Fault::Body(b"exact".to_vec()));
    assert_eq!(get(&server, "/hello.txt").status(), 502);
    assert_eq!(get(&server, "/data.bin").body(), b"exact");
    server.clear_fault(file);
    assert_eq!(get(&server, "/data.bin").status(), 502);

    server.clear_faults();
    assert_eq!(get(&server, "/data.bin").body().len(), 1000);
}

#[test]
fn dropping_the_server_releases_stalled_clients() {
    let dir = served_dir();
    let server = HttpServer::start(dir.path());
    server.set_fault(None, Fault::Stall);
    let addr = server.addr();
    let client = thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(b"GET /hello.txt HTTP/1.1\r\n\r\n")
            .unwrap();
        let started = Instant::now();
        let mut buf = [0u8; 16];
        let read = stream.read(&mut buf);
        (read.map_err(|e| e.kind()), started.elapsed())
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.count("/hello.txt") == 0 {
        assert!(Instant::now() < deadline, "request never arrived");
        thread::sleep(Duration::from_millis(10));
    }
    let started = Instant::now();
    drop(server);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "drop took too long"
    );
    let (read, waited) = client.join().unwrap();
    assert!(matches!(read, Ok(0)) || read.is_err(), "{read:?}");
    assert!(waited < Duration::from_secs(5), "client waited {waited:?}");

    let port = dead_port();
    let refused = TcpStream::connect(("127.0.0.1", port)).unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn environment_is_minimal_and_isolated() {
    let world = World::builder()
        .real_uv_at("/opt/fake-uv/bin/uv")
        .env("EXTRA", "1")
        .without_env("NO_COLOR")
        .build();
    let env = &world.env;
    let output = run(&mut env.command("/usr/bin/env"));
    assert_success(&output);
    let vars = stdout(&output);
    let names: Vec<&str> = vars.lines().filter_map(|l| l.split('=').next()).collect();
    assert!(
        names.contains(&"EXTRA") && !names.contains(&"NO_COLOR"),
        "{vars}"
    );
    assert!(!names.iter().any(|n| n.starts_with("CARGO")), "{vars}");
    let path = format!(
        "PATH={}:/opt/fake-uv/bin:/usr/local/bin:/usr/bin:/bin",
        env.bin_dir().display()
    );
    assert!(vars.lines().any(|l| l == path), "{vars}");
    assert_eq!(
        std::fs::read_link(env.uv_link()).unwrap(),
        std::path::Path::new(SHIM_EXE)
    );
    let uv_toml = env.write_system_file("uv.toml", "");
    assert!(env.root().join("xdg/uv/uv.toml").is_file());
    assert_eq!(uv_toml, env.etc_dir().join("uv.toml"));
    assert_failure(&run(env.command("/bin/sh").args(["-c", "exit 3"])));
}

#[test]
fn real_uv_installs_a_crafted_build_from_the_test_server() {
    let uv = real_uv(UV_NEW);
    assert_eq!(uv_version(&uv), UV_NEW);
    let world = World::builder().build();
    let env = &world.env;
    let (major, minor, patch) = host_python_version();
    let server = HttpServer::start(env.root().join("mirror"));
    let entries = MirrorBuilder::new(env.root().join("mirror"))
        .cpython(major, minor, patch, "20250101")
        .write_metadata(Urls::Absolute(server.base_url()));
    let entry = &entries[0];
    assert!(entry.url.contains("%2B20250101-"), "{}", entry.url);
    assert!(entry.path.ends_with(&entry.rel_path));

    let output = run(env
        .command(&uv)
        .args(["python", "install", &format!("{major}.{minor}.{patch}")])
        .env(
            "UV_PYTHON_DOWNLOADS_JSON_URL",
            env.root().join("mirror/download-metadata.json"),
        ));
    assert_success(&output);

    let log = server.requests();
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_eq!(log[0].path, format!("/{}", entry.rel_path));
    assert_eq!(log[0].raw_path, format!("/{}", entry.encoded_rel_path()));
    assert_eq!(log[0].status, Some(200));
    assert!(
        log[0]
            .user_agent
            .as_deref()
            .unwrap_or("")
            .starts_with("uv/")
    );

    let python = env.managed_python(entry);
    let printed = run(env.command(&python).args(["-c", "print(1)"]));
    assert_success(&printed);
    assert_eq!(stdout(&printed), "1\n");
    assert!(
        env.pybin_dir()
            .join(format!("python{major}.{minor}"))
            .exists()
    );
}

#[test]
fn old_uv_asks_the_install_mirror_for_its_built_in_path() {
    let uv = real_uv(UV_OLD);
    let world = World::builder().build();
    let env = &world.env;
    let server = HttpServer::start(env.root().join("mirror"));
    let output = run(env
        .command(&uv)
        .args(["python", "install", "3.11.7"])
        .env("UV_PYTHON_INSTALL_MIRROR", server.url("mirror")));
    assert_failure(&output);
    let file = format!(
        "cpython-3.11.7%2B20240107-{}-install_only.tar.gz",
        host().triple
    );
    let log = server.requests();
    assert!(!log.is_empty());
    assert!(
        log.iter()
            .all(|r| r.raw_path == format!("/mirror/20240107/{file}")),
        "{log:#?}"
    );
    assert_eq!(
        log[0].path,
        format!("/mirror/20240107/{}", file.replace("%2B", "+"))
    );
    assert_eq!(log[0].status, Some(404));
}
