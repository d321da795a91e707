#!/bin/sh
# The whole test suite, as CI runs it: formatting, lints, unit and integration
# tests. The integration tests install what they need themselves (the pinned
# real uv from PyPI, nginx from Debian).
set -eu
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked "$@"
