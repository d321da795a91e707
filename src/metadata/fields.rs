//! One entry of uv's download metadata: read into typed fields with serde
//! the way uv reads it, checked field by field, and written back for uv
//! with a new `url` and every other field, known or not, exactly as it
//! came (so a newer upstream format keeps working).
//!
//! The field set follows uv's own reader: `name`, `arch.family`, `os`,
//! `libc`, `major`, `minor`, `patch`, `url`, optional `arch.variant`,
//! `prerelease`, `sha256`, `variant`, `build`.
//!
//! Like uv, two kinds of fault are told apart: a structure error (not an
//! object, a field of the wrong JSON type, a missing field, a malformed
//! sha256) is a [`Problem`] that refuses the document, while a value uv
//! itself skips the entry for (an unknown `os`, `libc`, `arch`, `variant`
//! or implementation) only drops that entry ([`Entry::skipped_by_uv`]), so
//! the next value upstream adds cannot switch a fleet off the mirror.
//! Older formats some uv version wrote (`arch` as a plain string, `os =
//! "macos"`) are read and written back in the current form.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::document::kind_of;
use super::forms::{Arch, Os, current_os};

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

/// Architecture families as uv's metadata spells them (`armv5tel` and
/// `riscv64` are spellings uv maps to its own names).
const ARCHES: &[&str] = &[
    "armv5tel",
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

/// Micro-architecture levels uv knows (`x86_64` `v3` is uv's `x86_64_v3`).
const ARCH_VARIANTS: &[&str] = &["v2", "v3", "v4"];

/// Build variants uv knows (`variant`; none is the default build).
const VARIANTS: &[&str] = &["freethreaded", "debug", "freethreaded+debug"];

/// What is wrong with one entry: the field (`arch.family`) and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The field at fault, dotted for nested ones; `(entry)` or `(key)` for the whole.
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

impl Problem {
    fn new(field: &str, problem: impl Into<String>) -> Problem {
        Problem {
            field: field.to_string(),
            problem: problem.into(),
        }
    }
}

/// The fields of one entry that the shim reads; unknown fields are not
/// read here (they travel in the raw text, see [`write`]).
#[derive(Debug, Deserialize)]
pub struct Entry {
    /// `cpython`, `pypy`, `graalpy`, `pyodide`.
    pub name: String,
    /// The architecture.
    pub arch: Arch,
    /// uv's `os`; an old spelling ([`OLD_MACOS`]) is read as the current one.
    #[serde(deserialize_with = "current_os")]
    pub os: Os,
    /// uv's `libc`.
    pub libc: String,
    /// Python major version.
    #[expect(dead_code, reason = "read to be checked: its type is the check")]
    pub major: Small,
    /// Python minor version.
    #[expect(dead_code, reason = "read to be checked: its type is the check")]
    pub minor: Small,
    /// Python patch version.
    #[expect(dead_code, reason = "read to be checked: its type is the check")]
    pub patch: Small,
    /// `rc1`, `b2`… or empty.
    #[serde(default)]
    pub prerelease: Option<String>,
    /// Where the download is, as written (maybe relative).
    pub url: String,
    /// The published sha256.
    #[serde(default)]
    pub sha256: Option<String>,
    /// `freethreaded`, `debug`…
    #[serde(default)]
    pub variant: Option<String>,
    /// The build tag.
    #[serde(default)]
    pub build: Option<String>,
}

/// A version number as uv reads it: a whole number from 0 to 255.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Small(pub u8);

impl<'de> Deserialize<'de> for Small {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Small, D::Error> {
        struct Number;
        impl serde::de::Visitor<'_> for Number {
            type Value = Small;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a whole number from 0 to 255")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Small, E> {
                u8::try_from(n)
                    .map(Small)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(n), &self))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Small, E> {
                u8::try_from(n)
                    .map(Small)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(n), &self))
            }
        }
        deserializer.deserialize_u8(Number)
    }
}

/// Reads and checks the entry under `key`.
pub fn read(key: &str, raw: &RawValue) -> Result<Entry, Problem> {
    if key.trim().is_empty() {
        return Err(Problem::new("(key)", "is empty"));
    }
    let text = raw.get();
    let kind = kind_of(text.as_bytes());
    if kind != "an object" {
        return Err(Problem::new(
            "(entry)",
            format!("must be an object, found {kind}"),
        ));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let entry: Entry = serde_path_to_error::deserialize(&mut de).map_err(from_serde)?;
    check(&entry)?;
    Ok(entry)
}

/// serde's error, with the field it happened in (its own message leaves it
/// out) and without its line and column, which count inside the entry.
fn from_serde(err: serde_path_to_error::Error<serde_json::Error>) -> Problem {
    let path = err.path().to_string();
    let message = err.inner().to_string();
    let message = match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message,
    };
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some(name) = rest.strip_suffix('`')
    {
        let field = match path.as_str() {
            "." => name.to_string(),
            parent => format!("{parent}.{name}"),
        };
        return Problem::new(&field, "is missing");
    }
    match path.as_str() {
        "." => Problem::new("(entry)", message),
        field => Problem::new(field, message),
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
        Err(Problem::new(
            field,
            format!("has an invalid value `{value}`"),
        ))
    }
}

