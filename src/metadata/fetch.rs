//! Getting one metadata document: over `http`/`https` (blocking reqwest,
//! rustls, bounded timeouts, size cap, conditional requests, netrc
//! credentials, a probe of which roots vouched for the server) or from a
//! `file` URL. Only runs when the cache must be (re)filled.

use std::io::Read;
use std::time::Duration;

use url::Url;

use super::netrc::Auth;
use super::tls::Probe;
pub use crate::budget::Attempt;

/// Largest metadata body accepted. uv's full upstream list is a few MiB.
pub const MAX_BODY: u64 = 64 * 1024 * 1024;

/// Time limit for establishing a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How many redirects are followed.
pub const MAX_REDIRECTS: usize = 5;

/// Validators from the cached copy.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    /// ETag to send as `If-None-Match`.
    pub etag: Option<String>,
    /// Last-Modified to send as `If-Modified-Since`.
    pub last_modified: Option<String>,
}

/// What a fetch may use besides the URL.
#[derive(Debug, Clone, Copy)]
pub struct Access<'a> {
    /// Credentials for servers that want them ([`super::netrc`]).
    pub auth: &'a Auth,
    /// Learns which roots vouched for the server ([`super::tls`]); `None`:
    /// reqwest's own verifier (the platform store).
    pub probe: Option<&'a Probe>,
}

