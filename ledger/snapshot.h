// Read snapshots: Snapshot (ledger/ledger.h) over one LMDB read transaction. Private to ledger/.
//
// Thread safety: a snapshot belongs to one thread at a time (it holds an LMDB read transaction,
// opened with MDB_NOTLS).
#pragma once

#include <memory>
#include <shared_mutex>

#include "ledger/txn_reader.h"

namespace tally {

// A snapshot over `txn` (a read transaction it now owns and aborts when destroyed), holding
// `lock` (the ledger's map lock, shared) for its life.
std::unique_ptr<Snapshot> make_snapshot(MDB_txn* txn, const TxnReader& reader,
                                        std::shared_lock<std::shared_timed_mutex> lock);

// Snapshot::verify of the store as `txn` sees it (ledger/verify.cpp).
VerifyReport verify_store(MDB_txn* txn, const TxnReader& reader,
                          const std::function<void(uint64_t, uint64_t)>& progress);

}  // namespace tally
