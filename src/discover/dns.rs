//! Source 6: a DNS TXT record `_uv-mirror.<domain>` for each search domain.
//!
//! The flow, in the order of the search list and first hit wins:
//!
//! 1. the domains: `dns-domains` / `UV_SHIM_DNS_DOMAINS`, else the resolver's
//!    search list ([`resolve`]); there is no walking up to parent domains;
//! 2. the answer for each: from the cache while its TTL lasts
//!    ([`answer_cache`]), else queried, all missing names at once, within a
//!    hard time limit;
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
pub mod txt;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use self::answer_cache::{Answer, Outcome};
use self::resolve::SystemConf;
use self::txt::MirrorRecord;
use super::{Chosen, MetadataPlan, SourceReport, Status};
use crate::cache::Cache;
use crate::env_vars::{EnvVars, Lookup};
use crate::settings::{Layer, Origin, Settings, Sourced, Trust};

/// The label in front of every queried domain.
pub const LABEL: &str = "_uv-mirror";

/// How long one query may take. All names are asked at once, so this bounds
/// the whole lookup too.
const QUERY_LIMIT: Duration = Duration::from_secs(1);

/// How long to wait for another process that is querying the same resolver.
/// With [`QUERY_LIMIT`] it keeps a cache miss under two seconds.
const LOCK_WAIT: Duration = Duration::from_secs(1);

/// A record longer than this is cut short in reports.
const SHOWN_RECORD_LEN: usize = 240;

/// The resolv.conf read when `UV_SHIM_RESOLV_CONF` does not name another.
#[cfg(unix)]
const RESOLV_CONF: &str = "/etc/resolv.conf";

/// What DNS discovery may read.
pub struct Input<'a> {
    /// The environment.
    pub env: Lookup<'a>,
    /// The combined settings.
    pub settings: &'a Settings,
    /// The cache, for answers kept for their TTL.
    pub cache: &'a Cache,
}

/// Consults DNS; returns the report line and, when a record names a mirror,
/// the mirror and the settings the record carries (index, pypy, astral).
pub fn consult(input: &Input) -> (SourceReport, Option<(Chosen, Layer)>) {
    let mut line = SourceReport {
        name: "dns",
        location: format!("{LABEL}.<search domains>"),
        status: Status::NotSet(String::new()),
        details: Vec::new(),
    };
    if !input.settings.dns.value {
        line.status = Status::Skipped(format!(
            "disabled by `dns = false` in {}",
            input.settings.dns.origin
        ));
        return (line, None);
    }
    let candidate = run(input, &mut line).unwrap_or_else(|err| {
        line.status = Status::Error(err);
        None
    });
    (line, candidate)
}

/// Where the answers come from.
struct Resolver {
    servers: Vec<SocketAddr>,
    /// Part of each cache key: a different server (or network) asks afresh.
    id: String,
}

/// Whether an answer was read from the cache or received now.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Via {
    Cache,
    Query,
}

