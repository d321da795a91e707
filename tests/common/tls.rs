//! https and basic auth for the stories, on `127.0.0.1`.
//!
//! * [`TestCa`]: a certificate authority the test makes (rcgen), and a
//!   server certificate it signs for `127.0.0.1` and `localhost`. Nobody
//!   trusts it until the story says so: through `SSL_CERT_FILE`
//!   ([`TestCa::write_pem`]), or through the system store.
//! * [`Front`]: a front door for a harness [`HttpServer`](super::http::HttpServer):
//!   it speaks TLS with the CA's certificate (rustls) and/or asks for basic
//!   credentials (401 without them), then hands the request to the harness
//!   server and its answer back, so the mirror's files, faults and request
//!   log all stay the harness server's. One request per connection, as there.
//! * [`in_system_store`]: runs a command with the CA added to the system
//!   certificate store, only inside a mount namespace made for it (a bundle
//!   of the system's roots plus the CA, bind-mounted over the system bundle).
//!   Root only; nothing outside that command sees it.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Where Debian keeps the system's roots, one PEM bundle (what the platform
/// store of rustls, OpenSSL and uv reads on Debian).
pub const SYSTEM_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A CA of the test's own and a server certificate it signed.
pub struct TestCa {
    /// The CA certificate, PEM.
    ca_pem: String,
    /// The server's certificate, DER.
    server_cert: CertificateDer<'static>,
    /// The server's key, PKCS#8 DER.
    server_key: Vec<u8>,
}

impl TestCa {
    /// A fresh CA (`uv-shim test CA`) and a certificate for `127.0.0.1` and `localhost`.
    pub fn new() -> TestCa {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.distinguished_name
            .push(DnType::CommonName, "uv-shim test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key).expect("self-sign the CA");
        let issuer = Issuer::new(ca, ca_key);

        let server_key = KeyPair::generate().expect("server key");
        let mut server =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        server
            .distinguished_name
            .push(DnType::CommonName, "uv-shim test mirror");
        let server_cert = server
            .signed_by(&server_key, &issuer)
            .expect("sign the server certificate");
        TestCa {
            ca_pem: ca_cert.pem(),
            server_cert: server_cert.der().clone(),
            server_key: server_key.serialize_der(),
        }
    }

    /// Writes the CA certificate as PEM to `path` (for `SSL_CERT_FILE`).
    pub fn write_pem(&self, path: &Path) -> PathBuf {
        std::fs::write(path, &self.ca_pem).unwrap();
        path.to_path_buf()
    }

    /// Writes the system's roots plus this CA to `path`: the bundle that
    /// [`in_system_store`] puts in place of the system's.
    pub fn write_system_bundle(&self, path: &Path) -> PathBuf {
        let mut bundle = std::fs::read_to_string(SYSTEM_BUNDLE)
            .unwrap_or_else(|e| panic!("read {SYSTEM_BUNDLE}: {e}"));
        bundle.push('\n');
        bundle.push_str(&self.ca_pem);
        std::fs::write(path, bundle).unwrap();
        path.to_path_buf()
    }

    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key.clone()));
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![self.server_cert.clone()], key)
            .expect("server certificate and key");
        Arc::new(config)
    }
}

/// Whether the system bundle that [`in_system_store`] replaces is there;
/// a visible skip (a failure under CI) otherwise.
#[track_caller]
pub fn has_system_bundle() -> bool {
    if Path::new(SYSTEM_BUNDLE).is_file() {
        return true;
    }
    super::skip(&format!(
        "{SYSTEM_BUNDLE} is missing (Debian's ca-certificates)"
    ));
    false
}

/// Makes `cmd` run in a mount namespace of its own in which `bundle` is
/// bind-mounted over the system's root bundle: for that command (and the
/// processes it starts) the system store holds what `bundle` holds. Needs
/// root ([`super::require_root`]).
#[cfg(target_os = "linux")]
pub fn in_system_store(cmd: &mut std::process::Command, bundle: &Path) {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::process::CommandExt;
    let source = CString::new(bundle.as_os_str().as_bytes()).unwrap();
    let target = CString::new(SYSTEM_BUNDLE).unwrap();
    // SAFETY: between fork and exec the closure makes only system calls on
    // strings prepared before the fork; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                return Err(io::Error::last_os_error());
            }
            // Nothing mounted here may reach the machine's own namespace.
            let root = c"/";
            let (no_name, no_data) = (std::ptr::null(), std::ptr::null());
            let private = libc::MS_REC | libc::MS_PRIVATE;
            if libc::mount(no_name, root.as_ptr(), no_name, private, no_data) != 0 {
                return Err(io::Error::last_os_error());
            }
            let bind = libc::MS_BIND;
            if libc::mount(source.as_ptr(), target.as_ptr(), no_name, bind, no_data) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// One request as the front door saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Knock {
    /// The request line's target (`/uv/download-metadata.json`).
    pub path: String,
    /// Whether it carried an `Authorization` header.
    pub with_credentials: bool,
    /// Whether it was let through (else it got 401).
    pub let_in: bool,
}

