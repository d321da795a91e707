//! A bare HTTP/1.1 server on 127.0.0.1 for what the harness
//! [`HttpServer`](super::http::HttpServer) cannot do: close its port and open
//! it again, stop accepting so that a connect never completes, stream a body
//! without `Content-Length`. A few lines of std and libc.
//!
//! Linux only: it relies on Linux dropping SYNs when a listen queue is full,
//! and on `SOCK_CLOEXEC`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a [`Bare`] server does with the next connection.
#[derive(Debug, Clone)]
pub enum Mode {
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
pub struct Bare {
    addr: SocketAddr,
    shared: Arc<BareShared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Connections made to fill the listen queue in [`Mode::Hold`].
    fillers: Mutex<Vec<TcpStream>>,
    /// Bytes sent by [`Mode::Endless`] answers.
    streamed: Arc<AtomicU64>,
}

/// What the accept loop shares with the [`Bare`] handle.
struct BareShared {
    mode: Mutex<Mode>,
    changed: Condvar,
    served: AtomicUsize,
}

impl Bare {
    /// Listens on a free port of 127.0.0.1, serving `body` ([`Mode::Serve`]).
    pub fn start(body: Vec<u8>) -> Bare {
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

    /// The address listened on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests answered so far.
    pub fn served(&self) -> usize {
        self.shared.served.load(Ordering::Relaxed)
    }

    /// Runs the accept loop on `listener` in a thread.
    fn spawn(&self, listener: TcpListener) {
        let shared = Arc::clone(&self.shared);
        let streamed = Arc::clone(&self.streamed);
        let handle = std::thread::spawn(move || accept_loop(&listener, &shared, &streamed));
        *self.thread.lock().unwrap() = Some(handle);
    }

    /// Bytes sent so far by [`Mode::Endless`] answers.
    pub fn streamed(&self) -> u64 {
        self.streamed.load(Ordering::Relaxed)
    }

    /// Switches the mode; for [`Mode::Hold`], also fills the listen queue.
    pub fn set(&self, mode: Mode) {
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
    pub fn close(&self) {
        self.set(Mode::Closed);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.lock().unwrap().take() {
            thread.join().unwrap();
        }
    }

    /// Listens again on the same port, serving `body`.
    pub fn reopen(&self, body: Vec<u8>) {
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
            // A signal cut the wait short (a socket with a read timeout is
            // never restarted): read again.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
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
