#!/usr/bin/env python3
"""What a warm `uv` call costs in system calls: `strace -f -c` of the shim
(as `uv`) in front of a stand-in uv (a shell script that prints a version),
with a fresh metadata copy from a local file mirror, after one call has
written the warm plan. The stand-in's own calls are the same for every shim
binary, so two binaries compare directly.

Usage: python3 scripts/warm-syscalls.py [--face uv|uvx] [SHIM_BINARY ...]
       (default: the release build that scripts/bench-hot-path.py makes;
       --face uvx calls the shim as `uvx`, which hands the stand-in
       `tool uvx --version`: no uvx sits beside it)
Needs: strace.
"""
import importlib.util, json, os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("bench", os.path.join(HERE, "bench-hot-path.py"))
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def count(shim, work, face):
    root = tempfile.mkdtemp(dir=work)
    for d in ("etc", "cache", "bin", "home", "mirror"):
        os.makedirs(os.path.join(root, d))
    with open(os.path.join(root, "mirror", "download-metadata.json"), "w") as f:
        json.dump(bench.metadata(1000), f)
    fake = os.path.join(root, "fake-uv")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\necho 'uv 0.13.9'\n")
    os.chmod(fake, 0o755)
    os.symlink(shim, os.path.join(root, "bin", face))
    with open(os.path.join(root, "etc", "shim.toml"), "w") as f:
        f.write(f'mirror = "{os.path.join(root, "mirror")}"\nuv = "{fake}"\n')
    env = {
        "PATH": os.path.join(root, "bin") + ":/usr/bin:/bin",
        "HOME": os.path.join(root, "home"),
        "UV_SHIM_SYSTEM_CONFIG_DIR": os.path.join(root, "etc"),
        "UV_SHIM_CACHE_DIR": os.path.join(root, "cache"),
        "UV_SHIM_RESOLV_CONF": "/dev/null",
    }
    uv = os.path.join(root, "bin", face)
    subprocess.run([uv, "--version"], env=env, check=True, capture_output=True)
    out = os.path.join(root, "strace.txt")
    subprocess.run(["strace", "-f", "-c", "-o", out, uv, "--version"], env=env, check=True,
                   capture_output=True)
    calls = {}
    for line in open(out):
        parts = line.split()
        if len(parts) >= 5 and parts[-1].isidentifier() and parts[-1] not in ("syscall", "total"):
            calls[parts[-1]] = int(parts[3])
    return calls


def main():
    args = sys.argv[1:]
    face = "uv"
    if args[:1] == ["--face"]:
        face, args = args[1], args[2:]
    shims = args or [bench.build_shim()]
    with tempfile.TemporaryDirectory() as work:
        results = [(s, count(os.path.abspath(s), work, face)) for s in shims]
    names = sorted({n for _, c in results for n in c})
    print("syscall".ljust(20) + "".join(f"{i + 1:>10}" for i in range(len(results))))
    for n in names:
        print(n.ljust(20) + "".join(f"{c.get(n, 0):>10}" for _, c in results))
    print("total".ljust(20) + "".join(f"{sum(c.values()):>10}" for _, c in results))
    for i, (s, _) in enumerate(results):
        print(f"{i + 1}: {s}")


if __name__ == "__main__":
    main()
