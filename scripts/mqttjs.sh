#!/usr/bin/env bash
# mqtt.js, the MQTT library vmm's browser package is measured against (`make size`, the browser
# bench): fetches the published package once from the npm registry into the git-ignored
# .tools/mqttjs/ (`npm pack`: the tarball alone, none of its dependencies, which its browser
# bundle dist/mqtt.min.js already contains) and prints the bundle's path. Run or sourced:
#   bash scripts/mqttjs.sh          prints .tools/mqttjs/<version>/package/dist/mqtt.min.js
#   source scripts/mqttjs.sh; mqttjs_bundle
set -euo pipefail

MQTTJS_VERSION=5.16.0

# The path of dist/mqtt.min.js, fetched first if missing. Progress goes to stderr.
mqttjs_bundle() {
  local root dir bundle
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  dir="$root/.tools/mqttjs/$MQTTJS_VERSION"
  bundle="$dir/package/dist/mqtt.min.js"
  if [[ ! -s $bundle ]]; then
    printf 'mqttjs: fetching mqtt@%s from the npm registry into %s (once)\n' "$MQTTJS_VERSION" "$dir" >&2
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && npm pack --silent "mqtt@$MQTTJS_VERSION" >/dev/null &&
      tar -xzf "mqtt-$MQTTJS_VERSION.tgz" package/package.json package/dist/mqtt.min.js)
    [[ -s $bundle ]] || { printf 'mqttjs: %s is missing after the fetch\n' "$bundle" >&2; return 1; }
  fi
  printf '%s\n' "$bundle"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  mqttjs_bundle
fi
