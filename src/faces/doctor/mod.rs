//! `uv-shim doctor`: every source in order with what it found, the chosen
//! mirror, the settings and their origins, the cache, the real uv, the
//! variables uv gets (and which were left alone), and the proxy variables
//! the shim's requests follow. Text for people, `--json` for tools. Every
//! string passes through [`redact`] as the report is built: URLs redacted
//! and control characters escaped, in both forms.

use std::process::ExitCode;

use crate::discover::{Depth, Status};
use crate::env_vars::Lookup;
use crate::metadata::freshness::Freshness;
use crate::metadata::proxy::Proxies;
use crate::pipeline::{self, Fetching, Run};
use crate::redact;

mod report;
mod text;

use report::*;

/// Runs `doctor`; exits 1 when something needs fixing.
pub fn run(env: Lookup, json: bool) -> anyhow::Result<ExitCode> {
    let run = pipeline::run(env, Depth::All, Fetching::Normal);
    let report = build(&run, &Proxies::from_env(env));
    let failed = !report.problems.is_empty();
    let text = if json {
        format!("{}\n", serde_json::to_string_pretty(&report)?)
    } else {
        text::render(&report)
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

/// Where the keys a user file cannot loosen come from.
const TRUST_ORIGIN: &str = "system or built-in config only";

/// What a `face` call runs, as doctor says it.
fn explain(p: &Run, face: crate::handover::face::Face) -> Option<String> {
    p.target(face).ok().map(|t| redact::text(&t.explain(face)))
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
        origin: TRUST_ORIGIN.into(),
    });
    settings.push(SettingLine {
        key: "dns-search",
        value: s.trust.dns_search.to_string(),
        origin: TRUST_ORIGIN.into(),
    });
    if !s.trust.dns_allowed_hosts.is_empty() {
        settings.push(SettingLine {
            key: "dns-allowed-hosts",
            value: s.trust.dns_allowed_hosts.join(", "),
            origin: TRUST_ORIGIN.into(),
        });
    }
    if !s.trust.allowed_hosts.is_empty() {
        settings.push(SettingLine {
            key: "allowed-hosts",
            value: s.trust.allowed_hosts.join(", "),
            origin: TRUST_ORIGIN.into(),
        });
    }
    settings.push(SettingLine {
        key: "require-sha256",
        value: s.trust.require_sha256.to_string(),
        origin: TRUST_ORIGIN.into(),
    });
    if !s.trust.trusted_keys.is_empty() {
        // Key ids, as minisign shows them (the config was checked when read).
        let ids: Vec<String> = s
            .trust
            .trusted_keys
            .iter()
            .filter_map(|k| crate::signature::TrustedKey::parse(k).ok())
            .map(|k| k.id().to_string())
            .collect();
        settings.push(SettingLine {
            key: "trusted-keys",
            value: ids.join(", "),
            origin: TRUST_ORIGIN.into(),
        });
    }

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
            signed_by: copy.and_then(|c| c.state.signed_by.clone()),
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
            uvx: explain(p, crate::handover::face::Face::Uvx),
            // Only Windows has a uvw.
            uvw: cfg!(windows)
                .then(|| explain(p, crate::handover::face::Face::Uvw))
                .flatten(),
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
                uvw: None,
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
