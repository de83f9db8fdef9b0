// Online backup of a store (SPEC section 9): a consistent, compacted copy of a live LMDB
// environment (mdb_env_copy2 with MDB_CP_COMPACT, which copies one read transaction's view while
// the writer goes on) and the journal head that copy holds.
//
// The store may be in use by a server in ANOTHER process meanwhile (LMDB's lock file coordinates
// the two); opening it in the process that serves it is not allowed by LMDB (close the ledger
// first, or take the backup from another process: `tally backup`).
//
// Thread safety: the functions are independent; each opens its own environment.
#pragma once

#include <cstdint>
#include <string>

#include "ledger/entry.h"
#include "ledger/status.h"
#include "ledger/time.h"

namespace tally {

// What a store's journal ends with: the last entry's seq and chain hash (zero for an empty
// journal) and the time of the last commit.
struct JournalHead {
  uint64_t seq = 0;
  Digest hash{};
  TimeNs commit_ns = 0;
};

// Copies the store in `data_dir` into `dest_dir` (created if missing; a store already there is
// refused: io_error) as `dest_dir`/data.mdb, fsynced, and sets `*head` to the head the copy holds
// (read back from the copy, so it is exactly what a restore will find). A missing or unreadable
// store is an error naming it.
Status backup_store(const std::string& data_dir, const std::string& dest_dir, JournalHead* head);

// The journal head of the store file in `dir` (data.mdb), opened read-only without a lock file:
// for a copy nobody writes.
Status read_journal_head(const std::string& dir, JournalHead* head);

}  // namespace tally
