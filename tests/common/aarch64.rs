//! The shim built for aarch64 Linux (static, musl) and run on this x86_64
//! machine under qemu-user, in front of the real aarch64 uv.
//!
//! [`aarch64`] makes everything ready once per machine, and once per test
//! process hands the same answer to every story:
//!
//! * the Debian cross compiler (`gcc-aarch64-linux-gnu` and the C headers
//!   of `libc6-dev-arm64-cross`: C code such as ring's is compiled and the
//!   binary linked with it) and `qemu-user`, through [`super::debian`];
//! * `qemu-aarch64` registered with the kernel's binfmt_misc (mounted first
//!   when it is not), so that an aarch64 program runs when executed, and one
//!   program can `exec` the next as the shim does: the registration is the
//!   kernel's, so it outlives the tests (and is shared with the host of a
//!   container). An existing registration for aarch64 programs, whatever its
//!   name, is used as it is. Registering needs root;
//! * `rustup target add aarch64-unknown-linux-musl`, then the shim and its
//!   unit tests built for that target with a target directory of their own,
//!   `<target>/aarch64-unknown-linux-musl-build/` (the `cargo test` running the
//!   stories holds the lock of `<target>/`), under a file lock; cargo makes a
//!   second build a no-op;
//! * the real uv [`UV_NEW`](super::uv::UV_NEW) for aarch64 from PyPI's
//!   `musllinux_1_1_aarch64` wheel (a static binary: no aarch64 C library is
//!   needed), cached under `<target>/test-tools/`.
//!
//! Anything missing that cannot be installed (no root, no rustup) is an
//! `Err` saying what; the stories then skip ([`super::skip`]), which fails
//! under CI. A build that fails is a failure everywhere.

#![cfg(all(target_os = "linux", target_arch = "x86_64"))]

use std::ffi::CString;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use super::uv::{UV_NEW, foreign_uv, target_dir, tools_dir};

/// The Rust target the shim is built for.
pub const TARGET: &str = "aarch64-unknown-linux-musl";

/// The pip platform tag of the uv wheel that runs there.
const UV_WHEEL: &str = "musllinux_1_1_aarch64";

/// Where the kernel's binfmt_misc lives.
const BINFMT_MISC: &str = "/proc/sys/fs/binfmt_misc";

/// The first 20 bytes of an aarch64 ELF executable, and which bits of them
/// count (the ones qemu's own `qemu-binfmt-conf.sh` uses), as binfmt_misc
/// shows them in hex.
const ELF_MAGIC: &str = "7f454c460201010000000000000000000200b700";
const ELF_MASK: &str = "ffffffffffffff00fffffffffffffffffeffffff";

/// What the aarch64 stories run.
#[derive(Debug)]
pub struct Aarch64 {
    /// The shim, built for [`TARGET`].
    pub shim: PathBuf,
    /// The shim's unit tests, built for [`TARGET`].
    pub unit_tests: PathBuf,
    /// The real uv [`UV_NEW`](super::uv::UV_NEW) for aarch64.
    pub uv: PathBuf,
    /// The emulator (`qemu-aarch64`), for running a program through it by hand.
    pub qemu: PathBuf,
}

/// Everything the aarch64 stories need, set up on first use (see the module
/// docs); `Err` says why it cannot be had on this machine.
///
/// A set-up that panicked (a failed build) fails every story with its
/// message, without being tried again by each.
pub fn aarch64() -> Result<&'static Aarch64, String> {
    static READY: OnceLock<Result<Result<Aarch64, String>, String>> = OnceLock::new();
    let outcome = READY.get_or_init(|| {
        std::panic::catch_unwind(set_up).map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "a panic without a message".to_owned())
        })
    });
    match outcome {
        Ok(ready) => ready.as_ref().map_err(Clone::clone),
        Err(broken) => panic!("the aarch64 set-up failed: {broken}"),
    }
}

/// The set-up behind [`aarch64`], timed on stderr.
fn set_up() -> Result<Aarch64, String> {
    let started = Instant::now();
    let gcc = super::debian::tool(
        "gcc-aarch64-linux-gnu",
        "aarch64-linux-gnu-gcc",
        "/usr/bin/aarch64-linux-gnu-gcc",
    )?;
    // The C library headers the cross compiler compiles against (only
    // recommended by the compiler's package).
    super::debian::file(
        "libc6-dev-arm64-cross",
        "/usr/aarch64-linux-gnu/include/stdint.h",
    )?;
    let qemu = super::debian::tool("qemu-user", "qemu-aarch64", "/usr/bin/qemu-aarch64")?;
    register_with_binfmt_misc(&qemu)?;
    let (shim, unit_tests) = build(&gcc)?;
    let uv = foreign_uv(UV_NEW, UV_WHEEL);
    eprintln!(
        "aarch64 set-up (cross compiler, qemu, build, uv wheel) took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(Aarch64 {
        shim,
        unit_tests,
        uv,
        qemu,
    })
}

