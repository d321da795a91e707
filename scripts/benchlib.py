"""What the benchmark scripts share: the release build of the shim, a
metadata document of N entries, and a quiet HTTP server on 127.0.0.1.
Imported by the scripts beside it (`python3 scripts/NAME.py` puts this
folder first on `sys.path`); not a benchmark itself."""
import os, subprocess, threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(*args, **kw):
    return subprocess.run(args, check=True, **kw)


def target_dir():
    """Cargo's target folder (`CARGO_TARGET_DIR`, else `target/`)."""
    return os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))


def build_release(target=None, rustflags=None):
    """`cargo build --release --locked` (for `target`, with `rustflags`
    added to RUSTFLAGS); returns the binary's path."""
    env = dict(os.environ)
    if rustflags:
        env["RUSTFLAGS"] = (env.get("RUSTFLAGS", "") + " " + rustflags).strip()
    cmd = ["cargo", "build", "--release", "--locked", "--quiet"]
    if target:
        cmd += ["--target", target]
    sh(*cmd, cwd=ROOT, env=env)
    return os.path.join(target_dir(), *([target] if target else []), "release", "uv-shim")


def metadata(n):
    """A download-metadata document of `n` CPython entries whose URLs are
    relative to the folder it is served from."""
    doc = {}
    for i in range(n):
        minor, patch = 8 + i % 7, i // 7
        build = "20250101"
        name = f"cpython-3.{minor}.{patch}+{build}-x86_64-unknown-linux-gnu-install_only.tar.gz"
        doc[f"cpython-3.{minor}.{patch}-linux-x86_64-gnu-{i}"] = {
            "name": "cpython", "arch": {"family": "x86_64", "variant": None}, "os": "linux",
            "libc": "gnu", "major": 3, "minor": minor, "patch": patch % 256, "prerelease": "",
            "url": f"{build}/{name.replace('+', '%2B')}", "sha256": "ab" * 32,
            "variant": None, "build": build,
        }
    return doc


class Quiet(SimpleHTTPRequestHandler):
    """Serves files without logging every request."""

    def log_message(self, *a):
        pass


def serve(directory, handler=Quiet, tls_context=None):
    """Serves `directory` on 127.0.0.1 (a free port) from a daemon thread,
    over TLS when given an `ssl.SSLContext`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), lambda *a, **k: handler(*a, directory=directory, **k))
    if tls_context:
        server.socket = tls_context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
