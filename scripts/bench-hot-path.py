#!/usr/bin/env python3
"""Benchmark: what the shim adds to a `uv` call.

Runs the real uv directly, through the shim (as `uv`), and through a bare C
`execv` trampoline (the floor any exec-ing wrapper pays), interleaved in
random order in one run, and reports the median of each and the shim's
overhead in ms and as a ratio. Cases:

  warm     fresh cache: the hot path (no network)
  stale    TTL expired: one conditional request answered 304
  cold     empty cache: fetch, validate and write the metadata

Usage: python3 scripts/bench-hot-path.py [--rounds N] [--entries N]
           [--target TRIPLE | --shim BINARY ...]
  --target TRIPLE  build the release binary for TRIPLE (e.g. the static
                   x86_64-unknown-linux-musl build) instead of the host's
  --shim BINARY    time this shim binary instead of building one; give it
                   twice or more to compare builds in the same interleaved run
Needs: cargo, python3 with pip (to fetch uv from PyPI), cc.
"""
import argparse, json, os, random, shutil, statistics, subprocess, sys, tempfile, time

from benchlib import ROOT, metadata, serve, sh
import benchlib

UV_VERSION = "0.13.9"


def real_uv():
    dest = os.path.join(ROOT, "target", "test-tools", f"uv-{UV_VERSION}")
    uv = os.path.join(dest, "bin", "uv")
    if not os.path.exists(uv):
        sh(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--no-deps", "--target", dest, f"uv=={UV_VERSION}")
    return uv


def build_shim(target=None):
    """Builds the shim the way install.sh does (static on glibc Linux), or
    the release build for `target`."""
    if target:
        return benchlib.build_release(target)
    host = subprocess.run(["rustc", "-vV"], check=True, capture_output=True, text=True).stdout
    host = next(l.split(": ", 1)[1] for l in host.splitlines() if l.startswith("host: "))
    if host.endswith("-linux-gnu"):
        return benchlib.build_release(host, "-C target-feature=+crt-static")
    return benchlib.build_release()


def trampoline(work, uv):
    src = os.path.join(work, "tramp.c")
    with open(src, "w") as f:
        f.write('#include <unistd.h>\nint main(int c, char **v) { (void)c; v[0] = "%s"; execv(v[0], v); return 127; }\n' % uv)
    out = os.path.join(work, "tramp")
    sh("cc", "-O2", "-o", out, src)
    return out


def timed(cmd, env):
    # A shim runs with its own folder first on PATH, as when installed.
    env = dict(env, PATH=f"{os.path.dirname(cmd[0])}:{env['PATH']}")
    t = time.perf_counter_ns()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return (time.perf_counter_ns() - t) / 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--entries", type=int, default=1000, help="metadata entries served")
    ap.add_argument("--json", help="also write the figures to this file")
    pick = ap.add_mutually_exclusive_group()
    pick.add_argument("--target", help="build the release binary for this target triple")
    pick.add_argument("--shim", action="append", help="time this binary (repeatable)")
    args = ap.parse_args()

    uv = real_uv()
    shims = [os.path.abspath(s) for s in args.shim] if args.shim else [build_shim(args.target)]
    # One column per shim: "shim", or "shim 1", "shim 2", … when comparing.
    names = ["shim"] if len(shims) == 1 else [f"shim {i + 1}" for i in range(len(shims))]
    work = tempfile.mkdtemp(prefix="uv-shim-bench-")
    try:
        www = os.path.join(work, "www", "uv")
        os.makedirs(www)
        with open(os.path.join(www, "download-metadata.json"), "w") as f:
            json.dump(metadata(args.entries), f)
        server = serve(os.path.join(work, "www"))
        base = f"http://127.0.0.1:{server.server_address[1]}/uv/"
        etc, cache = (os.path.join(work, d) for d in ("etc", "cache"))
        for d in (etc, cache):
            os.makedirs(d)
        # Each shim as `uv` in a folder of its own; the real uv is found on PATH after it.
        shim_uvs = {}
        for name, shim in zip(names, shims):
            bindir = os.path.join(work, "bin", name.replace(" ", "-"))
            os.makedirs(bindir)
            os.symlink(shim, os.path.join(bindir, "uv"))
            shim_uvs[name] = os.path.join(bindir, "uv")
            print(f"{name}: {shim} ({os.path.getsize(shim) / 2**20:.1f} MiB)")
        tramp = trampoline(work, uv)
        env = {
            "PATH": f"{os.path.dirname(uv)}:/usr/bin:/bin",
            "HOME": work, "XDG_CONFIG_HOME": os.path.join(work, "config"),
            "UV_SHIM_SYSTEM_CONFIG_DIR": etc, "UV_SHIM_CACHE_DIR": cache,
            "UV_CACHE_DIR": os.path.join(work, "uvcache"),
            "UV_PYTHON_INSTALL_DIR": os.path.join(work, "python"),
        }

        def config(ttl):
            with open(os.path.join(etc, "shim.toml"), "w") as f:
                f.write(f'mirror = "{base}"\nttl = "{ttl}"\n')

        results = {}
        for label, uv_args in (("--version", ["--version"]),
                               ("python list --only-installed", ["python", "list", "--only-installed"])):
            config("1h")
            for shim_uv in shim_uvs.values():
                timed([shim_uv, "--version"], env)
            variants = {"direct": [uv] + uv_args, "trampoline": [tramp] + uv_args}
            variants.update({name: [shim_uv] + uv_args for name, shim_uv in shim_uvs.items()})
            samples = {k: [] for k in variants}
            for _ in range(args.rounds):
                order = list(variants)
                random.shuffle(order)
                for k in order:
                    samples[k].append(timed(variants[k], env))
            results[f"warm {label}"] = {k: statistics.median(v) for k, v in samples.items()}

        # Stale: ttl 0s, so every shim call revalidates (the server answers 304? python's
        # SimpleHTTPRequestHandler honours If-Modified-Since).
        config("0s")
        programs = dict(direct=uv, **shim_uvs)
        samples = {k: [] for k in programs}
        for _ in range(max(args.rounds // 3, 20)):
            for k in random.sample(list(samples), len(samples)):
                samples[k].append(timed([programs[k], "--version"], env))
        results["stale --version (304)"] = {k: statistics.median(v) for k, v in samples.items()}

        # Cold: empty cache before every shim call.
        config("1h")
        samples = {k: [] for k in programs}
        for _ in range(max(args.rounds // 3, 20)):
            for k in random.sample(list(samples), len(samples)):
                if k != "direct":
                    shutil.rmtree(cache)
                samples[k].append(timed([programs[k], "--version"], env))
        results[f"cold --version ({args.entries} entries)"] = {k: statistics.median(v) for k, v in samples.items()}
        server.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"uv {UV_VERSION}, {args.rounds} rounds, medians in ms (interleaved, random order)\n")
    print(f"{'case':<42} {'uv':>8} {'tramp.':>8}" + "".join(f" {n:>8} {'overhead':>9} {'ratio':>6}" for n in names))
    for case, r in results.items():
        tramp = f"{r['trampoline']:8.2f}" if "trampoline" in r else f"{'-':>8}"
        row = f"{case:<42} {r['direct']:8.2f} {tramp}"
        for n in names:
            row += f" {r[n]:8.2f} {r[n] - r['direct']:+9.2f} {r[n] / r['direct']:6.2f}"
        print(row)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