/// What a fetch returned.
#[derive(Debug)]
pub enum Fetched {
    /// The server confirmed the cached copy (304).
    NotModified,
    /// A new body.
    Body {
        /// The bytes.
        body: Vec<u8>,
        /// Its validators, for the next revalidation.
        validators: Validators,
    },
}

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The server answered with an error status.
    #[error("{url} answered HTTP {status}{hint}")]
    Status {
        /// The URL (redacted).
        url: String,
        /// The status code.
        status: u16,
        /// What to do about it, from `; …` on, or empty (credentials for a 401).
        hint: String,
    },
    /// The body is larger than [`MAX_BODY`] (announced so, or found so while reading).
    #[error("{url} is larger than the {} MiB limit; refusing it", .limit >> 20)]
    TooLarge {
        /// The URL (redacted).
        url: String,
        /// The limit.
        limit: u64,
    },
    /// Timeout, refused connection, TLS failure, redirect loop, cut connection…
    #[error("cannot fetch {url}: {detail}")]
    Transport {
        /// The URL (redacted).
        url: String,
        /// The error chain, redacted.
        detail: String,
    },
    /// A `file` URL could not be read.
    #[error("cannot read {path}: {source}")]
    File {
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Fetches `url`, revalidating with `validators`, within `timeout`.
pub fn fetch(
    url: &Url,
    validators: &Validators,
    timeout: Duration,
    access: Access,
) -> Result<Fetched, FetchError> {
    let attempt = Attempt {
        limit: timeout,
        stated: humantime::format_duration(timeout).to_string(),
    };
    fetch_within(url, validators, &attempt, access)
}

/// Fetches `url`, revalidating with `validators`, as one attempt of a call's
/// time budget: its messages state the limit as `attempt` does.
pub fn fetch_within(
    url: &Url,
    validators: &Validators,
    attempt: &Attempt,
    access: Access,
) -> Result<Fetched, FetchError> {
    match url.scheme() {
        "file" => fetch_file(url),
        _ => fetch_http(url, validators, attempt, access),
    }
}

fn fetch_file(url: &Url) -> Result<Fetched, FetchError> {
    let path = url.to_file_path().map_err(|()| FetchError::Transport {
        url: crate::redact::url(url.as_str()),
        detail: "not a local file path".into(),
    })?;
    let file_error = |source| FetchError::File {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(&path).map_err(file_error)?;
    let mut body = Vec::new();
    file.take(MAX_BODY + 1)
        .read_to_end(&mut body)
        .map_err(file_error)?;
    if body.len() as u64 > MAX_BODY {
        return Err(FetchError::TooLarge {
            url: path.display().to_string(),
            limit: MAX_BODY,
        });
    }
    Ok(Fetched::Body {
        body,
        validators: Validators::default(),
    })
}

/// An error and its causes on one line, redacted.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    crate::redact::text(&text)
}

/// reqwest's own top line repeats the URL; say what kind of failure it was instead.
pub(crate) fn describe(err: &reqwest::Error, timeout: Duration) -> String {
    // A connect timeout is a timeout too, but "no complete answer within
    // <total>" would name the wrong limit and hide that nothing answered the
    // connect at all (a host that drops packets). Callers that know their
    // connect limit say it, see `fetch_http`.
    if err.is_timeout() && err.is_connect() {
        return "connection failed: not established in time".to_string();
    }
    if err.is_timeout() {
        return format!(
            "no complete answer within {}",
            humantime::format_duration(timeout)
        );
    }
    let kind = if err.is_connect() {
        "connection failed"
    } else if err.is_redirect() {
        "too many redirects"
    } else if err.is_body() || err.is_decode() {
        "the body was cut short"
    } else {
        "request failed"
    };
    let text = match std::error::Error::source(err).map(chain) {
        // reqwest's redirect error has the cause "too many redirects": say it once.
        Some(cause) if cause != kind => format!("{kind}: {cause}"),
        _ => kind.to_string(),
    };
    if super::tls::is_untrusted_certificate(err) {
        format!("{text}; {}", super::tls::UNTRUSTED_HINT)
    } else {
        text
    }
}

/// The connect limit of a request whose overall limit is `timeout`.
fn connect_timeout(timeout: Duration) -> Duration {
    CONNECT_TIMEOUT.min(timeout)
}

fn client(timeout: Duration, probe: Option<&Probe>) -> Result<reqwest::blocking::Client, String> {
    let mut builder = client_builder(timeout);
    if let Some(probe) = probe {
        builder = builder.tls_backend_preconfigured(probe.client_config()?);
    }
    builder.build().map_err(|err| chain(&err))
}

/// The shim's HTTP client settings (rustls with ring, bounded timeouts,
/// limited redirects, user agent), for callers that adjust them before
/// building, such as `mirror sync`.
pub(crate) fn client_builder(timeout: Duration) -> reqwest::blocking::ClientBuilder {
    // One process-wide crypto provider; a second install attempt is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .connect_timeout(connect_timeout(timeout))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
        .user_agent(concat!("uv-shim/", env!("CARGO_PKG_VERSION")))
        // Name look-ups end with the request's limits, not the C library's.
        .dns_resolver(std::sync::Arc::new(super::name_lookup::DetachedLookup))
}

/// What went wrong with the request for `url`: the time limits, the name
/// look-up and the proxy as [`super::transport`] words them, else [`describe`].
fn explain(err: &reqwest::Error, url: &Url, attempt: &Attempt) -> String {
    use super::transport::{naming_the_proxy, timed_out};
    timed_out(err, url, attempt, connect_timeout(attempt.limit))
        .unwrap_or_else(|| naming_the_proxy(describe(err, attempt.limit), err, url))
}

fn fetch_http(
    url: &Url,
    validators: &Validators,
    attempt: &Attempt,
    access: Access,
) -> Result<Fetched, FetchError> {
    let shown = crate::redact::url(url.as_str());
    let transport = |detail: String| FetchError::Transport {
        url: shown.clone(),
        detail,
    };
    let client = client(attempt.limit, access.probe).map_err(transport)?;
    let mut request = client.get(url.as_str());
    if let Some(etag) = &validators.etag {
        request = request.header(reqwest::header::IF_NONE_MATCH, etag);
    }
    if let Some(last_modified) = &validators.last_modified {
        request = request.header(reqwest::header::IF_MODIFIED_SINCE, last_modified);
    }
    let response = access
        .auth
        .send(request, url)
        .map_err(|err| transport(explain(&err, url, attempt)))?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    if !status.is_success() {
        return Err(FetchError::Status {
            url: shown,
            status: status.as_u16(),
            hint: access.auth.refused_hint(url, status.as_u16()),
        });
    }
    if response.content_length().is_some_and(|len| len > MAX_BODY) {
        return Err(FetchError::TooLarge {
            url: shown,
            limit: MAX_BODY,
        });
    }
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let validators = Validators {
        etag: header(reqwest::header::ETAG),
        last_modified: header(reqwest::header::LAST_MODIFIED),
    };
    let mut body = Vec::new();
    response
        .take(MAX_BODY + 1)
        .read_to_end(&mut body)
        .map_err(|err| {
            match err
                .get_ref()
                .and_then(|e| e.downcast_ref::<reqwest::Error>())
            {
                Some(inner) => transport(explain(inner, url, attempt)),
                None => transport(format!("the body was cut short: {}", chain(&err))),
            }
        })?;
    if body.len() as u64 > MAX_BODY {
        return Err(FetchError::TooLarge {
            url: shown,
            limit: MAX_BODY,
        });
    }
    Ok(Fetched::Body { body, validators })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    /// A server on 127.0.0.1 that answers every request with `answer`
    /// (which should say `Connection: close`: the server closes after one).
    fn answering(answer: &'static str) -> Url {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = Url::parse(&format!("http://{}/m.json", listener.local_addr().unwrap())).unwrap();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                // Read the whole request head first: closing a socket with
                // unread bytes sends a reset, which the client may see before
                // the answer and report as a cut connection.
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream.write_all(answer.as_bytes());
                let _ = stream.shutdown(std::net::Shutdown::Write);
                // Let the client finish (and close) before the socket goes.
                while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
            }
        });
        url
    }

    fn plain() -> Access<'static> {
        static NO_NETRC: std::sync::LazyLock<Auth> = std::sync::LazyLock::new(Auth::none);
        Access {
            auth: &NO_NETRC,
            probe: None,
        }
    }

    fn transport_detail(result: Result<Fetched, FetchError>) -> String {
        match result {
            Err(FetchError::Transport { detail, .. }) => detail,
            other => panic!("expected a transport error, got {other:?}"),
        }
    }

    #[test]
    fn a_redirect_loop_is_named_once() {
        let url = answering(
            "HTTP/1.1 302 Found\r\nLocation: /m.json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        let result = fetch(
            &url,
            &Validators::default(),
            Duration::from_secs(5),
            plain(),
        );
        assert_eq!(transport_detail(result), "too many redirects");
    }

    #[test]
    fn an_announced_oversized_body_is_refused_unread() {
        let url =
            answering("HTTP/1.1 200 OK\r\nContent-Length: 209715200\r\nConnection: close\r\n\r\n{");
        // Only one byte of the body exists: reading it would end in "cut
        // short", so `TooLarge` means the header alone decided.
        let result = fetch(
            &url,
            &Validators::default(),
            Duration::from_secs(5),
            plain(),
        );
        assert!(
            matches!(result, Err(FetchError::TooLarge { .. })),
            "{result:?}"
        );
    }

    /// A connect that never completes (a full listen queue drops the SYN)
    /// fails after the connect limit and says so, not "no complete answer".
    #[cfg(target_os = "linux")]
    #[test]
    fn a_connect_timeout_names_the_connect_limit() {
        use std::os::fd::FromRawFd;
        // SAFETY: plain socket calls on a descriptor owned by `OwnedFd` at once.
        let listener = unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0);
            let owned = std::os::fd::OwnedFd::from_raw_fd(fd);
            let mut addr: libc::sockaddr_in = std::mem::zeroed();
            addr.sin_family = libc::AF_INET as libc::sa_family_t;
            addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
            let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            assert_eq!(libc::bind(fd, (&raw const addr).cast(), len), 0);
            assert_eq!(libc::listen(fd, 0), 0);
            TcpListener::from(owned)
        };
        let addr = listener.local_addr().unwrap();
        let filler = std::net::TcpStream::connect(addr).unwrap();
        let url = Url::parse(&format!("http://{addr}/m.json")).unwrap();
        // How long that takes is measured by the fault stories
        // (`faults::a_connect_that_never_completes_costs_the_default_two_seconds`).
        let detail = transport_detail(fetch(
            &url,
            &Validators::default(),
            Duration::from_secs(3),
            plain(),
        ));
        assert_eq!(detail, "connection failed: not established within 2s");
        drop(filler);
    }
}
