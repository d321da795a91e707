#!/usr/bin/env python3
"""Benchmark: what certificates and credentials cost one metadata fetch.

Times `uv-shim refresh` on an empty cache (one fetch of a 1000-entry metadata
document, validated and written to the cache), median wall and CPU time of N rounds, against a server on
127.0.0.1 that this script starts, in these cases:

  http                      plain http, for reference
  http, 401 then netrc      basic auth: asked without credentials, then with the netrc's
  https, SSL_CERT_FILE      a CA made here, named by SSL_CERT_FILE (one bundle loaded)
  https, system store       the same CA only in the system store (root only: the script
                            re-runs itself in a private mount namespace and bind-mounts
                            the system bundle plus the CA over /etc/ssl/certs/ca-certificates.crt);
                            both root stores are loaded: the bundled roots, then the system's
  https, refused            nobody trusts the CA: the fetch fails at the handshake

Usage: python3 scripts/bench-tls.py [--rounds N] [--shim PATH]
Needs: cargo (unless --shim), openssl (Debian's binary), python3; root for the
system-store case. The real uv is not needed (UV_SHIM_REAL_UV=/bin/true).
"""
import argparse, base64, json, os, shutil, ssl, statistics, subprocess, sys, tempfile, time

import benchlib
from benchlib import ROOT, Quiet, metadata, sh

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
SECRET = ("ann", "s3cret")


def make_ca(work):
    """A CA and a certificate for 127.0.0.1 it signed, with Debian's openssl."""
    ca_key, ca, key, csr, cert = (os.path.join(work, n) for n in ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem"))
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=uv-shim bench CA", **quiet)
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1", **quiet)
    ext = os.path.join(work, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    sh("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
       "-out", cert, "-days", "2", "-extfile", ext, **quiet)
    return ca, cert, key


def serve(directory, tls=None, login=None):
    expected = "Basic " + base64.b64encode(":".join(login).encode()).decode() if login else None

    class Handler(Quiet):
        def do_GET(self):
            if expected and self.headers.get("Authorization") != expected:
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="mirror"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super().do_GET()

    context = None
    if tls:
        cert, key = tls
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
    server = benchlib.serve(directory, Handler, context)
    scheme = "https" if tls else "http"
    return f"{scheme}://127.0.0.1:{server.server_address[1]}/uv/"


def timed(cmd, env, ok=True):
    """Wall time and CPU time (user + system) of one run, in ms. On a shared
    machine the CPU time is the steadier figure."""
    t = time.perf_counter_ns()
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = (time.perf_counter_ns() - t) / 1e6
    code = os.waitstatus_to_exitcode(status)
    if (code == 0) != ok:
        sys.exit(f"{cmd} exited {code}, expected {'success' if ok else 'failure'}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--shim", help="the uv-shim binary (default: build the release binary)")
    ap.add_argument("--in-namespace", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if os.geteuid() == 0 and not args.in_namespace and shutil.which("unshare"):
        # Run again in a private mount namespace, where the system store can be changed.
        shim = args.shim or benchlib.build_release()
        os.execvp("unshare", ["unshare", "--mount", "--propagation", "private", sys.executable,
                              os.path.abspath(__file__), "--in-namespace", "--rounds", str(args.rounds),
                              "--shim", shim])
    shim = args.shim or benchlib.build_release()
    work = tempfile.mkdtemp(prefix="uv-shim-bench-tls-")
    try:
        www = os.path.join(work, "www")
        os.makedirs(os.path.join(www, "uv"))
        with open(os.path.join(www, "uv", "download-metadata.json"), "w") as f:
            json.dump(metadata(1000), f)
        ca, cert, key = make_ca(work)
        with open(os.path.join(work, ".netrc"), "w") as f:
            f.write(f"machine 127.0.0.1 login {SECRET[0]} password {SECRET[1]}\n")
        base_env = {
            "PATH": "/usr/bin:/bin", "HOME": work, "XDG_CONFIG_HOME": os.path.join(work, "config"),
            "UV_SHIM_REAL_UV": "/bin/true", "UV_SHIM_CACHE_DIR": os.path.join(work, "cache"),
            "UV_SHIM_RESOLV_CONF": "/dev/null",
        }

        def case(base, extra=None, ok=True):
            env = dict(base_env, UV_SHIM_MIRROR=base, **(extra or {}))
            samples = []
            for _ in range(args.rounds):
                # An empty cache every time: a full fetch, not a 304.
                shutil.rmtree(base_env["UV_SHIM_CACHE_DIR"], ignore_errors=True)
                samples.append(timed([shim, "refresh"], env, ok))
            return tuple(statistics.median(column) for column in zip(*samples))

        rows = [
            ("http", case(serve(www))),
            ("http, 401 then netrc", case(serve(www, login=SECRET))),
            ("https, SSL_CERT_FILE", case(serve(www, tls=(cert, key)), {"SSL_CERT_FILE": ca})),
        ]
        https = serve(www, tls=(cert, key))
        if args.in_namespace:
            bundle = os.path.join(work, "system-bundle.pem")
            with open(bundle, "w") as out, open(SYSTEM_BUNDLE) as system, open(ca) as mine:
                out.write(system.read() + "\n" + mine.read())
            sh("mount", "--bind", bundle, SYSTEM_BUNDLE)
            rows.append(("https, system store", case(https)))
            sh("umount", SYSTEM_BUNDLE)
        else:
            print("(https, system store: skipped, needs root)")
        rows.append(("https, refused", case(https, ok=False)))
        print(f"shim: {shim}; median of {args.rounds} `uv-shim refresh` runs, 1000 entries")
        print(f"  {'case':<24} {'wall':>9} {'cpu':>9}")
        for label, (wall, cpu) in rows:
            print(f"  {label:<24} {wall:6.1f} ms {cpu:6.1f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
