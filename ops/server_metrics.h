// The metrics `tally serve --metrics ADDR` exposes (SPEC section 9), registered in one place so
// that their names, units, help texts and buckets are defined once. docs/operations.md lists
// them. The server (rpc/) updates them; this file only declares them.
//
// Thread safety: ServerMetrics is built once; its members are the registry's metrics, updated
// from any thread (see ops/metrics.h).
#pragma once

#include <cstdint>
#include <vector>

#include "ops/metrics.h"

namespace tally {

// Latency buckets in nanoseconds: 100 us .. 10 s.
std::vector<int64_t> latency_buckets_ns();
// Settlement run buckets in nanoseconds: 100 ms .. 30 min.
std::vector<int64_t> run_buckets_ns();
// Items per commit group: 1 .. 10,000 (the writer's group_items_max).
std::vector<int64_t> group_items_buckets();

struct ServerMetrics {
  explicit ServerMetrics(MetricsRegistry& registry);

  // Posting.
  Histogram& post_seconds;  // a post call, arrival to reply (the fsync wait included)
  Counter& posted_ok;       // tally_posted_items_total{status="ok"}
  Counter& posted_duplicate;
  Counter& posted_error;
  Gauge& queue_items;  // items submitted and not yet taken by the writer

  // The writer.
  Histogram& commit_seconds;      // one group: taken from the queue to durable
  Histogram& fsync_seconds;       // mdb_txn_commit of one group (LMDB's fsyncs)
  Histogram& commit_group_items;  // items per group

  // Settlement runs.
  Counter& runs_ok;
  Counter& runs_error;
  Histogram& run_seconds;
  Gauge& run_payees_done;     // the current (or last) run: payees planned or committed so far
  Gauge& run_payees_planned;  // ... of this many

  // Replication and leadership.
  Gauge& replication_standbys;     // leader: standbys streaming its replication log
  Gauge& replication_lag_txns;     // leader: its last txn - the highest standby acknowledgement
  Gauge& replication_applied_txn;  // standby: the last txn applied
  Gauge& replication_lag_seconds;  // standby: applied time - the leader's commit time, last set
  Gauge& leader;                   // 1 while am_leader, else 0
  Gauge& leader_term;              // the term of the current (or last) tenure

  // LMDB.
  Gauge& lmdb_map_bytes;   // the map's size (address space reserved)
  Gauge& lmdb_used_bytes;  // pages in use * page size
  Gauge& lmdb_readers;     // reader slots in use
  Gauge& journal_entries;  // the journal's last seq

  // Connections.
  Gauge& connections_open;
  Gauge& connections_poster;  // logged-in connections holding the role
  Gauge& connections_auditor;
  Gauge& connections_finance;
  Gauge& connections_replica;
  Counter& logins_refused;
};

}  // namespace tally
