//! Rendering variables for `uv-shim env`, quoted for each shell so that
//! `eval` never runs anything that came from a mirror or a DNS answer.

use clap::ValueEnum;

/// Output syntax of `env`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// POSIX sh, bash, zsh.
    Sh,
    /// fish.
    Fish,
    /// PowerShell.
    Powershell,
    /// A JSON object.
    Json,
}

impl Shell {
    /// The shell of this platform: PowerShell on Windows, sh elsewhere.
    pub fn native() -> Shell {
        if cfg!(windows) {
            Shell::Powershell
        } else {
            Shell::Sh
        }
    }
}

/// The variables as `shell` source text.
pub fn render(shell: Shell, vars: &[(&str, String)]) -> String {
    match shell {
        Shell::Sh => vars
            .iter()
            .map(|(name, value)| format!("export {name}={}\n", sh_quote(value)))
            .collect(),
        Shell::Fish => vars
            .iter()
            .map(|(name, value)| format!("set -gx {name} {}\n", fish_quote(value)))
            .collect(),
        Shell::Powershell => vars
            .iter()
            .map(|(name, value)| format!("$env:{name} = {}\n", powershell_quote(value)))
            .collect(),
        Shell::Json => {
            let map: serde_json::Map<String, serde_json::Value> = vars
                .iter()
                .map(|(name, value)| (name.to_string(), serde_json::Value::String(value.clone())))
                .collect();
            format!("{}\n", serde_json::Value::Object(map))
        }
    }
}

fn sh_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// A PowerShell verbatim string: nothing inside is expanded, and a quote
/// is doubled. PowerShell takes the typographic single quotes (U+2018 to
/// U+201B) for `'` too, so they are doubled as well.
fn powershell_quote(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for c in value.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            quoted.push(c);
        }
        quoted.push(c);
    }
    quoted.push('\'');
    quoted
}

fn fish_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', r"\\").replace('\'', r"\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_hostile_values() {
        let vars = [(
            "UV_DEFAULT_INDEX",
            "https://x.example/'; rm -rf / #".to_string(),
        )];
        assert_eq!(
            render(Shell::Sh, &vars),
            "export UV_DEFAULT_INDEX='https://x.example/'\\''; rm -rf / #'\n"
        );
        assert_eq!(
            render(Shell::Fish, &vars),
            "set -gx UV_DEFAULT_INDEX 'https://x.example/\\'; rm -rf / #'\n"
        );
        assert_eq!(
            render(Shell::Powershell, &vars),
            "$env:UV_DEFAULT_INDEX = 'https://x.example/''; rm -rf / #'\n"
        );
        // A Windows path with a space and quotes, one of them typographic.
        let path = [(
            "UV_PYTHON_DOWNLOADS_JSON_URL",
            "C:\\Users\\O'Brien\\App Data\\it\u{2019}s $HOME `x`.json".to_string(),
        )];
        assert_eq!(
            render(Shell::Powershell, &path),
            "$env:UV_PYTHON_DOWNLOADS_JSON_URL = 'C:\\Users\\O''Brien\\App Data\\it\u{2019}\u{2019}s $HOME `x`.json'\n"
        );
        let json: serde_json::Value = serde_json::from_str(&render(Shell::Json, &vars)).unwrap();
        assert_eq!(json["UV_DEFAULT_INDEX"], "https://x.example/'; rm -rf / #");
    }
}
