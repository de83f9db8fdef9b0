// A standby (`tally serve --standby-of ADDR`, docs/operations.md "Standbys"): follows its
// leader's replication log (Replica.follow, rpc/replica_stream.h) from the txn after its own
// last, applies each message of change sets through Ledger::replicate (checked, durable) and
// acknowledges it; reconnects with a backoff when the leader goes away or refuses it for a while.
//
// Thread safety: run_standby runs on a thread of its own (it blocks); `stop` and StandbyStatus
// may be touched from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "ledger/ledger.h"
#include "ops/json_log.h"
#include "ops/server_metrics.h"

namespace tally {

struct StandbyOptions {
  std::string leader;  // the leader's address, as for a client (ClientOptions::address)
  std::string token;   // a token with the replica role in the leader's config
  std::string tls_ca_file;
  uint64_t retry_delay_ms_first = 100;  // after a lost or refused stream; doubles
  uint64_t retry_delay_ms_max = 2000;
};

// What the stream has done, for other threads (metrics, tests, a failover's "caught up").
struct StandbyStatus {
  std::atomic<bool> connected{false};  // a stream is open
  std::atomic<uint64_t> applied_txn{0};
};

// How a standby's following ended.
enum class StandbyEnd : uint8_t {
  stopped,     // `stop` was set
  diverged,    // this store's history differs from the leader's: a change set did not follow or
               // check, or this store holds transactions the leader does not (a deposed leader's
               // unacknowledged tail). A failover node may set its store aside and rejoin empty.
  unservable,  // the leader cannot serve this standby (its log no longer holds the next txn, or
               // the token lacks the replica role): it needs a person (seed from a backup)
};

// Follows until `stop` is set or the stream cannot go on (logged at error level with the reason).
// `metrics` may be null.
StandbyEnd run_standby(Ledger& ledger, const StandbyOptions& options, const std::atomic<bool>& stop,
                       StandbyStatus& status, JsonLog& log, ServerMetrics* metrics);

}  // namespace tally
