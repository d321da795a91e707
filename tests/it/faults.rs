//! A mirror that misbehaves never breaks `uv`.
//!
//! Each story seeds a good cached copy of the metadata, makes it stale,
//! switches one fault on and calls `uv --version` through the shim. For every
//! fault:
//!
//! * uv still runs (exit 0, uv's own output) and the shim prints exactly one
//!   warning line that names the metadata URL and what went wrong;
//! * the last good copy survives byte for byte and is still what uv gets;
//! * the failure is remembered: the next call neither warns nor asks again;
//! * `uv-shim refresh` fails with exit 1 and the same reason, and heals the
//!   cache once the mirror is good again;
//! * the delay is bounded: the stories measure it and assert generous limits.
//!
//! The faults of the harness server are also tried against an empty cache:
//! after one warning, uv runs with the mirror variables instead of metadata.
//!
//! Most faults come from the harness [`HttpServer`]. What it cannot do (close
//! its port, stop accepting so that a connect never completes, stream a body
//! without `Content-Length`) comes from [`Bare`], a few lines of std and libc
//! on 127.0.0.1. `UV_SHIM_HTTP_TIMEOUT=1s` keeps stalls short; two stories
//! prove the defaults (5 s in all, 2 s to connect). The observed bounds are in
//! `docs/faults.md`.
//!
//! Not here: "http where https is required". Only a mirror found by DNS must
//! be https (DESIGN: config-named mirrors may be http), and `tests/it/dns.rs`
//! already proves that refusal
//! (`plain_http_is_refused_unless_the_system_config_allows_it`).
//!
//! Linux only: [`Bare`] relies on Linux dropping SYNs when a listen queue is
//! full, and on `SOCK_CLOEXEC`. The shim's fetch code is the same everywhere.

use crate::common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Output;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::env::{TestEnv, assert_success, run, stderr, stdout};
use common::http::{Fault, HttpServer};
use common::scene::{METADATA, mirror_scene, one_warning};

/// Generous bound for faults answered at once: uv's own start plus slack.
const QUICK: Duration = Duration::from_secs(2);

/// Bound for faults that cost the whole short time limit (1 s).
const ONE_TIMEOUT: Duration = Duration::from_millis(2500);

/// One test's world: a mirror on a harness server, the shim pointed at it
/// (or at a [`Bare`] server), and the short time limit.
struct World {
    env: TestEnv,
    server: HttpServer,
    bare: Option<Bare>,
    /// The metadata URL the shim fetches.
    url: String,
}

impl World {
    /// A mirror holding one build on a harness server, named by the system config.
    fn new() -> World {
        let (env, server) = mirror_scene();
        World {
            url: server.url(METADATA),
            env,
            server,
            bare: None,
        }
    }

    /// The same mirror document served by a [`Bare`] server instead.
    fn bare() -> World {
        let mut world = World::new();
        let bare = Bare::start(world.good_document());
        let base = format!("http://{}/uv/", bare.addr);
        world
            .env
            .write_system_config(&format!("mirror = \"{base}\"\n"));
        world.url = format!("{base}download-metadata.json");
        world.bare = Some(bare);
        world
    }

    /// The shim's default time limits instead of the short one.
    fn with_default_timeouts(mut self) -> World {
        self.env.unset_env("UV_SHIM_HTTP_TIMEOUT");
        self
    }

    /// The mirror's good `download-metadata.json`.
    fn good_document(&self) -> Vec<u8> {
        std::fs::read(self.env.root().join("www/uv/download-metadata.json")).unwrap()
    }

    /// Metadata requests that reached whichever server the shim uses.
    fn requests(&self) -> usize {
        match &self.bare {
            Some(bare) => bare.served(),
            None => self.server.count(METADATA),
        }
    }

    /// Fills the cache with a good copy (one request); returns its bytes.
    fn seed(&self) -> Vec<u8> {
        let before = self.requests();
        let output = run(self.env.uv().arg("--version"));
        assert_success(&output);
        assert_eq!(stderr(&output), "");
        assert_eq!(self.requests(), before + 1);
        self.copy()
    }

    fn copy_path(&self) -> PathBuf {
        common::cache::metadata_copy(&self.env.cache_dir())
    }

