//! Release artifacts: `scripts/dist.sh` builds the tarballs, the Windows
//! zip, a .deb per Linux architecture, a wheel per platform and
//! `SHA256SUMS`; a user takes each one as it comes and it works. The
//! script runs once per machine (see `common::dist`); each story looks at
//! what it made.

use std::path::Path;
use std::process::Command;

use crate::common::World;
use crate::common::dist::{
    self, ALL_TARGETS, Binary, Dist, EM_AARCH64, EM_X86_64, PE_AMD64, binary_kind, tar_entries,
    zip_member, zip_names,
};
use crate::common::dpkg_root::{DpkgRoot, Node};
use crate::common::env::{assert_success, run, stderr, stdout};
use crate::common::uv::{UV_NEW, real_uv, uv_version};

/// The artifacts, or a visible skip when this machine cannot build them.
fn artifacts() -> Option<&'static Dist> {
    match dist::artifacts() {
        Ok(dist) => Some(dist),
        Err(why) => {
            crate::common::skip(&why);
            None
        }
    }
}

/// What every archive holds besides the binary.
const DOCS_AND_COMPLETIONS: [&str; 7] = [
    "README.md",
    "LICENSE-MIT",
    "LICENSE-APACHE",
    "completions/uv-shim.bash",
    "completions/_uv-shim",
    "completions/uv-shim.fish",
    "completions/_uv-shim.ps1",
];

/// The binary in an archive: what its header says, and whether it runs here.
fn expected_binary(target: &str) -> Binary {
    match target {
        "x86_64-unknown-linux-musl" => Binary::Elf {
            machine: EM_X86_64,
            dynamic: false,
        },
        "aarch64-unknown-linux-musl" => Binary::Elf {
            machine: EM_AARCH64,
            dynamic: false,
        },
        "x86_64-pc-windows-gnu" => Binary::Pe { machine: PE_AMD64 },
        other => panic!("no expectation for {other}"),
    }
}

#[test]
fn sha256sums_covers_every_artifact_and_checks() {
    let Some(dist) = artifacts() else { return };
    let (passed, report) = dist::sha256sum_check(&dist.dir);
    assert!(passed, "sha256sum -c SHA256SUMS failed:\n{report}");
    let sums = std::fs::read_to_string(dist.file("SHA256SUMS")).unwrap();
    let listed: Vec<&str> = sums
        .lines()
        .map(|line| line.split_once("  ").expect("`HASH  NAME` lines").1)
        .collect();
    let on_disk: Vec<String> = dist
        .names()
        .into_iter()
        .filter(|n| n != "SHA256SUMS")
        .collect();
    assert_eq!(
        listed, on_disk,
        "SHA256SUMS names every artifact, nothing else"
    );

    // One archive, one wheel per target, one .deb per Linux target.
    let v = &dist.version;
    let mut expected = Vec::new();
    for target in &dist.targets {
        expected.push(dist.archive(target));
        expected.push(dist.wheel(wheel_platform(target)));
        match target.as_str() {
            "x86_64-unknown-linux-musl" => expected.push(dist.deb("amd64")),
            "aarch64-unknown-linux-musl" => expected.push(dist.deb("arm64")),
            _ => {}
        }
    }
    assert_eq!(
        on_disk.len(),
        expected.len(),
        "{v}: exactly the expected artifacts"
    );
    if dist.targets.len() < ALL_TARGETS.len() {
        eprintln!("DIST_TARGETS built only {:?}", dist.targets);
    }
}

#[test]
fn each_archive_holds_the_binary_docs_completions_and_man_pages() {
    let Some(dist) = artifacts() else { return };
    for target in &dist.targets {
        let archive = dist.archive(target);
        let top = format!("uv-shim-{}-{target}", dist.version);
        let exe = if target.contains("windows") {
            "uv-shim.exe"
        } else {
            "uv-shim"
        };
        let (names, binary, bash) = if target.contains("windows") {
            let names = zip_names(&archive);
            let binary = zip_member(&archive, &format!("{top}/{exe}"));
            let bash = zip_member(&archive, &format!("{top}/completions/uv-shim.bash"));
            (names, binary, bash)
        } else {
            let entries = tar_entries(&archive);
            let names = entries.iter().map(|(n, _, _)| n.clone()).collect();
            let find = |name: &str| {
                let (_, mode, data) = entries
                    .iter()
                    .find(|(n, _, _)| n == name)
                    .unwrap_or_else(|| panic!("{} has no {name}", archive.display()));
                (*mode, data.clone())
            };
            let (mode, binary) = find(&format!("{top}/{exe}"));
            assert_eq!(mode & 0o111, 0o111, "{target}: the binary is executable");
            (
                names,
                binary,
                find(&format!("{top}/completions/uv-shim.bash")).1,
            )
        };
        for wanted in DOCS_AND_COMPLETIONS
            .iter()
            .map(|f| format!("{top}/{f}"))
            .chain([
                format!("{top}/{exe}"),
                format!("{top}/man/man1/uv-shim.1"),
                format!("{top}/man/man1/uv-shim-doctor.1"),
            ])
        {
            assert!(
                names.contains(&wanted),
                "{} lacks {wanted}: {names:?}",
                archive.display()
            );
        }
        assert_eq!(binary_kind(&binary), expected_binary(target), "{target}");
        // The completions come from the real command line.
        let bash = String::from_utf8(bash).unwrap();
        assert!(bash.contains("doctor") && bash.contains("mirror"), "{bash}");

        if target == "x86_64-unknown-linux-musl"
            && cfg!(all(target_os = "linux", target_arch = "x86_64"))
        {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(exe);
            std::fs::write(&path, &binary).unwrap();
            make_executable(&path);
            let output = Command::new(&path).arg("--version").output().unwrap();
            assert_success(&output);
            assert_eq!(stdout(&output).trim(), format!("uv-shim {}", dist.version));
        }
    }
}

