#!/usr/bin/env bash
# Installs (if missing), starts, checks and stops the services vmm needs for development, tests
# and the demo, on 127.0.0.1 only:
#   - Mosquitto from Debian's packages, with a TCP and a WebSockets listener;
#   - FerretDB 1.24.2 (SQLite handler, telemetry disabled), built from the Go module proxy into
#     .tools/, with one patch that lets it use its own `_id` index (see install_ferretdb).
# `VMM_MQTT_URL` / `VMM_MONGODB_URI` point at external services instead: then nothing is started
# for them. Every start is idempotent (a running service is found by its pid file and port), and
# `stop` stops only what `start` started, by pid.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
run="$root/.run"
data="$root/.data"
FERRETDB_VERSION=v1.24.2
# Our build of it: the module as published plus the patches below. Bump when they change, so that
# an installed binary of an older build is rebuilt.
FERRETDB_BUILD="$FERRETDB_VERSION+vmm.1"
mkdir -p "$run" "$data"

SAY_AS=services
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
MQTT_PORT=$VMM_MQTT_PORT WS_PORT=$VMM_WS_PORT MONGO_PORT=$VMM_MONGO_PORT


alive() { pid_alive "$run/$1.pid"; } # name -> 0 if its pid file names a live process

wait_port() { # port name log
  for _ in $(seq 1 150); do
    port_open "$1" && return 0
    sleep 0.2
  done
  say "$2 did not open port $1 in 30 s; its log ($3):"
  tail -n 30 "$3" >&2 || true
  return 1
}

install_mosquitto() {
  command -v mosquitto >/dev/null && return 0
  say "installing mosquitto from Debian's packages"
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mosquitto >/dev/null
}

install_ferretdb() {
  [[ -x $tools/bin/ferretdb && $(cat "$tools/bin/ferretdb.build" 2>/dev/null) == "$FERRETDB_BUILD" ]] && return 0
  command -v go >/dev/null || { say "go is needed to build FerretDB"; return 1; }
  say "building FerretDB $FERRETDB_BUILD from the Go module proxy (once; cached in .tools/)"
  # `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` builds, but the binary panics at
  # start ("Invalid build/version/version.txt file content"): the module as published lacks the
  # generated version file. So: download the same module, write that file, build its command.
  export GOPATH="$tools/go" GOFLAGS=-modcacherw GOTOOLCHAIN=local
  local dir src="$tools/src/ferretdb"
  dir=$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -n $dir ]] || { say "go mod download of FerretDB $FERRETDB_VERSION failed"; return 1; }
  rm -rf "$src"
  mkdir -p "$tools/src" "$tools/bin"
  cp -r "$dir" "$src"
  chmod -R u+w "$src"
  echo "$FERRETDB_VERSION" > "$src/build/version/version.txt"
  # Patch: the SQLite handler filters `_id` with the expression `_ferretdb_sjson->'$._id'`, but
  # creates the unique `_id` index on `_ferretdb_sjson->"_id"`. SQLite uses an expression index
  # only for the same expression, so every find, update and delete by `_id` scanned the whole
  # table (EXPLAIN QUERY PLAN: SCAN instead of SEARCH ... USING INDEX; a lookup took 146 ms at
  # 50,000 documents). Both expressions select the same JSON value: use the index's.
  local meta="$src/internal/backends/sqlite/metadata/metadata.go"
  sed -i "s|IDColumn = DefaultColumn + \"->'\\\$._id'\"|IDColumn = DefaultColumn + \\\`->\"_id\"\\\`|" "$meta"
  grep -q 'IDColumn = DefaultColumn + `->"_id"`' "$meta" || { say "patching FerretDB's _id column failed"; return 1; }
  (cd "$src" && go build -o "$tools/bin/ferretdb" ./cmd/ferretdb)
  echo "$FERRETDB_BUILD" > "$tools/bin/ferretdb.build"
}

start_mosquitto() {
  if [[ -n ${VMM_MQTT_URL:-} ]]; then say "MQTT: using $VMM_MQTT_URL"; return 0; fi
  if alive mosquitto; then say "mosquitto already running (pid $(cat "$run/mosquitto.pid"))"; return 0; fi
  for p in "$MQTT_PORT" "$WS_PORT"; do
    if port_open "$p"; then say "port $p is taken by another process; set VMM_MQTT_URL or VMM_MQTT_PORT/VMM_WS_PORT"; return 1; fi
  done
  install_mosquitto
  { cat "$root/services/mosquitto.conf"
    printf '\nlistener %s 127.0.0.1\nlistener %s 127.0.0.1\nprotocol websockets\n' "$MQTT_PORT" "$WS_PORT"
  } > "$run/mosquitto.conf"
  nohup mosquitto -c "$run/mosquitto.conf" > "$run/mosquitto.log" 2>&1 &
  echo $! > "$run/mosquitto.pid"
  wait_port "$MQTT_PORT" mosquitto "$run/mosquitto.log"
  wait_port "$WS_PORT" mosquitto "$run/mosquitto.log"
  say "mosquitto on 127.0.0.1:$MQTT_PORT (TCP) and :$WS_PORT (WebSockets), pid $(cat "$run/mosquitto.pid")"
}

start_ferretdb() {
  if [[ -n ${VMM_MONGODB_URI:-} ]]; then say "MongoDB: using the given VMM_MONGODB_URI"; return 0; fi
  if alive ferretdb; then say "ferretdb already running (pid $(cat "$run/ferretdb.pid"))"; return 0; fi
  if port_open "$MONGO_PORT"; then say "port $MONGO_PORT is taken by another process; set VMM_MONGODB_URI or VMM_MONGO_PORT"; return 1; fi
  install_ferretdb
  mkdir -p "$data/ferretdb" "$data/ferretdb-state"
  nohup "$tools/bin/ferretdb" --handler=sqlite --sqlite-url="file:$data/ferretdb/" \
    --listen-addr="127.0.0.1:$MONGO_PORT" --state-dir="$data/ferretdb-state" \
    --telemetry=disable --debug-addr=- --log-level=warn > "$run/ferretdb.log" 2>&1 &
  echo $! > "$run/ferretdb.pid"
  wait_port "$MONGO_PORT" ferretdb "$run/ferretdb.log"
  say "ferretdb on 127.0.0.1:$MONGO_PORT (SQLite in .data/ferretdb), pid $(cat "$run/ferretdb.pid")"
}

stop_one() { stop_pid_file "$1" "$run/$1.pid"; }

case ${1:-start} in
  install) install_mosquitto; install_ferretdb ;;
  start) start_mosquitto; start_ferretdb ;;
  stop) stop_one mosquitto; stop_one ferretdb ;;
  status)
    for s in mosquitto ferretdb; do
      if alive $s; then say "$s running (pid $(cat "$run/$s.pid"))"; else say "$s not running"; fi
    done ;;
  *) echo "usage: $0 [install|start|stop|status]" >&2; exit 2 ;;
esac
