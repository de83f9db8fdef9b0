# Sourced by bench/sync_standby.sh and bench/sync_standby_benchmark.sh: the servers both measure.
# Needs T (the tally binary), dir (a fresh directory) and standbys (0 or 1). Writes the config
# (tokens tok-bench: poster and auditor; tok-replica), starts the leader on unix:$dir/leader.sock
# (0: --replication-log, acknowledging on its own fsync; 1: --sync-standbys 1) and, for 1, a
# standby following it; sets `leader` to its address. A trap stops them and removes $dir.
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
cat >"$dir/config.toml" <<TOML
[tokens]
"tok-bench" = ["poster", "auditor"]
"tok-replica" = ["replica"]
TOML
leader="unix:$dir/leader.sock"
if [ "$standbys" = 0 ]; then
  "$T" serve --data "$dir/leader" --config "$dir/config.toml" --listen "$leader" \
    --replication-log 2>"$dir/leader.log" &
else
  "$T" serve --data "$dir/leader" --config "$dir/config.toml" --listen "$leader" \
    --sync-standbys 1 2>"$dir/leader.log" &
fi
pids+=($!)
for _ in $(seq 500); do [ -S "$dir/leader.sock" ] && break; sleep 0.01; done
if [ "$standbys" = 1 ]; then
  "$T" --token tok-replica serve --data "$dir/standby" --config "$dir/config.toml" \
    --listen "unix:$dir/standby.sock" --standby-of "$leader" 2>"$dir/standby.log" &
  pids+=($!)
fi
