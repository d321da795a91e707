//! What a sync will look at, decided before any file is read or fetched:
//! the upstream entries the filters take, the mirror's own entries, and one
//! [`Item`] per file with what it must hash to and where to get it.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use url::Url;

use super::for_uv;
use super::options::SyncOptions;
use crate::mirror::entry::{self, compare_builds};
use crate::mirror::layout::{self, RelPath, STATE_DIR};
use crate::mirror::manifest::Manifest;
use crate::mirror::select;
use crate::mirror::write::Placed;
use crate::urls::METADATA_FILE;

/// One file of the mirror that this run looks at.
#[derive(Debug, Clone)]
pub struct Item {
    /// Where the file lives in the mirror.
    pub rel: RelPath,
    /// The sha256 the file must have (upstream's, else the mirror's own entry's).
    pub expected: Option<String>,
    /// Where to get it when it is missing or wrong (none: only check it).
    pub url: Option<Url>,
    /// The file's hash as the manifest knows it (the stamp still holds).
    pub known: Option<String>,
    /// Whether this run's upstream list names it (else only the mirror's metadata does).
    pub from_upstream: bool,
}

impl Item {
    /// Whether a known hash already settles the item.
    pub fn satisfied_by(&self, sha: Option<&str>) -> bool {
        sha.is_some_and(|sha| self.expected.as_deref().is_none_or(|e| e == sha))
    }
}

/// What a sync has to say besides its counts; collected while planning and
/// while the workers run, printed again in the summary.
#[derive(Debug, Default)]
pub struct Findings {
    /// Problems (they fail the run).
    pub problems: Vec<String>,
    /// Things worth saying that are not failures.
    pub notes: Vec<String>,
}

/// Everything known before the work starts.
pub struct SyncPlan {
    /// The upstream entries the filters take, placed in the mirror, then
    /// those of the `--for-uv` lists.
    pub upstream: Vec<Placed>,
    /// The files the `--for-uv` lists name: fetched even where the mirror
    /// holds a newer build of their key, and kept by `--prune`.
    pub for_uv: HashSet<RelPath>,
    /// The entries of the mirror's metadata as it was.
    pub existing: Vec<Placed>,
    /// Every file named by either, once.
    pub items: Vec<Item>,
    /// The manifest as it was.
    pub manifest: Manifest,
    /// What is worth saying so far.
    pub findings: Findings,
    /// Held for the whole run, so two syncs never write one mirror.
    _lock: Option<crate::fsutil::Lock>,
}

impl SyncPlan {
    /// Reads the upstream list, the mirror's metadata and its manifest, and
    /// takes the mirror's lock (not on a dry run, which changes nothing).
    pub fn prepare(s: &SyncOptions) -> anyhow::Result<SyncPlan> {
        let mut findings = Findings::default();
        let mut upstream = read_upstream(s, &mut findings)?;
        let for_uv = add_for_uv(s, &mut upstream, &mut findings)?;
        let lock = if s.dry_run {
            None
        } else {
            Some(lock(&s.dest)?)
        };
        let manifest = Manifest::load(&s.dest);
        let existing = existing_entries(&s.dest, &mut findings.notes)?;
        let items = items(
            s,
            &upstream,
            &for_uv,
            &existing,
            &manifest,
            &mut findings.problems,
        );
        Ok(SyncPlan {
            upstream,
            for_uv,
            existing,
            items,
            manifest,
            findings,
            _lock: lock,
        })
    }
}

/// The entries of `--from` that the filters take, each placed in the mirror.
fn read_upstream(s: &SyncOptions, findings: &mut Findings) -> anyhow::Result<Vec<Placed>> {
    let shown_from = crate::redact::url(s.from.as_str());
    let access = crate::metadata::fetch::Access {
        auth: &s.auth,
        probe: None,
    };
    let body = match crate::metadata::fetch::fetch(
        &s.from,
        &Default::default(),
        s.timeout.max(Duration::from_secs(30)),
        access,
    )
    .with_context(|| format!("cannot read the upstream list {shown_from}"))?
    {
        crate::metadata::fetch::Fetched::Body { body, .. } => body,
        crate::metadata::fetch::Fetched::NotModified => {
            anyhow::bail!("{shown_from} answered 304 to an unconditional request")
        }
    };
    let (all, dropped) = entry::parse_document_with_drops(&body, &s.from)?;
    if dropped.count > 0 {
        // Entries uv itself would skip: left out of the mirror, said once.
        findings.notes.push(format!(
            "{shown_from}: {} entries left out; the first: {}",
            dropped.count,
            dropped.first.join("; ")
        ));
    }
    let picked: HashSet<usize> = select::select(&all, &s.filters).into_iter().collect();
    if picked.is_empty() {
        anyhow::bail!(
            "no download in {shown_from} matches the filters ({} entries; {})",
            all.len(),
            select::offered(&all)
        );
    }
    let mut upstream = Vec::new();
    let mut unhashed = 0;
    for (i, download) in all.into_iter().enumerate() {
        if !picked.contains(&i) {
            continue;
        }
        unhashed += usize::from(download.sha256.is_none());
        match layout::rel_path_for(&download.name, download.build.as_deref(), &download.url) {
            Ok(rel) => upstream.push(Placed { download, rel }),
            Err(why) => findings.problems.push(format!(
                "{}: cannot place it in the mirror: {why}",
                download.key
            )),
        }
    }
    if unhashed > 0 {
        findings.notes.push(format!(
            "{unhashed} entries of {shown_from} publish no sha256: their files are taken as they arrive, and the mirror's metadata records what they hashed to"
        ));
    }
    Ok(upstream)
}

