"""Prints a signed HS256 development token on its last line: dev_token.py ROLE SUB [HOURS].

The secret is DEV_JWT_SECRET, which `make dev` also hands to every function. Standard library
only, so it works before anything is built or installed.
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import time


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(claims: dict, secret: str) -> str:
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def main() -> None:
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in ("client", "provider"):
        sys.exit("usage: dev_token.py client|provider SUB [HOURS]")
    role, sub = sys.argv[1], sys.argv[2]
    hours = float(sys.argv[3]) if len(sys.argv) == 4 else 12
    secret = os.environ.get("DEV_JWT_SECRET", "")
    if not secret:
        sys.exit("DEV_JWT_SECRET is not set")
    now = int(time.time())
    print(f"# {role} token for {sub}, valid {hours:g} h")
    print(sign({"sub": sub, "role": role, "iat": now, "exp": now + int(hours * 3600)}, secret))


if __name__ == "__main__":
    main()
