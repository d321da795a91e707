//! The `uvx` face: linked as `uvx`, the shim runs the same pipeline and then
//! the real `uvx` beside the real uv, or (no usable uvx there) the real uv's
//! own `tool uvx`. Both layouts a user meets: the shim in a folder of its own
//! ahead of the real uv's, and the shim installed beside the real uv and uvx
//! by `install.sh`. The real uv does the work every time: a uvx call with
//! `--python X` installs X from the mirror. uv 0.2.21, the last before
//! `tool uvx`, shows that an old uv gets `tool run`.

use std::path::{Path, PathBuf};

use crate::common::World;
use crate::common::env::{SHIM_EXE, TestEnv, assert_failure, assert_success, run, stderr, stdout};
use crate::common::scene::Mirror;
use crate::common::uv::{UV_NEW, UV_OLD, real_uv};

/// `bin/uvx` -> the shim, beside the harness's `bin/uv` link.
fn link_uvx(env: &TestEnv) -> PathBuf {
    let link = env.bin_dir().join("uvx");
    std::os::unix::fs::symlink(SHIM_EXE, &link).unwrap();
    link
}

/// `uvx --python X python -c …`, with managed Pythons only, so the host's
/// own python3 can never stand in for the mirror's build.
fn uvx_python(env: &TestEnv, uvx: &Path, mirror: &Mirror) -> std::process::Output {
    run(env
        .command(uvx)
        .args(["--python", &mirror.version(), "python", "-c"])
        .arg("import sys; print('ran', sys.version_info[:2])")
        .env("UV_PYTHON_PREFERENCE", "only-managed"))
}

/// The tarball fetched from the mirror, exactly once.
fn assert_installed_from_the_mirror(env: &TestEnv, mirror: &Mirror, output: &std::process::Output) {
    assert_success(output);
    assert!(stdout(output).starts_with("ran "), "{}", stdout(output));
    mirror.assert_build_installed(env, "uvx");
}

#[test]
fn uvx_in_a_folder_of_its_own_runs_the_real_uvx_and_installs_from_the_mirror() {
    let world = World::builder()
        .real_uv(UV_NEW)
        .mirror()
        .named_in_system_config()
        .build();
    let (env, mirror) = (&world.env, world.mirror());
    let uvx = link_uvx(env);
    let real_uvx = real_uv(UV_NEW).with_file_name("uvx");

    // The debug log names what was started: the real uvx beside the real uv.
    let mut cmd = env.command(&uvx);
    cmd.args(["--python", &mirror.version(), "python", "-c"])
        .arg("import sys; print('ran', sys.version_info[:2])")
        .env("UV_PYTHON_PREFERENCE", "only-managed")
        .env("UV_SHIM_LOG", "debug");
    let output = run(&mut cmd);
    assert_installed_from_the_mirror(env, mirror, &output);
    assert!(
        stderr(&output).contains(&format!("exec {} with [", real_uvx.display())),
        "{}",
        stderr(&output)
    );
    assert_eq!(mirror.metadata_requests(), 1);

    // Warm: a plan of its own, apart from the `uv` face's, and no fetch.
    let again = uvx_python(env, &uvx, mirror);
    assert_success(&again);
    let uv = run(env.uv().args(["python", "find", &mirror.version()]));
    assert_success(&uv);
    assert_eq!(mirror.metadata_requests(), 1);
    let plans: Vec<String> = std::fs::read_dir(env.cache_dir().join("plan"))
        .unwrap()
        .map(|plan| std::fs::read_to_string(plan.unwrap().path()).unwrap())
        .collect();
    let names = |program: &Path| {
        let line = format!("\nuv {}\n", program.display());
        plans.iter().filter(|plan| plan.contains(&line)).count()
    };
    // Two for uvx (with and without the debug log, a variable of the key), one for uv.
    assert_eq!(names(&real_uvx), 2, "{plans:#?}");
    assert_eq!(names(&real_uv(UV_NEW)), 1, "{plans:#?}");

    let doctor = run(env.shim().arg("doctor"));
    assert!(
        stdout(&doctor).contains(&format!(
            "uvx {} (the real uvx beside the real uv)",
            real_uvx.display()
        )),
        "{}",
        stdout(&doctor)
    );
}

