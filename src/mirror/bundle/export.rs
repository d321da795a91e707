//! `mirror export`: the mirror at DIR as one bundle (or numbered parts)
//! to carry across an air gap. Without `--since` it carries every file the
//! metadata names; with it, only those the reference export did not hold
//! (same path, same sha256), and the manifest tells `import` which files the
//! other side must hold already. The files stream from disk into the tar,
//! hashed on the way, so memory stays flat whatever the mirror's size.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use indicatif::HumanBytes;
use sha2::{Digest, Sha256};
use url::Url;

use super::format::{
    BundleManifest, END_ENTRY, FILES_PREFIX, Listed, MANIFEST_ENTRY, SIGNATURE_FILE, Small,
};
use super::parts::{PartReader, PartWriter};
use crate::fsutil::hex;
use crate::mirror::args::{ExportArgs, UsageError};
use crate::mirror::entry;
use crate::mirror::hash::BUFFER;
use crate::mirror::layout::RelPath;
use crate::urls::METADATA_FILE;

/// Runs `mirror export`.
pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    // A wrong key or password fails before anything is read or written.
    let key = match &args.sign {
        Some(key) => Some(crate::mirror::sign::load_key(
            key,
            args.password_file.as_deref(),
        )?),
        None => None,
    };
    let dest = std::fs::canonicalize(&args.dest)
        .with_context(|| format!("there is no mirror at {}", args.dest.display()))?;
    let metadata = std::fs::read(dest.join(METADATA_FILE)).with_context(|| {
        format!(
            "cannot read the mirror's metadata {}",
            dest.join(METADATA_FILE).display()
        )
    })?;
    let signature = match std::fs::read(dest.join(SIGNATURE_FILE)) {
        Ok(bytes) => Some(bytes),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => bail!("cannot read {}: {err}", dest.join(SIGNATURE_FILE).display()),
    };
    // `--sign`: the bundle carries a signature made now, whatever the mirror holds.
    let signature = match &key {
        Some(key) => Some(key.sign(&metadata, METADATA_FILE)?.into_bytes()),
        None => signature,
    };
    let reference = match args.since.as_deref() {
        None => None,
        Some("last") => Some(last_export(&dest)?),
        Some(file) => Some(reference_file(Path::new(file))?),
    };
    let manifest = plan(&dest, &metadata, signature.as_deref(), reference.as_ref())?;

    let (count, delta) = manifest
        .carried()
        .fold((0, 0), |(n, s), (_, f)| (n + 1, s + f.size));
    let total: u64 = manifest.files.values().map(|f| f.size).sum();
    println!(
        "delta: {count} of {} files, {} of {} ({})",
        manifest.files.len(),
        HumanBytes(delta),
        HumanBytes(total),
        match &reference {
            Some(r) => format!("new since export {}", short(&r.id)),
            None => "everything: no --since".to_string(),
        }
    );

    let mut writer = PartWriter::new(&args.out, args.split);
    let result = write_bundle(
        &mut writer,
        &dest,
        &manifest,
        &metadata,
        signature.as_deref(),
    );
    let written = std::mem::take(&mut writer.written);
    let finished = result.and_then(|()| writer.finish().context("cannot finish the bundle"));
    if let Err(err) = finished {
        // A half-written bundle must not be carried across by mistake.
        for path in &written {
            let _ = std::fs::remove_file(path);
        }
        return Err(err);
    }
    // Only a bundle written in full becomes the reference of the next `--since last`.
    crate::fsutil::write_public(
        &BundleManifest::last_path(&dest),
        manifest.to_text().as_bytes(),
    )
    .context("cannot record this export for the next --since last")?;
    let size: u64 = written
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "wrote export {} to {} ({}{})",
        short(&manifest.id),
        written
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        HumanBytes(size),
        if written.len() > 1 {
            format!(" in {} parts", written.len())
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// The manifest: every file the metadata names, and which of them to carry.
fn plan(
    dest: &Path,
    metadata: &[u8],
    signature: Option<&[u8]>,
    reference: Option<&BundleManifest>,
) -> anyhow::Result<BundleManifest> {
    let source = Url::from_file_path(dest.join(METADATA_FILE))
        .map_err(|()| anyhow::anyhow!("{} is not an absolute path", dest.display()))?;
    let downloads = match entry::parse_document(metadata, &source) {
        Ok(downloads) => downloads,
        Err(crate::metadata::schema::MetadataError::Empty { .. }) => Vec::new(),
        Err(err) => bail!("the mirror's metadata cannot be exported: {err}"),
    };
    let mut files = BTreeMap::new();
    for d in downloads {
        let Some(rel) = RelPath::from_file_url(dest, &d.url) else {
            bail!(
                "entry {} points outside the mirror ({}): an export carries only the mirror's own files",
                d.key,
                crate::redact::url(d.url.as_str())
            );
        };
        let Some(sha256) = d.sha256 else {
            bail!(
                "entry {} has no sha256: {rel} cannot be checked on the other side",
                d.key
            );
        };
        let size = std::fs::metadata(rel.under(dest))
            .with_context(|| {
                format!(
                    "{rel}, named by {}, is not in the mirror: run `mirror verify`",
                    d.key
                )
            })?
            .len();
        let carried =
            reference.is_none_or(|r| r.files.get(&rel).is_none_or(|f| f.sha256 != sha256));
        files.insert(
            rel,
            Listed {
                sha256,
                size,
                carried,
            },
        );
    }
    let small = |bytes: &[u8]| Small {
        sha256: hex(&Sha256::digest(bytes)),
        size: bytes.len() as u64,
    };
    let mut id = Sha256::new();
    id.update(metadata);
    id.update(crate::fsutil::now_secs().to_le_bytes());
    Ok(BundleManifest {
        id: hex(&id.finalize()),
        since: reference.map(|r| r.id.clone()),
        metadata: small(metadata),
        signature: signature.map(small),
        files,
    })
}

/// The tar stream: manifest, carried files, metadata, signature, end mark.
fn write_bundle(
    out: &mut PartWriter,
    dest: &Path,
    manifest: &BundleManifest,
    metadata: &[u8],
    signature: Option<&[u8]>,
) -> anyhow::Result<()> {
    let mut tar = tar::Builder::new(out);
    let small = |tar: &mut tar::Builder<&mut PartWriter>, name: &str, bytes: &[u8]| {
        tar.append_data(&mut header(bytes.len() as u64), name, bytes)
            .with_context(|| format!("cannot write {name} into the bundle"))
    };
    small(&mut tar, MANIFEST_ENTRY, manifest.to_text().as_bytes())?;
    for (rel, listed) in manifest.carried() {
        let path = rel.under(dest);
        let file = File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
        // Hashed below the buffer: the file is read and hashed in large
        // blocks, and the copy into the bundle takes them from the buffer
        // (tar's own copy would go 8 KiB at a time).
        let mut reader = BufReader::with_capacity(
            BUFFER,
            Hashing {
                inner: file.take(listed.size),
                hasher: Sha256::new(),
                read: 0,
            },
        );
        tar.append_data(
            &mut header(listed.size),
            format!("{FILES_PREFIX}{rel}"),
            &mut reader,
        )
        .with_context(|| format!("cannot write {rel} into the bundle"))?;
        let reader = reader.into_inner();
        let sha = hex(&reader.hasher.finalize());
        if reader.read != listed.size || sha != listed.sha256 {
            bail!(
                "{rel} changed while it was exported or is damaged (sha256 {sha}, the metadata says {}): run `mirror verify --dest {}`",
                listed.sha256,
                dest.display()
            );
        }
    }
    small(&mut tar, METADATA_FILE, metadata)?;
    if let Some(sig) = signature {
        small(&mut tar, SIGNATURE_FILE, sig)?;
    }
    small(
        &mut tar,
        END_ENTRY,
        format!("export {}\n", manifest.id).as_bytes(),
    )?;
    tar.into_inner()
        .context("cannot finish the bundle")?
        .flush()?;
    Ok(())
}

fn header(size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// The record the previous export left in the mirror.
fn last_export(dest: &Path) -> anyhow::Result<BundleManifest> {
    let path = BundleManifest::last_path(dest);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(UsageError(format!(
                "--since last: no export of {} was recorded yet ({} is missing); export everything first (no --since)",
                dest.display(),
                path.display()
            ))
            .into());
        }
        Err(err) => bail!("cannot read {}: {err}", path.display()),
    };
    BundleManifest::parse(&text).map_err(|why| anyhow::anyhow!("{}: {why}", path.display()))
}

