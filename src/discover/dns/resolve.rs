//! Which domains to ask about, which servers to ask, and the asking itself.
//!
//! The cheap part (reading the search list and name servers from
//! `/etc/resolv.conf`) runs whenever DNS discovery is consulted: the cache
//! is keyed by it. The expensive part, [`lookup`], runs only on a cache
//! miss: it builds a hickory resolver on a tokio current-thread runtime made
//! for the occasion, queries every name at once and gives each a hard time
//! limit, so a silent resolver costs that limit once, not once per domain.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use hickory_resolver::Resolver;
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData};

use super::answer_cache::Outcome;
use super::txt;

/// The port DNS servers listen on.
const DNS_PORT: u16 = 53;

/// What the shim takes from the system's resolver configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemConf {
    /// The search list (`search`, or `domain` when it came last), normalised.
    pub search: Vec<String>,
    /// The name servers, in order.
    pub nameservers: Vec<SocketAddr>,
}

/// Normalises a domain: trimmed, lower case, no trailing dot; `None` for the root or nothing.
pub fn normalise_domain(domain: &str) -> Option<String> {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    (!domain.is_empty()).then_some(domain)
}

/// Parses resolv.conf text the way the C library does where it matters here:
/// `domain` and `search` replace each other (the last one wins), comments
/// start with `#` or `;`, unusable name server lines are skipped.
pub fn parse_resolv_conf(text: &str) -> SystemConf {
    let mut conf = SystemConf::default();
    for line in text.lines() {
        let line = line.split(['#', ';']).next().unwrap_or("");
        let mut words = line.split_whitespace();
        match words.next() {
            Some("search") => conf.search = words.filter_map(normalise_domain).collect(),
            Some("domain") => {
                conf.search = words
                    .next()
                    .and_then(normalise_domain)
                    .into_iter()
                    .collect()
            }
            Some("nameserver") => {
                // A link-local IPv6 server carries `%scope`, which `IpAddr` cannot hold.
                if let Some(ip) = words.next().and_then(|w| w.parse::<IpAddr>().ok()) {
                    conf.nameservers.push(SocketAddr::new(ip, DNS_PORT));
                }
            }
            _ => {}
        }
    }
    let mut seen = std::collections::HashSet::new();
    conf.search.retain(|d| seen.insert(d.clone()));
    conf
}

/// Reads a resolv.conf file; a missing file is an empty configuration.
pub fn read_resolv_conf(path: &Path, inputs: &crate::inputs::Inputs) -> Result<SystemConf, String> {
    match inputs.read_to_string(path) {
        Ok(text) => Ok(parse_resolv_conf(&text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(SystemConf::default()),
        Err(err) => Err(format!("cannot read {}: {err}", path.display())),
    }
}

/// The system's resolver configuration on Windows, which has no resolv.conf.
#[cfg(windows)]
pub fn read_platform_conf() -> Result<SystemConf, String> {
    let (config, _) = hickory_resolver::system_conf::read_system_conf()
        .map_err(|err| format!("cannot read the system's DNS configuration: {err}"))?;
    let mut search: Vec<String> = config
        .search()
        .iter()
        .filter_map(|name| normalise_domain(&name.to_ascii()))
        .collect();
    if search.is_empty() {
        search.extend(
            config
                .domain()
                .and_then(|name| normalise_domain(&name.to_ascii())),
        );
    }
    let nameservers = config
        .name_servers()
        .iter()
        .map(|ns| SocketAddr::new(ns.ip, DNS_PORT))
        .collect();
    Ok(SystemConf {
        search,
        nameservers,
    })
}

/// Elsewhere there is no configuration the shim knows how to read.
#[cfg(not(any(unix, windows)))]
pub fn read_platform_conf() -> Result<SystemConf, String> {
    Err("the shim cannot read this platform's DNS configuration; \
         set `dns-domains` and UV_SHIM_DNS_SERVER"
        .into())
}

/// Parses `UV_SHIM_DNS_SERVER`: `ip:port`, `[v6]:port`, or a bare address (port 53).
pub fn parse_server(value: &str) -> Result<SocketAddr, String> {
    let value = value.trim();
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Ok(addr);
    }
    value
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, DNS_PORT))
        .map_err(|_| format!("`{value}` is not an address such as 10.0.0.53:53 or [fd00::53]:53"))
}

/// The fully qualified query name for `domain`: `_uv-mirror.<domain>.`. The
/// final dot keeps any resolver from appending its own search domains.
pub fn query_name(domain: &str) -> String {
    format!("{}.{domain}", txt::LABEL)
}

/// What [`lookup`] learnt about one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The outcome.
    pub outcome: Outcome,
    /// The smallest TTL among the answer records, when there were any.
    pub ttl: Option<u32>,
}

impl Reply {
    fn of(outcome: Outcome) -> Self {
        Reply { outcome, ttl: None }
    }
}

