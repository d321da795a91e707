//! The one on-disk format of every file the shim keeps for itself (the
//! metadata state, the warm plan, the DNS answers, the real uv's version,
//! the mirror's manifest): a version line, then `key value` lines.
//!
//! ```text
//! uv-shim-state 5
//! source https://mirror.corp.example/uv/download-metadata.json
//! fetched 1700000000
//! error connection refused\nafter 2 s
//! tls system
//! ```
//!
//! Plain text because the warm path reads some of these on every call: no
//! JSON, no TOML. A value is escaped (`\\`, `\n`, `\r`) so it always stays on
//! its line. The version line names the kind of file and its format version:
//! a file written by another format version is not read at all (it is
//! treated as missing, which every reader copes with), so a newer shim never
//! misreads an older file, nor an older shim a newer one.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::path::Path;

/// One record being written.
#[derive(Debug, Clone)]
pub struct Record {
    text: String,
}

impl Record {
    /// A record of `kind` (`uv-shim-<kind>`) in format `version`.
    pub fn new(kind: &str, version: &str) -> Record {
        Record {
            text: header(kind, version),
        }
    }

    /// Appends a `key value` line; `key` must be one word.
    pub fn push(&mut self, key: &str, value: impl fmt::Display) -> &mut Self {
        debug_assert!(!key.is_empty() && !key.contains([' ', '\n', '\r']));
        let value = value.to_string();
        let _ = writeln!(self.text, "{key} {}", escape(&value));
        self
    }

    /// Appends the line only when there is a value.
    pub fn push_some(&mut self, key: &str, value: Option<impl fmt::Display>) -> &mut Self {
        if let Some(value) = value {
            self.push(key, value);
        }
        self
    }

    /// The file's text.
    #[cfg(test)]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The file's text, owned.
    pub fn into_text(self) -> String {
        self.text
    }

    /// Writes the record into this user's private cache at `path`
    /// (see [`super::private::write`]).
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        super::private::write(path, self.text.as_bytes())
    }

    /// Writes the record atomically to a place that is not the private
    /// cache (a mirror's own state), with the umask's mode.
    pub fn write_public(&self, path: &Path) -> std::io::Result<()> {
        super::public::write_public(path, self.text.as_bytes())
    }
}

fn header(kind: &str, version: &str) -> String {
    format!("uv-shim-{kind} {version}\n")
}

/// The `key value` lines of `text`, when it is a record of `kind` in format
/// `version`; `None` for anything else (another format version, another
/// kind, not a record at all).
pub fn lines<'a>(
    kind: &str,
    version: &str,
    text: &'a str,
) -> Option<impl Iterator<Item = (&'a str, Cow<'a, str>)>> {
    let head = header(kind, version);
    let body = text.strip_prefix(head.as_str())?;
    Some(body.lines().map(|line| {
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        (key, unescape(value))
    }))
}

/// Reads the record of `kind`/`version` at `path` in this user's private
/// cache (a link, or a file another user could have written, is no record)
/// and hands its lines to `parse`; `None` when the file is absent,
/// unreadable, untrusted, of another format, or `parse` refuses a line.
pub fn read<T>(
    path: &Path,
    kind: &str,
    version: &str,
    parse: impl FnOnce(&mut dyn Iterator<Item = (&str, Cow<'_, str>)>) -> Option<T>,
) -> Option<T> {
    parse_text(
        &super::private::read_to_string(path).ok()?,
        kind,
        version,
        parse,
    )
}

/// [`read`] for a record outside the private cache (a mirror's own state).
pub fn read_shared<T>(
    path: &Path,
    kind: &str,
    version: &str,
    parse: impl FnOnce(&mut dyn Iterator<Item = (&str, Cow<'_, str>)>) -> Option<T>,
) -> Option<T> {
    parse_text(&std::fs::read_to_string(path).ok()?, kind, version, parse)
}

fn parse_text<T>(
    text: &str,
    kind: &str,
    version: &str,
    parse: impl FnOnce(&mut dyn Iterator<Item = (&str, Cow<'_, str>)>) -> Option<T>,
) -> Option<T> {
    let mut lines = lines(kind, version, text)?;
    parse(&mut lines)
}

fn escape(value: &str) -> Cow<'_, str> {
    if !value.contains(['\\', '\n', '\r']) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn unescape(value: &str) -> Cow<'_, str> {
    if !value.contains('\\') {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            // Not an escape this format writes: kept as it is, for the
            // reader of the value to judge.
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_awkward_values() {
        let mut record = Record::new("test", "1");
        record
            .push("plain", "a b c")
            .push("broken", "line\nbreak\r\\n")
            .push("empty", "")
            .push_some("absent", None::<&str>)
            .push("n", 42);
        let got: Vec<(String, String)> = lines("test", "1", record.text())
            .unwrap()
            .map(|(k, v)| (k.to_string(), v.into_owned()))
            .collect();
        assert_eq!(
            got,
            [
                ("plain", "a b c"),
                ("broken", "line\nbreak\r\\n"),
                ("empty", ""),
                ("n", "42")
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert_eq!(record.text().lines().count(), 5);
    }

    #[test]
    fn another_version_or_kind_is_not_read() {
        let mut record = Record::new("test", "1");
        record.push("a", 1);
        assert!(lines("test", "2", record.text()).is_none());
        assert!(lines("other", "1", record.text()).is_none());
        assert!(lines("test", "1", "{\"json\": true}").is_none());
        assert!(lines("test", "1", "uv-shim-test 10\na 1\n").is_none());
    }
}
