#!/usr/bin/env bash
# End-to-end tests of the demo app (www/): builds the browser package, the bridge and the app, then
# runs www/e2e/*.test.mjs with node:test. The tests drive Debian's Chromium with playwright-core
# (no browser download) against the real Mosquitto and FerretDB; the harness starts and kills its
# own bridges (each scenario: its own topic prefix and database) and serves www/dist itself.
# Nothing is installed globally; screenshots land in www/e2e/screenshots/.
#
# VMM_MQTT_URL / VMM_MONGODB_URI point at other services (then services.sh starts nothing);
# VMM_WS_URL is what the browser connects to (default ws://127.0.0.1:9001).
# Arguments are passed to `node --test` (e.g. --test-name-pattern=conflict).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

say() { printf 'test-e2e: %s\n' "$*"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! bash scripts/services.sh start; then
  # Another checkout's services may already hold the ports: use them rather than fail.
  if [[ -z ${VMM_MQTT_URL:-} && -z ${VMM_MONGODB_URI:-} ]] &&
     port_open "${VMM_MQTT_PORT:-1883}" && port_open "${VMM_WS_PORT:-9001}" && port_open "${VMM_MONGO_PORT:-27017}"; then
    say "using the MQTT broker and MongoDB already listening on 127.0.0.1"
    export VMM_MQTT_URL="mqtt://127.0.0.1:${VMM_MQTT_PORT:-1883}"
    export VMM_MONGODB_URI="mongodb://127.0.0.1:${VMM_MONGO_PORT:-27017}"
  else
    exit 1
  fi
fi

[[ -x /usr/bin/chromium || -n ${CHROMIUM:-} ]] || { say "Chromium is needed: make wasm-tools (or set CHROMIUM)"; exit 1; }

make wasm-pkg
cargo build --locked -p vmm-bridge
npm --prefix www ci --no-audit --no-fund
npm --prefix www run build
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm --prefix www/e2e ci --no-audit --no-fund

rm -rf www/e2e/screenshots
# The harness kills the bridges it started when it exits, also on failure and on signals; a
# signal to this script reaches it through the test runner, which forwards SIGTERM to each file.
node --test "$@" www/e2e/ &
runner=$!
trap 'kill -TERM "$runner" 2>/dev/null || true' INT TERM HUP
status=0
wait "$runner" || status=$?
while kill -0 "$runner" 2>/dev/null; do wait "$runner" || true; done
say "screenshots in www/e2e/screenshots/"
exit "$status"
