//! A real HTTP/1.1 file server on `127.0.0.1`, with a request log and faults.
//!
//! Written on std only: a [`TcpListener`] on an ephemeral port, one thread per
//! connection, one request per connection (`Connection: close`). It serves the
//! files under a root directory and speaks enough HTTP for the shim and the
//! real uv:
//!
//! * the request path is percent-decoded (`%2B` becomes `+`; `+` stays `+`),
//!   any query string is ignored, `..` segments are refused with 403;
//! * `ETag` (quoted hex of size and mtime) and `Last-Modified`, with `304 Not
//!   Modified` for a matching `If-None-Match` or a not-older
//!   `If-Modified-Since` (`If-None-Match` wins when both are sent);
//! * `Range: bytes=N-` and `bytes=N-M` give `206` with `Content-Range`
//!   (`416` when unsatisfiable), honouring `If-Range`;
//! * `HEAD`; `404` for anything that is not a file; `405` for other methods.
//!
//! Every request is logged ([`HttpServer::requests`]) the moment its header is
//! read, so a stalled request is visible while it stalls; the status is filled
//! in once decided (`None` when nothing was answered).
//!
//! Faults ([`Fault`]) can be set per decoded path, or for every path, and
//! switched while the server runs. Dropping the server stops the accept loop
//! and shuts down every open connection, stalled ones included, so a stall
//! never outlives its test.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, UNIX_EPOCH};

/// How long a connection may take to send its request header.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest a stall lasts if the server is somehow never dropped.
const STALL_LIMIT: Duration = Duration::from_secs(600);

/// Largest request header accepted.
const MAX_HEADER: usize = 64 * 1024;

/// A misbehaviour the server shows instead of (or before) its normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status (e.g. 500, 404) with a short text body.
    Status(u16),
    /// Read the request, then close the connection without answering.
    Refuse,
    /// Read the request and never answer; the socket is held open until the
    /// server is dropped.
    Stall,
    /// Send the status line and headers of the normal answer, then stall.
    HeadersThenStall,
    /// Send the normal answer's headers (full `Content-Length`) but only the
    /// first `keep` bytes of its body, then close.
    Truncate {
        /// Body bytes sent before closing.
        keep: usize,
    },
    /// Answer 200 with this body instead of the file.
    Body(Vec<u8>),
    /// The first matching request gets 200 with this body instead of the
    /// file, later ones the file (a reader that caught a file mid-publish).
    BodyOnce(Vec<u8>),
    /// A server that answers `max` requests at a time: each matching
    /// request is held `hold`, then answered normally; one that arrives
    /// while `max` are being answered gets `status` with `Retry-After:
    /// retry_after` (seconds).
    Busy {
        /// Requests answered at once.
        max: usize,
        /// The status of the others (429, 503).
        status: u16,
        /// Their `Retry-After`, in seconds.
        retry_after: u64,
        /// How long each answered request is held before its answer.
        hold: Duration,
    },
    /// Answer 200 and stream this many bytes of `a`.
    Huge(u64),
    /// Answer 302 with `Location` pointing at the request itself.
    RedirectLoop,
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// The first matching request gets the normal headers (full length), then
    /// `after` body bytes, then the connection closes; later requests are
    /// answered normally (for resume tests).
    CutOnce {
        /// Body bytes sent before the cut.
        after: usize,
    },
    /// The first `times` matching requests are answered with `status`, later
    /// ones normally.
    FailTimes {
        /// How many requests fail.
        times: usize,
        /// The status they get.
        status: u16,
    },
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `HEAD`, …
    pub method: String,
    /// The request target exactly as sent (percent-encoding and query kept).
    pub raw_path: String,
    /// The percent-decoded path, without query (`%2B` shown as `+`).
    pub path: String,
    /// The `Range` header, if sent.
    pub range: Option<String>,
    /// The `If-None-Match` header, if sent.
    pub if_none_match: Option<String>,
    /// The `If-Modified-Since` header, if sent.
    pub if_modified_since: Option<String>,
    /// The `User-Agent` header, if sent.
    pub user_agent: Option<String>,
    /// Every header, names lowercased, in the order sent.
    pub headers: Vec<(String, String)>,
    /// The status answered; `None` while undecided or when nothing was
    /// answered (`Refuse`, `Stall`).
    pub status: Option<u16>,
}

