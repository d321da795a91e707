#!/bin/sh
# Builds the release artifacts of uv-shim into <target>/dist/. Run with --help.
set -eu

usage() {
    cat <<'EOF'
Usage: scripts/dist.sh [--targets "TRIPLE ..."]

Builds the release artifacts of uv-shim into <target>/dist/ (<target> is
$CARGO_TARGET_DIR, else ./target), after emptying that folder:

  uv-shim-VERSION-x86_64-unknown-linux-musl.tar.gz   static Linux x86_64
  uv-shim-VERSION-aarch64-unknown-linux-musl.tar.gz  static Linux aarch64
  uv-shim-VERSION-x86_64-pc-windows-gnu.zip          Windows x86_64
      each: the binary, README.md, LICENSE-MIT, LICENSE-APACHE,
      completions/ (bash, zsh, fish, powershell) and man/man1/
  uv-shim_VERSION-1_amd64.deb, uv-shim_VERSION-1_arm64.deb
      /usr/bin/uv-shim, docs, completions, man pages; the uv and uvx links
      (packaging/deb/ says how a real uv is kept and restored)
  uv_shim-VERSION-py3-none-PLATFORM.whl              one per target (maturin):
      only the binary, `uv-shim` on PATH after `pip install`
  SHA256SUMS                                         check with: sha256sum -c SHA256SUMS

It installs what is missing: Rust targets (rustup), the Debian packages
musl-tools, gcc-aarch64-linux-gnu, gcc-mingw-w64-x86-64, python3-venv and zip
(as root; otherwise it names them and stops), cargo-deb and maturin (into
<target>/dist-tools/). Crates are fetched once (cargo fetch --locked); every
build runs --locked --offline from Cargo.lock.

Options:
  --targets "T ..."  build only these targets (default: all three above);
                     also read from DIST_TARGETS. Tests use it; a release
                     uses the default.
  -h, --help         this text

Environment:
  CARGO_TARGET_DIR        where cargo builds, and where dist/ goes
  UV_SHIM_BUILTIN_CONFIG  a TOML file embedded into every binary as the lowest
                          config layer; passed through to the build (made absolute)
  SOURCE_DATE_EPOCH       time stamp of the archive entries (default: the last
                          commit's); when set, it also reaches cargo and maturin
EOF
}

die() {
    echo "dist.sh: error: $*" >&2
    exit 1
}

say() {
    echo "dist.sh: $*" >&2
}

all_targets="x86_64-unknown-linux-musl aarch64-unknown-linux-musl x86_64-pc-windows-gnu"
targets="${DIST_TARGETS:-$all_targets}"
while [ $# -gt 0 ]; do
    case "$1" in
    -h | --help)
        usage
        exit 0
        ;;
    --targets)
        [ $# -ge 2 ] || die "--targets needs a value, e.g. --targets x86_64-unknown-linux-musl"
        targets="$2"
        shift 2
        ;;
    --targets=*)
        targets="${1#--targets=}"
        shift
        ;;
    *) die "unknown argument '$1' (see scripts/dist.sh --help)" ;;
    esac
done
for target in $targets; do
    case " $all_targets " in
    *" $target "*) ;;
    *) die "unknown target '$target'; known: $all_targets" ;;
    esac
done
[ -n "$targets" ] || die "no target given; known: $all_targets"

