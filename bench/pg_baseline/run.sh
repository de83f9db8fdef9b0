#!/usr/bin/env bash
# PostgreSQL baseline for SPEC section 6's posting target (see README.md in this directory).
# Usage: bench/pg_baseline/run.sh [set|row|one [SECONDS [CLIENTS]]]
# Starts a throwaway cluster in a temporary directory (as the `postgres` user when run as root),
# loads schema.sql, posts sales with pgbench for SECONDS (default 60) from CLIENTS connections
# (default 1), prints pgbench's report and sales/s, checks the books, and removes the cluster.
# Variants: set and row commit 1000 sales (6000 postings) per transaction; one commits each sale
# in its own transaction.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
variant="${1:-set}"
secs="${2:-60}"
clients="${3:-1}"
case "$variant" in
  set | row) per_tx=1000 ;;
  one) per_tx=1 ;;
  *) echo "usage: $0 [set|row|one [SECONDS [CLIENTS]]]" >&2; exit 2 ;;
esac
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
port=5499
work="$(mktemp -d "${TMPDIR:-/tmp}/tally-pg-XXXXXX")"
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" = 0 ] && chown postgres "$work"
cp "$here"/schema.sql "$here"/post_sales_"$variant".pgbench "$here"/check.sql "$work"/
[ "$(id -u)" = 0 ] && chown postgres "$work"/*

as_pg "$bin/initdb" -D "$work/data" -A trust -U postgres >/dev/null
# synchronous_commit and fsync are PostgreSQL's defaults, spelled out; shared_buffers and
# max_wal_size are raised from the defaults (128MB, 1GB) so checkpoints do not slow the run.
as_pg "$bin/pg_ctl" -D "$work/data" -l "$work/log" -w -o \
  "-k $work -p $port -c listen_addresses='' -c synchronous_commit=on -c fsync=on \
   -c full_page_writes=on -c shared_buffers=256MB -c max_wal_size=4GB" start >/dev/null
stop() {
  as_pg "$bin/pg_ctl" -D "$work/data" -m fast stop >/dev/null || true
  rm -rf "$work"
}
trap stop EXIT

psql_() { as_pg "$bin/psql" -h "$work" -p "$port" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_ -d postgres -c 'CREATE DATABASE bench'
psql_ -d bench -f "$work/schema.sql"
psql_ -d bench -At -c 'SHOW synchronous_commit' | sed 's/^/synchronous_commit=/'
psql_ -d bench -At -c 'SHOW fsync' | sed 's/^/fsync=/'

# Warm-up, not measured: 10 transactions touch every seller's book once.
as_pg "$bin/pgbench" -h "$work" -p "$port" -U postgres -n -f "$work/post_sales_$variant.pgbench" -t 10 \
  bench >/dev/null
out="$(as_pg "$bin/pgbench" -h "$work" -p "$port" -U postgres -n -M prepared \
  -f "$work/post_sales_$variant.pgbench" -c "$clients" -j "$clients" -T "$secs" bench)"
echo "$out"
tps="$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)"
echo "sales/s = $(awk -v t="$tps" -v k="$per_tx" 'BEGIN { printf "%.0f", t * k }') ($variant: $per_tx sale(s) of 6 postings per transaction, $clients client(s))"
psql_ -d bench -f "$work/check.sql"
