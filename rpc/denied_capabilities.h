// The capabilities login hands out for what a connection may not do: never a null capability
// (outside implementations trip on calling one). Each answers every call with its Rejection, as
// the result's error (each item's, for a post): not_allowed for a role the token lacks (the roles
// list login returns is what a client should trust), not_leader for a write sent to a standby.
// A standby's finance role is the one exception that serves a call: its backup (below).
//
// Thread safety: created and called on the server's event loop only.
#pragma once

#include <kj/memory.h>

#include <string_view>

#include "ledger/status.h"
#include "rpc/tally.capnp.h"

namespace tally {

class RpcServerImpl;

// not_allowed: the token has no `role` role.
Rejection role_refused(std::string_view role);
// not_leader: this server is a standby of `s.standby_of()`; writes go to the leader.
Rejection not_leader(const RpcServerImpl& s);

// A Poster / Finance refusing every call with `why` (the role is missing, or this server is a
// standby).
kj::Own<wire::Poster::Server> denied_poster(Rejection why = role_refused("poster"));
kj::Own<wire::Finance::Server> denied_finance(Rejection why = role_refused("finance"));
// The finance role on a standby: every call answers not_leader (naming the leader) except backup,
// which streams a copy of this standby's own store (consistent with its own journal head, which
// the client records; rpc/backup_stream.h), so operators can back up without loading the leader.
// `s` outlives it.
kj::Own<wire::Finance::Server> standby_finance(RpcServerImpl& s);
// An Auditor / Replica refusing every call: the token lacks the role.
kj::Own<wire::Auditor::Server> denied_auditor();
kj::Own<wire::Replica::Server> denied_replica();

}  // namespace tally
