//! Validating a metadata document for uv, one entry at a time: each entry
//! is read and checked the way uv reads it ([`fields`](super::fields)), its
//! URL resolved against the metadata URL, rewritten from upstream and kept
//! on the mirror ([`policy`](super::policy)), and written out for uv with
//! every other field as it came. Memory stays a small multiple of the body
//! ([`document`](super::document)).
//!
//! A structure error refuses the document; an entry that may not be handed
//! to uv is dropped with its reason, and a document that loses every entry
//! is refused too.

use url::Url;

use super::document::{self, WalkError};
use super::fields::{self, Problem};
use super::policy::{DropReason, Places, is_network_path};
use super::rules::{Policy, Rewrite};

/// How many reasons for dropped entries are kept (for `doctor`).
pub const FIRST_DROPS: usize = 5;

/// A metadata document that failed validation.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// The body is not JSON.
    #[error("{source_name} is not valid JSON: {detail}")]
    NotJson {
        /// Where the body came from (redacted).
        source_name: String,
        /// The parser's message, with line and column.
        detail: String,
    },
    /// The JSON is not an object of entries.
    #[error(
        "{source_name} has the wrong shape: expected an object of download entries, found {found}"
    )]
    WrongShape {
        /// Where the body came from.
        source_name: String,
        /// What the top level is.
        found: &'static str,
    },
    /// The object has no entries.
    #[error("{source_name} lists no downloads")]
    Empty {
        /// Where the body came from.
        source_name: String,
    },
    /// One entry is invalid.
    #[error("{source_name}: entry `{key}`: field `{field}` {problem}")]
    Entry {
        /// Where the body came from.
        source_name: String,
        /// The entry's key.
        key: String,
        /// The field at fault.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The copy for uv does not fit in the memory the process may use
    /// (a limit such as `ulimit -v`): a failure to remember, not an abort
    /// that every later call would repeat.
    #[error(
        "{source_name}: no memory for a {} MiB copy (is a memory limit such as `ulimit -v` set too low?)",
        .size >> 20
    )]
    NoMemory {
        /// Where the body came from.
        source_name: String,
        /// The size asked for.
        size: usize,
    },
    /// Every entry was dropped: nothing is left to hand to uv.
    #[error("{source_name}: none of its {count} entries may be handed to uv; the first: {first}")]
    AllDropped {
        /// Where the body came from.
        source_name: String,
        /// How many entries it had.
        count: u64,
        /// The first one dropped and why.
        first: String,
    },
}

/// The entries left out of the copy handed to uv.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drops {
    /// How many.
    pub count: u64,
    /// The first few ([`FIRST_DROPS`]), each `` `key`: reason ``.
    pub first: Vec<String>,
}

impl Drops {
    fn add(&mut self, key: &str, reason: &DropReason) {
        self.count += 1;
        if self.first.len() < FIRST_DROPS {
            self.first.push(format!("`{key}`: {reason}"));
        }
    }
}

/// A validated document, ready for uv.
#[derive(Debug, Clone)]
pub struct Validated {
    /// The JSON handed to uv (absolute URLs).
    pub json: Vec<u8>,
    /// How many entries it has.
    pub entries: usize,
    /// The entries left out.
    pub dropped: Drops,
}

