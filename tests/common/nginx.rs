//! A real nginx on `127.0.0.1`, started by the test itself (no system service).
//!
//! [`nginx`] finds the binary, installing the Debian package `nginx` with
//! `apt-get` when it is missing (once per machine: parallel tests wait on a
//! file lock beside the other test tools; `apt-get update` only when the
//! first install attempt fails). The package would start the system service
//! on port 80; unless a `policy-rc.d` already forbids that (as in Docker
//! images), one is put in place for the install and removed after. Installing
//! needs root: without it, and without nginx, the caller skips
//! ([`super::skip`]).
//!
//! [`Nginx::start`] runs `nginx -p <dir> -c <dir>/nginx.conf` in the
//! foreground, with its own config, pid file, logs and temp paths in a
//! temporary directory, serving a folder at `/` on an ephemeral port. As a
//! real deployment does, a master process (root, when the tests run as
//! root) serves through a worker running as the unprivileged `nobody`
//! ([`Nginx::workers`]), so a file that only its owner may read is a 403
//! here too; the folders above the served one are opened to others
//! (`o+x`, [`super::users::let_others_through`]), the served tree is left
//! as the program under test wrote it. The access log has one tab-separated
//! line per request ([`Hit`]), so a test can see conditional requests and
//! the exact request targets. Dropping the value kills nginx (master and
//! worker: its own process group).

#![cfg(unix)]

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::users::Account;

/// Where the Debian package puts the binary.
const DEBIAN_NGINX: &str = "/usr/sbin/nginx";

/// The nginx binary, installing the package when missing; `Err` says why
/// there is none (the caller skips with that message).
pub fn nginx() -> Result<PathBuf, String> {
    super::debian::tool("nginx", "nginx", DEBIAN_NGINX)
}

/// One line of the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// `GET`, `HEAD`, …
    pub method: String,
    /// The request target exactly as sent (`%2B` stays `%2B`).
    pub uri: String,
    /// The status answered.
    pub status: u16,
    /// The `If-None-Match` header sent, if any.
    pub if_none_match: Option<String>,
    /// The `ETag` answered, if any.
    pub etag: Option<String>,
}

/// A running nginx; killed on drop.
#[derive(Debug)]
pub struct Nginx {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    workers: Option<Account>,
}

impl Nginx {
    /// Serves the files under `root` at `/` on `127.0.0.1:<free port>`,
    /// through a worker running as `nobody` when the tests run as root.
    /// Panics, with nginx's error log, if it does not come up within 10 s.
    pub fn start(binary: &Path, root: &Path) -> Nginx {
        let dir = tempfile::Builder::new()
            .prefix("uv-shim-nginx-")
            .tempdir()
            .expect("temp dir");
        let prefix = dir.path();
        for sub in ["logs", "tmp"] {
            fs::create_dir_all(prefix.join(sub)).unwrap();
        }
        let port = free_port();
        // Only root can hand the workers to another user; nginx ignores the
        // directive (with a warning) otherwise.
        // SAFETY: geteuid has no preconditions.
        let workers = (unsafe { libc::geteuid() } == 0).then(super::users::nobody);
        let user = match &workers {
            Some(account) => {
                super::users::let_others_through(root);
                format!("user {} {};\n", account.name, account.group)
            }
            None => String::new(),
        };
        let config = format!(
            r#"daemon off;
master_process on;
{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 64; }}
http {{
    log_format hits escape=none "$request_method\t$request_uri\t$status\t$http_if_none_match\t$sent_http_etag";
    access_log {prefix}/logs/access.log hits;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    types {{ application/json json; application/gzip gz; }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
"#,
            prefix = prefix.display(),
            root = root.display(),
        );
        let conf = prefix.join("nginx.conf");
        fs::write(&conf, config).unwrap();
        let child = Command::new(binary)
            .arg("-p")
            .arg(prefix)
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(prefix.join("logs/error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // The master and its worker in a group of their own, killed together.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut nginx = Nginx {
            child,
            port,
            dir,
            workers,
        };
        nginx.wait_until_listening();
        nginx
    }

    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            let exited = self.child.try_wait().expect("wait for nginx");
            if exited.is_some() || Instant::now() >= deadline {
                panic!(
                    "nginx did not come up on port {} ({exited:?}):\n{}",
                    self.port,
                    fs::read_to_string(self.dir.path().join("logs/error.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The account the worker serves files as: `nobody` when the tests run
    /// as root, else `None` (the worker is the test's own user).
    pub fn workers(&self) -> Option<&Account> {
        self.workers.as_ref()
    }

    /// nginx's error log so far (a 403 is explained there).
    pub fn error_log(&self) -> String {
        fs::read_to_string(self.dir.path().join("logs/error.log")).unwrap_or_default()
    }

    /// `http://127.0.0.1:PORT/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "http://127.0.0.1:{}/{}",
            self.port,
            path.trim_start_matches('/')
        )
    }

    /// Every request so far, oldest first.
    pub fn hits(&self) -> Vec<Hit> {
        let text = fs::read_to_string(self.dir.path().join("logs/access.log")).unwrap_or_default();
        text.lines()
            .map(|line| {
                let fields: Vec<&str> = line.split('\t').collect();
                assert_eq!(fields.len(), 5, "unexpected access log line {line:?}");
                let header =
                    |value: &str| (!value.is_empty() && value != "-").then(|| value.to_string());
                Hit {
                    method: fields[0].to_string(),
                    uri: fields[1].to_string(),
                    status: fields[2].parse().expect("status"),
                    if_none_match: header(fields[3]),
                    etag: header(fields[4]),
                }
            })
            .collect()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let Ok(master) = libc::pid_t::try_from(self.child.id()) else {
            return;
        };
        // SIGTERM: the master stops its worker, reaps it and exits.
        // SAFETY: kill has no memory preconditions; the process is our child.
        unsafe {
            libc::kill(master, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // Stuck: the whole group (its pgid is the master's pid, see `start`).
        // SAFETY: as above; the group is the one our child leads.
        unsafe {
            libc::kill(-master, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}
