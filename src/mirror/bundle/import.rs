//! `mirror import`: places a bundle of `mirror export` into the mirror at
//! DIR. Every carried file streams into a temporary file beside its place,
//! hashed on the way, and is renamed into place only when its size and
//! sha256 are the manifest's; the metadata (and its signature) is written
//! last, atomically, once every file it names is there. So a client always
//! sees the old metadata or the new one, never one that names a missing
//! file, and an import that stops anywhere leaves the mirror serving what
//! it served before; running it again finds the files already placed
//! (rehashed, not copied) and goes on. Nothing is deleted but with
//! `--prune`, and then only files no metadata names any more.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::HumanBytes;
use sha2::{Digest, Sha256};

use super::export::short;
use super::format::{
    BundleManifest, END_ENTRY, FILES_PREFIX, MANIFEST_ENTRY, SIGNATURE_FILE, Small,
};
use super::parts::{PartMap, PartReader};
use crate::fsutil::hex;
use crate::mirror::args::ImportArgs;
use crate::mirror::hash::hash_file;
use crate::mirror::layout::{RelPath, STATE_DIR};
use crate::mirror::manifest::{Manifest, VerifiedFile};
use crate::urls::METADATA_FILE;

/// What one run did.
#[derive(Default)]
struct Placed {
    files: usize,
    bytes: u64,
    present: usize,
}