cd "$(dirname "$0")/.."
repo="$(pwd)"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
case "$target_dir" in
/*) ;;
*) target_dir="$repo/$target_dir" ;;
esac
export CARGO_TARGET_DIR="$target_dir"
dist="$target_dir/dist"
tools="$target_dir/dist-tools"
stage="$target_dir/dist-stage"

if [ -n "${UV_SHIM_BUILTIN_CONFIG:-}" ]; then
    [ -f "$UV_SHIM_BUILTIN_CONFIG" ] ||
        die "UV_SHIM_BUILTIN_CONFIG names $UV_SHIM_BUILTIN_CONFIG, which is not a file; give the path of the TOML file to embed"
    UV_SHIM_BUILTIN_CONFIG="$(cd "$(dirname "$UV_SHIM_BUILTIN_CONFIG")" && pwd)/$(basename "$UV_SHIM_BUILTIN_CONFIG")"
    export UV_SHIM_BUILTIN_CONFIG
    say "embedding the built-in config $UV_SHIM_BUILTIN_CONFIG"
fi

version="$(sed -n 's/^version = "\([^"]*\)"$/\1/p' Cargo.toml | head -n 1)"
[ -n "$version" ] || die "no version = \"…\" line in Cargo.toml"
# The time stamp of archive entries. Not exported when it was not given: the
# cc crate rebuilds C code (ring, and all above it) whenever SOURCE_DATE_EPOCH
# changes, and the last commit's time changes with every commit.
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"

mkdir -p "$target_dir" "$tools"
# Two runs on one target folder would empty each other's dist/.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$target_dir/dist.lock"
    flock 9
fi

# --- tools --------------------------------------------------------------

is_root() { [ "$(id -u)" = 0 ]; }

has_package() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# Debian packages: what each target needs, then the packaging tools.
packages=""
want() { packages="$packages $1"; }
for target in $targets; do
    case "$target" in
    x86_64-unknown-linux-musl) command -v musl-gcc >/dev/null 2>&1 || want musl-tools ;;
    aarch64-unknown-linux-musl) command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || want gcc-aarch64-linux-gnu ;;
    x86_64-pc-windows-gnu)
        command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || want gcc-mingw-w64-x86-64
        command -v zip >/dev/null 2>&1 || want zip
        ;;
    esac
done
if [ ! -x "$tools/maturin/bin/maturin" ] && ! python3 -c 'import ensurepip' 2>/dev/null; then
    want python3-venv
fi
if [ -n "$packages" ]; then
    command -v apt-get >/dev/null 2>&1 ||
        die "missing:$packages (Debian package names); install them with your package manager"
    is_root || die "missing Debian packages:$packages; install them (as root): apt-get install$packages"
    say "installing$packages"
    apt() {
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 "$@" </dev/null
    }
    # shellcheck disable=SC2086 # one word per package
    if ! apt install -y --no-install-recommends $packages; then
        apt update
        # shellcheck disable=SC2086
        apt install -y --no-install-recommends $packages
    fi
fi

command -v cargo >/dev/null 2>&1 || die "cargo is not on PATH; install Rust (rustup) first"
if command -v rustup >/dev/null 2>&1; then
    # shellcheck disable=SC2086 # one word per target
    rustup --quiet target add $targets
else
    for target in $targets; do
        [ -d "$(rustc --print sysroot)/lib/rustlib/$target" ] ||
            die "the Rust standard library for $target is missing and there is no rustup to add it"
    done
fi

# cargo-deb and maturin: pinned, installed once per target folder.
cargo_deb_version=3.8.0
maturin_version=1.16.0
linux_targets=""
for target in $targets; do
    case "$target" in *-linux-*) linux_targets="$linux_targets $target" ;; esac
done
cargo_deb="$tools/cargo-deb/bin/cargo-deb"
if [ -n "$linux_targets" ] && [ ! -x "$cargo_deb" ]; then
    say "installing cargo-deb $cargo_deb_version into $tools/cargo-deb"
    # Its own target folder: not mixed into the release builds, removed after.
    cargo install --quiet --locked --version "$cargo_deb_version" --root "$tools/cargo-deb" \
        --target-dir "$tools/cargo-deb-build" cargo-deb
    rm -rf "$tools/cargo-deb-build"
fi
maturin="$tools/maturin/bin/maturin"
if [ ! -x "$maturin" ]; then
    say "installing maturin $maturin_version into $tools/maturin"
    rm -rf "$tools/maturin"
    python3 -m venv "$tools/maturin"
    "$tools/maturin/bin/pip" install --quiet --disable-pip-version-check "maturin==$maturin_version"
fi

# --- build --------------------------------------------------------------

cargo fetch --locked

# Cross compilers for the C parts (ring) and the linker.
export CC_aarch64_unknown_linux_musl=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER=aarch64-linux-gnu-gcc
export CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc

exe() {
    case "$1" in *-windows-*) echo uv-shim.exe ;; *) echo uv-shim ;; esac
}

for target in $targets; do
    say "building $target"
    cargo build --release --locked --offline --target "$target"
done

rm -rf "$dist" "$stage"
mkdir -p "$dist" "$stage"

# Completions and man pages come from the real command line: the first
# binary built that runs on this machine prints them.
extras="$stage/extras"
generator=""
for target in $targets; do
    candidate="$target_dir/$target/release/$(exe "$target")"
    if "$candidate" --version >/dev/null 2>&1; then
        generator="$candidate"
        break
    fi
done
[ -n "$generator" ] ||
    die "none of the binaries built ($targets) runs on this machine, so none can print the completions and man pages; add this machine's target (e.g. --targets \"x86_64-unknown-linux-musl ...\")"
mkdir -p "$extras/completions" "$extras/man/man1"
"$generator" generate completions bash >"$extras/completions/uv-shim.bash"
"$generator" generate completions zsh >"$extras/completions/_uv-shim"
"$generator" generate completions fish >"$extras/completions/uv-shim.fish"
"$generator" generate completions powershell >"$extras/completions/_uv-shim.ps1"
"$generator" generate man --out-dir "$extras/man/man1"

# --- archives -----------------------------------------------------------

for target in $targets; do
    name="uv-shim-$version-$target"
    dir="$stage/$name"
    mkdir -p "$dir"
    cp "$target_dir/$target/release/$(exe "$target")" "$dir/"
    cp README.md LICENSE-MIT LICENSE-APACHE "$dir/"
    cp -R "$extras/completions" "$extras/man" "$dir/"
    case "$target" in
    *-windows-*)
        # zip takes the time stamps of the files: give them the fixed one.
        find "$dir" -exec touch -h -d "@$epoch" {} +
        (cd "$stage" && zip -qrX "$dist/$name.zip" "$name")
        ;;
    *)
        tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner \
            --mtime="@$epoch" -cf - "$name" | gzip -9n >"$dist/$name.tar.gz"
        ;;
    esac
done

# --- .deb (cargo-deb, from the musl binaries just built) --------------------

for target in $linux_targets; do
    # cargo-deb finds `target/release/…` assets under <target>/<triple>/release/.
    deb_extra="$target_dir/$target/release/dist-extra"
    rm -rf "$deb_extra"
    cp -R "$extras" "$deb_extra"
    gzip -9n "$deb_extra"/man/man1/*.1
    say "packaging the .deb for $target"
    "$cargo_deb" --no-build --no-strip --locked --offline --target "$target" --output "$dist/" >/dev/null
done

# --- wheels (maturin; the binary is already built, cargo reuses it) ---------

for target in $targets; do
    case "$target" in
    # A static musl binary runs on glibc too: tagged for both, as uv's own
    # static wheels are, so pip installs it on Debian and on Alpine.
    x86_64-unknown-linux-musl | aarch64-unknown-linux-musl)
        set -- --compatibility manylinux_2_17 musllinux_1_1 --auditwheel skip
        ;;
    *) set -- ;;
    esac
    say "building the wheel for $target"
    "$maturin" build --quiet --release --locked --offline --target "$target" --out "$dist" "$@"
done

# --- checksums ----------------------------------------------------------

(
    cd "$dist"
    find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%f\n' | LC_ALL=C sort |
        while IFS= read -r file; do sha256sum -- "$file"; done >SHA256SUMS
)
say "done: $dist"
ls -l "$dist" >&2
