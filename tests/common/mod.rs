//! Shared harness for the integration tests.
//!
//! The one integration-test binary (`tests/it/main.rs`) compiles this once, as
//! its `common` module, and every story module uses the parts it needs, so
//! each test reads like a story:
//!
//! * [`cache`]: the shim's cache as a test sees it: the metadata copy, ageing it.
//! * [`dns`]: a real DNS server on `127.0.0.1` with a query log.
//! * [`env`]: a throw-away home, config, cache and `/etc/uv` for one test, and
//!   commands aimed at the built shim (as `uv` and as `uv-shim`).
//! * [`http`]: a real HTTP/1.1 server on `127.0.0.1` with a request log and
//!   fault injection (stalls, truncation, error statuses, …).
//! * [`mirror`]: a crafted Python mirror (tarballs plus
//!   `download-metadata.json`) that the real uv accepts.
//! * [`nginx`]: a real nginx on `127.0.0.1`, installed when missing.
//! * [`scene`]: the usual start (real uv, a one-build mirror named by the
//!   system config) and the one-warning assertion.
//! * [`skip`]: a test that cannot run here fails under CI and is a visible
//!   skip elsewhere ([`require_root`], [`skip()`]).
//! * [`uv`]: the real uv, installed once from PyPI with pip.
//!
//! Nothing here reaches beyond `127.0.0.1`, except [`uv::real_uv`], which asks
//! pip for the `uv` wheel.

pub mod cache;
pub mod dns;
pub mod env;
pub mod http;
pub mod mirror;
pub mod nginx;
pub mod scene;
pub mod skip;
pub mod uv;

pub use skip::{require_root, skip};
