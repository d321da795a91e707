//! The mirror's side of signed metadata: `mirror keygen`, the signature
//! `mirror sync --sign` writes beside the metadata, and the check of
//! `mirror verify --trusted-key`. The keys and signatures themselves are
//! [`crate::signature`]'s.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::args::{KeygenArgs, UsageError};
use crate::signature::{self, SigningKey, TrustedKey};
use crate::urls::{METADATA_FILE, SIGNATURE_FILE};

/// Runs `mirror keygen`: writes the pair and prints the public key string.
pub fn keygen(args: &KeygenArgs) -> anyhow::Result<ExitCode> {
    let public = signature::generate(&args.out, args.password_file.as_deref())?;
    let pub_path = signature::public_key_path(&args.out);
    let pub_text = std::fs::read_to_string(&pub_path)
        .with_context(|| format!("cannot read back {}", pub_path.display()))?;
    println!(
        "secret key: {} ({})",
        args.out.display(),
        if args.password_file.is_some() {
            "encrypted with the password file"
        } else {
            "unencrypted: keep it off the mirror host and readable by the signer only"
        }
    );
    println!(
        "public key: {} (key id {})",
        pub_path.display(),
        public.id()
    );
    println!(
        "trust it in the system config: trusted-keys = [\"{}\"]",
        pub_text.lines().last().unwrap_or_default().trim()
    );
    Ok(ExitCode::SUCCESS)
}

/// Loads `--sign KEYFILE [--password-file F]` before a sync starts, so a
/// wrong key or password fails at once, not after the downloads.
pub fn load_key(key: &Path, password_file: Option<&Path>) -> Result<SigningKey, UsageError> {
    SigningKey::load(key, password_file).map_err(|err| UsageError(format!("--sign: {err}")))
}

/// Signs `body`, the metadata about to be published in `dest`. Signing
/// comes before any write so that [`publish_signature`] can follow the
/// metadata's rename at once: the two renames are the only moment a
/// client can read a pair that does not match (and the shim then fetches
/// the pair again).
pub fn sign_metadata(key: &SigningKey, body: &[u8]) -> anyhow::Result<String> {
    Ok(key.sign(body, METADATA_FILE)?)
}

/// Writes `signature` (from [`sign_metadata`]) beside the metadata in
/// `dest`, with the mode the umask gives, like every mirror file. Called
/// right after the metadata is in place: a client reads the metadata
/// first and its signature next, so metadata-then-signature leaves a
/// mismatch only to a client whose two reads both fall between the
/// renames, where the reverse order would catch every client that read
/// the metadata before and the signature after.
pub fn publish_signature(dest: &Path, key_id: &str, signature: &str) -> anyhow::Result<()> {
    let sig = dest.join(SIGNATURE_FILE);
    crate::fsutil::write_public(&sig, signature.as_bytes())
        .with_context(|| format!("cannot write {}", sig.display()))?;
    println!("signed {SIGNATURE_FILE} with key {key_id}");
    Ok(())
}

/// Removes the signature of the old metadata after new metadata was
/// published unsigned: a signature never stays beside metadata it does not
/// sign (an export would carry it across the gap as if it did). Clients
/// with `trusted-keys` now refuse the mirror and keep their last good copy,
/// so the admin hears of it; `fix` names what signs the mirror again.
pub fn drop_stale_signature(dest: &Path, fix: &str) -> anyhow::Result<()> {
    let sig = dest.join(SIGNATURE_FILE);
    match std::fs::remove_file(&sig) {
        Ok(()) => {
            eprintln!(
                "uv-shim: warning: the metadata changed but was not signed: removed {SIGNATURE_FILE}, which signed the old metadata; clients with `trusted-keys` keep their last good copy until {fix}"
            );
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove the stale {}", sig.display())),
    }
}

/// Parses `--trusted-key` values: each a public key string, or the path of
/// a `.pub` file (its last line).
pub fn trusted_keys(values: &[String]) -> Result<Vec<TrustedKey>, UsageError> {
    values
        .iter()
        .map(|value| {
            let text = match std::fs::read_to_string(value) {
                Ok(file) => file.lines().last().unwrap_or_default().to_string(),
                Err(_) => value.clone(),
            };
            TrustedKey::parse(&text).map_err(|err| UsageError(format!("--trusted-key: {err}")))
        })
        .collect()
}

/// `mirror verify --trusted-key`: the signature of the metadata in `dest`,
/// as a line of the report: `Ok` names the key that signed it, `Err` the problem.
pub fn check(dest: &Path, keys: &[TrustedKey]) -> Result<String, String> {
    let body = std::fs::read(dest.join(METADATA_FILE))
        .map_err(|err| format!("unsigned {METADATA_FILE}: cannot read it: {err}"))?;
    let sig = match std::fs::read(dest.join(SIGNATURE_FILE)) {
        Ok(sig) => sig,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!(
                "unsigned {METADATA_FILE}: there is no {SIGNATURE_FILE} (sign with `mirror sync --sign KEYFILE`)"
            ));
        }
        Err(err) => return Err(format!("unsigned cannot read {SIGNATURE_FILE}: {err}")),
    };
    match signature::verify(keys, &body, &sig) {
        Ok(id) => Ok(format!("signed   {METADATA_FILE}: by trusted key {id}")),
        Err(err) => Err(format!("badsig   {SIGNATURE_FILE}: {err}")),
    }
}
