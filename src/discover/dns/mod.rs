//! Source 6: a DNS TXT record `_uv-mirror.<domain>` for each pinned domain.
//!
//! The flow, in the order of the domains and first hit wins:
//!
//! 1. the domains ([`resolver_conf::domains`]): those pinned by
//!    `dns-domains` / `UV_SHIM_DNS_DOMAINS`, else the resolver's search list
//!    only when the system config sets `dns-search = true`; nothing pinned
//!    and no such line means no query at all; there is no walking up to
//!    parent domains;
//! 2. the answer for each: from the cache while its TTL lasts
//!    ([`answer_cache`]), else queried, all missing names at once (at most
//!    [`MAX_NAMES`] per call, the rest on later calls), within a hard time
//!    limit that is part of the call's budget;
//! 3. each record parsed ([`txt`]) and checked against the trust rule
//!    ([`policy`]): a DNS answer is unauthenticated, so its URLs must be
//!    https inside the queried domain unless the system config says more;
//! 4. the lowest `prio` wins; every `url` of the winning records becomes the
//!    failover list.
//!
//! A warm call reads one small file per domain and makes no query. Every
//! step leaves a line in the report for `doctor`: domains, resolver, the
//! answer and its age, each record and what became of it.

pub mod answer_cache;
pub mod policy;
pub mod resolve;
pub mod resolver_conf;
pub mod txt;
pub mod verdict;

use std::path::PathBuf;
use std::time::Duration;

use self::answer_cache::{Answer, Outcome};
use self::resolver_conf::{Resolver, SystemOnce};
use self::txt::LABEL;
use self::verdict::judge;
use crate::budget::Budget;
use crate::cache::Cache;
use crate::discover::report::{SourceId, SourceReport, Status};
use crate::env_vars::{EnvVars, Lookup};
use crate::inputs::Inputs;
use crate::settings::{Layer, Settings};

/// How long one query may take. All names are asked at once, so this bounds
/// the whole lookup too. A budget shorter than twice this gives DNS half of
/// it, so that a mirror found can still be asked.
const QUERY_LIMIT: Duration = Duration::from_secs(1);

/// At most this many names are asked in one call; names further down the
/// list are asked by later calls, while the answers to these are cached.
pub const MAX_NAMES: usize = 4;

/// How long to wait for another process that is querying the same resolver.
/// With [`QUERY_LIMIT`] it keeps a cache miss under two seconds.
const LOCK_WAIT: Duration = Duration::from_secs(1);

/// After a DNS look-up (a hit or a miss) the full pipeline runs again this
/// often; the answer cache keeps those runs free of queries until the TTL.
const REVISIT: u64 = 60;

/// What DNS discovery may read.
pub struct Input<'a> {
    /// The environment.
    pub env: Lookup<'a>,
    /// The record of what was read.
    pub inputs: &'a Inputs,
    /// The combined settings.
    pub settings: &'a Settings,
    /// The cache, for answers kept for their TTL.
    pub cache: &'a Cache,
    /// The call's time budget.
    pub budget: &'a Budget,
}

/// How long this call's DNS queries may take: [`QUERY_LIMIT`], or half the
/// budget when that is shorter. The same for every call with the same
/// budget, so a cached timeout is described with the limit it had.
fn query_limit(budget: &Budget) -> Duration {
    QUERY_LIMIT.min(budget.total() / 2)
}

/// Consults DNS; returns the report line and, when a record names a mirror,
/// the mirror and the settings the record carries (index, pypy, astral).
pub fn consult(input: &Input) -> (SourceReport, Layer) {
    let mut line = SourceReport::new(SourceId::Dns, format!("{LABEL}.<pinned domains>"), "");
    if !input.settings.dns.value {
        line.status = Status::Skipped(format!(
            "disabled by `dns = false` in {}",
            input.settings.dns.origin
        ));
        return (line, Layer::default());
    }
    let found = run(input, &mut line).unwrap_or_else(|err| {
        line.status = Status::Error(err);
        None
    });
    (line, found.unwrap_or_default())
}

/// Whether an answer was read from the cache or received now.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Via {
    Cache,
    Query,
}