/// `install.sh` into the folder that holds the real uv and uvx: both move
/// aside (`uv-real`, `uvx-real`), the links take their names. The shim runs
/// `uv-real tool uvx` (the real uvx would run the folder's `uv`, the shim);
/// and the real uvx, called by its new name, comes through the shim too.
#[test]
fn uvx_installed_beside_the_real_uvx_installs_from_the_mirror() {
    let world = World::builder().mirror().named_in_system_config().build();
    let (env, mirror) = (&world.env, world.mirror());
    let bin = env.root().join("local-bin");
    std::fs::create_dir_all(&bin).unwrap();
    for name in ["uv", "uvx"] {
        std::fs::copy(real_uv(UV_NEW).with_file_name(name), bin.join(name)).unwrap();
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("install.sh");
    let install = || {
        run(env
            .command("sh")
            .arg(&script)
            .args(["--binary", SHIM_EXE, "--no-doctor", "--bin-dir"])
            .arg(&bin)
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display())))
    };
    let real_uvx = std::fs::read(bin.join("uvx")).unwrap();
    let first = install();
    assert_success(&first);
    assert!(
        stdout(&first).contains("moved the real uvx"),
        "{}",
        stdout(&first)
    );
    // Again: the second run finds its own links and moves nothing.
    let again = install();
    assert_success(&again);
    assert!(!stdout(&again).contains("moved"), "{}", stdout(&again));
    assert_eq!(std::fs::read(bin.join("uvx-real")).unwrap(), real_uvx);
    assert_eq!(
        std::fs::read_link(bin.join("uvx")).unwrap(),
        PathBuf::from("uv-shim")
    );

    let output = uvx_python(env, &bin.join("uvx"), mirror);
    assert_installed_from_the_mirror(env, mirror, &output);

    // The real uvx under its new name runs `<its folder>/uv`: the shim.
    let output = uvx_python(env, &bin.join("uvx-real"), mirror);
    assert_success(&output);
    assert!(stdout(&output).starts_with("ran "), "{}", stdout(&output));
    assert!(mirror.metadata_requests() >= 1);

    let doctor = run(env.command(bin.join("uv-shim")).arg("doctor"));
    assert!(
        stdout(&doctor).contains(&format!(
            "uvx none usable beside the real uv: runs {} tool uvx instead",
            bin.join("uv-real").display()
        )),
        "{}",
        stdout(&doctor)
    );
}

/// A real uv with no uvx beside it (a uv copied on its own): the shim runs
/// that uv's `tool uvx`, which is all the real uvx would have done.
#[test]
fn without_a_real_uvx_the_real_uvs_tool_uvx_runs() {
    let world = World::builder()
        .real_uv(UV_NEW)
        .mirror()
        .named_in_system_config()
        .build();
    let (env, mirror) = (&world.env, world.mirror());
    let alone = env.root().join("uv-alone");
    std::fs::create_dir_all(&alone).unwrap();
    std::os::unix::fs::symlink(real_uv(UV_NEW), alone.join("uv")).unwrap();
    env.write_user_config(&format!("uv = \"{}\"\n", alone.join("uv").display()));
    let uvx = link_uvx(env);

    let output = uvx_python(env, &uvx, mirror);
    assert_installed_from_the_mirror(env, mirror, &output);
    let doctor = run(env.shim().arg("doctor"));
    assert!(
        stdout(&doctor).contains(&format!(
            "uvx none usable beside the real uv: runs {} tool uvx instead",
            alone.join("uv").display()
        )),
        "{}",
        stdout(&doctor)
    );

    // A uvx put beside that uv later is taken at once: the remembered plan
    // rested on its absence. (It notes that it ran, then is the real uvx.)
    let again = uvx_python(env, &uvx, mirror);
    assert_success(&again);
    let marker = env.root().join("uvx-ran");
    let script = alone.join("uvx");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ntouch '{}'\nexec '{}' \"$@\"\n",
            marker.display(),
            real_uv(UV_NEW).with_file_name("uvx").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = uvx_python(env, &uvx, mirror);
    assert_success(&output);
    assert!(stdout(&output).starts_with("ran "), "{}", stdout(&output));
    assert!(
        marker.exists(),
        "the new uvx beside the real uv did not run"
    );
}

/// uv before 0.6.13 reads no metadata URL; through `uvx` it gets the mirror
/// variables and asks the mirror for the build its built-in list names
/// (which the crafted mirror cannot hold: that uv checks the real builds'
/// hashes compiled into it, so the install itself fails).
#[test]
fn old_uvs_uvx_asks_the_mirror() {
    let world = World::builder()
        .real_uv(UV_OLD)
        .mirror()
        .named_in_system_config()
        .build();
    let (env, mirror) = (&world.env, world.mirror());
    let uvx = link_uvx(env);

    let output = uvx_python(env, &uvx, mirror);
    assert_failure(&output);
    mirror.assert_one_build_request_from(UV_OLD);
}

/// The last uv before the hidden `tool uvx` command (uv 0.2.22 added it);
/// its own uvx ran `uv tool run`.
const UV_TOOL_RUN_ERA: &str = "0.2.21";

/// A uv from before `tool uvx`, with no uvx beside it: the shim runs its
/// `tool run`, as that uv's own uvx did (`tool uvx` does not exist there).
#[test]
fn a_uv_before_tool_uvx_gets_tool_run() {
    let world = World::builder().mirror().named_in_system_config().build();
    let env = &world.env;
    let alone = env.root().join("uv-alone");
    std::fs::create_dir_all(&alone).unwrap();
    std::os::unix::fs::symlink(real_uv(UV_TOOL_RUN_ERA), alone.join("uv")).unwrap();
    env.write_user_config(&format!("uv = \"{}\"\n", alone.join("uv").display()));
    let uvx = link_uvx(env);

    // `tool run --help` is that uv's help for running a tool; `tool uvx`
    // would be an unknown subcommand there.
    let output = run(env.command(&uvx).arg("--help"));
    assert_success(&output);
    assert!(
        stdout(&output).contains("Usage: uv tool run"),
        "{}",
        stdout(&output)
    );
    let doctor = run(env.shim().arg("doctor"));
    assert!(
        stdout(&doctor).contains(&format!(
            "uvx none usable beside the real uv: runs {} tool run instead",
            alone.join("uv").display()
        )),
        "{}",
        stdout(&doctor)
    );
}
