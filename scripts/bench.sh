#!/usr/bin/env bash
# `make bench`: builds the bridge and the bench in release mode, then runs the bench, which starts
# its own Mosquitto and FerretDB (SQLite, telemetry disabled) on free loopback ports, a bridge per
# scenario, and writes its report into docs/BENCHMARKS.md.
#   VMM_BENCH_QUICK=1 make bench      small sizes, short windows (development)
#   bash scripts/bench.sh --help      every option (each also a VMM_BENCH_* variable)
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

bash scripts/services.sh install
# One cargo invocation: the dependencies both binaries share are compiled once.
cargo build --locked --release -p vmm-bridge -p vmm-bench --bin vmm-bridge --bin vmm-bench
exec cargo run --quiet --locked --release -p vmm-bench --bin vmm-bench -- "$@"
