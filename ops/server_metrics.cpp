#include "ops/server_metrics.h"

#include "ops/process_memory.h"

namespace tally {

namespace {

constexpr int64_t kUs = 1'000;
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kS = 1'000'000'000;

constexpr std::string_view kPostedHelp = "Items answered by post calls, by status.";
constexpr std::string_view kRunsHelp = "Settlement runs committed or failed.";
constexpr std::string_view kRoleHelp =
    "Open RPC connections logged in with a token granting the role.";

}  // namespace

std::vector<int64_t> latency_buckets_ns() {
  return {100 * kUs, 250 * kUs, 500 * kUs, 1 * kMs,   2500 * kUs, 5 * kMs,    10 * kMs, 25 * kMs,
          50 * kMs,  100 * kMs, 250 * kMs, 500 * kMs, 1 * kS,     2500 * kMs, 5 * kS,   10 * kS};
}

std::vector<int64_t> run_buckets_ns() {
  return {100 * kMs, 500 * kMs, 1 * kS,   5 * kS,   10 * kS,
          30 * kS,   60 * kS,   300 * kS, 600 * kS, 1800 * kS};
}

std::vector<int64_t> group_items_buckets() {
  return {1, 10, 100, 1000, 10000};
}

ServerMetrics::ServerMetrics(MetricsRegistry& r)
    : post_seconds(r.histogram("tally_post_seconds",
                               "Post calls from arrival to reply, including the wait for the "
                               "durable commit.",
                               MetricUnit::seconds, latency_buckets_ns())),
      posted_ok(r.counter("tally_posted_items_total", kPostedHelp, {{"status", "ok"}})),
      posted_duplicate(
          r.counter("tally_posted_items_total", kPostedHelp, {{"status", "duplicate"}})),
      posted_error(r.counter("tally_posted_items_total", kPostedHelp, {{"status", "error"}})),
      queue_items(r.gauge("tally_queue_items",
                          "Items submitted to the writer and not yet taken into a commit group.")),
      commit_seconds(r.histogram("tally_commit_seconds",
                                 "Commit groups from being taken off the queue to durable.",
                                 MetricUnit::seconds, latency_buckets_ns())),
      fsync_seconds(r.histogram("tally_fsync_seconds",
                                "mdb_txn_commit of a commit group (LMDB's fsyncs).",
                                MetricUnit::seconds, latency_buckets_ns())),
      commit_group_items(r.histogram("tally_commit_group_items", "Items per commit group.",
                                     MetricUnit::none, group_items_buckets())),
      runs_ok(r.counter("tally_settlement_runs_total", kRunsHelp, {{"result", "ok"}})),
      runs_error(r.counter("tally_settlement_runs_total", kRunsHelp, {{"result", "error"}})),
      run_seconds(r.histogram("tally_settlement_run_seconds",
                              "Settlement runs from start to commit.", MetricUnit::seconds,
                              run_buckets_ns())),
      run_payees_done(r.gauge("tally_settlement_run_payees_done",
                              "The current or last settlement run: payees done so far.")),
      run_payees_planned(r.gauge("tally_settlement_run_payees_planned",
                                 "The current or last settlement run: payees to do.")),
      replication_standbys(
          r.gauge("tally_replication_standbys", "Leader: standbys streaming its replication log.")),
      replication_lag_txns(r.gauge("tally_replication_lag_txns",
                                   "Leader: its last write transaction minus the highest one a "
                                   "standby has acknowledged.")),
      replication_applied_txn(
          r.gauge("tally_replication_applied_txn",
                  "Standby: the last write transaction of the leader applied.")),
      replication_lag_seconds(r.gauge("tally_replication_lag_seconds",
                                      "Standby: when the last change set was applied here minus "
                                      "when the leader committed it.",
                                      {}, MetricUnit::seconds)),
      leader(r.gauge("tally_leader", "1 while this server is the leader with a live lease.")),
      leader_term(r.gauge("tally_leader_term",
                          "The term (etcd revision) of this server's current or last tenure.")),
      lmdb_map_bytes(
          r.gauge("tally_lmdb_map_bytes", "Size of the LMDB map.", {}, MetricUnit::bytes)),
      lmdb_used_bytes(r.gauge("tally_lmdb_used_bytes", "LMDB pages in use times the page size.", {},
                              MetricUnit::bytes)),
      lmdb_readers(r.gauge("tally_lmdb_readers", "LMDB reader slots in use.")),
      journal_entries(r.gauge("tally_journal_entries", "Entries in the journal (its last seq).")),
      connections_open(r.gauge("tally_connections_open", "Open RPC connections.")),
      connections_poster(r.gauge("tally_connections_logged_in", kRoleHelp, {{"role", "poster"}})),
      connections_auditor(r.gauge("tally_connections_logged_in", kRoleHelp, {{"role", "auditor"}})),
      connections_finance(r.gauge("tally_connections_logged_in", kRoleHelp, {{"role", "finance"}})),
      connections_replica(r.gauge("tally_connections_logged_in", kRoleHelp, {{"role", "replica"}})),
      logins_refused(r.counter("tally_logins_refused_total", "Logins with an unknown token.")) {
  register_process_memory(r);
}

}  // namespace tally
