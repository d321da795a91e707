//! Keeps credentials out of everything the shim prints.
//!
//! A mirror URL may carry `user:token@` for basic auth. Every message, log
//! line and report passes URLs through [`url`] (or free text through
//! [`text`]) before it is shown.

/// Replaces the user-info part of a URL (`user:pass@`, or a bare token `tok@`) with `****`.
///
/// Strings that are not URLs come back unchanged.
pub fn url(raw: &str) -> String {
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

/// Redacts every URL found in free text (error messages from libraries quote URLs).
pub fn text(message: &str) -> String {
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
        out.push_str(&url(&rest[start..end]));
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
    fn redacts_urls_inside_text() {
        assert_eq!(
            text("error sending request for url (https://u:p@h.example/x.json): refused"),
            "error sending request for url (https://****@h.example/x.json): refused"
        );
    }
}
