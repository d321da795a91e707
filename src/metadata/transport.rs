//! What to say when a metadata request fails on the way: which limit ran
//! out (the budget, its share, or the connect limit), whether it was the
//! name look-up that never answered, and which proxy the request went
//! through. [`super::fetch`] words the rest (statuses, sizes, the causes of
//! other failures) and asks here first.

use std::time::Duration;

use url::Url;

use super::name_lookup::still_looking_up;
use super::proxy::{Proxies, Via};
use crate::budget::Attempt;

/// The connect limit `connect` as messages state it: itself, or the
/// attempt's own limit when that is not longer.
fn connect_stated(attempt: &Attempt, connect: Duration) -> String {
    if connect < attempt.limit {
        humantime::format_duration(connect).to_string()
    } else {
        attempt.stated.clone()
    }
}

fn through(via: Option<&Via>) -> String {
    via.map(|via| format!(" through {via}")).unwrap_or_default()
}

/// Why the request for `url`, made as `attempt` with the connect limit
/// `connect`, ran out of time (the URL itself is not repeated); `None` when
/// it was not a timeout.
pub fn timed_out(
    err: &reqwest::Error,
    url: &Url,
    attempt: &Attempt,
    connect: Duration,
) -> Option<String> {
    if !err.is_timeout() {
        return None;
    }
    let via = Proxies::of_process().for_url(url);
    let through = through(via.as_ref());
    // With a short attempt the connect limit and the whole limit are the
    // same instant, and either may fire: what was still going on (a name
    // look-up) says more than which of them it was.
    let stated = connect_stated(attempt, connect);
    let hosts = [url.host_str(), via.as_ref().and_then(|v| v.host.as_deref())];
    if let Some(host) = hosts.into_iter().flatten().find(|h| still_looking_up(h)) {
        return Some(format!(
            "connection failed{through}: the name look-up of `{host}` got no answer within {stated}"
        ));
    }
    Some(if err.is_connect() {
        format!("connection failed{through}: not established within {stated}")
    } else {
        format!("no complete answer within {}", attempt.stated)
    })
}

/// `described` (what went wrong with the request for `url`), naming the
/// proxy when the connection that failed was the one to a proxy.
pub fn naming_the_proxy(described: String, err: &reqwest::Error, url: &Url) -> String {
    if !err.is_connect() {
        return described;
    }
    let Some(via) = Proxies::of_process().for_url(url) else {
        return described;
    };
    match described.strip_prefix("connection failed") {
        Some(rest) => format!("connection failed{}{rest}", through(Some(&via))),
        None => format!("{described}{}", through(Some(&via))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connect_limit_is_stated_as_the_shorter_one() {
        let long = Attempt {
            limit: Duration::from_secs(5),
            stated: "5s".into(),
        };
        assert_eq!(connect_stated(&long, Duration::from_secs(2)), "2s");
        let short = Attempt {
            limit: Duration::from_millis(999),
            stated: "1s".into(),
        };
        assert_eq!(connect_stated(&short, Duration::from_secs(2)), "1s");
    }
}
