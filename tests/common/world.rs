//! The one builder every story starts from.
//!
//! [`World::builder`] gives a fresh [`TestEnv`] (its own home, configs,
//! caches and `/etc/uv`) and nothing else; each builder method adds one thing
//! a story needs: the real uv, a time limit, a served mirror, the system
//! config naming it, a DNS server. Two presets of the builder are the usual
//! starts: [`World::scene`], the newest real uv, a 1 s time limit (faults
//! cost at most that), a one-build mirror under `/uv/` of a harness server,
//! named by the system config; and [`World::dns_scene`], the newest real uv
//! and a DNS server asked about pinned domains.
//!
//! ```ignore
//! let world = World::scene().build();
//! let slow = World::scene().default_http_timeout().build();
//! let dns = World::dns_scene(&[DOMAIN]).build();
//! let bare = World::builder().real_uv(UV_OLD).mirror().build();
//! ```
//!
//! The [`World`] then says what the stories look at: the mirror's requests,
//! the shim's cache (the metadata copy, ageing it), what uv received, the
//! doctor's report.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use super::cache;
use super::dns::{DnsServer, Domains};
use super::doctor::Report;
use super::env::{TestEnv, assert_success, run, stderr, stdout};
use super::http::{Fault, HttpServer};
use super::mirror::Host;
use super::scene::{self, Mirror, SeenByUv, quiet};
use super::uv::real_uv;

#[cfg(target_os = "linux")]
use super::bare::Bare;

/// The variable of the shim's time limit for network work.
const HTTP_TIMEOUT: &str = "UV_SHIM_HTTP_TIMEOUT";

/// One story's world: its environment and the servers it talks to.
pub struct World {
    /// The environment every command runs in.
    pub env: TestEnv,
    /// The real uv's version, when there is one.
    real_uv: Option<String>,
    /// The served mirror, if any.
    mirror: Option<Mirror>,
    /// The DNS server the shim asks, if any.
    dns: Option<DnsServer>,
    /// Serves the mirror's document instead of the harness server, if any.
    #[cfg(target_os = "linux")]
    bare: Option<Bare>,
    /// The shim's cache dir.
    cache: PathBuf,
}

/// Builds a [`World`]; see the module docs.
#[must_use]
pub struct WorldBuilder {
    /// The environment, with the variables set so far.
    env: TestEnv,
    /// The real uv's version, when installed by [`WorldBuilder::real_uv`].
    real_uv: Option<String>,
    /// Whether to serve a mirror, and how its metadata writes URLs.
    mirror: Option<Links>,
    /// The platform of the mirror's build: the host's unless set.
    platform: Option<Host>,
    /// Whether the system config names the mirror.
    named: bool,
    /// Which domains the shim learns of, when a DNS server is wanted.
    dns: Option<Domains>,
    /// Whether a [`Bare`] server serves the mirror's document.
    #[cfg(target_os = "linux")]
    bare: bool,
}

/// How the metadata of the built mirror writes its URLs.
#[derive(Clone, Copy)]
enum Links {
    /// Relative to the metadata file ([`Mirror::relative`]).
    Relative,
    /// Absolute, on the mirror's server ([`Mirror::absolute`]).
    Absolute,
}

impl World {
    /// A fresh environment and nothing else, to add to.
    pub fn builder() -> WorldBuilder {
        WorldBuilder {
            env: TestEnv::new(),
            real_uv: None,
            mirror: None,
            platform: None,
            named: false,
            dns: None,
            #[cfg(target_os = "linux")]
            bare: false,
        }
    }

    /// The usual start: the newest real uv, a 1 s time limit, a one-build
    /// mirror under `/uv/` of a harness server, named by the system config.
    pub fn scene() -> WorldBuilder {
        World::builder()
            .real_uv(super::uv::UV_NEW)
            .http_timeout("1s")
            .mirror()
            .named_in_system_config()
    }

    /// The usual start of a DNS story: the newest real uv and a DNS server
    /// on 127.0.0.1 that the shim asks about the `pinned` domains.
    pub fn dns_scene(pinned: &[&str]) -> WorldBuilder {
        World::builder().real_uv(super::uv::UV_NEW).dns(pinned)
    }

    /// The served mirror. Panics when the world has none.
    #[track_caller]
    pub fn mirror(&self) -> &Mirror {
        self.mirror.as_ref().expect("this world has no mirror")
    }

    /// The mirror's harness server.
    #[track_caller]
    pub fn server(&self) -> &HttpServer {
        &self.mirror().server
    }