/// Queries the TXT records of every name in `queries` from `servers`, all at
/// once, each within `limit`. Never fails as a whole: each name gets its own
/// outcome, in the order given.
pub fn lookup(queries: &[String], servers: &[SocketAddr], limit: Duration) -> Vec<Reply> {
    let failed = |why: String| {
        queries
            .iter()
            .map(|_| Reply::of(Outcome::Failed(why.clone())))
            .collect()
    };
    if servers.is_empty() {
        return failed("no DNS server to ask".into());
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return failed(format!("cannot start the DNS client: {err}")),
    };
    runtime.block_on(async {
        let resolver = match build(servers, limit) {
            Ok(resolver) => resolver,
            Err(err) => return failed(format!("cannot set up the DNS client: {err}")),
        };
        let mut tasks = tokio::task::JoinSet::new();
        for (i, query) in queries.iter().enumerate() {
            let name = match Name::from_ascii(format!("{query}.")) {
                Ok(name) => name,
                Err(err) => {
                    let reply = Reply::of(Outcome::Failed(format!(
                        "`{query}` is not a valid DNS name: {err}"
                    )));
                    tasks.spawn(async move { (i, reply) });
                    continue;
                }
            };
            let resolver = resolver.clone();
            tasks.spawn(async move {
                let reply = match tokio::time::timeout(limit, resolver.txt_lookup(name)).await {
                    Ok(result) => reply(result),
                    Err(_) => Reply::of(Outcome::Timeout),
                };
                (i, reply)
            });
        }
        let mut replies = vec![Reply::of(Outcome::Timeout); queries.len()];
        while let Some(done) = tasks.join_next().await {
            if let Ok((i, reply)) = done {
                replies[i] = reply;
            }
        }
        replies
    })
}

fn build(
    servers: &[SocketAddr],
    limit: Duration,
) -> Result<Resolver<TokioRuntimeProvider>, NetError> {
    let name_servers = servers
        .iter()
        .map(|addr| {
            // UDP first; TCP when an answer is truncated (many records).
            let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
            for connection in &mut ns.connections {
                connection.port = addr.port();
            }
            ns
        })
        .collect();
    let config = ResolverConfig::from_parts(None, Vec::new(), name_servers);
    let mut options = ResolverOpts::default();
    // Two tries fit in the limit, so one lost UDP packet does not cost the answer.
    options.timeout = limit / 2;
    options.attempts = 1;
    options.use_hosts_file = ResolveHosts::Never;
    options.cache_size = 0;
    Resolver::builder_with_config(config, TokioRuntimeProvider::default())
        .with_options(options)
        .build()
}

fn reply(result: Result<hickory_resolver::lookup::Lookup, NetError>) -> Reply {
    match result {
        Ok(lookup) => {
            let records: Vec<Vec<u8>> = lookup
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    RData::TXT(data) => Some(txt::join(&data.txt_data)),
                    _ => None,
                })
                .collect();
            if records.is_empty() {
                return Reply::of(Outcome::NoRecords);
            }
            // A CNAME on the way counts too: the answer is as old as its oldest part.
            let ttl = lookup.answers().iter().map(|record| record.ttl).min();
            Reply {
                outcome: Outcome::Records(records),
                ttl,
            }
        }
        Err(NetError::Dns(DnsError::NoRecordsFound(none))) => {
            Reply::of(if none.response_code == ResponseCode::NXDomain {
                Outcome::NoSuchName
            } else {
                Outcome::NoRecords
            })
        }
        Err(NetError::Timeout) => Reply::of(Outcome::Timeout),
        Err(NetError::Dns(DnsError::ResponseCode(code))) => {
            Reply::of(Outcome::Failed(format!("the DNS server answered {code}")))
        }
        Err(err) => Reply::of(Outcome::Failed(err.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_and_domain_replace_each_other() {
        let conf = parse_resolv_conf(
            "# generated\ndomain first.example\nsearch Corp.Example. lab.corp.example corp.example\n\
             nameserver 10.0.0.53 # primary\nnameserver fd00::53\nnameserver fe80::1%eth0\noptions ndots:2\n",
        );
        assert_eq!(conf.search, ["corp.example", "lab.corp.example"]);
        assert_eq!(
            conf.nameservers,
            [
                "10.0.0.53:53".parse::<SocketAddr>().unwrap(),
                "[fd00::53]:53".parse().unwrap()
            ]
        );
        let conf = parse_resolv_conf("search a.example b.example\ndomain c.example\n");
        assert_eq!(conf.search, ["c.example"]);
        assert_eq!(parse_resolv_conf("search .\n").search, Vec::<String>::new());
        assert_eq!(parse_resolv_conf("; nothing\n"), SystemConf::default());
    }

    #[test]
    fn a_missing_resolv_conf_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            read_resolv_conf(&dir.path().join("nope"), &crate::inputs::Inputs::new()),
            Ok(SystemConf::default())
        );
        assert!(
            read_resolv_conf(dir.path(), &crate::inputs::Inputs::new())
                .unwrap_err()
                .contains("cannot read")
        );
    }

    #[test]
    fn server_addresses() {
        assert_eq!(
            parse_server("127.0.0.1:5353"),
            Ok("127.0.0.1:5353".parse().unwrap())
        );
        assert_eq!(
            parse_server(" 10.0.0.53 "),
            Ok("10.0.0.53:53".parse().unwrap())
        );
        assert_eq!(
            parse_server("[::1]:5353"),
            Ok("[::1]:5353".parse().unwrap())
        );
        assert_eq!(parse_server("::1"), Ok("[::1]:53".parse().unwrap()));
        assert!(
            parse_server("dns.example:53")
                .unwrap_err()
                .contains("not an address")
        );
    }

    #[test]
    fn query_names_carry_the_label() {
        assert_eq!(query_name("corp.example"), "_uv-mirror.corp.example");
        assert!(
            Name::from_ascii(format!("{}.", query_name("corp.example")))
                .unwrap()
                .is_fqdn()
        );
    }

    #[test]
    fn no_server_is_a_failure_not_a_hang() {
        let replies = lookup(
            &["_uv-mirror.a.example".into()],
            &[],
            Duration::from_secs(1),
        );
        assert!(matches!(&replies[0].outcome, Outcome::Failed(m) if m.contains("no DNS server")));
    }
}
