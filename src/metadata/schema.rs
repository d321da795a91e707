//! uv's Python download metadata (`download-metadata.json`): the schema,
//! entry-by-entry validation, and the rewriting of URLs before uv sees them.
//!
//! The field set follows uv's own reader: `name`, `arch.family`, `os`,
//! `libc`, `major`, `minor`, `patch`, `url`, optional `arch.variant`,
//! `prerelease`, `sha256`, `variant`, `build`. Unknown fields pass through
//! untouched, so a newer upstream format keeps working.

use serde_json::{Map, Value};
use url::Url;

use crate::urls::{UPSTREAM_CPYTHON, UPSTREAM_PYPY, as_base};

/// Implementations uv can install.
const NAMES: &[&str] = &["cpython", "pypy", "graalpy", "pyodide"];

/// Operating systems as uv's metadata spells them.
const OSES: &[&str] = &[
    "linux",
    "darwin",
    "windows",
    "freebsd",
    "netbsd",
    "openbsd",
    "dragonfly",
    "illumos",
    "solaris",
    "android",
    "ios",
    "emscripten",
    "wasi",
    "haiku",
];

/// Architecture families as uv's metadata spells them.
const ARCHES: &[&str] = &[
    "x86_64",
    "aarch64",
    "i686",
    "i386",
    "armv7",
    "armv6",
    "armv5te",
    "arm",
    "s390x",
    "powerpc64le",
    "powerpc64",
    "powerpc",
    "riscv64gc",
    "riscv64",
    "loongarch64",
    "wasm32",
    "wasm64",
    "mips",
    "mipsel",
    "mips64",
    "mips64el",
    "sparc64",
    "x86",
];

/// C libraries as uv's metadata spells them.
const LIBCS: &[&str] = &[
    "gnu",
    "musl",
    "none",
    "gnueabi",
    "gnueabihf",
    "musleabi",
    "musleabihf",
];

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
}

/// How entry URLs are handed to uv.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rewrite {
    /// Mirror bases; URLs under them are the ones that may be turned back to upstream.
    pub bases: Vec<Url>,
    /// uv itself applies a CPython mirror (from its own config or the user's
    /// variable): CPython URLs under a base get the upstream prefix back, so
    /// uv's prefix replacement still works.
    pub cpython_upstream: bool,
    /// Likewise for PyPy, under `<base>/pypy/`.
    pub pypy_upstream: bool,
}

impl Rewrite {
    /// A short tag naming the policy, part of the cache key.
    pub fn tag(&self) -> &'static str {
        match (self.cpython_upstream, self.pypy_upstream) {
            (false, false) => "mirror",
            (true, false) => "upstream-cpython",
            (false, true) => "upstream-pypy",
            (true, true) => "upstream-all",
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
}

/// Validates `body` fetched from `source`, resolves relative URLs against it
/// and applies `rewrite`.
pub fn validate(body: &[u8], source: &Url, rewrite: &Rewrite) -> Result<Validated, MetadataError> {
    let source_name = crate::redact::url(source.as_str());
    let value: Value = serde_json::from_slice(body).map_err(|err| MetadataError::NotJson {
        source_name: source_name.clone(),
        detail: err.to_string(),
    })?;
    let Value::Object(mut entries) = value else {
        return Err(MetadataError::WrongShape {
            source_name,
            found: kind_of(&value),
        });
    };
    if entries.is_empty() {
        return Err(MetadataError::Empty { source_name });
    }
    for (key, entry) in entries.iter_mut() {
        check_entry(key, entry, source, rewrite).map_err(|(field, problem)| {
            MetadataError::Entry {
                source_name: source_name.clone(),
                key: key.clone(),
                field,
                problem,
            }
        })?;
    }
    let count = entries.len();
    let json = serde_json::to_vec(&Value::Object(entries)).expect("a JSON value always serialises");
    Ok(Validated {
        json,
        entries: count,
    })
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

type Problem = (String, String);

fn problem(field: &str, what: impl Into<String>) -> Problem {
    (field.to_string(), what.into())
}

fn one_of<'a>(
    entry: &'a Map<String, Value>,
    field: &str,
    allowed: &[&str],
) -> Result<&'a str, Problem> {
    let value = required_str(entry, field)?;
    if allowed.contains(&value) {
        Ok(value)
    } else {
        Err(problem(
            field,
            format!(
                "has unknown value `{value}` (expected one of: {})",
                allowed.join(", ")
            ),
        ))
    }
}

fn required_str<'a>(entry: &'a Map<String, Value>, field: &str) -> Result<&'a str, Problem> {
    match entry.get(field) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(problem(
            field,
            format!("must be a string, found {}", kind_of(other)),
        )),
        None => Err(problem(field, "is missing")),
    }
}

fn optional_str<'a>(
    entry: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, Problem> {
    match entry.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(problem(
            field,
            format!("must be a string or null, found {}", kind_of(other)),
        )),
    }
}

fn small_number(entry: &Map<String, Value>, field: &str) -> Result<(), Problem> {
    match entry.get(field) {
        Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n <= u64::from(u8::MAX)) => Ok(()),
        Some(other) => Err(problem(
            field,
            format!("must be a whole number from 0 to 255, found {other}"),
        )),
        None => Err(problem(field, "is missing")),
    }
}

