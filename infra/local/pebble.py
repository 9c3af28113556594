"""Let's Encrypt's test certificate authority, Pebble (Debian's `pebble` package), for the ACME
module: `make dev` and the tests start it through this script.

Two instances, each with its own test root (generated at start, served by its management
interface at /roots/0):
- the demo's, which takes every validation as passed (PEBBLE_VA_ALWAYS_VALID=1);
- a validating one, which really fetches http-01 files and looks up dns-01 TXT records, from
  `pebble-challtestsrv`: a challenge server the tests publish to through its management
  interface (`POST /add-http01 {token, content}`, `POST /set-txt {host, value}`), which also
  answers every name's A query with 127.0.0.1.

Their ACME endpoints are HTTPS with a certificate for 127.0.0.1 made here (`{dir}/tls.pem`): the
worker trusts it through ACME_CA_ROOTS. Pebble's log (`{dir}/*.log`) has one line per request.

Usage: pebble.py --dir DIR [--demo-port 14000] [--demo-management-port 15000] [--port 14001]
                 [--management-port 15001] [--http-port 5002] [--dns-port 8053]
                 [--challenges-port 8055] [--authz-reuse 0] [--parent-pid PID]
"""

import argparse
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

# The switches that keep Pebble deterministic enough to test against: no random sleep before a
# validation, no refused nonces, a fresh authorization for every order, certificates for a year.
COMMON_ENV = {
    "PEBBLE_VA_NOSLEEP": "1",
    "PEBBLE_WFE_NONCEREJECT": "0",
    "PEBBLE_AUTHZREUSE": "0",
}
# A year less an hour: within the 12 months a certificate tariff sells, so that a service runs
# exactly until its certificate's notAfter.
VALIDITY_SECONDS = 365 * 86400 - 3600


def tls_certificate(directory: pathlib.Path) -> None:
    """A root (`tls.pem`, which clients trust) and the certificate it signs for 127.0.0.1 and
    localhost (`tls-cert.pem`, which Pebble serves): TLS clients take no self-signed server
    certificate as its own root."""
    root, root_key = directory / "tls.pem", directory / "tls-root-key.pem"
    cert, key = directory / "tls-cert.pem", directory / "tls-key.pem"
    if root.exists() and cert.exists() and key.exists():
        return
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", *ec, "-keyout", str(root_key), "-out", str(root), "-days", "3650",
        "-subj", "/CN=pebble test TLS root")
    request = directory / "tls.csr"
    run("req", "-new", *ec, "-keyout", str(key), "-out", str(request), "-subj", "/CN=127.0.0.1")
    extensions = directory / "tls.ext"
    extensions.write_text("basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", str(request), "-CA", str(root), "-CAkey", str(root_key), "-CAcreateserial",
        "-out", str(cert), "-days", "3650", "-extfile", str(extensions))


def pebble(directory: pathlib.Path, tls: pathlib.Path, name: str, ports: tuple, http_port: int, env: dict,
           dns: str | None):
    port, management_port = ports
    config = {"pebble": {
        "listenAddress": f"127.0.0.1:{port}",
        "managementListenAddress": f"127.0.0.1:{management_port}",
        "certificate": str(tls / "tls-cert.pem"),
        "privateKey": str(tls / "tls-key.pem"),
        "httpPort": http_port,
        "tlsPort": http_port + 1,
        "ocspResponderURL": "",
        "externalAccountBindingRequired": False,
        "certificateValidityPeriod": VALIDITY_SECONDS,
    }}
    config_path = directory / f"{name}.json"
    config_path.write_text(json.dumps(config))
    command = ["pebble", "-config", str(config_path)] + (["-dnsserver", dns] if dns else [])
    log = open(directory / f"{name}.log", "w")
    return subprocess.Popen(command, env={**os.environ, **COMMON_ENV, **env}, stdout=log, stderr=log)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--tls-dir", help="where the TLS root and certificate are (made if missing; default --dir)")
    parser.add_argument("--demo-port", type=int, default=14000)
    parser.add_argument("--demo-management-port", type=int, default=15000)
    parser.add_argument("--port", type=int, default=14001)
    parser.add_argument("--management-port", type=int, default=15001)
    parser.add_argument("--http-port", type=int, default=5002)
    parser.add_argument("--dns-port", type=int, default=8053)
    parser.add_argument("--challenges-port", type=int, default=8055)
    parser.add_argument("--authz-reuse", default="0", help="percent of new orders that reuse a valid authorization")
    parser.add_argument("--parent-pid", type=int)
    args = parser.parse_args()
    directory = pathlib.Path(args.dir).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    tls = pathlib.Path(args.tls_dir).resolve() if args.tls_dir else directory
    tls.mkdir(parents=True, exist_ok=True)
    tls_certificate(tls)
    challenges_log = open(directory / "challenges.log", "w")
    children = [
        pebble(directory, tls, "pebble-demo", (args.demo_port, args.demo_management_port), args.http_port, {"PEBBLE_VA_ALWAYS_VALID": "1"}, None),
        subprocess.Popen(
            ["pebble-challtestsrv", "-http01", f"127.0.0.1:{args.http_port}", "-https01", "",
             "-tlsalpn01", "", "-dns01", f"127.0.0.1:{args.dns_port}",
             "-management", f"127.0.0.1:{args.challenges_port}", "-defaultIPv6", ""],
            stdout=challenges_log, stderr=challenges_log,
        ),
        pebble(directory, tls, "pebble", (args.port, args.management_port), args.http_port,
               {"PEBBLE_AUTHZREUSE": args.authz_reuse}, f"127.0.0.1:{args.dns_port}"),
    ]

    def stop(*_):
        for child in children:
            child.terminate()
        for child in children:
            child.wait()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # Everything stops with the process that started it (a test run, `make dev`), so that none is
    # left behind.
    while True:
        for child in children:
            if child.poll() is not None:
                print(f"{child.args[0]} exited with {child.returncode}", file=sys.stderr)
                stop()
        if args.parent_pid and not alive(args.parent_pid):
            stop()
        time.sleep(0.5)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
