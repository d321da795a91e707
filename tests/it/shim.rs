//! The shim as `uv`: discovery from config files, the variables handed to
//! the real uv, and the hand-over itself (exec, arguments, exit code, never
//! itself); `doctor` and `env` as they explain it. How the metadata copy is
//! fetched, kept and revalidated: `shim_cache.rs`.
//!
//! Every test runs the built binary against the real uv from PyPI and a real
//! HTTP server on 127.0.0.1 serving a crafted mirror.

use std::path::PathBuf;

use crate::common::World;
use crate::common::cache::metadata_copy;
use crate::common::env::{SHIM_EXE, assert_failure, assert_success, run, stderr, stdout};
use crate::common::scene::Mirror;
use crate::common::uv::{UV_NEW, UV_OLD, real_uv};

#[test]
fn newest_uv_installs_from_the_mirror_named_only_in_the_system_config() {
    let world = World::builder()
        .real_uv(UV_NEW)
        .mirror()
        .named_in_system_config()
        .build();
    let (env, mirror) = (&world.env, world.mirror());

    // The shim fetched the metadata once, uv fetched the tarball from the mirror.
    world.install_from_mirror("uv 0.13.9");
    // The relative URL was resolved against the metadata URL in the cached copy.
    let cached = std::fs::read_to_string(metadata_copy(&env.cache_dir())).unwrap();
    assert!(
        cached.contains(&mirror.server.url("/uv/20250101/")),
        "{cached}"
    );
}

#[test]
fn uv_gets_the_cached_metadata_and_is_execd_in_place() {
    let world = World::builder().real_uv(UV_NEW).mirror().build();
    let (env, mirror) = (&world.env, world.mirror());
    env.write_user_config(&format!(
        "mirror = \"{}\"\nindex-url = \"{}\"\n",
        mirror.base(),
        mirror.server.url("/simple")
    ));

    let seen = world.seen_by_uv();
    // exec: the uv that ran python is the very process the test started.
    assert_eq!(seen.uv_pid, seen.started_pid);
    let vars = seen.vars;
    let json = PathBuf::from(&vars["UV_PYTHON_DOWNLOADS_JSON_URL"]);
    assert!(json.starts_with(env.cache_dir()), "{json:?}");
    assert_eq!(vars["UV_DEFAULT_INDEX"], mirror.server.url("/simple"));
    // Never both schemes at once.
    assert!(!vars.contains_key("UV_PYTHON_INSTALL_MIRROR"), "{vars:?}");
    assert!(!vars.contains_key("UV_PYPY_INSTALL_MIRROR"), "{vars:?}");
}

#[test]
fn old_uv_gets_the_mirror_variables_and_asks_the_mirror() {
    let world = World::builder()
        .real_uv(UV_OLD)
        .mirror()
        .named_in_system_config()
        .build();
    let (env, mirror) = (&world.env, world.mirror());

    // uv 0.5.31 only knows its built-in list; it asks the mirror for the
    // build that list names (which our crafted mirror does not hold).
    let output = run(env.uv().args(["python", "install", &mirror.version()]));
    assert_failure(&output);
    // The old uv cannot read metadata, so the shim fetched none.
    mirror.assert_one_build_request_from("0.5.31");

    let vars = world.seen_by_uv().vars;
    assert_eq!(
        vars["UV_PYTHON_INSTALL_MIRROR"],
        mirror.base().trim_end_matches('/')
    );
    assert!(
        !vars.contains_key("UV_PYTHON_DOWNLOADS_JSON_URL"),
        "{vars:?}"
    );
}

#[test]
fn arguments_output_and_exit_code_are_uvs_own() {
    let uv = real_uv(UV_NEW);
    let world = World::builder()
        .real_uv(UV_NEW)
        .mirror()
        .named_in_system_config()
        .build();
    let env = &world.env;

    let through = run(env.uv().arg("--version"));
    let direct = run(env.command(&uv).arg("--version"));
    assert_success(&through);
    assert_eq!(stdout(&through), stdout(&direct));

    let through = run(env.uv().args(["pip", "--no-such-flag", "a b"]));
    let direct = run(env.command(&uv).args(["pip", "--no-such-flag", "a b"]));
    assert_eq!(through.status.code(), direct.status.code());
    assert_eq!(through.status.code(), Some(2));
    assert_eq!(stderr(&through), stderr(&direct));
}