/// Makes the kernel run aarch64 programs with `qemu`: mounts binfmt_misc
/// when needed and registers `qemu` unless some entry already handles them.
fn register_with_binfmt_misc(qemu: &Path) -> Result<(), String> {
    let root = Path::new(BINFMT_MISC);
    if handles_aarch64(root) {
        return Ok(());
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(format!(
            "no binfmt_misc entry runs aarch64 programs, and registering {} needs root",
            qemu.display()
        ));
    }
    let lock = lock(&tools_dir().join("binfmt-aarch64.lock"));
    if !root.join("register").exists() {
        mount_binfmt_misc(root)?;
    }
    if !handles_aarch64(root) {
        let line = format!(
            ":uv-shim-qemu-aarch64:M::{}:{}:{}:\n",
            escaped(ELF_MAGIC),
            escaped(ELF_MASK),
            qemu.display()
        );
        fs::write(root.join("register"), line).map_err(|e| {
            format!(
                "cannot register {} in {BINFMT_MISC}/register: {e}",
                qemu.display()
            )
        })?;
    }
    drop(lock);
    if handles_aarch64(root) {
        Ok(())
    } else {
        Err(format!(
            "{BINFMT_MISC} accepted the registration of {}, but no enabled entry runs aarch64 programs",
            qemu.display()
        ))
    }
}

/// Whether binfmt_misc is on and one of its enabled entries runs aarch64 ELF.
fn handles_aarch64(root: &Path) -> bool {
    let enabled = |path: &Path| {
        fs::read_to_string(path).is_ok_and(|text| text.lines().next() == Some("enabled"))
    };
    if !enabled(&root.join("status")) {
        return false;
    }
    let Ok(entries) = fs::read_dir(root) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let text = fs::read_to_string(entry.path()).unwrap_or_default();
        text.lines().next() == Some("enabled")
            && text
                .lines()
                .any(|line| line == format!("magic {ELF_MAGIC}"))
    })
}

/// `mount -t binfmt_misc binfmt_misc <root>`.
fn mount_binfmt_misc(root: &Path) -> Result<(), String> {
    let fstype = CString::new("binfmt_misc").unwrap();
    let target = CString::new(root.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: every pointer is a valid C string that outlives the call; no data.
    let mounted = unsafe {
        libc::mount(
            fstype.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if mounted == 0 {
        Ok(())
    } else {
        Err(format!(
            "cannot mount binfmt_misc on {}: {}",
            root.display(),
            std::io::Error::last_os_error()
        ))
    }
}

/// `7f45…` as binfmt_misc's register line takes it: `\x7f\x45…`.
fn escaped(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|pair| format!("\\x{}", std::str::from_utf8(pair).unwrap()))
        .collect()
}

/// Builds the shim and its unit tests for [`TARGET`] with `gcc`; returns
/// both executables.
fn build(gcc: &Path) -> Result<(PathBuf, PathBuf), String> {
    let _lock = lock(&target_dir().join(format!("{TARGET}-build.lock")));
    let rustup = Command::new("rustup")
        .args(["target", "add", TARGET])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run rustup to add the {TARGET} target: {e}"))?;
    if !rustup.status.success() {
        return Err(format!(
            "`rustup target add {TARGET}` failed:\n{}",
            String::from_utf8_lossy(&rustup.stderr)
        ));
    }
    let shim = executable(&cargo(gcc, &["build", "--bin", "uv-shim"]), false);
    let unit_tests = executable(&cargo(gcc, &["test", "--bin", "uv-shim", "--no-run"]), true);
    Ok((shim, unit_tests))
}

/// Runs `cargo <args> --target TARGET` for the aarch64 build; returns its
/// JSON messages. Panics, with cargo's errors, when the build fails.
fn cargo(gcc: &Path, args: &[&str]) -> Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let linker_var = format!(
        "CARGO_TARGET_{}_LINKER",
        TARGET.to_uppercase().replace('-', "_")
    );
    let output = Command::new(&cargo)
        .args(args)
        .args([
            "--locked",
            "--target",
            TARGET,
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env(
            "CARGO_TARGET_DIR",
            target_dir().join(format!("{TARGET}-build")),
        )
        .env(format!("CC_{}", TARGET.replace('-', "_")), gcc)
        .env(linker_var, gcc)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", Path::new(&cargo).display()));
    assert!(
        output.status.success(),
        "`cargo {} --target {TARGET}` failed ({}):\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The executable of the `uv-shim` target that cargo reported building (its
/// unit tests when `test`).
fn executable(output: &Output, test: bool) -> PathBuf {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact"
                && message["target"]["name"] == "uv-shim"
                && message["profile"]["test"] == test
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo reported no uv-shim executable (test: {test})"))
}

/// Takes an exclusive lock on `path` (created), held until dropped.
fn lock(path: &Path) -> File {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
    }
    let file = File::create(path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    file.lock()
        .unwrap_or_else(|e| panic!("lock {}: {e}", path.display()));
    file
}
