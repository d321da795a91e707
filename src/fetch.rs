//! Getting one metadata document: over `http`/`https` (blocking reqwest,
//! rustls, bounded timeouts, size cap, conditional requests) or from a
//! `file` URL. Only runs when the cache must be (re)filled.

use std::io::Read;
use std::time::Duration;

use url::Url;

/// Largest metadata body accepted. uv's full upstream list is a few MiB.
pub const MAX_BODY: u64 = 64 * 1024 * 1024;

/// Default overall time limit of one request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

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
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL (redacted).
        url: String,
        /// The status code.
        status: u16,
    },
    /// The body is larger than [`MAX_BODY`].
    #[error("{url} sent more than {limit} bytes; refusing it")]
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
pub fn fetch(url: &Url, validators: &Validators, timeout: Duration) -> Result<Fetched, FetchError> {
    match url.scheme() {
        "file" => fetch_file(url),
        _ => fetch_http(url, validators, timeout),
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

fn chain(err: &dyn std::error::Error) -> String {
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
fn describe(err: &reqwest::Error, timeout: Duration) -> String {
    if err.is_timeout() {
        return format!("no complete answer within {}", humantime::format_duration(timeout));
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
    match std::error::Error::source(err) {
        Some(cause) => format!("{kind}: {}", chain(cause)),
        None => kind.to_string(),
    }
}

fn client(timeout: Duration) -> Result<reqwest::blocking::Client, String> {
    // One process-wide crypto provider; a second install attempt is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
        .user_agent(concat!("uv-shim/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| chain(&err))
}

fn fetch_http(url: &Url, validators: &Validators, timeout: Duration) -> Result<Fetched, FetchError> {
    let shown = crate::redact::url(url.as_str());
    let transport = |detail: String| FetchError::Transport {
        url: shown.clone(),
        detail,
    };
    let client = client(timeout).map_err(transport)?;
    let mut request = client.get(url.as_str());
    if let Some(etag) = &validators.etag {
        request = request.header(reqwest::header::IF_NONE_MATCH, etag);
    }
    if let Some(last_modified) = &validators.last_modified {
        request = request.header(reqwest::header::IF_MODIFIED_SINCE, last_modified);
    }
    let response = request
        .send()
        .map_err(|err| transport(describe(&err, timeout)))?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    if !status.is_success() {
        return Err(FetchError::Status {
            url: shown,
            status: status.as_u16(),
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
        .map_err(|err| match err.get_ref().and_then(|e| e.downcast_ref::<reqwest::Error>()) {
            Some(inner) => transport(describe(inner, timeout)),
            None => transport(format!("the body was cut short: {}", chain(&err))),
        })?;
    if body.len() as u64 > MAX_BODY {
        return Err(FetchError::TooLarge {
            url: shown,
            limit: MAX_BODY,
        });
    }
    Ok(Fetched::Body { body, validators })
}
