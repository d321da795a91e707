//! What a DNS answer may make the shim trust, and which record wins.
//!
//! A TXT answer is unauthenticated: anyone who can answer the shim's DNS
//! queries (a hostile Wi-Fi, a DHCP-supplied search domain, a spoofed UDP
//! reply) can write one. Such a record must not be able to send uv's
//! downloads or its package index to a host of the attacker's choosing. So
//! every URL of a record (`url`, `metadata`, `pypy`, `index`, `astral`) must
//! be `https` and name a host inside the domain that was queried; only the
//! system config (never the user's file, never DNS itself) can loosen this,
//! with `allow-http` and `dns-allowed-hosts`.

use url::{Host, Url};

use super::txt::MirrorRecord;
use crate::settings::Trust;

/// Whether `host` lies inside `domain`: the domain itself or a name below it.
/// Both are compared case-insensitively and without a trailing dot.
pub fn host_in_domain(host: &str, domain: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    if domain.is_empty() {
        return false;
    }
    host == domain
        || host
            .strip_suffix(&domain)
            .is_some_and(|prefix| prefix.ends_with('.') && prefix.len() > 1)
}

/// Checks one URL of a record found under `domain`; the error says why it is refused.
pub fn check_url(key: &str, url: &Url, domain: &str, trust: &Trust) -> Result<(), String> {
    let shown = crate::redact::url(url.as_str());
    match url.scheme() {
        "https" => {}
        "http" if trust.allow_http => {}
        "http" => {
            return Err(format!(
                "`{key}` {shown} is plain http; a mirror found by DNS must use https \
                 unless the system config sets `allow-http = true`"
            ));
        }
        other => {
            return Err(format!(
                "`{key}` {shown} uses scheme `{other}`; a record may only name https URLs"
            ));
        }
    }
    let host = match url.host() {
        Some(Host::Domain(name)) => name.trim_end_matches('.').to_ascii_lowercase(),
        Some(Host::Ipv4(ip)) => ip.to_string(),
        Some(Host::Ipv6(ip)) => ip.to_string(),
        None => return Err(format!("`{key}` {shown} has no host")),
    };
    let allowed = trust
        .dns_allowed_hosts
        .iter()
        .any(|h| h.trim_start_matches('[').trim_end_matches(']') == host);
    if allowed || (matches!(url.host(), Some(Host::Domain(_))) && host_in_domain(&host, domain)) {
        Ok(())
    } else {
        Err(format!(
            "`{key}` {shown} names host `{host}`, which is outside `{domain}`; \
             only the system config can allow it (`dns-allowed-hosts`)"
        ))
    }
}

/// Checks every URL of a record: one outside URL refuses the whole record,
/// because a record must not be able to point even the index elsewhere.
pub fn check_record(record: &MirrorRecord, domain: &str, trust: &Trust) -> Result<(), String> {
    record
        .urls_by_key()
        .into_iter()
        .try_for_each(|(key, url)| check_url(key, url, domain, trust))
}

