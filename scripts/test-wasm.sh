#!/usr/bin/env bash
# Runs the browser client's tests in headless Chromium (wasm-bindgen-test-runner + chromedriver,
# both local: nothing is downloaded) against the real Mosquitto WebSocket listener and a bridge
# on FerretDB, which this script starts (topic prefix `wasmtest`) and stops.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH="$root/.tools/cargo/bin:$PATH"

cargo build --locked -p vmm-bridge
db=vmm_wasmtest_$$
target/debug/vmm-bridge --prefix wasmtest --database "$db" --bridge-id "wasmtest-$$" \
  --share-group "wasmtest-$$" --http-addr off --log warn &
bridge=$!
trap 'kill $bridge 2>/dev/null || true' EXIT

export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-120}
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
cargo test --locked -p vmm-client --target wasm32-unknown-unknown "$@"
