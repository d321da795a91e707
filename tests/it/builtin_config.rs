//! A golden binary: uv-shim built with `UV_SHIM_BUILTIN_CONFIG`, shipped
//! into a place with no config file at all. Its built-in config names the
//! mirror and sets a key only the system file (or it) may set; a user file
//! can name another mirror, but cannot loosen that key; `doctor` names the
//! built-in source. A broken built-in config fails the build, naming the file.

use crate::common::World;
use crate::common::builtin::{self, CONFIG_NAME, golden};
use crate::common::env::{assert_success, run, stderr, stdout};
use crate::common::uv::UV_NEW;

/// The key only the system file or the built-in config may set, as the golden config sets it.
const TRUSTED_HOST: &str = "cdn.golden.example";

#[test]
fn a_golden_binary_needs_no_config_file_and_keeps_its_trust_keys() {
    let golden = golden(&format!("allowed-hosts = [\"{TRUSTED_HOST}\"]\n"));
    let world = World::builder().real_uv(UV_NEW).build();
    let env = &world.env;
    // The environment's `uv` is the golden binary; no config file anywhere.
    std::fs::remove_file(env.uv_link()).unwrap();
    std::os::unix::fs::symlink(&golden.exe, env.uv_link()).unwrap();
    let doctor = |json: bool| {
        let mut cmd = env.command(&golden.exe);
        cmd.arg("doctor");
        if json {
            cmd.arg("--json");
        }
        run(&mut cmd)
    };

    let report = doctor(true);
    let json: serde_json::Value = serde_json::from_str(&stdout(&report)).unwrap();
    let line = json["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "built-in config")
        .unwrap_or_else(|| panic!("no built-in source: {json:#}"));
    assert_eq!(
        line["location"],
        format!("embedded at build time from {CONFIG_NAME}")
    );
    assert_eq!(line["status"], "chosen", "{json:#}");
    assert_eq!(
        json["mirror"]["origin"],
        format!("built-in config (embedded at build time from {CONFIG_NAME})"),
        "{json:#}"
    );
    let text = stdout(&doctor(false));
    assert!(
        text.contains(&format!(
            "built-in config  embedded at build time from {CONFIG_NAME}"
        )),
        "{text}"
    );

    // uv installs the mirror's build through the golden binary.
    let version = {
        let (major, minor, patch) = golden.entry.version;
        format!("{major}.{minor}.{patch}")
    };
    let output = run(env.uv().args(["python", "install", &version]));
    assert_success(&output);
    assert!(
        env.managed_python(&golden.entry).exists(),
        "{}",
        stderr(&output)
    );

    // A user file names another mirror and tries to widen the trusted hosts.
    let user_mirror = format!("{}elsewhere/", golden.mirror_url);
    let user = env.write_user_config(&format!(
        "mirror = \"{user_mirror}\"\nallowed-hosts = [\"evil.example\"]\n"
    ));
    let json: serde_json::Value = serde_json::from_str(&stdout(&doctor(true))).unwrap();
    assert_eq!(
        json["mirror"]["origin"],
        format!("user config {}", user.display())
    );
    let hosts = json["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "allowed-hosts")
        .unwrap_or_else(|| panic!("no allowed-hosts: {json:#}"));
    assert_eq!(hosts["value"], TRUSTED_HOST, "{json:#}");
    let problems = json["problems"].to_string();
    assert!(
        problems.contains("`allowed-hosts` in user config")
            && problems.contains("honoured only in the system config or the built-in one"),
        "{problems}"
    );
}

#[test]
fn a_broken_builtin_config_fails_the_build_naming_the_file() {
    let _lock = builtin::lock();
    let dir = builtin::scratch_build_dir("broken");
    let config = dir.join("broken.toml");
    std::fs::write(&config, "mirror = \"https://a.example/\"\nmirorr = 1\n").unwrap();
    let output = run(builtin::cargo_build(&dir).env("UV_SHIM_BUILTIN_CONFIG", &config));
    assert!(!output.status.success(), "the build went through");
    let said = stderr(&output);
    assert!(
        said.contains(&format!("UV_SHIM_BUILTIN_CONFIG={}", config.display()))
            && said.contains("`mirorr` is not a key of the shim's config"),
        "{said}"
    );
    std::fs::write(&config, "mirror = \"https://a.example/\n").unwrap();
    let output = run(builtin::cargo_build(&dir).env("UV_SHIM_BUILTIN_CONFIG", &config));
    assert!(!output.status.success(), "the build went through");
    assert!(
        stderr(&output).contains("is not valid TOML"),
        "{}",
        stderr(&output)
    );
}
