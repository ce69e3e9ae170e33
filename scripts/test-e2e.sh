#!/usr/bin/env bash
# End-to-end tests of the demo app (www/), run by `make test-e2e`, which first builds the browser
# package's wasm (make wasm-pkg) and installs the npm workspaces (make npm), once for all of
# `make test`. This script builds the bridge and the app, then runs www/e2e/*.test.mjs with
# node:test. The tests drive Debian's Chromium with playwright-core (no browser download) against
# the real Mosquitto and FerretDB; the harness starts and kills its own bridges (each scenario: its
# own topic prefix and database) and serves www/dist itself. Screenshots land in
# www/e2e/screenshots/.
#
# VMM_MQTT_URL / VMM_MONGODB_URI point at other services (then services.sh starts nothing);
# VMM_WS_URL is what the browser connects to; VMM_WS_AUTH_URL a listener that refuses clients
# without a password. The defaults (scripts/lib.sh) are exported for the
# harness. Arguments are passed to `node --test` (e.g. --test-name-pattern=conflict).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
SAY_AS=test-e2e
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"

[[ -f wasm-client/wasm/vmm_client_bg.wasm && -d node_modules/playwright-core ]] ||
  { say "the vmm-client wasm or the npm workspaces are missing: run make test-e2e"; exit 1; }

start_services || exit 1
export VMM_MQTT_URL=$mqtt_url VMM_MONGODB_URI=$mongodb_uri VMM_WS_URL=$ws_url VMM_WS_AUTH_URL=$ws_auth_url
# The secure profile (security.test.mjs): its listeners, its files, and the server certificate's
# public key hash, which the TLS scenario's Chromium is told to trust (and no other).
export VMM_SECURE_DIR=$secure_dir VMM_SECURE_WS_URL=$secure_ws_url VMM_WSS_URL=$wss_url VMM_MQTTS_URL=$mqtts_url
VMM_SECURE_SPKI=$(openssl x509 -in "$secure_dir/server.crt" -pubkey -noout |
  openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
export VMM_SECURE_SPKI

[[ -x /usr/bin/chromium || -n ${CHROMIUM:-} ]] || { say "Chromium is needed: make wasm-tools (or set CHROMIUM)"; exit 1; }

cargo build --locked -p vmm-bridge
npm run build --workspace vmm-www

rm -rf www/e2e/screenshots
# The harness kills the bridges it started when it exits, also on failure and on signals; a
# signal to this script reaches it through the test runner, which forwards SIGTERM to each file.
# Two files at a time: board.test.mjs runs during outages.test.mjs's 90 s bridge outage, which
# mostly waits (about 2 minutes in all instead of 2.5).
node --test --test-concurrency=2 "$@" www/e2e/ &
runner=$!
trap 'kill -TERM "$runner" 2>/dev/null || true' INT TERM HUP
status=0
wait "$runner" || status=$?
while kill -0 "$runner" 2>/dev/null; do wait "$runner" || true; done
say "screenshots in www/e2e/screenshots/"
exit "$status"