impl Request {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header_value(&self.headers, name)
    }
}

/// A running server; it stops when dropped.
#[derive(Debug)]
pub struct HttpServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

/// A fault with the number of requests it has matched so far.
#[derive(Debug)]
struct FaultSlot {
    path: Option<String>,
    fault: Fault,
    hits: usize,
}

/// State shared by the accept loop, the connections and the test.
#[derive(Debug)]
struct Shared {
    root: PathBuf,
    port: u16,
    stopped: Mutex<bool>,
    wake: Condvar,
    /// Requests with their arrival number (stable across `clear_log`).
    log: Mutex<Vec<(u64, Request)>>,
    next_request: AtomicU64,
    faults: Mutex<Vec<FaultSlot>>,
    conns: Mutex<HashMap<u64, TcpStream>>,
    next_id: AtomicU64,
    /// Requests being answered under a `Busy` fault.
    answering: Mutex<usize>,
}

impl HttpServer {
    /// Starts serving the files under `root` on `127.0.0.1:<ephemeral port>`.
    pub fn start(root: impl Into<PathBuf>) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            root: root.into(),
            port: addr.port(),
            stopped: Mutex::new(false),
            wake: Condvar::new(),
            log: Mutex::new(Vec::new()),
            next_request: AtomicU64::new(0),
            faults: Mutex::new(Vec::new()),
            conns: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            answering: Mutex::new(0),
        });
        let accept = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(format!("http-accept-{}", addr.port()))
                .spawn(move || accept_loop(listener, shared))
                .expect("spawn accept thread")
        };
        HttpServer {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The URL of `path` on this server (a leading `/` is optional).
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base_url(), path.trim_start_matches('/'))
    }

    /// The socket address listened on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Request> {
        lock(&self.shared.log)
            .iter()
            .map(|(_, request)| request.clone())
            .collect()
    }

    /// How many requests had a decoded path starting with `path_prefix`.
    pub fn count(&self, path_prefix: &str) -> usize {
        lock(&self.shared.log)
            .iter()
            .filter(|(_, r)| r.path.starts_with(path_prefix))
            .count()
    }

    /// Forgets the requests logged so far.
    pub fn clear_log(&self) {
        lock(&self.shared.log).clear();
    }

    /// Makes requests for `path` (exact decoded path such as
    /// `/download-metadata.json`), or for every path when `None`, misbehave.
    /// Replaces an earlier fault for the same path; an exact path wins over
    /// `None`. Counting faults (`CutOnce`, `FailTimes`) start afresh.
    pub fn set_fault(&self, path: Option<&str>, fault: Fault) {
        let path = path.map(str::to_owned);
        let mut faults = lock(&self.shared.faults);
        faults.retain(|slot| slot.path != path);
        faults.push(FaultSlot {
            path,
            fault,
            hits: 0,
        });
    }

    /// Removes the fault for `path` (or the every-path fault for `None`).
    pub fn clear_fault(&self, path: Option<&str>) {
        lock(&self.shared.faults).retain(|slot| slot.path.as_deref() != path);
    }

    /// Removes every fault: all requests are answered normally again.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        *lock(&self.shared.stopped) = true;
        self.shared.wake.notify_all();
        // Wake the accept loop; it sees `stopped` and returns. Should the
        // wake-up fail, the loop is left behind rather than waited for.
        let woken = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok();
        if let Some(accept) = self.accept.take().filter(|_| woken) {
            let _ = accept.join();
        }
        for stream in lock(&self.shared.conns).values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// Locks a mutex, ignoring poisoning (a panicking test thread must not hide
/// the log from the others).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Accepts connections until the server is dropped.
fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.is_stopped() {
            return;
        }
        let stream = match stream {
            Ok(stream) => stream,
            Err(_) => {
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(clone) = stream.try_clone() {
            lock(&shared.conns).insert(id, clone);
        }
        let conn_shared = Arc::clone(&shared);
        let spawned = thread::Builder::new()
            .name(format!("http-conn-{id}"))
            .spawn(move || {
                handle_connection(&conn_shared, stream);
                lock(&conn_shared.conns).remove(&id);
            });
        if spawned.is_err() {
            lock(&shared.conns).remove(&id);
        }
    }
}

