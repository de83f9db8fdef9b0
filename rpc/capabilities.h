// The role capabilities a login hands out (rpc/tally.capnp: Tally, Poster, Auditor, Finance):
// each decodes its calls' parameters, runs the operation through the service layer (service/) on
// the server (rpc/server_impl.h), on the loop for short reads and off it for long ones, and
// encodes the answer. They translate; no business rule lives here.
//
// Thread safety: created and called on the server's event loop only.
#pragma once

#include <kj/memory.h>

#include "rpc/tally.capnp.h"

namespace tally {

class RpcServerImpl;
struct ConnectionInfo;

// The bootstrap capability of one connection: Tally.login exchanges a token for the role
// capabilities it grants. `server` and `connection` (its peer, the roles it logged in with) must
// outlive it.
kj::Own<wire::Tally::Server> make_bootstrap(RpcServerImpl& server, ConnectionInfo& connection);

}  // namespace tally
