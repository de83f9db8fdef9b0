#!/usr/bin/env bash
# SPEC section 6, memory: "server RSS outside the LMDB map stays under 256 MiB under sustained
# load". Starts `tally serve` (the real binary, its own process) on a fresh data directory with
# fixtures/marketplaces.toml, drives it over a unix socket for SECONDS with CLIENTS posting
# clients (`tally --connect ... post`, sale events for 10,000 sellers and 1,000 affiliates in
# files of 20,000 lines, each line its own id) and one auditor reading (trial balance, balances
# of one payee, a statement) in a loop, and samples the server's /proc/PID/status every second.
#
# RssAnon is the server's own memory (heap, stacks): "outside the LMDB map". RssFile is file
# pages mapped in: the LMDB map (data.mdb), which the kernel can drop at will, and the binary.
#
# Usage: bench/server_rss.sh [SECONDS [CLIENTS]]   (defaults 120 and 4)
# Needs the release build (scripts/build release tally). Prints one line per sample and a
# summary: peak RssAnon, RssFile at the end, sales posted and their rate.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-120}"
clients="${2:-4}"
T="${TALLY_BIN:-build/release/cli/tally}"  # TALLY_BIN: another build, to compare side by side
[ -x "$T" ] || { echo "missing $T: run scripts/build release tally" >&2; exit 2; }
work="$(mktemp -d "${TMPDIR:-/tmp}/tally-rss-XXXXXX")"
sock="unix:$work/tally.sock"
"$T" serve --data "$work/data" --config fixtures/marketplaces.toml --listen "$sock" \
  >"$work/serve.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 100); do [ -S "$work/tally.sock" ] && break; sleep 0.1; done
[ -S "$work/tally.sock" ] || { cat "$work/serve.log" >&2; exit 1; }

# Sale lines for client $1, file $2: ids unique across clients and files.
sales() {
  awk -v c="$1" -v f="$2" 'BEGIN {
    for (i = 0; i < 20000; i++) {
      n = f * 20000 + i
      printf "{\"type\":\"sale\",\"id\":\"c%d-%d\",\"at\":\"2026-01-05T10:00:00Z\",\"marketplace\":\"shop\",\"seller\":\"s%d\",\"amount\":\"%d.%02d\",\"currency\":\"EUR\",\"category\":\"product\",\"affiliate\":\"a%d\"}\n", c, n, (n * 7 + c) % 10000, 10 + n % 490, n % 100, (n * 31 + c) % 1000
    }
  }'
}
deadline=$((SECONDS + secs))
poster() {
  local c="$1" f=0
  while ((SECONDS < deadline)); do
    sales "$c" "$f" >"$work/in-$c.jsonl"
    "$T" --connect "$sock" --token k3y-for-orders post "$work/in-$c.jsonl" >"$work/out-$c.jsonl" ||
      { echo "client $c: post failed" >&2; return 1; }
    grep -c '"status":"ok"' "$work/out-$c.jsonl" >>"$work/ok-$c" || true
    f=$((f + 1))
  done
}
# Reads until the deadline; a read of an account no sale has opened yet fails (exit 1), which is
# no reason to stop. Counts the reads that succeeded.
auditor() {
  local reads=0
  while ((SECONDS < deadline)); do
    "$T" --connect "$sock" --token k3y-for-audit trial-balance --json >/dev/null &&
      reads=$((reads + 1)) || true
    "$T" --connect "$sock" --token k3y-for-audit balances shop:payees:s7 --json >/dev/null &&
      reads=$((reads + 1)) || true
    "$T" --connect "$sock" --token k3y-for-audit statement shop:payees:s7:pending --limit 1000 \
      --json >/dev/null && reads=$((reads + 1)) || true
  done
  echo "$reads" >"$work/reads"
}
pids=()
for c in $(seq 1 "$clients"); do
  poster "$c" &
  pids+=($!)
done
auditor &
pids+=($!)

peak=0
echo "t_s rss_anon_mib rss_file_mib"
start=$SECONDS
while ((SECONDS < deadline)); do
  anon=$(awk '/^RssAnon:/ { print int($2 / 1024) }' "/proc/$server/status")
  file=$(awk '/^RssFile:/ { print int($2 / 1024) }' "/proc/$server/status")
  ((anon > peak)) && peak=$anon
  echo "$((SECONDS - start)) $anon $file"
  sleep 1
done
for p in "${pids[@]}"; do wait "$p"; done
anon=$(awk '/^RssAnon:/ { print int($2 / 1024) }' "/proc/$server/status")
((anon > peak)) && peak=$anon
file=$(awk '/^RssFile:/ { print int($2 / 1024) }' "/proc/$server/status")
posted=$(cat "$work"/ok-* 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
elapsed=$((SECONDS - start))
echo "peak RssAnon = $peak MiB; RssFile at the end = $file MiB (data.mdb $(($(stat -c %s "$work/data/data.mdb") >> 20)) MiB)"
echo "sales posted = $posted in $elapsed s ($((posted / (elapsed > 0 ? elapsed : 1))) /s) by $clients clients; $(cat "$work/reads") reads by the auditor"
