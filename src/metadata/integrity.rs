//! Is the cached copy still the document that was validated?
//!
//! The state record keeps the size and the sha256 of the JSON as it was
//! written. Every call that runs the full pipeline checks both before the
//! copy counts as a copy (so do a 304, which confirms only what the server
//! has, and `refresh`): a flipped byte, a file replaced by a link, a copy
//! edited by hand, all make it "no copy", which is fetched again in full.
//! Reading 3 MB costs about as much as the full pipeline's other work; the
//! warm path never hashes, it compares the file's stamp with the one the
//! full pipeline recorded after this check.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::store::State;

/// sha256 of `bytes`, lower-case hex, as the state records it.
pub fn sha256(bytes: &[u8]) -> String {
    crate::fsutil::hex(&Sha256::digest(bytes))
}

/// `Ok` when `json` is the copy `state` vouches for; else why not, for the
/// messages (the caller names the file).
pub fn check(json: &Path, state: &State) -> Result<(), String> {
    if !state.has_copy() {
        return Err("no copy was recorded".into());
    }
    let Some(want) = &state.sha256 else {
        return Err("its sha256 was not recorded".into());
    };
    let mut file = crate::fsutil::private::open(json).map_err(|err| err.to_string())?;
    let meta = file.metadata().map_err(|err| err.to_string())?;
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    if meta.len() != state.size {
        return Err(format!(
            "its size changed from {} to {} bytes",
            state.size,
            meta.len()
        ));
    }
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(|err| err.to_string())?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let got = crate::fsutil::hex(&hasher.finalize());
    if &got != want {
        crate::log::debug(|| format!("{}: sha256 {got}, validated {want}", json.display()));
        return Err("its content changed since it was validated (sha256 mismatch)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorded(bytes: &[u8]) -> State {
        State {
            fetched: 1,
            size: bytes.len() as u64,
            sha256: Some(sha256(bytes)),
            ..State::default()
        }
    }

    #[test]
    fn same_size_changes_and_links_are_caught() {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("copy.json");
        let good = br#"{"cpython-3.12.0": {}}"#;
        std::fs::write(&json, good).unwrap();
        let state = recorded(good);
        assert_eq!(check(&json, &state), Ok(()));

        // One byte flipped, size kept.
        std::fs::write(&json, br#"{"cpython-3.12.1": {}}"#).unwrap();
        let err = check(&json, &state).unwrap_err();
        assert!(err.contains("changed since it was validated"), "{err}");

        std::fs::write(&json, br#"{}"#).unwrap();
        assert!(check(&json, &state).unwrap_err().contains("size changed"));

        // The same bytes behind a link are not trusted either.
        #[cfg(unix)]
        {
            let real = dir.path().join("elsewhere.json");
            std::fs::write(&real, good).unwrap();
            std::fs::remove_file(&json).unwrap();
            std::os::unix::fs::symlink(&real, &json).unwrap();
            let err = check(&json, &state).unwrap_err();
            assert!(err.contains("symbolic link"), "{err}");
        }

        // A state without a hash (or without a copy) vouches for nothing.
        let old = State {
            sha256: None,
            ..recorded(good)
        };
        assert!(check(&json, &old).is_err());
        assert!(check(&json, &State::default()).is_err());
    }
}
