//! The shim as `uv`: discovery from config files, the validated metadata
//! cache, the variables handed to the real uv, and the hand-over itself.
//!
//! Every test runs the built binary against the real uv from PyPI and a real
//! HTTP server on 127.0.0.1 serving a crafted mirror.

use crate::common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::env::{TestEnv, assert_failure, assert_success, run, stderr, stdout};
use common::http::{Fault, HttpServer};
use common::mirror::{Entry, MirrorBuilder, Urls, host_python, host_python_version};
use common::uv::{UV_NEW, UV_OLD, real_uv};

/// A mirror under `/uv/` on a fresh server, holding one build of the host's Python.
struct Mirror {
    server: HttpServer,
    entry: Entry,
    dir: PathBuf,
}

impl Mirror {
    fn start(env: &TestEnv, urls: Urls) -> Mirror {
        let (major, minor, patch) = host_python_version();
        let root = env.root().join("www");
        let dir = root.join("uv");
        let server = HttpServer::start(&root);
        let urls = match urls {
            Urls::Absolute(_) => Urls::Absolute(server.url("/uv")),
            other => other,
        };
        let entry = MirrorBuilder::new(&dir)
            .cpython(major, minor, patch, "20250101")
            .write_metadata(urls)
            .remove(0);
        Mirror { server, entry, dir }
    }

    fn base(&self) -> String {
        self.server.url("/uv/")
    }

    fn metadata_requests(&self) -> usize {
        self.server.count("/uv/download-metadata.json")
    }

    fn version(&self) -> String {
        let (major, minor, patch) = self.entry.version;
        format!("{major}.{minor}.{patch}")
    }
}

