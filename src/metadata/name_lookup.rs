//! Name look-ups for the HTTP client that nobody waits for once the time is up.
//!
//! reqwest's own resolver runs `getaddrinfo` as a blocking task of its
//! runtime, and dropping that runtime waits for every blocking task: with a
//! resolver that never answers, a request that "timed out" after 2 s still
//! kept the call for the C library's full 10 s. Here the look-up runs on a
//! thread of its own that nobody joins: the request's limits (its connect
//! limit and whole limit, both within the call's budget) end the wait, and
//! an orphaned look-up dies with the process (at the latest when it execs uv).
//!
//! It is still the system's resolver (`getaddrinfo`, as uv uses): the same
//! `/etc/hosts`, `nsswitch.conf` and search rules as every other program.
//!
//! Look-ups that have not finished are listed, so that a request that timed
//! out can say it was the name look-up, not the server, that kept it.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Mutex;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// The host names whose look-up has started and not finished, one entry per look-up.
static UNFINISHED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn unfinished() -> std::sync::MutexGuard<'static, Vec<String>> {
    UNFINISHED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether a look-up of `host` started and has not finished.
pub fn still_looking_up(host: &str) -> bool {
    unfinished().iter().any(|h| h.eq_ignore_ascii_case(host))
}

/// The resolver handed to reqwest; see the module docs.
#[derive(Debug, Default, Clone, Copy)]
pub struct DetachedLookup;

impl Resolve for DetachedLookup {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let (tx, rx) = tokio::sync::oneshot::channel();
        unfinished().push(host.clone());
        let looking_up = host.clone();
        let spawned = std::thread::Builder::new()
            .name("uv-shim-lookup".into())
            .spawn(move || {
                // Port 0: the caller puts the URL's port in.
                let result = (looking_up.as_str(), 0)
                    .to_socket_addrs()
                    .map(Iterator::collect::<Vec<SocketAddr>>);
                let mut list = unfinished();
                if let Some(at) = list.iter().position(|h| *h == looking_up) {
                    list.swap_remove(at);
                }
                drop(list);
                // The request may have given up already; then nobody listens.
                let _ = tx.send(result);
            });
        Box::pin(async move {
            if let Err(err) = spawned {
                let mut list = unfinished();
                if let Some(at) = list.iter().position(|h| *h == host) {
                    list.swap_remove(at);
                }
                return Err(format!("cannot start the name look-up of `{host}`: {err}").into());
            }
            match rx.await {
                Ok(Ok(addrs)) => Ok(Box::new(addrs.into_iter()) as Addrs),
                Ok(Err(err)) => Err(format!("cannot look up `{host}`: {err}").into()),
                Err(_) => {
                    Err(format!("the name look-up of `{host}` ended without an answer").into())
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn looks_up_and_forgets_finished_names() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let addrs: Vec<SocketAddr> = runtime
            .block_on(DetachedLookup.resolve(Name::from_str("localhost").unwrap()))
            .unwrap()
            .collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
        assert!(!still_looking_up("localhost"));
    }
}