impl Shared {
    /// Whether the server was dropped.
    fn is_stopped(&self) -> bool {
        *lock(&self.stopped)
    }

    /// Sleeps up to `duration`; returns early with `true` once stopped.
    fn wait(&self, duration: Duration) -> bool {
        let guard = lock(&self.stopped);
        let (guard, _) = self
            .wake
            .wait_timeout_while(guard, duration, |stopped| !*stopped)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }

    /// Logs a request; returns its number for [`Shared::set_status`].
    fn log(&self, request: Request) -> u64 {
        let number = self.next_request.fetch_add(1, Ordering::Relaxed);
        lock(&self.log).push((number, request));
        number
    }

    /// Records the status answered to logged request `number`.
    fn set_status(&self, number: u64, status: u16) {
        let mut log = lock(&self.log);
        if let Some((_, request)) = log.iter_mut().rev().find(|(n, _)| *n == number) {
            request.status = Some(status);
        }
    }

    /// The fault that applies to this request, counting it.
    fn take_fault(&self, path: &str) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let index = faults
            .iter()
            .position(|slot| slot.path.as_deref() == Some(path))
            .or_else(|| faults.iter().position(|slot| slot.path.is_none()))?;
        let slot = &mut faults[index];
        let hits = slot.hits;
        slot.hits += 1;
        match slot.fault {
            Fault::CutOnce { .. } | Fault::BodyOnce(_) if hits > 0 => None,
            Fault::FailTimes { times, .. } if hits >= times => None,
            ref fault => Some(fault.clone()),
        }
    }
}

/// Reads one request and answers it, faults applied.
fn handle_connection(shared: &Shared, mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let Some(head) = read_head(&mut stream) else {
        return;
    };
    let Some(request) = parse_request(&head) else {
        let _ = write_head(&mut stream, &Response::text(400, "bad request\n"));
        return;
    };
    let number = shared.log(request.clone());
    let is_head = request.method == "HEAD";
    let fault = shared.take_fault(&request.path);

    let response = match fault {
        None => normal_response(shared, &request),
        Some(Fault::Status(status)) => {
            Response::text(status, &format!("injected status {status}\n"))
        }
        Some(Fault::Refuse) => {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        Some(Fault::Stall) => {
            shared.wait(STALL_LIMIT);
            return;
        }
        Some(Fault::HeadersThenStall) => {
            let response = normal_response(shared, &request);
            shared.set_status(number, response.status);
            let _ = write_head(&mut stream, &response);
            shared.wait(STALL_LIMIT);
            return;
        }
        Some(Fault::Truncate { keep }) | Some(Fault::CutOnce { after: keep }) => {
            let response = normal_response(shared, &request);
            shared.set_status(number, response.status);
            let _ = write_head(&mut stream, &response);
            if !is_head {
                let keep = keep.min(response.body.len());
                let _ = stream.write_all(&response.body[..keep]);
            }
            let _ = stream.flush();
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        Some(Fault::Body(body)) | Some(Fault::BodyOnce(body)) => {
            Response::new(200, content_type(&request.path), body)
        }
        Some(Fault::Busy {
            max,
            status,
            retry_after,
            hold,
        }) => {
            let admitted = {
                let mut answering = lock(&shared.answering);
                let admitted = *answering < max;
                if admitted {
                    *answering += 1;
                }
                admitted
            };
            if admitted {
                let stopped = shared.wait(hold);
                // Free the place before the answer goes out: a client
                // that has read the answer finds it free.
                *lock(&shared.answering) -= 1;
                if stopped {
                    return;
                }
                normal_response(shared, &request)
            } else {
                let mut response = Response::text(status, &format!("busy: {status}\n"));
                response
                    .headers
                    .push(("Retry-After".to_owned(), retry_after.to_string()));
                response
            }
        }
        Some(Fault::Huge(size)) => {
            shared.set_status(number, 200);
            let mut response = Response::new(200, "application/octet-stream", Vec::new());
            response.length = Some(size);
            if write_head(&mut stream, &response).is_ok() && !is_head {
                stream_filler(shared, &mut stream, size);
            }
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        Some(Fault::RedirectLoop) => {
            let mut response = Response::text(302, "redirect loop\n");
            let location = format!("http://127.0.0.1:{}{}", shared.port, request.raw_path);
            response.headers.push(("Location".to_owned(), location));
            response
        }
        Some(Fault::Delay(delay)) => {
            if shared.wait(delay) {
                return;
            }
            normal_response(shared, &request)
        }
        Some(Fault::FailTimes { status, .. }) => {
            Response::text(status, &format!("injected status {status}\n"))
        }
    };

    shared.set_status(number, response.status);
    if write_head(&mut stream, &response).is_ok() && !is_head {
        let _ = stream.write_all(&response.body);
    }
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
}

/// Writes `size` bytes of `a`, stopping early if the client leaves or the
/// server is dropped.
fn stream_filler(shared: &Shared, stream: &mut TcpStream, size: u64) {
    let chunk = vec![b'a'; 64 * 1024];
    let mut left = size;
    while left > 0 && !shared.is_stopped() {
        let n = left.min(chunk.len() as u64) as usize;
        if stream.write_all(&chunk[..n]).is_err() {
            return;
        }
        left -= n as u64;
    }
}

/// Reads up to the end of the request header (`\r\n\r\n`).
fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = match stream.read(&mut buf) {
            // A signal cut the wait short (a socket with a read timeout is
            // never restarted): read again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            read => read.ok()?,
        };
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = find(&head, b"\r\n\r\n") {
            head.truncate(end);
            return Some(head);
        }
        if head.len() > MAX_HEADER {
            return None;
        }
    }
}

/// Position of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parses the request line and headers.
fn parse_request(head: &[u8]) -> Option<Request> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_owned();
    let raw_path = first.next()?.to_owned();
    first.next().filter(|v| v.starts_with("HTTP/"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        })
        .collect();
    let path = decode_target(&raw_path).unwrap_or_else(|| target_path(&raw_path).to_owned());
    let get = |name: &str| header_value(&headers, name).map(str::to_owned);
    Some(Request {
        method,
        path,
        range: get("range"),
        if_none_match: get("if-none-match"),
        if_modified_since: get("if-modified-since"),
        user_agent: get("user-agent"),
        raw_path,
        headers,
        status: None,
    })
}