impl Entry {
    /// The first value uv itself skips this entry for (`(field, value)`):
    /// uv cannot use the entry, the rest of the document stays good.
    pub fn skipped_by_uv(&self) -> Option<(&'static str, &str)> {
        fn unknown<'a>(
            field: &'static str,
            value: &'a str,
            known: &[&str],
        ) -> Option<(&'static str, &'a str)> {
            (!known.contains(&value)).then_some((field, value))
        }
        unknown("name", &self.name, NAMES)
            .or_else(|| unknown("arch.family", &self.arch.family, ARCHES))
            .or_else(|| {
                let variant = self.arch.variant.as_deref()?;
                unknown("arch.variant", variant, ARCH_VARIANTS)
            })
            .or_else(|| unknown("os", &self.os.name, OSES))
            .or_else(|| unknown("libc", &self.libc, LIBCS))
            .or_else(|| unknown("variant", self.variant.as_deref()?, VARIANTS))
    }
}

/// The checks serde's types do not make; values uv skips are not
/// problems ([`Entry::skipped_by_uv`]).
fn check(entry: &Entry) -> Result<(), Problem> {
    if let Some(pre) = entry.prerelease.as_deref().filter(|p| !p.is_empty()) {
        token("prerelease", pre)?;
    }
    for (field, value) in [("variant", &entry.variant), ("build", &entry.build)] {
        if let Some(value) = value {
            token(field, value)?;
        }
    }
    if let Some(sha) = &entry.sha256
        && !(sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(Problem::new(
            "sha256",
            format!("must be 64 hex digits, found `{sha}`"),
        ));
    }
    if entry.url.trim().is_empty() {
        return Err(Problem::new("url", "is empty"));
    }
    Ok(())
}

/// Appends `"key":{…}` to `out`: the entry's fields in their order, as
/// they came, but `url` set to `url` and an old form of `arch` or `os`
/// written in the current one (`entry` is `raw` as [`read`] read it).
pub fn write(out: &mut Vec<u8>, key: &str, raw: &RawValue, entry: &Entry, url: &str) {
    serde_json::to_writer(&mut *out, key).expect("writing to a Vec cannot fail");
    out.push(b':');
    let mut de = serde_json::Deserializer::from_str(raw.get());
    serde::Deserializer::deserialize_map(&mut de, Writer { out, entry, url })
        .expect("a checked entry is an object");
}

/// Copies the fields of one entry object into `out`, replacing `url` and
/// upgrading old forms.
struct Writer<'o> {
    out: &'o mut Vec<u8>,
    entry: &'o Entry,
    url: &'o str,
}

impl Writer<'_> {
    /// The text to write for field `name` in place of the document's, if any.
    fn replaced(&self, name: &str) -> Option<serde_json::Value> {
        match name {
            "url" => Some(self.url.into()),
            "arch" if self.entry.arch.plain => Some(serde_json::json!({
                "family": self.entry.arch.family,
                "variant": null,
            })),
            "os" if self.entry.os.upgraded => Some(self.entry.os.name.as_str().into()),
            _ => None,
        }
    }
}