/// Runs `mirror import`.
pub fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    // Bad keys are a usage error before anything is read.
    let keys = crate::mirror::sign::trusted_keys(&args.trusted_keys)?;
    let reader = PartReader::open(&args.files)?;
    let map = reader.map();
    std::fs::create_dir_all(&args.dest)
        .with_context(|| format!("cannot create the mirror folder {}", args.dest.display()))?;
    let dest = std::fs::canonicalize(&args.dest)?;
    let _lock = crate::fsutil::lock(&dest.join(STATE_DIR).join("import.lock"), Duration::ZERO)?
        .with_context(|| format!("another import into {} is running", dest.display()))?;

    let mut archive = tar::Archive::new(reader);
    let mut entries = archive.entries().map_err(|err| damaged(&map, err))?;
    let manifest = match entries.next() {
        Some(Ok(mut entry)) if entry.path_bytes().as_ref() == MANIFEST_ENTRY.as_bytes() => {
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|err| damaged(&map, err))?;
            BundleManifest::parse(&text).map_err(|why| {
                anyhow::anyhow!(
                    "{}: the bundle's manifest is unreadable: {why}",
                    map.locate(0).0
                )
            })?
        }
        Some(Err(err)) => return Err(damaged(&map, err)),
        _ => bail!(
            "{} is not a uv-shim bundle: it does not start with a bundle manifest",
            map.locate(0).0
        ),
    };
    check_base(&dest, &manifest)?;

    let mut known = Manifest::load(&dest);
    let mut placed = Placed::default();
    let mut seen = BTreeSet::new();
    let (mut metadata, mut signature, mut ended) = (None, None, false);
    for entry in entries {
        let mut entry = entry.map_err(|err| damaged(&map, err))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let at = entry.raw_file_position();
        if let Some(path) = name.strip_prefix(FILES_PREFIX) {
            let rel = RelPath::from_segments(&path.split('/').collect::<Vec<_>>())
                .ok()
                .filter(|rel| manifest.files.get(rel).is_some_and(|f| f.carried))
                .with_context(|| {
                    format!("the bundle carries {path}, which its manifest does not list")
                })?;
            place(
                &dest,
                &rel,
                &manifest,
                &mut known,
                &mut entry,
                (&map, at),
                &mut placed,
            )?;
            seen.insert(rel);
        } else if name == METADATA_FILE {
            metadata = Some(small(&mut entry, &manifest.metadata, &name, &map, at)?);
        } else if name == SIGNATURE_FILE {
            let listed = manifest
                .signature
                .as_ref()
                .context("the bundle carries a signature its manifest does not list")?;
            signature = Some(small(&mut entry, listed, &name, &map, at)?);
        } else if name == END_ENTRY {
            ended = true;
            break;
        } else {
            bail!("the bundle holds {name:?}, which no bundle of this version holds");
        }
    }
    if !ended {
        bail!(
            "the bundle ends at byte {} before its end mark: the last part given ({}) is truncated, or a later part is missing; nothing was published",
            map.position(),
            map.last()
        );
    }
    let missing: Vec<_> = manifest
        .carried()
        .filter(|(rel, _)| !seen.contains(*rel))
        .map(|(r, _)| r.to_string())
        .collect();
    if !missing.is_empty() {
        bail!(
            "the bundle lacks files its manifest lists as carried: {}",
            missing.join(", ")
        );
    }
    let metadata = metadata.context("the bundle carries no metadata")?;
    if manifest.signature.is_some() && signature.is_none() {
        bail!("the bundle's manifest lists a signature that it does not carry");
    }
    verify_signature(&keys, &metadata, signature.as_deref())?;
    names_only_listed(&dest, &metadata, &manifest)?;

    // Every file the new metadata names is in place: now, and only now, publish it.
    let target = dest.join(METADATA_FILE);
    let unchanged = std::fs::read(&target).is_ok_and(|old| old == metadata);
    crate::fsutil::write_public(&target, &metadata)
        .with_context(|| format!("cannot write {}", target.display()))?;
    // The signature right after the metadata it signs: clients read the
    // metadata first, so this order leaves a mismatched pair only to a
    // client whose two reads fall between the two renames (and the shim
    // then fetches the pair again), see `mirror::sign::publish_signature`.
    match &signature {
        Some(sig) => crate::fsutil::write_public(&dest.join(SIGNATURE_FILE), sig)
            .with_context(|| format!("cannot write {}", dest.join(SIGNATURE_FILE).display()))?,
        None if !unchanged => crate::mirror::sign::drop_stale_signature(
            &dest,
            "a signed bundle is imported (export --sign)",
        )?,
        None => {}
    }
    let pruned = record(&dest, &manifest, args.prune)?;

    println!(
        "imported export {}: {} files placed ({}), {} already present, {} named by the metadata{}{}",
        short(&manifest.id),
        placed.files,
        HumanBytes(placed.bytes),
        placed.present,
        manifest.files.len(),
        if unchanged {
            "; the metadata was already this one"
        } else {
            "; metadata published"
        },
        if args.prune {
            format!("; {pruned} removed by --prune")
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// Refuses a delta whose base is not here, naming every missing file,
/// before anything is written.
fn check_base(dest: &Path, manifest: &BundleManifest) -> anyhow::Result<()> {
    let missing: Vec<String> = manifest
        .files
        .iter()
        .filter(|(rel, f)| {
            !f.carried && std::fs::metadata(rel.under(dest)).map(|m| m.len()).ok() != Some(f.size)
        })
        .map(|(rel, _)| rel.to_string())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    bail!(
        "this bundle is a delta of export {}, and {} lacks {} of the files it builds on: {}; import the earlier bundles first, or export again without --since",
        manifest.since.as_deref().map_or("?", short),
        dest.display(),
        missing.len(),
        missing.join(", ")
    )
}

/// Streams one carried file into place, or finds it there already.
fn place(
    dest: &Path,
    rel: &RelPath,
    manifest: &BundleManifest,
    known: &mut Manifest,
    entry: &mut dyn Read,
    (map, at): (&PartMap, u64),
    placed: &mut Placed,
) -> anyhow::Result<()> {
    let listed = &manifest.files[rel];
    let target = rel.under(dest);
    let here = known.known(dest, rel).map(str::to_owned).or_else(|| {
        let size = std::fs::metadata(&target).ok()?.len();
        (size == listed.size).then(|| hash_file(&target, &|| false).ok())?
    });
    if here.as_deref() == Some(listed.sha256.as_str()) {
        placed.present += 1;
        return Ok(());
    }
    let dir = target.parent().unwrap_or(dest);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(crate::fsutil::atomic::TEMP_PREFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The umask's mode, as every mirror file: a web server running as another user serves it.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; crate::mirror::hash::BUFFER];
    let mut size = 0u64;
    // The disk writes start while the file streams in, as in a sync.
    let mut writeback = crate::mirror::writeback::Writeback::new(0);
    loop {
        let n = match entry.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) => return Err(damaged(map, err)),
        };
        hasher.update(&buf[..n]);
        tmp.write_all(&buf[..n])
            .with_context(|| format!("cannot write {}", target.display()))?;
        size += n as u64;
        writeback.wrote(tmp.as_file(), size);
    }
    let sha = hex(&hasher.finalize());
    if size < listed.size {
        bail!(
            "the bundle is cut short inside {rel} ({size} of {} bytes): the last part given ({}) is truncated, or a later part is missing; nothing was published",
            listed.size,
            map.last()
        );
    }
    if size != listed.size || sha != listed.sha256 {
        let (part, offset) = map.locate(at);
        bail!(
            "{rel} is damaged in the bundle (part {part}, offset {offset}): {size} bytes with sha256 {sha}, the manifest says {} bytes with sha256 {}; copy the bundle again; nothing was published",
            listed.size,
            listed.sha256
        );
    }
    tmp.as_file().sync_all()?;
    tmp.persist(&target)
        .map_err(|err| err.error)
        .with_context(|| format!("cannot place {}", target.display()))?;
    // Recorded at once, so that a file placed by an import that stops
    // before publishing is a verified file to `verify`, not a stray, and is
    // not hashed again when the import is resumed.
    let file = VerifiedFile::of(&target, sha)
        .with_context(|| format!("cannot stat {}", target.display()))?;
    known.files.insert(rel.clone(), file);
    known
        .save(dest)
        .context("cannot write the mirror's manifest")?;
    placed.files += 1;
    placed.bytes += size;
    Ok(())
}

/// Reads a small carried file whole and checks it against the manifest.
fn small(
    entry: &mut dyn Read,
    listed: &Small,
    name: &str,
    map: &PartMap,
    at: u64,
) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    entry
        .take(listed.size + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| damaged(map, err))?;
    let sha = hex(&Sha256::digest(&bytes));
    if bytes.len() as u64 != listed.size || sha != listed.sha256 {
        let (part, offset) = map.locate(at);
        bail!(
            "{name} is damaged in the bundle (part {part}, offset {offset}): sha256 {sha}, the manifest says {}; nothing was published",
            listed.sha256
        );
    }
    Ok(bytes)
}

