"""`make import-demo`: stages the WHMCS export in infra/local/whmcs-demo/ as an import into the
stack `make dev` serves, uploads its files, and prints its preview. The provider console's
Imports page (/console/imports) shows it and applies it. Standard library only.

Usage: import_demo.py API_BASE
"""

import json
import os
import pathlib
import sys
import time
import urllib.error
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
DEMO = HERE / "whmcs-demo"
sys.path.insert(0, str(HERE))
import dev_token  # noqa: E402

FILES = ["GetClients.json"] + [f"GetClientsDetails-{n}.json" for n in range(1, 5)] + [
    "GetClientsProducts-0.json",
    "GetClientsProducts-1.json",
]


def call(api, token, method, path, body=None):
    data = None if body is None else body.encode() if isinstance(body, str) else json.dumps(body).encode()
    request = urllib.request.Request(api + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if method == "POST":
        request.add_header("Idempotency-Key", f"import-demo-{time.time_ns()}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        sys.exit(f"{method} {path}: {e.code} {e.read().decode(errors='replace')}")


def main():
    api = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:9000"
    secret = os.environ.get("DEV_JWT_SECRET", "local-development-secret")
    token = dev_token.sign({"sub": "ops", "role": "provider", "exp": int(time.time()) + 3600}, secret)
    mapping = json.loads((DEMO / "mapping.json").read_text())
    _, made = call(api, token, "POST", "/imports", {"source": "whmcs", "mapping": mapping})
    import_id = made["id"]
    for name in FILES:
        call(api, token, "PUT", f"/imports/{import_id}/files/{name}", (DEMO / name).read_text())
    for _ in range(60):
        status, page = call(api, token, "GET", f"/imports/{import_id}/preview?limit=100")
        if status == 200:
            break
        time.sleep(1)
    else:
        sys.exit("the preview did not finish")
    for item in page["items"]:
        print(f"{item['record']:8} {item['whmcs_id']:>4}  {item['action']:7} {item.get('reason', '')}")
    summary = page["summary"]
    print(f"\nclients: {summary['clients']}  services: {summary['services']}")
    print(f"import {import_id} staged: apply it at {api}/console/imports (as the provider),")
    print(f"or: curl -X POST -H 'Authorization: Bearer <provider token>' -H 'Idempotency-Key: 1' "
          f"-d '{{\"skip_errors\": true}}' {api}/imports/{import_id}/apply")


if __name__ == "__main__":
    main()
