// The Backend for `tally --connect ADDR`: the RPC client (rpc/client.h) with the roles its
// token grants. Posts in pipelined batches of at most `batch_items` items (a linked chain is never
// split), through the poster capability or, for the events only finance may post, the finance
// one.
//
// Thread safety: as Backend (one thread at a time).
#pragma once

#include <memory>
#include <string>

#include "cli/backend.h"
#include "rpc/client.h"

namespace tally {

// Connects to a server at `address` and logs in with `token`. Failure::cannot_connect when the
// server is unreachable, Failure::not_allowed when the token is refused.
Reply<std::unique_ptr<Backend>> make_remote_backend(const std::string& address,
                                                    const std::string& token);
Reply<std::unique_ptr<Backend>> make_remote_backend(const ClientOptions& options,
                                                    size_t batch_items = 1000, size_t window = 8);

}  // namespace tally
