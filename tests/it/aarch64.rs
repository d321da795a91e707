//! The static aarch64 build of the shim on an aarch64 machine, played on
//! this x86_64 one by qemu-user: the shim built for
//! `aarch64-unknown-linux-musl`, in front of the real aarch64 uv from PyPI's
//! wheel, both run by the kernel through binfmt_misc as they would be run
//! natively (the shim `exec`s uv, uv runs Python). The set-up (cross
//! compiler, qemu, build, wheel) happens once, in `tests/common/aarch64.rs`.

use std::path::Path;

use crate::common::World;
use crate::common::aarch64::{Aarch64, TARGET, aarch64};
use crate::common::env::{assert_success, run, run_with_timeout, stdout};
use crate::common::mirror::{Host, host_python};
use crate::common::skip;
use crate::common::uv::UV_NEW;

/// The aarch64 build and uv, or a visible skip (a failure under CI).
#[track_caller]
fn ready() -> Option<&'static Aarch64> {
    match aarch64() {
        Ok(ready) => Some(ready),
        Err(why) => {
            skip(&format!("the aarch64 build cannot run here: {why}"));
            None
        }
    }
}

/// A world whose `uv` is the aarch64 shim, with the aarch64 uv behind it.
fn aarch64_world(arm: &Aarch64) -> World {
    World::builder()
        .shim_binary(&arm.shim)
        .real_uv_at(&arm.uv)
        .build()
}

/// The machine an ELF file is for (`e_machine`: 0xb7 is aarch64, 0x3e x86_64).
fn elf_machine(path: &Path) -> u16 {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..4], b"\x7fELF", "{} is no ELF file", path.display());
    u16::from_le_bytes([bytes[18], bytes[19]])
}

#[test]
fn uv_goes_through_the_aarch64_shim_to_the_real_aarch64_uv() {
    let Some(arm) = ready() else { return };
    assert_eq!(elf_machine(&arm.shim), 0xb7, "{}", arm.shim.display());
    let world = aarch64_world(arm);

    let output = run(world.env.uv().arg("--version"));

    assert_success(&output);
    assert_eq!(
        stdout(&output).trim(),
        format!("uv {UV_NEW} (aarch64-unknown-linux-musl)"),
        "the aarch64 uv answers, through the aarch64 shim"
    );
}

#[test]
fn the_exit_code_comes_back_through_both() {
    let Some(arm) = ready() else { return };
    let world = aarch64_world(arm);

    // uv runs the machine's python3, which exits with 7: the code travels
    // back through uv and the shim's exec.
    let output = run(world
        .env
        .uv()
        .args(["run", "--no-project", "--python"])
        .arg(&host_python().path)
        .args(["--", "python", "-c", "import sys; sys.exit(7)"]));

    assert_eq!(output.status.code(), Some(7), "{output:?}");
}

#[test]
fn the_aarch64_uv_installs_the_mirrors_aarch64_build() {
    let Some(arm) = ready() else { return };
    let world = World::builder()
        .shim_binary(&arm.shim)
        .real_uv_at(&arm.uv)
        .mirror_for(Host::linux_gnu("aarch64"))
        .named_in_system_config()
        .build();
    let mirror = world.mirror();

    let output = run(world
        .env
        .uv()
        .args(["python", "list", "--only-downloads", "--show-urls"]));

    assert_success(&output);
    let listed = stdout(&output);
    let urls: Vec<&str> = listed
        .lines()
        .filter_map(|line| line.split_whitespace().nth(1))
        .collect();
    assert_eq!(
        urls,
        [format!(
            "{}{}",
            mirror.base(),
            mirror.entry.encoded_rel_path()
        )],
        "only the mirror's aarch64 build:\n{listed}"
    );
    assert!(listed.contains("linux-aarch64-gnu"), "{listed}");
    world.install_from_mirror("the aarch64 uv, through the aarch64 shim");
}

#[test]
fn doctor_on_aarch64_names_the_real_uv() {
    let Some(arm) = ready() else { return };
    let world = aarch64_world(arm);

    let report = world.doctor();

    let named = report.json["real_uv"]["path"].as_str().map(Path::new);
    assert_eq!(
        named.and_then(|path| path.canonicalize().ok()),
        arm.uv.canonicalize().ok(),
        "{}",
        report.dump()
    );
    assert!(
        report.json["real_uv"]["version"]
            .as_str()
            .is_some_and(|v| v.starts_with(UV_NEW)),
        "{}",
        report.dump()
    );
}

#[test]
fn the_unit_tests_pass_on_aarch64() {
    let Some(arm) = ready() else { return };
    assert_eq!(elf_machine(&arm.unit_tests), 0xb7);

    // As `cargo test` runs them with qemu as the target's runner
    // (`CARGO_TARGET_…_RUNNER`), from the package's folder.
    let output = run_with_timeout(
        std::process::Command::new(&arm.qemu)
            .arg(&arm.unit_tests)
            .current_dir(env!("CARGO_MANIFEST_DIR")),
        std::time::Duration::from_secs(600),
    );

    assert_success(&output);
    let summary = stdout(&output);
    let passed = summary
        .lines()
        .find_map(|line| line.strip_prefix("test result: ok. "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or_else(|| panic!("no summary from the {TARGET} unit tests:\n{summary}"));
    assert!(passed > 0, "no unit test ran on {TARGET}:\n{summary}");
}
