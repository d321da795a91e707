//! The `_uv-mirror` TXT record format (`v=uvm1`), parsed from the untrusted
//! bytes of one record.
//!
//! A record is one or more character-strings, joined without separator, then
//! read DNS-SD style: `key=value` pairs separated by spaces or `;`, `v=uvm1`
//! first. Unknown keys are ignored so later versions can add keys; anything
//! else that is off (a known key twice, an empty value, a URL that does not
//! parse, no mirror at all) makes the whole record malformed rather than half
//! understood. Whether the URLs may be trusted is decided in
//! [`super::policy`].

use url::Url;

/// The label in front of every queried domain.
pub const LABEL: &str = "_uv-mirror";

/// The version tag every record must start with.
pub const VERSION: &str = "uvm1";

/// One `v=uvm1` record, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorRecord {
    /// Mirror bases (`url`, may repeat), in the order written.
    pub urls: Vec<Url>,
    /// Where the metadata lives, instead of `<url>/download-metadata.json`.
    pub metadata: Option<Url>,
    /// PyPy mirror.
    pub pypy: Option<Url>,
    /// Default package index.
    pub index: Option<Url>,
    /// Astral mirror.
    pub astral: Option<Url>,
    /// Priority; lower wins. A record without `prio` has priority 0.
    pub prio: u16,
}

impl MirrorRecord {
    /// Every URL of the record with the key it came from, for the trust check.
    pub fn urls_by_key(&self) -> Vec<(&'static str, &Url)> {
        let mut all: Vec<(&'static str, &Url)> = self.urls.iter().map(|u| ("url", u)).collect();
        for (key, value) in [
            ("metadata", &self.metadata),
            ("pypy", &self.pypy),
            ("index", &self.index),
            ("astral", &self.astral),
        ] {
            if let Some(url) = value {
                all.push((key, url));
            }
        }
        all
    }
}

/// Why a record is not a usable `v=uvm1` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotMirror {
    /// Not meant for us (no `v=uvm1` first): other TXT records may share the name.
    Foreign,
    /// Meant for us, but broken; the text says what and where.
    Malformed(String),
}

impl std::fmt::Display for NotMirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotMirror::Foreign => write!(f, "does not start with v={VERSION}"),
            NotMirror::Malformed(why) => write!(f, "malformed: {why}"),
        }
    }
}

/// Joins the character-strings of one TXT record, as the format says.
pub fn join(strings: &[impl AsRef<[u8]>]) -> Vec<u8> {
    strings
        .iter()
        .flat_map(|s| s.as_ref().iter().copied())
        .collect()
}

/// Parses the joined bytes of one TXT record.
pub fn parse(bytes: &[u8]) -> Result<MirrorRecord, NotMirror> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        // Could still be ours, but a URL must be text; say so only if it claims to be.
        return Err(if bytes.starts_with(b"v=") {
            NotMirror::Malformed("not UTF-8".into())
        } else {
            NotMirror::Foreign
        });
    };
    let mut tokens = text
        .split(|c: char| c.is_ascii_whitespace() || c == ';')
        .filter(|t| !t.is_empty());
    match tokens.next().and_then(|t| t.split_once('=')) {
        Some((key, value))
            if key.eq_ignore_ascii_case("v") && value.eq_ignore_ascii_case(VERSION) => {}
        _ => return Err(NotMirror::Foreign),
    }

    let mut record = MirrorRecord {
        urls: Vec::new(),
        metadata: None,
        pypy: None,
        index: None,
        astral: None,
        prio: 0,
    };
    let mut prio_seen = false;
    for token in tokens {
        // DNS-SD allows bare boolean keys; none is defined for us, so they are unknown keys.
        let Some((key, value)) = token.split_once('=') else {
            continue;
        };
        let key = key.to_ascii_lowercase();
        let slot = match key.as_str() {
            "url" => {
                record.urls.push(url_value(&key, value)?);
                continue;
            }
            "prio" => {
                if std::mem::replace(&mut prio_seen, true) {
                    return Err(twice(&key));
                }
                record.prio = value.parse().map_err(|_| {
                    NotMirror::Malformed(format!("`prio={value}` is not a number from 0 to 65535"))
                })?;
                continue;
            }
            "metadata" => &mut record.metadata,
            "pypy" => &mut record.pypy,
            "index" => &mut record.index,
            "astral" => &mut record.astral,
            // Unknown keys (and a repeated `v`) are left for later versions of the format.
            _ => continue,
        };
        if slot.is_some() {
            return Err(twice(&key));
        }
        *slot = Some(url_value(&key, value)?);
    }
    if record.urls.is_empty() && record.metadata.is_none() {
        return Err(NotMirror::Malformed(
            "names no mirror (no `url` or `metadata` key)".into(),
        ));
    }
    Ok(record)
}

fn twice(key: &str) -> NotMirror {
    NotMirror::Malformed(format!("key `{key}` is given twice"))
}

fn url_value(key: &str, value: &str) -> Result<Url, NotMirror> {
    if value.is_empty() {
        return Err(NotMirror::Malformed(format!(
            "key `{key}` has an empty value"
        )));
    }
    Url::parse(value).map_err(|err| {
        NotMirror::Malformed(format!(
            "`{key}={}` is not a URL ({err})",
            crate::redact::url(value)
        ))
    })
}

