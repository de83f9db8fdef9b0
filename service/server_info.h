// The server's version and the limits a client must respect (SPEC section 5, reads): what
// `tally server-info` prints and the role capabilities' `server` method answers, so a client
// sizes its batches and ids from the server it talks to rather than from its docs.
//
// Thread safety: pure functions over constants.
#pragma once

#include <cstdint>
#include <string>

namespace tally {

struct ServerInfo {
  std::string version;           // tally's version ("0.1.0")
  uint64_t batch_items_max = 0;  // items per post call
  uint64_t id_bytes_max = 0;     // an entry's or event's id
  uint64_t postings_per_entry_max = 0;
  uint64_t meta_bytes_max = 0;              // an item's meta, keys and values in all
  uint64_t message_words_max = 0;           // one RPC message, in 8-byte words
  uint64_t connections_max = 0;             // connections at once
  uint64_t long_reads_max = 0;              // exports, verify, balances, settlement at once
  uint64_t stream_calls_in_flight_max = 0;  // sink writes unacknowledged per streamed call
  // What one connection may do (docs/operations.md, "Hostile peers and limits").
  uint64_t login_timeout_ms = 0;           // not logged in after this: closed
  uint64_t idle_timeout_ms = 0;            // no call in progress for this long: closed (0: never)
  uint64_t unauthenticated_bytes_max = 0;  // bytes before a login succeeds
  uint64_t calls_in_flight_max = 0;        // calls in progress on one connection
  uint64_t reply_queued_bytes_max = 0;     // unread replies past which no further call is read
  uint64_t call_words_in_flight_max = 0;   // words of calls read and not answered
  // The etcd lease a failover node holds while it leads (`--lease-ttl-s`); 0: not in an etcd
  // cluster (docs/operations.md, "Failover").
  uint64_t lease_ttl_s = 0;
};

// This build's version and its built-in limits (ledger/limits.h); a server overrides the ones
// its options set (rpc/server.h ServerLimits).
ServerInfo builtin_server_info();

}  // namespace tally
