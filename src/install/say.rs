//! How install and uninstall tell the user what they did: one line each,
//! on stdout, under the program's name.

/// Prints one line of what install or uninstall did.
pub fn say(line: &str) {
    println!("uv-shim: {line}");
}
