// The writer's transaction: WriteTxn (ledger/ledger.h) over one LMDB write transaction, with what
// only the writer needs besides. Private to ledger/.
//
// Thread safety: the writer thread only, like the LMDB transaction it wraps.
#pragma once

#include <memory>

#include "ledger/txn_reader.h"

namespace tally {

class WriterTxn : public WriteTxn {
 public:
  // Writes the book records changed in the transaction (kept in memory until now), the meta
  // records and, when anything was posted, one commits row. Last, before mdb_txn_commit.
  virtual void write_meta() = 0;
};

// Whether a transaction keeps its changes in the replication log, and how many rows the log
// keeps (ledger/replication.h).
struct ReplogOptions {
  bool enabled = false;
  uint64_t txns_kept = 0;
  int64_t term = 0;  // stamped in the row (Ledger::set_term)
};

// A transaction over `txn` (a fresh top-level write transaction) whose entries are stamped
// `commit_ns`. write_meta also counts the transaction (meta last_txn) and, with `replog`
// enabled, stores its replog row.
std::unique_ptr<WriterTxn> make_writer_txn(MDB_txn* txn, const TxnReader& reader, TimeNs commit_ns,
                                           const ReplogOptions& replog);

}  // namespace tally