/// Validates `body` fetched from `source`: resolves relative URLs against
/// it, rewrites upstream URLs into the mirror, drops the entries `policy`
/// refuses, and hands URLs over as `rewrite` says.
pub fn validate(
    body: &[u8],
    source: &Url,
    rewrite: &Rewrite,
    policy: &Policy,
) -> Result<Validated, MetadataError> {
    let source_name = crate::redact::url(source.as_str());
    let places = Places::new(rewrite, policy, source);
    // The copy is about the size of the body; reserving it up front avoids
    // growing (and briefly doubling) a large buffer.
    let size = body.len() + body.len() / 8 + 2;
    let mut json = Vec::new();
    if json.try_reserve_exact(size).is_err() {
        return Err(MetadataError::NoMemory { source_name, size });
    }
    json.push(b'{');
    let mut entries = 0;
    let mut dropped = Drops::default();
    let walked = document::for_each_entry(body, |key, raw| {
        let entry = fields::read(&key, raw).map_err(|p| (key.clone(), p))?;
        let placed = match entry.skipped_by_uv() {
            Some((field, value)) => Err(DropReason::UnknownToUv {
                field,
                value: value.to_string(),
            }),
            None => place(&entry, source, &places).map_err(|p| (key.clone(), p))?,
        };
        match placed {
            Ok(url) => {
                if entries > 0 {
                    json.push(b',');
                }
                let handed = places.hand_over(&entry.name, url);
                fields::write(&mut json, &key, raw, &entry, &handed);
                entries += 1;
            }
            Err(reason) => {
                crate::log::debug(|| format!("dropped entry `{key}`: {reason}"));
                dropped.add(&key, &reason);
            }
        }
        Ok::<(), (String, Problem)>(())
    });
    json.push(b'}');
    let count = match walked {
        Ok(count) => count,
        Err(WalkError::NotJson(detail)) => {
            return Err(MetadataError::NotJson {
                source_name,
                detail,
            });
        }
        Err(WalkError::WrongShape(found)) => {
            return Err(MetadataError::WrongShape { source_name, found });
        }
        Err(WalkError::Refused((key, Problem { field, problem }))) => {
            return Err(MetadataError::Entry {
                source_name,
                key,
                field,
                problem,
            });
        }
    };
    if count == 0 {
        return Err(MetadataError::Empty { source_name });
    }
    if entries == 0 {
        let more = match dropped.count {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        return Err(MetadataError::AllDropped {
            source_name,
            count: dropped.count,
            first: format!("{}{more}", dropped.first[0]),
        });
    }
    Ok(Validated {
        json,
        entries,
        dropped,
    })
}

/// The mirror form of the entry's URL, or why the entry is dropped; a URL
/// that cannot be used at all is a problem of the document.
fn place(
    entry: &fields::Entry,
    source: &Url,
    places: &Places,
) -> Result<Result<Url, DropReason>, Problem> {
    let raw = entry.url.as_str();
    let shown = || crate::redact::url(raw);
    if places.confined() && is_network_path(raw) {
        return Ok(Err(DropReason::NetworkPath(shown())));
    }
    let resolved = source.join(raw).map_err(|err| Problem {
        field: "url".into(),
        problem: format!("`{}` cannot be resolved: {err}", shown()),
    })?;
    if !matches!(resolved.scheme(), "http" | "https" | "file") {
        return Err(Problem {
            field: "url".into(),
            problem: format!("scheme `{}` is not supported", resolved.scheme()),
        });
    }
    let placed = places.place(resolved);
    if placed.is_ok() && places.require_sha256() && entry.sha256.is_none() {
        return Ok(Err(DropReason::NoSha256));
    }
    Ok(placed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value};

    use crate::urls::UPSTREAM_CPYTHON;

    fn entry(url: &str) -> Value {
        serde_json::json!({
            "name": "cpython",
            "arch": {"family": "x86_64", "variant": null},
            "os": "linux",
            "libc": "gnu",
            "major": 3, "minor": 12, "patch": 8,
            "prerelease": "",
            "url": url,
            "sha256": "a".repeat(64),
            "variant": null,
            "build": "20250101",
        })
    }

    fn doc(entries: &[(&str, Value)]) -> Vec<u8> {
        let map: Map<String, Value> = entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        serde_json::to_vec(&Value::Object(map)).unwrap()
    }

    fn src() -> Url {
        Url::parse("https://m.example/uv/download-metadata.json").unwrap()
    }

    fn mirror() -> Rewrite {
        Rewrite {
            bases: vec![Url::parse("https://m.example/uv/").unwrap()],
            ..Rewrite::default()
        }
    }

    fn check(body: &[u8]) -> Result<Validated, MetadataError> {
        validate(body, &src(), &mirror(), &Policy::default())
    }

    fn urls_of(validated: &Validated) -> Vec<String> {
        let value: Value = serde_json::from_slice(&validated.json).unwrap();
        value
            .as_object()
            .unwrap()
            .values()
            .map(|e| e["url"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn resolves_relative_urls() {
        let body = doc(&[("k", entry("20250101/cpython-3.12.8%2B20250101-x.tar.gz"))]);
        let v = check(&body).unwrap();
        assert_eq!(v.entries, 1);
        assert_eq!(
            urls_of(&v),
            ["https://m.example/uv/20250101/cpython-3.12.8%2B20250101-x.tar.gz"]
        );
    }

    #[test]
    fn upstream_rewrite_restores_prefix() {
        let body = doc(&[("k", entry("20250101/f.tar.gz"))]);
        let rewrite = Rewrite {
            cpython_upstream: true,
            ..mirror()
        };
        let v = validate(&body, &src(), &rewrite, &Policy::default()).unwrap();
        assert_eq!(
            urls_of(&v),
            [format!("{UPSTREAM_CPYTHON}20250101/f.tar.gz")]
        );
    }

    #[test]
    fn names_first_bad_entry_and_field() {
        let mut bad = entry("x.tar.gz");
        bad["sha256"] = Value::String("zz".into());
        let body = doc(&[("good", entry("a.tar.gz")), ("bad-one", bad)]);
        let err = check(&body).unwrap_err().to_string();
        assert!(
            err.contains("`bad-one`") && err.contains("`sha256`"),
            "{err}"
        );
        let mut bad = entry("x.tar.gz");
        bad["url"] = Value::String("ftp://m.example/uv/x".into());
        let err = check(&doc(&[("k", bad)])).unwrap_err().to_string();
        assert!(err.contains("`url`") && err.contains("`ftp`"), "{err}");
    }

    #[test]
    fn wrong_shapes_are_named() {
        let e = check(b"[1,2]").unwrap_err();
        assert!(matches!(e, MetadataError::WrongShape { .. }), "{e}");
        let e = check(b"{\"a\": ").unwrap_err();
        assert!(matches!(e, MetadataError::NotJson { .. }), "{e}");
        let e = check(b"{}").unwrap_err();
        assert!(matches!(e, MetadataError::Empty { .. }), "{e}");
    }

    #[test]
    fn unknown_fields_pass_through_as_written() {
        let mut e = entry("a.tar.gz");
        e["future-field"] = serde_json::json!({"n": [1.5, true]});
        // Written the way no serializer would: it must come out the same.
        let body = String::from_utf8(doc(&[("k", e)]))
            .unwrap()
            .replace("1.5", "1.50");
        let v = check(body.as_bytes()).unwrap();
        let text = String::from_utf8(v.json).unwrap();
        assert!(
            text.contains(r#""future-field":{"n":[1.50,true]}"#),
            "{text}"
        );
    }

    #[test]
    fn bad_entries_are_dropped_and_counted() {
        let mut hashless = entry("b.tar.gz");
        hashless["sha256"] = Value::Null;
        let body = doc(&[
            ("good", entry("a.tar.gz")),
            ("off", entry("https://evil.example/a.tar.gz")),
            ("unc", entry("\\\\evil.example\\share\\a.tar.gz")),
            ("slashes", entry("//evil.example/a.tar.gz")),
            ("file", entry("file:///etc/a.tar.gz")),
            ("http", entry("http://m.example/uv/a.tar.gz")),
            ("hashless", hashless.clone()),
        ]);
        let v = check(&body).unwrap();
        assert_eq!(v.entries, 1);
        assert_eq!(urls_of(&v), ["https://m.example/uv/a.tar.gz"]);
        assert_eq!(v.dropped.count, 6);
        assert_eq!(v.dropped.first.len(), FIRST_DROPS);
        assert!(
            v.dropped.first[0].starts_with("`off`: url https://evil.example/a.tar.gz lies outside")
        );
        assert!(
            v.dropped.first[1].starts_with("`unc`: url `\\\\evil.example"),
            "{:?}",
            v.dropped
        );

        // Without `require-sha256`, a hash-less entry stays.
        let lax = Policy {
            require_sha256: false,
            ..Policy::default()
        };
        let body = doc(&[("hashless", hashless)]);
        assert_eq!(validate(&body, &src(), &mirror(), &lax).unwrap().entries, 1);

        // Nothing left: the document is a bad answer, naming the first drop.
        let err = check(&body).unwrap_err().to_string();
        assert!(
            err.contains("none of its 1 entries") && err.contains("no sha256"),
            "{err}"
        );
    }
}