#[test]
fn the_wheel_installs_into_a_fresh_venv_and_puts_uv_shim_on_path() {
    let Some(dist) = artifacts() else { return };
    for target in &dist.targets {
        let wheel = dist.wheel(wheel_platform(target));
        let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
        match target.as_str() {
            // Static musl builds run on glibc too: tagged for both, as uv's wheels are.
            "x86_64-unknown-linux-musl" | "aarch64-unknown-linux-musl" => {
                let arch = target.split('-').next().unwrap();
                assert!(
                    name.contains(&format!("manylinux_2_17_{arch}"))
                        && name.contains(&format!("musllinux_1_1_{arch}")),
                    "{name}"
                );
            }
            _ => assert!(name.ends_with("-win_amd64.whl"), "{name}"),
        }
        // Only the binary, besides the wheel's own metadata.
        let exe = if target.contains("windows") {
            "uv-shim.exe"
        } else {
            "uv-shim"
        };
        let payload: Vec<String> = zip_names(&wheel)
            .into_iter()
            .filter(|n| !n.contains(".dist-info/"))
            .collect();
        assert_eq!(
            payload,
            [format!("uv_shim-{}.data/scripts/{exe}", dist.version)],
            "{name}"
        );
    }

    if !cfg!(all(target_os = "linux", target_arch = "x86_64"))
        || !dist.built("x86_64-unknown-linux-musl")
    {
        crate::common::skip("only the x86_64 Linux wheel can be installed on this machine");
        return;
    }
    // pip on this (glibc) machine takes the wheel and puts uv-shim on the venv's PATH.
    let wheel = dist.wheel("x86_64");
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("venv");
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
        .expect("run python3 -m venv");
    assert_success(&made);
    let pip = Command::new(venv.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--no-index",
            "--disable-pip-version-check",
        ])
        .arg(&wheel)
        .output()
        .unwrap();
    assert_success(&pip);
    let uv_shim = venv.join("bin/uv-shim");
    let version = Command::new(&uv_shim).arg("--version").output().unwrap();
    assert_success(&version);
    assert_eq!(stdout(&version).trim(), format!("uv-shim {}", dist.version));
    after_pip_install(&uv_shim);
}

/// The next step of the pip channel, with the `uv-shim` that
/// `pip install uv-shim` put into a venv: `uv-shim install --bin-dir` puts
/// `uv` ahead of the real uv, which `uv` then reaches through the shim;
/// `uninstall` takes it all back.
fn after_pip_install(uv_shim: &Path) {
    let world = World::builder().real_uv(UV_NEW).build();
    let env = &world.env;
    let bin = env.root().join("pip-bin");
    let real = real_uv(UV_NEW);
    let path = std::env::join_paths([
        bin.clone(),
        real.parent().unwrap().to_path_buf(),
        "/usr/bin".into(),
        "/bin".into(),
    ])
    .unwrap();
    let installed = run(env
        .command(uv_shim)
        .args(["install", "--user", "--no-doctor", "--bin-dir"])
        .arg(&bin)
        .env("PATH", &path));
    assert_success(&installed);
    let through = run(env
        .command(bin.join("uv"))
        .arg("--version")
        .env("PATH", &path));
    assert_success(&through);
    let direct = run(Command::new(&real).arg("--version"));
    assert_eq!(stdout(&through), stdout(&direct));
    assert!(stdout(&through).starts_with(&format!("uv {UV_NEW} ")));
    let doctor = run(env
        .command(bin.join("uv-shim"))
        .arg("doctor")
        .env("PATH", &path));
    assert!(
        stdout(&doctor).contains(&real.display().to_string()),
        "doctor names the real uv:\n{}",
        stdout(&doctor)
    );
    let removed = run(env
        .command(uv_shim)
        .args(["uninstall", "--bin-dir"])
        .arg(&bin)
        .env("PATH", &path));
    assert_success(&removed);
    assert!(
        !bin.join("uv").exists(),
        "uninstall left {}",
        bin.join("uv").display()
    );
}

