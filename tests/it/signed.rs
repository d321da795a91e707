//! Signed metadata (issue 13): `mirror keygen` makes a minisign key pair,
//! `mirror sync --sign` writes `download-metadata.json.minisig`, and a shim
//! whose system config lists `trusted-keys` takes a fetched document only
//! with a good signature from one of them: a changed byte, a missing
//! signature or an unknown key is a bad answer (the good copy stays, one
//! warning). The check runs on a fetch only, never on a warm call.
//! The keys and signatures are the `minisign` tool's own formats: each
//! side verifies what the other made.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::World;
use crate::common::env::{TestEnv, assert_failure, assert_success, run, stderr, stdout};
use crate::common::http::{Fault, HttpServer};
use crate::common::minisign::minisign;
use crate::common::mirror::Entry;
use crate::common::scene::{Mirror, one_warning, quiet};
use crate::common::skip;
use crate::common::sync::sync;
use crate::common::upstream::{Spec, Upstream};
use crate::common::uv::UV_NEW;

const SIGNATURE: &str = "/download-metadata.json.minisig";
const METADATA: &str = "/download-metadata.json";

/// `uv-shim mirror keygen --out <root>/keys/NAME`: the secret key file, the
/// public key string (last line of NAME.pub) and the key id it printed.
#[track_caller]
fn keygen(env: &TestEnv, name: &str) -> (PathBuf, String, String) {
    let dir = env.root().join("keys");
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join(name);
    let output = run(env.shim().args(["mirror", "keygen", "--out"]).arg(&key));
    assert_success(&output);
    let public = last_line(&key.with_extension("pub"));
    let id = stdout(&output)
        .split("key id ")
        .nth(1)
        .and_then(|rest| rest.get(..16))
        .unwrap_or_else(|| panic!("no key id in:\n{}", stdout(&output)))
        .to_string();
    (key, public, id)
}

#[track_caller]
fn last_line(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines().last().unwrap().trim().to_string()
}

/// A mirror synced from a crafted upstream into `<root>/www`, signed with
/// `key`, served at `/` of a harness server.
struct Signed {
    server: HttpServer,
    dest: PathBuf,
    entry: Entry,
    upstream: Mirror,
}

#[track_caller]
fn signed_mirror(env: &TestEnv, key: &Path) -> Signed {
    let upstream = Mirror::absolute(env.root().join("upstream"), "");
    let dest = env.root().join("www");
    let output = sync(
        env,
        &dest,
        upstream.metadata_url(),
        &["--sign", key.to_str().unwrap()],
    );
    assert_success(&output);
    assert!(
        stdout(&output).contains("signed download-metadata.json.minisig with key"),
        "{}",
        stdout(&output)
    );
    assert!(dest.join("download-metadata.json.minisig").is_file());
    Signed {
        server: HttpServer::start(&dest),
        entry: upstream.entry.clone(),
        dest,
        upstream,
    }
}

/// The system config: the mirror, and the keys it must be signed with.
fn trust(env: &TestEnv, server: &HttpServer, keys: &[&str]) {
    let keys: Vec<String> = keys.iter().map(|k| format!("\"{k}\"")).collect();
    env.write_system_config(&format!(
        "mirror = \"{}\"\ntrusted-keys = [{}]\n",
        server.url("/"),
        keys.join(", ")
    ));
}

fn verify_with(env: &TestEnv, dest: &Path, key: &str) -> Output {
    run(env
        .shim()
        .args(["mirror", "verify", "--dest"])
        .arg(dest)
        .args(["--trusted-key", key]))
}

fn world() -> World {
    World::builder().real_uv(UV_NEW).http_timeout("2s").build()
}

