//! The release artifacts of `scripts/dist.sh`, built once per machine and
//! read as a user would get them.
//!
//! [`artifacts`] runs the script the first time a story asks, under a file
//! lock (parallel tests and test binaries wait for the one run), and caches
//! the result in `<target>/dist/`: the next test run reuses it while a
//! stamp of the inputs (the built shim, the script, the packaging files, the
//! manifests) is unchanged. A cold run builds three release binaries with
//! LTO and installs cargo-deb and maturin; see the README for the figures.
//!
//! `DIST_TARGETS` (read by the script) narrows the targets, e.g. for a quick
//! local run; the stories check whatever was built, and CI builds all.
//!
//! The readers below look inside archives without unpacking tools:
//! tarballs through `tar` and `flate2`, zip files (the Windows zip, wheels)
//! through `python3`'s `zipfile`, binaries by their ELF or PE header.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::uv::{target_dir, tools_dir};

/// Every target `scripts/dist.sh` builds by default.
pub const ALL_TARGETS: [&str; 3] = [
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-pc-windows-gnu",
];

/// Prefixes of the variables cargo sets for a test binary (not for cargo itself).
const CARGO_SET_FOR_TESTS: [&str; 9] = [
    "CARGO_PKG_",
    "CARGO_MANIFEST_",
    "CARGO_CRATE_",
    "CARGO_BIN_",
    "CARGO_CFG_",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_RUSTC_CURRENT_DIR",
    "OUT_DIR",
];

/// The finished `<target>/dist/` folder.
#[derive(Debug)]
pub struct Dist {
    /// `<target>/dist`.
    pub dir: PathBuf,
    /// The package version (Cargo.toml), as in every file name.
    pub version: String,
    /// The targets built (all, unless `DIST_TARGETS` said otherwise).
    pub targets: Vec<String>,
}

impl Dist {
    /// The path of the artifact `name` in the dist folder; panics when missing.
    #[track_caller]
    pub fn file(&self, name: &str) -> PathBuf {
        let path = self.dir.join(name);
        assert!(
            path.is_file(),
            "scripts/dist.sh made no {name}; the folder holds: {:?}",
            self.names()
        );
        path
    }

    /// The names of every file in the dist folder, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", self.dir.display()))
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// The archive of `target`: `uv-shim-VERSION-TARGET.tar.gz` (or `.zip` on Windows).
    #[track_caller]
    pub fn archive(&self, target: &str) -> PathBuf {
        let ext = if target.contains("windows") {
            "zip"
        } else {
            "tar.gz"
        };
        self.file(&format!("uv-shim-{}-{target}.{ext}", self.version))
    }

    /// The .deb for Debian architecture `arch` (`amd64`, `arm64`).
    #[track_caller]
    pub fn deb(&self, arch: &str) -> PathBuf {
        self.file(&format!("uv-shim_{}-1_{arch}.deb", self.version))
    }

    /// The one wheel whose platform tag contains `platform` (`x86_64`, `aarch64`, `win_amd64`).
    #[track_caller]
    pub fn wheel(&self, platform: &str) -> PathBuf {
        let found: Vec<String> = self
            .names()
            .into_iter()
            .filter(|n| n.ends_with(".whl") && n.contains(platform))
            .collect();
        assert_eq!(found.len(), 1, "one wheel for {platform}: {found:?}");
        self.file(&found[0])
    }

    /// Whether `target` was built in this run.
    pub fn built(&self, target: &str) -> bool {
        self.targets.iter().any(|t| t == target)
    }
}

/// The dist folder, building it on first use (once per machine while its
/// inputs are unchanged). `Err` when it cannot be built here: the script
/// needs root to install its tools and said so; the caller skips. A
/// failure of the script itself panics with its output.
pub fn artifacts() -> Result<&'static Dist, String> {
    static DIST: OnceLock<Result<Dist, String>> = OnceLock::new();
    DIST.get_or_init(build).as_ref().map_err(Clone::clone)
}

fn build() -> Result<Dist, String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = target_dir();
    let dist_dir = target.join("dist");
    let targets: Vec<String> = match std::env::var("DIST_TARGETS") {
        Ok(list) if !list.trim().is_empty() => list.split_whitespace().map(String::from).collect(),
        _ => ALL_TARGETS.iter().map(|t| t.to_string()).collect(),
    };
    let tools = tools_dir();
    fs::create_dir_all(&tools).unwrap_or_else(|e| panic!("mkdir {}: {e}", tools.display()));
    let lock_path = tools.join("dist.lock");
    let lock =
        File::create(&lock_path).unwrap_or_else(|e| panic!("create {}: {e}", lock_path.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("lock {}: {e}", lock_path.display()));

    let stamp_path = tools.join("dist.stamp");
    let stamp = inputs_stamp(repo, &targets);
    let cached = fs::read_to_string(&stamp_path).is_ok_and(|old| old == stamp)
        && dist_dir.join("SHA256SUMS").is_file();
    if !cached {
        let _ = fs::remove_file(&stamp_path);
        let started = Instant::now();
        let mut command = Command::new("sh");
        command
            .arg(repo.join("scripts/dist.sh"))
            .arg("--targets")
            .arg(targets.join(" "))
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("DIST_TARGETS");
        // What cargo sets for this test binary (CARGO_PKG_NAME, CARGO_MANIFEST_DIR,
        // ...) would reach the build scripts' rerun checks (ring's watches them)
        // and rebuild everything, where a run from a shell reuses the build.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if CARGO_SET_FOR_TESTS.iter().any(|p| name.starts_with(p)) {
                command.env_remove(&*name);
            }
        }
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("cannot run scripts/dist.sh: {e}"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            if stderr.contains("install them (as root)") {
                return Err(format!(
                    "scripts/dist.sh needs tools that only root can install: {}",
                    stderr.trim()
                ));
            }
            panic!(
                "scripts/dist.sh failed ({}) after {:.0?}:\n{}\n{stderr}",
                output.status,
                started.elapsed(),
                String::from_utf8_lossy(&output.stdout)
            );
        }
        eprintln!("scripts/dist.sh took {:.0?}", started.elapsed());
        fs::write(&stamp_path, &stamp)
            .unwrap_or_else(|e| panic!("write {}: {e}", stamp_path.display()));
    }
    Ok(Dist {
        dir: dist_dir,
        version: env!("CARGO_PKG_VERSION").to_string(),
        targets,
    })
}

