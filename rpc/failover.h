// Failover through etcd (`tally serve --etcd ENDPOINTS --cluster NAME --advertise ADDR`,
// docs/operations.md "Failover"): every node of a cluster runs one. While someone else holds the
// leader key (ops/election.h) the node is a standby of the address in it (rpc/standby.h). When
// the key is gone, the standbys stop following, each publishes its position (the highest term its
// store holds, then its last txn: "term:txn") under /tally/<cluster>/candidates/<address> (with a
// lease), waits `settle_ms`, and only the one furthest on (ties: the smallest address) campaigns:
// with --sync-standbys on the old leader, every acknowledged transaction is on a standby, so the
// winner holds all of them. The winner stamps its term (the key's create revision) into every later
// change set, so a standby that has applied the new term refuses the old leader's sets, and it
// starts accepting writes. A leader acknowledges only while its lease is certainly alive
// (may_acknowledge, checked by the ledger right before results go out), and logs when that turns
// false ("lease not confirmed: not acknowledging", warn: a keep-alive round failed) and true again
// ("lease confirmed again: acknowledging"); when its tenure ends it stops (exit 5) and comes back,
// restarted, as a standby. The lease's TTL is `ttl_seconds` (tally serve --lease-ttl-s).
//
// Thread safety: run() blocks on a thread of its own with its own event loop; may_acknowledge()
// and leading() from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "ops/json_log.h"
#include "ops/server_metrics.h"
#include "rpc/serving_role.h"

namespace tally {

class LeaderElection;

// Failover::run's code when this node's store diverged from the leader's (it led once and holds
// transactions no standby acknowledged): `tally serve` sets the store aside and rejoins empty.
inline constexpr int kServeRejoin = 6;

struct FailoverOptions {
  std::vector<std::string> etcd_endpoints;  // host:port of every etcd member
  std::string cluster;                      // [a-z0-9][a-z0-9_.-]*
  std::string advertise;                    // this server's address, as clients reach it
  std::string token;                        // a replica token, to follow a leader
  std::string tls_ca_file;
  int64_t ttl_seconds = static_cast<int64_t>(limits::lease_ttl_s_default);  // --lease-ttl-s
  uint64_t settle_ms = 500;  // how long candidates wait for each other's positions
};

class Failover {
 public:
  // `ledger`, `role`, `log` (and `metrics`, may be null) outlive it.
  Failover(Ledger& ledger, FailoverOptions options, ServingRole& role, JsonLog& log,
           ServerMetrics* metrics)
      : ledger_(ledger), o_(std::move(options)), role_(role), log_(log), metrics_(metrics) {}

  // Runs until `stop` (returns 0, resigning when leading), the tenure ends (5), the store
  // diverged from the leader's (kServeRejoin) or the leader cannot serve this standby (4).
  int run(const std::atomic<bool>& stop);
  // True only while this node leads with a lease certainly alive. Any thread.
  bool may_acknowledge() const;
  bool leading() const { return leading_.load(); }

 private:
  Ledger& ledger_;
  FailoverOptions o_;
  ServingRole& role_;
  JsonLog& log_;
  ServerMetrics* metrics_;
  std::atomic<const LeaderElection*> election_{nullptr};
  std::atomic<bool> leading_{false};
};

}  // namespace tally
