#!/bin/sh
# install.sh: build uv-shim from this checkout, then run `uv-shim install`,
# the one installer of every channel (see the README's "Install" section).
#
#   ./install.sh [--binary FILE] [INSTALL OPTIONS]
#
#   --binary FILE   install this already built uv-shim instead of building one
#   INSTALL OPTIONS go to `uv-shim install` unchanged:
#                   [--bin-dir DIR] [--system|--user] [--mirror URL]...
#                   [--dns-domain DOMAIN]... [--no-doctor]
#
# On Linux with glibc the build is linked statically: no dynamic loader work
# on every `uv` call (see the README's benchmark). `uv-shim install` never
# deletes the real uv, records what it changed, and `uv-shim uninstall`
# puts it all back. Safe to run again.
set -eu

usage() {
    # The comment block above, without its `# ` (and nothing after it).
    sed -n '2,/^$/p' "$0" | sed -n '/^#/s/^# \{0,1\}//p'
}

here=$(cd "$(dirname "$0")" && pwd)
binary=""
for arg in "$@"; do
    case "$arg" in
        -h|--help) usage; exit 0 ;;
    esac
done
# Take --binary out; everything else goes to `uv-shim install` as given.
n=$#
while [ "$n" -gt 0 ]; do
    arg=$1; shift; n=$((n - 1))
    case "$arg" in
        --binary)
            [ "$n" -gt 0 ] || { echo "install.sh: --binary needs a file (see --help)" >&2; exit 2; }
            binary=$1; shift; n=$((n - 1)) ;;
        --binary=*) binary=${arg#--binary=} ;;
        *) set -- "$@" "$arg" ;;
    esac
done

die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

if [ -z "$binary" ]; then
    command -v cargo >/dev/null 2>&1 || die "cargo is needed to build uv-shim (https://rustup.rs), or pass --binary FILE"
    host=$(rustc -vV | sed -n 's/^host: //p')
    [ -n "$host" ] || die "rustc did not say which target it builds for (is a Rust toolchain set up?)"
    printf 'install.sh: building uv-shim (release, %s)\n' "$host"
    case "$host" in
        *-linux-gnu)
            # Static: the loader's relocations and symbol look-ups were most of the shim's cost.
            RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
                cargo build --release --locked --target "$host" --manifest-path "$here/Cargo.toml"
            binary="${CARGO_TARGET_DIR:-$here/target}/$host/release/uv-shim" ;;
        *)
            cargo build --release --locked --manifest-path "$here/Cargo.toml"
            binary="${CARGO_TARGET_DIR:-$here/target}/release/uv-shim" ;;
    esac
fi
[ -f "$binary" ] && [ -x "$binary" ] || die "no uv-shim program at $binary"
exec "$binary" install "$@"
