#!/usr/bin/env bash
# Benchmark of `uv-shim mirror sync`, `mirror export` and `mirror import`
# (a benchmark, not a test).
#
# Serves generated archives from a local `python3 -m http.server` (or nginx)
# on 127.0.0.1 and measures, with the release build, in one run on the same
# data:
#
#   1. sync from empty of FILES archives of SIZE_MB MiB each (wall time,
#      throughput, peak RSS), against a raw copy of the same bytes from the
#      same server with curl, one at a time and JOBS in parallel; then
#      `mirror export` of that mirror into one bundle and `mirror import` of
#      the bundle into an empty folder, against `tar -c` and `tar -x` of the
#      same files (and, for reference, `cp` and `sha256sum` of the files);
#      each round runs all of them back to back, so a busy machine slows
#      them alike and the ratios hold;
#   2. the no-op re-sync of that mirror;
#   3. peak memory of a sync of SMALL_MB MiB files against BIG_MB MiB files
#      (it must not grow with the file size);
#   4. sync from empty and no-op re-sync of a list of ENTRIES entries with
#      tiny files (what a full upstream list costs when nothing changed).
#
# Usage:  scripts/bench-mirror-sync.sh
# Knobs:  FILES=20 SIZE_MB=30 JOBS=8 ROUNDS=3 SMALL_MB=10 BIG_MB=100 MEM_FILES=4 ENTRIES=3000
#         SERVER=python|nginx (nginx: a real nginx with sendfile, so the
#         server is not the limit; installed with apt-get when missing)
#         BIN=path (measure that build of uv-shim instead of building one)
#         SYNC_JOBS=N|default (the --jobs of `mirror sync`; default: none
#         given, to measure the default)
#
# Throughput figures are the median of ROUNDS interleaved runs, each started
# after `sync` so that no earlier run's dirty pages are written back during
# the next one. `mirror sync` fsyncs every file before its rename, so it is
# compared with curl both as is (bytes left in the page cache) and followed
# by `sync` (bytes on disk).
# Needs:  cargo, python3, curl, tar, GNU time (/usr/bin/time; installed
#         with apt-get when missing and allowed), about FILES*SIZE_MB*5 +
#         MEM_FILES*(SMALL_MB+BIG_MB)*2 MiB of free space in ${TMPDIR:-/tmp}.
set -euo pipefail

FILES=${FILES:-20}
SIZE_MB=${SIZE_MB:-30}
JOBS=${JOBS:-8}
ROUNDS=${ROUNDS:-3}
SMALL_MB=${SMALL_MB:-10}
BIG_MB=${BIG_MB:-100}
MEM_FILES=${MEM_FILES:-4}
ENTRIES=${ENTRIES:-3000}
SERVER=${SERVER:-python}
SYNC_JOBS=${SYNC_JOBS:-default}
if [ "$SYNC_JOBS" = default ]; then JOBS_ARG=(); else JOBS_ARG=(--jobs "$SYNC_JOBS"); fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)

