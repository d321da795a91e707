//! Mirror credentials from a netrc file, found and sent the way uv does, so
//! a mirror that uv can read is one the shim can read.
//!
//! * Where: the file named by `NETRC` if it exists, else `~/.netrc`
//!   (on Windows `%USERPROFILE%\.netrc` or `_netrc`).
//! * Which entry: the `machine` named like the URL's host, else `default`;
//!   when the URL names a user, only an entry with that `login` counts.
//! * When: a password in the URL wins and the netrc is not read for it; a
//!   URL with only a user name gets the netrc's password at once; a URL
//!   without credentials is asked without them first and again with them
//!   after a 401, 403 or 404 (so no credentials go to a server that does
//!   not want them). Once a host wanted them, later requests to it send them
//!   at once.
//!
//! The file is read only when something is fetched (never on a warm call),
//! and nothing read from it is ever printed: errors name the file and the
//! line, not the token.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use reqwest::blocking::{Request, RequestBuilder, Response};
use reqwest::header::AUTHORIZATION;
use url::Url;

use crate::env_vars::{EnvVars, Lookup};

/// Where a netrc file may be, in the order uv looks: `NETRC`, then the home folder.
pub fn candidates(env: Lookup) -> Vec<PathBuf> {
    let home = env(EnvVars::HOME).map(PathBuf::from);
    let mut places = Vec::new();
    if let Some(named) = env(EnvVars::NETRC) {
        // uv expands a leading `~` of NETRC.
        let expanded = match (named.strip_prefix("~/"), &home) {
            (Some(rest), Some(home)) => home.join(rest),
            _ => PathBuf::from(named),
        };
        places.push(expanded);
    }
    if cfg!(windows) {
        if let Some(profile) = env(EnvVars::USERPROFILE).map(PathBuf::from) {
            places.push(profile.join(".netrc"));
            places.push(profile.join("_netrc"));
        }
    } else if let Some(home) = home {
        places.push(home.join(".netrc"));
    }
    places
}

/// One login.
struct Login {
    login: String,
    password: String,
}

/// Credentials for the mirrors: a netrc file (if any), and which hosts
/// wanted them. Its `Debug` shows the file, never what is in it.
pub struct Auth {
    /// The file read.
    path: Option<PathBuf>,
    /// Its entries by machine name (`default` included).
    hosts: HashMap<String, Login>,
    /// Why the file could not be used, if it could not (no secrets in it).
    problem: Option<String>,
    /// Hosts (`scheme://host:port`) that answered 401/403/404 without credentials.
    wanted: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("path", &self.path)
            .field("machines", &self.hosts.len())
            .field("problem", &self.problem)
            .finish()
    }
}

impl Auth {
    /// No netrc: only credentials in URLs.
    pub fn none() -> Auth {
        Auth {
            path: None,
            hosts: HashMap::new(),
            problem: None,
            wanted: Mutex::default(),
        }
    }

    /// Reads the first of `candidates` that exists. A file that cannot be
    /// read or parsed gives no credentials, and says why in
    /// [`Auth::refused_hint`] (and in a debug line), as uv only warns too.
    pub fn load(candidates: &[PathBuf]) -> Auth {
        let Some(path) = candidates.iter().find(|p| p.is_file()) else {
            return Auth::none();
        };
        let mut auth = Auth {
            path: Some(path.clone()),
            ..Auth::none()
        };
        match read(path) {
            Ok(hosts) => auth.hosts = hosts,
            Err(problem) => {
                crate::log::debug(|| problem.clone());
                auth.problem = Some(problem);
            }
        }
        auth
    }

    /// The login for `url`: its host's entry, else `default`; when the URL
    /// names a user, only an entry with that login.
    fn login_for(&self, url: &Url) -> Option<&Login> {
        let entry = self
            .hosts
            .get(url.host_str()?)
            .or_else(|| self.hosts.get("default"))?;
        let user = url.username();
        (user.is_empty() || user == entry.login).then_some(entry)
    }

    /// Sends `request` (built for `url`), adding netrc credentials the way uv does.
    pub fn send(&self, request: RequestBuilder, url: &Url) -> reqwest::Result<Response> {
        let (client, request) = request.build_split();
        let request = request?;
        if url.password().is_some() {
            // The URL's own credentials (reqwest sends them) win.
            return client.execute(request);
        }
        let Some(login) = self.login_for(url) else {
            return client.execute(request);
        };
        let realm = realm(url);
        let wanted = self
            .wanted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&realm);
        if !url.username().is_empty() || wanted {
            return client.execute(with_login(&client, request, login)?);
        }
        let retry = request.try_clone();
        let response = client.execute(request)?;
        match (response.status().as_u16(), retry) {
            (401 | 403 | 404, Some(retry)) => {
                self.wanted
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(realm);
                client.execute(with_login(&client, retry, login)?)
            }
            _ => Ok(response),
        }
    }

    /// What to add to "answered HTTP `status`" for `url`: how to give
    /// credentials, or that the ones given were refused. Never the credentials.
    pub fn refused_hint(&self, url: &Url, status: u16) -> String {
        if !matches!(status, 401 | 403) {
            return String::new();
        }
        if url.password().is_some() {
            return "; the credentials in the URL were refused".into();
        }
        let host = url.host_str().unwrap_or("the host");
        match (&self.path, self.login_for(url), &self.problem) {
            (Some(path), Some(_), _) => format!(
                "; the credentials for {host} in {} were refused",
                path.display()
            ),
            (Some(path), None, Some(problem)) => {
                format!("; {} could not be used: {problem}", path.display())
            }
            _ => format!(
                "; if the mirror needs credentials, put them in the URL or in a netrc file ({} or ~/.netrc: `machine {host} login USER password SECRET`), which uv reads too",
                EnvVars::NETRC
            ),
        }
    }
}