fn run(input: &Input, line: &mut SourceReport) -> Result<Option<Layer>, String> {
    let mut system = SystemOnce::new(input.env, input.inputs);
    let Some((domains, domains_from)) = resolver_conf::domains(input.settings, &mut system)? else {
        line.status = Status::NotSet(format!(
            "no domain is pinned, so DNS is not asked; to pin one, set {} or \
             `dns-domains = [\"corp.example\"]` in a config file (the resolver's search \
             list is asked only with `dns-search = true` in the system config)",
            EnvVars::UV_SHIM_DNS_DOMAINS
        ));
        return Ok(None);
    };
    if domains.is_empty() {
        line.status = Status::NotSet(format!(
            "no domains in {domains_from}, so DNS is not asked; to pin one, set {} or \
             `dns-domains` in a config file",
            EnvVars::UV_SHIM_DNS_DOMAINS
        ));
        return Ok(None);
    }
    // Whatever DNS says now may change with the network: the warm path
    // comes back here this often (the answer cache keeps that cheap).
    input
        .inputs
        .valid_until(crate::fsutil::now_secs().saturating_add(REVISIT));
    let queries: Vec<String> = domains.iter().map(|d| resolve::query_name(d)).collect();
    line.location = queries.join(", ");
    line.details.push(format!(
        "domains: {} (from {domains_from})",
        domains.join(", ")
    ));
    let (resolver, resolver_from) = resolver_conf::resolver(input.env, &mut system)?;
    line.details
        .push(format!("resolver: {} (from {resolver_from})", resolver.id));

    let now = crate::fsutil::now_secs();
    let trust = &input.settings.trust;
    let paths: Vec<PathBuf> = queries
        .iter()
        .map(|q| answer_cache::path(input.cache, q, &resolver.id))
        .collect();
    let mut answers: Vec<Option<(Answer, Via)>> = queries
        .iter()
        .zip(&paths)
        .map(|(q, p)| fresh(input.inputs, p, q, &resolver.id, now).map(|a| (a, Via::Cache)))
        .collect();

    // Only the domains up to the first one whose cached answer already names
    // a usable mirror matter; of those, ask about every one not cached, at once.
    let needed = answers
        .iter()
        .zip(&domains)
        .position(|(answer, domain)| {
            answer
                .as_ref()
                .is_some_and(|(a, _)| judge(domain, &a.outcome, trust).chosen.is_some())
        })
        .map_or(domains.len(), |i| i + 1);
    let missing: Vec<usize> = (0..needed)
        .filter(|&i| answers[i].is_none())
        .take(MAX_NAMES)
        .collect();
    if !missing.is_empty() {
        query_missing(input, &resolver, &queries, &paths, &missing, &mut answers);
    }

    let mut refused = 0;
    let mut accepted = 0;
    let mut chosen = None;
    let mut unasked = None;
    for (i, domain) in domains.iter().enumerate() {
        if let Some(winner) = chosen.as_ref().map(|(_, w): &(_, usize)| &queries[*w]) {
            line.details.push(format!(
                "{}: not consulted: {winner} named the mirror",
                queries[i]
            ));
            continue;
        }
        // A name further down cannot win before the ones above it are asked.
        if let Some(first) = unasked {
            line.details.push(format!(
                "{}: not consulted: {} is not asked yet",
                queries[i], queries[first]
            ));
            continue;
        }
        // Only names past the few asked per call have no answer yet.
        let Some((answer, via)) = answers[i].as_ref() else {
            line.details.push(format!(
                "{}: not asked yet (at most {MAX_NAMES} names per call; a later call asks it)",
                queries[i]
            ));
            unasked = Some(i);
            continue;
        };
        line.details.push(format!(
            "{}: {}",
            queries[i],
            describe_answer(answer, *via, now, query_limit(input.budget))
        ));
        let verdict = judge(domain, &answer.outcome, trust);
        refused += verdict.refused;
        accepted += verdict.accepted;
        if *via == Via::Query {
            verdict::log_verdict(&queries[i], &verdict);
        }
        line.details
            .extend(verdict.lines.into_iter().map(|l| format!("  {l}")));
        chosen = verdict.chosen.map(|c| (c, i));
    }
    if let Some((chosen, _)) = chosen {
        return Ok(Some(chosen));
    }
    line.status = if refused > 0 && accepted == 0 {
        Status::Error(format!(
            "every {LABEL} record found was refused ({refused}); see the lines below"
        ))
    } else {
        Status::NotSet(format!("no usable {LABEL} TXT record"))
    };
    Ok(None)
}

fn fresh(
    inputs: &Inputs,
    path: &std::path::Path,
    query: &str,
    resolver: &str,
    now: u64,
) -> Option<Answer> {
    answer_cache::read(inputs, path, query, resolver).filter(|a| a.is_fresh(now))
}