/// The path part of a request target: no scheme and authority (absolute
/// form, as sent to proxies), no query, no fragment.
fn target_path(raw: &str) -> &str {
    let origin_form = match raw.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => raw,
    };
    origin_form.split(['?', '#']).next().unwrap_or("")
}

/// The percent-decoded path of a request target; `None` when undecodable.
fn decode_target(raw: &str) -> Option<String> {
    // A `+` stays a plus sign (this is a path, not a form).
    percent_encoding::percent_decode_str(target_path(raw))
        .decode_utf8()
        .ok()
        .map(|d| d.into_owned())
}

/// The first header called `name` (case-insensitive).
fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// An answer about to be written.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// `Content-Length` to announce when it differs from `body` (HEAD, `Huge`).
    length: Option<u64>,
}

impl Response {
    /// An answer with this body.
    fn new(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".to_owned(), content_type.to_owned())],
            body,
            length: None,
        }
    }

    /// A plain-text answer.
    fn text(status: u16, body: &str) -> Response {
        Response::new(
            status,
            "text/plain; charset=utf-8",
            body.as_bytes().to_vec(),
        )
    }
}

/// Writes the status line and headers.
fn write_head(stream: &mut TcpStream, response: &Response) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if response.status != 304 {
        let length = response.length.unwrap_or(response.body.len() as u64);
        head.push_str(&format!("Content-Length: {length}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    stream.write_all(head.as_bytes())?;
    stream.flush()
}

/// The reason phrase for the statuses the server uses.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// The `Content-Type` for a path.
fn content_type(path: &str) -> &'static str {
    if path.ends_with(".json") {
        "application/json"
    } else if path.ends_with(".tar.gz") || path.ends_with(".tgz") {
        "application/gzip"
    } else {
        "application/octet-stream"
    }
}

/// The answer without faults: the file, a 304, a 206, or an error status.
fn normal_response(shared: &Shared, request: &Request) -> Response {
    if request.method != "GET" && request.method != "HEAD" {
        return Response::text(405, "only GET and HEAD\n");
    }
    if decode_target(&request.raw_path).is_none() {
        return Response::text(400, "bad percent-encoding\n");
    }
    let mut file = shared.root.clone();
    for segment in request.path.split('/') {
        match segment {
            "" | "." => {}
            ".." => return Response::text(403, "no `..` here\n"),
            s if s.contains('\\') || s.contains('\0') => {
                return Response::text(403, "bad path\n");
            }
            s => file.push(s),
        }
    }
    let (Ok(meta), Ok(body)) = (fs::metadata(&file), fs::read(&file)) else {
        return Response::text(404, "not found\n");
    };
    if !meta.is_file() {
        return Response::text(404, "not found\n");
    }
    let mtime = meta.modified().unwrap_or(UNIX_EPOCH);
    let since_epoch = mtime.duration_since(UNIX_EPOCH).unwrap_or_default();
    let etag = format!("\"{:x}-{:x}\"", meta.len(), since_epoch.as_nanos());
    let last_modified = http_date(since_epoch.as_secs());
    let validators = vec![
        ("ETag".to_owned(), etag.clone()),
        ("Last-Modified".to_owned(), last_modified.clone()),
    ];

    let not_modified = match (&request.if_none_match, &request.if_modified_since) {
        (Some(inm), _) => etag_matches(inm, &etag),
        (None, Some(ims)) => not_modified_since(since_epoch.as_secs(), ims),
        (None, None) => false,
    };
    if not_modified {
        let mut response = Response::new(304, content_type(&request.path), Vec::new());
        response.headers.extend(validators);
        return response;
    }

    let total = body.len() as u64;
    let range_applies = match request.header("if-range") {
        None => true,
        Some(tag) => tag == etag || tag == last_modified,
    };
    let mut response = match request.range.as_deref().filter(|_| range_applies) {
        Some(range) => match parse_range(range, total) {
            Some(Ok((start, end))) => {
                let mut response = Response::new(
                    206,
                    content_type(&request.path),
                    body[start as usize..=end as usize].to_vec(),
                );
                response.headers.push((
                    "Content-Range".to_owned(),
                    format!("bytes {start}-{end}/{total}"),
                ));
                response
            }
            Some(Err(())) => {
                let mut response = Response::text(416, "range not satisfiable\n");
                response
                    .headers
                    .push(("Content-Range".to_owned(), format!("bytes */{total}")));
                return response;
            }
            // A range we do not understand is ignored, as RFC 9110 allows.
            None => Response::new(200, content_type(&request.path), body),
        },
        None => Response::new(200, content_type(&request.path), body),
    };
    response
        .headers
        .push(("Accept-Ranges".to_owned(), "bytes".to_owned()));
    response.headers.extend(validators);
    response
}

/// Whether an `If-None-Match` value matches `etag` (weak comparison).
fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag == etag)
}

