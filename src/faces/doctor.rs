//! `uv-shim doctor`: every source in order with what it found, the chosen
//! mirror, the settings and their origins, the cache, the real uv, and the
//! variables uv gets (and which were left alone). Text for people, `--json`
//! for tools; URLs are always redacted.

use std::process::ExitCode;

use serde::Serialize;

use crate::discover::{Depth, Status};
use crate::env_vars::Lookup;
use crate::metadata::freshness::Freshness;
use crate::pipeline::{self, Fetching, Run};
use crate::redact;

#[derive(Serialize)]
struct Report {
    version: &'static str,
    sources: Vec<SourceLine>,
    mirror: Option<MirrorLine>,
    settings: Vec<SettingLine>,
    metadata: Option<MetadataLine>,
    real_uv: UvLine,
    scheme: crate::decide::Scheme,
    env: Vec<crate::decide::Var>,
    notes: Vec<String>,
    problems: Vec<String>,
}

#[derive(Serialize)]
struct SourceLine {
    order: usize,
    name: &'static str,
    location: String,
    status: &'static str,
    detail: String,
    details: Vec<String>,
}

#[derive(Serialize)]
struct MirrorLine {
    origin: String,
    bases: Vec<String>,
    description: String,
}

#[derive(Serialize)]
struct SettingLine {
    key: &'static str,
    value: String,
    origin: String,
}

#[derive(Serialize)]
struct MetadataLine {
    sources: Vec<String>,
    rewrite: &'static str,
    cache_file: Option<String>,
    state: &'static str,
    source: Option<String>,
    entries: Option<u64>,
    age_seconds: Option<u64>,
    ttl_seconds: u64,
    etag: Option<String>,
    dropped: Option<DroppedLine>,
    last_error: Option<String>,
}

/// The entries of the document left out of the copy, and the first reasons.
#[derive(Serialize)]
struct DroppedLine {
    count: u64,
    first: Vec<String>,
}

#[derive(Serialize)]
struct UvLine {
    path: Option<String>,
    origin: Option<String>,
    version: Option<String>,
    error: Option<String>,
}

