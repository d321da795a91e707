#!/bin/sh
# Build uv-shim from this checkout and install it as `uv-shim` plus `uv` and `uvx` links.
#
#   ./install.sh [--bin-dir DIR] [--binary FILE] [--no-doctor]
#
# Default bin dir: /usr/local/bin as root, else ~/.local/bin. Safe to run again.
# --binary installs an already built uv-shim instead of building one.
# On Linux with glibc the build is linked statically: no dynamic loader work
# on every `uv` call (see the README's benchmark).
# The real uv is never deleted: a real uv already sitting at DIR/uv is moved to
# DIR/uv-real (a real uvx at DIR/uvx to DIR/uvx-real), and the real uv's path
# is recorded (key `uv`) in the shim's config, which is the system config
# (/etc/uv/shim.toml) as root, else the user config.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin_dir=""
binary=""
run_doctor=1
while [ $# -gt 0 ]; do
    case "$1" in
        --bin-dir) bin_dir=${2:?--bin-dir needs a folder}; shift 2 ;;
        --bin-dir=*) bin_dir=${1#--bin-dir=}; shift ;;
        --binary) binary=${2:?--binary needs a file}; shift 2 ;;
        --binary=*) binary=${1#--binary=}; shift ;;
        --no-doctor) run_doctor=0; shift ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }

if [ -z "$bin_dir" ]; then
    if [ "$(id -u)" = 0 ]; then bin_dir=/usr/local/bin; else bin_dir="$HOME/.local/bin"; fi
fi
if [ "$(id -u)" = 0 ]; then
    config="${UV_SHIM_SYSTEM_CONFIG_DIR:-/etc/uv}/shim.toml"
else
    config="${UV_SHIM_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/uv-shim/config.toml}"
fi

if [ -n "$binary" ]; then
    built=$binary
else
    command -v cargo >/dev/null 2>&1 || die "cargo is needed to build uv-shim (https://rustup.rs)"
    host=$(rustc -vV | sed -n 's/^host: //p')
    [ -n "$host" ] || die "rustc did not say which target it builds for (is a Rust toolchain set up?)"
    say "building uv-shim (release, $host)"
    case "$host" in
        *-linux-gnu)
            # Static: the loader's relocations and symbol look-ups were most of the shim's cost.
            RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
                cargo build --release --locked --target "$host" --manifest-path "$here/Cargo.toml"
            built="$here/target/$host/release/uv-shim" ;;
        *)
            cargo build --release --locked --manifest-path "$here/Cargo.toml"
            built="$here/target/release/uv-shim" ;;
    esac
fi
[ -x "$built" ] || die "no uv-shim binary at $built"

mkdir -p "$bin_dir"
bin_dir=$(cd "$bin_dir" && pwd)
shim="$bin_dir/uv-shim"

# Replace the binary atomically, so a running `uv` never sees half a file.
cp "$built" "$shim.tmp.$$"
chmod 755 "$shim.tmp.$$"
mv -f "$shim.tmp.$$" "$shim"
say "installed $shim"

same_file() { [ -e "$1" ] && [ -e "$2" ] && [ "$1" -ef "$2" ]; }

# link_face NAME: DIR/NAME -> uv-shim. A real program already there is moved
# to DIR/NAME-real (never deleted), which is left in $moved.
link_face() {
    target="$bin_dir/$1"
    moved=""
    if [ -e "$target" ] || [ -L "$target" ]; then
        if same_file "$target" "$shim"; then
            : # Already our link.
        elif [ -L "$target" ] && [ "$(basename "$(readlink "$target")")" = uv-shim ]; then
            say "replacing $target, a link to another uv-shim"
            rm -f "$target"
        else
            # A real one lives where the link must go: keep it beside, never delete it.
            moved="$target-real"
            [ -e "$moved" ] && die "$target is not uv-shim and $moved exists too; move one of them away first"
            mv "$target" "$moved"
            say "moved the real $1 from $target to $moved"
        fi
    fi
    ln -sfn uv-shim "$target"
    say "linked $target -> uv-shim"
}

link_face uv
real_uv=$moved
# uvx too: the real uvx runs the `uv` in its own folder, so from another
# folder it would pass the shim by. The shim runs the real uvx (or the real
# uv's `tool uvx`) itself.
link_face uvx

# Where would the shim find the real uv by itself? The first uv on PATH that is not the shim.
if [ -z "$real_uv" ]; then
    old_ifs=$IFS; IFS=:
    for dir in $PATH; do
        [ -n "$dir" ] && [ -x "$dir/uv" ] || continue
        same_file "$dir/uv" "$shim" && continue
        real_uv="$dir/uv"
        break
    done
    IFS=$old_ifs
    [ -n "$real_uv" ] && say "the real uv is $real_uv (found on PATH; nothing to record)" && real_uv=""
fi

if [ -n "$real_uv" ]; then
    mkdir -p "$(dirname "$config")"
    line="uv = \"$real_uv\""
    if [ -f "$config" ] && grep -Eq '^[[:space:]]*uv[[:space:]]*=' "$config"; then
        if grep -Fxq "$line" "$config"; then
            say "$config already records the real uv"
        else
            say "$config already names a real uv; left as it is (wanted: $line)"
        fi
    else
        tmp="$config.tmp.$$"
        { printf '%s\n' "$line"; [ -f "$config" ] && cat "$config"; } > "$tmp"
        mv -f "$tmp" "$config"
        say "recorded the real uv in $config"
    fi
fi

# Is the link the `uv` that a shell finds first?
first_uv=$(command -v uv 2>/dev/null || true)
if [ -z "$first_uv" ] || ! same_file "$first_uv" "$shim"; then
    say "note: put $bin_dir before other folders holding uv on PATH, e.g.:"
    say "      export PATH=\"$bin_dir:\$PATH\""
fi

if [ "$run_doctor" = 1 ]; then
    say "running: uv-shim doctor"
    "$shim" doctor || say "doctor reports problems above (the shim still hands every call to uv)"
fi