    /// The DNS server. Panics when the world has none.
    #[track_caller]
    pub fn dns(&self) -> &DnsServer {
        self.dns.as_ref().expect("this world has no DNS server")
    }

    /// The bare server. Panics when the world has none.
    #[cfg(target_os = "linux")]
    #[track_caller]
    pub fn bare(&self) -> &Bare {
        self.bare.as_ref().expect("this world has no bare server")
    }

    /// The base URL of the mirror the shim is pointed at: the bare server
    /// when there is one, else the harness server's.
    #[track_caller]
    pub fn mirror_base(&self) -> String {
        #[cfg(target_os = "linux")]
        if let Some(bare) = &self.bare {
            return format!("http://{}/uv/", bare.addr());
        }
        self.mirror().base()
    }

    /// The metadata URL the shim fetches.
    #[track_caller]
    pub fn metadata_url(&self) -> String {
        format!("{}download-metadata.json", self.mirror_base())
    }

    /// Metadata requests that reached whichever server the shim uses.
    pub fn metadata_requests(&self) -> usize {
        #[cfg(target_os = "linux")]
        if let Some(bare) = &self.bare {
            return bare.served();
        }
        self.mirror().metadata_requests()
    }

    /// Runs `uv --version` through the shim (the `uv` face) and checks that
    /// the real uv answered with its own version line.
    #[track_caller]
    pub fn uv_version(&self) -> Output {
        let output = run(self.env.uv().arg("--version"));
        assert_success(&output);
        let version = self.real_uv.as_deref().expect("this world has no real uv");
        assert!(
            stdout(&output).starts_with(&format!("uv {version}")),
            "{}",
            stdout(&output)
        );
        output
    }

    /// `uv --version` through the shim, whatever its outcome, and how long it took.
    pub fn timed_uv_version(&self) -> (Output, Duration) {
        let started = Instant::now();
        let output = run(self.env.uv().arg("--version"));
        (output, started.elapsed())
    }

    /// Starts `calls` calls of `uv <args>` through the shim, all at once, and
    /// waits for them: each with how long it took, and how long all took.
    /// Panics after a minute.
    #[track_caller]
    pub fn storm(&self, calls: usize, args: &[&str]) -> (Vec<(Output, Duration)>, Duration) {
        let started = Instant::now();
        let children: Vec<(Child, Instant)> = (0..calls)
            .map(|_| {
                let child = self
                    .env
                    .uv()
                    .args(args)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn uv");
                (child, Instant::now())
            })
            .collect();
        let waiters: Vec<_> = children
            .into_iter()
            .map(|(child, at)| {
                std::thread::spawn(move || {
                    let output = child.wait_with_output().expect("wait for uv");
                    (output, at.elapsed())
                })
            })
            .collect();
        let deadline = started + Duration::from_secs(60);
        let results = waiters
            .into_iter()
            .map(|waiter| {
                while !waiter.is_finished() {
                    assert!(
                        Instant::now() < deadline,
                        "the storm did not end within a minute"
                    );
                    std::thread::sleep(Duration::from_millis(10));
                }
                waiter.join().unwrap()
            })
            .collect();
        (results, started.elapsed())
    }

    /// Fills the cache with a good copy (one request, nothing said); returns
    /// its bytes.
    #[track_caller]
    pub fn seed(&self) -> Vec<u8> {
        let before = self.metadata_requests();
        quiet(&run(self.env.uv().arg("--version")));
        assert_eq!(self.metadata_requests(), before + 1);
        self.copy()
    }

    /// The mirror's good `download-metadata.json`, as published.
    pub fn good_document(&self) -> Vec<u8> {
        self.mirror().document()
    }

    /// The mirror publishes its document again (same bytes, new mtime, so a
    /// new ETag): a stale copy can no longer be confirmed with a 304, and a
    /// fault hits a full answer.
    pub fn republish(&self) {
        let path = self.mirror().dir.join("download-metadata.json");
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        let later = std::time::SystemTime::now() + Duration::from_secs(1);
        file.set_modified(later).unwrap();
    }

    /// The good document with one field of its only entry replaced, as a
    /// fault, and the entry's key.
    pub fn tampered(&self, field: &str, value: serde_json::Value) -> (Fault, String) {
        let mut doc: serde_json::Value = serde_json::from_slice(&self.good_document()).unwrap();
        let key = doc.as_object().unwrap().keys().next().unwrap().clone();
        doc[&key][field] = value;
        (Fault::Body(doc.to_string().into_bytes()), key)
    }

    /// The shim's cache dir.
    pub fn cache_dir(&self) -> &Path {
        &self.cache
    }

