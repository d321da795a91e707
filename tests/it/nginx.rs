//! End to end against a real nginx serving a mirror folder.
//!
//! The test starts its own nginx on 127.0.0.1 (installing the Debian package
//! if needed, see `tests/common/nginx.rs`) over a crafted mirror, then:
//!
//! * `uv python install` through the shim installs two builds from it: one
//!   whose metadata URL spells `+` as `%2B` (as `uv-shim mirror sync` and
//!   upstream write it) and one with a literal `+`; nginx maps both to the
//!   file whose name holds a literal `+`;
//! * once the TTL has passed, the shim revalidates with nginx's own `ETag`
//!   and gets `304 Not Modified`: the cached copy stays byte for byte;
//! * when the mirror publishes a new document, the conditional request gets
//!   `200` and uv sees the new build.
//!
//! When nginx is missing and cannot be installed (not root), it fails under
//! CI and is a visible skip elsewhere ([`crate::common::skip`]).

use std::time::Duration;

use crate::common::World;
use crate::common::cache::metadata_copy;
use crate::common::env::{assert_success, run, stderr};
use crate::common::mirror::{MirrorBuilder, Urls, host_python_version};
use crate::common::nginx::{Hit, Nginx, nginx};
use crate::common::uv::UV_NEW;

#[test]
fn nginx_serves_plus_names_and_answers_conditional_requests_with_304() {
    let binary = match nginx() {
        Ok(binary) => binary,
        Err(why) => {
            crate::common::skip(&why);
            return;
        }
    };
    let world = World::builder().real_uv(UV_NEW).build();
    let env = &world.env;
    let www = env.root().join("www");
    let (major, minor, patch) = host_python_version();
    let mirror = MirrorBuilder::new(www.join("uv"))
        .cpython(major, minor, patch, "20250101")
        .cpython(major, minor + 1, 0, "20250101");
    // The second build's URL has a literal `+`, the first keeps `%2B`.
    let entries = mirror.entries(&Urls::Relative);
    let (escaped, literal) = (&entries[0], &entries[1]);
    let mut doc = mirror.metadata_json(&Urls::Relative);
    doc[&literal.key]["url"] = literal.url.replace("%2B", "+").into();
    std::fs::write(
        mirror.metadata_path(),
        serde_json::to_string_pretty(&doc).unwrap(),
    )
    .unwrap();
    assert!(escaped.file_name.contains('+') && literal.file_name.contains('+'));

    let nginx = Nginx::start(&binary, &www);
    env.write_system_config(&format!(
        "mirror = \"{}\"\nttl = \"1s\"\n",
        nginx.url("/uv/")
    ));

    // Both builds install from nginx.
    let versions = [
        format!("{major}.{minor}.{patch}"),
        format!("{major}.{}.0", minor + 1),
    ];
    let output = run(env.uv().args(["python", "install"]).args(&versions));
    assert_success(&output);
    assert!(env.managed_python(escaped).exists());
    assert!(env.managed_python(literal).exists());
    let python = run(env
        .command(env.managed_python(escaped))
        .args(["-c", "print(6 * 7)"]));
    assert_eq!(String::from_utf8_lossy(&python.stdout).trim(), "42");

    let hits = nginx.hits();
    let metadata = "/uv/download-metadata.json";
    let tarballs: Vec<&Hit> = hits.iter().filter(|h| h.uri.ends_with(".tar.gz")).collect();
    assert_eq!(tarballs.len(), 2, "{hits:#?}");
    assert!(tarballs.iter().all(|h| h.status == 200), "{hits:#?}");
    let uris: Vec<&str> = tarballs.iter().map(|h| h.uri.as_str()).collect();
    assert!(
        uris.contains(&format!("/uv/{}", escaped.encoded_rel_path()).as_str()),
        "{uris:?}"
    );
    assert!(
        uris.contains(&format!("/uv/{}", literal.rel_path).as_str()),
        "{uris:?}"
    );
    let first: Vec<&Hit> = hits.iter().filter(|h| h.uri == metadata).collect();
    assert_eq!(first.len(), 1, "{hits:#?}");
    assert_eq!((first[0].status, &first[0].if_none_match), (200, &None));
    let etag = first[0].etag.clone().expect("nginx sends an ETag");

    // The TTL passes: the shim asks with nginx's ETag and gets a 304.
    let cached = metadata_copy(&env.cache_dir());
    let before = std::fs::read(&cached).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let output = run(env.uv().arg("--version"));
    assert_success(&output);
    assert_eq!(stderr(&output), "");
    let last = nginx.hits().pop().unwrap();
    assert_eq!(last.uri, metadata);
    assert_eq!(
        last.if_none_match.as_deref(),
        Some(etag.as_str()),
        "{last:?}"
    );
    assert_eq!(last.status, 304);
    assert_eq!(std::fs::read(&cached).unwrap(), before);
    let state = std::fs::read_to_string(cached.with_extension("state")).unwrap();
    assert!(state.contains(&format!("etag {etag}\n")), "{state}");

    // A new document: the conditional request gets it, and uv sees the new build.
    MirrorBuilder::new(www.join("uv"))
        .cpython(major, minor, patch, "20250101")
        .cpython(major, minor + 1, 0, "20250101")
        .cpython(major, minor + 2, 0, "20250101")
        .write_metadata(Urls::Relative);
    std::thread::sleep(Duration::from_millis(1100));
    let output = run(env.uv().args(["python", "list", "--only-downloads"]));
    assert_success(&output);
    let listing = String::from_utf8_lossy(&output.stdout);
    assert!(
        listing.contains(&format!("cpython-{major}.{}.0-", minor + 2)),
        "{listing}"
    );
    let last = nginx.hits().pop().unwrap();
    assert_eq!((last.uri.as_str(), last.status), (metadata, 200));
    assert_eq!(last.if_none_match.as_deref(), Some(etag.as_str()));
    assert_ne!(std::fs::read(&cached).unwrap(), before);
}