#[test]
fn a_malformed_config_names_file_line_and_key_and_uv_still_runs() {
    let world = World::builder().real_uv(UV_NEW).build();
    let env = &world.env;
    let path = env.write_user_config("# mirror settings\nttl = 5\n");

    let output = run(env.uv().arg("--version"));
    assert_success(&output);
    let message = stderr(&output);
    assert!(
        message.contains(&format!("{}:2:", path.display())),
        "{message}"
    );
    assert!(message.contains("`ttl`"), "{message}");

    let output = run(env.shim().arg("doctor"));
    assert_failure(&output);
    assert!(stdout(&output).contains("`ttl`"), "{}", stdout(&output));

    env.write_user_config("mirorr = \"https://m.example/\"\n");
    let message = stderr(&run(env.uv().arg("--version")));
    assert!(
        message.contains(":1:") && message.contains("mirorr"),
        "{message}"
    );
}

#[test]
fn variables_the_user_set_are_never_overwritten() {
    let world = World::builder()
        .real_uv(UV_NEW)
        .env("UV_PYTHON_DOWNLOADS_JSON_URL", "/my/own.json")
        .env("UV_DEFAULT_INDEX", "https://mine.example/simple")
        .mirror()
        .build();
    let (env, mirror) = (&world.env, world.mirror());
    env.write_system_config(&format!(
        "mirror = \"{}\"\nindex-url = \"https://corp.example/simple\"\n",
        mirror.base()
    ));

    let output = run(env.shim().args(["env", "--shell", "json"]));
    assert_success(&output);
    assert_eq!(stdout(&output).trim(), "{}");
    // Nothing to hand over, so nothing was fetched.
    assert_eq!(mirror.metadata_requests(), 0);

    let report = run(env.shim().args(["doctor", "--json"]));
    let report: serde_json::Value = serde_json::from_str(&stdout(&report)).unwrap();
    let kept: Vec<&str> = report["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["set"] == false)
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(kept, ["UV_PYTHON_DOWNLOADS_JSON_URL", "UV_DEFAULT_INDEX"]);

    // What the real uv receives: the user's values, and nothing of the mirror.
    let vars = world.seen_by_uv().vars;
    assert_eq!(vars["UV_PYTHON_DOWNLOADS_JSON_URL"], "/my/own.json");
    assert_eq!(vars["UV_DEFAULT_INDEX"], "https://mine.example/simple");
    assert!(!vars.contains_key("UV_PYTHON_INSTALL_MIRROR"), "{vars:?}");
    assert_eq!(mirror.metadata_requests(), 0);
}

#[test]
fn uvs_own_mirror_setting_gets_metadata_with_the_upstream_prefix() {
    // uv itself reads etc/uv.toml (XDG_CONFIG_DIRS) and applies its mirror to
    // every download URL; handing it mirror URLs would make uv fail.
    let world = World::builder().real_uv(UV_NEW).mirror().build();
    let (env, mirror) = (&world.env, world.mirror());
    env.write_system_file(
        "uv.toml",
        &format!("python-install-mirror = \"{}\"\n", mirror.base()),
    );

    let output = run(env.uv().args(["python", "install", &mirror.version()]));
    assert_success(&output);
    assert_eq!(mirror.metadata_requests(), 1);
    assert_eq!(
        mirror
            .server
            .count(&format!("/uv/{}", mirror.entry.rel_path)),
        1
    );
    let cached = std::fs::read_to_string(metadata_copy(&env.cache_dir())).unwrap();
    assert!(
        cached.contains(
            "https://github.com/astral-sh/python-build-standalone/releases/download/20250101/"
        ),
        "{cached}"
    );

    let doctor = stdout(&run(env.shim().arg("doctor")));
    assert!(doctor.contains("keeps the upstream URL prefix"), "{doctor}");
}

#[test]
fn a_static_metadata_file_is_validated_and_handed_over() {
    let world = World::builder()
        .real_uv(UV_NEW)
        .mirror_with_absolute_urls()
        .build();
    let (env, mirror) = (&world.env, world.mirror());
    let text = std::fs::read_to_string(mirror.dir.join("download-metadata.json")).unwrap();
    env.write_system_file("download-metadata.json", &text);

    let output = run(env.uv().args(["python", "install", &mirror.version()]));
    assert_success(&output);
    assert_eq!(
        mirror
            .server
            .count(&format!("/uv/{}", mirror.entry.rel_path)),
        1
    );

    // A broken edit is refused with its reason, and the last good copy stays in use.
    env.write_system_file("download-metadata.json", "{\"k\": {\"name\": \"cpython\"}}");
    let output = run(env.uv().arg("--version"));
    assert_success(&output);
    assert!(stderr(&output).contains("`arch`"), "{}", stderr(&output));
    let vars = world.seen_by_uv().vars;
    assert!(vars.contains_key("UV_PYTHON_DOWNLOADS_JSON_URL"));
}

#[test]
fn the_shim_never_execs_itself() {
    let mut world = World::builder().build();
    let env = &mut world.env;
    // Only the shim on PATH (whatever uv this machine has elsewhere).
    env.set_env("PATH", env.bin_dir());
    let output = run(env.uv().arg("--version"));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no real uv found"),
        "{}",
        stderr(&output)
    );

    // Pointed at itself.
    env.set_env("UV_SHIM_REAL_UV", env.uv_link());
    let output = run(env.uv().arg("--version"));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("uv-shim itself"),
        "{}",
        stderr(&output)
    );

    // Pointed at a copy of itself: asked what it is, the copy says so, and
    // nothing is exec'd.
    let copy = env.root().join("copy/uv");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(SHIM_EXE, &copy).unwrap();
    env.set_env("UV_SHIM_REAL_UV", &copy);
    let output = run(env.uv().arg("--version"));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("which is a uv-shim, not the real uv"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn disabled_means_pure_pass_through() {
    let world = World::builder()
        .real_uv(UV_NEW)
        .env("UV_SHIM_DISABLE", "1")
        .mirror()
        .named_in_system_config()
        .build();
    let mirror = world.mirror();

    let vars = world.seen_by_uv().vars;
    assert!(
        !vars.contains_key("UV_PYTHON_DOWNLOADS_JSON_URL"),
        "{vars:?}"
    );
    assert!(!vars.contains_key("UV_PYTHON_INSTALL_MIRROR"), "{vars:?}");
    assert!(mirror.server.requests().is_empty());
}

#[test]
fn no_mirror_anywhere_is_pass_through() {
    let world = World::builder().real_uv(UV_NEW).build();
    let vars = world.seen_by_uv().vars;
    for name in [
        "UV_PYTHON_DOWNLOADS_JSON_URL",
        "UV_PYTHON_INSTALL_MIRROR",
        "UV_PYPY_INSTALL_MIRROR",
        "UV_DEFAULT_INDEX",
        "UV_ASTRAL_MIRROR_URL",
    ] {
        assert!(!vars.contains_key(name), "{name} in {vars:?}");
    }
}

#[test]
fn doctor_explains_itself_and_hides_credentials() {
    let world = World::builder().real_uv(UV_NEW).mirror().build();
    let (env, mirror) = (&world.env, world.mirror());
    let with_password = mirror.base().replace("http://", "http://alice:s3cret@");
    env.write_system_config(&format!(
        "mirror = \"{with_password}\"\nindex-url = \"https://bob:hunter2@idx.example/simple\"\n"
    ));
    env.write_user_config("ttl = \"1h\"\n");

    let output = run(env.shim().args(["doctor", "--json"]));
    assert_success(&output);
    let text = stdout(&output);
    assert!(
        !text.contains("s3cret") && !text.contains("hunter2"),
        "{text}"
    );
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    let sources: Vec<(&str, &str)> = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        sources,
        [
            ("env", "not set"),
            ("user config", "not set"),
            ("system config", "chosen"),
            ("uv.toml", "not set"),
            ("static metadata", "not set"),
            ("dns", "not set"),
        ]
    );
    assert_eq!(report["scheme"], "metadata");
    assert_eq!(report["metadata"]["entries"], 1);
    assert!(
        report["real_uv"]["version"]
            .as_str()
            .unwrap()
            .starts_with(UV_NEW)
    );
    let ttl = report["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "ttl")
        .unwrap();
    assert_eq!(ttl["value"], "1h");
    assert!(ttl["origin"].as_str().unwrap().starts_with("user config"));

    let human = stdout(&run(env.shim().arg("doctor")));
    assert!(
        human.contains("chosen: mirror http://****@127.0.0.1"),
        "{human}"
    );
    assert!(
        !human.contains("s3cret") && !human.contains("hunter2"),
        "{human}"
    );
    // The mirror with credentials was really used.
    assert_eq!(mirror.metadata_requests(), 1);
    let auth = mirror.server.requests()[0]
        .header("authorization")
        .map(str::to_string);
    assert!(auth.is_some_and(|a| a.starts_with("Basic ")));
}

#[test]
fn env_prints_variables_a_shell_can_eval() {
    let world = World::builder().real_uv(UV_NEW).mirror().build();
    let (env, mirror) = (&world.env, world.mirror());
    env.write_system_config(&format!(
        "mirror = \"{}\"\nastral-mirror = \"https://it's.example/astral\"\n",
        mirror.base()
    ));
    let script = format!(
        "eval \"$('{}' env)\" && printf '%s\\n' \"$UV_PYTHON_DOWNLOADS_JSON_URL\" \"$UV_ASTRAL_MIRROR_URL\"",
        SHIM_EXE
    );
    let output = run(env.command("sh").args(["-c", &script]));
    assert_success(&output);
    let lines: Vec<String> = stdout(&output).lines().map(str::to_string).collect();
    assert_eq!(PathBuf::from(&lines[0]), metadata_copy(&env.cache_dir()));
    assert_eq!(lines[1], "https://it's.example/astral");

    for shell in ["fish", "powershell", "json"] {
        let output = run(env.shim().args(["env", "--shell", shell]));
        assert_success(&output);
        assert!(stdout(&output).contains("UV_PYTHON_DOWNLOADS_JSON_URL"));
    }
    let output = run(env.shim().args(["env", "--shell", "tcsh"]));
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn an_edited_config_takes_effect_on_the_next_call() {
    let world = World::builder().real_uv(UV_NEW).mirror().build();
    let (env, first) = (&world.env, world.mirror());
    env.write_system_config(&format!("mirror = \"{}\"\n", first.base()));
    let vars = world.seen_by_uv().vars;
    let first_copy = vars["UV_PYTHON_DOWNLOADS_JSON_URL"].clone();
    // Warm: nothing more is asked of the first mirror.
    world.seen_by_uv();
    assert_eq!(first.server.requests().len(), 1);

    let second = Mirror::relative(env.root().join("second"), "uv");
    env.write_system_config(&format!("mirror = \"{}\"\n", second.base()));
    let vars = world.seen_by_uv().vars;
    assert_eq!(second.metadata_requests(), 1);
    assert_ne!(vars["UV_PYTHON_DOWNLOADS_JSON_URL"], first_copy);

    // A user config appearing later wins over the system config at once.
    env.write_user_config(&format!("mirror = \"{}\"\n", first.base()));
    let vars = world.seen_by_uv().vars;
    assert_eq!(vars["UV_PYTHON_DOWNLOADS_JSON_URL"], first_copy);
}

#[test]
fn a_uv_installed_earlier_on_path_is_used_on_the_next_call() {
    let new_uv = real_uv(UV_NEW);
    let earlier = tempfile::tempdir().unwrap();
    let mut world = World::builder().mirror().named_in_system_config().build();
    let path = format!(
        "{}:{}:{}:/usr/bin:/bin",
        world.env.bin_dir().display(),
        earlier.path().display(),
        new_uv.parent().unwrap().display()
    );
    world.env.set_env("PATH", &path);
    let (env, mirror) = (&world.env, world.mirror());

    let vars = world.seen_by_uv().vars;
    assert!(
        vars.contains_key("UV_PYTHON_DOWNLOADS_JSON_URL"),
        "{vars:?}"
    );

    // An old uv lands earlier on PATH: it is the real uv now, with the mirror variables.
    std::os::unix::fs::symlink(real_uv(UV_OLD), earlier.path().join("uv")).unwrap();
    let output = run(env.uv().arg("--version"));
    assert_success(&output);
    assert_eq!(stdout(&output).trim(), format!("uv {UV_OLD}"));
    let vars = world.seen_by_uv().vars;
    assert_eq!(
        vars["UV_PYTHON_INSTALL_MIRROR"],
        mirror.base().trim_end_matches('/')
    );
    // Never both schemes: the old uv does not get the metadata file.
    assert!(
        !vars.contains_key("UV_PYTHON_DOWNLOADS_JSON_URL"),
        "{vars:?}"
    );
}

#[test]
fn a_setting_too_long_to_pass_on_is_skipped_and_uv_runs() {
    let world = World::scene().build();
    // An index URL of 130 KiB: exec would fail with E2BIG if it were set.
    let long = format!("https://index.example/{}", "x".repeat(130 * 1024));
    let system = world.env.etc_dir().join("shim.toml");
    let text = std::fs::read_to_string(&system).unwrap();
    std::fs::write(&system, format!("{text}index-url = \"{long}\"\n")).unwrap();
    let output = run(world.env.uv().arg("--version"));
    crate::common::scene::one_warning(&output, &["UV_DEFAULT_INDEX", "not set"]);
    assert!(world.handed_to_uv().is_some(), "the rest still reaches uv");
}

#[test]
fn an_empty_uv_key_is_skipped_with_a_warning() {
    let world = World::scene().build();
    world.env.write_user_config("uv = \"\"\n");
    let output = run(world.env.uv().arg("--version"));
    crate::common::scene::one_warning(&output, &["key `uv` is empty", "config.toml:1:"]);
}

#[cfg(unix)]
#[test]
fn a_uv_that_cannot_run_is_named_with_one_os_error() {
    let world = World::scene().build();
    let not_a_program = world.env.root().join("uv-not-executable");
    std::fs::write(&not_a_program, "#!/bin/sh\n").unwrap();
    let mut env = world.env;
    env.set_env("UV_SHIM_REAL_UV", &not_a_program);
    env.set_env("UV_SHIM_DISABLE", "1");
    let output = run(env.uv().arg("--version"));
    assert_eq!(output.status.code(), Some(2));
    let said = stderr(&output);
    assert_eq!(said.matches("os error").count(), 1, "{said}");
    assert!(said.contains("cannot run the real uv at"), "{said}");
}

#[cfg(unix)]
#[test]
fn an_empty_path_entry_and_a_uv_in_the_folder_never_make_the_shim_run_itself() {
    let mut world = World::scene().build();
    // `uv` in the current folder is the shim; an empty PATH entry means "here".
    std::os::unix::fs::symlink(SHIM_EXE, world.env.work_dir().join("uv")).unwrap();
    let real = real_uv(UV_NEW);
    let path = format!(
        ":{}:{}",
        world.env.bin_dir().display(),
        real.parent().unwrap().display()
    );
    world.env.set_env("PATH", path);
    let output = run(world.env.uv().arg("--version"));
    assert_success(&output);
    assert!(
        stdout(&output).starts_with("uv 0.13"),
        "{}",
        stdout(&output)
    );
}
