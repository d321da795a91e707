//! A mirror that publishes no metadata: a pull-through proxy (Artifactory,
//! Nexus, a caching nginx) that serves `<base>/<build>/<file>` on demand
//! and answers 404 for `download-metadata.json`. With `metadata = false`
//! the shim fetches nothing and warns about nothing; every uv gets the
//! mirror variables and asks the proxy for the build its own built-in list
//! names. Crafted files cannot pass the real hashes compiled into uv, so
//! the request in the proxy's log is the check, not the install.

use crate::common::World;
use crate::common::env::{assert_failure, run, stderr, stdout};
use crate::common::http::{Fault, HttpServer};
use crate::common::scene::quiet;
use crate::common::uv::{UV_NEW, UV_OLD};

/// A proxy under `/pbs/` that answers 200 for any path but its metadata.
fn proxy(world: &World) -> HttpServer {
    let proxy = HttpServer::start(world.env.root().join("www"));
    proxy.set_fault(None, Fault::Body(b"not a real build".to_vec()));
    proxy.set_fault(Some("/pbs/download-metadata.json"), Fault::Status(404));
    world.env.write_system_config(&format!(
        "mirror = \"{}\"\nmetadata = false\n",
        proxy.url("/pbs/")
    ));
    proxy
}

/// Paths of the proxy's log that name a CPython build of `minor`:
/// `/pbs/<build date>/cpython-3.<minor>.…`.
fn build_requests(proxy: &HttpServer, minor: u32) -> Vec<String> {
    proxy
        .requests()
        .into_iter()
        .map(|r| r.path)
        .filter(|path| {
            let mut parts = path.trim_start_matches("/pbs/").splitn(2, '/');
            let build = parts.next().unwrap_or_default();
            let file = parts.next().unwrap_or_default();
            build.len() == 8
                && build.bytes().all(|b| b.is_ascii_digit())
                && file.starts_with(&format!("cpython-3.{minor}."))
        })
        .collect()
}

#[test]
fn a_pull_through_proxy_gets_uvs_own_build_request_and_no_metadata_fetch() {
    for version in [UV_NEW, UV_OLD] {
        let world = World::builder().real_uv(version).build();
        let env = &world.env;
        let proxy = proxy(&world);

        // uv asks the proxy for the build of its built-in list (the crafted
        // answer fails uv's hash check, so the install itself fails).
        let output = run(env.uv().args(["python", "install", "3.12"]));
        assert_failure(&output);
        let asked = build_requests(&proxy, 12);
        assert!(
            !asked.is_empty(),
            "uv {version}: {:#?}\n{}",
            proxy.requests(),
            stderr(&output)
        );
        assert!(!stderr(&output).contains("uv-shim"), "{}", stderr(&output));
        assert_eq!(
            proxy.count("/pbs/download-metadata.json"),
            0,
            "uv {version}"
        );

        // Ten calls: not a line from the shim, not a request.
        proxy.clear_log();
        for _ in 0..10 {
            quiet(&run(env.uv().arg("--version")));
        }
        assert!(
            proxy.requests().is_empty(),
            "uv {version}: {:#?}",
            proxy.requests()
        );

        // doctor: no problem, and the trade-off in its notes.
        let report = world.doctor();
        assert_eq!(
            report.json["scheme"],
            "mirror-variables",
            "{}",
            report.dump()
        );
        assert!(report.json["metadata"].is_null(), "{}", report.dump());
        let problems = report.json["problems"].as_array().unwrap();
        assert!(problems.is_empty(), "{}", report.dump());
        let notes = report.json["notes"].to_string();
        assert!(
            notes.contains("publishes no metadata") && notes.contains("built-in list"),
            "{notes}"
        );
        let text = stdout(&run(env.shim().arg("doctor")));
        assert!(
            text.contains("none published, `metadata = false`"),
            "{text}"
        );
        assert!(proxy.requests().is_empty(), "{:#?}", proxy.requests());
    }
}