/// A digest of what the artifacts are made from. The built test binary
/// stands for the sources: cargo rebuilds it whenever they change.
fn inputs_stamp(repo: &Path, targets: &[String]) -> String {
    let mut hash = Sha256::new();
    hash.update(targets.join(" "));
    let shim = Path::new(super::env::SHIM_EXE);
    let meta = fs::metadata(shim).unwrap_or_else(|e| panic!("stat {}: {e}", shim.display()));
    hash.update(format!("{:?} {}", meta.modified().ok(), meta.len()));
    let mut files = vec![
        "Cargo.toml",
        "Cargo.lock",
        "pyproject.toml",
        "scripts/dist.sh",
        "README.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
    ]
    .into_iter()
    .map(|f| repo.join(f))
    .collect::<Vec<_>>();
    let mut scripts: Vec<PathBuf> = fs::read_dir(repo.join("packaging/deb"))
        .map(|dir| dir.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    scripts.sort();
    files.extend(scripts);
    for file in files {
        hash.update(file.to_string_lossy().as_bytes());
        hash.update(fs::read(&file).unwrap_or_default());
    }
    hash.update(std::env::var("UV_SHIM_BUILTIN_CONFIG").unwrap_or_default());
    format!("{:x}\n", hash.finalize())
}

/// Every entry of a `.tar.gz`: its path, mode and contents.
pub fn tar_entries(path: &Path) -> Vec<(String, u32, Vec<u8>)> {
    let file = File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    archive
        .entries()
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .map(|entry| {
            let mut entry = entry.unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            let mode = entry.header().mode().unwrap();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            (name, mode, data)
        })
        .collect()
}

/// The member names of a zip file (a wheel, the Windows zip), in order.
pub fn zip_names(path: &Path) -> Vec<String> {
    let listing = python(&[
        "import sys, zipfile\nfor i in zipfile.ZipFile(sys.argv[1]).infolist(): print(i.filename)",
        &path.to_string_lossy(),
    ]);
    String::from_utf8(listing)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// The contents of member `name` of a zip file.
pub fn zip_member(path: &Path, name: &str) -> Vec<u8> {
    python(&[
        "import sys, zipfile\nsys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))",
        &path.to_string_lossy(),
        name,
    ])
}

fn python(args: &[&str]) -> Vec<u8> {
    let output = Command::new("python3")
        .arg("-c")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3: {e}"));
    assert!(
        output.status.success(),
        "python3 {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// What an executable's header says.
#[derive(Debug, PartialEq, Eq)]
pub enum Binary {
    /// An ELF file: its `e_machine` and whether it names a dynamic loader
    /// (`PT_INTERP`); a static binary names none.
    Elf {
        /// 62 is x86-64, 183 is AArch64.
        machine: u16,
        /// It needs a dynamic loader.
        dynamic: bool,
    },
    /// A PE file (Windows): its COFF machine (0x8664 is x86-64).
    Pe {
        /// The COFF machine field.
        machine: u16,
    },
}

/// ELF `e_machine` of x86-64.
pub const EM_X86_64: u16 = 62;
/// ELF `e_machine` of AArch64.
pub const EM_AARCH64: u16 = 183;
/// PE machine of x86-64.
pub const PE_AMD64: u16 = 0x8664;

/// Reads the header of an executable (64-bit little-endian ELF, or PE).
#[track_caller]
pub fn binary_kind(bytes: &[u8]) -> Binary {
    let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    if bytes.starts_with(b"\x7fELF") {
        assert_eq!(bytes[4], 2, "a 64-bit ELF file");
        assert_eq!(bytes[5], 1, "a little-endian ELF file");
        let machine = u16_at(18);
        let phoff = u64_at(32) as usize;
        let phentsize = u16_at(54) as usize;
        let phnum = u16_at(56) as usize;
        const PT_INTERP: u32 = 3;
        let dynamic = (0..phnum).any(|i| u32_at(phoff + i * phentsize) == PT_INTERP);
        return Binary::Elf { machine, dynamic };
    }
    if bytes.starts_with(b"MZ") {
        let pe = u32_at(0x3c) as usize;
        assert_eq!(&bytes[pe..pe + 4], b"PE\0\0", "a PE signature");
        return Binary::Pe {
            machine: u16_at(pe + 4),
        };
    }
    panic!(
        "neither an ELF nor a PE file: {:02x?}",
        &bytes[..bytes.len().min(8)]
    )
}

/// `sha256sum -c SHA256SUMS` in `dir`: its output and whether it passed.
pub fn sha256sum_check(dir: &Path) -> (bool, String) {
    let output = Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run sha256sum: {e}"));
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}