# install PACKAGE: with apt-get (as root, or through sudo).
install() {
    local sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "$1" >/dev/null ||
        { "${sudo[@]}" apt-get update -qq && "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "$1" >/dev/null; }
}
if [ ! -x /usr/bin/time ]; then
    echo "installing GNU time (for peak memory)..." >&2
    install time
fi
if [ "$SERVER" = nginx ] && ! command -v nginx >/dev/null; then
    echo "installing nginx..." >&2
    install nginx-light || install nginx
fi

if [ -z "${BIN:-}" ]; then
    cargo build --release --locked --quiet --manifest-path "$ROOT/Cargo.toml"
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/uv-shim"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-mirror-sync.XXXXXX")
SERVERS=()
cleanup() {
    for pid in "${SERVERS[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# generate DIR COUNT BYTES PORT: random archives under DIR/<build>/ and a
# download-metadata.json whose URLs point at http://127.0.0.1:PORT/.
generate() {
    python3 - "$@" <<'PY'
import hashlib, json, os, sys
root, count, size, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
build = "20250115"
os.makedirs(os.path.join(root, build), exist_ok=True)
meta = {}
for i in range(count):
    minor, patch = 8 + i // 200, i % 200
    name = f"cpython-3.{minor}.{patch}+{build}-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz"
    digest = hashlib.sha256()
    with open(os.path.join(root, build, name), "wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(left, 1 << 20))
            f.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    meta[f"cpython-3.{minor}.{patch}-linux-x86_64-gnu"] = {
        "name": "cpython", "arch": {"family": "x86_64", "variant": None},
        "os": "linux", "libc": "gnu", "major": 3, "minor": minor, "patch": patch,
        "prerelease": "", "build": build, "variant": None,
        "url": f"http://127.0.0.1:{port}/{build}/{name.replace('+', '%2B')}",
        "sha256": digest.hexdigest(),
    }
with open(os.path.join(root, "download-metadata.json"), "w") as f:
    json.dump(meta, f)
PY
}

# serve DIR PORT: a python http.server (or nginx) in the background.
serve() {
    if [ "$SERVER" = nginx ]; then
        local prefix="$WORK/nginx-$2"
        mkdir -p "$prefix/logs" "$prefix/tmp"
        cat >"$prefix/nginx.conf" <<EOF
daemon off;
master_process off;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    sendfile on;
    client_body_temp_path $prefix/tmp/body;
    proxy_temp_path $prefix/tmp/proxy;
    fastcgi_temp_path $prefix/tmp/fastcgi;
    uwsgi_temp_path $prefix/tmp/uwsgi;
    scgi_temp_path $prefix/tmp/scgi;
    server { listen 127.0.0.1:$2; root $1; }
}
EOF
        nginx -p "$prefix" -c "$prefix/nginx.conf" >/dev/null 2>&1 &
    else
        python3 -m http.server "$2" --bind 127.0.0.1 --directory "$1" >/dev/null 2>&1 &
    fi
    SERVERS+=("$!")
    for _ in $(seq 100); do
        curl -sf -o /dev/null "http://127.0.0.1:$2/download-metadata.json" && return 0
        sleep 0.1
    done
    echo "the server on port $2 did not start" >&2
    exit 1
}

# measure OUT CMD...: runs CMD under GNU time; OUT gets "seconds max_rss_kib".
measure() {
    local out=$1
    shift
    /usr/bin/time -f "%e %M" -o "$out" "$@" >/dev/null 2>"$out.stderr" || {
        echo "failed: $*" >&2
        cat "$out.stderr" >&2
        exit 1
    }
}

secs() { cut -d' ' -f1 "$1"; }
# median_of PREFIX: the run (file PREFIX.N) with the median time, copied to PREFIX.
median_of() {
    local pick
    pick=$(for f in "$1".[0-9]*; do [[ $f == *.stderr ]] || echo "$(secs "$f") $f"; done | sort -n | awk '{ a[NR] = $2 } END { print a[int((NR + 1) / 2)] }')
    cp "$pick" "$1"
}
rss_mib() { awk '{printf "%.1f", $2 / 1024}' "$1"; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? b / 1048576 / s : 0) }'; }

echo "machine: $(nproc) CPUs, $(uname -sr), server: $SERVER" >&2

# --- 1 & 2: throughput against a raw copy, and the no-op re-sync -----------
PORT=$(free_port)
UP="$WORK/up"
echo "generating $FILES x $SIZE_MB MiB..." >&2
generate "$UP" "$FILES" $((SIZE_MB << 20)) "$PORT"
serve "$UP" "$PORT"
BYTES=$((FILES * (SIZE_MB << 20)))

