//! `uv-shim doctor`: every source in order with what it found, the chosen
//! mirror, the settings and their origins, the cache, the real uv, the
//! variables uv gets (and which were left alone), and the proxy variables
//! the shim's requests follow. Text for people, `--json` for tools. Every
//! string passes through [`redact`] as the report is built: URLs redacted
//! and control characters escaped, in both forms.

use std::process::ExitCode;

use serde::Serialize;

use crate::discover::{Depth, Status};
use crate::env_vars::Lookup;
use crate::metadata::freshness::Freshness;
use crate::metadata::proxy::Proxies;
use crate::pipeline::{self, Fetching, Run};
use crate::redact;

#[derive(Serialize)]
struct Report {
    version: &'static str,
    sources: Vec<SourceLine>,
    mirror: Option<MirrorLine>,
    settings: Vec<SettingLine>,
    metadata: Option<MetadataLine>,
    cache: CacheLine,
    proxy: ProxyReport,
    real_uv: UvLine,
    scheme: crate::decide::Scheme,
    env: Vec<crate::decide::Var>,
    notes: Vec<String>,
    problems: Vec<String>,
}

#[derive(Serialize)]
struct CacheLine {
    /// The folder in use (`None`: running without a cache).
    folder: Option<String>,
    /// Why the folder asked for is not the one in use.
    passed_over: Option<String>,
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
    /// Which roots vouched for the mirror's certificate on the last fetch.
    certificate: Option<&'static str>,
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
struct ProxyReport {
    /// Every proxy variable that is set, values redacted.
    variables: Vec<ProxyVariable>,
    /// The metadata sources that go through a proxy, and which.
    sources: Vec<ProxiedSource>,
}

#[derive(Serialize)]
struct ProxyVariable {
    name: &'static str,
    value: String,
}

#[derive(Serialize)]
struct ProxiedSource {
    source: String,
    proxy: String,
    variable: &'static str,
}

#[derive(Serialize)]
struct UvLine {
    path: Option<String>,
    origin: Option<String>,
    version: Option<String>,
    error: Option<String>,
    /// Other uv-shims found on PATH and passed over.
    other_shims: Vec<String>,
    /// What a `uvx` call runs: the real uvx, or the real uv's uvx command.
    uvx: Option<String>,
}

/// Runs `doctor`; exits 1 when something needs fixing.
pub fn run(env: Lookup, json: bool) -> anyhow::Result<ExitCode> {
    let run = pipeline::run(env, Depth::All, Fetching::Normal);
    let report = build(&run, &Proxies::from_env(env));
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

fn build(p: &Run, proxies: &Proxies) -> Report {
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
        .chain(&p.handover.problems)
        .chain(p.cache_passed.iter().map(|passed| &passed.why))
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
    let origin = |o: &crate::settings::Origin| redact::text(&o.to_string());
    let mut settings = vec![
        SettingLine {
            key: "ttl",
            value: humantime::format_duration(s.ttl.value).to_string(),
            origin: origin(&s.ttl.origin),
        },
        SettingLine {
            key: "dns",
            value: s.dns.value.to_string(),
            origin: origin(&s.dns.origin),
        },
        SettingLine {
            key: "system-certs",
            value: s.system_certs.value.as_str().into(),
            origin: s.system_certs.origin.to_string(),
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
                origin: origin(&v.origin),
            });
        }
    }
    if let Some(domains) = &l.dns_domains {
        settings.push(SettingLine {
            key: "dns-domains",
            value: redact::text(&domains.value.join(", ")),
            origin: origin(&domains.origin),
        });
    }
    settings.push(SettingLine {
        key: "allow-http",
        value: s.trust.allow_http.to_string(),
        origin: "system config only".into(),
    });
    settings.push(SettingLine {
        key: "dns-search",
        value: s.trust.dns_search.to_string(),
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
            cache_file: copy.map(|c| redact::text(&c.json.display().to_string())),
            state: state_name,
            source: copy.map(|c| redact::url(&c.state.source)),
            entries: copy.map(|c| c.state.entries),
            age_seconds: copy.map(|c| c.state.age(now).as_secs()),
            ttl_seconds: request.ttl.as_secs(),
            etag: copy.and_then(|c| c.state.etag.as_deref().map(redact::text)),
            certificate: copy.and_then(|c| c.state.tls).map(|t| t.describe()),
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

    let shims: Vec<String> = p
        .other_shims
        .iter()
        .map(|s| redact::text(&s.display().to_string()))
        .collect();
    let proxy = ProxyReport {
        variables: proxies
            .variables()
            .into_iter()
            .map(|(name, value)| ProxyVariable { name, value })
            .collect(),
        sources: p
            .request
            .iter()
            .flat_map(|r| &r.sources)
            .filter_map(|source| {
                let via = proxies.for_url(source)?;
                Some(ProxiedSource {
                    source: redact::url(source.as_str()),
                    proxy: via.proxy,
                    variable: via.variable,
                })
            })
            .collect(),
    };

    let real_uv = match &p.uv {
        Ok(uv) => UvLine {
            path: Some(redact::text(&uv.value.display().to_string())),
            origin: Some(origin(&uv.origin)),
            version: p.version.as_ref().map(|v| {
                redact::text(&match v {
                    Ok((version, crate::handover::uv_version::VersionSource::Cached)) => {
                        format!("{version} (cached)")
                    }
                    Ok((version, crate::handover::uv_version::VersionSource::Probed)) => {
                        format!("{version} (probed now)")
                    }
                    Err(err) => format!("unknown: {err}"),
                })
            }),
            error: None,
            other_shims: shims.clone(),
            uvx: p
                .target(crate::handover::face::Face::Uvx)
                .ok()
                .map(|t| redact::text(&t.explain())),
        },
        Err(err) => {
            let err = redact::text(&err.to_string());
            problems.push(err.clone());
            UvLine {
                path: None,
                origin: None,
                version: None,
                error: Some(err),
                other_shims: shims,
                uvx: None,
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
                origin: origin(&m.origin),
                bases: m
                    .value
                    .bases
                    .iter()
                    .map(|b| redact::url(b.as_str()))
                    .collect(),
                description: redact::text(&m.value.describe()),
            }),
        settings,
        metadata,
        proxy,
        real_uv,
        scheme: p.handover.scheme,
        env: p
            .handover
            .vars
            .iter()
            .map(|v| crate::decide::Var {
                value: redact::url(&v.value),
                why: redact::text(&v.why),
                ..v.clone()
            })
            .collect(),
        cache: CacheLine {
            folder: p
                .cache
                .is_usable()
                .then(|| redact::text(&p.cache.dir().display().to_string())),
            passed_over: p
                .cache_passed
                .as_ref()
                .map(|passed| redact::text(&passed.why)),
        },
        notes: p
            .discovery
            .paths
            .notes
            .iter()
            .chain(&p.handover.notes)
            .map(|n| redact::text(n))
            .collect(),
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
        if let Some(certificate) = m.certificate {
            let _ = writeln!(o, "  certificate        {certificate}");
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
    let _ = writeln!(o, "\nCache:");
    match &r.cache.folder {
        Some(folder) => {
            let _ = writeln!(o, "  {folder}");
        }
        None => {
            let _ = writeln!(o, "  none: this call runs without a cache");
        }
    }
    if let Some(why) = &r.cache.passed_over {
        let _ = writeln!(o, "  {why}");
    }
    let _ = writeln!(o, "\nProxy (followed by the shim's own requests):");
    if r.proxy.variables.is_empty() {
        let _ = writeln!(o, "  none: no proxy variable is set");
    }
    for v in &r.proxy.variables {
        let _ = writeln!(o, "  {:<18} {}", v.name, v.value);
    }
    for s in &r.proxy.sources {
        let _ = writeln!(
            o,
            "  {} goes through {} ({})",
            s.source, s.proxy, s.variable
        );
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
            if let Some(uvx) = &r.real_uv.uvx {
                let _ = writeln!(o, "  uvx {uvx}");
            }
        }
        (None, Some(err)) => {
            let _ = writeln!(o, "  not found: {err}");
        }
        (None, None) => {}
    }
    for shim in &r.real_uv.other_shims {
        let _ = writeln!(o, "  passed over {shim}: another uv-shim, not uv");
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
