//! The faces of the one binary, chosen by the name it was started under:
//! [`uv`] (invisible, hands every call to the real uv) and [`cli`] (the
//! `uv-shim` tool: `doctor`, `env`, `refresh`, `exec`, `mirror`).

pub mod cli;
pub mod doctor;
pub mod shell;
pub mod uv;