/// The record as one line of printable text for reports and the cache:
/// `\` and bytes outside printable ASCII are escaped as `\\` and `\xHH`, so a
/// record cannot break a line or send control codes to a terminal.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b' '..=b'~' => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

/// Reverses [`escape`]; `None` for text that [`escape`] cannot have written.
pub fn unescape(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next()? {
            b'\\' => out.push(b'\\'),
            b'x' => {
                let hex = [bytes.next()?, bytes.next()?];
                let hex = std::str::from_utf8(&hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> MirrorRecord {
        parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn reads_the_example_of_the_contract() {
        let r = ok(
            "v=uvm1 url=https://mirror.corp.example/uv/ index=https://mirror.corp.example/pypi/simple",
        );
        assert_eq!(r.urls[0].as_str(), "https://mirror.corp.example/uv/");
        assert_eq!(
            r.index.unwrap().as_str(),
            "https://mirror.corp.example/pypi/simple"
        );
        assert_eq!(r.prio, 0);
        assert!(r.metadata.is_none() && r.pypy.is_none() && r.astral.is_none());
    }

    #[test]
    fn strings_are_joined_without_separator() {
        let joined = join(&[&b"v=uvm1 url=https://m.corp.exa"[..], b"mple/uv/ prio=5"]);
        let r = ok(std::str::from_utf8(&joined).unwrap());
        assert_eq!(r.urls[0].host_str(), Some("m.corp.example"));
        assert_eq!(r.prio, 5);
    }

    #[test]
    fn semicolons_and_runs_of_spaces_separate() {
        let r = ok("v=uvm1;url=https://a.example/;;  url=https://b.example/\tprio=7;");
        assert_eq!(r.urls.len(), 2);
        assert_eq!(r.urls[1].host_str(), Some("b.example"));
        assert_eq!(r.prio, 7);
    }

    #[test]
    fn every_key_is_read_and_unknown_keys_are_ignored() {
        let r = ok(
            "V=UVM1 URL=https://m.example/uv metadata=https://m.example/m.json \
                    pypy=https://m.example/pypy astral=https://m.example/astral \
                    colour=blue flag prio=65535",
        );
        assert_eq!(r.metadata.as_ref().unwrap().path(), "/m.json");
        assert_eq!(r.pypy.as_ref().unwrap().path(), "/pypy");
        assert_eq!(r.astral.as_ref().unwrap().path(), "/astral");
        assert_eq!(r.prio, u16::MAX);
        assert_eq!(r.urls_by_key().len(), 4);
    }

    #[test]
    fn version_must_come_first() {
        for text in [
            "url=https://m.example/ v=uvm1",
            "v=spf1 include:_spf.example ~all",
            "v=uvm2 url=https://m.example/",
            "",
            "   ",
            "garbage",
        ] {
            assert_eq!(parse(text.as_bytes()), Err(NotMirror::Foreign), "{text:?}");
        }
        assert_eq!(parse(&[0xff, 0xfe]), Err(NotMirror::Foreign));
    }

    #[test]
    fn broken_records_are_malformed_not_half_read() {
        for (text, why) in [
            ("v=uvm1", "names no mirror"),
            ("v=uvm1 index=https://i.example/simple", "names no mirror"),
            ("v=uvm1 url=", "empty value"),
            ("v=uvm1 url=not-a-url", "is not a URL"),
            ("v=uvm1 url=https://m.example/ prio=high", "not a number"),
            ("v=uvm1 url=https://m.example/ prio=70000", "not a number"),
            (
                "v=uvm1 url=https://m.example/ prio=1 prio=2",
                "`prio` is given twice",
            ),
            (
                "v=uvm1 url=https://m.example/ index=https://a.example/ index=https://b.example/",
                "`index` is given twice",
            ),
        ] {
            match parse(text.as_bytes()) {
                Err(NotMirror::Malformed(m)) => assert!(m.contains(why), "{text:?}: {m}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
        assert!(matches!(
            parse(b"v=uvm1 url=https://m.example/\xff"),
            Err(NotMirror::Malformed(_))
        ));
    }

    #[test]
    fn metadata_alone_names_a_mirror() {
        let r = ok("v=uvm1 metadata=https://m.example/download-metadata.json");
        assert!(r.urls.is_empty());
        assert!(r.metadata.is_some());
    }

    #[test]
    fn credentials_do_not_reach_error_messages() {
        let err = parse(b"v=uvm1 url=https://user:secret@[bad/").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn escape_round_trips_and_stays_on_one_line() {
        let raw = b"v=uvm1 url=https://m.example/\\x\n\r\x1b[31m\xff end";
        let escaped = escape(raw);
        assert!(!escaped.contains(['\n', '\r', '\x1b']), "{escaped}");
        assert_eq!(unescape(&escaped).unwrap(), raw);
        assert_eq!(unescape("bad\\q"), None);
        assert_eq!(unescape("bad\\x4"), None);
    }
}
