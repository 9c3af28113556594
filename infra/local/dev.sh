#!/usr/bin/env bash
# `make dev`: the local AWS emulator, its resources and demo catalog, and every HTTP function
# behind `cargo lambda watch` on the production paths. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/../.."

logs=target/local
mkdir -p "$logs"
port=${AWS_ENDPOINT_URL##*:}
watch_group=""

stop() {
  trap - EXIT INT TERM
  if [ -n "$watch_group" ]; then kill -TERM -- "-$watch_group" 2>/dev/null || true; fi
  if [ -n "${moto_pid:-}" ]; then kill "$moto_pid" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  echo "make dev: stopped"
}
trap stop EXIT INT TERM

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if listening "$port"; then
  echo "make dev: reusing the emulator already on port $port"
else
  # The emulator exits by itself if this script dies without cleaning up.
  .venv/bin/python infra/local/moto_server.py --port "$port" --parent-pid $$ >"$logs/moto.log" 2>&1 &
  moto_pid=$!
  for _ in $(seq 100); do listening "$port" && break; sleep 0.1; done
  listening "$port" || { echo "the emulator did not start; see $logs/moto.log" >&2; exit 1; }
fi

cargo run --quiet -p tests --bin local-stack -- bootstrap

# Its own process group, so that stopping it also stops the functions it runs.
PATH="$PWD/.venv/bin:$PATH" setsid cargo lambda watch \
  --invoke-address 127.0.0.1 --invoke-port "$API_PORT" \
  --env-var "TABLE_NAME=$TABLE_NAME,DEV_JWT_SECRET=$DEV_JWT_SECRET,AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL,AWS_REGION=$AWS_REGION,AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY" &
watch_group=$!
echo "make dev: API on http://127.0.0.1:$API_PORT (Ctrl-C stops); make token ROLE=client SUB=alice"
wait "$watch_group"