/// The positions of the winning records among `prios` (the accepted
/// records' priorities): every record with the lowest value.
pub fn winners(prios: &[u16]) -> Vec<usize> {
    let Some(best) = prios.iter().min() else {
        return Vec::new();
    };
    (0..prios.len()).filter(|&i| prios[i] == *best).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn trust(allow_http: bool, hosts: &[&str]) -> Trust {
        Trust {
            allow_http,
            dns_allowed_hosts: hosts.iter().map(|h| h.to_string()).collect(),
            ..Trust::default()
        }
    }

    #[test]
    fn host_must_be_the_domain_or_below_it() {
        assert!(host_in_domain("corp.example", "corp.example"));
        assert!(host_in_domain("mirror.corp.example", "corp.example"));
        assert!(host_in_domain("a.b.corp.example.", "Corp.Example."));
        assert!(!host_in_domain("evilcorp.example", "corp.example"));
        assert!(!host_in_domain("corp.example.evil.test", "corp.example"));
        assert!(!host_in_domain("example", "corp.example"));
        assert!(!host_in_domain(".corp.example", "corp.example"));
        assert!(!host_in_domain("anything", ""));
    }

    #[test]
    fn https_inside_the_domain_is_accepted() {
        let t = Trust::default();
        assert!(
            check_url(
                "url",
                &url("https://m.corp.example/uv/"),
                "corp.example",
                &t
            )
            .is_ok()
        );
        assert!(
            check_url(
                "url",
                &url("https://M.CORP.EXAMPLE:8443/uv/"),
                "corp.example",
                &t
            )
            .is_ok()
        );
    }

    #[test]
    fn http_needs_allow_http() {
        let u = url("http://m.corp.example/uv/");
        let err = check_url("url", &u, "corp.example", &Trust::default()).unwrap_err();
        assert!(
            err.contains("plain http") && err.contains("allow-http"),
            "{err}"
        );
        assert!(check_url("url", &u, "corp.example", &trust(true, &[])).is_ok());
    }

    #[test]
    fn other_schemes_are_never_accepted() {
        for raw in [
            "file:///etc/passwd",
            "ftp://m.corp.example/",
            "data:text/plain,x",
        ] {
            let err = check_url(
                "url",
                &url(raw),
                "corp.example",
                &trust(true, &["m.corp.example"]),
            );
            assert!(err.unwrap_err().contains("scheme"), "{raw}");
        }
    }

    #[test]
    fn outside_hosts_need_dns_allowed_hosts() {
        let u = url("https://mirror.other.example/uv/");
        let err = check_url("index", &u, "corp.example", &Trust::default()).unwrap_err();
        assert!(
            err.contains("`index`") && err.contains("outside `corp.example`"),
            "{err}"
        );
        assert!(
            check_url(
                "index",
                &u,
                "corp.example",
                &trust(false, &["mirror.other.example"])
            )
            .is_ok()
        );
        // An allowed host is an exact host, not a suffix.
        assert!(
            check_url(
                "index",
                &url("https://x.mirror.other.example/"),
                "corp.example",
                &trust(false, &["mirror.other.example"])
            )
            .is_err()
        );
    }

    #[test]
    fn ip_hosts_are_never_inside_a_domain_but_can_be_allowed() {
        let v4 = url("http://127.0.0.1:8080/uv/");
        assert!(check_url("url", &v4, "0.0.1", &trust(true, &[])).is_err());
        assert!(check_url("url", &v4, "corp.example", &trust(true, &["127.0.0.1"])).is_ok());
        let v6 = url("https://[::1]:8443/uv/");
        assert!(check_url("url", &v6, "corp.example", &trust(false, &["[::1]"])).is_ok());
        assert!(check_url("url", &v6, "corp.example", &trust(false, &["::1"])).is_ok());
    }

    #[test]
    fn one_outside_url_refuses_the_record() {
        let record = crate::discover::dns::txt::parse(
            b"v=uvm1 url=https://m.corp.example/uv/ index=https://pypi.evil.test/simple",
        )
        .unwrap();
        let err = check_record(&record, "corp.example", &Trust::default()).unwrap_err();
        assert!(
            err.contains("`index`") && err.contains("pypi.evil.test"),
            "{err}"
        );
    }

    #[test]
    fn credentials_in_refused_urls_are_redacted() {
        let err = check_url(
            "url",
            &url("https://u:secret@evil.test/"),
            "corp.example",
            &Trust::default(),
        )
        .unwrap_err();
        assert!(!err.contains("secret"), "{err}");
    }

    #[test]
    fn lowest_prio_wins_and_ties_all_win() {
        assert_eq!(winners(&[]), Vec::<usize>::new());
        assert_eq!(winners(&[10]), vec![0]);
        assert_eq!(winners(&[20, 10, 30, 10]), vec![1, 3]);
        assert_eq!(winners(&[0, 0]), vec![0, 1]);
    }
}
