#!/bin/sh
# The whole test suite, as CI runs it: formatting, lints, no import cycles,
# unit and integration tests. The integration tests install what they need themselves (the pinned
# real uv from PyPI, nginx and minisign from Debian; the dist story runs
# scripts/dist.sh, which installs its own tools).
#
# A test that cannot run on this machine (it needs root) fails under CI
# (CI=true, as root) and is skipped visibly elsewhere: the skips collect in
# <target>/test-skips.txt, printed at the end.
set -eu
cd "$(dirname "$0")/.."
skips="${CARGO_TARGET_DIR:-target}/test-skips.txt"
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
python3 scripts/check-imports.py
rm -f "$skips"
status=0
cargo test --locked "$@" || status=$?
if [ -s "$skips" ]; then
    echo
    echo "Skipped tests (they could not run on this machine):"
    cat "$skips"
fi
exit "$status"
