//! Embeds the built-in config: `UV_SHIM_BUILTIN_CONFIG=path cargo build`
//! puts that TOML file into the binary as the lowest settings layer, for a
//! golden binary shipped into places with no config file at all. The file
//! is checked here (TOML, known keys), so a broken one fails the build, not
//! every `uv` call. Without the variable the binary has no built-in config.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

include!("build/config_keys.rs");

/// The variable naming the file (listed in `src/env_vars.rs`).
const VAR: &str = "UV_SHIM_BUILTIN_CONFIG";

fn main() {
    println!("cargo:rerun-if-env-changed={VAR}");
    println!("cargo:rerun-if-changed=build/config_keys.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let (code, id) = match std::env::var_os(VAR).filter(|v| !v.is_empty()) {
        None => (
            "/// No built-in config: built without UV_SHIM_BUILTIN_CONFIG.\n\
             pub const EMBEDDED: Option<(&str, &str)> = None;\n"
                .to_string(),
            "none".to_string(),
        ),
        Some(file) => embed(Path::new(&file)),
    };
    std::fs::write(out.join("builtin_config.rs"), code).expect("write OUT_DIR/builtin_config.rs");
    // Part of the warm plan's format: a binary with another built-in config
    // never takes a plan made by this one.
    println!("cargo:rustc-env=UV_SHIM_BUILTIN_ID={id}");
}

/// The generated code for `file`, and a short identity of its text.
fn embed(file: &Path) -> (String, String) {
    // A build script runs in the package's folder: a relative path is taken from there.
    let file = std::fs::canonicalize(file).unwrap_or_else(|err| {
        fail(&format!(
            "{VAR}={}: cannot open it ({err}); give an absolute path (a relative one is taken from the uv-shim checkout)",
            file.display()
        ))
    });
    println!("cargo:rerun-if-changed={}", file.display());
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|err| fail(&format!("{VAR}={}: cannot read it: {err}", file.display())));
    let table: toml::Table = toml::from_str(&text).unwrap_or_else(|err| {
        fail(&format!(
            "{VAR}={} is not valid TOML:\n{err}",
            file.display()
        ))
    });
    for key in table.keys() {
        if !CONFIG_KEYS.contains(&key.as_str()) {
            fail(&format!(
                "{VAR}={}: `{key}` is not a key of the shim's config (known: {})",
                file.display(),
                CONFIG_KEYS.join(", ")
            ));
        }
    }
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut hash = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut hash);
    let code = format!(
        "/// The built-in config: the file's name and its text, embedded at build time.\n\
         pub const EMBEDDED: Option<(&str, &str)> = Some(({name:?}, include_str!({path:?})));\n",
        path = file.display().to_string(),
    );
    (code, format!("{:016x}", hash.finish()))
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