/// Refuses metadata that names a file of this mirror the manifest does not
/// list (and so nothing checked is there): the one promise of an import is
/// that the published metadata names only files that are in place.
fn names_only_listed(
    dest: &Path,
    metadata: &[u8],
    manifest: &BundleManifest,
) -> anyhow::Result<()> {
    let source = url::Url::from_file_path(dest.join(METADATA_FILE))
        .map_err(|()| anyhow::anyhow!("{} is not an absolute path", dest.display()))?;
    let downloads = match crate::mirror::entry::parse_document(metadata, &source) {
        Ok(downloads) => downloads,
        Err(crate::metadata::schema::MetadataError::Empty { .. }) => Vec::new(),
        Err(err) => bail!("the bundle's metadata is not valid: {err}; nothing was published"),
    };
    for d in downloads {
        let rel = RelPath::from_file_url(dest, &d.url);
        if !rel
            .as_ref()
            .is_some_and(|rel| manifest.files.contains_key(rel))
        {
            bail!(
                "the bundle's metadata names {} for {}, which its manifest does not list; nothing was published",
                crate::redact::url(d.url.as_str()),
                d.key
            );
        }
    }
    Ok(())
}

/// With `--trusted-key`, the bundle's metadata must carry a signature by
/// one of the keys, checked before anything is published; without keys a
/// carried signature is placed beside the metadata unchecked, for the
/// shim's `trusted-keys` to verify on fetch.
fn verify_signature(
    keys: &[crate::signature::TrustedKey],
    metadata: &[u8],
    signature: Option<&[u8]>,
) -> anyhow::Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let Some(signature) = signature else {
        anyhow::bail!(
            "the bundle's metadata is not signed, and --trusted-key asks for a signature; nothing was published"
        );
    };
    crate::signature::verify(keys, metadata, signature)
        .map(|_| ())
        .map_err(|err| {
            anyhow::anyhow!("the bundle's metadata is not used: {err}; nothing was published")
        })
}