#[test]
fn a_signed_mirror_with_trusted_keys_installs_and_doctor_names_the_key() {
    let world = world();
    let env = &world.env;
    let (key, public, id) = keygen(env, "mirror");
    let mirror = signed_mirror(env, &key);
    trust(env, &mirror.server, &[&public]);

    let (major, minor, patch) = mirror.entry.version;
    let output = run(env
        .uv()
        .args(["python", "install", &format!("{major}.{minor}.{patch}")]));
    assert_success(&output);
    assert_eq!(
        stderr(&output).matches("uv-shim:").count(),
        0,
        "{}",
        stderr(&output)
    );
    assert!(env.managed_python(&mirror.entry).exists());
    assert_eq!(mirror.server.count(SIGNATURE), 1);

    // The first call's fetch, signature included, against one without keys.
    world.forget_metadata();
    let started = Instant::now();
    quiet(&run(env.uv().arg("--version")));
    let signed = started.elapsed();
    env.write_system_config(&format!("mirror = \"{}\"\n", mirror.server.url("/")));
    let started = Instant::now();
    quiet(&run(env.uv().arg("--version")));
    eprintln!(
        "cold call with trusted-keys: {signed:?}; without: {:?}",
        started.elapsed()
    );
    trust(env, &mirror.server, &[&public]);

    let doctor = world.doctor();
    assert_eq!(
        doctor.json["metadata"]["signed_by"],
        id.as_str(),
        "{}",
        doctor.dump()
    );

    // Warm calls check nothing again: no signature is fetched.
    quiet(&run(env.uv().arg("--version")));
    assert_eq!(mirror.server.count(SIGNATURE), 2);

    let output = verify_with(env, &mirror.dest, &public);
    assert_success(&output);
    assert!(
        stdout(&output).contains(&format!("by trusted key {id}")),
        "{}",
        stdout(&output)
    );
}

