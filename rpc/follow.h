// The change stream (SPEC section 9): Auditor.follow streams the journal's committed entries in
// commit order from a seq, then follows new commits, to the caller's EntrySink (rpc/tally.capnp).
//
// Flow control: EntrySink.entries is an ordinary method (not `-> stream`, which outside
// implementations such as capnp-es do not compile); the next message is read from the store and
// sent only once the receiver returned the previous one, so a slow reader holds only its own call
// back (and at most one message in memory). New commits are found
// by looking at the journal's last seq every follow_poll_ms while caught up (a read transaction
// each time, never a wait on the writer).
//
// Thread safety: runs on the server's event loop only.
#pragma once

#include <kj/async.h>

#include <cstdint>

#include "rpc/tally.capnp.h"

namespace tally {

class RpcServerImpl;

inline constexpr uint64_t follow_entries_per_message_max = 256;
inline constexpr uint64_t follow_poll_ms = 10;
// A caught-up stream sends an empty message this often, so a reader that stopped or went away
// ends its call even when nothing is committed.
inline constexpr uint64_t follow_heartbeat_ms = 1000;

// Streams entries from `from_seq` (0 is taken as 1) to `sink` until `max_entries` were sent (0:
// until cancelled, the sink fails or the server shuts down: DISCONNECTED). Resolves to the last
// seq sent (from_seq - 1 when none). A store failure fails the call (store_exception).
kj::Promise<uint64_t> follow_entries(RpcServerImpl& server, uint64_t from_seq, uint64_t max_entries,
                                     wire::EntrySink::Client sink);

}  // namespace tally
