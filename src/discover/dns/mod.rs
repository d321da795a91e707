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
mod tests;
