//! A system resolver that never answers, for one command (Linux, root).
//!
//! The C library's resolver reads `/etc/resolv.conf`, which always names
//! port 53. [`SilentResolver::start`] binds UDP port 53 on an address of
//! its own in `127.0.0.0/8` (so parallel stories do not meet), reads every
//! query and answers none, and logs the names asked. [`SilentResolver::apply`]
//! makes a command start in a mount namespace of its own where
//! `/etc/resolv.conf` names that address: the rest of the machine keeps its
//! resolver, and the command's `getaddrinfo` waits as it would behind a
//! dead DNS server (5 s per try, two tries, with glibc's defaults).

use std::ffi::CString;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A UDP "name server" on `<127.x.y.z>:53` that swallows every query.
pub struct SilentResolver {
    addr: SocketAddr,
    names: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    resolv_conf: PathBuf,
}

impl SilentResolver {
    /// Binds port 53 on a free loopback address and writes a resolv.conf
    /// naming it into `dir`. Needs root (port 53).
    #[track_caller]
    pub fn start(dir: &std::path::Path) -> SilentResolver {
        let socket = bind_free_loopback();
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let names = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, stopped) = (Arc::clone(&names), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !stopped.load(Ordering::Relaxed) {
                if let Ok((n, _)) = socket.recv_from(&mut buf)
                    && let Some(name) = question(&buf[..n])
                {
                    log.lock().unwrap().push(name);
                }
            }
        });
        let resolv_conf = dir.join("silent-resolv.conf");
        std::fs::write(
            &resolv_conf,
            format!(
                "# a resolver that never answers\nnameserver {}\n",
                addr.ip()
            ),
        )
        .unwrap();
        SilentResolver {
            addr,
            names,
            stop,
            resolv_conf,
        }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The names asked so far (each query, in order; the C library asks
    /// for A and AAAA records, and again after its timeout).
    pub fn asked(&self) -> Vec<String> {
        self.names.lock().unwrap().clone()
    }

    /// Makes `cmd` run with `/etc/resolv.conf` naming this resolver: a
    /// private mount namespace, the file bind-mounted over the system's.
    pub fn apply<'a>(&self, cmd: &'a mut Command) -> &'a mut Command {
        let source = CString::new(self.resolv_conf.as_os_str().as_encoded_bytes()).unwrap();
        let target = CString::new("/etc/resolv.conf").unwrap();
        let root = CString::new("/").unwrap();
        // SAFETY: between fork and exec only system calls run, on strings
        // made before the fork; no allocation, no lock.
        unsafe {
            cmd.pre_exec(move || {
                if libc::unshare(libc::CLONE_NEWNS) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // Nothing mounted here may leak back into the machine's namespace.
                let private = libc::MS_REC | libc::MS_PRIVATE;
                if libc::mount(
                    std::ptr::null(),
                    root.as_ptr(),
                    std::ptr::null(),
                    private,
                    std::ptr::null(),
                ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::mount(
                    source.as_ptr(),
                    target.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
        }
    }
}

impl Drop for SilentResolver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A UDP socket on port 53 of some `127.53.x.y`, the first that is free.
#[track_caller]
fn bind_free_loopback() -> UdpSocket {
    let seed = std::process::id() as usize
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos() as usize;
    for i in 0..256 {
        let n = seed.wrapping_add(i * 7919) % 65_000 + 1;
        let ip = Ipv4Addr::new(127, 53, (n >> 8) as u8, (n & 0xff) as u8);
        if let Ok(socket) = UdpSocket::bind((ip, 53)) {
            return socket;
        }
    }
    panic!("no free UDP port 53 on 127.53.0.0/16");
}

/// The name asked about in a DNS query (`a.b.c`, lower case).
fn question(packet: &[u8]) -> Option<String> {
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*packet.get(at)?);
        if len == 0 {
            break;
        }
        let label = packet.get(at + 1..at + 1 + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        at += 1 + len;
    }
    Some(labels.join("."))
}
