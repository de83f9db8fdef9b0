// The raw LMDB baseline of ledger_bench (BM_PostVsRawLmdb, BM_SalesVsRawLmdb): a store with the
// ledger's tables, written by plain puts of the ledger's key and value sizes: no reads, no
// validation, no hashing, no encoding. Default sync (two fsyncs per commit, as the durable
// ledger). What a commit puts is counted from ledger/write_txn.cpp; keep the two in step.
//
// Errors: any LMDB failure aborts the benchmark with a message on stderr (a benchmark has no
// caller to hand it to).
//
// Thread safety: one thread at a time; one write transaction open at a time (LMDB's rule).
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace tally::bench {

class RawStore {
 public:
  // Creates the store in `dir` (made if missing) with 2 * `accounts` book rows. Entries spread
  // their postings over books 1..`accounts`, and their records count `kind` bytes of kind.
  RawStore(const std::string& dir, int accounts, std::string_view kind);
  ~RawStore();
  RawStore(const RawStore&) = delete;
  RawStore& operator=(const RawStore&) = delete;

  // A book's key: its id, big-endian.
  static std::string book_key(uint64_t book);
  // One mdb_put, counted.
  void put(MDB_txn* t, MDB_dbi db, std::string_view key, std::string_view val, unsigned flags = 0);
  // Puts per commit since the store was made (its setup commit excluded).
  double puts_per_commit() const;
  // A write transaction; end it with meta_and_commit.
  MDB_txn* begin();
  // Each book row the commit changed, once, in book order; 5 meta records + last_commit_ns + one
  // commits record: as WriteTxnImpl::write_meta (the writer keeps book records in a write-back
  // cache of the transaction since 2026-12-03). Then commits `t`.
  void meta_and_commit(MDB_txn* t);
  // The puts of one entry of `postings` postings (apply_entry): the record size is the one
  // encode_entry gives (104 bytes + id + kind + 25 per posting, no meta).
  void entry_puts(MDB_txn* t, const std::string& id, int postings);
  // The other puts of a sale event: 2 holds (key marketplace\0payee\0currency\0sale, 48
  // bytes) and the sale record.
  void sale_extra_puts(MDB_txn* t, const std::string& id, const std::string& seller,
                       const std::string& affiliate);

 private:
  const int accounts_;
  const std::string kind_;
  MDB_env* env_ = nullptr;
  MDB_dbi meta_, entries_, ids_, postings_, books_, commits_, holds_, sales_;
  std::set<uint64_t> dirty_books_;  // changed by this commit's entries
  uint64_t seq_ = 0, commit_ = 0, puts_ = 0, setup_puts_ = 0;
};

}  // namespace tally::bench
