//! File-system helpers every part of the shim shares: atomic writes (private
//! for the cache, [`public`] for the mirror), file locks, the clock, stable
//! short names, opening without following links ([`no_follow`]), and the two
//! small building blocks of every file the shim
//! keeps ([`stamp`] and [`record`]).

pub mod atomic;
pub mod lock;
pub mod no_follow;
pub mod private;
pub mod public;
pub mod record;
pub mod stamp;

use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

pub use lock::{Lock, lock, lock_private};
pub use public::write_public;
pub use record::Record;
pub use stamp::FileStamp;

/// Lower-case hex of `bytes`: the one hex encoder of the crate.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// A short stable file name for any identity string (20 hex digits of its sha256).
pub fn key(identity: &str) -> String {
    hex(&Sha256::digest(identity.as_bytes())[..10])
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_key() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(hex(&[]), "");
        assert_eq!(key("x").len(), 20);
        assert_ne!(key("x"), key("y"));
    }
}
