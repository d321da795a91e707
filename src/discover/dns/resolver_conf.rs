//! Which domains to ask about and which servers to ask: the pinned domains
//! (`dns-domains`, `UV_SHIM_DNS_DOMAINS`), or the resolver's search list
//! when the system config trusts it (`dns-search = true`);
//! `UV_SHIM_DNS_SERVER` or the resolver's name servers. The system's
//! configuration is read once, and only when needed, through [`Inputs`] so
//! the warm path knows of the file.
//!
//! The search list is not trusted by default because whoever runs the
//! network writes it: a DHCP server hands out `search hotel-wifi.test` and
//! can then publish `_uv-mirror.hotel-wifi.test` with https hosts inside its
//! own zone, which the in-domain rule of [`super::policy`] cannot tell from
//! the organisation's own.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use super::resolve::{self, SystemConf};
use crate::env_vars::{EnvVars, Lookup};
use crate::inputs::Inputs;
use crate::settings::Settings;

/// The resolv.conf read when `UV_SHIM_RESOLV_CONF` does not name another.
#[cfg(unix)]
const RESOLV_CONF: &str = "/etc/resolv.conf";

/// Where the answers come from.
pub struct Resolver {
    /// The name servers, in order.
    pub servers: Vec<SocketAddr>,
    /// Part of each cache key: a different server (or network) asks afresh.
    pub id: String,
}

/// The system's resolver configuration, read once and only when needed.
pub struct SystemOnce<'a> {
    env: Lookup<'a>,
    inputs: &'a Inputs,
    conf: Option<Result<(SystemConf, String), String>>,
}

impl<'a> SystemOnce<'a> {
    /// Nothing read yet.
    pub fn new(env: Lookup<'a>, inputs: &'a Inputs) -> Self {
        SystemOnce {
            env,
            inputs,
            conf: None,
        }
    }

    fn get(&mut self) -> Result<(SystemConf, String), String> {
        let (env, inputs) = (self.env, self.inputs);
        self.conf
            .get_or_insert_with(|| read_system_conf(env, inputs))
            .clone()
    }
}

/// The domains to ask about, in order, and where the list came from: the
/// pinned domains (env, user or system), else the system's search list when
/// the system config sets `dns-search = true`; `None` when neither applies,
/// and then nothing is read and nothing is asked.
pub fn domains(
    settings: &Settings,
    system: &mut SystemOnce,
) -> Result<Option<(Vec<String>, String)>, String> {
    if let Some(pinned) = &settings.layer.dns_domains {
        let domains = dedup(
            pinned
                .value
                .iter()
                .filter_map(|d| resolve::normalise_domain(d)),
        );
        return Ok(Some((domains, pinned.origin.to_string())));
    }
    if !settings.trust.dns_search {
        return Ok(None);
    }
    let (conf, from) = system.get()?;
    Ok(Some((
        conf.search,
        format!("the search list of {from}, trusted by `dns-search = true`"),
    )))
}

/// The servers to ask, and where they came from: `UV_SHIM_DNS_SERVER`, else
/// the system's name servers.
pub fn resolver(env: Lookup, system: &mut SystemOnce) -> Result<(Resolver, String), String> {
    if let Some(value) = env(EnvVars::UV_SHIM_DNS_SERVER) {
        let server = resolve::parse_server(&value)
            .map_err(|e| format!("{}: {e}", EnvVars::UV_SHIM_DNS_SERVER))?;
        let resolver = Resolver {
            servers: vec![server],
            id: server.to_string(),
        };
        return Ok((resolver, EnvVars::UV_SHIM_DNS_SERVER.to_string()));
    }
    let (conf, from) = system.get()?;
    let mut servers = conf.nameservers;
    let from = if servers.is_empty() {
        // What the C library does without a `nameserver` line.
        servers.push(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 53));
        format!("{from}, which names none: the default")
    } else {
        from
    };
    let id = servers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    Ok((Resolver { servers, id }, from))
}

/// The search list and name servers, and where they came from.
fn read_system_conf(env: Lookup, inputs: &Inputs) -> Result<(SystemConf, String), String> {
    if let Some(path) = env(EnvVars::UV_SHIM_RESOLV_CONF) {
        let path = PathBuf::from(path);
        return resolve::read_resolv_conf(&path, inputs).map(|c| {
            (
                c,
                format!(
                    "{}, named by {}",
                    path.display(),
                    EnvVars::UV_SHIM_RESOLV_CONF
                ),
            )
        });
    }
    #[cfg(unix)]
    {
        let path = std::path::Path::new(RESOLV_CONF);
        resolve::read_resolv_conf(path, inputs).map(|c| (c, path.display().to_string()))
    }
    #[cfg(not(unix))]
    {
        resolve::read_platform_conf().map(|c| (c, "the system's DNS configuration".to_string()))
    }
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}
