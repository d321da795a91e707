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

/// Signs the metadata in `dest` as written and writes the signature beside
/// it (with the mode the umask gives, like every mirror file).
pub fn sign_metadata(dest: &Path, key: &SigningKey) -> anyhow::Result<()> {
    let path = dest.join(METADATA_FILE);
    let body = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let text = key.sign(&body, METADATA_FILE)?;
    let sig = dest.join(SIGNATURE_FILE);
    crate::fsutil::write_public(&sig, text.as_bytes())
        .with_context(|| format!("cannot write {}", sig.display()))?;
    println!("signed {SIGNATURE_FILE} with key {}", key.id());
    Ok(())
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
