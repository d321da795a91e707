#!/bin/sh
# The whole test suite, as CI runs it: formatting, lints, no import cycles,
# unit and integration tests. The integration tests install what they need themselves (the pinned
# real uv from PyPI, nginx and minisign from Debian; the aarch64 cross
# compiler and qemu-user for the aarch64 stories; wine and mingw-w64 for the
# Windows story; the dist story runs scripts/dist.sh, which installs its own
# tools).
#
# On x86_64 Linux the tests run against the static musl build, the one
# that is shipped (`--target x86_64-unknown-linux-musl`; musl-tools is
# installed as root when missing). Where that cannot be had, they run
# against the host build and a line in the skips file says so.
#
# A test that cannot run on this machine (it needs root) fails under CI
# (CI=true, as root) and is skipped visibly elsewhere: the skips collect in
# <target>/test-skips.txt, printed at the end.
set -eu
cd "$(dirname "$0")/.."
skips="${CARGO_TARGET_DIR:-target}/test-skips.txt"
musl=x86_64-unknown-linux-musl
# The stories that build the shim for another platform (tests/it/*.rs).
platform_stories="aarch64:: windows:: dist::"

# Prints why the musl build cannot be tested here; nothing when it can.
musl_missing() {
    if [ "$(uname -s)" != Linux ] || [ "$(uname -m)" != x86_64 ]; then
        echo "not an x86_64 Linux machine"
        return
    fi
    if ! command -v musl-gcc >/dev/null 2>&1; then
        if [ "$(id -u)" -ne 0 ]; then
            echo "musl-gcc is missing (Debian: musl-tools) and installing it needs root"
            return
        fi
        if ! { apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends musl-tools ||
            { apt-get -o DPkg::Lock::Timeout=900 update &&
                apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends musl-tools; }; } \
            </dev/null >&2; then
            echo "apt-get could not install musl-tools"
            return
        fi
    fi
    if ! command -v rustup >/dev/null 2>&1; then
        echo "rustup is missing, so the $musl target cannot be added"
        return
    fi
    if ! rustup target add "$musl" >&2; then
        echo "\`rustup target add $musl\` failed"
    fi
}

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
python3 scripts/check-imports.py
rm -f "$skips"
mkdir -p "$(dirname "$skips")"
target=""
why="$(DEBIAN_FRONTEND=noninteractive musl_missing)"
if [ -z "$why" ]; then
    target="--target $musl"
    echo "Testing the static musl build ($musl)."
else
    echo "SKIPPED the static musl build: $why; the tests run against the host build" >>"$skips"
    echo "Cannot test the static musl build ($why): testing the host build." >&2
fi
status=0
if [ "$#" -eq 0 ]; then
    # The platform stories cross-build the shim on first use (minutes of
    # both cores each): run them first, on their own, so those builds do not
    # load the machine while the stories with time limits run. The full run
    # below runs them again, warm.
    # shellcheck disable=SC2086 # $target is empty or two words.
    cargo test --locked $target --test it -- $platform_stories || status=$?
fi
# shellcheck disable=SC2086
cargo test --locked $target "$@" || status=$?
# The Windows build's lints. Its C code (ring) needs mingw-w64, which the
# Windows story installed above (tests/common/wine.rs) along with the target.
if command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
    cargo clippy --locked --target x86_64-pc-windows-gnu --all-targets -- -D warnings || status=$?
else
    echo "No mingw-w64 (the Windows story was skipped): Windows lints not checked." >&2
fi
if [ -s "$skips" ]; then
    echo
    echo "Skipped tests (they could not run on this machine):"
    cat "$skips"
fi
exit "$status"
