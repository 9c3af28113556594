#!/usr/bin/env bash
# `make bench`: the console's first load in Chromium, through `make dev`'s stack on free
# loopback ports (stopped at the end): the bytes the services page and its assets transfer,
# and the time until the services list is shown. Appends to BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
api=$(free_port)
export AWS_ENDPOINT_URL="http://127.0.0.1:$(free_port)" API_PORT=$api PANEL_PORT=$(free_port)
export DEV_JWT_SECRET=bench-console-secret TABLE_NAME=services SCHEDULE_INTERVAL_SECONDS=3600
export AWS_REGION=${AWS_REGION:-us-east-1} AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
mkdir -p target
setsid bash infra/local/dev.sh >target/bench-console-dev.log 2>&1 &
stack=$!
trap 'kill -TERM -- "-$stack" 2>/dev/null || true; wait "$stack" 2>/dev/null || true' EXIT
for _ in $(seq 600); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$api/product-types")" = 401 ] && break
  sleep 0.5
done
token() { python3 infra/local/dev_token.py "$1" "$2" | tail -n 1; }
# A list to show: alice's orders.
for _ in 1 2 3; do
  curl -sf -o /dev/null -X POST -H "authorization: Bearer $(token client alice)" -H 'content-type: application/json' \
    -d '{"tariff_id": "vps-start", "period_months": 1, "params": {"os_template": "debian-12"}}' "http://127.0.0.1:$api/services"
done
result=$(.venv/bin/python tests/browser/console_test.py --url "http://127.0.0.1:$api" \
  --alice "$(token client alice)" --bob "$(token client bob)" --provider "$(token provider ops)" --bench)
echo "$result"
python3 - "$result" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
with open("BENCHMARKS.md", "a") as report:
    report.write(
        "\n## The console's first load\n\n"
        "`/console/services` signed in, in a fresh Chromium context (no cache), through `make dev` "
        "(`cargo lambda watch`, debug build) on loopback: every response of the page, its assets and "
        f"its API calls ({r['requests']} requests: {', '.join(r['urls'])}), and the time until the "
        "services table is visible (median of 5 loads). The function sends the files uncompressed; "
        "the gzip figure is what a compressing CDN or browser cache would carry.\n\n"
        "| transferred (bytes) | gzip (bytes) | budget | services list shown, p50 (ms) |\n|---:|---:|---:|---:|\n"
        f"| {r['transferred_bytes_uncompressed']} | {r['transferred_bytes_gzip']} | 153600 | {r['services_table_visible_ms_median']} |\n"
    )
PY
