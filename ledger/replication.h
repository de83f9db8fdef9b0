// Replication (SPEC section 9; docs/operations.md "Standbys"): what a leader keeps for its
// standbys and what a standby applies.
//
// With LedgerOptions::replication_log, every write transaction also stores its changes (each
// row it put or deleted, in order, the meta rows included) as one row of the `replog` table,
// keyed by the transaction's number (1, 2, ... counted in the store's meta, so it survives
// restarts, backups and a change of leader). A standby applies those rows, in order, with
// Ledger::replicate: the same bytes, so the two stores are the same store; and before it keeps
// them it checks them as the leader would (every new journal entry decodes, balances, and
// extends the hash chain; the meta's last seq and head agree with the row's header). A row that
// fails any check changes nothing: the standby has diverged and says so.
//
// The log keeps the last LedgerOptions::replog_txns_kept transactions; a standby further behind
// than that is seeded again from a backup (`tally backup` of the leader, `tally restore`).
#pragma once

#include <cstdint>
#include <string>

#include "ledger/entry.h"
#include "ledger/time.h"

namespace tally {

// One transaction's changes as the replog stores them and the stream carries them: `row` is the
// stored row (a 112-byte header, then the changes), `txn` its number (also in the header).
//
// Rows chain: each header holds the SHA-256 of the row before it, so a standby whose store took
// a different transaction anywhere (a deposed leader's unacknowledged tail) refuses the next set
// instead of applying it over different books. And each carries its leader's term: a standby
// refuses a set from a term below one it has applied (a deposed leader still streaming).
struct ChangeSet {
  uint64_t txn = 0;
  std::string row;
};

// The header of a replog row, decoded (ledger/change_log.cpp owns the layout).
struct ChangeSetHeader {
  uint64_t txn = 0;
  TimeNs commit_ns = 0;
  uint64_t last_seq = 0;  // the journal's last seq after the transaction
  int64_t term = 0;       // the term of the leader that wrote it (0 without an election)
  Digest head{};          // the journal's head hash after it
  Digest prev{};          // SHA-256 of the previous transaction's row: the log is a chain too
  uint32_t changes = 0;   // puts and deletes that follow
};

// The header of `row`; false when the row is too short or its header is not one we write.
bool decode_change_set_header(std::string_view row, ChangeSetHeader& out);

}  // namespace tally
