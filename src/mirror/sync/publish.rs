//! The end of a sync that changes the mirror: the metadata first (it only
//! ever names verified files), then `--prune`, then the manifest, so the
//! mirror is consistent at every moment, Ctrl-C included.

use std::collections::{BTreeSet, HashMap};

use anyhow::Context;

use super::options::SyncOptions;
use super::plan::SyncPlan;
use super::prune::prune;
use super::run::WorkDone;
use crate::mirror::layout::RelPath;
use crate::mirror::manifest::{Manifest, VerifiedFile};
use crate::mirror::write::{self, ListedEntry};
use crate::urls::METADATA_FILE;

/// What the sync wrote and removed.
#[derive(Debug)]
pub struct Published {
    /// The entries of the metadata, as written.
    pub listed: Vec<ListedEntry>,
    /// Whether the metadata file changed.
    pub written: bool,
    /// The files `--prune` removed.
    pub pruned: Vec<RelPath>,
}

/// Writes the metadata, prunes when asked, and saves the manifest. Never
/// prunes after Ctrl-C: files the workers did not reach are not verified
/// yet, so the metadata does not name them.
pub fn publish(plan: &SyncPlan, s: &SyncOptions, work: &WorkDone) -> anyhow::Result<Published> {
    let listed = write::merge(&plan.upstream, &plan.existing, &|rel, expected| {
        work.verified(rel, expected)
    });
    let metadata_path = s.dest.join(METADATA_FILE);
    let rendered = write::render(&listed);
    // Signed on every run, not only when the metadata changed: a sync with
    // a new key is how the signature moves to it. Signed before the write,
    // so the signature's rename follows the metadata's at once.
    let signature = match &s.sign {
        Some(key) => Some((
            key.id(),
            crate::mirror::sign::sign_metadata(key, &rendered)?,
        )),
        None => None,
    };
    let written = write::write_if_changed(&metadata_path, &rendered)
        .with_context(|| format!("cannot write {}", metadata_path.display()))?;
    drop(rendered);
    match signature {
        Some((id, text)) => crate::mirror::sign::publish_signature(&s.dest, id, &text)?,
        None if written => {
            crate::mirror::sign::drop_stale_signature(&s.dest, "the next sync with --sign")?
        }
        None => {}
    }

    let mut manifest = updated_manifest(plan, s, work);
    let mut pruned = Vec::new();
    if s.prune && !work.interrupted {
        let keep_parts: BTreeSet<&RelPath> = work
            .results
            .iter()
            .filter(|(_, done)| done.error.is_some())
            .map(|(&i, _)| &plan.items[i].rel)
            .collect();
        pruned = prune(&s.dest, &listed, &plan.for_uv, &keep_parts, false)?;
    }
    for rel in &pruned {
        manifest.files.remove(rel);
    }
    if manifest != plan.manifest {
        manifest
            .save(&s.dest)
            .with_context(|| format!("cannot write {}", Manifest::path(&s.dest).display()))?;
    }
    Ok(Published {
        listed,
        written,
        pruned,
    })
}

/// The manifest after this run: stamps for the files that matched a
/// published checksum, none for files that are gone or changed.
fn updated_manifest(plan: &SyncPlan, s: &SyncOptions, work: &WorkDone) -> Manifest {
    let mut published: HashMap<&RelPath, BTreeSet<&str>> = HashMap::new();
    for p in plan.upstream.iter().chain(&plan.existing) {
        if let Some(sha) = &p.download.sha256 {
            published.entry(&p.rel).or_default().insert(sha);
        }
    }
    let mut manifest = plan.manifest.clone();
    // Kept files whose stamp no longer holds are forgotten (and rehashed if ever named again).
    manifest
        .files
        .retain(|rel, stamp| stamp.still_matches(&rel.under(&s.dest)));
    for (i, item) in plan.items.iter().enumerate() {
        let Some(sha) = work.disk.get(&item.rel) else {
            manifest.files.remove(&item.rel);
            continue;
        };
        let trusted = published
            .get(&item.rel)
            .is_some_and(|set| set.contains(sha.as_str()))
            || (item.expected.is_none() && work.downloaded(i));
        if !trusted {
            manifest.files.remove(&item.rel);
            continue;
        }
        let fresh = work
            .results
            .get(&i)
            .is_some_and(|d| d.hashed || d.downloaded.is_some());
        if fresh || !manifest.files.contains_key(&item.rel) {
            match VerifiedFile::of(&item.rel.under(&s.dest), sha.clone()) {
                Ok(stamp) => {
                    manifest.files.insert(item.rel.clone(), stamp);
                }
                Err(_) => {
                    manifest.files.remove(&item.rel);
                }
            }
        }
    }
    manifest
}