#[test]
fn each_deb_names_its_architecture_and_ships_binary_docs_completions_and_man_pages() {
    let Some(dist) = artifacts() else { return };
    for (target, arch, machine) in [
        ("x86_64-unknown-linux-musl", "amd64", EM_X86_64),
        ("aarch64-unknown-linux-musl", "arm64", EM_AARCH64),
    ] {
        if !dist.built(target) {
            continue;
        }
        let deb = dist.deb(arch);
        let field = |name: &str| {
            let out = Command::new("dpkg-deb")
                .arg("-f")
                .arg(&deb)
                .arg(name)
                .output()
                .unwrap();
            assert_success(&out);
            stdout(&out).trim().to_string()
        };
        assert_eq!(field("Package"), "uv-shim");
        assert_eq!(field("Version"), format!("{}-1", dist.version));
        assert_eq!(field("Architecture"), arch);
        assert!(
            field("Maintainer").contains('<'),
            "a maintainer with an address"
        );
        assert_eq!(field("Depends"), "", "a static binary depends on nothing");
        assert!(
            field("Description").contains("dpkg-divert"),
            "the description says how uv is kept"
        );

        let info = Command::new("dpkg-deb")
            .arg("-I")
            .arg(&deb)
            .output()
            .unwrap();
        assert_success(&info);
        for script in ["preinst", "postinst", "prerm", "postrm"] {
            assert!(
                stdout(&info).contains(script),
                "{arch}: no {script}:\n{}",
                stdout(&info)
            );
        }

        let listing = Command::new("dpkg-deb")
            .arg("-c")
            .arg(&deb)
            .output()
            .unwrap();
        assert_success(&listing);
        let listing = stdout(&listing);
        for path in [
            "./usr/bin/uv-shim",
            "./usr/share/doc/uv-shim/README.md",
            "./usr/share/doc/uv-shim/LICENSE-MIT",
            "./usr/share/doc/uv-shim/LICENSE-APACHE",
            "./usr/share/doc/uv-shim/copyright",
            "./usr/share/bash-completion/completions/uv-shim",
            "./usr/share/zsh/vendor-completions/_uv-shim",
            "./usr/share/fish/vendor_completions.d/uv-shim.fish",
            "./usr/share/man/man1/uv-shim.1.gz",
        ] {
            assert!(listing.contains(path), "{arch}: no {path} in\n{listing}");
        }
        // The uv and uvx links are made by postinst, never unpacked over a real uv.
        assert!(!listing.contains("./usr/bin/uv "), "{listing}");

        let unpacked = tempfile::tempdir().unwrap();
        let x = Command::new("dpkg-deb")
            .arg("-x")
            .arg(&deb)
            .arg(unpacked.path())
            .output()
            .unwrap();
        assert_success(&x);
        let binary = std::fs::read(unpacked.path().join("usr/bin/uv-shim")).unwrap();
        assert_eq!(
            binary_kind(&binary),
            Binary::Elf {
                machine,
                dynamic: false
            }
        );
    }
}

/// The amd64 .deb, when this machine can install it into a throw-away
/// root (x86_64, root for dpkg); else a visible skip.
fn installable_deb() -> Option<std::path::PathBuf> {
    let dist = artifacts()?;
    if !crate::common::require_root("it installs the .deb into a throw-away root with dpkg") {
        return None;
    }
    if !cfg!(all(target_os = "linux", target_arch = "x86_64"))
        || !dist.built("x86_64-unknown-linux-musl")
    {
        crate::common::skip("only the amd64 .deb installs on this machine");
        return None;
    }
    Some(dist.deb("amd64"))
}

