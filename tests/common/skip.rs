//! Tests that cannot run on this machine: a failure under CI, a visible skip
//! elsewhere, never a silent pass.
//!
//! Some stories need root (they mount file systems, or install nginx). CI
//! runs the suite as root with `CI` set, so there a story that cannot run is
//! a broken CI machine: [`require_root`] and [`skip`] panic. On a developer's
//! machine they record one line, `SKIPPED <test>: <why>`, in
//! `<target>/test-skips.txt` (which `scripts/test.sh` empties before the run
//! and prints after it) and on stderr; the test then returns.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

/// Name of the file, in the target directory, that collects the skips.
const SKIPS_FILE: &str = "test-skips.txt";

/// `true` when this process runs as root. Otherwise the test cannot run,
/// because `why` (e.g. "it mounts a tmpfs"): see [`skip`]; returns `false`
/// so that the caller returns at once.
///
/// ```ignore
/// if !common::require_root("it mounts a tmpfs") {
///     return;
/// }
/// ```
#[track_caller]
pub fn require_root(why: &str) -> bool {
    if is_root() {
        return true;
    }
    skip(&format!("{why}, which needs root"));
    false
}

/// This test cannot run here, because `why`. Under CI (`CI` set and not
/// empty) this panics; elsewhere it appends `SKIPPED <test>: <why>` to
/// `<target>/test-skips.txt` and prints the same line on stderr. The caller
/// returns after it.
#[track_caller]
pub fn skip(why: &str) {
    let test = test_name();
    if std::env::var_os("CI").is_some_and(|ci| !ci.is_empty()) {
        panic!("{test} cannot run under CI: {why}; CI runs the tests as root and must run it");
    }
    let line = format!("SKIPPED {test}: {why}");
    eprintln!("{line}");
    let path = skips_file();
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    // One write of one line: appends from parallel tests do not interleave.
    file.write_all(format!("{line}\n").as_bytes())
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// `<target>/test-skips.txt`.
fn skips_file() -> PathBuf {
    super::uv::target_dir().join(SKIPS_FILE)
}

/// The running test, as libtest names its thread (`module::test`).
fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("an unnamed test")
        .to_owned()
}

/// Whether this process runs as root (never, off Unix).
pub fn is_root() -> bool {
    #[cfg(unix)]
    {
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() == 0 }
    }
    #[cfg(not(unix))]
    {
        false
    }
}
