//! The last stage: handing the call to the real uv. Choose the program for
//! the face the shim was started under ([`face`]: uv, or uvx). Find it
//! ([`real_uv`], telling uv from other uv-shims with [`uv_version`]), remember the hand-over for the next call ([`warm`]), and
//! start it with the decided variables ([`exec`]).

pub mod exec;
pub mod face;
pub mod real_uv;
pub mod uv_version;
pub mod warm;
#[cfg(windows)]
mod windows;