    /// The cached JSON's bytes.
    fn copy(&self) -> Vec<u8> {
        std::fs::read(self.copy_path()).unwrap()
    }

    fn expire(&self) {
        common::cache::expire(&self.env.cache_dir());
    }

    /// The mirror publishes its document again (same bytes, new mtime, so a
    /// new ETag): a stale copy can no longer be confirmed with a 304, and the
    /// fault hits a full answer.
    fn republish(&self) {
        let path = self.env.root().join("www/uv/download-metadata.json");
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        let later = std::time::SystemTime::now() + Duration::from_secs(1);
        file.set_modified(later).unwrap();
    }

    /// Forgets everything cached about the metadata (copy and remembered failure).
    fn forget(&self) {
        std::fs::remove_dir_all(self.env.cache_dir().join("metadata")).unwrap();
    }

    /// `uv --version` through the shim, timed.
    fn uv_version(&self) -> (Output, Duration) {
        let started = Instant::now();
        let output = run(self.env.uv().arg("--version"));
        (output, started.elapsed())
    }

    /// The metadata file the shim hands uv (`UV_PYTHON_DOWNLOADS_JSON_URL`), if any.
    fn handed_to_uv(&self) -> Option<PathBuf> {
        common::scene::handed_to_uv(&self.env)
    }

    /// The good document with one field of its only entry replaced, as a
    /// fault, and the entry's key.
    fn tampered(&self, field: &str, value: serde_json::Value) -> (Fault, String) {
        let mut doc: serde_json::Value = serde_json::from_slice(&self.good_document()).unwrap();
        let key = doc.as_object().unwrap().keys().next().unwrap().clone();
        doc[&key][field] = value;
        (Fault::Body(doc.to_string().into_bytes()), key)
    }
}

/// What the stale call of [`good_copy_survives`] cost.
#[derive(Debug)]
struct Observed {
    /// How long it took.
    took: Duration,
    /// How many metadata requests it made.
    asked: usize,
}

/// The story of the module docs, from a good copy made stale: `set` switches
/// the fault on, `heal` off again; `says` are what the warning must hold
/// besides the URL; the stale call must take less than `bound`.
#[track_caller]
fn good_copy_survives(
    world: &World,
    set: impl Fn(&World),
    heal: impl Fn(&World),
    says: &[&str],
    bound: Duration,
) -> Observed {
    let good = world.seed();
    world.expire();
    world.republish();
    set(world);
    let before = world.requests();

    let (output, took) = world.uv_version();
    let mut expected = vec![
        "could not refresh the mirror's metadata",
        world.url.as_str(),
        "using the copy from 1h",
    ];
    expected.extend_from_slice(says);
    let warning = one_warning(&output, &expected);
    eprintln!("stale call took {took:?}: {warning}");
    assert!(
        took < bound,
        "the stale call took {took:?} (bound {bound:?})"
    );
    assert_eq!(world.copy(), good, "the good copy changed");
    let asked = world.requests() - before;

    // Remembered: no second wait, no second warning, and uv still gets the good copy.
    let (output, quiet) = world.uv_version();
    assert_success(&output);
    assert_eq!(stderr(&output), "");
    assert!(
        quiet < Duration::from_secs(1),
        "a call in the backoff took {quiet:?}"
    );
    assert_eq!(world.requests() - before, asked);
    assert_eq!(world.handed_to_uv(), Some(world.copy_path()));

    // The tool face fails with the same reason, and keeps the copy.
    let output = run(world.env.shim().arg("refresh"));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.starts_with("uv-shim: error: refresh failed: "),
        "{message}"
    );
    assert!(message.contains(&world.url), "{message}");
    for fragment in says {
        assert!(
            message.contains(fragment),
            "`{fragment}` missing from:\n{message}"
        );
    }
    assert!(
        stdout(&output).contains("kept the last good copy"),
        "{}",
        stdout(&output)
    );
    assert_eq!(world.copy(), good);

    // Heals on the next good answer, and the next call is quiet.
    heal(world);
    let output = run(world.env.shim().arg("refresh"));
    assert_success(&output);
    assert_eq!(world.copy(), good);
    let (output, _) = world.uv_version();
    assert_success(&output);
    assert_eq!(stderr(&output), "");
    Observed { took, asked }
}