# Warm the page cache so both copies read the same memory.
cat "$UP"/20250115/* >/dev/null

python3 -c 'import json,sys; [print(e["url"]) for e in json.load(open(sys.argv[1])).values()]' \
    "$UP/download-metadata.json" | awk -v d="$WORK/raw" '{ printf "%s %s/%d\n", $0, d, NR }' >"$WORK/urls"
CURL="xargs -P $JOBS -L 1 sh -c 'curl -sf -o \"\$1\" \"\$0\"' <'$WORK/urls'"
CURL1="xargs -P 1 -L 1 sh -c 'curl -sf -o \"\$1\" \"\$0\"' <'$WORK/urls'"
# The ratio of each round, so a machine busy with something else shows as
# spread rather than as a slower tool.
ratio() { awk -v a="$(secs "$1")" -v b="$(secs "$2")" 'BEGIN { printf "%.0f", (b > 0 ? 100 * a / b : 0) }'; }
RATIOS=""
for round in $(seq "$ROUNDS"); do
    echo "round $round of $ROUNDS..." >&2
    rm -rf "$WORK/raw" "$WORK/mirror" "$WORK/inside" "$WORK/bundle.tar" "$WORK/pack.tar" "$WORK/unpacked"
    mkdir -p "$WORK/raw" && sync
    measure "$WORK/t.curl1.$round" sh -c "$CURL1"
    rm -rf "$WORK/raw" && mkdir -p "$WORK/raw" && sync
    measure "$WORK/t.curl.$round" sh -c "$CURL"
    rm -rf "$WORK/raw" && mkdir -p "$WORK/raw" && sync
    measure "$WORK/t.curlsync.$round" sh -c "$CURL && sync"
    rm -rf "$WORK/raw" && sync
    measure "$WORK/t.sync.$round" "$BIN" mirror sync --dest "$WORK/mirror" --from "http://127.0.0.1:$PORT/download-metadata.json" "${JOBS_ARG[@]}"
    RATIOS="$RATIOS $(ratio "$WORK/t.curl.$round" "$WORK/t.sync.$round")%"
    sync
    measure "$WORK/t.export.$round" "$BIN" mirror export --dest "$WORK/mirror" --out "$WORK/bundle.tar"
    sync
    measure "$WORK/t.tarc.$round" tar -cf "$WORK/pack.tar" -C "$WORK/mirror" --exclude=.uv-shim .
    rm -f "$WORK/pack.tar" && sync
    measure "$WORK/t.tarcsync.$round" sh -c "tar -cf '$WORK/pack.tar' -C '$WORK/mirror' --exclude=.uv-shim . && sync"
    rm -f "$WORK/pack.tar" && sync
    measure "$WORK/t.import.$round" "$BIN" mirror import "$WORK/bundle.tar" --dest "$WORK/inside"
    sync
    mkdir -p "$WORK/unpacked"
    measure "$WORK/t.tarx.$round" tar -xf "$WORK/bundle.tar" -C "$WORK/unpacked"
    sync
    measure "$WORK/t.tarxsync.$round" sh -c "rm -rf '$WORK/unpacked' && mkdir '$WORK/unpacked' && tar -xf '$WORK/bundle.tar' -C '$WORK/unpacked' && sync"
done
BUNDLE=$(stat -c %s "$WORK/bundle.tar")
for t in curl1 curl curlsync sync export tarc tarcsync import tarx tarxsync; do median_of "$WORK/t.$t"; done
rm -rf "$WORK/inside" "$WORK/unpacked" "$WORK/bundle.tar" "$WORK/raw"
sync
measure "$WORK/t.cp" cp -r "$UP/20250115" "$WORK/cp"
rm -rf "$WORK/cp"
measure "$WORK/t.sha" sh -c "sha256sum '$UP'/20250115/*"

measure "$WORK/t.noop" "$BIN" mirror sync --dest "$WORK/mirror" --from "http://127.0.0.1:$PORT/download-metadata.json" "${JOBS_ARG[@]}"
measure "$WORK/t.verify" "$BIN" mirror verify --dest "$WORK/mirror"
rm -rf "$WORK/mirror"
kill "${SERVERS[-1]}"
rm -rf "$UP"

# --- 3: peak memory against file size --------------------------------------
for mb in "$SMALL_MB" "$BIG_MB"; do
    port=$(free_port)
    echo "generating $MEM_FILES x $mb MiB..." >&2
    generate "$WORK/mem$mb" "$MEM_FILES" $((mb << 20)) "$port"
    serve "$WORK/mem$mb" "$port"
    measure "$WORK/t.mem$mb" "$BIN" mirror sync --dest "$WORK/mirror$mb" --from "http://127.0.0.1:$port/download-metadata.json" "${JOBS_ARG[@]}"
    kill "${SERVERS[-1]}"
    rm -rf "$WORK/mem$mb" "$WORK/mirror$mb"
done

# --- 4: many entries, nothing new -------------------------------------------
port=$(free_port)
echo "generating $ENTRIES tiny entries..." >&2
generate "$WORK/many" "$ENTRIES" 1024 "$port"
serve "$WORK/many" "$port"
measure "$WORK/t.many" "$BIN" mirror sync --dest "$WORK/mirror-many" --from "http://127.0.0.1:$port/download-metadata.json" "${JOBS_ARG[@]}"
best=""
for run in 1 2 3 4 5; do
    measure "$WORK/t.manynoop$run" "$BIN" mirror sync --dest "$WORK/mirror-many" --from "http://127.0.0.1:$port/download-metadata.json" "${JOBS_ARG[@]}"
    s=$(secs "$WORK/t.manynoop$run")
    if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then
        best=$s
        cp "$WORK/t.manynoop$run" "$WORK/t.manynoop"
    fi
done
measure "$WORK/t.manyoffline" "$BIN" mirror sync --dest "$WORK/mirror-many" --from "$WORK/many/download-metadata.json" --offline

# --- report ------------------------------------------------------------------
cat <<EOF

| $FILES x $SIZE_MB MiB = $((FILES * SIZE_MB)) MiB, $SERVER, sync --jobs $SYNC_JOBS, loopback, warm page cache (median of $ROUNDS) | wall | throughput | peak RSS |
|---|---|---|---|
| raw copy: curl, one at a time, same server, into files (page cache) | $(secs "$WORK/t.curl1") s | $(rate "$BYTES" "$(secs "$WORK/t.curl1")") MiB/s | |
| raw copy: curl, $JOBS in parallel, same server, into files (page cache) | $(secs "$WORK/t.curl") s | $(rate "$BYTES" "$(secs "$WORK/t.curl")") MiB/s | |
| raw copy: the same, then \`sync\` (on disk) | $(secs "$WORK/t.curlsync") s | $(rate "$BYTES" "$(secs "$WORK/t.curlsync")") MiB/s | |
| \`mirror sync\` from empty (stream, sha256, fsync, rename, metadata) | $(secs "$WORK/t.sync") s | $(rate "$BYTES" "$(secs "$WORK/t.sync")") MiB/s | $(rss_mib "$WORK/t.sync") MiB |
| \`mirror export\` of the mirror, one bundle of $(rate "$BUNDLE" 1) MiB (read, sha256, write, fsync) | $(secs "$WORK/t.export") s | $(rate "$BYTES" "$(secs "$WORK/t.export")") MiB/s | $(rss_mib "$WORK/t.export") MiB |
| reference: \`tar -c\` of the same files (page cache) | $(secs "$WORK/t.tarc") s | $(rate "$BYTES" "$(secs "$WORK/t.tarc")") MiB/s | |
| reference: \`tar -c\`, then \`sync\` (on disk) | $(secs "$WORK/t.tarcsync") s | $(rate "$BYTES" "$(secs "$WORK/t.tarcsync")") MiB/s | |
| \`mirror import\` of the bundle into an empty folder (sha256, fsync, rename, metadata) | $(secs "$WORK/t.import") s | $(rate "$BYTES" "$(secs "$WORK/t.import")") MiB/s | $(rss_mib "$WORK/t.import") MiB |
| reference: \`tar -x\` of the bundle (page cache) | $(secs "$WORK/t.tarx") s | $(rate "$BYTES" "$(secs "$WORK/t.tarx")") MiB/s | |
| reference: \`tar -x\` of the bundle, then \`sync\` (on disk) | $(secs "$WORK/t.tarxsync") s | $(rate "$BYTES" "$(secs "$WORK/t.tarxsync")") MiB/s | |
| \`mirror sync\` again, nothing new | $(secs "$WORK/t.noop") s | | $(rss_mib "$WORK/t.noop") MiB |
| \`mirror verify\` (rehash everything) | $(secs "$WORK/t.verify") s | $(rate "$BYTES" "$(secs "$WORK/t.verify")") MiB/s | $(rss_mib "$WORK/t.verify") MiB |
| reference: \`cp -r\` of the files | $(secs "$WORK/t.cp") s | $(rate "$BYTES" "$(secs "$WORK/t.cp")") MiB/s | |
| reference: \`sha256sum\` of the files (one core) | $(secs "$WORK/t.sha") s | $(rate "$BYTES" "$(secs "$WORK/t.sha")") MiB/s | |

\`mirror sync\` throughput as a share of $JOBS parallel curls' (curl time / sync time), per round:$RATIOS

| peak memory of \`mirror sync\`, $MEM_FILES files, --jobs $SYNC_JOBS | peak RSS |
|---|---|
| $SMALL_MB MiB files | $(rss_mib "$WORK/t.mem$SMALL_MB") MiB |
| $BIG_MB MiB files | $(rss_mib "$WORK/t.mem$BIG_MB") MiB |
| $SIZE_MB MiB files ($FILES of them) | $(rss_mib "$WORK/t.sync") MiB |

| $ENTRIES entries, 1 KiB files | wall | peak RSS |
|---|---|---|
| \`mirror sync\` from empty | $(secs "$WORK/t.many") s | $(rss_mib "$WORK/t.many") MiB |
| \`mirror sync\` again, nothing new (best of 5; list fetched over http) | $(secs "$WORK/t.manynoop") s | $(rss_mib "$WORK/t.manynoop") MiB |
| \`mirror sync --offline\` again (list read from a file) | $(secs "$WORK/t.manyoffline") s | $(rss_mib "$WORK/t.manyoffline") MiB |
EOF
