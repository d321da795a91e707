//! Trusting the same servers as uv, and learning which roots vouched for the
//! mirror.
//!
//! uv trusts the Mozilla roots it bundles (the `webpki-root-certs` crate)
//! unless told to read the platform's store (`UV_SYSTEM_CERTS`, before
//! 0.11.0 `UV_NATIVE_TLS`); a non-empty `SSL_CERT_FILE` or `SSL_CERT_DIR`
//! replaces either. The shim's metadata client trusts what uv trusts in one
//! mode or the other: the bundled roots or the platform store, or only the
//! `SSL_CERT_FILE` / `SSL_CERT_DIR` bundle when one is named (the platform
//! verifier then loads just that). While it fetches, a [`Probe`] notes which
//! of them vouched for each server it met. The state record keeps that as a
//! [`Trust`], and the decision (`decide.rs`) hands uv `UV_SYSTEM_CERTS` when
//! only the platform store did: otherwise the shim would fetch the metadata
//! and uv would then fail on the downloads with `UnknownIssuer`.
//!
//! Both root stores are loaded on the first handshake only, so a plain-http
//! or `file` fetch costs nothing here, and nothing here runs on a warm call.

use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// Which roots vouched for the mirror's certificate on the last fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trust {
    /// A root that uv bundles: uv trusts the mirror as it is.
    Bundled,
    /// The `SSL_CERT_FILE` / `SSL_CERT_DIR` bundle, which uv reads too.
    CertFile,
    /// Only the platform's certificate store, which uv reads only when told to.
    SystemStore,
}

impl Trust {
    /// The word in the state record.
    pub fn as_str(self) -> &'static str {
        match self {
            Trust::Bundled => "bundled",
            Trust::CertFile => "cert-file",
            Trust::SystemStore => "system",
        }
    }

    /// Reads [`Trust::as_str`] back.
    pub fn parse(word: &str) -> Option<Trust> {
        [Trust::Bundled, Trust::CertFile, Trust::SystemStore]
            .into_iter()
            .find(|t| t.as_str() == word)
    }

    /// For people: what vouched, as `doctor` says it.
    pub fn describe(self) -> &'static str {
        match self {
            Trust::Bundled => "issued under a root that uv bundles",
            Trust::CertFile => "trusted through the SSL_CERT_FILE / SSL_CERT_DIR bundle",
            Trust::SystemStore => {
                "trusted only through the system certificate store (no root that uv bundles)"
            }
        }
    }
}

/// Watches one fetch's TLS handshakes and remembers which roots vouched.
#[derive(Debug, Clone)]
pub struct Probe {
    /// `SSL_CERT_FILE` or `SSL_CERT_DIR` is set: trust only that bundle.
    cert_file: bool,
    /// The weakest trust seen so far (a redirect may lead to another host).
    seen: Arc<Mutex<Option<Trust>>>,
}

impl Probe {
    /// A probe for a fetch; `cert_file`: the user named a CA bundle
    /// (`SSL_CERT_FILE` / `SSL_CERT_DIR`), which then replaces every other root.
    pub fn new(cert_file: bool) -> Probe {
        Probe {
            cert_file,
            seen: Arc::default(),
        }
    }

    /// What vouched for the servers met so far (`None`: no handshake).
    pub fn trust(&self) -> Option<Trust> {
        *self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A rustls client configuration that verifies through this probe.
    pub fn client_config(&self) -> Result<rustls::ClientConfig, String> {
        let provider = CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
        let verifier = Agreeing {
            cert_file: self.cert_file,
            algorithms: provider.signature_verification_algorithms,
            provider: Arc::clone(&provider),
            bundled: OnceLock::new(),
            platform: OnceLock::new(),
            seen: Arc::clone(&self.seen),
        };
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|err| format!("cannot set up TLS: {err}"))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth())
    }
}

/// Accepts a certificate that uv would accept in one mode or the other, and
/// notes which roots it took.
#[derive(Debug)]
struct Agreeing {
    cert_file: bool,
    algorithms: WebPkiSupportedAlgorithms,
    provider: Arc<CryptoProvider>,
    /// The roots uv bundles (`None`: they could not be loaded).
    bundled: OnceLock<Option<Arc<WebPkiServerVerifier>>>,
    /// The platform store, or the `SSL_CERT_FILE` bundle (`None`: empty or unreadable).
    platform: OnceLock<Option<rustls_platform_verifier::Verifier>>,
    seen: Arc<Mutex<Option<Trust>>>,
}

