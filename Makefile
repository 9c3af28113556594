# The two commands: `make dev` serves the API locally, `make test` runs every check.
SHELL := /bin/bash
VENV := .venv

# The local stack: the emulator's endpoint, dummy credentials it accepts, and the development
# token secret every function verifies bearer tokens with (locally only: in AWS the API
# Gateway JWT authorizer verifies tokens and no secret is set).
export AWS_ENDPOINT_URL ?= http://127.0.0.1:4566
export AWS_REGION ?= us-east-1
export AWS_ACCESS_KEY_ID ?= test
export AWS_SECRET_ACCESS_KEY ?= test
export TABLE_NAME ?= services
export DEV_JWT_SECRET ?= local-development-secret
export API_PORT ?= 9000
export PANEL_PORT ?= 8700
export SCHEDULE_INTERVAL_SECONDS ?= 60
# SAM CLI sends no usage data from here.
export SAM_CLI_TELEMETRY ?= 0

ROLE ?= client
SUB ?= alice

.PHONY: pebble import-demo dev test bench release-builds package deploy token venv build lint unit-and-integration cfn-lint events mail browser record-paid-time invoke redrive replay-events

$(VENV)/.installed: infra/local/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/local/requirements.txt
	touch $@

venv: $(VENV)/.installed

build:
	cargo build --workspace

dev: venv build pebble
	infra/local/dev.sh

test: venv lint build browser pebble unit-and-integration cfn-lint

# Let's Encrypt's test certificate authority and its challenge server (Debian's pebble), which
# `make dev` and the tests of the ACME module run (infra/local/pebble.py); installed only when
# missing.
pebble:
	@command -v pebble >/dev/null || { apt-get update -qq && apt-get install -y -qq pebble >/dev/null; }

# The migration that gives services stored before the paid time's record was kept their record
# (safe to run again), against the stack `make dev` serves.
record-paid-time:
	@$(MAKE) -s invoke FN=record-paid-time EVENT=events/scheduled.json

# The events of the history written from FROM to TO (RFC 3339; the last 24 hours when not
# given) published again from the table, against the stack `make dev` serves.
FROM ?=
TO ?=
replay-events: venv
	@from="$(FROM)"; to="$(TO)"; from="$${from:-$$(date -u -d '-24 hours' +%Y-%m-%dT%H:%M:%SZ)}"; \
	to="$${to:-$$(date -u +%Y-%m-%dT%H:%M:%SZ)}"; \
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda invoke replay-events --invoke-address 127.0.0.1 \
	  --invoke-port $(API_PORT) --data-ascii "{\"from\": \"$$from\", \"to\": \"$$to\"}"

# One function invoked with a sample event through the runtime `make dev` serves (which
# listens on 127.0.0.1 only): `make invoke FN=expiry-sweep EVENT=events/scheduled.json`.
FN ?=
EVENT ?= events/$(FN).json
invoke: venv
	@test -n "$(FN)" || { echo "name a function: make invoke FN=create-service"; exit 2; }
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda invoke $(FN) --invoke-address 127.0.0.1 --invoke-port $(API_PORT) --data-file $(EVENT)

# What the browser tests of the console need (tests/browser/console_test.py, run by the
# end-to-end test): Debian's Chromium, which Playwright launches by its path (it downloads no
# browser), and axe-core from npm, pinned by tests/browser/package-lock.json. Each is installed
# only when missing.
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
	@test -d tests/browser/node_modules/axe-core || npm ci --prefix tests/browser --silent --no-audit --no-fund

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

# Unit tests, the integration tests against the emulator (started by the tests if needed),
# and the end-to-end test of `make dev` (which needs the function binaries `build` made).
unit-and-integration:
	cargo test --workspace

# cfn-lint, and SAM's own reading of the template (its transform, with the lint rules).
cfn-lint: venv
	$(VENV)/bin/cfn-lint infra/template.yaml
	$(VENV)/bin/sam validate --lint --template infra/template.yaml --region $(AWS_REGION)

# Every function in one arm64 binary (infra/bootstrap), which every function of the template
# deploys from target/package (each runs the one its Handler names). One link-time optimisation
# instead of one per function: see BENCHMARKS.md, "Package", for the time it takes.
PACKAGE_TARGET_DIR ?= target
package: venv
	rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" CARGO_TARGET_DIR=$(PACKAGE_TARGET_DIR) cargo lambda build --release --arm64 -p bootstrap
	mkdir -p target/package
	cp $(PACKAGE_TARGET_DIR)/lambda/bootstrap/bootstrap target/package/bootstrap

# The package, deployed with SAM: guided the first time (it asks for the stack's name, region and
# parameters and keeps the answers in infra/samconfig.toml), with those answers after.
deploy: package
	cd infra && PATH="$(CURDIR)/$(VENV)/bin:$$PATH" sam deploy --template-file template.yaml \
	  $(if $(wildcard infra/samconfig.toml),,--guided)

# Benchmarks (not part of `make test`): every section of BENCHMARKS.md, measured again in one
# run (bench-sweeps starts the file with the date and the commit). BENCH_SERVICES sets the
# large table's size (default 10000: seconds a job against the emulator).
bench: venv build browser release-builds
	cargo run --quiet --profile measure -p tests --bin bench-sweeps
	cargo run --quiet --profile measure -p tests --bin bench-routes
	cargo run --quiet --profile measure -p tests --bin bench-events
	cargo run --quiet --profile measure -p tests --bin bench-backlog
	cargo run --quiet --profile measure -p tests --bin bench-reconcile
	cargo run --quiet --profile measure -p tests --bin bench-import
	tests/browser/bench.sh
	BENCH_PACKAGE_SECONDS="$$(cat target/bench-package/seconds)" cargo run --quiet --profile measure -p tests --bin bench-size

# What bench-size measures: `make package` timed from cold in its own target directory (emptied
# first: the time is a cold build's), and the same binary built for this machine, whose starts
# it times (this machine runs no arm64 binary).
release-builds: venv
	rm -rf target/bench-package
	mkdir -p target/bench-package
	start=$$(date +%s); $(MAKE) package PACKAGE_TARGET_DIR=target/bench-package && \
	  echo $$(( $$(date +%s) - start )) > target/bench-package/seconds
	CARGO_TARGET_DIR=target/bench cargo build --release --config 'profile.release.panic="abort"' -p bootstrap

token:
	@python3 infra/local/dev_token.py $(ROLE) $(SUB)

# The small WHMCS export in infra/local/whmcs-demo/ staged as an import into the stack `make
# dev` serves, and its preview printed; the console's Imports page applies it.
import-demo:
	@python3 infra/local/import_demo.py http://127.0.0.1:$(API_PORT)

# What the stack of `make dev` published: the events on the queue `events-tap` (taken off it;
# FOLLOW=1 keeps waiting for more), and the last LAST e-mails the emulator was asked to send.
FOLLOW ?=
LAST ?= 10
events: venv
	@$(VENV)/bin/python infra/local/tail.py events $(if $(FOLLOW),--follow)

mail: venv
	@$(VENV)/bin/python infra/local/tail.py mail --last $(LAST)

# What a dead-letter queue holds, back to the queue that sent it there (see docs/operations.md).
redrive: venv
	@$(VENV)/bin/python infra/local/redrive.py "$(QUEUE)"