fn run(input: &Input, line: &mut SourceReport) -> Result<Option<(Chosen, Layer)>, String> {
    let mut system = SystemOnce {
        env: input.env,
        conf: None,
    };
    let (domains, domains_from) = search_domains(input.settings, &mut system)?;
    if domains.is_empty() {
        line.status = Status::NotSet(format!(
            "no search domains in {domains_from}; set `dns-domains` or {}",
            EnvVars::UV_SHIM_DNS_DOMAINS
        ));
        return Ok(None);
    }
    let queries: Vec<String> = domains.iter().map(|d| resolve::query_name(d)).collect();
    line.location = queries.join(", ");
    line.details.push(format!(
        "domains: {} (from {domains_from})",
        domains.join(", ")
    ));
    let (resolver, resolver_from) = resolver(input.env, &mut system)?;
    line.details
        .push(format!("resolver: {} (from {resolver_from})", resolver.id));

    let now = crate::cache::now_secs();
    let trust = &input.settings.trust;
    let paths: Vec<PathBuf> = queries
        .iter()
        .map(|q| answer_cache::path(input.cache, q, &resolver.id))
        .collect();
    let mut answers: Vec<Option<(Answer, Via)>> = queries
        .iter()
        .zip(&paths)
        .map(|(q, p)| fresh(p, q, &resolver.id, now).map(|a| (a, Via::Cache)))
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
    let missing: Vec<usize> = (0..needed).filter(|&i| answers[i].is_none()).collect();
    if !missing.is_empty() {
        query_missing(
            input.cache,
            &resolver,
            &queries,
            &paths,
            &missing,
            &mut answers,
        );
    }

    let mut refused = 0;
    let mut accepted = 0;
    let mut chosen = None;
    for (i, domain) in domains.iter().enumerate() {
        if let Some(winner) = chosen.as_ref().map(|(_, w): &(_, usize)| &queries[*w]) {
            line.details.push(format!(
                "{}: not consulted: {winner} named the mirror",
                queries[i]
            ));
            continue;
        }
        // Every domain up to the first usable one has an answer; this is a guard.
        let Some((answer, via)) = answers[i].as_ref() else {
            line.details.push(format!("{}: not consulted", queries[i]));
            continue;
        };
        line.details.push(format!(
            "{}: {}",
            queries[i],
            describe_answer(answer, *via, now)
        ));
        let verdict = judge(domain, &answer.outcome, trust);
        refused += verdict.refused;
        accepted += verdict.accepted;
        if *via == Via::Query {
            log_verdict(&queries[i], &verdict);
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

/// The system's resolver configuration, read once and only when needed.
struct SystemOnce<'a> {
    env: Lookup<'a>,
    conf: Option<Result<(SystemConf, String), String>>,
}

impl SystemOnce<'_> {
    fn get(&mut self) -> Result<(SystemConf, String), String> {
        let env = self.env;
        self.conf
            .get_or_insert_with(|| read_system_conf(env))
            .clone()
    }
}

/// The domains to ask about, in order, and where the list came from: the
/// `dns-domains` setting (env, user or system), else the system's search list.
fn search_domains(
    settings: &Settings,
    system: &mut SystemOnce,
) -> Result<(Vec<String>, String), String> {
    match &settings.layer.dns_domains {
        Some(configured) => Ok((
            dedup(
                configured
                    .value
                    .iter()
                    .filter_map(|d| resolve::normalise_domain(d)),
            ),
            configured.origin.to_string(),
        )),
        None => system.get().map(|(conf, from)| (conf.search, from)),
    }
}

/// The servers to ask, and where they came from: `UV_SHIM_DNS_SERVER`, else
/// the system's name servers.
fn resolver(env: Lookup, system: &mut SystemOnce) -> Result<(Resolver, String), String> {
    if let Some(value) = env(EnvVars::UV_SHIM_DNS_SERVER) {
        let server = resolve::parse_server(&value)
            .map_err(|e| format!("{}: {e}", EnvVars::UV_SHIM_DNS_SERVER))?;
        let resolver = Resolver {
            servers: vec![server],
            id: server.to_string(),
        };
        return Ok((resolver, EnvVars::UV_SHIM_DNS_SERVER.to_string()));
    }
    let (conf, from) = system.get()?;
    let mut servers = conf.nameservers;
    let from = if servers.is_empty() {
        // What the C library does without a `nameserver` line.
        servers.push(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 53));
        format!("{from}, which names none: the default")
    } else {
        from
    };
    let id = servers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    Ok((Resolver { servers, id }, from))
}