impl Agreeing {
    fn bundled(&self) -> Option<&Arc<WebPkiServerVerifier>> {
        self.bundled
            .get_or_init(|| {
                let mut roots = rustls::RootCertStore::empty();
                roots.add_parsable_certificates(
                    webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned(),
                );
                WebPkiServerVerifier::builder_with_provider(
                    Arc::new(roots),
                    Arc::clone(&self.provider),
                )
                .build()
                .ok()
            })
            .as_ref()
    }

    fn platform(&self) -> Option<&rustls_platform_verifier::Verifier> {
        self.platform
            .get_or_init(|| {
                // A machine without a store (a bare container) still has the
                // bundled roots, as uv does; the error is only worth a debug line.
                rustls_platform_verifier::Verifier::new(Arc::clone(&self.provider))
                    .map_err(|err| {
                        crate::log::debug(|| format!("no platform certificate store: {err}"));
                    })
                    .ok()
            })
            .as_ref()
    }

    fn note(&self, trust: Trust) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        *seen = Some(seen.map_or(trust, |earlier| earlier.max(trust)));
    }
}

impl ServerCertVerifier for Agreeing {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verify = |verifier: &dyn ServerCertVerifier| {
            verifier.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        };
        // A named bundle replaces every other root, for uv as for the shim.
        let bundled = if self.cert_file {
            None
        } else {
            match self.bundled().map(|v| verify(v.as_ref())) {
                Some(Ok(verified)) => {
                    self.note(Trust::Bundled);
                    return Ok(verified);
                }
                other => other,
            }
        };
        match self.platform().map(|v| verify(v)) {
            Some(Ok(verified)) => {
                self.note(if self.cert_file {
                    Trust::CertFile
                } else {
                    Trust::SystemStore
                });
                Ok(verified)
            }
            Some(Err(err)) => Err(err),
            None => Err(bundled.and_then(Result::err).unwrap_or_else(|| {
                rustls::Error::General(
                    "no certificate roots could be loaded (SSL_CERT_FILE / SSL_CERT_DIR or the system store)".into(),
                )
            })),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// What to do about an untrusted certificate: said after every error whose
/// cause is one.
pub const UNTRUSTED_HINT: &str = "the mirror's certificate is not trusted: add the CA that issued it to the system certificate store (uv-shim then hands uv UV_SYSTEM_CERTS; see `system-certs`), or name a CA bundle with SSL_CERT_FILE, which uv reads too";

/// Whether `err` (or any of its causes) is a certificate that was refused.
pub fn is_untrusted_certificate(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(rustls::Error::InvalidCertificate(_)) = err.downcast_ref::<rustls::Error>() {
            return true;
        }
        // An io::Error's `source()` skips the error it wraps: look inside.
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            && is_untrusted_certificate(inner)
        {
            return true;
        }
        next = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_words_round_trip_and_the_weakest_wins() {
        for trust in [Trust::Bundled, Trust::CertFile, Trust::SystemStore] {
            assert_eq!(Trust::parse(trust.as_str()), Some(trust));
        }
        assert_eq!(Trust::parse("maybe"), None);
        let probe = Probe::new(false);
        let verifier = Agreeing {
            cert_file: false,
            algorithms: rustls::crypto::ring::default_provider().signature_verification_algorithms,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            bundled: OnceLock::new(),
            platform: OnceLock::new(),
            seen: Arc::clone(&probe.seen),
        };
        assert_eq!(probe.trust(), None);
        verifier.note(Trust::SystemStore);
        verifier.note(Trust::Bundled);
        assert_eq!(probe.trust(), Some(Trust::SystemStore));
    }

    #[test]
    fn a_refused_certificate_is_found_behind_an_io_error() {
        let refused = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let wrapped = std::io::Error::other(refused);
        assert!(is_untrusted_certificate(&wrapped));
        let other = std::io::Error::other(rustls::Error::DecryptError);
        assert!(!is_untrusted_certificate(&other));
    }
}