/// The fault against an empty cache: after one warning, within `bound`, uv
/// runs with the mirror variables and no metadata file. Then forgets the failure, so that the good-copy
/// story can follow.
#[track_caller]
fn uv_runs_without_a_copy(world: &World, fault: &Fault, says: &[&str], bound: Duration) {
    world.server.set_fault(Some(METADATA), fault.clone());
    let (output, took) = world.uv_version();
    let mut expected = vec![
        "could not get the mirror's metadata",
        world.url.as_str(),
        "uv gets the mirror variables and its built-in list instead",
    ];
    expected.extend_from_slice(says);
    let warning = one_warning(&output, &expected);
    eprintln!("cold call took {took:?}: {warning}");
    assert!(took < bound, "took {took:?} (bound {bound:?})");
    assert_eq!(world.handed_to_uv(), None);
    world.server.clear_faults();
    world.forget();
}

/// Both stories for a fault on the harness server's metadata path; one
/// request per attempt.
#[track_caller]
fn harness_fault(world: World, fault: Fault, says: &[&str], bound: Duration) -> Duration {
    uv_runs_without_a_copy(&world, &fault, says, bound);
    let observed = good_copy_survives(
        &world,
        |w| w.server.set_fault(Some(METADATA), fault.clone()),
        |w| w.server.clear_faults(),
        says,
        bound,
    );
    assert_eq!(observed.asked, 1, "{observed:?}");
    observed.took
}

#[test]
fn connection_refused() {
    let world = World::bare();
    let bare = world.bare.as_ref().unwrap();
    let observed = good_copy_survives(
        &world,
        |_| bare.close(),
        |w| bare.reopen(w.good_document()),
        &["connection failed", "Connection refused"],
        QUICK,
    );
    assert_eq!(observed.asked, 0);
}

#[test]
fn accepts_but_never_answers() {
    let took = harness_fault(
        World::new(),
        Fault::Stall,
        &["no complete answer within 1s"],
        ONE_TIMEOUT,
    );
    assert!(took >= Duration::from_millis(900), "{took:?}");
}

#[test]
fn answers_headers_then_stalls() {
    let took = harness_fault(
        World::new(),
        Fault::HeadersThenStall,
        &["no complete answer within 1s"],
        ONE_TIMEOUT,
    );
    assert!(took >= Duration::from_millis(900), "{took:?}");
}

#[test]
fn server_error_500() {
    harness_fault(
        World::new(),
        Fault::Status(500),
        &["answered HTTP 500"],
        QUICK,
    );
}

#[test]
fn not_found_404() {
    harness_fault(
        World::new(),
        Fault::Status(404),
        &["answered HTTP 404"],
        QUICK,
    );
}

#[test]
fn truncated_body() {
    harness_fault(
        World::new(),
        Fault::Truncate { keep: 100 },
        &["the body was cut short"],
        QUICK,
    );
}

#[test]
fn invalid_json() {
    let cut = Fault::Body(b"{\"cpython-3.12.1-linux-x86_64-gnu\": {\"name\": ".to_vec());
    harness_fault(World::new(), cut, &["is not valid JSON", "line 1"], QUICK);
}

#[test]
fn valid_json_of_the_wrong_shape() {
    let list = Fault::Body(b"[{\"name\": \"cpython\"}]".to_vec());
    harness_fault(
        World::new(),
        list,
        &["has the wrong shape", "found an array"],
        QUICK,
    );
}

#[test]
fn an_entry_with_a_bad_sha256() {
    let world = World::new();
    let (bad, key) = world.tampered("sha256", "0xdeadbeef".into());
    let key = format!("entry `{key}`");
    harness_fault(world, bad, &[&key, "field `sha256`", "`0xdeadbeef`"], QUICK);
}

#[test]
fn an_entry_with_an_unknown_os() {
    let world = World::new();
    let (bad, key) = world.tampered("os", "plan9".into());
    let key = format!("entry `{key}`");
    harness_fault(
        world,
        bad,
        &[&key, "field `os`", "unknown value `plan9`"],
        QUICK,
    );
}

