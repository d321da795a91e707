//! What stories set up and look at: a served one-build mirror, what the real
//! uv received from the shim, and the assertions most stories end with (one
//! warning, or none).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Output, Stdio};

use super::env::{RUN_TIMEOUT, TestEnv, assert_success, stderr, stdout, wait_with_timeout};
use super::http::HttpServer;
use super::mirror::{
    Entry, Host, METADATA_FILE, MirrorBuilder, Urls, host, host_python, host_python_version,
};

/// The metadata path on the server of [`World::scene`](super::World::scene).
pub const METADATA: &str = "/uv/download-metadata.json";

/// A mirror holding one build of the host's Python (build `20250101`), on a
/// harness server of its own.
#[derive(Debug)]
pub struct Mirror {
    /// The server; its root is the folder given to the constructor.
    pub server: HttpServer,
    /// The build the mirror holds.
    pub entry: Entry,
    /// The mirror's folder (holding `download-metadata.json`).
    pub dir: PathBuf,
    /// The mirror's path on the server: `/uv/`, or `/`.
    path: String,
    /// How its metadata writes the `url` fields.
    urls: Urls,
}

impl Mirror {
    /// Serves `root`; the mirror is `root/<under>` (`""`: `root` itself), its
    /// metadata has URLs relative to the metadata file.
    pub fn relative(root: impl Into<PathBuf>, under: &str) -> Mirror {
        Mirror::relative_for(root, under, host())
    }

    /// Like [`Mirror::relative`], with a build for `platform` instead of the
    /// host's (a uv of another architecture asks for that one).
    pub fn relative_for(root: impl Into<PathBuf>, under: &str, platform: Host) -> Mirror {
        Mirror::start(root.into(), under, platform, |_| Urls::Relative)
    }

    /// Like [`Mirror::relative`], with absolute URLs on this server.
    pub fn absolute(root: impl Into<PathBuf>, under: &str) -> Mirror {
        Mirror::start(root.into(), under, host(), |server| {
            Urls::Absolute(server.url(under))
        })
    }

    fn start(
        root: PathBuf,
        under: &str,
        platform: Host,
        urls: impl FnOnce(&HttpServer) -> Urls,
    ) -> Mirror {
        let dir = root.join(under);
        let server = HttpServer::start(root);
        let urls = urls(&server);
        let path = match under {
            "" => "/".to_owned(),
            under => format!("/{under}/"),
        };
        let (major, minor, patch) = host_python_version();
        let entry = MirrorBuilder::new(&dir)
            .platform(platform)
            .cpython(major, minor, patch, "20250101")
            .write_metadata(urls.clone())
            .remove(0);
        Mirror {
            server,
            entry,
            dir,
            path,
            urls,
        }
    }

    /// The mirror's base URL, with a trailing slash: what a config names.
    pub fn base(&self) -> String {
        self.server.url(&self.path)
    }

    /// The URL of its `download-metadata.json`.
    pub fn metadata_url(&self) -> String {
        self.server.url(&self.metadata_path())
    }

    /// The path of its `download-metadata.json` on the server.
    pub fn metadata_path(&self) -> String {
        format!("{}{METADATA_FILE}", self.path)
    }

    /// How many requests for the metadata reached the server.
    pub fn metadata_requests(&self) -> usize {
        self.server.count(&self.metadata_path())
    }

    /// The build's version, `M.m.p`, as `uv python install` takes it.
    pub fn version(&self) -> String {
        let (major, minor, patch) = self.entry.version;
        format!("{major}.{minor}.{patch}")
    }