/// Parses a single `bytes=N-` / `bytes=N-M` / `bytes=-N` range.
/// `None`: not understood; `Some(Err)`: unsatisfiable.
fn parse_range(range: &str, total: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = range.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let suffix: u64 = suffix.parse().ok()?;
            if suffix == 0 || total == 0 {
                return Some(Err(()));
            }
            (total.saturating_sub(suffix), total - 1)
        }
        (start, "") => (start.parse().ok()?, total.saturating_sub(1)),
        (start, end) => {
            let (start, end): (u64, u64) = (start.parse().ok()?, end.parse().ok()?);
            if end < start {
                return None;
            }
            (start, end.min(total.saturating_sub(1)))
        }
    };
    if start >= total {
        return Some(Err(()));
    }
    Some(Ok((start, end)))
}

/// Formats seconds since the epoch as an IMF-fixdate
/// (`Sun, 06 Nov 1994 08:49:37 GMT`), as `Last-Modified` carries it.
pub fn http_date(secs: u64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
}

/// Whether a file modified `mtime_secs` after the epoch is no newer than the
/// `If-Modified-Since` date `since` (`false` when `since` is not an HTTP date).
fn not_modified_since(mtime_secs: u64, since: &str) -> bool {
    httpdate::parse_http_date(since).is_ok_and(|since| {
        since
            .duration_since(UNIX_EPOCH)
            .is_ok_and(|since| mtime_secs <= since.as_secs())
    })
}

/// A port on `127.0.0.1` where nothing listens (bound, then released).
pub fn dead_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}