/// Runs `doctor`; exits 1 when something needs fixing.
pub fn run(env: Lookup, json: bool) -> anyhow::Result<ExitCode> {
    let run = pipeline::run(env, Depth::All, Fetching::Normal);
    let report = build(&run);
    let failed = !report.problems.is_empty();
    let text = if json {
        format!("{}\n", serde_json::to_string_pretty(&report)?)
    } else {
        render(&report)
    };
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn build(p: &Run) -> Report {
    let sources = p
        .discovery
        .report
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let (status, detail) = match &line.status {
                Status::Chosen(d) => ("chosen", d.clone()),
                Status::Shadowed(d) => ("shadowed", format!("{d} (an earlier source wins)")),
                Status::NotSet(d) => ("not set", d.clone()),
                Status::Skipped(d) => ("skipped", d.clone()),
                Status::Error(d) => ("error", d.clone()),
            };
            SourceLine {
                order: i + 1,
                name: line.id.name(),
                location: redact::text(&line.location),
                status,
                detail: redact::text(&detail),
                details: line.details.iter().map(|d| redact::text(d)).collect(),
            }
        })
        .collect();

    let mut problems: Vec<String> = p
        .discovery
        .problems
        .iter()
        .map(|s| redact::text(s))
        .collect();
    problems.extend(p.discovery.report.iter().filter_map(|l| {
        match &l.status {
            Status::Error(e)
                if !p
                    .discovery
                    .problems
                    .iter()
                    .any(|pr| pr.contains(e.as_str())) =>
            {
                Some(redact::text(&format!("{}: {e}", l.id.name())))
            }
            _ => None,
        }
    }));

    let s = &p.discovery.settings;
    let mut settings = vec![
        SettingLine {
            key: "ttl",
            value: humantime::format_duration(s.ttl.value).to_string(),
            origin: s.ttl.origin.to_string(),
        },
        SettingLine {
            key: "dns",
            value: s.dns.value.to_string(),
            origin: s.dns.origin.to_string(),
        },
    ];
    let l = &s.layer;
    for (key, value) in [
        ("pypy-mirror", &l.pypy_mirror),
        ("index-url", &l.index_url),
        ("astral-mirror", &l.astral_mirror),
    ] {
        if let Some(v) = value {
            settings.push(SettingLine {
                key,
                value: redact::url(&v.value),
                origin: v.origin.to_string(),
            });
        }
    }
    if let Some(domains) = &l.dns_domains {
        settings.push(SettingLine {
            key: "dns-domains",
            value: domains.value.join(", "),
            origin: domains.origin.to_string(),
        });
    }
    settings.push(SettingLine {
        key: "allow-http",
        value: s.trust.allow_http.to_string(),
        origin: "system config only".into(),
    });
    if !s.trust.dns_allowed_hosts.is_empty() {
        settings.push(SettingLine {
            key: "dns-allowed-hosts",
            value: s.trust.dns_allowed_hosts.join(", "),
            origin: "system config only".into(),
        });
    }
    if !s.trust.allowed_hosts.is_empty() {
        settings.push(SettingLine {
            key: "allowed-hosts",
            value: s.trust.allowed_hosts.join(", "),
            origin: "system config only".into(),
        });
    }
    settings.push(SettingLine {
        key: "require-sha256",
        value: s.trust.require_sha256.to_string(),
        origin: "system config only".into(),
    });

    let metadata = p.request.as_ref().map(|request| {
        let now = crate::fsutil::now_secs();
        let (state_name, copy, error) = match &p.freshness {
            Some(Freshness::Fresh(c)) => ("fresh", Some(c), None),
            Some(Freshness::Fetched(c)) => ("fetched now", Some(c), None),
            Some(Freshness::Revalidated(c)) => ("revalidated now", Some(c), None),
            Some(Freshness::Stale { copy, error, .. }) => {
                ("stale (refresh failed)", Some(copy), Some(error.clone()))
            }
            Some(Freshness::Unavailable { error, .. }) => {
                ("unavailable", None, Some(error.clone()))
            }
            None => ("not fetched", None, None),
        };
        if let Some(error) = &error
            && copy.is_none()
        {
            problems.push(redact::text(&format!("no metadata: {error}")));
        }
        MetadataLine {
            sources: request
                .sources
                .iter()
                .map(|u| redact::url(u.as_str()))
                .collect(),
            rewrite: request.rewrite.tag(),
            cache_file: copy.map(|c| c.json.display().to_string()),
            state: state_name,
            source: copy.map(|c| redact::url(&c.state.source)),
            entries: copy.map(|c| c.state.entries),
            age_seconds: copy.map(|c| c.state.age(now).as_secs()),
            ttl_seconds: request.ttl.as_secs(),
            etag: copy.and_then(|c| c.state.etag.clone()),
            dropped: copy.map(|c| DroppedLine {
                count: c.state.dropped,
                first: c
                    .state
                    .dropped_first
                    .iter()
                    .map(|d| redact::text(d))
                    .collect(),
            }),
            last_error: error.map(|e| redact::text(&e)),
        }
    });

    let real_uv = match &p.uv {
        Ok(uv) => UvLine {
            path: Some(uv.value.display().to_string()),
            origin: Some(uv.origin.to_string()),
            version: p.version.as_ref().map(|v| match v {
                Ok((version, crate::handover::real_uv::VersionSource::Cached)) => {
                    format!("{version} (cached)")
                }
                Ok((version, crate::handover::real_uv::VersionSource::Probed)) => {
                    format!("{version} (probed now)")
                }
                Err(err) => format!("unknown: {err}"),
            }),
            error: None,
        },
        Err(err) => {
            problems.push(err.to_string());
            UvLine {
                path: None,
                origin: None,
                version: None,
                error: Some(err.to_string()),
            }
        }
    };

    Report {
        version: env!("CARGO_PKG_VERSION"),
        sources,
        mirror: p
            .discovery
            .settings
            .layer
            .mirror
            .as_ref()
            .map(|m| MirrorLine {
                origin: m.origin.to_string(),
                bases: m
                    .value
                    .bases
                    .iter()
                    .map(|b| redact::url(b.as_str()))
                    .collect(),
                description: m.value.describe(),
            }),
        settings,
        metadata,
        real_uv,
        scheme: p.handover.scheme,
        env: p
            .handover
            .vars
            .iter()
            .map(|v| crate::decide::Var {
                value: redact::url(&v.value),
                ..v.clone()
            })
            .collect(),
        notes: p.handover.notes.iter().map(|n| redact::text(n)).collect(),
        problems,
    }
}

