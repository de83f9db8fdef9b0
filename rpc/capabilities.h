// The role capabilities a login hands out (rpc/tally.capnp: Tally, Poster, Auditor, Finance):
// each decodes its calls' parameters, runs the operation through the service layer (service/) on
// the server (rpc/server_impl.h), on the loop for short reads and off it for long ones, and
// encodes the answer. They translate; no business rule lives here.
//
// Thread safety: created and called on the server's event loop only.
#pragma once

#include <kj/memory.h>

#include <memory>

#include "rpc/tally.capnp.h"

namespace tally {

class RpcServerImpl;
struct ConnectionInfo;

// The bootstrap capability of one connection: Tally.login exchanges a token for the role
// capabilities it grants. `server` must outlive it; `connection` (its peer, the roles it logged
// in with, its calls in progress) is shared with it. Every call to it and to the capabilities it
// hands out is counted in connection->calls while in progress (the idle timeout). A refused
// login answers after login_delay_ms (on the loop's timer); the limits::login_failures_max-th
// closes the connection (connection->close).
capnp::Capability::Client make_bootstrap(RpcServerImpl& server,
                                         std::shared_ptr<ConnectionInfo> connection);

}  // namespace tally
