//! HTTP/1.1 as the harness server speaks it: reading and parsing a request
//! header, and writing an answer's status line and headers.

use std::io::{self, Read, Write};
use std::net::TcpStream;

/// Largest request header accepted.
const MAX_HEADER: usize = 64 * 1024;

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

/// Reads up to the end of the request header (`\r\n\r\n`).
pub(super) fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
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
pub(super) fn parse_request(head: &[u8]) -> Option<Request> {
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
pub(super) fn decode_target(raw: &str) -> Option<String> {
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
pub(super) struct Response {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
    /// `Content-Length` to announce when it differs from `body` (HEAD, `Huge`).
    pub(super) length: Option<u64>,
}

impl Response {
    /// An answer with this body.
    pub(super) fn new(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".to_owned(), content_type.to_owned())],
            body,
            length: None,
        }
    }

    /// A plain-text answer.
    pub(super) fn text(status: u16, body: &str) -> Response {
        Response::new(
            status,
            "text/plain; charset=utf-8",
            body.as_bytes().to_vec(),
        )
    }
}

/// Writes the status line and headers.
pub(super) fn write_head(stream: &mut TcpStream, response: &Response) -> io::Result<()> {
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
pub(super) fn content_type(path: &str) -> &'static str {
    if path.ends_with(".json") {
        "application/json"
    } else if path.ends_with(".tar.gz") || path.ends_with(".tgz") {
        "application/gzip"
    } else {
        "application/octet-stream"
    }
}
