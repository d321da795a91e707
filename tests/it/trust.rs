//! The shim and uv trust the same servers (issue 9, items 6 and 7).
//!
//! Certificates: an https mirror on 127.0.0.1 whose certificate comes from a
//! CA the test makes. With that CA only in the system store (inside a mount
//! namespace the story makes, as root), the shim hands the real uv
//! `UV_SYSTEM_CERTS` and uv installs from the mirror; `system-certs = false`
//! leaves uv with its bundled roots (and uv then fails, as it would); the
//! same CA through `SSL_CERT_FILE`, which both read, adds nothing; an old uv
//! gets `UV_NATIVE_TLS`; a certificate nobody trusts gives a warning that
//! names the fix.
//!
//! Credentials: a mirror behind basic auth with the credentials only in a
//! netrc file (`~/.netrc`, or the file `NETRC` names) works for the shim, for
//! the real uv and for `mirror sync`; credentials in the URL win; a refused
//! login is named without ever printing a secret.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::World;
use crate::common::env::{TestEnv, assert_failure, assert_success, run, stderr, stdout};
use crate::common::mirror::{MirrorBuilder, Urls, host_python};
use crate::common::scene::{Mirror, one_warning, quiet};
use crate::common::sync::sync;
use crate::common::tls::{Front, TestCa, has_system_bundle, in_system_store};
use crate::common::uv::{UV_NEW, UV_OLD};

/// A secret that must never show in anything the shim prints.
const SECRET: &str = "s3cret-Token-42";

/// A world with the newest real uv and nothing else (a 5 s limit: TLS set-up
/// on a busy machine must not be mistaken for a fault).
fn world() -> World {
    World::builder().real_uv(UV_NEW).http_timeout("5s").build()
}

/// The one-build mirror of `world`, served through a front door with `ca`'s
/// certificate and/or `login`; the system config names it (`extra` lines added).
fn serve(
    world: &World,
    ca: Option<&TestCa>,
    login: Option<(&str, &str)>,
    extra: &str,
) -> (Mirror, Front) {
    let mirror = Mirror::relative(world.env.root().join("www"), "uv");
    let front = Front::start(mirror.server.addr(), ca, login);
    world
        .env
        .write_system_config(&format!("mirror = \"{}\"\n{extra}", front.url("uv/")));
    (mirror, front)
}

/// `cmd` inside a mount namespace whose system store also holds `ca`.
fn with_ca_in_system_store(world: &World, ca: &TestCa, mut cmd: Command) -> Command {
    let bundle = ca.write_system_bundle(&world.env.root().join("system-bundle.pem"));
    in_system_store(&mut cmd, &bundle);
    cmd
}

/// The `UV_*` variables the real uv received from the shim, read back from
/// a Python that uv ran; `wrap` may put the command in a namespace first.
#[track_caller]
fn seen_by_uv(env: &TestEnv, wrap: impl FnOnce(Command) -> Command) -> BTreeMap<String, String> {
    let script = "import os, json; print(json.dumps({k: v for k, v in os.environ.items() if k.startswith('UV_')}))";
    let mut cmd = env.uv();
    cmd.args(["run", "--no-project", "--python"])
        .arg(&host_python().path)
        .args(["--", "python", "-c", script]);
    let output = run(&mut wrap(cmd));
    assert_success(&output);
    serde_json::from_str(stdout(&output).trim()).unwrap()
}

/// `uv-shim doctor --json` (in a namespace when `wrap` says so).
#[track_caller]
fn doctor(env: &TestEnv, wrap: impl FnOnce(Command) -> Command) -> (serde_json::Value, String) {
    let mut cmd = env.shim();
    cmd.args(["doctor", "--json"]);
    let output = run(&mut wrap(cmd));
    let json = serde_json::from_str(&stdout(&output))
        .unwrap_or_else(|e| panic!("no JSON ({e}):\n{}\n{}", stdout(&output), stderr(&output)));
    (json, format!("{}{}", stdout(&output), stderr(&output)))
}

/// Runs `uv-shim refresh` (one forced fetch: connect, TLS with both root
/// stores, the document) and says how long it took; `what` names the case
/// in the line printed for docs/faults.md (`-- --nocapture` shows it).
#[track_caller]
fn timed_refresh(what: &str, mut cmd: Command) -> Duration {
    let started = Instant::now();
    let output = run(&mut cmd);
    let took = started.elapsed();
    assert_success(&output);
    eprintln!("observed: refresh, {what}: {took:.2?}");
    // Far below the 5 s limit: nothing waited on a timeout.
    assert!(took < Duration::from_secs(3), "{what}: {took:?}");
    took
}

