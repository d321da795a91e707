#!/usr/bin/env python3
"""Writes a mirror folder of N random files of SIZE bytes, laid out and
listed (download-metadata.json, relative URLs, sha256) as `mirror sync`
writes one, to measure `mirror export` / `mirror import` without a network:

    python3 scripts/make-test-mirror.py DIR N SIZE
"""
import hashlib
import json
import os
import sys


def main():
    root, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    build = "20250101"
    meta = {}
    os.makedirs(os.path.join(root, build), exist_ok=True)
    for patch in range(count):
        name = f"cpython-3.12.{patch}+{build}-x86_64-unknown-linux-gnu-install_only.tar.gz"
        data = os.urandom(size)
        with open(os.path.join(root, build, name), "wb") as out:
            out.write(data)
        meta[f"cpython-3.12.{patch}-linux-x86_64-gnu"] = {
            "name": "cpython",
            "arch": {"family": "x86_64", "variant": None},
            "os": "linux",
            "libc": "gnu",
            "major": 3,
            "minor": 12,
            "patch": patch,
            "prerelease": "",
            "url": f"{build}/{name.replace('+', '%2B')}",
            "sha256": hashlib.sha256(data).hexdigest(),
            "variant": None,
            "build": build,
        }
    with open(os.path.join(root, "download-metadata.json"), "w") as out:
        json.dump(meta, out, indent=1)


if __name__ == "__main__":
    main()