    /// Requests for any CPython build under the mirror's folder (what uv
    /// asks for, whichever build that is).
    pub fn build_requests(&self) -> Vec<super::http::Request> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with(&self.path) && r.path.contains("cpython-"))
            .collect()
    }

    /// The mirror was asked for a build exactly once, by uv `version` (its
    /// User-Agent), and never for metadata: what an old uv does, which only
    /// knows its built-in list.
    #[track_caller]
    pub fn assert_one_build_request_from(&self, version: &str) {
        let asked = self.build_requests();
        assert_eq!(asked.len(), 1, "{:#?}", self.server.requests());
        let agent = asked[0].user_agent.as_deref().unwrap_or("");
        assert!(
            agent.starts_with(&format!("uv/{version}")),
            "asked by {agent:?}, not uv {version}"
        );
        assert_eq!(self.metadata_requests(), 0, "an old uv reads no metadata");
    }

    /// uv fetched the mirror's build exactly once and installed it into `env`.
    #[track_caller]
    pub fn assert_build_installed(&self, env: &TestEnv, label: &str) {
        let tarball = format!("{}{}", self.path, self.entry.rel_path);
        assert_eq!(
            self.server.count(&tarball),
            1,
            "{label}: {:#?}",
            self.server.requests()
        );
        assert!(env.managed_python(&self.entry).exists(), "{label}");
    }

    /// The metadata document as the mirror serves it now.
    pub fn document(&self) -> Vec<u8> {
        let path = self.dir.join(METADATA_FILE);
        std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
    }

    /// The mirror publishes `builds` builds (1 or more) of the host's Python
    /// line: the host's minor version and the ones after it.
    pub fn publish(&self, builds: u32) {
        let (major, minor, patch) = host_python_version();
        let mut mirror = MirrorBuilder::new(&self.dir).platform(self.entry.platform.clone());
        for extra in 0..builds {
            mirror = mirror.cpython(major, minor + extra, patch, "20250101");
        }
        mirror.write_metadata(self.urls.clone());
    }
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

/// Asserts that `output` is uv's own `--version`, and nothing from the shim.
#[track_caller]
pub fn quiet(output: &Output) {
    assert_success(output);
    assert!(stdout(output).starts_with("uv "), "{}", stdout(output));
    assert_eq!(stderr(output), "");
}

/// What the real uv received from the shim, read back from inside it.
#[derive(Debug)]
pub struct SeenByUv {
    /// Every `UV_*` variable of uv's environment.
    pub vars: BTreeMap<String, String>,
    /// The PID of the uv process (the parent of the Python it ran).
    pub uv_pid: u32,
    /// The PID of the process the test started (the shim, as `uv`).
    pub started_pid: u32,
}

/// Runs the shim as `uv` (`uv run` of the host's python3) and reads back the
/// `UV_*` variables the real uv received (uv hands its own environment to
/// the program it runs), and its PID. This is the real hand-over, warm plan
/// and all.
#[track_caller]
pub fn seen_by_uv(env: &TestEnv) -> SeenByUv {
    let script = "import os, json; print(json.dumps({'ppid': os.getppid(), 'env': {k: v for k, v in os.environ.items() if k.startswith('UV_')}}))";
    let mut cmd = env.uv();
    cmd.args(["run", "--no-project", "--python"])
        .arg(&host_python().path)
        .args(["--", "python", "-c", script]);
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let started_pid = child.id();
    let output = wait_with_timeout(child, "`uv run` through the shim", RUN_TIMEOUT);
    assert_success(&output);
    let value: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    let vars = value["env"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    SeenByUv {
        vars,
        uv_pid: value["ppid"].as_u64().unwrap() as u32,
        started_pid,
    }
}

/// The metadata file the real uv receives (`UV_PYTHON_DOWNLOADS_JSON_URL`),
/// if any, read from inside uv by [`seen_by_uv`]: this call goes through the
/// `uv` face like any other (warm plan included), so it is one more call.
#[track_caller]
pub fn handed_to_uv(env: &TestEnv) -> Option<PathBuf> {
    seen_by_uv(env)
        .vars
        .get("UV_PYTHON_DOWNLOADS_JSON_URL")
        .map(PathBuf::from)
}