/// `--since FILE`: an export record, or a bundle (its first part will do;
/// the name given to `--out` finds it too).
fn reference_file(path: &Path) -> anyhow::Result<BundleManifest> {
    let first = super::parts::part_name(path, 1);
    let path = if !path.exists() && first.exists() {
        first.as_path()
    } else {
        path
    };
    let mut head = [0u8; 16];
    let n = File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .with_context(|| format!("--since: cannot read {}", path.display()))?;
    if head[..n].starts_with(b"uv-shim-bundle ") {
        let text = std::fs::read_to_string(path)?;
        return BundleManifest::parse(&text)
            .map_err(|why| anyhow::anyhow!("--since {}: {why}", path.display()));
    }
    read_manifest(&[path.to_path_buf()]).with_context(|| {
        format!(
            "--since {}: neither an export record nor a bundle",
            path.display()
        )
    })
}

/// The manifest at the head of a bundle.
pub fn read_manifest(parts: &[PathBuf]) -> anyhow::Result<BundleManifest> {
    let mut archive = tar::Archive::new(PartReader::open(parts)?);
    let mut entry = archive.entries()?.next().context("the file is empty")??;
    if entry.path()?.to_str() != Some(MANIFEST_ENTRY) {
        bail!("its first entry is not a bundle manifest");
    }
    let mut text = String::new();
    entry.read_to_string(&mut text)?;
    BundleManifest::parse(&text).map_err(|why| anyhow::anyhow!("{why}"))
}

/// The first characters of an id, enough to tell exports apart.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}
