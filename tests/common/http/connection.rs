//! One server's state and its connections: the accept loop, and each
//! connection read, logged and answered, its fault applied.

use std::collections::HashMap;
use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

use super::faults::{Fault, FaultTable};
use super::files::normal_response;
use super::wire::{Request, Response, content_type, parse_request, read_head, write_head};

/// How long a connection may take to send its request header.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest a stall lasts if the server is somehow never dropped.
const STALL_LIMIT: Duration = Duration::from_secs(600);

/// State shared by the accept loop, the connections and the test.
#[derive(Debug)]
pub(super) struct Shared {
    root: PathBuf,
    port: u16,
    pub(super) stopped: Mutex<bool>,
    pub(super) wake: Condvar,
    /// Requests with their arrival number (stable across `clear_log`).
    pub(super) log: Mutex<Vec<(u64, Request)>>,
    next_request: AtomicU64,
    pub(super) faults: Mutex<FaultTable>,
    pub(super) conns: Mutex<HashMap<u64, TcpStream>>,
    next_id: AtomicU64,
    /// Requests being answered under a `Busy` fault.
    answering: Mutex<usize>,
}

/// Locks a mutex, ignoring poisoning (a panicking test thread must not hide
/// the log from the others).
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Accepts connections until the server is dropped.
pub(super) fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
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
    /// The state of a server for the files under `root`, listening on `port`.
    pub(super) fn new(root: PathBuf, port: u16) -> Shared {
        Shared {
            root,
            port,
            stopped: Mutex::new(false),
            wake: Condvar::new(),
            log: Mutex::new(Vec::new()),
            next_request: AtomicU64::new(0),
            faults: Mutex::new(FaultTable::default()),
            conns: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            answering: Mutex::new(0),
        }
    }

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
        lock(&self.faults).take(path)
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
        None => normal_response(&shared.root, &request),
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
            let response = normal_response(&shared.root, &request);
            shared.set_status(number, response.status);
            let _ = write_head(&mut stream, &response);
            shared.wait(STALL_LIMIT);
            return;
        }
        Some(Fault::Truncate { keep }) | Some(Fault::CutOnce { after: keep }) => {
            let response = normal_response(&shared.root, &request);
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
                normal_response(&shared.root, &request)
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
            normal_response(&shared.root, &request)
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