/// Reads and parses a netrc file; the error names the file and line only.
fn read(path: &Path) -> Result<HashMap<String, Login>, String> {
    let parsed = netrc::Netrc::from_file(path).map_err(|err| match err {
        netrc::Error::Io(err) => format!("cannot read {}: {err}", path.display()),
        // The parser quotes the token it choked on, which may be part of a
        // password: say where only.
        netrc::Error::Parsing { parser, .. } => {
            // Only the line number is kept from its message ("... (line N)").
            let text = parser.to_string();
            let line = text
                .rsplit_once("(line ")
                .and_then(|(_, rest)| rest.strip_suffix(')'))
                .unwrap_or("?");
            format!("{}:{line}: not a valid netrc entry", path.display())
        }
    })?;
    Ok(parsed
        .hosts
        .into_iter()
        .map(|(host, entry)| {
            let login = Login {
                login: entry.login,
                password: entry.password,
            };
            (host, login)
        })
        .collect())
}

/// `scheme://host:port`, the unit a server's wish for credentials applies to.
fn realm(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or_default()
    )
}

/// `request` with `login` as its basic credentials (replacing a user-only one).
fn with_login(
    client: &reqwest::blocking::Client,
    mut request: Request,
    login: &Login,
) -> reqwest::Result<Request> {
    request.headers_mut().remove(AUTHORIZATION);
    RequestBuilder::from_parts(client.clone(), request)
        .basic_auth(&login.login, Some(&login.password))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(text: &str) -> (tempfile::TempDir, Auth) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("netrc");
        std::fs::write(&path, text).unwrap();
        let auth = Auth::load(&[dir.path().join("missing"), path]);
        (dir, auth)
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn the_host_entry_wins_over_default_and_a_named_user_must_match() {
        let (_dir, auth) =
            auth("machine m.example login ann password one\ndefault login bob password two\n");
        let login = |u: &str| auth.login_for(&url(u)).map(|l| l.login.as_str());
        assert_eq!(login("https://m.example/uv/"), Some("ann"));
        assert_eq!(login("https://other.example/uv/"), Some("bob"));
        assert_eq!(login("https://ann@m.example/uv/"), Some("ann"));
        assert_eq!(login("https://carl@m.example/uv/"), None);
    }

    #[test]
    fn netrc_comes_first_then_home() {
        let env = |name: &str| match name {
            "NETRC" => Some("~/creds/netrc".to_string()),
            "HOME" => Some("/home/ann".to_string()),
            _ => None,
        };
        let places = candidates(&env);
        assert_eq!(places[0], PathBuf::from("/home/ann/creds/netrc"));
        if cfg!(unix) {
            assert_eq!(places[1], PathBuf::from("/home/ann/.netrc"));
        }
    }

    #[test]
    fn a_broken_file_names_its_line_but_no_token() {
        // (The parser counts the line after the token it choked on, so the
        // token stands on the last line here.)
        let (_dir, auth) = auth("machine m.example login ann password one two");
        let problem = auth.problem.clone().unwrap();
        assert!(problem.contains(":1: not a valid netrc entry"), "{problem}");
        assert!(!problem.contains("two"), "{problem}");
        let hint = auth.refused_hint(&url("https://m.example/uv/"), 401);
        assert!(hint.contains("could not be used"), "{hint}");
        assert!(!format!("{auth:?}").contains("one"));
    }

    #[test]
    fn hints_never_show_credentials() {
        let (_dir, auth) = auth("machine m.example login ann password s3cret\n");
        let hint = auth.refused_hint(&url("https://m.example/uv/"), 401);
        assert!(
            hint.contains("were refused") && !hint.contains("s3cret"),
            "{hint}"
        );
        let hint = Auth::none().refused_hint(&url("https://m.example/uv/"), 403);
        assert!(hint.contains("machine m.example login USER"), "{hint}");
        assert_eq!(
            Auth::none().refused_hint(&url("https://m.example/"), 500),
            ""
        );
        let hint = auth.refused_hint(&url("https://u:pw@m.example/"), 401);
        assert!(
            hint.contains("in the URL") && !hint.contains("pw"),
            "{hint}"
        );
    }
}
