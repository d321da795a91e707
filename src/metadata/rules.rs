//! The rules one metadata document is handled by, as data: where its
//! entries may point and what they must carry ([`Policy`]), and how their
//! URLs are handed to uv ([`Rewrite`]). Decided once (in `decide`), carried
//! out by `schema::validate`, shown by `doctor`, and part of the cache
//! identity: a copy made under other rules is another copy.

use std::fmt::Write as _;

use url::Url;

/// How entry URLs are handed to uv.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rewrite {
    /// Mirror bases in failover order: upstream URLs are rewritten to the
    /// one the metadata came from, and entries may lie under any of them.
    pub bases: Vec<Url>,
    /// `pypy-mirror`: PyPy's upstream URLs are rewritten to it, and entries may lie under it.
    pub pypy_mirror: Option<Url>,
    /// uv itself applies a CPython mirror (from its own config or the user's
    /// variable): CPython URLs under the mirror get the upstream prefix back,
    /// so uv's prefix replacement still works.
    pub cpython_upstream: bool,
    /// Likewise for PyPy, under `pypy-mirror` or `<base>/pypy/`.
    pub pypy_upstream: bool,
}

impl Rewrite {
    /// A short tag naming what is handed back in upstream form.
    pub fn tag(&self) -> &'static str {
        match (self.cpython_upstream, self.pypy_upstream) {
            (false, false) => "mirror",
            (true, false) => "upstream-cpython",
            (false, true) => "upstream-pypy",
            (true, true) => "upstream-all",
        }
    }

    /// Every part of the rewrite, one line each, for the cache identity.
    pub fn identity(&self) -> String {
        let mut lines = format!("rewrite {}\n", self.tag());
        for base in &self.bases {
            let _ = writeln!(lines, "base {base}");
        }
        if let Some(pypy) = &self.pypy_mirror {
            let _ = writeln!(lines, "pypy-mirror {pypy}");
        }
        lines
    }
}

/// Where entries may point.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scope {
    /// Upstream URLs are rewritten to the mirror, and every entry must lie
    /// under a mirror base or on an allowed host.
    #[default]
    Mirror,
    /// Entries keep the URLs they have, wherever they point: for a static
    /// file the admin put beside the system config (as trusted as the
    /// config itself), and for `mirror sync` / `verify`, which read
    /// upstream lists and report such entries themselves.
    Anywhere,
}

/// What the entries handed to uv must satisfy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Where they may point.
    pub scope: Scope,
    /// Hosts besides the mirror's that they may name (`allowed-hosts`,
    /// system config only), lower case, without brackets or trailing dot.
    pub allowed_hosts: Vec<String>,
    /// Entries without a sha256 are dropped (`require-sha256`, default true).
    pub require_sha256: bool,
    /// Minisign public keys the document must be signed with
    /// (`trusted-keys`, system config only); empty: no signature asked for.
    pub trusted_keys: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            scope: Scope::Mirror,
            allowed_hosts: Vec::new(),
            require_sha256: true,
            trusted_keys: Vec::new(),
        }
    }
}

impl Policy {
    /// No rule at all: entries pass as they are (`mirror sync` and `verify`).
    pub fn anywhere() -> Policy {
        Policy {
            scope: Scope::Anywhere,
            allowed_hosts: Vec::new(),
            require_sha256: false,
            trusted_keys: Vec::new(),
        }
    }

    /// Every part of the policy, one line each, for the cache identity.
    pub fn identity(&self) -> String {
        let scope = match self.scope {
            Scope::Mirror => "mirror",
            Scope::Anywhere => "anywhere",
        };
        let mut lines = format!("scope {scope}\nrequire-sha256 {}\n", self.require_sha256);
        for host in &self.allowed_hosts {
            let _ = writeln!(lines, "allowed-host {host}");
        }
        // A copy accepted without a signature (or under other keys) is not
        // the copy these keys ask for: new keys fetch and check afresh.
        for key in &self.trusted_keys {
            let _ = writeln!(lines, "trusted-key {key}");
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever changes what uv gets changes the identity.
    #[test]
    fn every_rule_is_part_of_the_identity() {
        let base = Url::parse("https://m.example/uv/").unwrap();
        let rewrite = Rewrite {
            bases: vec![base.clone()],
            ..Rewrite::default()
        };
        let variants = [
            Rewrite::default().identity(),
            rewrite.identity(),
            Rewrite {
                pypy_mirror: Some(base.clone()),
                ..rewrite.clone()
            }
            .identity(),
            Rewrite {
                cpython_upstream: true,
                ..rewrite.clone()
            }
            .identity(),
            Policy::default().identity(),
            Policy::anywhere().identity(),
            Policy {
                require_sha256: false,
                ..Policy::default()
            }
            .identity(),
            Policy {
                allowed_hosts: vec!["h.example".into()],
                ..Policy::default()
            }
            .identity(),
            Policy {
                trusted_keys: vec!["RWQkey".into()],
                ..Policy::default()
            }
            .identity(),
        ];
        for (i, a) in variants.iter().enumerate() {
            for b in &variants[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
