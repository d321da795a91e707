//! The answer without faults: a file under the server's root, with the
//! validators, conditional requests and ranges the shim and uv rely on.

use std::fs;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use super::wire::{Request, Response, content_type, decode_target};

/// The answer without faults: the file, a 304, a 206, or an error status.
pub(super) fn normal_response(root: &Path, request: &Request) -> Response {
    if request.method != "GET" && request.method != "HEAD" {
        return Response::text(405, "only GET and HEAD\n");
    }
    if decode_target(&request.raw_path).is_none() {
        return Response::text(400, "bad percent-encoding\n");
    }
    let mut file = root.to_path_buf();
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