/// Queries the names at `missing` and caches what comes back. One process
/// at a time: the others wait briefly, then find the answers in the cache.
fn query_missing(
    input: &Input,
    resolver: &Resolver,
    queries: &[String],
    paths: &[PathBuf],
    missing: &[usize],
    answers: &mut [Option<(Answer, Via)>],
) {
    // Without the lock (a read-only cache, a slow neighbour) we ask anyway.
    let lock_path = answer_cache::lock_path(input.cache);
    let wait = LOCK_WAIT.min(input.budget.remaining());
    let _lock = lock_path
        .parent()
        .map_or(Ok(()), crate::fsutil::private::ensure_dir)
        .ok()
        .and_then(|()| crate::fsutil::lock_private(&lock_path, wait).ok())
        .flatten();
    let now = crate::fsutil::now_secs();
    let still: Vec<usize> = missing
        .iter()
        .copied()
        .filter(
            |&i| match fresh(input.inputs, &paths[i], &queries[i], &resolver.id, now) {
                Some(answer) => {
                    answers[i] = Some((answer, Via::Cache));
                    false
                }
                None => true,
            },
        )
        .collect();
    if still.is_empty() {
        return;
    }
    let names: Vec<String> = still.iter().map(|&i| queries[i].clone()).collect();
    crate::log::debug(|| format!("DNS: asking {} for TXT {}", resolver.id, names.join(", ")));
    let limit = query_limit(input.budget).min(input.budget.remaining());
    let replies = resolve::lookup(&names, &resolver.servers, limit);
    let now = crate::fsutil::now_secs();
    for (&i, reply) in still.iter().zip(replies) {
        let answer = match (
            &reply.outcome,
            answer_cache::read(input.inputs, &paths[i], &queries[i], &resolver.id),
        ) {
            // A failed refresh may keep the records it was meant to refresh.
            (Outcome::Timeout | Outcome::Failed(_), Some(previous)) => {
                previous.after_failed_refresh(now, reply.outcome)
            }
            _ => Answer::new(
                queries[i].clone(),
                resolver.id.clone(),
                now,
                reply.outcome,
                reply.ttl,
            ),
        };
        answer_cache::write(&paths[i], &answer);
        // Kept records were judged (and any refusal reported) when they arrived.
        let via = if answer.stale.is_some() {
            Via::Cache
        } else {
            Via::Query
        };
        answers[i] = Some((answer, via));
    }
}

