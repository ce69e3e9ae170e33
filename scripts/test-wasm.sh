#!/usr/bin/env bash
# Runs the browser client's tests in headless Chromium (wasm-bindgen-test-runner + chromedriver,
# both local: nothing is downloaded) against the real Mosquitto WebSocket listener and a bridge
# on FerretDB, which this script starts (topic prefix `wasmtest`) and stops.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
SAY_AS=test-wasm
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
export PATH="$root/.tools/cargo/bin:$PATH"

cargo build --locked -p vmm-bridge
db=vmm_wasmtest_$$
# A free loopback port for the bridge's /healthz (the OS picks it).
http_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
target/debug/vmm-bridge --prefix wasmtest --database "$db" --bridge-id "wasmtest-$$" \
  --share-group "wasmtest-$$" --http-addr "127.0.0.1:$http_port" --log warn &
bridge=$!
trap 'kill $bridge 2>/dev/null || true' EXIT

# Wait until the bridge says it serves: connected, subscribed, storage open (at most 60 s).
serving() (
  exec 3<>"/dev/tcp/127.0.0.1/$http_port"
  printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
  grep -q '"serving":true' <&3
)
for _ in $(seq 1 600); do
  if serving 2>/dev/null; then break; fi
  kill -0 "$bridge" 2>/dev/null || { say "the bridge exited" >&2; exit 1; }
  sleep 0.1
done
serving 2>/dev/null || { say "the bridge did not serve within 60 s" >&2; exit 1; }

export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-120}
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
cargo test --locked -p vmm-client --target wasm32-unknown-unknown "$@"