#[test]
fn a_200_mb_body_is_refused_by_its_announced_length() {
    let took = harness_fault(
        World::new(),
        Fault::Huge(200 << 20),
        &["is larger than the 64 MiB limit; refusing it"],
        QUICK,
    );
    // Refused on the header: far quicker than reading 64 MiB, let alone 200.
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[test]
fn a_redirect_loop() {
    let world = World::new();
    let says = ["too many redirects"];
    uv_runs_without_a_copy(&world, &Fault::RedirectLoop, &says, QUICK);
    let observed = good_copy_survives(
        &world,
        |w| w.server.set_fault(Some(METADATA), Fault::RedirectLoop),
        |w| w.server.clear_faults(),
        &says,
        QUICK,
    );
    // The request and five redirects, then the shim gives up.
    assert_eq!(observed.asked, 6, "{observed:?}");
}

#[test]
fn an_endless_body_without_a_length_is_cut_at_the_cap() {
    let world = World::bare();
    let bare = world.bare.as_ref().unwrap();
    let observed = good_copy_survives(
        &world,
        |_| bare.set(Mode::Endless),
        |w| bare.set(Mode::Serve(Arc::new(w.good_document()))),
        &["is larger than the 64 MiB limit; refusing it"],
        Duration::from_secs(5),
    );
    assert_eq!(observed.asked, 1);
    // Two endless answers (the stale call and `refresh`), each cut at the
    // 64 MiB cap; the socket buffers hold a little more.
    let sent = bare.streamed.load(Ordering::Relaxed);
    assert!(sent < 2 * (80 << 20), "the shim read {} MiB", sent >> 20);
}

#[test]
fn a_stalled_mirror_costs_at_most_the_default_five_seconds() {
    let world = World::new().with_default_timeouts();
    let observed = good_copy_survives(
        &world,
        |w| w.server.set_fault(Some(METADATA), Fault::HeadersThenStall),
        |w| w.server.clear_faults(),
        &["no complete answer within 5s"],
        Duration::from_secs(10),
    );
    assert!(observed.took >= Duration::from_millis(4500), "{observed:?}");
}

#[test]
fn a_connect_that_never_completes_costs_the_default_two_seconds() {
    let world = World::bare().with_default_timeouts();
    let bare = world.bare.as_ref().unwrap();
    let observed = good_copy_survives(
        &world,
        |_| bare.set(Mode::Hold),
        |w| bare.set(Mode::Serve(Arc::new(w.good_document()))),
        &["connection failed: not established within 2s"],
        Duration::from_secs(4),
    );
    assert!(observed.took >= Duration::from_millis(1800), "{observed:?}");
    assert_eq!(observed.asked, 0);
}

/// What a [`Bare`] server does with the next connection.
#[derive(Debug, Clone)]
enum Mode {
    /// Read the request, answer 200 with this body and its length.
    Serve(Arc<Vec<u8>>),
    /// Read the request, answer 200 without `Content-Length` and stream `a`
    /// until the client leaves (at most 1 GiB).
    Endless,
    /// Accept nothing: once the one-slot listen queue is full, a connect
    /// never completes (the kernel drops the SYN), as behind a firewall
    /// that drops packets.
    Hold,
    /// Stop listening: connects are refused.
    Closed,
}

/// A bare HTTP/1.1 server on 127.0.0.1 (listen backlog 0) for what the
/// harness server cannot do; see [`Mode`].
struct Bare {
    addr: SocketAddr,
    shared: Arc<BareShared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Connections made to fill the listen queue in [`Mode::Hold`].
    fillers: Mutex<Vec<TcpStream>>,
    /// Bytes sent by [`Mode::Endless`] answers.
    streamed: Arc<AtomicU64>,
}

struct BareShared {
    mode: Mutex<Mode>,
    changed: Condvar,
    served: AtomicUsize,
}

impl Bare {
    fn start(body: Vec<u8>) -> Bare {
        let listener = listen(0);
        let bare = Bare {
            addr: listener.local_addr().unwrap(),
            shared: Arc::new(BareShared {
                mode: Mutex::new(Mode::Serve(Arc::new(body))),
                changed: Condvar::new(),
                served: AtomicUsize::new(0),
            }),
            thread: Mutex::new(None),
            fillers: Mutex::new(Vec::new()),
            streamed: Arc::new(AtomicU64::new(0)),
        };
        bare.spawn(listener);
        bare
    }

    /// Requests answered so far.
    fn served(&self) -> usize {
        self.shared.served.load(Ordering::Relaxed)
    }

    fn spawn(&self, listener: TcpListener) {
        let shared = Arc::clone(&self.shared);
        let streamed = Arc::clone(&self.streamed);
        let handle = std::thread::spawn(move || accept_loop(&listener, &shared, &streamed));
        *self.thread.lock().unwrap() = Some(handle);
    }

    /// Switches the mode; for [`Mode::Hold`], also fills the listen queue.
    fn set(&self, mode: Mode) {
        let hold = matches!(mode, Mode::Hold);
        *self.shared.mode.lock().unwrap() = mode;
        self.shared.changed.notify_all();
        let mut fillers = self.fillers.lock().unwrap();
        fillers.clear();
        if hold {
            // Wakes the accept loop, which sees the mode and stops accepting.
            let _wake = TcpStream::connect(self.addr);
            // Fill the queue until a connect times out. Until the loop has
            // taken the wake-up connection, that one fills the queue: a
            // timeout then means "not yet", so keep going until a filler of
            // ours sits in the queue.
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match TcpStream::connect_timeout(&self.addr, Duration::from_millis(300)) {
                    Ok(stream) => fillers.push(stream),
                    Err(_) if !fillers.is_empty() => break,
                    Err(_) => std::thread::sleep(Duration::from_millis(50)),
                }
                assert!(
                    fillers.len() < 16 && Instant::now() < deadline,
                    "the listen queue never fills"
                );
            }
        }
    }

    /// Stops listening (connection refused) until [`Bare::reopen`].
    fn close(&self) {
        self.set(Mode::Closed);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.lock().unwrap().take() {
            thread.join().unwrap();
        }
    }

    /// Listens again on the same port, serving `body`.
    fn reopen(&self, body: Vec<u8>) {
        *self.shared.mode.lock().unwrap() = Mode::Serve(Arc::new(body));
        self.spawn(listen(self.addr.port()));
    }
}

