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
//!
//! The parts: [`wire`] reads requests and writes answers, [`files`] answers
//! from the root, [`faults`] holds the faults a test set, and [`connection`]
//! runs the accept loop and answers each connection, its fault applied.

use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

mod connection;
mod faults;
mod files;
mod wire;

use connection::{Shared, accept_loop, lock};
pub use faults::Fault;
pub use files::http_date;
pub use wire::Request;

/// A running server; it stops when dropped.
#[derive(Debug)]
pub struct HttpServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// Starts serving the files under `root` on `127.0.0.1:<ephemeral port>`.
    pub fn start(root: impl Into<PathBuf>) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared::new(root.into(), addr.port()));
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
        lock(&self.shared.faults).set(path, fault);
    }

    /// Removes the fault for `path` (or the every-path fault for `None`).
    pub fn clear_fault(&self, path: Option<&str>) {
        lock(&self.shared.faults).clear(path);
    }

    /// Removes every fault: all requests are answered normally again.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear_all();
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

/// A port on `127.0.0.1` where nothing listens (bound, then released).
pub fn dead_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}