/// The `UV_*` variables the real uv received, read back through `uv run`
/// (uv hands its own environment to the program it runs), and the PID of
/// the uv process.
fn seen_by_uv(env: &TestEnv) -> (BTreeMap<String, String>, u32, u32) {
    let script = "import os, json; print(json.dumps({'ppid': os.getppid(), 'env': {k: v for k, v in os.environ.items() if k.startswith('UV_')}}))";
    let mut cmd = env.uv();
    cmd.args(["run", "--no-project", "--python"])
        .arg(&host_python().path)
        .args(["--", "python", "-c", script]);
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    assert_success(&output);
    let value: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    let vars = value["env"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    (vars, value["ppid"].as_u64().unwrap() as u32, pid)
}

fn cached_metadata(env: &TestEnv) -> Vec<PathBuf> {
    let dir = env.cache_dir().join("metadata");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files
}

#[test]
fn newest_uv_installs_from_the_mirror_named_only_in_the_system_config() {
    let env = TestEnv::new().real_uv(real_uv(UV_NEW));
    let mirror = Mirror::start(&env, Urls::Relative);
    env.write_system_config(&format!("mirror = \"{}\"\n", mirror.base()));

    let output = run(env.uv().args(["python", "install", &mirror.version()]));
    assert_success(&output);

    // The shim fetched the metadata once, uv fetched the tarball from the mirror.
    assert_eq!(mirror.metadata_requests(), 1);
    let tarball = format!("/uv/{}", mirror.entry.rel_path);
    assert_eq!(
        mirror.server.count(&tarball),
        1,
        "{:#?}",
        mirror.server.requests()
    );
    assert!(env.managed_python(&mirror.entry).exists());
    // The relative URL was resolved against the metadata URL in the cached copy.
    let cached = std::fs::read_to_string(&cached_metadata(&env)[0]).unwrap();
    assert!(
        cached.contains(&mirror.server.url("/uv/20250101/")),
        "{cached}"
    );
}

#[test]
fn uv_gets_the_cached_metadata_and_is_execd_in_place() {
    let env = TestEnv::new().real_uv(real_uv(UV_NEW));
    let mirror = Mirror::start(&env, Urls::Relative);
    env.write_user_config(&format!(
        "mirror = \"{}\"\nindex-url = \"{}\"\n",
        mirror.base(),
        mirror.server.url("/simple")
    ));

    let (vars, uv_pid, shim_pid) = seen_by_uv(&env);
    // exec: the uv that ran python is the very process the test started.
    assert_eq!(uv_pid, shim_pid);
    let json = PathBuf::from(&vars["UV_PYTHON_DOWNLOADS_JSON_URL"]);
    assert!(json.starts_with(env.cache_dir()), "{json:?}");
    assert_eq!(vars["UV_DEFAULT_INDEX"], mirror.server.url("/simple"));
    // Never both schemes at once.
    assert!(!vars.contains_key("UV_PYTHON_INSTALL_MIRROR"), "{vars:?}");
    assert!(!vars.contains_key("UV_PYPY_INSTALL_MIRROR"), "{vars:?}");
}

#[test]
fn old_uv_gets_the_mirror_variables_and_asks_the_mirror() {
    let env = TestEnv::new().real_uv(real_uv(UV_OLD));
    let mirror = Mirror::start(&env, Urls::Relative);
    env.write_system_config(&format!("mirror = \"{}\"\n", mirror.base()));

    // uv 0.5.31 only knows its built-in list; it asks the mirror for the
    // build that list names (which our crafted mirror does not hold).
    let output = run(env.uv().args(["python", "install", &mirror.version()]));
    assert_failure(&output);
    let asked: Vec<_> = mirror
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/uv/") && r.path.contains("cpython-"))
        .collect();
    assert_eq!(asked.len(), 1, "{:#?}", mirror.server.requests());
    assert!(
        asked[0]
            .user_agent
            .as_deref()
            .unwrap_or("")
            .starts_with("uv/0.5.31")
    );
    // The old uv cannot read metadata, so the shim fetched none.
    assert_eq!(mirror.metadata_requests(), 0);

    let (vars, _, _) = seen_by_uv(&env);
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
    let env = TestEnv::new().real_uv(&uv);
    let mirror = Mirror::start(&env, Urls::Relative);
    env.write_system_config(&format!("mirror = \"{}\"\n", mirror.base()));

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
fn a_warm_call_touches_no_network() {
    let env = TestEnv::new().real_uv(real_uv(UV_NEW));
    let mirror = Mirror::start(&env, Urls::Relative);
    env.write_system_config(&format!("mirror = \"{}\"\n", mirror.base()));

    assert_success(&run(env.uv().arg("--version")));
    assert_eq!(mirror.metadata_requests(), 1);
    for _ in 0..3 {
        assert_success(&run(env.uv().arg("--version")));
    }
    assert_eq!(mirror.server.requests().len(), 1);
}

#[test]
fn a_stale_copy_is_revalidated_with_a_conditional_request() {
    let env = TestEnv::new().real_uv(real_uv(UV_NEW));
    let mirror = Mirror::start(&env, Urls::Relative);
    env.write_system_config(&format!("mirror = \"{}\"\nttl = \"1s\"\n", mirror.base()));

    assert_success(&run(env.uv().arg("--version")));
    let file = cached_metadata(&env).remove(0);
    let before = std::fs::read(&file).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let output = run(env.uv().arg("--version"));
    assert_success(&output);
    assert_eq!(stderr(&output), "");

    let log = mirror.server.requests();
    assert_eq!(log.len(), 2, "{log:#?}");
    assert!(log[1].if_none_match.is_some(), "{log:#?}");
    assert_eq!(log[1].status, Some(304));
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

#[test]
fn a_bad_answer_never_replaces_the_good_copy() {
    let env = TestEnv::new().real_uv(real_uv(UV_NEW));
    let mirror = Mirror::start(&env, Urls::Relative);
    env.write_system_config(&format!("mirror = \"{}\"\n", mirror.base()));
    assert_success(&run(env.uv().arg("--version")));
    let file = cached_metadata(&env).remove(0);
    let good = std::fs::read(&file).unwrap();

    // The mirror now serves an entry with a bad checksum: refresh refuses it by name.
    let mut doc = MirrorBuilder::new(&mirror.dir)
        .cpython(3, 12, 1, "20250101")
        .metadata_json(&Urls::Relative);
    let key = doc.as_object().unwrap().keys().next().unwrap().clone();
    doc[&key]["sha256"] = "not-a-hash".into();
    mirror.server.set_fault(
        Some("/uv/download-metadata.json"),
        Fault::Body(doc.to_string().into_bytes()),
    );
    let output = run(env.shim().arg("refresh"));
    assert_failure(&output);
    let message = stderr(&output);
    assert!(
        message.contains(&format!("`{key}`")) && message.contains("`sha256`"),
        "{message}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), good);

    // Not JSON at all: same story, and uv still gets the good copy.
    mirror.server.set_fault(
        Some("/uv/download-metadata.json"),
        Fault::Body(b"<html>proxy login</html>".to_vec()),
    );
    let output = run(env.shim().arg("refresh"));
    assert_failure(&output);
    assert!(
        stderr(&output).contains("not valid JSON"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read(&file).unwrap(), good);
    let (vars, _, _) = seen_by_uv(&env);
    assert_eq!(PathBuf::from(&vars["UV_PYTHON_DOWNLOADS_JSON_URL"]), file);
}

#[test]
fn an_unreachable_mirror_without_cache_warns_once_and_uv_still_runs() {
    let env = TestEnv::new().real_uv(real_uv(UV_NEW));
    let port = common::http::dead_port();
    env.write_system_config(&format!("mirror = \"http://127.0.0.1:{port}/uv/\"\n"));

    let started = Instant::now();
    let output = run(env.uv().arg("--version"));
    assert_success(&output);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let warning = stderr(&output);
    assert_eq!(warning.lines().count(), 1, "{warning}");
    assert!(
        warning.starts_with("uv-shim: warning:") && warning.contains(&port.to_string()),
        "{warning}"
    );
    assert!(stdout(&output).starts_with("uv "));

    // The failure is remembered: the next call does not wait on the dead mirror again.
    let output = run(env.uv().arg("--version"));
    assert_success(&output);
    assert_eq!(stderr(&output), "");
}

#[test]
fn a_mirror_that_never_answers_costs_a_bounded_delay() {
    let env = TestEnv::new()
        .real_uv(real_uv(UV_NEW))
        .with_env("UV_SHIM_HTTP_TIMEOUT", "1s");
    let mirror = Mirror::start(&env, Urls::Relative);
    mirror.server.set_fault(None, Fault::Stall);
    env.write_system_config(&format!("mirror = \"{}\"\n", mirror.base()));

    let started = Instant::now();
    let output = run(env.uv().arg("--version"));
    assert_success(&output);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(stderr(&output).contains("within 1s"), "{}", stderr(&output));
}

#[test]
fn a_malformed_config_names_file_line_and_key_and_uv_still_runs() {
    let env = TestEnv::new().real_uv(real_uv(UV_NEW));
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
    let env = TestEnv::new()
        .real_uv(real_uv(UV_NEW))
        .with_env("UV_PYTHON_DOWNLOADS_JSON_URL", "/my/own.json")
        .with_env("UV_DEFAULT_INDEX", "https://mine.example/simple");
    let mirror = Mirror::start(&env, Urls::Relative);
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
}

#[test]
fn uvs_own_mirror_setting_gets_metadata_with_the_upstream_prefix() {
    // uv itself reads etc/uv.toml (XDG_CONFIG_DIRS) and applies its mirror to
    // every download URL; handing it mirror URLs would make uv fail.
    let env = TestEnv::new().real_uv(real_uv(UV_NEW));
    let mirror = Mirror::start(&env, Urls::Relative);
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
    let cached = std::fs::read_to_string(&cached_metadata(&env)[0]).unwrap();
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
    let env = TestEnv::new().real_uv(real_uv(UV_NEW));
    let mirror = Mirror::start(&env, Urls::Absolute(String::new()));
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
    let (vars, _, _) = seen_by_uv(&env);
    assert!(vars.contains_key("UV_PYTHON_DOWNLOADS_JSON_URL"));
}

#[test]
fn the_shim_never_execs_itself() {
    let mut env = TestEnv::new();
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

    // Pointed at a copy of itself: the copy notices it was exec'd by a shim.
    let copy = env.root().join("copy/uv");
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(common::env::SHIM_EXE, &copy).unwrap();
    env.set_env("UV_SHIM_REAL_UV", &copy);
    let output = run(env.uv().arg("--version"));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("uv-shim again"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn disabled_means_pure_pass_through() {
    let env = TestEnv::new()
        .real_uv(real_uv(UV_NEW))
        .with_env("UV_SHIM_DISABLE", "1");
    let mirror = Mirror::start(&env, Urls::Relative);
    env.write_system_config(&format!("mirror = \"{}\"\n", mirror.base()));

    let (vars, _, _) = seen_by_uv(&env);
    assert!(
        !vars.contains_key("UV_PYTHON_DOWNLOADS_JSON_URL"),
        "{vars:?}"
    );
    assert!(!vars.contains_key("UV_PYTHON_INSTALL_MIRROR"), "{vars:?}");
    assert!(mirror.server.requests().is_empty());
}

#[test]
fn no_mirror_anywhere_is_pass_through() {
    let env = TestEnv::new().real_uv(real_uv(UV_NEW));
    let (vars, _, _) = seen_by_uv(&env);
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
fn fifty_parallel_calls_make_one_fetch() {
    let env = TestEnv::new().real_uv(real_uv(UV_NEW));
    let mirror = Mirror::start(&env, Urls::Relative);
    mirror.server.set_fault(
        Some("/uv/download-metadata.json"),
        Fault::Delay(Duration::from_millis(300)),
    );
    env.write_system_config(&format!("mirror = \"{}\"\n", mirror.base()));

    let children: Vec<_> = (0..50)
        .map(|_| {
            env.uv()
                .arg("--version")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert_success(&output);
        assert_eq!(stderr(&output), "");
    }
    assert_eq!(mirror.metadata_requests(), 1);
    let cached = cached_metadata(&env);
    assert_eq!(cached.len(), 1);
    let _: serde_json::Value = serde_json::from_slice(&std::fs::read(&cached[0]).unwrap()).unwrap();
}

#[test]
fn doctor_explains_itself_and_hides_credentials() {
    let env = TestEnv::new().real_uv(real_uv(UV_NEW));
    let mirror = Mirror::start(&env, Urls::Relative);
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
            ("dns", sources[5].1),
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
    let env = TestEnv::new().real_uv(real_uv(UV_NEW));
    let mirror = Mirror::start(&env, Urls::Relative);
    env.write_system_config(&format!(
        "mirror = \"{}\"\nastral-mirror = \"https://it's.example/astral\"\n",
        mirror.base()
    ));
    let script = format!(
        "eval \"$('{}' env)\" && printf '%s\\n' \"$UV_PYTHON_DOWNLOADS_JSON_URL\" \"$UV_ASTRAL_MIRROR_URL\"",
        common::env::SHIM_EXE
    );
    let output = run(env.command("sh").args(["-c", &script]));
    assert_success(&output);
    let lines: Vec<String> = stdout(&output).lines().map(str::to_string).collect();
    assert_eq!(PathBuf::from(&lines[0]), cached_metadata(&env)[0]);
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
    let env = TestEnv::new().real_uv(real_uv(UV_NEW));
    let first = Mirror::start(&env, Urls::Relative);
    env.write_system_config(&format!("mirror = \"{}\"\n", first.base()));
    let (vars, _, _) = seen_by_uv(&env);
    let first_copy = vars["UV_PYTHON_DOWNLOADS_JSON_URL"].clone();
    // Warm: nothing more is asked of the first mirror.
    seen_by_uv(&env);
    assert_eq!(first.server.requests().len(), 1);

    let second_env = TestEnv::new();
    let second = Mirror::start(&second_env, Urls::Relative);
    env.write_system_config(&format!("mirror = \"{}\"\n", second.base()));
    let (vars, _, _) = seen_by_uv(&env);
    assert_eq!(second.metadata_requests(), 1);
    assert_ne!(vars["UV_PYTHON_DOWNLOADS_JSON_URL"], first_copy);

    // A user config appearing later wins over the system config at once.
    env.write_user_config(&format!("mirror = \"{}\"\n", first.base()));
    let (vars, _, _) = seen_by_uv(&env);
    assert_eq!(vars["UV_PYTHON_DOWNLOADS_JSON_URL"], first_copy);
}

#[test]
fn a_uv_installed_earlier_on_path_is_used_on_the_next_call() {
    let new_uv = real_uv(UV_NEW);
    let earlier = tempfile::tempdir().unwrap();
    let mut env = TestEnv::new();
    let path = format!(
        "{}:{}:{}:/usr/bin:/bin",
        env.bin_dir().display(),
        earlier.path().display(),
        new_uv.parent().unwrap().display()
    );
    env.set_env("PATH", &path);
    let mirror = Mirror::start(&env, Urls::Relative);
    env.write_system_config(&format!("mirror = \"{}\"\n", mirror.base()));

    let (vars, _, _) = seen_by_uv(&env);
    assert!(
        vars.contains_key("UV_PYTHON_DOWNLOADS_JSON_URL"),
        "{vars:?}"
    );

    // An old uv lands earlier on PATH: it is the real uv now, with the mirror variables.
    std::os::unix::fs::symlink(real_uv(UV_OLD), earlier.path().join("uv")).unwrap();
    let output = run(env.uv().arg("--version"));
    assert_success(&output);
    assert_eq!(stdout(&output).trim(), format!("uv {UV_OLD}"));
    let report = run(env.shim().args(["env", "--shell", "json"]));
    let set: serde_json::Value = serde_json::from_str(&stdout(&report)).unwrap();
    assert_eq!(
        set["UV_PYTHON_INSTALL_MIRROR"],
        mirror.base().trim_end_matches('/')
    );
}