/// Appends the entries of the `--for-uv` lists to `upstream` and returns
/// their files. One note per uv version says how many it takes.
fn add_for_uv(
    s: &SyncOptions,
    upstream: &mut Vec<Placed>,
    findings: &mut Findings,
) -> anyhow::Result<HashSet<RelPath>> {
    let mut rels = HashSet::new();
    let mut counts: Vec<(String, usize)> = Vec::new();
    for (version, download) in for_uv::read_lists(s)? {
        match layout::rel_path_for(&download.name, download.build.as_deref(), &download.url) {
            Ok(rel) => {
                rels.insert(rel.clone());
                match counts.last_mut() {
                    Some((v, n)) if *v == version => *n += 1,
                    _ => counts.push((version, 1)),
                }
                upstream.push(Placed { download, rel });
            }
            Err(why) => findings.problems.push(format!(
                "{} (uv {version}): cannot place it in the mirror: {why}",
                download.key
            )),
        }
    }
    for (version, n) in counts {
        findings.notes.push(format!(
            "uv {version}: {n} builds of its built-in list are taken"
        ));
    }
    Ok(rels)
}

/// Creates the mirror folder and takes its lock, refusing to wait for another sync.
fn lock(dest: &Path) -> anyhow::Result<crate::fsutil::Lock> {
    std::fs::create_dir_all(dest.join(STATE_DIR))
        .with_context(|| format!("cannot create the mirror folder {}", dest.display()))?;
    let path = dest.join(STATE_DIR).join("lock");
    crate::fsutil::lock(&path, Duration::ZERO)
        .with_context(|| format!("cannot lock {}", path.display()))?
        .with_context(|| {
            format!(
                "another `mirror sync` is working on {} (it holds {})",
                dest.display(),
                path.display()
            )
        })
}

/// The entries of the mirror's current metadata, placed.
fn existing_entries(dest: &Path, notes: &mut Vec<String>) -> anyhow::Result<Vec<Placed>> {
    let path = dest.join(METADATA_FILE);
    let body = match std::fs::read(&path) {
        Ok(body) => body,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
    };
    let source = Url::from_file_path(&path)
        .map_err(|()| anyhow::anyhow!("{} is not an absolute path", path.display()))?;
    let downloads = match entry::parse_document(&body, &source) {
        Ok(downloads) => downloads,
        Err(crate::metadata::schema::MetadataError::Empty { .. }) => return Ok(Vec::new()),
        Err(err) => {
            return Err(anyhow::anyhow!(
                "the mirror's own metadata is damaged: {err}; fix it, or move it away to rebuild it from the files"
            ));
        }
    };
    let mut placed = Vec::new();
    for download in downloads {
        match RelPath::from_file_url(dest, &download.url) {
            Some(rel) => placed.push(Placed { download, rel }),
            None => notes.push(format!(
                "{}: the mirror's metadata names {}, which is not a file of the mirror; dropped",
                download.key,
                crate::redact::url(download.url.as_str())
            )),
        }
    }
    Ok(placed)
}

/// One item per file that `upstream` or `existing` names: upstream's first,
/// in its order, each with a URL unless the mirror already holds a newer
/// verified build of its key (or `--offline`); `--for-uv` files always have one.
fn items(
    s: &SyncOptions,
    upstream: &[Placed],
    for_uv: &HashSet<RelPath>,
    existing: &[Placed],
    manifest: &Manifest,
    problems: &mut Vec<String>,
) -> Vec<Item> {
    // The newest build per key that the mirror already holds, verified
    // by its stamp: no point fetching an older one.
    let mut newest_held: HashMap<&str, Option<&str>> = HashMap::new();
    for p in existing {
        if p.download.sha256.is_some()
            && manifest.known(&s.dest, &p.rel) == p.download.sha256.as_deref()
        {
            let slot = newest_held
                .entry(&p.download.key)
                .or_insert(p.download.build.as_deref());
            if compare_builds(p.download.build.as_deref(), *slot).is_gt() {
                *slot = p.download.build.as_deref();
            }
        }
    }

    let mut items: Vec<Item> = Vec::new();
    let mut by_rel: HashMap<RelPath, usize> = HashMap::new();
    for p in upstream {
        let d = &p.download;
        // An old uv asks for its own build of a key, however old.
        let superseded = !for_uv.contains(&p.rel)
            && newest_held
                .get(d.key.as_str())
                .is_some_and(|held| compare_builds(*held, d.build.as_deref()).is_gt());
        let url = (!s.offline && !superseded).then(|| d.url.clone());
        match by_rel.get(&p.rel) {
            Some(&i) if items[i].expected != d.sha256 => problems.push(format!(
                "{}: {} is also named by another entry with a different sha256; skipped",
                d.key, p.rel
            )),
            Some(&i) => {
                if items[i].url.is_none() {
                    items[i].url = url;
                }
            }
            None => {
                by_rel.insert(p.rel.clone(), items.len());
                items.push(Item {
                    rel: p.rel.clone(),
                    expected: d.sha256.clone(),
                    url,
                    known: manifest.known(&s.dest, &p.rel).map(str::to_string),
                    from_upstream: true,
                });
            }
        }
    }
    for p in existing {
        by_rel.entry(p.rel.clone()).or_insert_with(|| {
            items.push(Item {
                rel: p.rel.clone(),
                expected: p.download.sha256.clone(),
                url: None,
                known: manifest.known(&s.dest, &p.rel).map(str::to_string),
                from_upstream: false,
            });
            items.len() - 1
        });
    }
    items
}
