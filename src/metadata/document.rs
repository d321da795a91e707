//! Reading a metadata document one entry at a time.
//!
//! The top level of `download-metadata.json` is one object of entries. It is
//! walked with serde, and each entry is handed on as the raw JSON text it
//! came as (a slice of the body, nothing copied), so whatever validates it
//! holds one entry at a time: memory stays a small multiple of the body
//! whatever its shape. A tree of `serde_json::Value`s for the whole body
//! would cost 30 times the body for an array of small numbers, which a
//! 64 MiB answer could hold.

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde_json::value::RawValue;

/// Why a document could not be walked.
#[derive(Debug)]
pub enum WalkError<E> {
    /// The body is not JSON (serde's message, with line and column).
    NotJson(String),
    /// The top level is not an object: what it is instead.
    WrongShape(&'static str),
    /// The callback refused an entry.
    Refused(E),
}

/// What the first byte of a JSON value says it is, for messages.
pub fn kind_of(raw: &[u8]) -> &'static str {
    match raw.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        Some(_) => "a number",
        None => "nothing",
    }
}

/// Calls `each` with the key and the raw text of every entry of the
/// document's top-level object, in order; returns how many there were.
/// Stops at the first entry `each` refuses.
pub fn for_each_entry<'a, E>(
    body: &'a [u8],
    each: impl FnMut(String, &'a RawValue) -> Result<(), E>,
) -> Result<usize, WalkError<E>> {
    let kind = kind_of(body);
    // Anything but an object is named as what it is; an object with a
    // syntax error is left to the parser, which says where.
    if kind != "an object" && serde_json::from_slice::<de::IgnoredAny>(body).is_ok() {
        return Err(WalkError::WrongShape(kind));
    }
    let mut refused = None;
    let mut de = serde_json::Deserializer::from_slice(body);
    let walked = Entries {
        each,
        refused: &mut refused,
    }
    .deserialize(&mut de)
    .and_then(|count| de.end().map(|()| count));
    match (walked, refused) {
        (_, Some(err)) => Err(WalkError::Refused(err)),
        (Ok(count), None) => Ok(count),
        (Err(err), None) => Err(WalkError::NotJson(err.to_string())),
    }
}

/// The top-level object, visited entry by entry.
struct Entries<'r, F, E> {
    each: F,
    refused: &'r mut Option<E>,
}

impl<'de, F, E> DeserializeSeed<'de> for Entries<'_, F, E>
where
    F: FnMut(String, &'de RawValue) -> Result<(), E>,
{
    type Value = usize;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, F, E> Visitor<'de> for Entries<'_, F, E>
where
    F: FnMut(String, &'de RawValue) -> Result<(), E>,
{
    type Value = usize;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object of download entries")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<usize, A::Error> {
        let mut count = 0;
        while let Some(key) = map.next_key::<String>()? {
            let raw: &'de RawValue = map.next_value()?;
            if let Err(err) = (self.each)(key, raw) {
                *self.refused = Some(err);
                // The message is never shown: `refused` is.
                return Err(de::Error::custom("entry refused"));
            }
            count += 1;
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(body: &str) -> Result<Vec<(String, String)>, WalkError<String>> {
        let mut seen = Vec::new();
        for_each_entry(body.as_bytes(), |key, raw| {
            if key == "refuse" {
                return Err(format!("refused {}", raw.get()));
            }
            seen.push((key, raw.get().to_string()));
            Ok(())
        })
        .map(|count| {
            assert_eq!(count, seen.len());
            seen
        })
    }

    #[test]
    fn entries_come_in_order_as_raw_text() {
        let seen = walk(r#" {"b": {"x": [1, 2]}, "a\u0041": 5 } "#).unwrap();
        assert_eq!(
            seen,
            [
                ("b".to_string(), r#"{"x": [1, 2]}"#.to_string()),
                ("aA".to_string(), "5".to_string())
            ]
        );
    }

    #[test]
    fn shapes_and_syntax_are_named() {
        assert!(matches!(
            walk("[1]"),
            Err(WalkError::WrongShape("an array"))
        ));
        assert!(matches!(walk("null"), Err(WalkError::WrongShape("null"))));
        match walk("{\"a\": 1,\n \"b\" 2}") {
            Err(WalkError::NotJson(detail)) => assert!(detail.contains("line 2"), "{detail}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(walk("{} {}"), Err(WalkError::NotJson(_))));
        assert!(matches!(walk("[1"), Err(WalkError::NotJson(_))));
    }

    #[test]
    fn a_refusal_stops_the_walk() {
        match walk(r#"{"a": 1, "refuse": [2], "c": 3}"#) {
            Err(WalkError::Refused(why)) => assert_eq!(why, "refused [2]"),
            other => panic!("{other:?}"),
        }
    }
}