#[test]
fn one_changed_byte_under_the_old_signature_is_refused_and_the_good_copy_stays() {
    let world = world();
    let env = &world.env;
    let (key, public, id) = keygen(env, "mirror");
    let mirror = signed_mirror(env, &key);
    trust(env, &mirror.server, &[&public]);
    quiet(&run(env.uv().arg("--version")));
    let good = world.copy();

    // One digit of the served document changes; the signature stays the old one.
    let path = mirror.dest.join("download-metadata.json");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.iter().position(u8::is_ascii_digit).unwrap();
    bytes[at] = if bytes[at] == b'9' {
        b'0'
    } else {
        bytes[at] + 1
    };
    std::fs::write(&path, &bytes).unwrap();
    world.expire();

    let started = Instant::now();
    let output = run(env.uv().arg("--version"));
    let took = started.elapsed();
    one_warning(&output, &["does not match the document", &id]);
    // Asked twice, in case the first pair straddled a publish.
    let asked = mirror
        .server
        .requests()
        .iter()
        .filter(|r| r.path == METADATA)
        .count();
    assert_eq!(asked, 3, "the first fetch, then a pair and the pair again");
    // Two requests to a local server, one check: no wait of any kind.
    eprintln!("refused (changed byte) call: {took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(world.copy(), good, "the good copy was replaced");
    // Said once: the next call (within the failure backoff) is quiet.
    quiet(&run(env.uv().arg("--version")));
    let doctor = world.doctor();
    assert_eq!(
        doctor.json["metadata"]["signed_by"],
        id.as_str(),
        "{}",
        doctor.dump()
    );

    let output = verify_with(env, &mirror.dest, &public);
    assert_failure(&output);
    assert!(stdout(&output).contains("badsig"), "{}", stdout(&output));
}

/// A mirror publishes its metadata and then its signature, two renames: a
/// client can read one of each side of a publish. It fetches the pair once
/// more, and ends with the new copy, verified, without a word.
#[test]
fn a_client_reading_between_the_two_renames_fetches_the_pair_again() {
    let world = world();
    let env = &world.env;
    let (key, public, id) = keygen(env, "mirror");
    let sign = ["--sign", key.to_str().unwrap()];
    let dest = env.root().join("www");
    let mut up = Upstream::new();
    up.add(Spec::cpython("3.12.7", "20250101"));
    assert_success(&sync(env, &dest, up.publish(), &sign));
    let server = HttpServer::start(&dest);
    trust(env, &server, &[&public]);
    quiet(&run(env.uv().arg("--version")));
    assert_eq!(world.copy_entries(), 1);

    // New metadata, read with the signature of the one before; then old
    // metadata, read with the signature of the new one.
    for (round, (version, stale)) in [("3.13.0", SIGNATURE), ("3.14.0", METADATA)]
        .into_iter()
        .enumerate()
    {
        let before = std::fs::read(dest.join(stale.trim_start_matches('/'))).unwrap();
        up.add(Spec::cpython(version, "20250201"));
        assert_success(&sync(env, &dest, up.publish(), &sign));
        server.set_fault(Some(stale), Fault::BodyOnce(before));
        server.clear_log();
        world.expire();
        quiet(&run(env.uv().arg("--version")));
        let asked = |path: &str| server.requests().iter().filter(|r| r.path == path).count();
        assert_eq!(
            (asked(METADATA), asked(SIGNATURE)),
            (2, 2),
            "one pair, then the pair again"
        );
        assert_eq!(world.copy_entries(), round + 2, "the new copy is in use");
        assert_eq!(world.doctor().json["metadata"]["signed_by"], id.as_str());
    }
}

#[test]
fn unsigned_metadata_with_trusted_keys_is_refused() {
    let world = World::scene().build();
    let env = &world.env;
    let (_, public, _) = keygen(env, "mirror");
    env.write_system_config(&format!(
        "mirror = \"{}\"\ntrusted-keys = [\"{public}\"]\n",
        world.mirror_base()
    ));
    let started = Instant::now();
    let output = run(env.uv().arg("--version"));
    let took = started.elapsed();
    one_warning(&output, &["trusted-keys", "minisig", "404"]);
    eprintln!("refused (no signature) call: {took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(world.handed_to_uv(), None, "uv got an unsigned document");

    let output = verify_with(env, &world.mirror().dir, &public);
    assert_failure(&output);
    assert!(stdout(&output).contains("unsigned"), "{}", stdout(&output));
}

/// `minisign ARGS…` with nothing to read on stdin (it must not prompt).
#[track_caller]
fn tool(minisign: &Path, args: &[&std::ffi::OsStr]) -> Output {
    let output = Command::new(minisign)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", minisign.display()));
    assert!(
        output.status.success(),
        "minisign {args:?}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn the_minisign_tool_and_uv_shim_verify_each_others_signatures() {
    let minisign = match minisign() {
        Ok(path) => path,
        Err(why) => return skip(&why),
    };
    let world = world();
    let env = &world.env;
    let os = |s: &str| std::ffi::OsString::from(s);

    // Our key and signature, checked by the tool.
    let (key, _, _) = keygen(env, "ours");
    let mirror = signed_mirror(env, &key);
    let metadata = mirror.dest.join("download-metadata.json");
    let ours_pub = key.with_extension("pub");
    tool(
        &minisign,
        &[
            &os("-V"),
            &os("-p"),
            ours_pub.as_os_str(),
            &os("-m"),
            metadata.as_os_str(),
        ],
    );

    // The tool's key (unencrypted, -W) and signature, checked by the shim.
    let tool_pub = env.root().join("keys/tool.pub");
    let tool_key = env.root().join("keys/tool.key");
    tool(
        &minisign,
        &[
            &os("-G"),
            &os("-W"),
            &os("-p"),
            tool_pub.as_os_str(),
            &os("-s"),
            tool_key.as_os_str(),
        ],
    );
    tool(
        &minisign,
        &[
            &os("-S"),
            &os("-s"),
            tool_key.as_os_str(),
            &os("-m"),
            metadata.as_os_str(),
        ],
    );
    let tool_public = last_line(&tool_pub);
    trust(&world.env, &mirror.server, &[&tool_public]);
    quiet(&run(env.uv().arg("--version")));
    let tool_id = std::fs::read_to_string(&tool_pub)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    let doctor = world.doctor();
    assert_eq!(
        doctor.json["metadata"]["signed_by"],
        tool_id.as_str(),
        "{}",
        doctor.dump()
    );
    // `--trusted-key` also takes the .pub file.
    assert_success(&verify_with(env, &mirror.dest, tool_pub.to_str().unwrap()));

    // The tool's secret key signs a sync too, and the tool accepts the result.
    std::fs::remove_file(mirror.dest.join("download-metadata.json.minisig")).unwrap();
    let output = sync(
        env,
        &mirror.dest,
        mirror.upstream.metadata_url(),
        &["--sign", tool_key.to_str().unwrap()],
    );
    assert_success(&output);
    tool(
        &minisign,
        &[
            &os("-V"),
            &os("-p"),
            tool_pub.as_os_str(),
            &os("-m"),
            metadata.as_os_str(),
        ],
    );
}
