#!/usr/bin/env bash
# dbprobe --after-fill hook (an experiment, not a supported setup): adds, behind FerretDB's back, a
# GIN index on (_jsonb->'_id') to every collection of the probe's database $DBPROBE_DB on the
# PostgreSQL of scripts/postgres.sh. FerretDB 1.24.2's PostgreSQL handler filters `_id` with
# `_jsonb->$1 @> $2`, which its own btree index on (_jsonb->'_id') cannot serve; a GIN index can.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(cd "$(dirname "$0")/../../.." && pwd)/scripts/lib.sh" # VMM_PG_PORT
psql_pg() { runuser -u postgres -- psql -h 127.0.0.1 -p "$VMM_PG_PORT" -d ferretdb -v ON_ERROR_STOP=1 -qAtc "$1"; }
schema=$DBPROBE_DB
for t in $(psql_pg "SELECT tablename FROM pg_tables WHERE schemaname = '$schema' AND tablename NOT LIKE '\\_ferretdb%'"); do
  psql_pg "CREATE INDEX IF NOT EXISTS \"${t}_id_gin\" ON \"$schema\".\"$t\" USING gin ((_jsonb->'_id'))"
  psql_pg "ANALYZE \"$schema\".\"$t\""
  echo "  $t: GIN index on _jsonb->'_id'" >&2
done
