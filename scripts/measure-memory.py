#!/usr/bin/env python3
"""Peak memory of a cold shim call: how much RAM validating the mirror's
metadata costs.

Serves metadata documents over HTTP on 127.0.0.1 and runs the shim as `uv`
(the real uv replaced by /bin/true, so only the shim's work is measured)
with an empty cache, so each call fetches, validates and writes the
document. The peak resident set size is GNU time's %M (the kernel's
high-water mark, kept across the exec into /bin/true). The call must leave
a validated copy in the cache, else the figure is meaningless and the
script says so.

Documents:
  upstream        uv's own list (tests/fixtures/download-metadata-2026-08-18.json.gz, 3 MB)
  entries-64MiB   real entries repeated under new keys, just under the 64 MiB cap
  array-64MiB     one good entry with an unknown field holding a 64 MiB array of zeros
                  (the worst case for a parser that builds a tree of values)

Usage: python3 scripts/measure-memory.py [--binary PATH] [--rounds N] [--only NAME]
Without --binary it builds the release binary (cargo build --release).
"""
import argparse, gzip, json, os, subprocess, sys, tempfile

from benchlib import ROOT, build_release, serve

FIXTURE = os.path.join(ROOT, "tests", "fixtures", "download-metadata-2026-08-18.json.gz")
CAP = 64 * 1024 * 1024  # fetch::MAX_BODY
TIME = "/usr/bin/time"  # GNU time (Debian: the `time` package)
SLACK = 4096  # stay safely under the cap


def upstream():
    with gzip.open(FIXTURE, "rb") as f:
        return f.read()


def entries_64(up):
    """Real entries under new keys, written as uv writes them, up to the cap."""
    entries = list(json.loads(up).items())
    parts, size, i = [], 2, 0
    while True:
        key, entry = entries[i % len(entries)]
        text = json.dumps(f"{key}-{i}") + ":" + json.dumps(entry, separators=(",", ":"))
        if size + len(text) + 1 > CAP - SLACK:
            break
        parts.append(text)
        size += len(text) + 1
        i += 1
    return ("{" + ",".join(parts) + "}").encode()


def array_64(up):
    """One good entry whose unknown field is a huge array of small numbers."""
    key, entry = next(iter(json.loads(up).items()))
    head = json.dumps({key: entry}, separators=(",", ":"))[:-2] + ',"x-padding":['
    tail = "]}}"
    count = (CAP - SLACK - len(head) - len(tail)) // 2
    return (head + ",".join(["0"] * count) + tail).encode()


def cold_call(shim_uv, env, cache):
    """One call with an empty cache: (peak RSS in MiB, seconds, copy written, stderr)."""
    subprocess.run(["rm", "-rf", cache], check=True)
    # GNU time reports the peak of its own child. (The rusage of a child of
    # this script would start from the script's own peak: a forked child
    # inherits its parent's high-water mark until it execs.)
    proc = subprocess.run([TIME, "-f", "%M %e", shim_uv, "--version"], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    *said, figures = proc.stderr.strip().splitlines()
    kib, secs = figures.split()
    folder = os.path.join(cache, "metadata")
    copies = [n for n in os.listdir(folder) if n.endswith(".json")] if os.path.isdir(folder) else []
    ok = proc.returncode == 0 and bool(copies)
    return int(kib) / 1024, float(secs), ok, "\n".join(said)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", help="the uv-shim binary to measure (default: build the release binary)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", help="measure one document only")
    args = ap.parse_args()
    if not os.access(TIME, os.X_OK):
        sys.exit(f"{TIME} is missing: install GNU time (Debian: apt-get install time)")
    shim = os.path.abspath(args.binary) if args.binary else build_release()
    up = upstream()
    docs = {"upstream": lambda: up, "entries-64MiB": lambda: entries_64(up), "array-64MiB": lambda: array_64(up)}
    with tempfile.TemporaryDirectory() as work:
        www = os.path.join(work, "www")
        for name, make in docs.items():
            if args.only and name != args.only:
                continue
            os.makedirs(os.path.join(www, name))
            with open(os.path.join(www, name, "download-metadata.json"), "wb") as f:
                f.write(make())
        server = serve(www)
        etc, cache, bindir = (os.path.join(work, d) for d in ("etc", "cache", "bin"))
        for d in (etc, bindir):
            os.makedirs(d)
        os.symlink(shim, os.path.join(bindir, "uv"))
        env = {
            "PATH": f"{bindir}:/usr/bin:/bin",
            "HOME": work, "XDG_CONFIG_HOME": os.path.join(work, "config"),
            "UV_SHIM_SYSTEM_CONFIG_DIR": etc, "UV_SHIM_CACHE_DIR": cache,
            "UV_SHIM_REAL_UV": "/bin/true", "UV_SHIM_HTTP_TIMEOUT": "60s",
        }
        print(f"binary: {shim}")
        print(f"{'document':<16} {'body':>9} {'peak RSS (max of rounds)':>25} {'ratio':>6} {'time':>7}")
        for name in docs:
            if args.only and name != args.only:
                continue
            body = os.path.getsize(os.path.join(www, name, "download-metadata.json"))
            env["UV_SHIM_MIRROR"] = f"http://127.0.0.1:{server.server_address[1]}/{name}/"
            runs = [cold_call(os.path.join(bindir, "uv"), env, cache) for _ in range(args.rounds)]
            failed = [r for r in runs if not r[2]]
            peak = max(r[0] for r in runs)
            secs = sorted(r[1] for r in runs)[len(runs) // 2]
            note = "" if not failed else f"  NO VALID COPY: {failed[0][3][:200]}"
            print(f"{name:<16} {body / 2**20:>7.1f}Mi {peak:>22.1f}MiB {peak / (body / 2**20):>5.1f}x {secs:>6.2f}s{note}")
        server.shutdown()


if __name__ == "__main__":
    sys.exit(main())
