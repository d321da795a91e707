//! The scene most stories start from: the real uv, a mirror holding one
//! build of the host's Python under `/uv/` of a harness server, and the
//! system config naming it; plus the assertion most fault stories end with.

use std::path::PathBuf;
use std::process::Output;

use super::env::{TestEnv, assert_success, run, stderr, stdout};
use super::http::HttpServer;
use super::mirror::{MirrorBuilder, Urls, host_python_version};
use super::uv::{UV_NEW, real_uv};

/// The metadata path on the scene's server.
pub const METADATA: &str = "/uv/download-metadata.json";

/// A test environment with the newest real uv and a 1 s metadata time limit
/// (faults cost at most that), and a mirror named by its system config.
pub fn mirror_scene() -> (TestEnv, HttpServer) {
    let env = TestEnv::new()
        .real_uv(real_uv(UV_NEW))
        .with_env("UV_SHIM_HTTP_TIMEOUT", "1s");
    let server = HttpServer::start(env.root().join("www"));
    let (major, minor, patch) = host_python_version();
    MirrorBuilder::new(env.root().join("www/uv"))
        .cpython(major, minor, patch, "20250101")
        .write_metadata(Urls::Relative);
    env.write_system_config(&format!("mirror = \"{}\"\n", server.url("/uv/")));
    (env, server)
}

/// Asserts that `output` is uv's own `--version` after exactly one shim
/// warning holding every one of `says`; returns that line.
#[track_caller]
pub fn one_warning(output: &Output, says: &[&str]) -> String {
    assert_success(output);
    assert!(stdout(output).starts_with("uv "), "{}", stdout(output));
    let text = stderr(output);
    assert_eq!(text.lines().count(), 1, "not one line:\n{text}");
    assert!(text.starts_with("uv-shim: warning: "), "{text}");
    for fragment in says {
        assert!(
            text.contains(fragment),
            "`{fragment}` missing from:\n{text}"
        );
    }
    text.trim_end().to_string()
}

/// The metadata file the shim hands uv (`UV_PYTHON_DOWNLOADS_JSON_URL`), if any.
pub fn handed_to_uv(env: &TestEnv) -> Option<PathBuf> {
    let output = run(env.shim().args(["env", "--shell", "json"]));
    assert_success(&output);
    let vars: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    vars["UV_PYTHON_DOWNLOADS_JSON_URL"]
        .as_str()
        .map(PathBuf::from)
}