/// The doctor's line for the variable `name`, if any.
fn env_line<'a>(report: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    report["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
}

fn notes(report: &serde_json::Value) -> String {
    serde_json::to_string(&report["notes"]).unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn a_ca_only_in_the_system_store_gets_uv_system_certs_and_uv_installs() {
    if !crate::common::require_root("it bind-mounts a CA bundle in a mount namespace")
        || !has_system_bundle()
    {
        return;
    }
    let world = world();
    let ca = TestCa::new();
    let (mirror, front) = serve(&world, Some(&ca), None, "");
    let in_ns = |cmd| with_ca_in_system_store(&world, &ca, cmd);

    let mut install = world.env.uv();
    install.args(["python", "install", &mirror.version()]);
    let output = run(&mut in_ns(install));
    assert_success(&output);
    assert!(world.env.managed_python(&mirror.entry).exists());
    // Both the shim (metadata) and uv (the build) came through the https front.
    let paths: Vec<String> = front.knocks().into_iter().map(|k| k.path).collect();
    assert!(
        paths.iter().any(|p| p.ends_with("download-metadata.json")),
        "{paths:?}"
    );
    assert!(paths.iter().any(|p| p.ends_with(".tar.gz")), "{paths:?}");

    let vars = seen_by_uv(&world.env, in_ns);
    assert_eq!(
        vars.get("UV_SYSTEM_CERTS").map(String::as_str),
        Some("1"),
        "{vars:#?}"
    );
    assert!(!vars.contains_key("UV_NATIVE_TLS"), "{vars:#?}");
    let mut refresh = world.env.shim();
    refresh.arg("refresh");
    timed_refresh("https, CA in the system store", in_ns(refresh));

    let (report, _) = doctor(&world.env, in_ns);
    let line = env_line(&report, "UV_SYSTEM_CERTS").expect("doctor names UV_SYSTEM_CERTS");
    assert_eq!(line["set"], true);
    assert!(
        line["why"]
            .as_str()
            .unwrap()
            .contains("only the system certificate store"),
        "{line}"
    );
    assert!(
        report["metadata"]["certificate"]
            .as_str()
            .unwrap()
            .contains("system certificate store"),
        "{report:#}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn system_certs_false_leaves_uv_with_its_bundled_roots() {
    if !crate::common::require_root("it bind-mounts a CA bundle in a mount namespace")
        || !has_system_bundle()
    {
        return;
    }
    let world = world();
    let ca = TestCa::new();
    let (mirror, _front) = serve(&world, Some(&ca), None, "system-certs = false\n");
    let in_ns = |cmd| with_ca_in_system_store(&world, &ca, cmd);

    // The shim itself trusts the system store: it fetches, quietly.
    let mut version = world.env.uv();
    version.arg("--version");
    quiet(&run(&mut in_ns(version)));
    let vars = seen_by_uv(&world.env, in_ns);
    assert!(
        !vars.contains_key("UV_SYSTEM_CERTS") && !vars.contains_key("UV_NATIVE_TLS"),
        "{vars:#?}"
    );
    // uv, told nothing, trusts only the roots it bundles, as the admin asked.
    let mut install = world.env.uv();
    install.args(["python", "install", &mirror.version()]);
    let output = run(&mut in_ns(install));
    assert_failure(&output);
    assert!(
        stderr(&output).contains("certificate"),
        "{}",
        stderr(&output)
    );

    let (report, _) = doctor(&world.env, in_ns);
    assert!(env_line(&report, "UV_SYSTEM_CERTS").is_none(), "{report:#}");
    assert!(
        notes(&report).contains("system-certs = false"),
        "{report:#}"
    );
}

#[test]
fn the_same_ca_through_ssl_cert_file_adds_nothing() {
    let mut world = world();
    let ca = TestCa::new();
    let pem = ca.write_pem(&world.env.root().join("ca.pem"));
    world.env.set_env("SSL_CERT_FILE", &pem);
    let (mirror, _front) = serve(&world, Some(&ca), None, "");

    // Shim and uv both read the bundle: the install works with nothing added.
    let output = run(world
        .env
        .uv()
        .args(["python", "install", &mirror.version()]));
    assert_success(&output);
    let vars = seen_by_uv(&world.env, |cmd| cmd);
    assert!(
        !vars.contains_key("UV_SYSTEM_CERTS") && !vars.contains_key("UV_NATIVE_TLS"),
        "{vars:#?}"
    );
    let mut refresh = world.env.shim();
    refresh.arg("refresh");
    timed_refresh("https, CA in SSL_CERT_FILE", refresh);
    let (report, _) = doctor(&world.env, |cmd| cmd);
    assert!(
        notes(&report).contains("SSL_CERT_FILE is set"),
        "{report:#}"
    );
    assert!(
        report["metadata"]["certificate"]
            .as_str()
            .unwrap()
            .contains("SSL_CERT_FILE"),
        "{report:#}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn system_certs_true_hands_an_old_uv_uv_native_tls() {
    if !crate::common::require_root("it bind-mounts a CA bundle in a mount namespace")
        || !has_system_bundle()
    {
        return;
    }
    // uv 0.5.31 gets no metadata (it predates the variable), only the mirror
    // variables, so nothing is fetched to learn from: the key says it.
    let world = World::builder().real_uv(UV_OLD).build();
    let ca = TestCa::new();
    let www = world.env.root().join("www");
    let backend = crate::common::http::HttpServer::start(&www);
    let entries = MirrorBuilder::new(&www)
        .cpython(3, 11, 7, "20240107")
        .write_metadata(Urls::Relative);
    let front = Front::start(backend.addr(), Some(&ca), None);
    world.env.write_system_config(&format!(
        "mirror = \"{}\"\nsystem-certs = true\n",
        front.url("")
    ));
    let in_ns = |cmd| with_ca_in_system_store(&world, &ca, cmd);

    let vars = seen_by_uv(&world.env, in_ns);
    assert_eq!(
        vars.get("UV_NATIVE_TLS").map(String::as_str),
        Some("1"),
        "{vars:#?}"
    );
    assert!(!vars.contains_key("UV_SYSTEM_CERTS"), "{vars:#?}");
    // uv's request for its built-in path got through the TLS handshake and
    // was served (its built-in sha256 then refuses the crafted file).
    let mut install = world.env.uv();
    install.args(["python", "install", "3.11.7"]);
    let output = run(&mut in_ns(install));
    assert_failure(&output);
    let wanted = format!("/{}", entries[0].rel_path);
    let served = backend.requests().into_iter().find(|r| r.path == wanted);
    assert_eq!(
        served.and_then(|r| r.status),
        Some(200),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_untrusted_certificate_gets_a_warning_that_names_the_fix() {
    let world = world();
    let ca = TestCa::new();
    let (_mirror, front) = serve(&world, Some(&ca), None, "");

    let (output, took) = world.timed_uv_version();
    eprintln!("observed: uv --version, certificate refused: {took:.2?}");
    // Refused at the handshake: no timeout is waited for.
    assert!(took < Duration::from_secs(3), "{took:?}");
    let line = one_warning(
        &output,
        &[
            "UnknownIssuer",
            "SSL_CERT_FILE",
            "system certificate store",
            "system-certs",
        ],
    );
    assert!(line.contains(&front.authority()), "{line}");
    assert!(front.failed_connections() > 0);
    // `refresh` says the same and fails.
    let output = run(world.env.shim().arg("refresh"));
    assert_failure(&output);
    assert!(
        stderr(&output).contains("SSL_CERT_FILE"),
        "{}",
        stderr(&output)
    );
}

/// `machine 127.0.0.1 login ann password <password>` at `path`.
fn write_netrc(path: &Path, password: &str) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        path,
        format!("# mirror credentials\nmachine 127.0.0.1\n  login ann\n  password {password}\n"),
    )
    .unwrap();
    path.to_path_buf()
}

/// Asserts that nothing the shim printed holds the secret.
#[track_caller]
fn never_printed(text: &str) {
    assert!(!text.contains(SECRET), "the secret was printed:\n{text}");
}

#[test]
fn a_mirror_behind_basic_auth_works_with_credentials_only_in_netrc() {
    let world = world();
    let (mirror, front) = serve(&world, None, Some(("ann", SECRET)), "");
    write_netrc(&world.env.home().join(".netrc"), SECRET);

    let output = run(world
        .env
        .uv()
        .args(["python", "install", &mirror.version()]));
    assert_success(&output);
    assert!(world.env.managed_python(&mirror.entry).exists());
    never_printed(&format!("{}{}", stdout(&output), stderr(&output)));
    // Like uv: asked without credentials first, with them after the 401.
    let knocks = front.knocks();
    let metadata: Vec<_> = knocks
        .iter()
        .filter(|k| k.path.ends_with("download-metadata.json"))
        .collect();
    assert!(
        !metadata[0].with_credentials && !metadata[0].let_in,
        "{knocks:#?}"
    );
    assert!(
        metadata[1].with_credentials && metadata[1].let_in,
        "{knocks:#?}"
    );
    // The real uv read the same file for the build.
    assert!(
        knocks
            .iter()
            .any(|k| k.path.ends_with(".tar.gz") && k.let_in),
        "{knocks:#?}"
    );

    let (report, text) = doctor(&world.env, |cmd| cmd);
    assert_eq!(report["metadata"]["state"], "fresh", "{report:#}");
    never_printed(&text);
    never_printed(&stdout(&run(world.env.shim().arg("doctor"))));
    // Every fetch asks twice, as uv does: a 401 first, then with credentials.
    let before = front.knocks().len();
    let mut refresh = world.env.shim();
    refresh.arg("refresh");
    timed_refresh("plain http, a 401 then the netrc's credentials", refresh);
    assert_eq!(front.knocks().len(), before + 2, "{:#?}", front.knocks());
}

#[test]
fn the_netrc_variable_names_the_file() {
    let mut world = world();
    let (_mirror, front) = serve(&world, None, Some(("ann", SECRET)), "");
    let netrc = write_netrc(&world.env.root().join("creds").join("netrc"), SECRET);
    world.env.set_env("NETRC", &netrc);

    quiet(&world.uv_version());
    assert!(
        front.knocks().iter().any(|k| k.let_in),
        "{:#?}",
        front.knocks()
    );
    assert_eq!(
        doctor(&world.env, |cmd| cmd).0["metadata"]["state"],
        "fresh"
    );
}

#[test]
fn refused_credentials_are_named_but_never_printed() {
    let world = world();
    let (_mirror, _front) = serve(&world, None, Some(("ann", "the-right-one")), "");
    let netrc = write_netrc(&world.env.home().join(".netrc"), SECRET);

    let (output, _) = world.timed_uv_version();
    let line = one_warning(
        &output,
        &["HTTP 401", "were refused", &netrc.display().to_string()],
    );
    never_printed(&line);
    let (report, text) = doctor(&world.env, |cmd| cmd);
    assert!(
        report["metadata"]["last_error"]
            .as_str()
            .unwrap()
            .contains("401"),
        "{report:#}"
    );
    never_printed(&text);

    // No netrc at all: the warning says how to give credentials.
    std::fs::remove_file(&netrc).unwrap();
    world.forget_metadata();
    let (output, _) = world.timed_uv_version();
    one_warning(&output, &["HTTP 401", "NETRC", "machine 127.0.0.1"]);
}

#[test]
fn credentials_in_the_url_win_over_the_netrc() {
    let world = world();
    let (_mirror, front) = serve(&world, None, Some(("ann", SECRET)), "");
    write_netrc(&world.env.home().join(".netrc"), "wrong-password");
    world.env.write_system_config(&format!(
        "mirror = \"http://ann:{SECRET}@{}/uv/\"\n",
        front.authority()
    ));

    quiet(&world.uv_version());
    let knocks = front.knocks();
    // Sent at once, never the netrc's.
    assert!(
        knocks.iter().all(|k| k.with_credentials && k.let_in),
        "{knocks:#?}"
    );
    let (report, text) = doctor(&world.env, |cmd| cmd);
    assert_eq!(report["metadata"]["state"], "fresh", "{report:#}");
    never_printed(&text);
}

#[test]
fn mirror_sync_reads_an_upstream_behind_basic_auth_with_the_netrc() {
    let world = world();
    let upstream = Mirror::relative(world.env.root().join("upstream"), "");
    let front = Front::start(upstream.server.addr(), None, Some(("ann", SECRET)));
    let dest = world.env.root().join("mirror");
    let from = front.url("download-metadata.json");

    // Without credentials: a clear failure that says where they go.
    let output = sync(&world.env, &dest, &from, &[]);
    assert_failure(&output);
    assert!(
        stderr(&output).contains("401") && stderr(&output).contains("NETRC"),
        "{}",
        stderr(&output)
    );

    write_netrc(&world.env.home().join(".netrc"), SECRET);
    let output = sync(&world.env, &dest, &from, &[]);
    assert_success(&output);
    assert!(dest.join(&upstream.entry.rel_path).is_file());
    never_printed(&format!("{}{}", stdout(&output), stderr(&output)));
    assert!(
        front
            .knocks()
            .iter()
            .any(|k| k.path.ends_with(".tar.gz") && k.let_in)
    );
}
