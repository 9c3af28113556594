#!/usr/bin/env bash
# `make dev`: the local AWS emulator, the reference control panel, Pebble, the resources and demo
# catalog, every function behind `cargo lambda watch` on the production paths, the bridge
# (operations queue to the worker, table stream to the events publisher, notifications queue
# to the notifier), and the firing of the scheduled jobs every SCHEDULE_INTERVAL_SECONDS.
# `make events` and `make mail` show what was published and sent. Ctrl-C stops everything it
# started.
set -euo pipefail
cd "$(dirname "$0")/../.."

logs=target/local
mkdir -p "$logs"
port=${AWS_ENDPOINT_URL##*:}
pids=()
watch_group=""

stop() {
  trap - EXIT INT TERM
  if [ -n "$watch_group" ]; then kill -TERM -- "-$watch_group" 2>/dev/null || true; fi
  if [ ${#pids[@]} -gt 0 ]; then kill "${pids[@]}" 2>/dev/null || true; fi
  wait 2>/dev/null || true
  echo "make dev: stopped"
}
trap stop EXIT INT TERM

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {
  for _ in $(seq 100); do listening "$1" && return 0; sleep 0.1; done
  echo "$2 did not start; see $logs" >&2
  exit 1
}

if listening "$port"; then
  echo "make dev: reusing the emulator already on port $port"
else
  # The emulator and the panel exit by themselves if this script dies without cleaning up.
  .venv/bin/python infra/local/moto_server.py --port "$port" --parent-pid $$ >"$logs/moto.log" 2>&1 &
  pids+=($!)
  wait_for "$port" "the emulator"
fi
python3 infra/local/panel.py --port "$PANEL_PORT" --parent-pid $$ >"$logs/panel.log" 2>&1 &
pids+=($!)
wait_for "$PANEL_PORT" "the reference panel"
# Let's Encrypt's test authority for the ssl type (infra/local/pebble.py): the demo's instance
# on 14000 takes every validation as passed; the validating one is on 14001.
python3 infra/local/pebble.py --dir "$logs/pebble" --parent-pid $$ >"$logs/pebble.log" 2>&1 &
pids+=($!)
wait_for 14000 "Pebble"
wait_for 14001 "Pebble"

bootstrap=$(PANEL_URL="http://127.0.0.1:$PANEL_PORT" ACME_DIRECTORY_URL=https://127.0.0.1:14000/dir \
  cargo run --quiet -p tests --bin local-stack -- bootstrap)
echo "$bootstrap"
export OPERATIONS_QUEUE_URL=${bootstrap##*OPERATIONS_QUEUE_URL=}

# Its own process group, so that stopping it also stops the functions it runs.
PATH="$PWD/.venv/bin:$PATH" setsid cargo lambda watch \
  --invoke-address 127.0.0.1 --invoke-port "$API_PORT" \
  --env-var "TABLE_NAME=$TABLE_NAME,DEV_JWT_SECRET=$DEV_JWT_SECRET,AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL" \
  --env-var "AWS_REGION=$AWS_REGION,AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY" \
  --env-var "OPERATIONS_QUEUE_URL=$OPERATIONS_QUEUE_URL,OPERATIONS_RETRY_BASE_SECONDS=2" \
  --env-var "EVENT_BUS_NAME=services,NOTIFICATIONS_FROM=notifications@hosting.example" \
  --env-var "CONSOLE_URL=http://127.0.0.1:$API_PORT/console/account" \
  --env-var "ACME_CA_ROOTS=$PWD/$logs/pebble/tls.pem" &
watch_group=$!
wait_for "$API_PORT" "cargo lambda watch"

cargo run --quiet -p tests --bin local-stack -- bridge >"$logs/bridge.log" 2>&1 &
pids+=($!)
cargo run --quiet -p tests --bin local-stack -- schedules >"$logs/schedules.log" 2>&1 &
pids+=($!)
echo "make dev: API on http://127.0.0.1:$API_PORT (Ctrl-C stops); make token ROLE=client SUB=alice; make events; make mail"
wait "$watch_group"
