//! What only the system file (or the built-in config, with the same
//! rights) may decide: the keys that loosen security. A user file, the
//! environment or a DNS answer cannot set them.

use super::config_file::{self, ConfigFile};

/// Security settings that only the system file may set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trust {
    /// Accept plain-http mirrors found by DNS.
    pub allow_http: bool,
    /// Hosts a DNS-found mirror may name outside the queried domain.
    pub dns_allowed_hosts: Vec<String>,
    /// Ask the resolver's search list when no domain is pinned. Any DHCP
    /// server hands one out, so only the system file may turn this on.
    pub dns_search: bool,
    /// Hosts besides the mirror's that metadata entries may point at.
    pub allowed_hosts: Vec<String>,
    /// Drop metadata entries without a sha256.
    pub require_sha256: bool,
    /// Minisign public keys the metadata must be signed with (`trusted-keys`;
    /// empty: signatures are not asked for).
    pub trusted_keys: Vec<String>,
}

impl Default for Trust {
    fn default() -> Self {
        Trust {
            allow_http: false,
            dns_allowed_hosts: Vec::new(),
            dns_search: false,
            allowed_hosts: Vec::new(),
            require_sha256: true,
            trusted_keys: Vec::new(),
        }
    }
}

/// The keys only the system file may set: what a user file cannot loosen.
const SYSTEM_ONLY: &[&str] = &[
    "allow-http",
    "dns-allowed-hosts",
    "allowed-hosts",
    "require-sha256",
    "dns-search",
    "trusted-keys",
];

impl Trust {
    /// Reads the trust keys from the system file, then the built-in config
    /// (same rights, lower layer); a user file cannot loosen them.
    pub fn from_system(system: Option<&ConfigFile>, builtin: Option<&ConfigFile>) -> Self {
        let files = [system, builtin];
        fn first<'a, T>(
            files: &[Option<&'a ConfigFile>; 2],
            get: impl Fn(&'a ConfigFile) -> Option<T>,
        ) -> Option<T> {
            files.iter().flatten().find_map(|f| get(f))
        }
        let hosts = |list: Option<&Vec<String>>| -> Vec<String> {
            list.into_iter()
                .flatten()
                .filter_map(|h| config_file::normalize_host(h))
                .collect()
        };
        Trust {
            allow_http: first(&files, |f| f.allow_http).unwrap_or(false),
            dns_allowed_hosts: hosts(first(&files, |f| f.dns_allowed_hosts.as_ref())),
            dns_search: first(&files, |f| f.dns_search).unwrap_or(false),
            allowed_hosts: hosts(first(&files, |f| f.allowed_hosts.as_ref())),
            require_sha256: first(&files, |f| f.require_sha256).unwrap_or(true),
            trusted_keys: first(&files, |f| f.trusted_keys.clone()).unwrap_or_default(),
        }
    }
}

/// The system-only keys that `file` sets.
pub(super) fn system_only_keys(file: &ConfigFile) -> impl Iterator<Item = &'static str> {
    let set = [
        file.allow_http.is_some(),
        file.dns_allowed_hosts.is_some(),
        file.allowed_hosts.is_some(),
        file.require_sha256.is_some(),
        file.dns_search.is_some(),
        file.trusted_keys.is_some(),
    ];
    SYSTEM_ONLY
        .iter()
        .zip(set)
        .filter_map(|(key, set)| set.then_some(*key))
}
