#!/usr/bin/env bash
# `make demo`: the whole loop on a fresh machine. Installs what is missing, builds the browser
# package, the bridge and the Vue app, starts Mosquitto and FerretDB (unless VMM_MQTT_URL /
# VMM_MONGODB_URI point elsewhere), the bridge and the app, prints the URL, and on Ctrl+C stops
# everything it started.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port=${VMM_DEMO_PORT:-5173}
ws=${VMM_WS_URL:-ws://127.0.0.1:${VMM_WS_PORT:-9001}}
say() { printf '\ndemo: %s\n' "$*"; }

services_were_running=false
if bash scripts/services.sh status | grep -q ' running'; then services_were_running=true; fi
pids=()
cleanup() {
  trap - INT TERM EXIT
  say "stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if ! $services_were_running; then bash scripts/services.sh stop; fi
}
trap cleanup INT TERM EXIT

bash scripts/services.sh start
make --no-print-directory wasm-pkg
cargo build --locked -p vmm-bridge
npm --prefix www ci --no-audit --no-fund
npm --prefix www run build

target/debug/vmm-bridge --http-addr 127.0.0.1:9464 &
pids+=($!)
(cd www && exec node_modules/.bin/vite preview --host 127.0.0.1 --port "$port" --strictPort >/dev/null) &
pids+=($!)
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done

query=""
[[ $ws != ws://127.0.0.1:9001 ]] && query="?ws=$ws"
cat <<MSG

  vmm demo is running:

    the board         http://127.0.0.1:$port/$query
    bridge health     http://127.0.0.1:9464/healthz   metrics: /metrics

  Open the board in two windows side by side (or use "Open a second client"), edit the same
  task in both, go offline in one with the toggle, and watch pending markers, confirmations
  and conflict notices. Press Ctrl+C to stop everything this command started.

MSG
wait
