#!/usr/bin/env bash
# Installs (if missing), starts, checks and stops the services vmm needs for development, tests
# and the demo, on 127.0.0.1 only:
#   - Mosquitto from Debian's packages, with a TCP and a WebSockets listener (anonymous), and a
#     WebSockets listener that requires a password (the e2e tests of a refusing broker); and the
#     secure profile (scripts/secure.sh): listeners with passwords or client certificates, TLS,
#     the ACL of docs/PROTOCOL.md §2.3 and the client-id plugin services/vmm_clientid.c, its
#     files (CA, certificates, passwords) generated in .run/secure/;
#   - FerretDB 1.24.2 (SQLite handler, telemetry disabled), built from the Go module proxy into
#     .tools/, with one patch that lets it use its own `_id` index (see install_ferretdb), and a
#     TLS listener (the secure profile's server certificate) besides the plain one.
# `VMM_MQTT_URL` / `VMM_MONGODB_URI` point at external services instead: then nothing is started
# for them. Every start is idempotent (a running service is found by its pid file and port), and
# `stop` stops only what `start` started, by pid, and the RabbitMQ cluster of scripts/cluster.sh.
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
MQTT_PORT=$VMM_MQTT_PORT WS_PORT=$VMM_WS_PORT WS_AUTH_PORT=$VMM_WS_AUTH_PORT MONGO_PORT=$VMM_MONGO_PORT
MONGO_TLS_PORT=$VMM_MONGO_TLS_PORT
# shellcheck source=scripts/secure.sh
source "$root/scripts/secure.sh"


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

# Two brokers, two processes, two topic trees. The development broker: services/mosquitto.conf,
# then its listeners (`per_listener_settings` must precede every other setting, so it is written
# first): a TCP and a WebSockets listener that take anonymous clients, and a third (WebSockets)
# that refuses a client without a user name and password of $run/mosquitto.passwd with CONNACK
# "not authorized" (the e2e tests of a refusing broker). The secure profile (scripts/secure.sh)
# runs in a Mosquitto of its own: a client of an anonymous listener can publish as anyone, so
# sharing a topic tree with one would void every promise of the secure listeners.
broker_header() {
  printf '# Generated by scripts/services.sh from services/mosquitto.conf; do not edit.\nper_listener_settings true\n'
  # Mosquitto started as root drops to the user `mosquitto`, who may not reach the password file
  # in .run/ (a checkout under a private directory, as mktemp -d makes): it runs as whoever runs
  # this script instead, as FerretDB does.
  printf 'user %s\n\n' "$(id -un)"
  cat "$root/services/mosquitto.conf"
}

mosquitto_conf() {
  broker_header
  printf '\nlistener %s 127.0.0.1\nallow_anonymous true\n' "$MQTT_PORT"
  printf '\nlistener %s 127.0.0.1\nprotocol websockets\nallow_anonymous true\n' "$WS_PORT"
  printf '\nlistener %s 127.0.0.1\nprotocol websockets\nallow_anonymous false\npassword_file %s\n' \
    "$WS_AUTH_PORT" "$run/mosquitto.passwd"
}

mosquitto_secure_conf() {
  broker_header
  secure_listeners_conf
}