    /// Moves the cache dir to `dir` (`UV_SHIM_CACHE_DIR`).
    pub fn set_cache_dir(&mut self, dir: PathBuf) {
        self.env.set_env("UV_SHIM_CACHE_DIR", &dir);
        self.cache = dir;
    }

    /// Lets the cache dir default to `$XDG_CACHE_HOME/uv-shim` (`~/.cache/uv-shim`).
    #[cfg(target_os = "linux")]
    pub fn default_cache_dir(&mut self) {
        self.env.unset_env("UV_SHIM_CACHE_DIR");
        self.cache = self.env.home().join(".cache").join("uv-shim");
    }

    /// The cached metadata copy (there must be exactly one).
    #[track_caller]
    pub fn copy_path(&self) -> PathBuf {
        cache::metadata_copy(&self.cache)
    }

    /// The copy's state file.
    #[track_caller]
    pub fn state_path(&self) -> PathBuf {
        self.copy_path().with_extension("state")
    }

    /// The cached copy's bytes.
    #[track_caller]
    pub fn copy(&self) -> Vec<u8> {
        std::fs::read(self.copy_path()).unwrap()
    }

    /// How many entries the cached copy lists.
    #[track_caller]
    pub fn copy_entries(&self) -> usize {
        let value: serde_json::Value = serde_json::from_slice(&self.copy()).unwrap();
        value.as_object().unwrap().len()
    }

    /// Makes the copy an hour old ([`cache::expire`]).
    #[track_caller]
    pub fn expire(&self) {
        cache::expire(&self.cache);
    }

    /// Moves the copy's `fetched` time by `shift` seconds ([`cache::shift_fetched`]).
    #[track_caller]
    pub fn shift_fetched(&self, shift: i64) {
        cache::shift_fetched(&self.cache, shift);
    }

    /// Drops the warm path's remembered hand-overs.
    pub fn forget_warm_plans(&self) {
        cache::forget_warm_plans(&self.cache);
    }

    /// Forgets everything cached about the metadata (copy and remembered failure).
    pub fn forget_metadata(&self) {
        std::fs::remove_dir_all(self.cache.join("metadata")).unwrap();
    }

    /// The cached DNS answers ([`cache::dns_answers`]).
    pub fn dns_answers(&self) -> Vec<(PathBuf, String)> {
        cache::dns_answers(&self.cache)
    }

    /// Makes the cached DNS answers run out ([`cache::expire_dns_answers`]).
    pub fn expire_dns_answers(&self) {
        cache::expire_dns_answers(&self.cache);
    }

    /// What the real uv received from the shim ([`scene::seen_by_uv`]).
    #[track_caller]
    pub fn seen_by_uv(&self) -> SeenByUv {
        scene::seen_by_uv(&self.env)
    }

    /// The metadata file the shim hands uv (`UV_PYTHON_DOWNLOADS_JSON_URL`), if any.
    #[track_caller]
    pub fn handed_to_uv(&self) -> Option<PathBuf> {
        scene::handed_to_uv(&self.env)
    }

    /// `uv python install` of the mirror's build through the shim, and what
    /// a successful one leaves: one metadata request from the shim, one
    /// tarball request from uv, the Python in place. `label` names the case
    /// in failure messages.
    #[track_caller]
    pub fn install_from_mirror(&self, label: &str) {
        let mirror = self.mirror();
        let output = run(self.env.uv().args(["python", "install", &mirror.version()]));
        assert_success(&output);
        assert_eq!(mirror.metadata_requests(), 1, "{label}");
        mirror.assert_build_installed(&self.env, label);
    }

    /// Runs `uv-shim doctor --json` and returns its report.
    #[track_caller]
    pub fn doctor(&self) -> Report {
        let output = run(self.env.shim().args(["doctor", "--json"]));
        let json = serde_json::from_str(&stdout(&output)).unwrap_or_else(|e| {
            panic!(
                "doctor --json printed no JSON ({e}):\n{}\n{}",
                stdout(&output),
                stderr(&output)
            )
        });
        Report { json, output }
    }
}

impl WorldBuilder {
    /// The real uv `version` (installed from PyPI on first use), its folder on
    /// `PATH` after the shim's.
    pub fn real_uv(mut self, version: &str) -> Self {
        self.env.set_real_uv(real_uv(version));
        self.real_uv = Some(version.to_owned());
        self
    }

    /// Another build of the shim under test ([`TestEnv::use_shim`]).
    pub fn shim_binary(mut self, binary: impl Into<PathBuf>) -> Self {
        self.env.use_shim(binary);
        self
    }