/// Records the placed files in the mirror's manifest (so `verify` knows the
/// older builds kept on purpose) and, with `prune`, removes the files it
/// recorded that the new metadata no longer names. Returns how many went.
fn record(dest: &Path, manifest: &BundleManifest, prune: bool) -> anyhow::Result<usize> {
    let mut known = Manifest::load(dest);
    for (rel, listed) in &manifest.files {
        let file = VerifiedFile::of(&rel.under(dest), listed.sha256.clone())
            .with_context(|| format!("cannot stat {rel}"))?;
        known.files.insert(rel.clone(), file);
    }
    let mut gone = 0;
    if prune {
        let stale: Vec<RelPath> = known
            .files
            .keys()
            .filter(|rel| !manifest.files.contains_key(*rel))
            .cloned()
            .collect();
        for rel in stale {
            match std::fs::remove_file(rel.under(dest)) {
                Ok(()) => gone += 1,
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => bail!("cannot remove {rel}: {err}"),
            }
            known.files.remove(&rel);
        }
    }
    known
        .save(dest)
        .context("cannot write the mirror's manifest")?;
    Ok(gone)
}

/// A read error of the tar stream, with the part it happened in.
fn damaged(map: &PartMap, err: std::io::Error) -> anyhow::Error {
    let (part, offset) = map.locate(map.position());
    anyhow::anyhow!(
        "the bundle is damaged or cut short near byte {} (part {part}, offset {offset}): {err}; a part may be truncated, missing or from another export; nothing was published",
        map.position()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mirror::bundle::format::{Listed, Small};

    #[test]
    fn metadata_naming_a_file_the_manifest_lacks_is_not_published() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path();
        let rel = "20250115/cpython-3.12.8+20250115-x86_64-unknown-linux-gnu-install_only.tar.gz";
        let doc = serde_json::json!({
            "cpython-3.12.8-linux-x86_64-gnu": {
                "name": "cpython", "arch": {"family": "x86_64", "variant": null},
                "os": "linux", "libc": "gnu", "major": 3, "minor": 12, "patch": 8, "prerelease": "",
                "url": rel.replace('+', "%2B"), "sha256": "ab".repeat(32), "variant": null
            }
        })
        .to_string();
        let mut manifest = BundleManifest {
            id: "c".repeat(64),
            since: None,
            metadata: Small {
                sha256: "d".repeat(64),
                size: 1,
            },
            signature: None,
            files: Default::default(),
        };
        let err = names_only_listed(dest, doc.as_bytes(), &manifest).unwrap_err();
        assert!(
            err.to_string().contains("which its manifest does not list"),
            "{err}"
        );
        let listed = Listed {
            sha256: "ab".repeat(32),
            size: 1,
            carried: true,
        };
        let rel = RelPath::from_segments(&rel.split('/').collect::<Vec<_>>()).unwrap();
        manifest.files.insert(rel, listed);
        names_only_listed(dest, doc.as_bytes(), &manifest).unwrap();
    }
}
