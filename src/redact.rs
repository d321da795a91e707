//! Makes anything the shim prints safe to show: credentials hidden, control
//! characters escaped.
//!
//! A mirror URL may carry `user:token@` for basic auth, and much of what the
//! shim prints came from the network or a mirror (metadata keys, DNS
//! records, URLs, file names), where a terminal escape sequence can clear
//! the screen, retitle the window or forge a line of output. Every message,
//! log line and report passes URLs through [`url`] (or free text through
//! [`text`]) before it is shown; both end in [`controls`], the one place
//! control characters are escaped.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Replaces the user-info part of a URL (`user:pass@`, or a bare token
/// `tok@`) with `****`, and escapes control characters ([`controls`]).
///
/// Strings that are not URLs come back with only the escaping.
pub fn url(raw: &str) -> String {
    controls(&hide_userinfo(raw)).into_owned()
}

/// Redacts every URL found in free text (error messages from libraries
/// quote URLs) and escapes control characters ([`controls`]).
pub fn text(message: &str) -> String {
    controls(&hide_userinfo_in_text(message)).into_owned()
}

/// Escapes every character a terminal could act on: the C0 controls (line
/// breaks and tabs included: a message is one line), DEL, the C1 controls
/// (`\u{9b}` starts an escape sequence on some terminals) and the
/// bidirectional overrides that reorder what is shown. ASCII ones become
/// `\xHH` (the form DNS records are shown in), the others `\u{HHHH}`.
/// Everything else, backslashes included, is left as it is, so escaping
/// twice changes nothing.
pub fn controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !needs_escape(c) {
            out.push(c);
        } else if c.is_ascii() {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        } else {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn hide_userinfo(raw: &str) -> String {
    let Some(scheme_end) = raw.find("://") else {
        return raw.to_string();
    };
    let rest = &raw[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => format!(
            "{}****@{}{}",
            &raw[..scheme_end + 3],
            &authority[at + 1..],
            &rest[authority_end..]
        ),
        None => raw.to_string(),
    }
}

fn hide_userinfo_in_text(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(pos) = rest.find("://") {
        // Walk back to the start of the scheme.
        let start = rest[..pos]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.'))
            .map_or(0, |i| i + 1);
        let end = rest[pos..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ')' || c == '>')
            .map_or(rest.len(), |i| pos + i);
        out.push_str(&rest[..start]);
        out.push_str(&hide_userinfo(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_user_and_password() {
        assert_eq!(
            url("https://alice:s3cret@mirror.example/uv/"),
            "https://****@mirror.example/uv/"
        );
    }

    #[test]
    fn hides_bare_token() {
        assert_eq!(url("https://tok@h.example"), "https://****@h.example");
    }

    #[test]
    fn leaves_plain_urls_and_paths() {
        assert_eq!(url("https://h.example/a@b"), "https://h.example/a@b");
        assert_eq!(url("/etc/uv/x.json"), "/etc/uv/x.json");
    }

    #[test]
    fn escapes_control_characters_once() {
        let hostile = "key cpython-\u{1b}[2J\u{1b}]0;owned\u{7}\r\nuv-shim: fake\tline\u{7f}\u{9b}31m \u{202e}txt.exe";
        let shown = controls(hostile);
        assert_eq!(
            shown,
            "key cpython-\\x1b[2J\\x1b]0;owned\\x07\\x0d\\x0auv-shim: fake\\x09line\\x7f\\u{9b}31m \\u{202e}txt.exe"
        );
        assert!(!shown.chars().any(needs_escape));
        assert_eq!(controls(&shown), shown, "escaping twice changes nothing");
        // Printable text, backslashes and non-ASCII letters are left alone, unallocated.
        assert!(matches!(controls("C:\\uv ünïcode 🐍"), Cow::Borrowed(_)));
    }

    #[test]
    fn urls_and_text_are_escaped_too() {
        assert_eq!(
            url("https://u:p@h.example/\u{1b}[31m"),
            "https://****@h.example/\\x1b[31m"
        );
        assert_eq!(
            text("bad entry `a\u{1b}[2Jb` at https://u:p@h.example/x"),
            "bad entry `a\\x1b[2Jb` at https://****@h.example/x"
        );
    }

    #[test]
    fn redacts_urls_inside_text() {
        assert_eq!(
            text("error sending request for url (https://u:p@h.example/x.json): refused"),
            "error sending request for url (https://****@h.example/x.json): refused"
        );
    }
}
