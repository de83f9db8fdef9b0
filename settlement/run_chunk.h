// One chunk of a settlement run, committed as one WriteOp (one LMDB transaction): the run
// journal's next step (settlement/run_journal.h).
//
// Inside the transaction the op:
//  1. reads the run record and goes on only if it is exactly where the chunk was planned from
//     (chunks done, last payee): otherwise another caller moved the run and the op changes
//     nothing (conflict). The first chunk creates the record, unless another run of the
//     marketplace is in progress (refused: run_in_progress);
//  2. per payee, in payee order: reads the hold state, bank details and available balance again
//     and consumes the due holds (one cursor), which gives the payee's state now; when it differs
//     from the plan's, decides again from it (payee_settlement.h). Then prepares the payee's
//     entry; if the books refuse it (a closed account, a pending balance below its holds), the
//     consumed holds are put back and the chunk stops before that payee (stopped), keeping what
//     the payees before it did;
//  3. applies the entry, writes the payout records, the chunk's rows and the updated record
//     (`complete` after the last chunk when it went through whole).
// A payee's release and payout are therefore decided from its state when its chunk commits.
//
// Thread safety: the op runs on the writer thread; its plan is immutable and shared with the
// caller; the outcome is written by the op and read by the caller once the batch is done.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "settlement/payee_settlement.h"
#include "settlement/run_journal.h"

namespace tally {

struct ChunkPlan {
  const MarketplaceConfig* marketplace = nullptr;
  std::string run_id, pay_date;
  TimeNs cutoff = 0;
  uint64_t chunk = 0;             // its index: the record must show this many chunks done
  std::string after_payee;        // the record's last payee when planned ("" before the first)
  bool last = false;              // completes the run when it goes through whole
  std::vector<PayeeWork> payees;  // payee order, each after `after_payee`
};

struct ChunkOutcome {
  enum class Kind : uint8_t { committed, stopped, conflict, refused };
  Kind kind = Kind::refused;
  RunRecord record;     // as the op left it (committed, stopped) or found it (conflict)
  uint64_t payees = 0;  // payees gone through: the plan's first `payees`
  // The payees decided again at commit, by their index in the plan; the others committed as
  // planned. (The writer does not copy the plan's rows: take_rows gathers them from both.)
  std::deque<std::pair<size_t, PayeeWork>> redecided;  // a deque: the op keeps pointers into it
  std::optional<Rejection> why;  // stopped: the payee's rejection; refused: why
};

// The rows a chunk committed, in payee order, moved out of its plan and outcome (once the op is
// done with them).
RunRows take_rows(ChunkPlan& plan, ChunkOutcome& out);

// The op. `out` is reset each time the op applies (the writer may apply it more than once).
std::unique_ptr<WriteOp> make_chunk_op(const Rules& rules, std::shared_ptr<const ChunkPlan> plan,
                                       std::shared_ptr<ChunkOutcome> out);

}  // namespace tally
