//! The built-in config: a config file embedded at build time
//! (`UV_SHIM_BUILTIN_CONFIG=path cargo build`, see `build.rs`), the lowest
//! settings layer, with the same keys and the same rights as the system
//! file. Compiled in, it is no file the warm path needs to watch: a binary
//! built with another one has another warm-plan format (`UV_SHIM_BUILTIN_ID`).

include!(concat!(env!("OUT_DIR"), "/builtin_config.rs"));

/// The embedded config file.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// The name of the file it was embedded from (the name only, no folder).
    pub name: &'static str,
    /// Its text.
    pub text: &'static str,
}

/// The built-in config of this binary, if it was built with one.
pub fn builtin() -> Option<Builtin> {
    EMBEDDED.map(|(name, text)| Builtin { name, text })
}
