//! The Windows build, run under wine with the real `uv.exe` from PyPI's
//! `win_amd64` wheel: the shim installed as copies (`uv.exe`, `uvx.exe`,
//! `uvw.exe`, `uv-shim.exe`, as Windows installs do) in a folder ahead of
//! the real uv on the Windows `PATH`.
//!
//! One test walks through every check, because they share the one wine
//! prefix (a wineserver per prefix, one story at a time) and its slow set-up
//! ([`Wine::get`]): the shim's unit tests pass on Windows; `uv --version`
//! is the real uv's; uv's exit code and messages come through; a mirror on
//! 127.0.0.1 reaches `uv python list`; `doctor` names the real `uv.exe`,
//! passing over the shim's own copy; `uvx` and `uvw` run the real ones; the
//! Windows config paths (`%APPDATA%`, `%PROGRAMDATA%`, uv's own
//! `%APPDATA%\uv\uv.toml`) are honoured; `env --shell powershell` quotes a
//! cache path with a space and a `'`; Ctrl-C is left to uv, and a killed
//! shim takes uv with it; `uv-shim install` makes `.exe` copies that reach
//! the real uv, and `uninstall` takes them back. The folders and the mirror are
//! [`crate::common::wine_scene`]'s.

use std::fs;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::env::{stderr, stdout};
use crate::common::http::Fault;
use crate::common::uv::UV_NEW;
use crate::common::wine::{Wine, windows_path};
use crate::common::wine_scene::{
    Cleanup, Scene, WindowsMirror, assert_listed_only_at, interrupt, real_uv_processes, source,
    wait_until, write,
};

#[test]
fn the_windows_build_under_wine() {
    let Some(wine) = Wine::get() else {
        return;
    };
    let started = Instant::now();
    unit_tests_pass_on_windows(&wine);
    let scene = Scene::new(&wine);
    pass_through_to_the_real_uv(&scene);
    uvs_exit_code_and_messages_come_through(&scene);
    let mirror = WindowsMirror::start(&scene.dir.path().join("served"));
    a_mirror_on_localhost_reaches_uv(&scene, &mirror);
    a_file_mirror_named_by_a_windows_path(&scene);
    doctor_names_the_real_uv(&scene);
    uvx_and_uvw_run_the_real_ones(&scene);
    windows_config_paths_are_honoured(&scene, &mirror);
    powershell_gets_windows_paths_quoted(&scene, &mirror);
    ctrl_c_is_left_to_uv_and_a_killed_shim_takes_uv_with_it(&scene, &mirror);
    install_puts_exe_copies_ahead_of_the_real_uv_and_uninstall_takes_them_back(&scene);
    eprintln!("windows story: {:?} after set-up", started.elapsed());
}

/// The shim's unit tests, built for Windows, pass in the prefix.
fn unit_tests_pass_on_windows(wine: &Wine) {
    let dir = tempfile::tempdir().unwrap();
    let output = wine.run(&mut wine.command(&wine.unit_tests, &[], dir.path()));
    assert!(
        output.status.success() && stdout(&output).contains("test result: ok"),
        "the unit tests failed on Windows:\n{}\n{}",
        stdout(&output),
        stderr(&output)
    );
}

