// Finance.backup (rpc/tally.capnp; docs/operations.md "Backup and restore"): an online backup of
// the server's own store streamed to the caller's TextSink. A worker thread runs
// Ledger::copy_store into a pipe while an off-loop worker reads the pipe into the sink's chunks,
// so the copy never holds the whole store in memory and a slow receiver slows only its own call
// (the copy then waits on the pipe, holding its read transaction: the live store may grow by what
// is written meanwhile, as with `tally backup`). The reply's trailer (bytes, sha256) is what was
// sent. A store failure (busy: no reader slot; io_error) is the call's error, as for reads.
//
// Thread safety: answer_backup runs on the server's event loop.
#pragma once

#include <kj/async.h>

#include "rpc/tally.capnp.h"

namespace tally {

class RpcServerImpl;

kj::Promise<void> answer_backup(
    RpcServerImpl& server,
    capnp::CallContext<wire::Finance::BackupParams, wire::Finance::BackupResults> ctx);

}  // namespace tally