/// A TLS and/or basic-auth front door to a harness server; stops on drop.
pub struct Front {
    addr: SocketAddr,
    tls: bool,
    stopped: Arc<AtomicBool>,
    knocks: Arc<Mutex<Vec<Knock>>>,
    handshakes_failed: Arc<Mutex<usize>>,
}

impl Front {
    /// Listens on `127.0.0.1:<free port>`: TLS with `ca`'s server
    /// certificate when given, and, with `login` (`user`, `password`), a 401
    /// for every request without those basic credentials; the rest goes to
    /// `backend`.
    pub fn start(backend: SocketAddr, ca: Option<&TestCa>, login: Option<(&str, &str)>) -> Front {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let config = ca.map(TestCa::server_config);
        let expected = login.map(|(user, password)| {
            format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
        });
        let front = Front {
            addr,
            tls: config.is_some(),
            stopped: Arc::default(),
            knocks: Arc::default(),
            handshakes_failed: Arc::default(),
        };
        let (stopped, knocks, failed) = (
            Arc::clone(&front.stopped),
            Arc::clone(&front.knocks),
            Arc::clone(&front.handshakes_failed),
        );
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (config, expected) = (config.clone(), expected.clone());
                let (knocks, failed) = (Arc::clone(&knocks), Arc::clone(&failed));
                thread::spawn(move || {
                    let outcome = serve(conn, backend, config, expected.as_deref(), &knocks);
                    if outcome.is_err() {
                        *failed.lock().unwrap() += 1;
                    }
                });
            }
        });
        front
    }

    /// `https://127.0.0.1:PORT/<path>` (or `http://` without TLS).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/{}", self.addr, path.trim_start_matches('/'))
    }

    /// The host and port (`127.0.0.1:PORT`).
    pub fn authority(&self) -> String {
        self.addr.to_string()
    }

    /// Every request that got past the handshake, oldest first.
    pub fn knocks(&self) -> Vec<Knock> {
        self.knocks.lock().unwrap().clone()
    }

    /// Connections that ended in a failed TLS handshake or a cut connection
    /// (a client that refused the certificate shows here).
    pub fn failed_connections(&self) -> usize {
        *self.handshakes_failed.lock().unwrap()
    }
}

impl Drop for Front {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

/// A connection: plain, or TLS over it.
trait Conn: Read + Write {
    /// Ends the connection politely (TLS: close_notify).
    fn finish(&mut self);
}

impl Conn for TcpStream {
    fn finish(&mut self) {
        let _ = self.flush();
        let _ = self.shutdown(Shutdown::Write);
    }
}

impl Conn for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn finish(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush();
        let _ = self.sock.shutdown(Shutdown::Write);
    }
}

/// One connection: handshake, one request, checked, passed on, answered.
fn serve(
    tcp: TcpStream,
    backend: SocketAddr,
    config: Option<Arc<rustls::ServerConfig>>,
    expected: Option<&str>,
    knocks: &Mutex<Vec<Knock>>,
) -> io::Result<()> {
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut conn: Box<dyn Conn> = match config {
        Some(config) => {
            let server = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
            Box::new(rustls::StreamOwned::new(server, tcp))
        }
        None => Box::new(tcp),
    };
    let head = read_head(&mut *conn)?;
    let text = String::from_utf8_lossy(&head).to_string();
    let path = text
        .lines()
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .unwrap_or("")
        .to_string();
    let authorization = text.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("authorization")
            .then(|| value.trim().to_string())
    });
    let let_in = expected.is_none_or(|expected| authorization.as_deref() == Some(expected));
    knocks.lock().unwrap().push(Knock {
        path,
        with_credentials: authorization.is_some(),
        let_in,
    });
    if !let_in {
        conn.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"mirror\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        conn.finish();
        return Ok(());
    }
    let mut upstream = TcpStream::connect(backend)?;
    upstream.write_all(&head)?;
    io::copy(&mut upstream, &mut conn)?;
    conn.finish();
    Ok(())
}

/// The request head, up to and including the blank line.
fn read_head(conn: &mut dyn Conn) -> io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte)? == 0 || head.len() > 64 * 1024 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no request"));
        }
        head.push(byte[0]);
    }
    Ok(head)
}

/// Standard base64 with padding, for the expected `Authorization` value.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn base64_matches_the_rfc_examples() {
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"foob"), "Zm9vYg==");
    assert_eq!(
        base64(b"Aladdin:open sesame"),
        "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    );
}
