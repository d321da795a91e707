//! `uv-shim install` and `uninstall`, and `install.sh`, the thin wrapper
//! that builds and then runs install (its build step is skipped with
//! `--binary`: the test binary is already built). Install puts the shim
//! ahead of the real uv without ever deleting it, edits the config the way
//! an admin wrote it (mode, owner, comments, quoting kept), is idempotent,
//! and uninstall puts back exactly what was there.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::env::{SHIM_EXE, TestEnv, assert_failure, assert_success, run, stderr, stdout};
use crate::common::tree::listing;
use crate::common::users::{self, ALICE};
use crate::common::uv::{UV_NEW, real_uv};
use crate::common::{World, require_root, skip};

fn install_sh(env: &TestEnv, bin: &Path, more: &[&str]) -> Output {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("install.sh");
    let mut cmd = env.command("sh");
    cmd.arg(script)
        .args(["--binary", SHIM_EXE])
        .args(more)
        .arg("--bin-dir")
        .arg(bin)
        .env("PATH", path_with(bin, &[]));
    run(&mut cmd)
}

/// `PATH` with `first` in front, then `more`, then the system's folders.
fn path_with(first: &Path, more: &[&Path]) -> std::ffi::OsString {
    let mut dirs = vec![first.to_path_buf()];
    dirs.extend(more.iter().map(|d| d.to_path_buf()));
    dirs.extend(["/usr/bin", "/bin"].map(PathBuf::from));
    std::env::join_paths(dirs).unwrap()
}

/// `uv-shim install` (or `uninstall`) with `args`, `bin` first on `PATH`.
fn shim(env: &TestEnv, bin: &Path, args: &[&str]) -> Output {
    run(env
        .command(SHIM_EXE)
        .args(args)
        .arg("--bin-dir")
        .arg(bin)
        .env("PATH", path_with(bin, &[])))
}

/// Where install records the real uv: the system config as root, else the user's.
fn recorded_config(env: &TestEnv) -> PathBuf {
    let uid = run(std::process::Command::new("id").arg("-u"));
    if stdout(&uid).trim() == "0" {
        env.etc_dir().join("shim.toml")
    } else {
        env.config_dir().join("uv-shim/config.toml")
    }
}

/// A copy of the real uv at `path`, as uv's own installer leaves it.
fn real_uv_at(path: &Path) -> Vec<u8> {
    let real = std::fs::read(real_uv(UV_NEW)).unwrap();
    std::fs::write(path, &real).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    real
}

#[test]
fn installs_next_to_a_real_uv_without_losing_it_and_is_idempotent() {
    let world = World::builder().build();
    let env = &world.env;
    let bin = env.root().join("local-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let real = real_uv_at(&bin.join("uv"));

    let output = install_sh(env, &bin, &[]);
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

    // Again: nothing moves, nothing is written, and it says so.
    let after = listing(&bin);
    let output = install_sh(env, &bin, &["--no-doctor"]);
    assert_success(&output);
    assert!(
        stdout(&output).contains("nothing to do"),
        "{}",
        stdout(&output)
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), recorded);
    assert_eq!(listing(&bin), after);
}

#[test]
fn a_real_uv_later_on_path_needs_no_record() {
    let world = World::builder().build();
    let env = &world.env;
    let bin = env.root().join("local-bin");
    let uv = real_uv(UV_NEW);
    let output = run(env
        .command(SHIM_EXE)
        .args(["install", "--no-doctor", "--bin-dir"])
        .arg(&bin)
        .env("PATH", path_with(&bin, &[uv.parent().unwrap()])));
    assert_success(&output);
    assert!(
        stdout(&output).contains("found on PATH"),
        "{}",
        stdout(&output)
    );
    assert!(!recorded_config(env).exists());
    assert!(bin.join("uv-shim").is_file());
}