# start_broker NAME PORTS...: starts Mosquitto from the configuration `${NAME//-/_}_conf` writes,
# as $run/NAME.{conf,pid,log}; idempotent for the same configuration, restarted for another one
# (e.g. older, without a listener the tests need).
start_broker() {
  local name=$1 conf_fn=${1//-/_}_conf p; shift
  if alive "$name"; then
    if [[ $($conf_fn) == $(cat "$run/$name.conf" 2>/dev/null) ]]; then
      say "$name already running (pid $(cat "$run/$name.pid"))"
      return 0
    fi
    say "$name runs with an older configuration: restarting it (its clients reconnect)"
    stop_one "$name"
  fi
  for p in "$@"; do
    if port_open "$p"; then say "port $p is taken by another process; set VMM_MQTT_URL or the VMM_*_PORT of scripts/lib.sh"; return 1; fi
  done
  $conf_fn > "$run/$name.conf"
  # Each connection is a descriptor, and Mosquitto 2.0.11 closes a socket that never sends
  # CONNECT only after 90 s (its default keep alive of 60 s times 1.5, src/keepalive.c): raise
  # the soft limit to the hard one, so that thousands of silent sockets meet max_connections
  # (4096 per secure listener) before they meet the descriptor limit.
  (ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
   exec nohup mosquitto -c "$run/$name.conf" > "$run/$name.log" 2>&1) &
  echo $! > "$run/$name.pid"
  for p in "$@"; do
    wait_port "$p" "$name" "$run/$name.log"
  done
}

start_mosquitto() {
  if [[ -n ${VMM_MQTT_URL:-} ]]; then say "MQTT: using $VMM_MQTT_URL"; return 0; fi
  install_mosquitto
  # The one user of the password listener (loopback only): vmm / vmm.
  if [[ ! -f $run/mosquitto.passwd ]]; then
    mosquitto_passwd -c -b "$run/mosquitto.passwd" vmm vmm
    chmod 600 "$run/mosquitto.passwd"
  fi
  start_broker mosquitto "$MQTT_PORT" "$WS_PORT" "$WS_AUTH_PORT"
  say "mosquitto on 127.0.0.1:$MQTT_PORT (TCP), :$WS_PORT (WebSockets) and :$WS_AUTH_PORT (WebSockets, password), pid $(cat "$run/mosquitto.pid")"
  # shellcheck disable=SC2046 # one port a word
  start_broker mosquitto-secure $(secure_ports)
  say "mosquitto-secure, the secure profile: :$VMM_SECURE_MQTT_PORT (TCP), :$VMM_MQTTS_PORT (TLS), :$VMM_MQTTS_CERT_PORT (TLS, client certificate), :$VMM_SECURE_WS_PORT (WebSockets), :$VMM_WSS_PORT (WebSockets over TLS); files in $secure; pid $(cat "$run/mosquitto-secure.pid")"
}

# FerretDB's arguments, one a line: a running FerretDB started with others (e.g. without the TLS
# listener) is restarted.
ferretdb_args() {
  printf '%s\n' --handler=sqlite --sqlite-url="file:$data/ferretdb/" \
    --listen-addr="127.0.0.1:$MONGO_PORT" --listen-tls="127.0.0.1:$MONGO_TLS_PORT" \
    --listen-tls-cert-file="$secure/server.crt" --listen-tls-key-file="$secure/server.key" \
    --state-dir="$data/ferretdb-state" --telemetry=disable --debug-addr=- --log-level=warn
}

start_ferretdb() {
  if [[ -n ${VMM_MONGODB_URI:-} ]]; then say "MongoDB: using the given VMM_MONGODB_URI"; return 0; fi
  if alive ferretdb; then
    if [[ $(ferretdb_args) == $(cat "$run/ferretdb.args" 2>/dev/null) ]]; then
      say "ferretdb already running (pid $(cat "$run/ferretdb.pid"))"
      return 0
    fi
    say "ferretdb runs with older arguments: restarting it"
    stop_one ferretdb
  fi
  local p
  for p in "$MONGO_PORT" "$MONGO_TLS_PORT"; do
    if port_open "$p"; then say "port $p is taken by another process; set VMM_MONGODB_URI or VMM_MONGO_PORT/VMM_MONGO_TLS_PORT"; return 1; fi
  done
  install_ferretdb
  mkdir -p "$data/ferretdb" "$data/ferretdb-state"
  ferretdb_args > "$run/ferretdb.args"
  local args; mapfile -t args < "$run/ferretdb.args"
  nohup "$tools/bin/ferretdb" "${args[@]}" > "$run/ferretdb.log" 2>&1 &
  echo $! > "$run/ferretdb.pid"
  wait_port "$MONGO_PORT" ferretdb "$run/ferretdb.log"
  wait_port "$MONGO_TLS_PORT" ferretdb "$run/ferretdb.log"
  say "ferretdb on 127.0.0.1:$MONGO_PORT and :$MONGO_TLS_PORT (TLS) (SQLite in .data/ferretdb), pid $(cat "$run/ferretdb.pid")"
}

stop_one() { stop_pid_file "$1" "$run/$1.pid"; }

case ${1:-start} in
  install) install_mosquitto; build_clientid_plugin; install_ferretdb ;;
  start)
    if [[ -z ${VMM_MQTT_URL:-} || -z ${VMM_MONGODB_URI:-} ]]; then
      install_mosquitto  # mosquitto_passwd
      make_secure_files
      build_clientid_plugin
    fi
    start_mosquitto; start_ferretdb ;;
  # The RabbitMQ cluster of `make test-cluster` too (scripts/cluster.sh), so that one stop (CI's
  # trap) leaves nothing running.
  stop) stop_one mosquitto; stop_one mosquitto-secure; stop_one ferretdb; bash "$root/scripts/cluster.sh" stop ;;
  status)
    for s in mosquitto mosquitto-secure ferretdb; do
      if alive $s; then say "$s running (pid $(cat "$run/$s.pid"))"; else say "$s not running"; fi
    done ;;
  *) echo "usage: $0 [install|start|stop|status]" >&2; exit 2 ;;
esac