    /// A real uv at `path` (nothing installed or checked): its folder on
    /// `PATH` after the shim's.
    pub fn real_uv_at(mut self, path: impl Into<PathBuf>) -> Self {
        self.env.set_real_uv(path);
        self
    }

    /// Adds (or overrides) a variable for every command.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env.set_env(key, value);
        self
    }

    /// Leaves a variable out of every command, even one of the defaults.
    pub fn without_env(mut self, key: impl AsRef<OsStr>) -> Self {
        self.env.unset_env(key);
        self
    }

    /// The shim's time limit for one call's network work (`UV_SHIM_HTTP_TIMEOUT`).
    pub fn http_timeout(self, limit: &str) -> Self {
        self.env(HTTP_TIMEOUT, limit)
    }

    /// The shim's default time limits instead of a short one.
    pub fn default_http_timeout(self) -> Self {
        self.without_env(HTTP_TIMEOUT)
    }

    /// A mirror holding one build of the host's Python under `/uv/` of a
    /// harness server serving `www/`; its metadata has relative URLs.
    pub fn mirror(mut self) -> Self {
        self.mirror = Some(Links::Relative);
        self
    }

    /// Like [`WorldBuilder::mirror`], with a build for `platform` instead of
    /// the host's (for a uv of another architecture).
    pub fn mirror_for(mut self, platform: Host) -> Self {
        self.platform = Some(platform);
        self.mirror()
    }

    /// Like [`WorldBuilder::mirror`], with absolute URLs in the metadata.
    pub fn mirror_with_absolute_urls(mut self) -> Self {
        self.mirror = Some(Links::Absolute);
        self
    }

    /// The system config names the mirror (`mirror = "…"`).
    pub fn named_in_system_config(mut self) -> Self {
        self.named = true;
        self
    }

    /// The mirror's document is served by a [`Bare`] server instead, and the
    /// system config names that one.
    #[cfg(target_os = "linux")]
    pub fn served_by_bare(mut self) -> Self {
        self.bare = true;
        self.named_in_system_config()
    }

    /// A DNS server on 127.0.0.1 that the shim asks (`UV_SHIM_DNS_SERVER`)
    /// about the `pinned` domains (`UV_SHIM_DNS_DOMAINS`); the resolv.conf
    /// has no search list. Metadata fetches from mirrors that do not exist
    /// are bounded by a 2 s time limit.
    pub fn dns(mut self, pinned: &[&str]) -> Self {
        self.dns = Some(Domains::Pinned(
            pinned.iter().map(|d| d.to_string()).collect(),
        ));
        self.http_timeout("2s")
    }

    /// Like [`WorldBuilder::dns`], but nothing is pinned: the resolv.conf's
    /// search list is `search`, as a DHCP server would hand it out. The shim
    /// asks about it only when the system config says `dns-search = true`
    /// ([`super::dns::TRUST_SEARCH_LIST`]).
    pub fn dns_search_list(mut self, search: &[&str]) -> Self {
        self.dns = Some(Domains::SearchList(
            search.iter().map(|d| d.to_string()).collect(),
        ));
        self.http_timeout("2s")
    }

    /// Starts the servers and writes the files.
    #[track_caller]
    pub fn build(self) -> World {
        let WorldBuilder {
            mut env,
            real_uv,
            mirror,
            platform,
            named,
            dns,
            #[cfg(target_os = "linux")]
            bare,
        } = self;
        let mirror = mirror.map(|links| {
            let www = env.root().join("www");
            match (links, platform) {
                (Links::Relative, None) => Mirror::relative(www, "uv"),
                (Links::Relative, Some(platform)) => Mirror::relative_for(www, "uv", platform),
                (Links::Absolute, None) => Mirror::absolute(www, "uv"),
                (Links::Absolute, Some(_)) => {
                    panic!("a mirror for another platform has relative URLs")
                }
            }
        });
        #[cfg(target_os = "linux")]
        let bare = bare.then(|| {
            let mirror = mirror.as_ref().expect("a bare server serves the mirror");
            Bare::start(mirror.document())
        });
        let dns = dns.map(|domains| domains.serve(&mut env));
        let cache = env.cache_dir();
        let world = World {
            env,
            real_uv,
            mirror,
            dns,
            #[cfg(target_os = "linux")]
            bare,
            cache,
        };
        if named {
            let base = world.mirror_base();
            world
                .env
                .write_system_config(&format!("mirror = \"{base}\"\n"));
        }
        world
    }
}
