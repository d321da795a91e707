//! The faces of the one binary, chosen by the name it was started under:
//! [`uv`] (invisible, hands every call to the real uv) and [`cli`] (the
//! `uv-shim` tool: `doctor`, `env`, `refresh`, `exec`, `mirror`), and [`generate`] (completions and man pages
//! for the release artifacts).

pub mod cli;
pub mod doctor;
pub mod generate;
pub mod shell;
pub mod uv;
