// The auditor role's capability (rpc/tally.capnp Auditor): reads of the books, verify, exports
// and the change stream, each through the service layer; long work off the loop.
//
// Thread safety: the loop thread of the server that made it.
#pragma once

#include <kj/memory.h>

#include "rpc/tally.capnp.h"

namespace tally {

class RpcServerImpl;

// The capability a login with the auditor role gets; `server` outlives it.
kj::Own<wire::Auditor::Server> make_auditor(RpcServerImpl& server);

}  // namespace tally
