//! `trusted-keys`: the signature that must come with a fetched document.
//! Asked for only when a new body arrived (a 304 or an unchanged `file`
//! source confirms a copy that was checked when it came), and checked
//! before the body is validated: a document without a good signature is a
//! bad answer like any other, and never replaces the good copy.

use url::Url;

use super::fetch::{self, Access, Fetched, Validators};
use crate::budget::{Attempt, Budget};
use crate::signature::{self, TrustedKey};

/// `<metadata-url>.minisig`: where the signature of `source` is.
pub fn signature_url(source: &Url) -> Url {
    let mut url = source.clone();
    url.set_path(&format!("{}{}", source.path(), signature::SIGNATURE_SUFFIX));
    url
}

/// A fetched document whose signature checked out.
#[derive(Debug)]
pub struct Verified {
    /// The document (a second fetch's, when the first pair did not match).
    pub body: Vec<u8>,
    /// Its validators, for the next revalidation.
    pub validators: Validators,
    /// The id of the key that signed it.
    pub signed_by: String,
}

/// Fetches the signature of `body` (the document from `source`) and checks
/// it against `keys` (public key strings, already checked when the config
/// was read); returns the document that verified, or why none did.
///
/// A mirror publishes the document and its signature in two renames, so a
/// client can read one from before and one from after a publish; such a
/// pair is fetched again once, if the budget has time left, before the
/// answer counts as bad.
pub fn check(
    source: &Url,
    fetched: (Vec<u8>, Validators),
    keys: &[String],
    attempt: &Attempt,
    budget: &Budget,
    access: Access,
) -> Result<Verified, String> {
    let trusted: Vec<TrustedKey> = keys
        .iter()
        .map(|k| TrustedKey::parse(k).map_err(|e| format!("`trusted-keys`: {e}")))
        .collect::<Result<_, _>>()?;
    let shown = crate::redact::url(source.as_str());
    // The signature (and a second pair) share the document's share of the budget.
    let within = || Attempt {
        limit: attempt.limit.min(budget.remaining()),
        stated: attempt.stated.clone(),
    };
    let (body, validators) = fetched;
    let sig = fetch_signature(source, &within(), access)?;
    let first = match signature::verify(&trusted, &body, &sig) {
        Ok(signed_by) => {
            return Ok(Verified {
                body,
                validators,
                signed_by,
            });
        }
        Err(err) => format!("{shown} is not used: {err}"),
    };
    if budget.remaining().is_zero() {
        return Err(first);
    }
    crate::log::debug(|| format!("{first}; fetching the document and its signature once more"));
    drop(body);
    let (body, validators) =
        match fetch::fetch_within(source, &Validators::default(), &within(), access) {
            Ok(Fetched::Body { body, validators }) => (body, validators),
            Ok(Fetched::NotModified) => return Err(first),
            Err(err) => return Err(format!("{first} (and fetching it again failed: {err})")),
        };
    let sig = fetch_signature(source, &within(), access)?;
    match signature::verify(&trusted, &body, &sig) {
        Ok(signed_by) => Ok(Verified {
            body,
            validators,
            signed_by,
        }),
        Err(err) => Err(format!("{shown} is not used: {err}")),
    }
}

/// The bytes of the signature of `source`, or why not.
fn fetch_signature(source: &Url, within: &Attempt, access: Access) -> Result<Vec<u8>, String> {
    let url = signature_url(source);
    match fetch::fetch_within(&url, &Validators::default(), within, access) {
        Ok(Fetched::Body { body, .. }) => Ok(body),
        Ok(Fetched::NotModified) => Err(format!(
            "{} answered 304 Not Modified to a request without validators",
            crate::redact::url(url.as_str())
        )),
        Err(err) => Err(format!(
            "{} is not used: `trusted-keys` asks for its signature, and {err}",
            crate::redact::url(source.as_str())
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_sits_beside_the_document() {
        let url = Url::parse("https://m.example/uv/download-metadata.json").unwrap();
        assert_eq!(
            signature_url(&url).as_str(),
            "https://m.example/uv/download-metadata.json.minisig"
        );
    }
}