fn token(field: &str, value: &str) -> Result<(), Problem> {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '_' | '.'))
    {
        Ok(())
    } else {
        Err(problem(field, format!("has an invalid value `{value}`")))
    }
}

fn check_entry(
    key: &str,
    entry: &mut Value,
    source: &Url,
    rewrite: &Rewrite,
) -> Result<(), Problem> {
    let Value::Object(entry) = entry else {
        return Err(problem(
            "(entry)",
            format!("must be an object, found {}", kind_of(entry)),
        ));
    };
    if key.trim().is_empty() {
        return Err(problem("(key)", "is empty"));
    }
    let name = one_of(entry, "name", NAMES)?.to_string();
    match entry.get("arch") {
        Some(Value::Object(arch)) => {
            one_of(arch, "family", ARCHES).map_err(|(f, p)| (format!("arch.{f}"), p))?;
            if let Some(variant) =
                optional_str(arch, "variant").map_err(|(f, p)| (format!("arch.{f}"), p))?
            {
                token("arch.variant", variant)?;
            }
        }
        Some(other) => {
            return Err(problem(
                "arch",
                format!("must be an object, found {}", kind_of(other)),
            ));
        }
        None => return Err(problem("arch", "is missing")),
    }
    one_of(entry, "os", OSES)?;
    one_of(entry, "libc", LIBCS)?;
    for field in ["major", "minor", "patch"] {
        small_number(entry, field)?;
    }
    if let Some(pre) = optional_str(entry, "prerelease")?
        && !pre.is_empty()
    {
        token("prerelease", pre)?;
    }
    for field in ["variant", "build"] {
        if let Some(value) = optional_str(entry, field)? {
            token(field, value)?;
        }
    }
    if let Some(sha) = optional_str(entry, "sha256")?
        && !(sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(problem(
            "sha256",
            format!("must be 64 hex digits, found `{sha}`"),
        ));
    }
    let raw_url = required_str(entry, "url")?;
    if raw_url.trim().is_empty() {
        return Err(problem("url", "is empty"));
    }
    let resolved = source.join(raw_url).map_err(|err| {
        problem(
            "url",
            format!(
                "`{}` cannot be resolved: {err}",
                crate::redact::url(raw_url)
            ),
        )
    })?;
    if !matches!(resolved.scheme(), "http" | "https" | "file") {
        return Err(problem(
            "url",
            format!("scheme `{}` is not supported", resolved.scheme()),
        ));
    }
    let handed = hand_over(&name, resolved, rewrite);
    entry.insert("url".into(), Value::String(handed));
    Ok(())
}

/// The URL uv gets for one entry.
fn hand_over(name: &str, resolved: Url, rewrite: &Rewrite) -> String {
    let text = resolved.as_str();
    let (upstream, sub) = match name {
        "cpython" if rewrite.cpython_upstream => (UPSTREAM_CPYTHON, ""),
        "pypy" if rewrite.pypy_upstream => (UPSTREAM_PYPY, "pypy/"),
        _ => return resolved.into(),
    };
    for base in &rewrite.bases {
        let prefix = format!("{}{sub}", as_base(base));
        if let Some(rest) = text.strip_prefix(&prefix) {
            return format!("{upstream}{rest}");
        }
    }
    resolved.into()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let v = validate(&body, &src(), &Rewrite::default()).unwrap();
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
            bases: vec![Url::parse("https://m.example/uv").unwrap()],
            cpython_upstream: true,
            pypy_upstream: false,
        };
        let v = validate(&body, &src(), &rewrite).unwrap();
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
        let err = validate(&body, &src(), &Rewrite::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`bad-one`") && err.contains("`sha256`"),
            "{err}"
        );

        let mut bad = entry("x.tar.gz");
        bad["os"] = Value::String("plan9".into());
        let err = validate(&doc(&[("k", bad)]), &src(), &Rewrite::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("`os`") && err.contains("plan9"), "{err}");

        let mut bad = entry("x.tar.gz");
        bad["arch"] = serde_json::json!({"family": 5});
        let err = validate(&doc(&[("k", bad)]), &src(), &Rewrite::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("`arch.family`"), "{err}");

        let mut bad = entry("x.tar.gz");
        bad["minor"] = serde_json::json!(300);
        let err = validate(&doc(&[("k", bad)]), &src(), &Rewrite::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("`minor`"), "{err}");
    }

    #[test]
    fn wrong_shapes_are_named() {
        let e = validate(b"[1,2]", &src(), &Rewrite::default()).unwrap_err();
        assert!(matches!(e, MetadataError::WrongShape { .. }), "{e}");
        let e = validate(b"{\"a\": ", &src(), &Rewrite::default()).unwrap_err();
        assert!(matches!(e, MetadataError::NotJson { .. }), "{e}");
        let e = validate(b"{}", &src(), &Rewrite::default()).unwrap_err();
        assert!(matches!(e, MetadataError::Empty { .. }), "{e}");
    }

    #[test]
    fn unknown_fields_pass_through() {
        let mut e = entry("a.tar.gz");
        e["future-field"] = Value::Bool(true);
        let v = validate(&doc(&[("k", e)]), &src(), &Rewrite::default()).unwrap();
        let out: Value = serde_json::from_slice(&v.json).unwrap();
        assert_eq!(out["k"]["future-field"], Value::Bool(true));
    }
}
