//! `--for-uv VERSION`: the builds an old uv's built-in list names. uv before
//! 0.6.13 cannot be handed a list; it asks the mirror for exactly the paths
//! of its own list, so the mirror must hold those very builds besides the
//! newest ones.
//!
//! Old lists are read in their own format and upgraded first: before
//! 2024-12-10 uv wrote `arch` as a plain string, and earlier `os = "macos"`.

use std::time::Duration;

use anyhow::Context;
use serde_json::{Map, Value};
use url::Url;

use super::options::SyncOptions;
use crate::mirror::entry::{self, Download};
use crate::mirror::select;

/// The downloads that the built-in lists of `--for-uv` name and the filters
/// take, each list's in its order, tagged with the uv version that asked.
pub fn read_lists(s: &SyncOptions) -> anyhow::Result<Vec<(String, Download)>> {
    let mut taken = Vec::new();
    for (version, url) in &s.for_uv {
        let shown = crate::redact::url(url.as_str());
        let body = fetch(s, url)
            .with_context(|| format!("cannot read the built-in list of uv {version} ({shown})"))?;
        let upgraded = upgrade(&body)
            .with_context(|| format!("the built-in list of uv {version} ({shown})"))?;
        // The validation error names the URL already.
        let all = entry::parse_document(&upgraded, url)
            .with_context(|| format!("the built-in list of uv {version}"))?;
        let picked = select::select(&all, &s.filters);
        if picked.is_empty() {
            anyhow::bail!(
                "no download in the built-in list of uv {version} ({shown}) matches the filters ({} entries; {})",
                all.len(),
                select::offered(&all)
            );
        }
        let mut picked = picked.into_iter().peekable();
        for (i, download) in all.into_iter().enumerate() {
            if picked.next_if_eq(&i).is_some() {
                taken.push((version.clone(), download));
            }
        }
    }
    Ok(taken)
}

fn fetch(s: &SyncOptions, url: &Url) -> anyhow::Result<Vec<u8>> {
    let access = crate::metadata::fetch::Access {
        auth: &s.auth,
        probe: None,
    };
    match crate::metadata::fetch::fetch(
        url,
        &Default::default(),
        s.timeout.max(Duration::from_secs(30)),
        access,
    )? {
        crate::metadata::fetch::Fetched::Body { body, .. } => Ok(body),
        crate::metadata::fetch::Fetched::NotModified => {
            anyhow::bail!("it answered 304 to an unconditional request")
        }
    }
}

/// A list in any format some uv wrote, in the current one: `arch` as an
/// object (`{"family", "variant"}`), `os = "darwin"` for `macos`. Anything
/// that is not an object of entries is left for validation to refuse.
pub fn upgrade(body: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut document: Value = serde_json::from_slice(body).context("not JSON")?;
    let Some(entries) = document.as_object_mut() else {
        return Ok(body.to_vec());
    };
    let mut changed = false;
    for entry in entries.values_mut() {
        let Some(entry) = entry.as_object_mut() else {
            continue;
        };
        changed |= upgrade_entry(entry);
    }
    if !changed {
        return Ok(body.to_vec());
    }
    Ok(serde_json::to_vec(&document).expect("a JSON value serializes"))
}

/// Upgrades one entry in place; whether anything changed.
fn upgrade_entry(entry: &mut Map<String, Value>) -> bool {
    let mut changed = false;
    if let Some(Value::String(arch)) = entry.get("arch") {
        // Old lists spelled levels into the name (`x86_64_v3`), as uv's
        // own parser of that time read them.
        let (family, variant) = match arch.split_once("_v") {
            Some((family, level)) if level.bytes().all(|b| b.is_ascii_digit()) => {
                (family.to_string(), Value::String(format!("v{level}")))
            }
            _ => (arch.clone(), Value::Null),
        };
        let mut object = Map::new();
        object.insert("family".into(), Value::String(family));
        object.insert("variant".into(), variant);
        entry.insert("arch".into(), Value::Object(object));
        changed = true;
    }
    if entry.get("os").and_then(Value::as_str) == Some("macos") {
        entry.insert("os".into(), Value::String("darwin".into()));
        changed = true;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_entries_are_upgraded_to_the_current_form() {
        let old = br#"{"cpython-3.12.1-macos-x86_64_v3-none": {"name": "cpython", "arch": "x86_64_v3", "os": "macos"},
                       "cpython-3.12.1-linux-aarch64-gnu": {"name": "cpython", "arch": "aarch64", "os": "linux"}}"#;
        let new: Value = serde_json::from_slice(&upgrade(old).unwrap()).unwrap();
        let first = &new["cpython-3.12.1-macos-x86_64_v3-none"];
        assert_eq!(first["arch"]["family"], "x86_64");
        assert_eq!(first["arch"]["variant"], "v3");
        assert_eq!(first["os"], "darwin");
        let second = &new["cpython-3.12.1-linux-aarch64-gnu"];
        assert_eq!(second["arch"]["family"], "aarch64");
        assert!(second["arch"]["variant"].is_null());
        assert_eq!(second["os"], "linux");
    }

    #[test]
    fn current_lists_pass_unchanged() {
        let body = br#"{"k": {"arch": {"family": "x86_64", "variant": null}, "os": "linux"}}"#;
        assert_eq!(upgrade(body).unwrap(), body.to_vec());
        assert_eq!(upgrade(b"[1]").unwrap(), b"[1]".to_vec());
        assert!(upgrade(b"{").is_err());
    }
}
