#!/usr/bin/env bash
# p99 batch latency and throughput with 0 or 1 synchronous standby, through `tally benchmark
# --connect` against a running leader (issue 19's benchmark): one run.
# Usage: bench/sync_standby_benchmark.sh STANDBYS [ENTRIES] [BATCH]   STANDBYS: 0 (a leader with
# its replication log, acknowledging on its own fsync) or 1 (--sync-standbys 1 and a standby on
# the same machine: each acknowledgement also waits for the standby's fsync). Starts the servers
# in a fresh temporary directory, runs `tally --connect LEADER benchmark --entries ENTRIES
# (default 200000) --batch BATCH (default 1000: 200 batches at the default size, so p99 is the
# second slowest) --queries 0` (one batch in flight), prints its figures (load accepted, batch
# latency percentiles) prefixed with `standbys=N`, stops the servers. Alternate the two forms
# (0 1 0 1 ..., after a warm-up of each) and quote medians: the machine's speed drifts.
set -euo pipefail
cd "$(dirname "$0")/.."
standbys="${1:?usage: bench/sync_standby_benchmark.sh 0|1 [ENTRIES] [BATCH]}"
entries="${2:-200000}"
batch="${3:-1000}"
T="${TALLY:-build/release/cli/tally}"
dir=$(mktemp -d /tmp/tally-sync-latency.XXXXXX)
source bench/sync_standby_servers.sh
"$T" --connect "$leader" --token tok-bench benchmark --entries "$entries" --batch "$batch" \
  --queries 0 >"$dir/out.txt" 2>"$dir/err.txt" || {
  cat "$dir/out.txt" "$dir/err.txt" >&2
  exit 1
}
grep -E '^(load accepted|batch latency p(50|90|99|100)|[0-9]+ batches in) ' "$dir/out.txt" |
  sed "s/^/standbys=$standbys entries=$entries batch=$batch: /"
