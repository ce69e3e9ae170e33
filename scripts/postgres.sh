#!/usr/bin/env bash
# A second FerretDB 1.24.2, with its PostgreSQL handler, for measuring it beside the SQLite one:
#   - PostgreSQL from Debian's packages (installed if missing), a private cluster in
#     .data/postgres owned by the `postgres` user, on 127.0.0.1:$VMM_PG_PORT only;
#   - FerretDB (the binary scripts/services.sh builds into .tools/) on 127.0.0.1:$VMM_MONGO_PG_PORT,
#     telemetry disabled, its pid in .run/ferretdb-pg.pid.
# The default ports are in scripts/lib.sh. Usage: scripts/postgres.sh [start|stop|status]. `start`
# is idempotent (a running server is found by its pid file); `stop` stops only what `start`
# started, by pid.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
run="$root/.run"
data="$root/.data"
pgdata="$data/postgres"
PG_DB=ferretdb
mkdir -p "$run" "$data"

SAY_AS=postgres
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
PG_PORT=$VMM_PG_PORT MONGO_PORT=$VMM_MONGO_PG_PORT


alive() { pid_alive "$1"; } # pid file -> 0 if it names a live process

as_postgres() {
  if [[ $(id -un) == postgres ]]; then "$@"
  elif command -v runuser >/dev/null; then runuser -u postgres -- "$@"
  else su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  fi
}

pg_bin() { # the newest installed server's bin directory
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [[ -n $d && -x $d/initdb ]] && echo "$d"
}

install_postgres() {
  pg_bin >/dev/null && return 0
  say "installing postgresql from Debian's packages"
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  pg_bin >/dev/null || { say "no PostgreSQL server after apt-get install"; return 1; }
}

start_postgres() {
  local bin; bin=$(pg_bin)
  if alive "$pgdata/postmaster.pid"; then
    say "postgresql already running (pid $(head -n 1 "$pgdata/postmaster.pid"))"
    return 0
  fi
  if port_open "$PG_PORT"; then say "port $PG_PORT is taken by another process; set VMM_PG_PORT"; return 1; fi
  if [[ ! -f $pgdata/PG_VERSION ]]; then
    say "initialising a cluster in $pgdata"
    mkdir -p "$pgdata"
    chown postgres: "$pgdata"
    chmod 700 "$pgdata"
    as_postgres "$bin/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$run/postgres-initdb.log" 2>&1 \
      || { tail -n 20 "$run/postgres-initdb.log" >&2; return 1; }
  fi
  # Loopback only, on our own port, socket in the data directory (not /var/run/postgresql).
  touch "$run/postgres.log" && chown postgres: "$run/postgres.log"
  as_postgres "$bin/pg_ctl" -D "$pgdata" -l "$run/postgres.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $pgdata" start >/dev/null \
    || { tail -n 30 "$run/postgres.log" >&2; return 1; }
  head -n 1 "$pgdata/postmaster.pid" > "$run/postgres.pid"
  if ! as_postgres "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" | grep -q 1; then
    as_postgres "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$PG_DB"
    say "created database $PG_DB"
  fi
  say "postgresql on 127.0.0.1:$PG_PORT ($pgdata), pid $(cat "$run/postgres.pid")"
}

start_ferretdb() {
  if alive "$run/ferretdb-pg.pid"; then say "ferretdb-pg already running (pid $(cat "$run/ferretdb-pg.pid"))"; return 0; fi
  if port_open "$MONGO_PORT"; then say "port $MONGO_PORT is taken by another process; set VMM_MONGO_PG_PORT"; return 1; fi
  [[ -x $tools/bin/ferretdb ]] || bash "$root/scripts/services.sh" install
  mkdir -p "$data/ferretdb-pg-state"
  nohup "$tools/bin/ferretdb" --handler=postgresql \
    --postgresql-url="postgres://postgres@127.0.0.1:$PG_PORT/$PG_DB" \
    --listen-addr="127.0.0.1:$MONGO_PORT" --state-dir="$data/ferretdb-pg-state" \
    --telemetry=disable --debug-addr=- --log-level=warn > "$run/ferretdb-pg.log" 2>&1 &
  echo $! > "$run/ferretdb-pg.pid"
  for _ in $(seq 1 150); do
    port_open "$MONGO_PORT" && { say "ferretdb-pg on 127.0.0.1:$MONGO_PORT (PostgreSQL handler), pid $(cat "$run/ferretdb-pg.pid")"; return 0; }
    alive "$run/ferretdb-pg.pid" || break
    sleep 0.2
  done
  say "ferretdb-pg did not open port $MONGO_PORT; its log ($run/ferretdb-pg.log):"
  tail -n 30 "$run/ferretdb-pg.log" >&2 || true
  return 1
}

stop_ferretdb() { stop_pid_file ferretdb-pg "$run/ferretdb-pg.pid"; }

stop_postgres() {
  if alive "$pgdata/postmaster.pid"; then
    local pid; pid=$(head -n 1 "$pgdata/postmaster.pid")
    as_postgres "$(pg_bin)/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null
    say "stopped postgresql (pid $pid)"
  fi
  rm -f "$run/postgres.pid"
}

case ${1:-start} in
  install) install_postgres ;;
  start) install_postgres; start_postgres; start_ferretdb ;;
  stop) stop_ferretdb; stop_postgres ;;
  status)
    if alive "$pgdata/postmaster.pid"; then say "postgresql running (pid $(head -n 1 "$pgdata/postmaster.pid"), port $PG_PORT)"; else say "postgresql not running"; fi
    if alive "$run/ferretdb-pg.pid"; then say "ferretdb-pg running (pid $(cat "$run/ferretdb-pg.pid"), port $MONGO_PORT)"; else say "ferretdb-pg not running"; fi ;;
  *) echo "usage: $0 [install|start|stop|status]" >&2; exit 2 ;;
esac