impl<'de> serde::de::Visitor<'de> for Writer<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an entry object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.out.push(b'{');
        let mut first = true;
        while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let value: &'de RawValue = map.next_value()?;
            if !first {
                self.out.push(b',');
            }
            first = false;
            serde_json::to_writer(&mut *self.out, &name).expect("writing to a Vec cannot fail");
            self.out.push(b':');
            if let Some(value) = self.replaced(&name) {
                serde_json::to_writer(&mut *self.out, &value)
                    .expect("writing to a Vec cannot fail");
            } else {
                self.out.extend_from_slice(value.get().as_bytes());
            }
        }
        self.out.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: serde_json::Value) -> Box<RawValue> {
        RawValue::from_string(json.to_string()).unwrap()
    }

    fn good() -> serde_json::Value {
        serde_json::json!({
            "name": "cpython",
            "arch": {"family": "x86_64", "variant": null},
            "os": "linux", "libc": "gnu",
            "major": 3, "minor": 12, "patch": 8, "prerelease": "",
            "url": "20250101/f.tar.gz",
            "sha256": "a".repeat(64),
            "variant": null, "build": "20250101",
        })
    }

    /// The problem of the good entry with `field` set to `value` (`None`: removed).
    fn problem_with(field: &str, value: Option<serde_json::Value>) -> Problem {
        let mut entry = good();
        let (parent, name) = match field.split_once('.') {
            Some((outer, inner)) => (&mut entry[outer], inner),
            None => (&mut entry, field),
        };
        let parent = parent.as_object_mut().unwrap();
        match value {
            Some(value) => parent.insert(name.to_string(), value),
            None => parent.remove(name),
        };
        read("k", &raw(entry)).unwrap_err()
    }

    #[test]
    fn every_problem_names_its_field() {
        use serde_json::json;
        for (field, value, named, says) in [
            (
                "arch.family",
                Some(json!(5)),
                "arch.family",
                "expected a string",
            ),
            ("minor", Some(json!(300)), "minor", "0 to 255"),
            ("minor", Some(json!(-1)), "minor", "0 to 255"),
            ("minor", Some(json!("3")), "minor", "0 to 255"),
            ("os", Some(json!(null)), "os", "null"),
            ("arch", None, "arch", "is missing"),
            ("arch", Some(json!(5)), "arch", "an object with `family`"),
            ("arch.family", None, "arch.family", "is missing"),
            ("sha256", Some(json!("zz")), "sha256", "`zz`"),
            ("url", Some(json!(" ")), "url", "is empty"),
            ("build", Some(json!("a b")), "build", "`a b`"),
        ] {
            let got = problem_with(field, value);
            assert_eq!(got.field, named, "{got:?}");
            assert!(got.problem.contains(says), "{got:?}");
            assert!(!got.problem.contains("line"), "{got:?}");
        }
    }

    #[test]
    fn values_uv_skips_drop_the_entry_not_the_document() {
        use serde_json::json;
        for (field, value) in [
            ("name", json!("jython")),
            ("os", json!("plan9")),
            ("libc", json!("bionic")),
            ("arch", json!({"family": "vax", "variant": null})),
            ("arch", json!({"family": "x86_64", "variant": "v9"})),
            ("variant", json!("tailcall")),
        ] {
            let mut entry = good();
            entry[field] = value;
            let read = read("k", &raw(entry)).unwrap();
            let (named, _) = read.skipped_by_uv().expect(field);
            assert!(named.starts_with(field), "{named} {field}");
        }
        for variant in [
            None,
            Some("freethreaded"),
            Some("debug"),
            Some("freethreaded+debug"),
        ] {
            let mut entry = good();
            entry["variant"] = json!(variant);
            entry["arch"]["variant"] = json!("v3");
            assert_eq!(read("k", &raw(entry)).unwrap().skipped_by_uv(), None);
        }
    }

    #[test]
    fn old_forms_are_read_and_written_in_the_current_form() {
        let mut old = good();
        old["arch"] = serde_json::json!("aarch64");
        old["os"] = serde_json::json!("macos");
        let raw = raw(old);
        let entry = read("k", &raw).unwrap();
        assert_eq!(entry.skipped_by_uv(), None);
        let mut out = b"{".to_vec();
        write(&mut out, "k", &raw, &entry, "https://m.example/f");
        out.push(b'}');
        let back: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            back["k"]["arch"],
            serde_json::json!({"family": "aarch64", "variant": null})
        );
        assert_eq!(back["k"]["os"], "darwin");
        assert_eq!(back["k"]["url"], "https://m.example/f");
        assert_eq!(back["k"]["libc"], "gnu");
    }

    #[test]
    fn not_an_object_and_a_duplicate_field_are_problems() {
        let five = RawValue::from_string("5".into()).unwrap();
        assert_eq!(read("k", &five).unwrap_err().field, "(entry)");
        let twice = RawValue::from_string(r#"{"url": "a", "url": "b"}"#.into()).unwrap();
        let problem = read("k", &twice).unwrap_err();
        assert!(
            problem.problem.contains("duplicate field `url`"),
            "{problem:?}"
        );
        assert_eq!(read(" ", &raw(good())).unwrap_err().field, "(key)");
    }

    #[test]
    fn written_back_with_the_new_url_and_everything_else_as_it_came() {
        let text = r#"{"future": {"a": [1, 2.50]}, "url": "x", "name": "cpython"}"#;
        let entry = RawValue::from_string(text.into()).unwrap();
        let read = read("k", &raw(good())).unwrap();
        let mut out = Vec::new();
        write(&mut out, "k\"ey", &entry, &read, "https://m.example/a\"b");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#""k\"ey":{"future":{"a": [1, 2.50]},"url":"https://m.example/a\"b","name":"cpython"}"#
        );
    }
}