/// The search list and name servers, and where they came from.
fn read_system_conf(env: Lookup) -> Result<(SystemConf, String), String> {
    if let Some(path) = env(EnvVars::UV_SHIM_RESOLV_CONF) {
        let path = PathBuf::from(path);
        return resolve::read_resolv_conf(&path).map(|c| {
            (
                c,
                format!(
                    "{}, named by {}",
                    path.display(),
                    EnvVars::UV_SHIM_RESOLV_CONF
                ),
            )
        });
    }
    #[cfg(unix)]
    {
        let path = std::path::Path::new(RESOLV_CONF);
        resolve::read_resolv_conf(path).map(|c| (c, path.display().to_string()))
    }
    #[cfg(not(unix))]
    {
        resolve::read_platform_conf().map(|c| (c, "the system's DNS configuration".to_string()))
    }
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn fresh(path: &std::path::Path, query: &str, resolver: &str, now: u64) -> Option<Answer> {
    answer_cache::read(path, query, resolver).filter(|a| a.is_fresh(now))
}

/// Queries the names at `missing` and caches what comes back. One process
/// at a time: the others wait briefly, then find the answers in the cache.
fn query_missing(
    cache: &Cache,
    resolver: &Resolver,
    queries: &[String],
    paths: &[PathBuf],
    missing: &[usize],
    answers: &mut [Option<(Answer, Via)>],
) {
    // Without the lock (a read-only cache, a slow neighbour) we ask anyway.
    let _lock = crate::cache::lock(&answer_cache::lock_path(cache), LOCK_WAIT)
        .ok()
        .flatten();
    let now = crate::cache::now_secs();
    let still: Vec<usize> = missing
        .iter()
        .copied()
        .filter(
            |&i| match fresh(&paths[i], &queries[i], &resolver.id, now) {
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
    let replies = resolve::lookup(&names, &resolver.servers, QUERY_LIMIT);
    let now = crate::cache::now_secs();
    for (&i, reply) in still.iter().zip(replies) {
        let answer = match (
            &reply.outcome,
            answer_cache::read(&paths[i], &queries[i], &resolver.id),
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

fn describe_answer(answer: &Answer, via: Via, now: u64) -> String {
    let what = match &answer.outcome {
        Outcome::Timeout => format!(
            "no answer within {}",
            humantime::format_duration(QUERY_LIMIT)
        ),
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

/// What became of one domain's answer.
struct Verdict {
    /// One line per record.
    lines: Vec<String>,
    /// Records that passed the trust check.
    accepted: usize,
    /// `v=uvm1` records that did not.
    refused: usize,
    /// The mirror, when a record names a usable one.
    chosen: Option<(Chosen, Layer)>,
    /// Why records were refused, for the log.
    refusals: Vec<String>,
}

/// Parses and checks every record of one answer, and picks the winners.
fn judge(domain: &str, outcome: &Outcome, trust: &Trust) -> Verdict {
    let mut verdict = Verdict {
        lines: Vec::new(),
        accepted: 0,
        refused: 0,
        chosen: None,
        refusals: Vec::new(),
    };
    let Outcome::Records(records) = outcome else {
        return verdict;
    };
    // Records arrive in any order (servers rotate them): sort for a stable failover order.
    let mut records: Vec<(String, &Vec<u8>)> = records.iter().map(|r| (shown(r), r)).collect();
    records.sort();

    let mut notes: Vec<String> = Vec::with_capacity(records.len());
    let mut ok: Vec<(usize, MirrorRecord)> = Vec::new();
    for (i, (_, bytes)) in records.iter().enumerate() {
        match txt::parse(bytes) {
            // Not ours (another TXT record under the name), or ours but broken.
            Err(not_usable) => notes.push(format!("ignored: {not_usable}")),
            Ok(record) => match policy::check_record(&record, domain, trust) {
                Err(why) => {
                    verdict.refused += 1;
                    verdict.refusals.push(why.clone());
                    notes.push(format!("refused: {why}"));
                }
                Ok(()) => {
                    verdict.accepted += 1;
                    notes.push(String::new());
                    ok.push((i, record));
                }
            },
        }
    }
    let prios: Vec<u16> = ok.iter().map(|(_, r)| r.prio).collect();
    let winners = policy::winners(&prios);
    // Only read when a record was accepted, so there is a lowest prio.
    let best = prios.iter().min().copied().unwrap_or_default();
    for (n, (i, record)) in ok.iter().enumerate() {
        notes[*i] = if !winners.contains(&n) {
            format!("not chosen: prio {} loses to prio {best}", record.prio)
        } else if ok.len() == 1 {
            "chosen".into()
        } else if winners.len() == 1 {
            format!("chosen: prio {best} is the lowest")
        } else {
            format!(
                "chosen: prio {best} is the lowest, shared by {} records",
                winners.len()
            )
        };
    }
    for ((text, _), note) in records.iter().zip(&notes) {
        verdict.lines.push(format!("record `{text}`: {note}"));
    }
    if !winners.is_empty() {
        let winning: Vec<&MirrorRecord> = winners.iter().map(|&w| &ok[w].1).collect();
        verdict.chosen = Some(mirror_of(domain, &winning));
    }
    verdict
}

/// The mirror and extra settings named by the winning records of `domain`.
fn mirror_of(domain: &str, winning: &[&MirrorRecord]) -> (Chosen, Layer) {
    let origin = Origin::Dns(domain.to_string());
    let mut bases: Vec<Url> = Vec::new();
    let mut sources: Vec<Url> = Vec::new();
    for record in winning {
        for url in &record.urls {
            if !bases.contains(url) {
                bases.push(url.clone());
            }
        }
        let from_record: Vec<Url> = match &record.metadata {
            Some(metadata) => vec![metadata.clone()],
            None => record
                .urls
                .iter()
                .map(crate::urls::metadata_url_of)
                .collect(),
        };
        for url in from_record {
            if !sources.contains(&url) {
                sources.push(url);
            }
        }
    }
    // Where the winning records disagree, the first in the sorted order speaks.
    let first = |pick: fn(&MirrorRecord) -> Option<&Url>| {
        winning
            .iter()
            .find_map(|r| pick(r))
            .map(|url| Sourced::new(url.as_str().to_string(), origin.clone()))
    };
    let layer = Layer {
        pypy_mirror: first(|r| r.pypy.as_ref()),
        index_url: first(|r| r.index.as_ref()),
        astral_mirror: first(|r| r.astral.as_ref()),
        ..Layer::default()
    };
    let chosen = Chosen {
        origin,
        bases,
        metadata: MetadataPlan::Fetch(sources),
    };
    (chosen, layer)
}

/// Refusals are worth a warning, once per fresh answer rather than on every
/// call; records that are not ours or are broken only at debug level.
fn log_verdict(query: &str, verdict: &Verdict) {
    for why in &verdict.refusals {
        crate::log::warn(format!(
            "DNS record {query} refused: {why} (see `uv-shim doctor`)"
        ));
    }
    for line in &verdict.lines {
        crate::log::debug(|| format!("DNS {query}: {line}"));
    }
}

/// A record as shown in reports: escaped, and cut short when long.
fn shown(bytes: &[u8]) -> String {
    let text = txt::escape(bytes);
    match text.char_indices().nth(SHOWN_RECORD_LEN) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(texts: &[&str]) -> Outcome {
        Outcome::Records(texts.iter().map(|t| t.as_bytes().to_vec()).collect())
    }

    #[test]
    fn winning_prio_gives_the_failover_list() {
        let outcome = records(&[
            "v=uvm1 url=https://b.corp.example/uv/ prio=10",
            "v=uvm1 url=https://backup.corp.example/uv/ prio=20 index=https://backup.corp.example/simple",
            "v=uvm1 url=https://a.corp.example/uv/ prio=10 index=https://a.corp.example/simple",
        ]);
        let verdict = judge("corp.example", &outcome, &Trust::default());
        let (chosen, layer) = verdict.chosen.unwrap();
        let bases: Vec<&str> = chosen.bases.iter().map(Url::as_str).collect();
        assert_eq!(
            bases,
            ["https://a.corp.example/uv/", "https://b.corp.example/uv/"]
        );
        assert_eq!(
            chosen.metadata,
            MetadataPlan::Fetch(vec![
                Url::parse("https://a.corp.example/uv/download-metadata.json").unwrap(),
                Url::parse("https://b.corp.example/uv/download-metadata.json").unwrap(),
            ])
        );
        assert_eq!(chosen.origin, Origin::Dns("corp.example".into()));
        let index = layer.index_url.unwrap();
        assert_eq!(index.value, "https://a.corp.example/simple");
        assert_eq!(index.origin, Origin::Dns("corp.example".into()));
        assert_eq!(verdict.accepted, 3);
        assert!(verdict.lines.iter().any(|l| l.contains("backup") && l.contains("not chosen: prio 20 loses to prio 10")));
    }

    #[test]
    fn a_refused_low_prio_record_lets_the_next_one_win() {
        let outcome = records(&[
            "v=uvm1 url=http://m.corp.example/uv/ prio=1",
            "v=uvm1 url=https://m.corp.example/uv/ prio=5 metadata=https://m.corp.example/meta.json",
            "hello world",
        ]);
        let verdict = judge("corp.example", &outcome, &Trust::default());
        let (chosen, _) = verdict.chosen.unwrap();
        assert_eq!(
            chosen.metadata,
            MetadataPlan::Fetch(vec![
                Url::parse("https://m.corp.example/meta.json").unwrap()
            ])
        );
        assert_eq!((verdict.accepted, verdict.refused), (1, 1));
        assert!(verdict.lines.iter().any(
            |l| l.contains("hello world") && l.contains("ignored: does not start with v=uvm1")
        ));
        assert!(
            verdict
                .lines
                .iter()
                .any(|l| l.contains("refused: `url` http://m.corp.example/uv/ is plain http"))
        );
    }

    #[test]
    fn nothing_usable_chooses_nothing() {
        for outcome in [
            Outcome::NoSuchName,
            Outcome::Timeout,
            records(&["v=uvm1 url=https://evil.test/"]),
            records(&[]),
        ] {
            assert!(
                judge("corp.example", &outcome, &Trust::default())
                    .chosen
                    .is_none()
            );
        }
    }

    #[test]
    fn long_records_are_cut_in_reports() {
        let long = format!("v=uvm1 {}", "x".repeat(1000));
        let s = shown(long.as_bytes());
        assert!(s.ends_with('…') && s.chars().count() == SHOWN_RECORD_LEN + 1);
        assert_eq!(shown(b"short\n"), "short\\x0a");
    }

    fn settings(domains: Option<&str>, dns: bool) -> Settings {
        let env = |name: &str| match name {
            n if n == EnvVars::UV_SHIM_DNS_DOMAINS => domains.map(str::to_string),
            _ => None,
        };
        let mut s = Settings::resolve(Layer::from_env(&env), None, None);
        s.dns.value = dns;
        s
    }

    #[test]
    fn disabled_dns_asks_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let s = settings(Some("corp.example"), false);
        let env = |_: &str| None;
        let (line, chosen) = consult(&Input {
            env: &env,
            settings: &s,
            cache: &cache,
        });
        assert!(matches!(line.status, Status::Skipped(_)));
        assert!(chosen.is_none());
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
            crate::cache::now_secs(),
            records(&["v=uvm1 url=https://m.corp.example/uv/"]),
            Some(300),
        );
        answer_cache::write(&answer_cache::path(&cache, query, "192.0.2.1:53"), &answer);
        let started = std::time::Instant::now();
        let (line, chosen) = consult(&Input {
            env: &env,
            settings: &s,
            cache: &cache,
        });
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
        let (chosen, _) = chosen.unwrap();
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

    #[test]
    fn a_bad_server_variable_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_path_buf());
        let s = settings(Some("corp.example"), true);
        let env =
            |name: &str| (name == EnvVars::UV_SHIM_DNS_SERVER).then(|| "dns.example".to_string());
        let (line, _) = consult(&Input {
            env: &env,
            settings: &s,
            cache: &cache,
        });
        assert!(
            matches!(&line.status, Status::Error(e) if e.contains("UV_SHIM_DNS_SERVER")),
            "{:?}",
            line.status
        );
    }
}