fn pass_through_to_the_real_uv(scene: &Scene) {
    let output = scene.run("uv.exe", &["--version"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let version = stdout(&output);
    assert!(
        version.starts_with(&format!("uv {UV_NEW} ")) && version.contains("windows"),
        "{version}"
    );
    assert_eq!(stderr(&output), "", "pass-through is silent");
}

/// uv's own failure: its code (2) and its message, not the shim's.
fn uvs_exit_code_and_messages_come_through(scene: &Scene) {
    let output = scene.run("uv.exe", &["python", "list", "--no-such-flag"], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("unexpected argument '--no-such-flag'"),
        "{err}"
    );
    assert!(!err.contains("uv-shim"), "the message is uv's: {err}");
    // And success is success.
    let output = scene.run("uv.exe", &["python", "dir"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

/// `UV_SHIM_MIRROR` names a mirror on 127.0.0.1 whose metadata lists uv's
/// upstream URL for a Windows build: uv lists only the mirror's URL.
fn a_mirror_on_localhost_reaches_uv(scene: &Scene, mirror: &WindowsMirror) {
    let output = scene.run(
        "uv.exe",
        &["python", "list", "--show-urls"],
        &[("UV_SHIM_MIRROR", &mirror.base())],
    );
    mirror.assert_listed_only(&output, "UV_SHIM_MIRROR");
    assert_eq!(
        mirror.server.count("/uv/download-metadata.json"),
        1,
        "fetched once"
    );
    // The warm call reads the cached copy: no request.
    let output = scene.run(
        "uv.exe",
        &["python", "list", "--show-urls"],
        &[("UV_SHIM_MIRROR", &mirror.base())],
    );
    mirror.assert_listed_only(&output, "warm");
    assert_eq!(mirror.server.count("/uv/download-metadata.json"), 1);
}

/// A mirror named by a Windows path (`Z:\…\uv`) is a `file` mirror: uv
/// lists its build at `file:///Z:/…`.
fn a_file_mirror_named_by_a_windows_path(scene: &Scene) {
    let folder = scene.dir.path().join("served").join("uv");
    let output = scene.run(
        "uv.exe",
        &["python", "list", "--show-urls"],
        &[("UV_SHIM_MIRROR", &windows_path(&folder))],
    );
    let base = format!("file:///{}/", windows_path(&folder).replace('\\', "/"));
    assert_listed_only_at(&output, "file mirror", &base);
}

/// The real uv is `uv.exe` in the real uv's folder. The shim's own `uv.exe`
/// (a hard link: the same file, by volume serial and file index) is skipped
/// without asking; another copy of the shim, earlier on `PATH` than the real
/// uv, says what it is when asked and is passed over.
fn doctor_names_the_real_uv(scene: &Scene) {
    let doctor = scene.doctor(&[]);
    let real = &doctor["real_uv"];
    assert_eq!(
        real["path"].as_str(),
        Some(windows_path(&scene.wine.uv_dir.join("uv.exe")).as_str()),
        "{doctor:#}"
    );
    assert_eq!(
        real["version"]
            .as_str()
            .map(|v| v.split(' ').next().unwrap()),
        Some(UV_NEW)
    );
    assert_eq!(
        real["other_shims"],
        json!([windows_path(&scene.more.join("uv.exe"))]),
        "{doctor:#}"
    );
    let uvx = real["uvx"].as_str().unwrap();
    assert!(
        uvx.starts_with(&windows_path(&scene.wine.uv_dir.join("uvx.exe"))),
        "{uvx}"
    );
    let uvw = real["uvw"].as_str().unwrap_or_else(|| panic!("{doctor:#}"));
    assert!(
        uvw.starts_with(&windows_path(&scene.wine.uv_dir.join("uvw.exe"))),
        "{uvw}"
    );
}

/// `uvx` runs the real `uvx.exe` beside the real uv; `uvw` the real `uvw.exe`
/// (uv with no console window): the program run, and its exit code.
fn uvx_and_uvw_run_the_real_ones(scene: &Scene) {
    let output = scene.run("uvx.exe", &["--version"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with(&format!("uvx {UV_NEW} ")),
        "{}",
        stdout(&output)
    );
    // No uvw.exe beside the real uv: the shim runs the real uv itself.
    let lone = scene.dir.path().join("lone");
    fs::create_dir_all(&lone).unwrap();
    fs::copy(scene.wine.uv_dir.join("uv.exe"), lone.join("uv.exe")).unwrap();
    let lone_uv = windows_path(&lone.join("uv.exe"));
    let output = scene.run(
        "uvw.exe",
        &["--version"],
        &[("UV_SHIM_REAL_UV", &lone_uv), ("UV_SHIM_LOG", "debug")],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with(&format!("uv {UV_NEW} ")),
        "{}",
        stdout(&output)
    );
    assert!(
        stderr(&output).contains(&format!("exec {lone_uv} with")),
        "{}",
        stderr(&output)
    );
    let output = scene.run("uvw.exe", &["--no-such-flag"], &[("UV_SHIM_LOG", "debug")]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let log = stderr(&output);
    assert!(
        log.contains(&format!(
            "exec {}",
            windows_path(&scene.wine.uv_dir.join("uvw.exe"))
        )),
        "{log}"
    );
}

/// The shim's user config `%APPDATA%\uv-shim\config.toml`, its system config
/// `%PROGRAMDATA%\uv\shim.toml`, and uv's own `%APPDATA%\uv\uv.toml` (whose
/// `python-install-mirror` uv applies itself, so the shim must leave the
/// upstream prefix to it), all where Windows keeps them.
fn windows_config_paths_are_honoured(scene: &Scene, mirror: &WindowsMirror) {
    let wine = scene.wine;
    let user_config = wine.appdata().join("uv-shim").join("config.toml");
    let system_config = wine.programdata().join("uv").join("shim.toml");
    let uv_toml = wine.appdata().join("uv").join("uv.toml");
    // Left by an interrupted run, they would change every other check.
    let _cleanup = Cleanup::now_and_after(vec![
        user_config.clone(),
        system_config.clone(),
        uv_toml.clone(),
    ]);
    let mirror_line = format!("mirror = \"{}\"\n", mirror.base());

    write(&user_config, &mirror_line);
    let doctor = scene.doctor(&[]);
    assert_eq!(
        source(&doctor, "user config")["location"],
        wine.on_c(&user_config)
    );
    assert_eq!(
        source(&doctor, "user config")["status"],
        "chosen",
        "{doctor:#}"
    );
    let output = scene.run("uv.exe", &["python", "list", "--show-urls"], &[]);
    mirror.assert_listed_only(&output, "user config");
    fs::remove_file(&user_config).unwrap();

    write(&system_config, &mirror_line);
    let doctor = scene.doctor(&[]);
    assert_eq!(
        source(&doctor, "system config")["location"],
        wine.on_c(&system_config)
    );
    assert_eq!(
        source(&doctor, "system config")["status"],
        "chosen",
        "{doctor:#}"
    );
    let output = scene.run("uv.exe", &["python", "list", "--show-urls"], &[]);
    mirror.assert_listed_only(&output, "system config");

    // uv's own user config names the mirror for CPython: uv rewrites the
    // upstream prefix itself; the shim hands it the metadata unrewritten.
    write(
        &uv_toml,
        &format!(
            "python-install-mirror = \"{}\"\n",
            mirror.base().trim_end_matches('/')
        ),
    );
    let doctor = scene.doctor(&[]);
    let notes = doctor["notes"].to_string();
    assert!(
        notes.contains(&wine.on_c(&uv_toml).replace('\\', r"\\")),
        "doctor names uv's Windows config: {doctor:#}"
    );
    let output = scene.run("uv.exe", &["python", "list", "--show-urls"], &[]);
    mirror.assert_listed_only(&output, "uv's uv.toml");

    // Without UV_SHIM_CACHE_DIR the cache is in %LOCALAPPDATA%.
    let doctor = scene.doctor(&[("UV_SHIM_CACHE_DIR", "")]);
    let local = wine
        .appdata()
        .parent()
        .unwrap()
        .join("Local")
        .join("uv-shim");
    assert_eq!(doctor["cache"]["folder"], wine.on_c(&local), "{doctor:#}");
}

/// `env --shell powershell` prints the cached metadata's Windows path (a
/// space and a `'` in it) as a PowerShell string that reads back as it is.
fn powershell_gets_windows_paths_quoted(scene: &Scene, mirror: &WindowsMirror) {
    let vars = [("UV_SHIM_MIRROR", mirror.base())];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let output = scene.run("uv-shim.exe", &["env", "--shell", "powershell"], &vars);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    // PowerShell is the Windows default.
    let default = scene.run("uv-shim.exe", &["env"], &vars);
    assert_eq!(stdout(&default), text);
    let line = text
        .lines()
        .find(|l| l.starts_with("$env:UV_PYTHON_DOWNLOADS_JSON_URL = "))
        .unwrap_or_else(|| panic!("{text}"));
    let quoted = line.split_once(" = ").unwrap().1;
    assert!(quoted.starts_with('\'') && quoted.ends_with('\''), "{line}");
    let value = quoted[1..quoted.len() - 1].replace("''", "'");
    let cache = windows_path(&scene.cache);
    assert!(value.starts_with(&cache), "{value} is under {cache}");
    assert!(
        cache.contains(" '"),
        "the cache path has a space and a quote"
    );
    let doctor = scene.doctor(&vars);
    let json_url = doctor["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "UV_PYTHON_DOWNLOADS_JSON_URL")
        .unwrap_or_else(|| panic!("{doctor:#}"));
    assert_eq!(
        json_url["value"].as_str(),
        Some(value.as_str()),
        "{doctor:#}"
    );
}

/// While uv downloads from a stalled mirror: Ctrl-C (wine turns SIGINT into
/// the console's Ctrl-C event) does not end the shim, which leaves it to uv;
/// when uv ends, so does the shim. And a shim killed outright takes uv with
/// it (the job object): no uv.exe is left running.
fn ctrl_c_is_left_to_uv_and_a_killed_shim_takes_uv_with_it(scene: &Scene, mirror: &WindowsMirror) {
    mirror
        .server
        .set_fault(Some(&mirror.tarball_path()), Fault::Stall);

    let mut shim = scene.start_stalled_install(mirror);
    let uv = real_uv_processes(scene);
    assert_eq!(uv.len(), 1, "one uv.exe runs: {uv:?}");
    interrupt(shim.id());
    std::thread::sleep(Duration::from_secs(2));
    assert!(shim.try_wait().unwrap().is_none(), "Ctrl-C ended the shim");
    assert_eq!(real_uv_processes(scene), uv, "uv still runs");
    // The console gives uv the same Ctrl-C: uv ends, and the shim with it.
    interrupt(uv[0]);
    wait_until("the shim ends after uv", || {
        shim.try_wait().unwrap().is_some()
    });

    let mut shim = scene.start_stalled_install(mirror);
    shim.kill().unwrap();
    shim.wait().unwrap();
    wait_until("no uv.exe outlives the killed shim", || {
        real_uv_processes(scene).is_empty()
    });
    mirror.server.clear_faults();
}

/// `uv-shim install` on Windows, as a user who unzipped the release: `.exe`
/// copies (`uv`, `uvx`, `uvw`, `uv-shim`) in a new folder ahead of the real
/// uv, and `uv.exe` there reaches the real uv. `uninstall` runs from the
/// unzipped copy (Windows cannot delete a running program) and leaves no
/// folder behind.
fn install_puts_exe_copies_ahead_of_the_real_uv_and_uninstall_takes_them_back(scene: &Scene) {
    let wine = scene.wine;
    let unzipped = scene.dir.path().join("unzipped");
    let bin = scene.dir.path().join("installed bin");
    fs::create_dir_all(&unzipped).unwrap();
    fs::copy(&wine.shim, unzipped.join("uv-shim.exe")).unwrap();
    let command = |exe: &std::path::Path, args: &[&str]| {
        let mut cmd = wine.command(exe, &[&bin, &wine.uv_dir], &unzipped);
        cmd.args(args)
            .env("UV_SHIM_CACHE_DIR", windows_path(&scene.cache))
            .env(
                "UV_CACHE_DIR",
                windows_path(&scene.dir.path().join("uv-cache")),
            );
        wine.run(&mut cmd)
    };
    let bin_dir = windows_path(&bin);
    let installed = command(
        &unzipped.join("uv-shim.exe"),
        &["install", "--user", "--no-doctor", "--bin-dir", &bin_dir],
    );
    assert_eq!(
        installed.status.code(),
        Some(0),
        "{}{}",
        stdout(&installed),
        stderr(&installed)
    );
    for exe in ["uv-shim.exe", "uv.exe", "uvx.exe", "uvw.exe"] {
        assert!(bin.join(exe).is_file(), "install made no {exe}");
    }
    let through = command(&bin.join("uv.exe"), &["--version"]);
    assert_eq!(through.status.code(), Some(0), "{}", stderr(&through));
    assert!(
        stdout(&through).starts_with(&format!("uv {UV_NEW} ")),
        "{}",
        stdout(&through)
    );
    let again = command(
        &unzipped.join("uv-shim.exe"),
        &["install", "--user", "--no-doctor", "--bin-dir", &bin_dir],
    );
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("nothing to do"),
        "a second install changes nothing: {}",
        stdout(&again)
    );
    let removed = command(
        &unzipped.join("uv-shim.exe"),
        &["uninstall", "--bin-dir", &bin_dir],
    );
    assert_eq!(
        removed.status.code(),
        Some(0),
        "{}{}",
        stdout(&removed),
        stderr(&removed)
    );
    assert!(!bin.exists(), "uninstall left {}", bin.display());
}
