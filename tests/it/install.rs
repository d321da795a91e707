//! `install.sh`: installs the shim and its `uv` link, never deletes the real
//! uv, records it when the link would shadow it, and is safe to run again.
//! The script's build step is skipped with `--binary` (the test binary is
//! already built); everything else runs as a user would run it.

use std::path::{Path, PathBuf};

use crate::common::World;
use crate::common::env::{SHIM_EXE, TestEnv, assert_success, run, stdout};
use crate::common::uv::{UV_NEW, real_uv};

fn install(env: &TestEnv, bin: &Path) -> std::process::Output {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("install.sh");
    let mut cmd = env.command("sh");
    cmd.arg(script)
        .args(["--binary", SHIM_EXE, "--bin-dir"])
        .arg(bin)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()));
    run(&mut cmd)
}

/// Where install.sh records the real uv: the system config as root, else the user's.
fn recorded_config(env: &TestEnv) -> PathBuf {
    let uid = run(std::process::Command::new("id").arg("-u"));
    if stdout(&uid).trim() == "0" {
        env.etc_dir().join("shim.toml")
    } else {
        env.config_dir().join("uv-shim/config.toml")
    }
}

#[test]
fn installs_next_to_a_real_uv_without_losing_it_and_is_idempotent() {
    let world = World::builder().build();
    let env = &world.env;
    let bin = env.root().join("local-bin");
    std::fs::create_dir_all(&bin).unwrap();
    // A real uv where the link must go, as uv's own installer leaves it.
    let real = std::fs::read(real_uv(UV_NEW)).unwrap();
    std::fs::write(bin.join("uv"), &real).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(bin.join("uv"), std::fs::Permissions::from_mode(0o755)).unwrap();

    let output = install(env, &bin);
    assert_success(&output);
    let said = stdout(&output);
    assert!(said.contains("moved the real uv"), "{said}");
    assert_eq!(std::fs::read(bin.join("uv-real")).unwrap(), real);
    assert_eq!(
        std::fs::read_link(bin.join("uv")).unwrap(),
        PathBuf::from("uv-shim")
    );
    let config = recorded_config(env);
    let recorded = std::fs::read_to_string(&config).unwrap();
    assert_eq!(
        recorded,
        format!("uv = \"{}\"\n", bin.join("uv-real").display())
    );
    // The doctor ran at the end and found the real uv through the record.
    assert!(said.contains(&format!("version {UV_NEW}")), "{said}");

    // Through the link, the recorded real uv answers.
    let through = run(env.command(bin.join("uv")).arg("--version"));
    assert_success(&through);
    assert!(stdout(&through).starts_with(&format!("uv {UV_NEW}")));

    // Again: nothing moves, nothing is recorded twice, the real uv is still there.
    let output = install(env, &bin);
    assert_success(&output);
    assert!(!stdout(&output).contains("moved"), "{}", stdout(&output));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), recorded);
    assert_eq!(std::fs::read(bin.join("uv-real")).unwrap(), real);
}

#[test]
fn a_real_uv_later_on_path_needs_no_record() {
    let world = World::builder().build();
    let env = &world.env;
    let bin = env.root().join("local-bin");
    let uv = real_uv(UV_NEW);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("install.sh");
    let output = run(env
        .command("sh")
        .arg(script)
        .args(["--binary", SHIM_EXE, "--no-doctor", "--bin-dir"])
        .arg(&bin)
        .env(
            "PATH",
            format!(
                "{}:{}:/usr/bin:/bin",
                bin.display(),
                uv.parent().unwrap().display()
            ),
        ));
    assert_success(&output);
    assert!(
        stdout(&output).contains("found on PATH"),
        "{}",
        stdout(&output)
    );
    assert!(!recorded_config(env).exists());
    assert!(bin.join("uv-shim").is_file());
}