fn render(r: &Report) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(o, "uv-shim {}", r.version);
    let _ = writeln!(o, "\nDiscovery (first source that names a mirror wins):");
    for s in &r.sources {
        let _ = writeln!(o, "  {}. {:<16} {}", s.order, s.name, s.location);
        let _ = writeln!(o, "       {}: {}", s.status, s.detail);
        for d in &s.details {
            let _ = writeln!(o, "       - {d}");
        }
    }
    let _ = writeln!(o, "\nMirror:");
    match &r.mirror {
        Some(m) => {
            let _ = writeln!(o, "  {}\n  from {}", m.description, m.origin);
        }
        None => {
            let _ = writeln!(o, "  none: uv runs untouched (pass-through)");
        }
    }
    let _ = writeln!(o, "\nSettings:");
    for s in &r.settings {
        let _ = writeln!(o, "  {:<18} {:<30} ({})", s.key, s.value, s.origin);
    }
    if let Some(m) = &r.metadata {
        let _ = writeln!(o, "\nMetadata:");
        let _ = writeln!(o, "  sources            {}", m.sources.join(", "));
        let _ = writeln!(o, "  urls handed to uv  {}", m.rewrite);
        let _ = writeln!(o, "  state              {}", m.state);
        if let Some(file) = &m.cache_file {
            let _ = writeln!(o, "  cache file         {file}");
        }
        if let (Some(source), Some(entries), Some(age)) = (&m.source, m.entries, m.age_seconds) {
            let _ = writeln!(
                o,
                "  copy               {entries} entries from {source}, confirmed {} ago (ttl {})",
                humantime::format_duration(std::time::Duration::from_secs(age)),
                humantime::format_duration(std::time::Duration::from_secs(m.ttl_seconds))
            );
        }
        if let Some(etag) = &m.etag {
            let _ = writeln!(o, "  validator          {etag}");
        }
        if let Some(dropped) = m.dropped.as_ref().filter(|d| d.count > 0) {
            let _ = writeln!(
                o,
                "  dropped            {} entries not handed to uv, the first:",
                dropped.count
            );
            for first in &dropped.first {
                let _ = writeln!(o, "                     - {first}");
            }
        }
        if let Some(err) = &m.last_error {
            let _ = writeln!(o, "  last error         {err}");
        }
    }
    let _ = writeln!(o, "\nReal uv:");
    match (&r.real_uv.path, &r.real_uv.error) {
        (Some(path), _) => {
            let _ = writeln!(
                o,
                "  {path} (from {})",
                r.real_uv.origin.as_deref().unwrap_or("?")
            );
            if let Some(v) = &r.real_uv.version {
                let _ = writeln!(o, "  version {v}");
            }
        }
        (None, Some(err)) => {
            let _ = writeln!(o, "  not found: {err}");
        }
        (None, None) => {}
    }
    let _ = writeln!(
        o,
        "\nEnvironment for uv (scheme: {}):",
        serde_json::to_value(r.scheme)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    );
    if r.env.is_empty() {
        let _ = writeln!(o, "  (nothing set)");
    }
    for v in &r.env {
        let verb = if v.set { "set " } else { "kept" };
        let _ = writeln!(o, "  {verb} {}={}\n       {}", v.name, v.value, v.why);
    }
    if !r.notes.is_empty() {
        let _ = writeln!(o, "\nNotes:");
        for n in &r.notes {
            let _ = writeln!(o, "  - {n}");
        }
    }
    if !r.problems.is_empty() {
        let _ = writeln!(o, "\nProblems:");
        for p in &r.problems {
            let _ = writeln!(o, "  - {p}");
        }
    }
    o
}
