// The replication log's records (contract in ledger/replication.h): ChangeLog collects a write
// transaction's puts and deletes as the writer makes them; encode_change_set makes the replog
// row; apply_change_set checks a leader's row and applies it on a standby. Private to ledger/.
//
// Thread safety: the writer thread only (each works inside its write transaction).
#pragma once

#include <lmdb.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "ledger/replication.h"
#include "ledger/txn_reader.h"

namespace tally {

// The stored header of a replog row: fixed layout, little-endian (the store is read on the
// machine kind that wrote it, as LMDB's own pages are).
struct ReplogHeader {
  uint32_t magic;
  uint32_t changes;
  uint64_t txn;
  int64_t commit_ns;
  uint64_t last_seq;
  int64_t term;       // the writing leader's term (0 without an election)
  uint64_t reserved;  // 0
  uint8_t head[32];   // the journal's chain head after the transaction
  uint8_t prev[32];   // SHA-256 of the previous transaction's row (zeros before the first)
};
static_assert(sizeof(ReplogHeader) == 112, "a replog row's header is 112 bytes");
static_assert(offsetof(ReplogHeader, txn) == 8 && offsetof(ReplogHeader, term) == 32 &&
              offsetof(ReplogHeader, head) == 48 && offsetof(ReplogHeader, prev) == 80);
inline constexpr uint32_t kReplogMagic = 0x32474c52;  // "RLG2"

// One change's fixed part, before its key and value bytes.
struct ReplogChange {
  uint8_t op;     // 1 put, 2 delete
  uint8_t table;  // index into Dbs::replicated
  uint16_t key_bytes;
  uint32_t value_bytes;  // 0 for a delete
};
static_assert(sizeof(ReplogChange) == 8, "a replog change's fixed part is 8 bytes");

// A write transaction's changes so far, in order. Savepoints mark() and truncate() it.
class ChangeLog {
 public:
  explicit ChangeLog(const Dbs& dbs) : dbs_(dbs) {}
  void put(MDB_dbi db, std::string_view key, std::string_view value);
  void del(MDB_dbi db, std::string_view key);
  struct Mark {
    size_t bytes;
    uint32_t changes;
  };
  Mark mark() const { return {body_.size(), changes_}; }
  void truncate(Mark m) { body_.resize(m.bytes), changes_ = m.changes; }
  // The replog row: header, then the changes.
  std::string row(uint64_t txn, TimeNs commit_ns, uint64_t last_seq, const Digest& head,
                  int64_t term, const Digest& prev) const;

 private:
  void add(uint8_t op, MDB_dbi db, std::string_view key, std::string_view value);
  const Dbs& dbs_;
  std::string body_;
  uint32_t changes_ = 0;
};

// The replog's key for transaction `txn`.
std::string replog_key(uint64_t txn);

// Checks `set` against the store as `txn` (a write transaction) sees it and applies it: the
// row's txn follows the meta's last txn; every change decodes and names a replicated table; after
// the changes, the meta's txn, last seq and head equal the header's, and each new journal entry
// decodes, balances and extends the chain. Then the row is stored in the replog (and the log
// trimmed to `kept` rows). On any failure returns a corruption Status naming the txn and what
// failed; the caller aborts `txn`, so nothing is kept. Store failures throw StoreError.
Status apply_change_set(MDB_txn* txn, const TxnReader& rd, const ChangeSet& set, uint64_t kept);

// Stores `row` as transaction `txn_no`'s replog row, deletes the row `kept` transactions older
// (the leader's and the standby's log stay the same length) and records the row's SHA-256 as
// the next row's `prev` (meta, outside the log) and `term` as the highest term seen.
void store_replog_row(MDB_txn* txn, const TxnReader& rd, uint64_t txn_no, std::string_view row,
                      uint64_t kept, int64_t term);

// The SHA-256 of the last replog row this store wrote or applied (zeros before any).
Digest replog_head(MDB_txn* txn, const TxnReader& rd);
// The highest leader term this store has written or applied (0 before any).
int64_t replog_term(MDB_txn* txn, const TxnReader& rd);

}  // namespace tally
