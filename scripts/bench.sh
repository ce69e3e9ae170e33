#!/usr/bin/env bash
# `make bench`: builds the bridge and the bench in release mode, then runs the bench, which starts
# its own Mosquitto and FerretDB (SQLite, telemetry disabled) on free loopback ports, a bridge per
# scenario, and writes its report into docs/BENCHMARKS.md.
#   VMM_BENCH_QUICK=1 make bench      small sizes, short windows (development)
#   make bench-scaling                the scaling scenario alone (VMM_BENCH_ONLY=scaling)
#   make bench-browser                the browser ingest scenario alone (VMM_BENCH_ONLY=browser);
#                                     a run of some scenarios keeps the others' figures in the file
#   bash scripts/bench.sh --help      every option (each also a VMM_BENCH_* variable)
# The browser scenario also needs the browser package's wasm built from this tree (`make wasm-pkg`,
# which installs Debian's Chromium if missing), the npm workspaces installed (`make npm`:
# playwright-core and vue for bench/browser/) and mqtt.js's bundle (scripts/mqttjs.sh, fetched
# once into .tools/); they are made here only when that scenario runs.
# Arguments are passed to the bench. Nothing here starts the shared services (services.sh): only
# Mosquitto (Debian's package) and FerretDB (built into .tools/) are installed if missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

for arg in "$@"; do
  if [[ $arg == -h || $arg == --help ]]; then
    exec cargo run --quiet --locked --release -p vmm-bench --bin vmm-bench -- "$@"
  fi
done

# The scenarios asked for: --only / --only= / VMM_BENCH_ONLY (none: all).
only=${VMM_BENCH_ONLY:-}
previous=
for arg in "$@"; do
  [[ $previous == --only ]] && only=$arg
  [[ $arg == --only=* ]] && only=${arg#--only=}
  previous=$arg
done
if [[ -z $only || ,${only// /}, == *,browser,* ]]; then
  make --no-print-directory wasm-pkg npm
  VMM_BENCH_MQTTJS=$(bash scripts/mqttjs.sh)
  export VMM_BENCH_MQTTJS
fi

bash scripts/services.sh install
# One cargo invocation: the dependencies both binaries share are compiled once.
cargo build --locked --release -p vmm-bridge -p vmm-bench --bin vmm-bridge --bin vmm-mirror --bin vmm-bench
exec cargo run --quiet --locked --release -p vmm-bench --bin vmm-bench -- "$@"
