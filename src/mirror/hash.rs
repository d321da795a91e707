//! sha256 of files and streams, read through one fixed-size buffer, and the
//! crate's one lowercase-hex helper.
//!
//! Every other mirror module hashes through here, so this module imports
//! none of them.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::fsutil::hex;

/// Size of the read buffer when hashing or copying a download; large enough
/// for full disk speed, small enough to not matter.
pub const BUFFER: usize = 256 * 1024;

/// Hashes a file, calling `stop` between blocks (`true` aborts with `Interrupted`).
pub fn hash_file(path: &Path, stop: &dyn Fn() -> bool) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    hash_into(&mut file, u64::MAX, &mut hasher, stop)?;
    Ok(hex(&hasher.finalize()))
}

/// Feeds up to `limit` bytes of `reader` into `hasher`; returns how many were read.
pub fn hash_into(
    reader: &mut dyn Read,
    limit: u64,
    hasher: &mut Sha256,
    stop: &dyn Fn() -> bool,
) -> std::io::Result<u64> {
    let mut buf = vec![0u8; BUFFER];
    let mut total = 0u64;
    while total < limit {
        if stop() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Interrupted,
                "interrupted",
            ));
        }
        let want = (limit - total).min(BUFFER as u64) as usize;
        let n = match reader.read(&mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_interrupts_hashing() {
        let mut hasher = Sha256::new();
        let err = hash_into(&mut &b"abc"[..], u64::MAX, &mut hasher, &|| true).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::Interrupted);
    }
}
