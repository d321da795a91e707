//! What a DNS answer amounts to: each record parsed ([`super::txt`]) and
//! checked against the trust rule ([`super::policy`]), the lowest `prio`
//! winning, and the mirror (with the keys that ride along) the winners name.

use url::Url;

use super::answer_cache::Outcome;
use super::policy;
use super::txt::{self, MirrorRecord};
use crate::settings::{Layer, MetadataSource, Mirror, Origin, Sourced, Trust};

/// A record longer than this is cut short in reports.
const SHOWN_RECORD_LEN: usize = 240;

/// What became of one domain's answer.
pub struct Verdict {
    /// One line per record.
    pub lines: Vec<String>,
    /// Records that passed the trust check.
    pub accepted: usize,
    /// `v=uvm1` records that did not.
    pub refused: usize,
    /// The mirror (and the keys riding along), when a record names a usable one.
    pub chosen: Option<Layer>,
    /// Why records were refused, for the log.
    pub refusals: Vec<String>,
}

/// Parses and checks every record of one answer, and picks the winners.
pub fn judge(domain: &str, outcome: &Outcome, trust: &Trust) -> Verdict {
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
fn mirror_of(domain: &str, winning: &[&MirrorRecord]) -> Layer {
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
    let mirror = Mirror {
        bases,
        metadata: MetadataSource::Fetch(sources),
    };
    Layer {
        mirror: Some(Sourced::new(mirror, origin.clone())),
        pypy_mirror: first(|r| r.pypy.as_ref()),
        index_url: first(|r| r.index.as_ref()),
        astral_mirror: first(|r| r.astral.as_ref()),
        ..Layer::default()
    }
}

/// Refusals are worth a warning, once per fresh answer rather than on every
/// call; records that are not ours or are broken only at debug level.
pub fn log_verdict(query: &str, verdict: &Verdict) {
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
pub fn shown(bytes: &[u8]) -> String {
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
        let layer = verdict.chosen.unwrap();
        let chosen = layer.mirror.clone().unwrap();
        let bases: Vec<&str> = chosen.value.bases.iter().map(Url::as_str).collect();
        assert_eq!(
            bases,
            ["https://a.corp.example/uv/", "https://b.corp.example/uv/"]
        );
        assert_eq!(
            chosen.value.metadata,
            MetadataSource::Fetch(vec![
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
        let chosen = verdict.chosen.unwrap().mirror.unwrap().value;
        assert_eq!(
            chosen.metadata,
            MetadataSource::Fetch(vec![
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
}