fn describe_answer(answer: &Answer, via: Via, now: u64, limit: Duration) -> String {
    let what = match &answer.outcome {
        Outcome::Timeout => format!("no answer within {}", humantime::format_duration(limit)),
        other => other.describe(),
    };
    let until = |t: u64| humantime::format_duration(Duration::from_secs(t.saturating_sub(now)));
    let age = humantime::format_duration(Duration::from_secs(now.saturating_sub(answer.fetched)));
    match (&answer.stale, via) {
        (Some(stale), _) => format!(
            "{what}, received {age} ago; its TTL ran out but refreshing it failed ({}), \
             so it is kept until the next try in {}",
            stale.why,
            until(stale.retry)
        ),
        (None, Via::Query) => format!("{what}; asked now, kept for {}", until(answer.expires)),
        (None, Via::Cache) => format!(
            "{what}; cached {age} ago, kept for {} more",
            until(answer.expires)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(texts: &[&str]) -> Outcome {
        Outcome::Records(texts.iter().map(|t| t.as_bytes().to_vec()).collect())
    }

    fn settings(domains: Option<&str>, dns: bool) -> Settings {
        let env = |name: &str| match name {
            n if n == EnvVars::UV_SHIM_DNS_DOMAINS => domains.map(str::to_string),
            _ => None,
        };
        let mut s = Settings::resolve(super::super::env::consult(&env).1, None, None);
        s.dns.value = dns;
        s
    }

    #[test]
    fn disabled_dns_asks_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let s = settings(Some("corp.example"), false);
        let env = |_: &str| None;
        let (line, found) = consult(&Input {
            env: &env,
            inputs: &Inputs::new(),
            settings: &s,
            cache: &cache,
            budget: &Budget::new(Duration::from_secs(5)),
        });
        assert!(matches!(line.status, Status::Skipped(_)));
        assert!(found.mirror.is_none());
    }

    #[test]
    fn a_fresh_cached_answer_is_used_without_asking() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let s = settings(Some("Corp.Example.,lab.example"), true);
        // A server that does not exist: any query would time out or fail.
        let env =
            |name: &str| (name == EnvVars::UV_SHIM_DNS_SERVER).then(|| "192.0.2.1:53".to_string());
        let query = "_uv-mirror.corp.example";
        let answer = Answer::new(
            query.into(),
            "192.0.2.1:53".into(),
            crate::fsutil::now_secs(),
            records(&["v=uvm1 url=https://m.corp.example/uv/"]),
            Some(300),
        );
        answer_cache::write(&answer_cache::path(&cache, query, "192.0.2.1:53"), &answer);
        let (line, found) = consult(&Input {
            env: &env,
            inputs: &Inputs::new(),
            settings: &s,
            cache: &cache,
            budget: &Budget::new(Duration::from_secs(5)),
        });
        // Nothing was asked: a query, answered or not, is written to the cache.
        let lab = answer_cache::path(&cache, "_uv-mirror.lab.example", "192.0.2.1:53");
        assert!(!lab.exists());
        let chosen = found.mirror.unwrap().value;
        assert_eq!(chosen.bases[0].as_str(), "https://m.corp.example/uv/");
        let details = line.details.join("\n");
        assert!(
            details.contains("_uv-mirror.corp.example: 1 TXT record; cached"),
            "{details}"
        );
        assert!(
            details.contains(
                "_uv-mirror.lab.example: not consulted: _uv-mirror.corp.example named the mirror"
            ),
            "{details}"
        );
    }

    /// A resolv.conf with a search domain whose cached answer names a
    /// mirror, and a server that does not exist: only what the settings
    /// trust decides whether that mirror is found.
    fn with_search_list(dns_search: bool) -> (SourceReport, Layer, Inputs) {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        let resolv = dir.path().join("resolv.conf");
        std::fs::write(&resolv, "search hotel-wifi.test\nnameserver 192.0.2.1\n").unwrap();
        let resolv = resolv.display().to_string();
        let env = |name: &str| (name == EnvVars::UV_SHIM_RESOLV_CONF).then(|| resolv.clone());
        let query = "_uv-mirror.hotel-wifi.test";
        let answer = Answer::new(
            query.into(),
            "192.0.2.1:53".into(),
            crate::fsutil::now_secs(),
            records(&["v=uvm1 url=https://pypi.hotel-wifi.test/uv/"]),
            Some(300),
        );
        answer_cache::write(&answer_cache::path(&cache, query, "192.0.2.1:53"), &answer);
        let mut s = settings(None, true);
        s.trust.dns_search = dns_search;
        let inputs = Inputs::new();
        let (line, found) = consult(&Input {
            env: &env,
            inputs: &inputs,
            settings: &s,
            cache: &cache,
            budget: &Budget::new(Duration::from_secs(5)),
        });
        (line, found, inputs)
    }

    #[test]
    fn nothing_pinned_reads_and_asks_nothing_and_says_how_to_pin() {
        let (line, found, inputs) = with_search_list(false);
        assert!(found.mirror.is_none());
        let Status::NotSet(why) = &line.status else {
            panic!("{:?}", line.status);
        };
        assert!(why.contains("no domain is pinned"), "{why}");
        assert!(why.contains("UV_SHIM_DNS_DOMAINS"), "{why}");
        assert!(why.contains("`dns-search = true`"), "{why}");
        // Not even the resolver's configuration was read, and the warm path
        // has no reason to come back.
        assert!(inputs.files().is_empty(), "{:?}", inputs.files());
        assert_eq!(inputs.expires(), u64::MAX);
    }

    #[test]
    fn the_search_list_counts_only_when_the_system_config_trusts_it() {
        let (line, found, inputs) = with_search_list(true);
        let chosen = found.mirror.expect("the search domain's record").value;
        assert_eq!(chosen.bases[0].as_str(), "https://pypi.hotel-wifi.test/uv/");
        let details = line.details.join("\n");
        assert!(
            details.contains("domains: hotel-wifi.test (from the search list of "),
            "{details}"
        );
        assert!(
            details.contains("trusted by `dns-search = true`"),
            "{details}"
        );
        assert!(
            inputs
                .files()
                .iter()
                .any(|(p, _)| p.ends_with("resolv.conf")),
            "{:?}",
            inputs.files()
        );
        assert!(inputs.expires() < u64::MAX);
    }

    #[test]
    fn an_empty_pinned_list_asks_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let s = settings(Some(" , "), true);
        let env = |_: &str| None;
        let (line, found) = consult(&Input {
            env: &env,
            inputs: &Inputs::new(),
            settings: &s,
            cache: &cache,
            budget: &Budget::new(Duration::from_secs(5)),
        });
        assert!(found.mirror.is_none());
        assert!(
            matches!(&line.status, Status::NotSet(why) if why.contains("no domains in env UV_SHIM_DNS_DOMAINS")),
            "{:?}",
            line.status
        );
    }

    #[test]
    fn a_bad_server_variable_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let s = settings(Some("corp.example"), true);
        let env =
            |name: &str| (name == EnvVars::UV_SHIM_DNS_SERVER).then(|| "dns.example".to_string());
        let (line, _) = consult(&Input {
            env: &env,
            inputs: &Inputs::new(),
            settings: &s,
            cache: &cache,
            budget: &Budget::new(Duration::from_secs(5)),
        });
        assert!(
            matches!(&line.status, Status::Error(e) if e.contains("UV_SHIM_DNS_SERVER")),
            "{:?}",
            line.status
        );
    }
}
