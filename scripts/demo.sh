#!/usr/bin/env bash
# `make demo`: the whole loop on a fresh machine. Installs what is missing, builds the browser
# package, the bridge and the Vue app, starts Mosquitto and FerretDB (unless VMM_MQTT_URL /
# VMM_MONGODB_URI point elsewhere), the bridge and the app, prints the URL, and on Ctrl+C stops
# everything it started.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
SAY_AS=demo
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
port=$VMM_DEMO_PORT
http_addr=127.0.0.1:$VMM_DEMO_HTTP_PORT

# Captured, not piped into `grep -q`: with pipefail, grep leaving early would fail the pipeline
# (SIGPIPE) and services that other people are using would be stopped on Ctrl+C.
services_were_running=false
if [[ $(bash scripts/services.sh status) == *' running (pid '* ]]; then services_were_running=true; fi
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
make --no-print-directory wasm-pkg npm
cargo build --locked -p vmm-bridge
# The secure profile (docs/SECURITY.md): the page logs in to the broker's password listener as
# one of the demo users, the bridge logs in as vmm-bridge over TLS with the generated CA, and its
# permissions give each task to the user who created it. With VMM_MQTT_URL / VMM_WS_URL (other
# infrastructure) the demo uses those as they are, anonymous unless the URLs say otherwise.
if [[ -z ${VMM_MQTT_URL:-} ]]; then
  page_ws=${VMM_WS_URL:-$secure_ws_url} login=1
  bridge_args=(--mqtt-url "$mqtts_url" --mqtt-ca-file "$secure_dir/ca.crt" --mqtt-username vmm-bridge
    --mqtt-password-file "$secure_dir/vmm-bridge.password" --permissions docs/examples/permissions.toml)
else
  page_ws=$ws_url login=0 bridge_args=()
fi
# The app connects to $page_ws unless the page's URL says otherwise (www/src/config.js).
VITE_VMM_WS_URL=$page_ws VITE_VMM_LOGIN=$login \
  VITE_VMM_LOGIN_HINT="Demo users: alice (password alice-secret) and bob (password bob-secret)." \
  npm run build --workspace vmm-www

target/debug/vmm-bridge --http-addr "$http_addr" "${bridge_args[@]}" &
pids+=($!)
(cd www && exec ../node_modules/.bin/vite preview --host 127.0.0.1 --port "$port" --strictPort >/dev/null) &
pids+=($!)
for _ in $(seq 1 100); do port_open "$port" && break; sleep 0.2; done

cat <<MSG

  vmm demo is running:

    the board         http://127.0.0.1:$port/
    bridge health     http://$http_addr/healthz   metrics: /metrics

  Open the board in two windows side by side (or use "Open a second client") and log in as
  alice (password alice-secret) in one and bob (bob-secret) in the other: each sees every task
  and may change only the tasks it created. Edit the same task in both, go offline in one with
  the toggle, and watch pending markers, confirmations and conflict notices. Press Ctrl+C to
  stop everything this command started.

MSG
wait
