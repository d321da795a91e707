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

/// Fetches the signature of `body` (the document from `source`) and checks
/// it against `keys` (public key strings, already checked when the config
/// was read); returns the id of the key that signed it, or why not.
pub fn check(
    source: &Url,
    body: &[u8],
    keys: &[String],
    attempt: &Attempt,
    budget: &Budget,
    access: Access,
) -> Result<String, String> {
    let trusted: Vec<TrustedKey> = keys
        .iter()
        .map(|k| TrustedKey::parse(k).map_err(|e| format!("`trusted-keys`: {e}")))
        .collect::<Result<_, _>>()?;
    let url = signature_url(source);
    let shown = crate::redact::url(source.as_str());
    // The signature shares the document's share of the budget.
    let within = Attempt {
        limit: attempt.limit.min(budget.remaining()),
        stated: attempt.stated.clone(),
    };
    let sig = match fetch::fetch_within(&url, &Validators::default(), &within, access) {
        Ok(Fetched::Body { body, .. }) => body,
        Ok(Fetched::NotModified) => {
            return Err(format!(
                "{} answered 304 Not Modified to a request without validators",
                crate::redact::url(url.as_str())
            ));
        }
        Err(err) => {
            return Err(format!(
                "{shown} is not used: `trusted-keys` asks for its signature, and {err}"
            ));
        }
    };
    signature::verify(&trusted, body, &sig).map_err(|err| format!("{shown} is not used: {err}"))
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
