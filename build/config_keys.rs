// The keys of the shim's config file, shared by the build script (which
// checks a built-in config against them) and the config loader's tests
// (which check that this list is the loader's).
/// Every key a config file may set.
#[allow(dead_code)]
const CONFIG_KEYS: &[&str] = &[
    "mirror",
    "metadata-url",
    "metadata",
    "pypy-mirror",
    "index-url",
    "astral-mirror",
    "uv",
    "ttl",
    "dns",
    "dns-domains",
    "dns-search",
    "allow-http",
    "dns-allowed-hosts",
    "system-certs",
    "allowed-hosts",
    "require-sha256",
    "trusted-keys",
];
