# AsyncTaskFlow: `make run` installs everything and starts the system; `make test`
# installs everything and runs every check. Both work on a fresh Debian machine
# with Python 3.11+, Node 20 and npm.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
RUN := $(UV) run --frozen

.PHONY: help
help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m pip install --user --quiet uv

.PHONY: install
install: $(UV) allocator ## Install everything (locked Python and npm dependencies), generate stubs, build the dashboard
	$(UV) sync --frozen
	$(MAKE) --no-print-directory proto
	$(MAKE) --no-print-directory frontend

# Runs again only when the lock file changed since the last install. `npm install`
# rather than `npm ci`: npm ci refuses a lock whose optional per-platform packages
# (tailwind's oxide binaries for other systems) have no entries, which is how npm
# writes it here; npm install installs exactly the locked versions and leaves the
# lock unchanged.
frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && npm install --no-audit --no-fund
	touch $@

# The Node gRPC client the end-to-end tests run (a second toolchain reading our protos).
tests/support/node_client/node_modules/.package-lock.json: tests/support/node_client/package-lock.json
	cd tests/support/node_client && npm ci --no-audit --no-fund
	touch $@

# The TypeScript SDK's toolchain (buf, protoc-gen-es, tsc) comes from its own lock.
sdk/typescript/node_modules/.package-lock.json: sdk/typescript/package-lock.json
	cd sdk/typescript && npm ci --no-audit --no-fund
	touch $@

.PHONY: sdk-typescript
sdk-typescript: sdk/typescript/node_modules/.package-lock.json ## Build the TypeScript SDK (stubs from proto/) into sdk/typescript/dist
	cd sdk/typescript && npm run build

.PHONY: test-sdk-typescript
test-sdk-typescript: sdk-typescript ## The TypeScript SDK's own tests (its live ones run in tests/sdk, against the services)
	cd sdk/typescript && npm test

.PHONY: frontend
frontend: frontend/node_modules/.package-lock.json ## Build the dashboard into frontend/dist
	cd frontend && npm run build

.PHONY: test-frontend
test-frontend: frontend/node_modules/.package-lock.json ## Type-check and unit-test the dashboard
	cd frontend && npm run lint && npm test

.PHONY: proto
proto: ## Regenerate Python stubs (+ .pyi types) from proto/ into taskflow/v1 and the Python SDK
	$(RUN) python scripts/gen_protos.py
	$(RUN) python sdk/python/stubgen.py

.PHONY: sdk-python
sdk-python: ## Build the Python SDK wheel (stubs generated into it) into dist/
	$(UV) build --wheel sdk/python -o dist

.PHONY: lint-proto
lint-proto: ## Stubs match the protos; buf lint, format and breaking (against the last release in proto/RELEASES)
	$(RUN) python scripts/gen_protos.py --check
	$(RUN) buf lint
	$(RUN) buf format proto --diff --exit-code
	$(RUN) python scripts/proto_breaking.py

# COMMIT defaults to HEAD; commit proto/RELEASES afterwards.
.PHONY: release-proto
release-proto: ## Record the protos of COMMIT (default HEAD) as release VERSION=vX.Y.Z in proto/RELEASES
	@test -n "$(VERSION)" || { echo "usage: make release-proto VERSION=vX.Y.Z [COMMIT=<rev>]" >&2; exit 2; }
	$(RUN) python scripts/proto_releases.py "$(VERSION)" --commit "$(or $(COMMIT),HEAD)"

.PHONY: lint
lint: ## ruff + mypy --strict
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

.PHONY: check
check: lint-proto lint ## Every static check

# The browser tests drive Debian's chromium through playwright-core (no browser
# download); CI runs as root, a developer without root installs it once by hand.
CHROMIUM := /usr/bin/chromium

# The bundled valkey runs with jemalloc preloaded when the system has it (about a
# third less server CPU per task than the wheel's glibc malloc; taskflow/redis_server.py).
# Optional: without root or apt the server runs as built, and install goes on.
JEMALLOC_FOUND = ls /usr/lib/*/libjemalloc.so.2 /usr/lib64/libjemalloc.so.2 /usr/local/lib/libjemalloc.so.2 >/dev/null 2>&1

.PHONY: allocator
allocator: ## Install Debian's jemalloc for the bundled valkey, if missing and this user can
	@$(JEMALLOC_FOUND) || { test "$$(id -u)" = 0 && command -v apt-get >/dev/null \
	  && { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libjemalloc2 >/dev/null 2>&1 \
	       || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libjemalloc2 >/dev/null; }; }; } \
	  || echo "note: jemalloc not installed (needs root and apt: libjemalloc2); the bundled valkey uses glibc malloc"

.PHONY: browser
browser: ## Install Debian's chromium for the browser tests, if it is missing
	@test -x $(CHROMIUM) || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }

# promtool (from Debian's prometheus package) runs the alert rules' unit tests in
# tests/deploy/test_observability.py.
.PHONY: promtool
promtool: ## Install Debian's prometheus (for promtool), if promtool is missing
	@command -v promtool >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; }

# pytest-xdist: each worker has its own Redis, stacks and free ports; a test file runs
# whole on one worker (its module-scoped stack stays shared). PYTEST_WORKERS=0 runs
# the suite in this process. See docs/testing.md for where the time goes.
PYTEST_WORKERS ?= 2

.PHONY: test
test: install browser promtool tests/support/node_client/node_modules/.package-lock.json ## Install everything, run every check and the whole test suite
	$(MAKE) --no-print-directory -j3 --output-sync=target check test-frontend test-sdk-typescript
	$(RUN) pytest -q -n $(PYTEST_WORKERS)

.PHONY: run
run: install ## Install everything and run the whole system
	$(RUN) taskflow up

.PHONY: run-one
run-one: install ## Install everything and run the whole system in one process (small deployments: less memory)
	$(RUN) taskflow all-in-one

.PHONY: bench-tools
bench-tools: browser ## Install the load generator the benchmarks drive (Debian's wrk), if it is missing
	@command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk; }

.PHONY: bench
bench: install bench-tools ## Run the benchmarks (figures go to docs/performance.md by hand)
	$(RUN) python -m bench.versus
	$(RUN) python -m bench.front
	$(RUN) python -m bench.store
	$(RUN) python -m bench.lifecycle --compare
	$(RUN) python -m bench.provider
	$(RUN) python -m bench.dashboard
	$(RUN) python -m bench.gateway
	$(RUN) python -m bench.uploads

# The drain against BullMQ only, one round of 5,000 tasks each (BullMQ is installed
# from npm into build/bench-bullmq on first use): a regression check, not a test.
# Stubs are generated only when missing: rewriting them would break services that
# are starting elsewhere in this checkout (a test run, say).
taskflow/v1/scheduler_service_pb2.py:
	$(MAKE) --no-print-directory proto

.PHONY: bench-quick
bench-quick: $(UV) taskflow/v1/scheduler_service_pb2.py ## Drain ours and BullMQ once each, in under a minute; prints the ratio
	$(RUN) python -m bench.versus --quick --tasks 5000 --rounds 1

.PHONY: format
format: ## Format the code
	$(RUN) ruff format .
	$(RUN) ruff check --fix .