#[test]
fn the_deb_keeps_a_real_uv_and_gives_it_back_on_remove() {
    let Some(deb) = installable_deb() else { return };
    // A machine with a real uv in /usr/bin (from another package, or pip into /usr).
    let root = DpkgRoot::new();
    let real = real_uv(UV_NEW);
    let real_bytes = std::fs::read(&real).unwrap();
    root.put_executable("usr/bin/uv", &real_bytes);
    root.add_libraries_of(&real);
    let before = root.snapshot();

    let install = root.dpkg(&["-i", &deb.to_string_lossy()]);
    assert_success(&install);
    assert_eq!(
        std::fs::read_link(root.path("usr/bin/uv")).unwrap(),
        Path::new("uv-shim"),
        "uv is now the shim"
    );
    assert_eq!(
        std::fs::read_link(root.path("usr/bin/uvx")).unwrap(),
        Path::new("uv-shim")
    );
    assert_eq!(
        std::fs::read(root.path("usr/lib/uv-shim/real/uv")).unwrap(),
        real_bytes,
        "the real uv is kept, byte for byte"
    );
    assert!(
        root.diversions()
            .contains("diversion of /usr/bin/uv to /usr/lib/uv-shim/real/uv by uv-shim")
    );
    let config = std::fs::read_to_string(root.path("etc/uv/shim.toml")).unwrap();
    assert!(
        config.contains("uv = \"/usr/lib/uv-shim/real/uv\""),
        "{config}"
    );

    // Inside that machine, `uv` goes through the shim to the real uv it recorded.
    let vars = [
        ("HOME", "/tmp"),
        ("UV_SHIM_CACHE_DIR", "/tmp/shim-cache"),
        ("PATH", "/usr/bin"),
    ];
    let through = root.chroot("/usr/bin/uv", &["--version"], &vars);
    assert_success(&through);
    assert_eq!(
        stdout(&through).trim().split(' ').nth(1),
        Some(uv_version(&real).as_str())
    );
    let doctor = root.chroot("/usr/bin/uv-shim", &["doctor"], &vars);
    assert!(
        stdout(&doctor).contains("/usr/lib/uv-shim/real/uv"),
        "{}",
        stdout(&doctor)
    );

    let remove = root.dpkg(&["-r", "uv-shim"]);
    assert_success(&remove);
    assert_eq!(
        root.snapshot(),
        before,
        "remove gives the root back as it was"
    );
    assert_eq!(root.diversions(), "");
    let purge = root.dpkg(&["-P", "uv-shim"]);
    assert_success(&purge);
    assert_eq!(root.snapshot(), before, "purge leaves it so");
}

#[test]
fn the_deb_leaves_an_admins_config_alone_and_cleans_up_after_itself() {
    let Some(deb) = installable_deb() else { return };

    // No uv at all: links only, no config; remove and purge leave nothing.
    let bare = DpkgRoot::new();
    let before = bare.snapshot();
    assert_success(&bare.dpkg(&["-i", &deb.to_string_lossy()]));
    assert!(bare.path("usr/bin/uv").is_symlink());
    assert!(!bare.path("etc/uv/shim.toml").exists(), "nothing to record");
    assert_success(&bare.dpkg(&["-P", "uv-shim"]));
    assert_eq!(bare.snapshot(), before);

    // A real uv and the admin's own config: the config is not touched, and
    // the install says which line to add.
    let root = DpkgRoot::new();
    root.put_executable("usr/bin/uv", b"#!/bin/sh\necho a real uv\n");
    std::fs::create_dir_all(root.path("etc/uv")).unwrap();
    let admin = "# the admin's\nmirror = \"https://mirror.corp.example/uv/\"\n";
    std::fs::write(root.path("etc/uv/shim.toml"), admin).unwrap();
    let before = root.snapshot();
    let install = root.dpkg(&["-i", &deb.to_string_lossy()]);
    assert_success(&install);
    assert_eq!(
        std::fs::read_to_string(root.path("etc/uv/shim.toml")).unwrap(),
        admin
    );
    assert!(
        stderr(&install).contains("uv = \"/usr/lib/uv-shim/real/uv\""),
        "{}",
        stderr(&install)
    );
    // An earlier uv on PATH is named, with the command that fixes it.
    let pip_uv = DpkgRoot::new();
    pip_uv.put_executable("usr/local/bin/uv", b"#!/bin/sh\n");
    let install = pip_uv.dpkg(&["-i", &deb.to_string_lossy()]);
    assert_success(&install);
    assert!(
        stderr(&install).contains("uv-shim install --bin-dir /usr/local/bin --system"),
        "{}",
        stderr(&install)
    );

    assert_success(&root.dpkg(&["-P", "uv-shim"]));
    assert_eq!(
        root.snapshot(),
        before,
        "purge gives back the real uv and the untouched config"
    );
    assert!(matches!(
        root.snapshot().get("usr/bin/uv"),
        Some(Node::File(0o755, _))
    ));
}

fn wheel_platform(target: &str) -> &'static str {
    match target {
        "x86_64-unknown-linux-musl" => "x86_64",
        "aarch64-unknown-linux-musl" => "aarch64",
        "x86_64-pc-windows-gnu" => "win_amd64",
        other => panic!("no wheel platform for {other}"),
    }
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[cfg(not(unix))]
fn make_executable(_: &Path) {}
