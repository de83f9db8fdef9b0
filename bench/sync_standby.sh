#!/usr/bin/env bash
# Posting throughput with 0 or 1 synchronous standby (issue 19's benchmark): one run.
# Usage: bench/sync_standby.sh STANDBYS [ENTRIES]   STANDBYS: 0 (a leader with its
# replication log, acknowledging on its own fsync) or 1 (--sync-standbys 1 and a standby on the
# same machine: each acknowledgement waits for the standby's fsync too). Starts the servers in a
# fresh temporary directory, posts ENTRIES two-posting entries (default 100000) with
# `tally --connect ... post` (its batches, one in flight), prints the
# seconds and entries/s, stops the servers. Run it alternated, 1 then 0, several pairs, and take
# medians (docs/operations.md "Failover" has the loop).
set -euo pipefail
cd "$(dirname "$0")/.."
standbys="${1:?usage: bench/sync_standby.sh 0|1 [ENTRIES]}"
entries="${2:-100000}"
T="${TALLY:-build/release/cli/tally}"
dir=$(mktemp -d /tmp/tally-sync-bench.XXXXXX)
{
  echo '{"type":"open","account":"ops:bank","kind":"asset","currencies":["USD"]}'
  echo '{"type":"open","account":"ops:wallet","kind":"liability","currencies":["USD"]}'
  for ((i = 1; i <= entries; i++)); do
    echo "{\"type\":\"entry\",\"id\":\"e-$i\",\"at\":\"2026-01-05T10:00:00Z\",\"kind\":\"deposit\",\"postings\":[{\"account\":\"ops:bank\",\"currency\":\"USD\",\"side\":\"debit\",\"amount\":\"1.00\"},{\"account\":\"ops:wallet\",\"currency\":\"USD\",\"side\":\"credit\",\"amount\":\"1.00\"}]}"
  done
} >"$dir/items.jsonl"
source bench/sync_standby_servers.sh
start=$(date +%s.%N)
"$T" --connect "$leader" --token tok-bench post "$dir/items.jsonl" >"$dir/out.txt"
end=$(date +%s.%N)
ok=$(grep -c '"status":"ok"' "$dir/out.txt" || true)
[ "$ok" -eq $((entries + 2)) ] || { echo "posted $ok of $((entries + 2))" >&2; exit 1; }
awk -v s="$start" -v e="$end" -v n="$entries" -v k="$standbys" \
  'BEGIN { printf "standbys=%s entries=%d seconds=%.2f entries_per_s=%.0f\n", k, n, e - s, n / (e - s) }'
