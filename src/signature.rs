//! Signed metadata: minisign keys, signatures and their checks, in the
//! formats of the `minisign` tool so an administrator can make, sign and
//! check with either.
//!
//! One place for every use: `mirror keygen` ([`generate`]), `mirror sync
//! --sign` ([`SigningKey::load`], [`SigningKey::sign`]), `mirror verify
//! --trusted-key` and the shim's fetch with `trusted-keys`
//! ([`TrustedKey::parse`], [`verify`]); `mirror export --sign` and `mirror
//! import --trusted-key` call the same functions. Nothing here prompts: a
//! password comes from a file or there is none. Never on the warm path.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use minisign::{PublicKey, PublicKeyBox, SecretKey, SecretKeyBox, SignatureBox};

/// The suffix of a signature beside the file it signs (`<metadata-url>.minisig`).
pub const SIGNATURE_SUFFIX: &str = ".minisig";

/// Why a key could not be made or read, or a signature made or accepted.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    /// A public key string that is not one.
    #[error(
        "`{text}` is not a minisign public key ({why}); give the last line of the KEYFILE.pub that `uv-shim mirror keygen` or `minisign -G` wrote"
    )]
    BadPublicKey {
        /// What was given (a public key is no secret).
        text: String,
        /// What the parser said.
        why: String,
    },
    /// A secret key file that cannot be used.
    #[error("cannot use the secret key {}: {why}", path.display())]
    BadSecretKey {
        /// The key file.
        path: PathBuf,
        /// What went wrong.
        why: String,
    },
    /// A file that cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Not a minisign signature at all.
    #[error("the signature is not a minisign signature ({0})")]
    Malformed(String),
    /// Signed with a key that is not trusted.
    #[error(
        "the signature was made with key {signed_by}, which is not a trusted key (trusted: {trusted})"
    )]
    UnknownKey {
        /// The key id in the signature.
        signed_by: String,
        /// The trusted key ids.
        trusted: String,
    },
    /// The signature does not match the data.
    #[error("the signature made with key {key_id} does not match the document ({why})")]
    Mismatch {
        /// The key id.
        key_id: String,
        /// What the check said.
        why: String,
    },
    /// Signing failed.
    #[error("cannot sign: {0}")]
    Sign(String),
}

/// A key id as minisign shows it: 16 upper-case hex digits.
fn key_id(keynum: &[u8]) -> String {
    let mut bytes = [0u8; 8];
    let n = keynum.len().min(8);
    bytes[..n].copy_from_slice(&keynum[..n]);
    format!("{:016X}", u64::from_le_bytes(bytes))
}

/// A public key the signatures must come from.
#[derive(Clone)]
pub struct TrustedKey {
    key: PublicKey,
    id: String,
}

impl std::fmt::Debug for TrustedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrustedKey({})", self.id)
    }
}

impl TrustedKey {
    /// Parses a public key string (`RWQ…`, the last line of a `.pub`
    /// file); surrounding blanks are ignored.
    pub fn parse(text: &str) -> Result<TrustedKey, SignatureError> {
        let text = text.trim();
        let key = PublicKey::from_base64(text).map_err(|err| SignatureError::BadPublicKey {
            text: text.to_string(),
            why: err.to_string(),
        })?;
        let id = key_id(key.keynum());
        Ok(TrustedKey { key, id })
    }

