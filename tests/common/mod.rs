//! Shared harness for the integration tests.
//!
//! The one integration-test binary (`tests/it/main.rs`) compiles this once, as
//! its `common` module, and every story module uses the parts it needs, so
//! each test reads like a story:
//!
//! * [`world`]: **the start of every story**: [`World::builder`] (or the usual
//!   [`World::scene`]) adds the real uv, a served mirror, the config naming
//!   it, a DNS server; the [`World`] then shows what stories look at.
//! * [`aarch64`]: the shim built for aarch64 (musl) and the real aarch64 uv,
//!   run under qemu-user through binfmt_misc (x86_64 Linux), set up once.
//! * [`bare`]: a bare HTTP server for faults the harness server cannot show
//!   (a closed port, a connect that never completes, an endless body).
//! * [`builtin`]: a golden binary, uv-shim built once with a built-in
//!   config naming a `file://` mirror, cached under the target folder.
//! * [`cache`]: the shim's cache as a test sees it: the metadata copy, ageing
//!   it, the cached DNS answers.
//! * [`debian`]: Debian packages the stories need, installed when missing.
//! * [`dist`]: the release artifacts of `scripts/dist.sh`, built once per
//!   machine, and readers for what is inside them (tarballs, zips, ELF/PE headers).
//! * [`dpkg_root`]: a throw-away Debian root to install a `.deb` into with
//!   `dpkg --root` (root).
//! * [`dns`]: a real DNS server on `127.0.0.1` with a query log.
//! * [`doctor`]: what `uv-shim doctor --json` said.
//! * [`env`]: a throw-away home, config, cache and `/etc/uv` for one test, and
//!   commands aimed at the built shim (as `uv` and as `uv-shim`).
//! * [`http`]: a real HTTP/1.1 server on `127.0.0.1` with a request log and
//!   fault injection (stalls, truncation, error statuses, …).
//! * [`mirror`]: a crafted Python mirror (tarballs plus
//!   `download-metadata.json`) that the real uv accepts.
//! * [`minisign`]: the `minisign` tool, installed when missing.
//! * [`mounts`]: tmpfs mounts for an unwritable or a full disk (root).
//! * [`nginx`]: a real nginx on `127.0.0.1`, installed when missing.
//! * [`silent_resolver`]: a system resolver that never answers, put into
//!   `/etc/resolv.conf` of one command's own mount namespace (Linux, root).
//! * [`scene`]: a served one-build mirror, what the real uv received from the
//!   shim ([`scene::seen_by_uv`]), and the one-warning assertion.
//! * [`skip`]: a test that cannot run here fails under CI and is a visible
//!   skip elsewhere ([`require_root`], [`skip()`]).
//! * [`tls`]: a CA the test makes, a TLS and basic-auth front door for a
//!   harness server, and the system store with that CA inside a mount
//!   namespace (root).
//! * [`sync`]: driving `uv-shim mirror sync` / `verify`, reading the mirror.
//! * [`tree`]: a folder as a listing (names, modes, owners, link targets,
//!   content hashes) to compare before and after.
//! * [`upstream`]: a fake upstream of generated downloads for `mirror sync`.
//! * [`users`]: other local users (`setpriv`) and the umask, for shared
//!   machines and for who can read what the shim writes.
//! * [`uv`]: the real uv, installed once from PyPI with pip.
//! * [`wine`]: the Windows build of the shim, a wine prefix and the real
//!   `uv.exe` from PyPI's `win_amd64` wheel; [`wine_scene`]: the folders
//!   and the mirror of the Windows story.
//!
//! Nothing here reaches beyond `127.0.0.1`, except [`uv::real_uv`] and
//! [`uv::foreign_uv`] and [`wine`], which ask pip for a `uv` wheel, and the
//! one-time installs of test tools (apt-get, `rustup target add`, cargo
//! fetching the locked crates for the cross builds).

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod aarch64;
#[cfg(target_os = "linux")]
pub mod bare;
pub mod builtin;
pub mod bundle;
pub mod cache;
pub mod debian;
pub mod dist;
pub mod dns;
pub mod doctor;
#[cfg(unix)]
pub mod dpkg_root;
pub mod env;
pub mod http;
#[cfg(unix)]
pub mod minisign;
pub mod mirror;
#[cfg(target_os = "linux")]
pub mod mounts;
pub mod nginx;
pub mod scene;
#[cfg(target_os = "linux")]
pub mod silent_resolver;
pub mod skip;
pub mod sync;
pub mod tls;
#[cfg(unix)]
pub mod tree;
pub mod upstream;
#[cfg(unix)]
pub mod users;
pub mod uv;
#[cfg(target_os = "linux")]
pub mod wine;
#[cfg(target_os = "linux")]
pub mod wine_scene;
pub mod world;

pub use skip::{require_root, skip};
pub use world::World;
