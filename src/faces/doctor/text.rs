//! `doctor`'s report as text for people: one section per stage of the
//! pipeline, in the order data flows.

use super::report::Report;

pub(super) fn render(r: &Report) -> String {
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
        if let Some(key) = &m.signed_by {
            let _ = writeln!(o, "  signed by          minisign key {key} (trusted-keys)");
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
            if let Some(uvw) = &r.real_uv.uvw {
                let _ = writeln!(o, "  uvw {uvw}");
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