impl Drop for Bare {
    fn drop(&mut self) {
        self.fillers.lock().unwrap().clear();
        self.close();
    }
}

/// Serves connections by the current mode until [`Mode::Closed`].
fn accept_loop(listener: &TcpListener, shared: &BareShared, streamed: &AtomicU64) {
    loop {
        {
            let mode = shared.mode.lock().unwrap();
            let mode = shared
                .changed
                .wait_while(mode, |m| matches!(m, Mode::Hold))
                .unwrap();
            if matches!(*mode, Mode::Closed) {
                return;
            }
        }
        let Ok((mut stream, _)) = listener.accept() else {
            continue;
        };
        let mode = shared.mode.lock().unwrap().clone();
        match mode {
            Mode::Closed => return,
            Mode::Hold => continue,
            Mode::Serve(body) => {
                if read_head(&mut stream) {
                    shared.served.fetch_add(1, Ordering::Relaxed);
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(&body);
                }
            }
            Mode::Endless => {
                if read_head(&mut stream) {
                    shared.served.fetch_add(1, Ordering::Relaxed);
                    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n";
                    let _ = stream.write_all(head.as_bytes());
                    let chunk = vec![b'a'; 64 * 1024];
                    for _ in 0..(1 << 30) / chunk.len() {
                        if stream.write_all(&chunk).is_err() {
                            break;
                        }
                        streamed.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    }
                }
            }
        }
    }
}

/// Reads a request header; false when none came (a wake-up connection).
fn read_head(stream: &mut TcpStream) -> bool {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    true
}

/// A listening socket on 127.0.0.1:`port` (0: any) with backlog 0, so that
/// one unaccepted connection fills its queue.
fn listen(port: u16) -> TcpListener {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a descriptor created here and handed to
    // an `OwnedFd` at once; the structs are plain old data.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let owned = std::os::fd::OwnedFd::from_raw_fd(fd);
        let one: libc::c_int = 1;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&raw const one).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_port = port.to_be();
        addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(
            libc::bind(fd, (&raw const addr).cast(), len),
            0,
            "bind 127.0.0.1:{port}: {}",
            std::io::Error::last_os_error()
        );
        assert_eq!(
            libc::listen(fd, 0),
            0,
            "listen: {}",
            std::io::Error::last_os_error()
        );
        TcpListener::from(owned)
    }
}
