#!/usr/bin/env bash
# SPEC section 6, posting: durable sales over RPC in batches of 1000 beside (a) the same sales
# through a double-entry schema on PostgreSQL with synchronous commit (bench/pg_baseline/) and
# (b) a raw LMDB loop doing the same puts per commit (ledger_bench's BM_SalesVsRawLmdb).
#
# Usage: bench/posting_vs_baselines.sh [ROUNDS [PG_SECONDS]]   (defaults 3 and 30)
#
# Each round runs, one after the other on the same machine: PostgreSQL one sale per transaction
# (16 clients), PostgreSQL 1000 sales per transaction row by row and set-based (1 client), tally
# over RPC (loadgen_bench BM_Sales/1000/1: one client, batches of 1000, 384 batches, first with
# one call in flight (rpc_w1: one batch per commit, as the raw loop) then four (rpc_w4)), tally in
# process beside the raw LMDB loop (ledger_bench BM_SalesVsRawLmdb). All post the same sales
# (10,000 sellers, 1,000 affiliates, 6 postings each). It
# prints every round's figures and ratios, then the medians of the ratios over the rounds: ratios
# within a round are side by side; rounds show the noise. Needs the release build
# (scripts/build release) and PostgreSQL (apt-get install -y postgresql); takes about
# ROUNDS * (3 * PG_SECONDS + 60) seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
pg_secs="${2:-30}"
bin=build/release/bench
for b in loadgen_bench ledger_bench; do
  [ -x "$bin/$b" ] || { echo "missing $bin/$b: run scripts/build release" >&2; exit 2; }
done
ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || {
  echo "PostgreSQL is not installed: apt-get install -y postgresql" >&2
  exit 2
}
out="$(mktemp -d "${TMPDIR:-/tmp}/tally-posting-XXXXXX")"
trap 'rm -rf "$out"' EXIT

# The value of column $2 (a header name, quotes included for user counters) in the row of a
# Google Benchmark CSV report whose name matches $1.
csv_col() {
  awk -F, -v pat="$1" -v col="$2" '
    !h && $1 == "name" { for (i = 1; i <= NF; i++) c[$i] = i; h = 1; next }
    h && $1 ~ pat { print $(c[col]); exit }'
}
pg() { bench/pg_baseline/run.sh "$1" "$pg_secs" "$2" | sed -n 's/^sales\/s = \([0-9]*\).*/\1/p'; }

printf 'round pg_one pg_row pg_set rpc_w1 rpc_w4 in_process raw rpc_w1/pg_one rpc_w1/pg_row rpc_w1/pg_set rpc_w1/raw rpc_w4/raw in_process/raw\n' |
  tee "$out/table"
rpc() {  # sales/s over RPC with $1 calls in flight
  TALLY_LOADGEN_SCALE=8 TALLY_LOADGEN_WINDOW="$1" "$bin/loadgen_bench" \
    --benchmark_filter='^BM_Sales/1000/1/' --benchmark_format=csv >"$out/rpc.csv" 2>/dev/null
  csv_col BM_Sales/1000/1/ '"entries_per_s"' <"$out/rpc.csv"
}
for r in $(seq 1 "$rounds"); do
  one="$(pg one 16)"
  row="$(pg row 1)"
  set_="$(pg set 1)"
  w1="$(rpc 1)"
  w4="$(rpc 4)"
  "$bin/ledger_bench" --benchmark_filter=SalesVsRawLmdb --benchmark_format=csv \
    >"$out/raw.csv" 2>/dev/null
  inproc="$(csv_col SalesVsRawLmdb '"ledger_sales/s"' <"$out/raw.csv")"
  raw="$(csv_col SalesVsRawLmdb '"raw_sales/s"' <"$out/raw.csv")"
  awk -v r="$r" -v one="$one" -v row="$row" -v set="$set_" -v w1="$w1" -v w4="$w4" -v ip="$inproc" \
    -v raw="$raw" 'BEGIN { printf "%d %d %d %d %d %d %d %d %.1f %.1f %.2f %.2f %.2f %.2f\n", r, one,
      row, set, w1, w4, ip, raw, w1 / one, w1 / row, w1 / set, w1 / raw, w4 / raw, ip / raw }' |
    tee -a "$out/table"
done
echo "medians over $rounds rounds:"
for col in $(seq 2 14); do
  name="$(head -1 "$out/table" | cut -d' ' -f"$col")"
  med="$(tail -n +2 "$out/table" | cut -d' ' -f"$col" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
  echo "  $name = $med"
done