    /// The key id, as minisign shows it.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Checks `signature` (the text of a `.minisig` file) over `data` against
/// the trusted keys; returns the id of the key that made it. Only
/// pre-hashed signatures (what minisign makes by default since 0.8) count.
pub fn verify(
    keys: &[TrustedKey],
    data: &[u8],
    signature: &[u8],
) -> Result<String, SignatureError> {
    let text =
        std::str::from_utf8(signature).map_err(|_| SignatureError::Malformed("not text".into()))?;
    let sig = SignatureBox::from_string(text)
        .map_err(|err| SignatureError::Malformed(err.to_string()))?;
    let signed_by = key_id(sig.keynum());
    let Some(key) = keys.iter().find(|k| k.id == signed_by) else {
        return Err(SignatureError::UnknownKey {
            signed_by,
            trusted: keys
                .iter()
                .map(|k| k.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    minisign::verify(&key.key, &sig, Cursor::new(data), true, false, false).map_err(|err| {
        SignatureError::Mismatch {
            key_id: signed_by.clone(),
            why: err.to_string(),
        }
    })?;
    Ok(signed_by)
}

/// Reads the password of a secret key: the file's first line.
fn read_password(file: &Path) -> Result<String, SignatureError> {
    let text = std::fs::read_to_string(file).map_err(|source| SignatureError::Io {
        path: file.to_path_buf(),
        source,
    })?;
    let password = text.lines().next().unwrap_or_default();
    if password.is_empty() {
        // An empty password would encrypt with nothing while looking protected.
        return Err(SignatureError::Io {
            path: file.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the password file's first line is empty; it must hold the password",
            ),
        });
    }
    Ok(password.to_string())
}

/// Makes a key pair: `out` (the secret key, 0600, never overwritten) and
/// `out.pub` (the public key); encrypted with the first line of
/// `password_file` when given. Returns the public key.
pub fn generate(out: &Path, password_file: Option<&Path>) -> Result<TrustedKey, SignatureError> {
    let pub_path = public_key_path(out);
    for path in [out, pub_path.as_path()] {
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(SignatureError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "already exists; a key is never overwritten (move it away, or choose another --out)",
                ),
            });
        }
    }
    let pair = match password_file {
        Some(file) => minisign::KeyPair::generate_encrypted_keypair(Some(read_password(file)?)),
        None => minisign::KeyPair::generate_unencrypted_keypair(),
    }
    .map_err(|err| SignatureError::Sign(err.to_string()))?;
    let id = key_id(pair.pk.keynum());
    let sk_text = pair
        .sk
        .to_box(Some(&format!("uv-shim secret key {id}")))
        .map_err(|err| SignatureError::Sign(err.to_string()))?
        .into_string();
    let pk_text = pair
        .pk
        .to_box()
        .map_err(|err| SignatureError::Sign(err.to_string()))?
        .into_string();
    write_new_private(out, sk_text.as_bytes())?;
    crate::fsutil::write_public(&pub_path, pk_text.as_bytes()).map_err(|source| {
        SignatureError::Io {
            path: pub_path.clone(),
            source,
        }
    })?;
    Ok(TrustedKey { key: pair.pk, id })
}

/// `KEYFILE.pub`.
pub fn public_key_path(secret: &Path) -> PathBuf {
    let mut name = secret.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Creates `path` (it must not exist) readable by its owner only.
fn write_new_private(path: &Path, bytes: &[u8]) -> Result<(), SignatureError> {
    let io = |source| SignatureError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

/// An unencrypted secret key as `minisign -G -W` (0.11) writes it: its
/// checksum field is left zero, which the minisign crate takes for damage.
/// The key is used as it is; [`SigningKey::sign`] checks each signature
/// with the public key beside it when there is one.
fn tool_unencrypted(text: &str) -> Option<SecretKey> {
    use ct_codecs::Decoder;
    let line = text.lines().nth(1)?.trim();
    let bytes = ct_codecs::Base64::decode_to_vec(line, None).ok()?;
    // sig_alg (2) kdf_alg (2) chk_alg (2) salt (32) ops (8) mem (8) keynum (8) sk (64) chk (32)
    let unencrypted = bytes.len() == 158 && bytes[2..4] == [0, 0];
    let zero_checksum = bytes.get(126..)?.iter().all(|&b| b == 0);
    if !(unencrypted && zero_checksum) {
        return None;
    }
    SecretKey::from_bytes(&bytes).ok()
}

/// A secret key, ready to sign.
pub struct SigningKey {
    key: SecretKey,
    /// The public key beside it, when it could be read: each signature is
    /// checked with it before it is written.
    public: Option<PublicKey>,
    id: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.id)
    }
}

impl SigningKey {
    /// Reads the secret key `path` (written by `mirror keygen` or
    /// `minisign -G`), decrypted with the first line of `password_file`.
    /// An encrypted key without a password file is an error, not a prompt.
    pub fn load(path: &Path, password_file: Option<&Path>) -> Result<SigningKey, SignatureError> {
        let bad = |why: String| SignatureError::BadSecretKey {
            path: path.to_path_buf(),
            why,
        };
        let text = std::fs::read_to_string(path).map_err(|source| SignatureError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let sk_box = SecretKeyBox::from_string(&text).map_err(|e| bad(e.to_string()))?;
        let key = match password_file {
            Some(file) => SecretKey::from_box(sk_box, Some(read_password(file)?)),
            None => SecretKey::from_unencrypted_box(sk_box)
                .or_else(|err| tool_unencrypted(&text).ok_or(err)),
        }
        .map_err(|err| {
            if password_file.is_none() {
                bad(format!(
                    "{err}; an encrypted key needs --password-file (nothing is ever prompted)"
                ))
            } else {
                bad(err.to_string())
            }
        })?;
        let id = key_id(key.keynum());
        let public = std::fs::read_to_string(public_key_path(path))
            .ok()
            .and_then(|t| PublicKeyBox::from_string(&t).ok())
            .and_then(|b| b.into_public_key().ok())
            .filter(|pk| key_id(pk.keynum()) == id);
        Ok(SigningKey { key, public, id })
    }

    /// The key id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Signs `data` (the file `name`) and returns the `.minisig` text, with
    /// the trusted comment the `minisign` tool writes.
    pub fn sign(&self, data: &[u8], name: &str) -> Result<String, SignatureError> {
        let comment = format!(
            "timestamp:{}\tfile:{name}\thashed",
            crate::fsutil::now_secs()
        );
        let sig = minisign::sign(
            self.public.as_ref(),
            &self.key,
            Cursor::new(data),
            Some(&comment),
            Some("signature from uv-shim secret key"),
        )
        .map_err(|err| SignatureError::Sign(err.to_string()))?;
        Ok(sig.into_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sign_and_verify_and_refuse_what_they_must() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k");
        let public = generate(&out, None).unwrap();
        let pub_text = std::fs::read_to_string(public_key_path(&out)).unwrap();
        // The last line of .pub is the key string.
        let last = pub_text.lines().last().unwrap();
        assert_eq!(TrustedKey::parse(last).unwrap().id(), public.id());
        assert!(generate(&out, None).is_err(), "a key is never overwritten");

        let key = SigningKey::load(&out, None).unwrap();
        assert_eq!(key.id(), public.id());
        let sig = key.sign(b"{}", "download-metadata.json").unwrap();
        let keys = vec![public.clone()];
        assert_eq!(verify(&keys, b"{}", sig.as_bytes()).unwrap(), public.id());
        assert!(matches!(
            verify(&keys, b"{ }", sig.as_bytes()),
            Err(SignatureError::Mismatch { .. })
        ));
        assert!(matches!(
            verify(&keys, b"{}", b"garbage"),
            Err(SignatureError::Malformed(_))
        ));
        let other = generate(&dir.path().join("other"), None).unwrap();
        let err = verify(&[other], b"{}", sig.as_bytes()).unwrap_err();
        assert!(matches!(err, SignatureError::UnknownKey { .. }), "{err}");
        assert!(TrustedKey::parse("RWQnope").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn an_encrypted_key_needs_its_password_file_and_the_secret_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("k");
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "\n").unwrap();
        let err = generate(&out, Some(&pw)).unwrap_err().to_string();
        assert!(err.contains("first line is empty"), "{err}");
        std::fs::write(&pw, "correct horse\n").unwrap();
        generate(&out, Some(&pw)).unwrap();
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
        let err = SigningKey::load(&out, None).err().unwrap().to_string();
        assert!(err.contains("--password-file"), "{err}");
        std::fs::write(&pw, "wrong\n").unwrap();
        assert!(SigningKey::load(&out, Some(&pw)).is_err());
        std::fs::write(&pw, "correct horse\n").unwrap();
        SigningKey::load(&out, Some(&pw)).unwrap();
    }
}
