//! Which proxy a request goes through, to say so.
//!
//! The HTTP client follows `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and
//! `NO_PROXY` (or their lower-case forms) by itself. When a connection
//! fails, the useful fact is often that it went to a proxy, not to the
//! mirror; and `doctor` shows which variables are in effect. Both use the
//! client's own matching rules (hyper-util's matcher, which reqwest uses),
//! fed from the same variables, so what is named is what was used.
//!
//! Proxy URLs may carry credentials; everything here is shown redacted.

use std::fmt;

use hyper_util::client::proxy::matcher::Matcher;
use url::Url;

use crate::env_vars::{EnvVars, Lookup};

/// The proxy variables in effect.
pub struct Proxies {
    /// The variables that are set, with their values as given.
    set: Vec<(&'static str, String)>,
    /// The client's rules, built from them.
    matcher: Matcher,
    /// In a CGI program no proxy variable is used at all.
    cgi: bool,
}

/// The proxy one request goes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// The proxy, redacted.
    pub proxy: String,
    /// The variable that named it.
    pub variable: &'static str,
    /// The proxy's host, whose name is looked up too.
    pub host: Option<String>,
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the proxy {} (from {})", self.proxy, self.variable)
    }
}

impl Proxies {
    /// The proxy variables of `env`.
    pub fn from_env(env: Lookup) -> Proxies {
        let set: Vec<(&'static str, String)> = EnvVars::PROXY
            .iter()
            .filter_map(|name| env(name).map(|value| (*name, value)))
            .collect();
        let first = |names: [&str; 2]| {
            set.iter()
                .find(|(name, _)| names.contains(name))
                .map_or("", |(_, value)| value.as_str())
        };
        let matcher = Matcher::builder()
            .http(first([EnvVars::HTTP_PROXY, EnvVars::http_proxy]))
            .https(first([EnvVars::HTTPS_PROXY, EnvVars::https_proxy]))
            .all(first([EnvVars::ALL_PROXY, EnvVars::all_proxy]))
            .no(first([EnvVars::NO_PROXY, EnvVars::no_proxy]))
            .build();
        let cgi = env(EnvVars::REQUEST_METHOD).is_some();
        Proxies { set, matcher, cgi }
    }

    /// The proxy variables of this process.
    pub fn of_process() -> Proxies {
        Proxies::from_env(&crate::env_vars::process_env)
    }

    /// Every proxy variable that is set, its value redacted.
    pub fn variables(&self) -> Vec<(&'static str, String)> {
        self.set
            .iter()
            .map(|(name, value)| {
                let shown = if name.eq_ignore_ascii_case(EnvVars::NO_PROXY) {
                    value.clone()
                } else {
                    redact_proxy(value)
                };
                (*name, shown)
            })
            .collect()
    }

    /// The proxy a request for `url` goes through, if any.
    pub fn for_url(&self, url: &Url) -> Option<Via> {
        if self.cgi {
            return None;
        }
        let uri: http::Uri = url.as_str().parse().ok()?;
        self.matcher.intercept(&uri)?;
        let own = match url.scheme() {
            "https" => [EnvVars::HTTPS_PROXY, EnvVars::https_proxy],
            _ => [EnvVars::HTTP_PROXY, EnvVars::http_proxy],
        };
        // The first of the scheme's own variables, then `ALL_PROXY`, whose
        // value the client could use: the one it did use.
        let (variable, value, uri) = own
            .iter()
            .chain(&[EnvVars::ALL_PROXY, EnvVars::all_proxy])
            .find_map(|want| {
                let (name, value) = self.set.iter().find(|(name, _)| name == want)?;
                Some((*name, value, parse_proxy(value)?))
            })?;
        Some(Via {
            proxy: redact_proxy(value),
            variable,
            host: uri.host().map(str::to_string),
        })
    }
}

/// A proxy value as the client reads it: a URL, its scheme optional.
fn parse_proxy(value: &str) -> Option<http::Uri> {
    let uri = if value.contains("://") {
        value.parse::<http::Uri>().ok()?
    } else {
        format!("http://{value}").parse::<http::Uri>().ok()?
    };
    uri.authority().is_some().then_some(uri)
}

/// A proxy value with its credentials hidden; the scheme is optional there
/// (`user:secret@proxy:3128`), so the value is read as an http URL then.
fn redact_proxy(value: &str) -> String {
    if value.contains("://") {
        return crate::redact::url(value);
    }
    let shown = crate::redact::url(&format!("http://{value}"));
    shown
        .strip_prefix("http://")
        .map_or(shown.clone(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(vars: &'static [(&'static str, &'static str)]) -> Proxies {
        Proxies::from_env(&|name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn the_scheme_picks_the_variable_and_no_proxy_wins() {
        let p = proxies(&[
            ("http_proxy", "http://user:secret@proxy.example:3128"),
            ("ALL_PROXY", "all.example:8080"),
            ("NO_PROXY", "internal.example,10.0.0.0/8"),
        ]);
        let via = p.for_url(&url("http://m.example/uv/")).unwrap();
        assert_eq!(via.variable, "http_proxy");
        assert_eq!(via.proxy, "http://****@proxy.example:3128");
        assert_eq!(
            via.to_string(),
            "the proxy http://****@proxy.example:3128 (from http_proxy)"
        );
        let via = p.for_url(&url("https://m.example/uv/")).unwrap();
        assert_eq!(
            (via.variable, via.proxy.as_str()),
            ("ALL_PROXY", "all.example:8080")
        );
        assert_eq!(p.for_url(&url("https://mirror.internal.example/")), None);
        assert_eq!(p.for_url(&url("http://10.1.2.3/")), None);
        assert_eq!(p.for_url(&url("file:///srv/uv/")), None);
        assert!(!format!("{:?}", p.variables()).contains("secret"));
    }

    #[test]
    fn no_variables_no_proxy() {
        let p = proxies(&[]);
        assert!(p.variables().is_empty());
        assert_eq!(p.for_url(&url("https://m.example/")), None);
        let cgi = proxies(&[("HTTP_PROXY", "proxy:1"), ("REQUEST_METHOD", "GET")]);
        assert_eq!(cgi.for_url(&url("http://m.example/")), None);
    }

    #[test]
    fn credentials_without_a_scheme_are_hidden() {
        assert_eq!(redact_proxy("u:p@proxy:3128"), "****@proxy:3128");
        assert_eq!(redact_proxy("proxy:3128"), "proxy:3128");
        assert_eq!(
            redact_proxy("socks5://u:p@proxy:1080"),
            "socks5://****@proxy:1080"
        );
    }
}
