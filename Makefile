# vmm: one entry point for humans and CI. `make test` installs what it needs and runs every check.
SHELL := /bin/bash
CARGO ?= cargo
WASM_TARGET := wasm32-unknown-unknown
# Crates the IO-free protocol core must never depend on (normal dependencies).
FORBIDDEN_CORE_DEPS := tokio rumqttc mongodb wasm-bindgen

.PHONY: bench bench-browser bench-scaling demo test-cluster test-e2e test-fixture wasm-tools wasm-pkg npm test-wasm test-js size vectors help setup fmt fmt-check lint test test-rust wasm-check core-deps-check services services-stop services-status bridge mirror

demo: ## Build and start everything (services, bridge, Vue app), print the URL; Ctrl+C stops it
	bash scripts/demo.sh

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

setup: ## Install the Rust target and components the build needs (idempotent)
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy

fmt: ## Format the code
	$(CARGO) fmt --all

fmt-check: setup ## Check formatting
	$(CARGO) fmt --all --check

lint: setup ## Clippy on every target (and the browser client's wasm code), warnings are errors
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO) clippy -p vmm-client --target $(WASM_TARGET) --all-targets --locked -- -D warnings

test-rust: setup ## Unit, property, conformance-vector and schema tests
	$(CARGO) test --workspace --locked

# The cluster stays up for the next run (start is idempotent); `make services-stop` stops it too.
# --workspace, not -p vmm-bridge: the same features as test-rust's build, so nothing is rebuilt.
test-cluster: services ## The clustered-broker run: a RabbitMQ cluster of two nodes (scripts/cluster.sh), a bridge and clients on each, one node stopped and restarted
	bash scripts/cluster.sh start
	VMM_REQUIRE_CLUSTER=1 $(CARGO) test --workspace --locked --test cluster

wasm-check: setup ## The protocol core builds for the browser
	$(CARGO) build -p vmm-protocol --target $(WASM_TARGET) --locked

core-deps-check: ## The protocol core depends on no IO crate
	@deps=$$($(CARGO) tree -p vmm-protocol -e normal --prefix none --locked | sed 's/ .*//' | sort -u); \
	for bad in $(FORBIDDEN_CORE_DEPS); do \
	  if grep -qx "$$bad" <<<"$$deps"; then echo "vmm-protocol must not depend on $$bad"; exit 1; fi; \
	done; echo "vmm-protocol normal dependencies: $$(echo $$deps | tr '\n' ' ')"

services: ## Install (if missing) and start Mosquitto and FerretDB on 127.0.0.1 (idempotent)
	bash scripts/services.sh start

services-stop: ## Stop the services `make services` started (and the RabbitMQ cluster of `make test-cluster`)
	bash scripts/services.sh stop

services-status: ## Say which services are running
	bash scripts/services.sh status

bridge: services ## Run a bridge against the local services (Ctrl+C stops it)
	$(CARGO) run --locked -p vmm-bridge --release -- $(BRIDGE_ARGS)

mirror: services ## Run a mirror of the local bridge's collections (docs/MIRROR.md): make mirror MIRROR_ARGS="--collections tasks --target-database copy"
	$(CARGO) run --locked -p vmm-bridge --release --bin vmm-mirror -- $(MIRROR_ARGS)

wasm-tools: ## Install wasm-pack, wasm-bindgen-cli and binaryen (pinned), Chromium, chromedriver (once)
	bash scripts/wasm-tools.sh

wasm-pkg: wasm-tools ## Build the wasm of the npm package vmm-client (wasm-client/) into wasm-client/wasm (release: LTO, opt-level z, wasm-opt -Oz), and its npm tarball wasm-client/pkg/vmm-client.tgz
	cd wasm-client && PATH="$(CURDIR)/.tools/binaryen/node_modules/.bin:$(CURDIR)/.tools/cargo/bin:$$PATH" CARGO_PROFILE_RELEASE_OPT_LEVEL=z \
	  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 wasm-pack build --release --target web --out-dir wasm --no-pack --no-gitignore --mode no-install
	@# The npm tarball an application installs (README.md): wasm-client/pkg/vmm-client-<version>.tgz,
	@# and vmm-client.tgz beside it, a link to the newest (git-ignored).
	cd wasm-client && rm -rf pkg && mkdir pkg && npm pack --pack-destination pkg --silent --ignore-scripts >/dev/null && \
	  ln -sf "$$(cd pkg && ls vmm-client-*.tgz)" pkg/vmm-client.tgz && ls pkg/vmm-client-*.tgz

# The npm workspaces (package.json): one `npm ci` for all of them, again only when a manifest or
# the lockfile changed. Playwright never downloads a browser: the tests drive Debian's Chromium.
NPM_MANIFESTS := package.json package-lock.json $(wildcard wasm-client/package.json wasm-client/js-test/package.json www/package.json www/e2e/package.json bench/browser/package.json)
node_modules/.package-lock.json: $(NPM_MANIFESTS)
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	@touch $@

npm: node_modules/.package-lock.json ## Install the npm workspaces' dependencies (root package-lock.json)

test-wasm: services wasm-tools ## Browser tests in headless Chromium against Mosquitto and a bridge
	bash scripts/test-wasm.sh

test-js: wasm-pkg npm ## The vmm-client package's tests, through its name and with the built wasm (node:test, tsc)
	VMM_REQUIRE_WASM=1 npm test --workspace vmm-client-js-test

test-e2e: services wasm-pkg npm ## End-to-end tests of the demo in headless Chromium (playwright-core)
	bash scripts/test-e2e.sh

test-fixture: services wasm-pkg npm ## The npm tarball in a fresh Vite + Vue + TS app (tests/vite-app, copied outside the repo): vite build without warning, vue-tsc, the page in Chromium against a bridge
	bash scripts/test-fixture.sh

size: wasm-pkg ## Gzipped size of the wasm and its JS glue against mqtt.js (fetched once); the breakdown when over the goal
	bash scripts/size.sh

vectors: ## Regenerate the generated conformance vectors (protocol/vectors/src/*.py); fails if one differs from the file in the tree
	bash scripts/vectors.sh

bench: ## Benchmarks: the bridge (release) against the driver, browser ingest against mqtt.js, and 1 to 4 bridges (scaling), on private services; writes docs/BENCHMARKS.md (VMM_BENCH_QUICK=1: small, short)
	bash scripts/bench.sh

bench-browser: ## The browser ingest benchmark alone (vmm store + Vue against mqtt.js in headless Chromium); updates its part of docs/BENCHMARKS.md
	VMM_BENCH_ONLY=browser bash scripts/bench.sh

bench-scaling: ## The scaling benchmark alone (1, 2 and 4 bridges behind a shared subscription, 10 to 1,000 clients, fan-out; about 5 min); updates its part of docs/BENCHMARKS.md
	VMM_BENCH_ONLY=scaling bash scripts/bench.sh

test: fmt-check lint core-deps-check wasm-check vectors services test-rust test-cluster test-wasm test-js test-e2e test-fixture ## Everything CI runs