/// The finding of the old script: a dangling `DIR/uv` link was recorded as
/// the real uv. Now it is replaced, never recorded, and made again by uninstall.
#[test]
fn a_dangling_uv_link_is_replaced_not_recorded_and_comes_back() {
    let world = World::builder().build();
    let env = &world.env;
    let bin = env.root().join("local-bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink("/opt/uv-was-here/uv", bin.join("uv")).unwrap();
    let before = listing(&bin);
    let uv = real_uv(UV_NEW);
    let path = path_with(&bin, &[uv.parent().unwrap()]);
    let install = run(env
        .command(SHIM_EXE)
        .args(["install", "--no-doctor", "--bin-dir"])
        .arg(&bin)
        .env("PATH", &path));
    assert_success(&install);
    let said = stdout(&install);
    assert!(
        said.contains("a link to /opt/uv-was-here/uv (which does not exist)"),
        "{said}"
    );
    assert!(!said.contains("moved the real uv"), "{said}");
    assert!(!recorded_config(env).exists(), "{said}");
    assert!(!bin.join("uv-real").exists());
    let through = run(env
        .command(bin.join("uv"))
        .arg("--version")
        .env("PATH", &path));
    assert!(stdout(&through).starts_with(&format!("uv {UV_NEW}")));

    assert_success(&shim(env, &bin, &["uninstall"]));
    assert_eq!(listing(&bin), before);
}

#[test]
fn install_sh_help_prints_the_usage_not_its_code() {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("install.sh");
    let output = run(std::process::Command::new("sh").arg(script).arg("--help"));
    assert_success(&output);
    let help = stdout(&output);
    assert!(
        help.contains("--binary FILE") && help.contains("--bin-dir DIR"),
        "{help}"
    );
    assert!(!help.contains("set -eu") && !help.contains("#"), "{help}");
}

/// The admin's story: a bin dir with a `"` in its name holding a real uv
/// and a dangling `uvx` link, a 0600 system config holding a token, owned
/// by another user, with a quoted `"uv"` key naming a uv that is gone.
#[test]
fn uninstall_puts_back_exactly_what_install_found() {
    let world = World::builder().build();
    let env = &world.env;
    let bin = env.root().join("tools \"bin\"");
    std::fs::create_dir_all(&bin).unwrap();
    let real = real_uv_at(&bin.join("uv"));
    std::os::unix::fs::symlink("../gone/uvx", bin.join("uvx")).unwrap();
    let config = env.write_system_config(
        "# managed by the platform team\n\"uv\" = \"/opt/nowhere/uv\"  # stale\n\
         mirror = \"https://deploy:s3cret@mirror.invalid/uv/\"\n",
    );
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    if crate::common::skip::is_root() {
        std::os::unix::fs::chown(&config, Some(ALICE), Some(ALICE)).unwrap();
    } else {
        skip("only root can hand the config to another user: its owner is not checked");
    }
    let before = (listing(&bin), listing(&env.etc_dir()));

    let output = shim(env, &bin, &["install", "--system", "--no-doctor"]);
    assert_success(&output);
    let said = stdout(&output);
    assert!(said.contains("moved the real uv"), "{said}");
    assert!(said.contains("which does not exist"), "{said}");
    assert!(!said.contains("s3cret"), "{said}");
    assert_eq!(std::fs::read(bin.join("uv-real")).unwrap(), real);
    for face in ["uv", "uvx"] {
        assert_eq!(
            std::fs::read_link(bin.join(face)).unwrap(),
            PathBuf::from("uv-shim")
        );
    }
    // The same file, its one `uv` key edited in place, comments, token, mode and owner kept.
    let text = std::fs::read_to_string(&config).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0], "# managed by the platform team");
    assert!(
        lines[1].starts_with("\"uv\" = ") && lines[1].ends_with("  # stale"),
        "{text}"
    );
    assert_eq!(
        lines[2],
        "mirror = \"https://deploy:s3cret@mirror.invalid/uv/\""
    );
    let parsed: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(
        parsed["uv"].as_str(),
        Some(bin.join("uv-real").to_str().unwrap())
    );
    let (_, etc_before) = &before;
    let was = &etc_before[Path::new("shim.toml")];
    let now = &listing(&env.etc_dir())[Path::new("shim.toml")];
    assert_eq!(was.split(" mode ").nth(1), now.split(" mode ").nth(1));
    assert_eq!(users::mode(&config), 0o600);

    // `uv` now runs through the shim, which hands over to the real one.
    let through = run(env
        .command(bin.join("uv"))
        .arg("--version")
        .env("PATH", path_with(&bin, &[])));
    assert_success(&through);
    assert!(stdout(&through).starts_with(&format!("uv {UV_NEW}")));
    let doctor = run(env
        .command(bin.join("uv-shim"))
        .args(["doctor", "--json"])
        .env("PATH", path_with(&bin, &[])));
    let json: serde_json::Value = serde_json::from_str(&stdout(&doctor)).unwrap();
    assert_eq!(
        json["real_uv"]["path"].as_str(),
        Some(bin.join("uv-real").to_str().unwrap())
    );

    // A second run changes nothing, byte for byte, and says so.
    let installed = (listing(&bin), listing(&env.etc_dir()));
    let output = shim(env, &bin, &["install", "--system", "--no-doctor"]);
    assert_success(&output);
    assert!(
        stdout(&output).contains("nothing to do"),
        "{}",
        stdout(&output)
    );
    assert_eq!((listing(&bin), listing(&env.etc_dir())), installed);

    let output = shim(env, &bin, &["uninstall"]);
    assert_success(&output);
    assert_eq!((listing(&bin), listing(&env.etc_dir())), before);

    // Nothing left to undo: a clear no.
    let output = shim(env, &bin, &["uninstall"]);
    assert_failure(&output);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("nothing to uninstall in"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn mirror_and_dns_domain_write_a_ready_config_and_bad_values_change_nothing() {
    let world = World::builder().real_uv(UV_NEW).mirror().build();
    let env = &world.env;
    let bin = env.root().join("local-bin");
    let uv = real_uv(UV_NEW);
    let install = |extra: &[&str]| {
        run(env
            .command(SHIM_EXE)
            .args(["install", "--user", "--no-doctor", "--bin-dir"])
            .arg(&bin)
            .args(extra)
            .env("PATH", path_with(&bin, &[uv.parent().unwrap()])))
    };
    let base = world.mirror_base();
    let bad = install(&["--mirror", "ftp://mirror.example/uv/"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("--mirror `ftp://mirror.example/uv/`"),
        "{}",
        stderr(&bad)
    );
    let bad = install(&["--dns-domain", "https://corp.example/"]);
    assert!(stderr(&bad).contains("--dns-domain"), "{}", stderr(&bad));
    assert!(!bin.exists(), "a refused install touched the bin dir");

    let output = install(&["--mirror", &base, "--dns-domain", "Corp.Example."]);
    assert_success(&output);
    let config = env.config_dir().join("uv-shim/config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let mode = std::fs::metadata(&config).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a new user config is its owner's alone");
    assert_eq!(
        text,
        format!("mirror = \"{base}\"\ndns-domains = [\"corp.example\"]\n")
    );
    world.install_from_mirror("the config install wrote");

    // Edited by hand since: uninstall leaves the config, and says so; the
    // bin dir it created goes.
    let edited = format!("{text}ttl = \"1h\"\n");
    std::fs::write(&config, &edited).unwrap();
    let output = shim(env, &bin, &["uninstall"]);
    assert_success(&output);
    assert!(
        stdout(&output).contains(&format!(
            "left {}: it changed after install",
            config.display()
        )),
        "{}",
        stdout(&output)
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), edited);
    assert!(!bin.exists());
}

#[test]
fn a_bin_dir_off_path_gets_the_line_to_add_and_an_unwritable_one_a_clear_error() {
    let world = World::builder().build();
    let env = &world.env;
    let bin = env.root().join("off-path");
    let output = run(env
        .command(SHIM_EXE)
        .args(["install", "--no-doctor", "--bin-dir"])
        .arg(&bin)
        .env("PATH", "/usr/bin:/bin"));
    assert_success(&output);
    let said = stdout(&output);
    assert!(
        said.contains(&format!("{} is not on PATH", bin.display()))
            && said.contains(&format!("export PATH='{}':\"$PATH\"", bin.display())),
        "{said}"
    );

    if !require_root("only root can run install as another user") {
        return;
    }
    let locked = env.root().join("root-only");
    std::fs::create_dir_all(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    users::let_others_through(&locked);
    let mut cmd = env.command(SHIM_EXE);
    cmd.args(["install", "--user", "--no-doctor", "--bin-dir"])
        .arg(&locked)
        .env("HOME", &locked)
        .current_dir(&locked);
    let output = run(&mut users::as_user(ALICE, &cmd));
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!("cannot write in the bin dir {}", locked.display()))
            && stderr(&output).contains("--bin-dir"),
        "{}",
        stderr(&output)
    );
}
