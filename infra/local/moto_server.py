"""The local AWS emulator: moto server on loopback, single-threaded.

moto is not safe under concurrent requests (two conditional writers can both win), so every
request is served one at a time, which makes each one atomic as in DynamoDB.

Usage: moto_server.py [--host 127.0.0.1] [--port 4566] [--parent-pid PID]
With --parent-pid the server exits by itself once that process is gone, so a test run that
started it never leaves it behind.
"""

import argparse
import os
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

from parent_watch import exit_with_parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--parent-pid", type=int)
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("the emulator listens on loopback only")
    if args.parent_pid:
        exit_with_parent(args.parent_pid)
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, app, threaded=False, use_reloader=False)


if __name__ == "__main__":
    main()
