//! Where the bytes of a download come from: an HTTP answer to a `Range`
//! request, or a local file (a `file` URL) read from an offset.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, HeaderName, RANGE, RETRY_AFTER};
use url::Url;

use super::error::{DownloadError, Failed, permanent, restart, transient};
use crate::metadata::netrc::Auth;

/// A body to copy.
pub(super) struct Opened {
    /// The bytes.
    pub body: Box<dyn Read + Send>,
    /// Where in the file the body starts (0 when the server ignored `Range`).
    pub from: u64,
    /// The body's length, when known.
    pub length: Option<u64>,
}

/// What an attempt found at the source.
pub(super) enum Open {
    /// Bytes to copy.
    Body(Opened),
    /// The part file already holds the whole file.
    AlreadyComplete,
}

/// A download from a `file` URL (a local upstream, another mirror).
pub(super) fn open_file(url: &Url, offset: u64) -> Result<Open, Failed> {
    let shown = crate::redact::url(url.as_str());
    let path = url
        .to_file_path()
        .map_err(|()| permanent(&shown, "not a local path".into()))?;
    let mut file = File::open(&path)
        .map_err(|err| permanent(&shown, format!("cannot read {}: {err}", path.display())))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if offset > size {
        return Err(restart(
            &shown,
            "the partial download is longer than the file",
        ));
    }
    if offset == size && offset > 0 {
        return Ok(Open::AlreadyComplete);
    }
    file.seek(SeekFrom::Start(offset))
        .map_err(|err| permanent(&shown, err.to_string()))?;
    Ok(Open::Body(Opened {
        body: Box::new(file),
        from: offset,
        length: Some(size - offset),
    }))
}

/// Asks `url` for the bytes from `offset` on (`Range`), and sorts the
/// answer into a body to copy, a part file that is already whole, or a
/// failure (transient, permanent, or "start over").
pub(super) fn open_http(
    client: &Client,
    auth: &Auth,
    timeout: Duration,
    url: &Url,
    offset: u64,
) -> Result<Open, Failed> {
    let shown = crate::redact::url(url.as_str());
    let mut request = client.get(url.as_str());
    if offset > 0 {
        request = request.header(RANGE, format!("bytes={offset}-"));
    }
    let response = auth
        .send(request, url)
        .map_err(|err| transient(&shown, crate::metadata::fetch::describe(&err, timeout)))?;
    let status = response.status().as_u16();
    let length = content_length(&response);
    match status {
        200 => Ok(Open::Body(Opened {
            body: Box::new(response),
            from: 0,
            length,
        })),
        206 if offset > 0 => {
            let start = header(&response, CONTENT_RANGE)
                .and_then(|v| v.strip_prefix("bytes "))
                .and_then(|v| v.split('-').next())
                .and_then(|v| v.trim().parse::<u64>().ok());
            if start == Some(offset) {
                Ok(Open::Body(Opened {
                    body: Box::new(response),
                    from: offset,
                    length,
                }))
            } else {
                Err(restart(
                    &shown,
                    "the server answered a different range than asked for",
                ))
            }
        }
        416 if offset > 0 => {
            // Nothing after `offset`: either the part file is already
            // whole, or it is longer than the file (then start over).
            let total = header(&response, CONTENT_RANGE)
                .and_then(|v| v.strip_prefix("bytes */"))
                .and_then(|v| v.trim().parse::<u64>().ok());
            if total == Some(offset) {
                Ok(Open::AlreadyComplete)
            } else {
                Err(restart(
                    &shown,
                    "the partial download is longer than the file",
                ))
            }
        }
        408 | 425 | 429 | 500..=599 => Err(Failed::Transient {
            retry_after: header(&response, RETRY_AFTER)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
            error: DownloadError::Status {
                url: shown,
                status,
                attempts: 1,
            },
            progressed: false,
        }),
        _ => Err(Failed::Permanent(DownloadError::Status {
            url: shown,
            status,
            attempts: 1,
        })),
    }
}

/// The `Content-Length` header. (reqwest's `content_length()` is the body's
/// size hint, which is 0 for a HEAD answer.)
pub(super) fn content_length(response: &Response) -> Option<u64> {
    header(response, CONTENT_LENGTH).and_then(|v| v.trim().parse().ok())
}

/// A header's value, when it is there and plain text.
fn header(response: &Response, name: HeaderName) -> Option<&str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}
