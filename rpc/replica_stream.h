// The leader's side of replication (docs/operations.md "Standbys"): Replica.follow streams the
// store's change sets (ledger/replication.h) from a txn to a standby's ChangeSink, then each new
// transaction as it commits; each apply's return is the standby's acknowledgement. The server
// keeps one ack per stream in its StandbyAcks and, with --sync-standbys N, releases the ledger's
// held results through the N-th highest ack of the standbys connected.
//
// Flow: one apply call at a time per stream (a slow standby holds back only itself, and, when the
// leader waits for it, the leader's acknowledgements); at most replica_message_bytes_max of rows
// per call. Caught up, the stream looks for new commits every replica_poll_ms (a read
// transaction, never a wait on the writer) and sends an empty heartbeat every
// replica_heartbeat_ms so a standby that went away ends its call.
//
// Thread safety: runs on the server's event loop only.
#pragma once

#include <kj/async.h>

#include <cstdint>
#include <map>

#include "ops/server_metrics.h"
#include "rpc/tally.capnp.h"

namespace tally {

class RpcServerImpl;
class Ledger;

inline constexpr uint64_t replica_message_bytes_max = uint64_t(4) << 20;
inline constexpr uint64_t replica_poll_ms = 1;
inline constexpr uint64_t replica_heartbeat_ms = 1000;
// In the refusal of a standby whose store holds transactions this server does not: how the
// standby tells it diverged (rpc/standby.h) from a log that moved on.
inline constexpr const char* kStandbyAheadText = "ahead of this server";

// The acknowledgements of the standbys streaming from this server, and the release point they
// make for a synchronous leader.
class StandbyAcks {
 public:
  // `sync_standbys`: 0 for an asynchronous leader (nothing is held). `metrics` may be null.
  StandbyAcks(Ledger& ledger, unsigned sync_standbys, ServerMetrics* metrics)
      : ledger_(ledger), sync_(sync_standbys), metrics_(metrics) {}
  uint64_t add();                       // a new stream; its id
  void ack(uint64_t id, uint64_t txn);  // the stream's standby holds txn durably
  void remove(uint64_t id);             // the stream ended
  size_t standbys() const { return acks_.size(); }
  uint64_t highest_ack() const;  // 0 when none
  unsigned sync_standbys() const { return sync_; }

 private:
  void release();
  void gauges();
  Ledger& ledger_;
  unsigned sync_;
  ServerMetrics* metrics_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, uint64_t> acks_;  // stream id -> txn acknowledged
};

// Streams change sets from `from_txn` to `sink` until cancelled, the sink fails or the server
// shuts down (DISCONNECTED). Rejected with badRequest (the Error in the result; resolves to an
// error text) when the log does not hold from_txn. Resolves to the last txn sent.
struct FollowChangesResult {
  std::string error;  // empty: ok
  uint64_t last_txn = 0;
};
kj::Promise<FollowChangesResult> follow_changes(RpcServerImpl& server, uint64_t from_txn,
                                                wire::ChangeSink::Client sink);

}  // namespace tally
