// Settlement runs (SPEC section 4): release the holds due by the cut-off and pay out every payee
// whose available balance reaches the minimum, exactly once per (marketplace, pay date), on a
// marketplace that keeps posting while the run goes on.
//
// How a run works (docs/settlement.md, "Runs"):
//  1. The payees (every M:payees:P:* account, in payee order) are split into chunks of at most
//     `chunk_payees`. Each chunk is planned in parallel on oneTBB over a read snapshot: per payee
//     and currency, the holds due by the cut-off, the available balance, the hold state and the
//     bank details, and from them the decision (release, pay, carry) and the entry to post.
//  2. Each chunk commits as one write op, its own LMDB transaction, so posting groups interleave
//     between chunks (a posting batch waits at most for one chunk). Inside the transaction every
//     payee's state is read again; a payee whose state moved since the plan is decided again,
//     there, from its current state. So a payee's release and payout are a pure function of its
//     state when its chunk commits, and no amount of outside traffic can make a run fail.
//  3. The run record (the run journal, settlement/run_journal.h) says `in_progress` with the last
//     payee done until the last chunk, then `complete`. Its chunks' rows are stored with it. A
//     crash leaves a consistent prefix; the next settle of the run (or `tally serve` restarting)
//     goes on from the last payee done, so no payee is paid twice. A run of the same marketplace
//     for another pay date is refused until it completes (run_in_progress).
//  4. The next chunk is planned while the current one commits.
// Output order is by payee then currency, never by thread or chunk: the entries, rows and files
// of a run are byte-identical for any thread count and chunk size when nothing is posted meanwhile.
//
// Thread safety: Settlement's methods may be called from any thread. Two callers of the same run
// in one process: the second waits for the first, then returns the run as stored (or resumes it,
// if the first stopped part way). Across processes the run record decides: a chunk commits only
// on top of the record it was planned on.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/limits.h"
#include "settlement/calendar.h"
#include "settlement/payout_file.h"
#include "settlement/rules.h"

namespace tally {

// Why a payee's balance stays where it is. no_details and account_closed are tally's additions to
// SPEC section 4's three (docs/settlement.md, "Runs").
enum class SettlementCarry : uint8_t {
  below_minimum,
  negative,
  on_hold,
  no_details,
  account_closed
};
std::string_view settlement_carry_name(SettlementCarry r);

enum class RunState : uint8_t { in_progress = 1, complete = 2 };
std::string_view run_state_name(RunState s);  // "in_progress", "complete"

struct RunRelease {
  std::string payee, currency;
  Amount amount;
  friend bool operator==(const RunRelease&, const RunRelease&) = default;
};
struct RunPayout {
  std::string payout, payee, currency;
  Amount amount;
  Amount tax{};   // the payout tax (GMF) the platform booked with it (payout_tax), else zero
  Amount kept{};  // the minimum balance left on the payee's available, else zero
  friend bool operator==(const RunPayout&, const RunPayout&) = default;
};
struct RunCarried {
  std::string payee, currency;
  Amount balance;
  SettlementCarry reason;
  friend bool operator==(const RunCarried&, const RunCarried&) = default;
};
struct RunTotal {
  std::string currency;
  Amount released, paid, carried;
  uint64_t payees_paid = 0, payees_carried = 0;
  Amount reserved{};          // kept back of the releases into reserves
  Amount reserve_released{};  // reserves released back to available
  Amount tax{};               // payout tax booked with the payouts
  Amount kept{};              // minimum balances left on available by the payouts
  friend bool operator==(const RunTotal&, const RunTotal&) = default;
};

// Rows of a run, or of a part of it, in payee then currency order.
struct RunRows {
  std::vector<RunRelease> released;
  std::vector<RunPayout> payouts;
  std::vector<RunCarried> carried;
  std::vector<PayoutLine> lines;     // the payouts with the creditor details of the run: payouts[i]
  std::vector<RunRelease> reserved;  // kept back of a release, per payee and currency
  std::vector<RunRelease> reserve_released;  // reserves released, per payee and currency
  bool empty() const {
    return released.empty() && payouts.empty() && carried.empty() && reserved.empty() &&
           reserve_released.empty();
  }
  void append(RunRows&& more);
};

// A run: its header and, unless the caller streamed them (SettleOptions::rows), its rows.
struct SettlementRun : RunRows {
  std::string run;  // "M:YYYY-MM-DD"
  std::string marketplace;
  std::string pay_date;  // YYYY-MM-DD
  TimeNs cutoff = 0;
  std::vector<Currency> currencies;  // the marketplace's, for formatting amounts
  std::vector<RunTotal> totals;      // currency order
  RunState state = RunState::complete;
  uint64_t chunks = 0;  // chunks committed (a dry run: chunks a run would commit now)
  uint64_t payees = 0;  // payees the run has gone through (with rows or not)
  bool dry_run = false;
  bool replayed = false;    // an existing run returned as it was: nothing posted by this call
  TimeNs started_ns = 0;    // commit time of the run's first chunk (0 for a dry run)
  TimeNs committed_ns = 0;  // commit time of its last chunk, once complete (0 otherwise)
  uint64_t redecided = 0;   // payees whose state moved between plan and commit (this call)
  // This call's time from handing each chunk to the writer until it was durable, summed: the
  // commit's share of the run (the next chunk is planned meanwhile). For benchmarks and logs.
  TimeNs commit_wait_ns = 0;
};

// The run as SPEC section 5's `settle --json` shape plus totals: a pure function of the run's
// decisions (no state, chunk count or times), so a dry run, the real run and any later replay
// give the same bytes.
std::string run_json(const SettlementRun& r);
// A summary for people.
std::string run_text(const SettlementRun& r);

struct RunProgress {
  enum class Phase : uint8_t { planning, committing, replaying };
  Phase phase = Phase::planning;
  uint64_t payees_done = 0, payees_total = 0;
  uint64_t chunks_done = 0, chunks_total = 0;
};

struct SettleOptions {
  bool dry_run = false;
  // Planning threads; 0: oneTBB's default for a preview, and one fewer than the cores for a
  // real run (it plans the next chunk while the writer, on a core of its own, commits one).
  int threads = 0;
  // Payees a chunk; 0: limits::settle_chunk_payees_default (docs/performance.md, "Settlement":
  // it bounds the pages one transaction dirties, hence the memory LMDB keeps, and how long a
  // posting batch can wait behind a run). At most limits::settle_chunk_payees_max.
  uint64_t chunk_payees = 0;
  // When set, the rows go here, chunk by chunk in payee order (a replayed run's from the store),
  // and the returned run carries none: a run of 10^6 payees is never held in memory whole.
  std::function<void(RunRows&&)> rows;
  // Now and then, from the calling thread or a planning thread, one call at a time.
  std::function<void(const RunProgress&)> progress;
  // One line per event worth a log (a run's start, each chunk's duration, its end), without a
  // trailing newline. From the calling thread.
  std::function<void(const std::string&)> log;
  // Checked between chunks: when it reads true the run stops there, in progress (resumable), and
  // settle returns `interrupted`.
  const std::atomic<bool>* stop = nullptr;
};

struct SettlementRunSummary {
  std::string run, pay_date;
  TimeNs cutoff = 0, committed_ns = 0;
  RunState state = RunState::complete;
  uint64_t chunks = 0, payees = 0, payouts = 0;
  std::vector<RunTotal> totals;
};

class Settlement {
 public:
  explicit Settlement(const Rules& rules) : rules_(rules) {}

  // Runs (or previews, resumes or replays) the settlement of `marketplace` for `pay_date`
  // (YYYY-MM-DD). Rejections: unknown_marketplace, bad_date, not_a_pay_date; a pay date whose
  // cut-off is still in the future (bad_date: its holds cannot be known yet); run_in_progress
  // when another pay date of the marketplace is in progress; a payee whose entry the books refuse
  // (e.g. its account was closed, or a plain entry left its pending below its holds) stops the run
  // there with that rejection, naming the payee: the payees before it stay settled, and the run
  // stays in progress until the books are mended and it is settled again. `interrupted` when
  // options.stop was set. A store failure is `internal` / `store_full`; the run stays resumable.
  Result<SettlementRun> settle(std::string_view marketplace, std::string_view pay_date,
                               const SettleOptions& options = {});
  // Runs of a marketplace (complete and in progress), by pay date.
  Result<std::vector<SettlementRunSummary>> runs(std::string_view marketplace);
  // Runs in progress in any marketplace, as (marketplace, pay date): what a restarting server
  // completes.
  std::vector<std::pair<std::string, std::string>> runs_in_progress();
  // The next `n` pay dates after the last run (or today).
  std::vector<std::string> next_pay_dates(std::string_view marketplace, size_t n);
  // A stored run by id ("M:YYYY-MM-DD"), with its rows (or, with `rows`, its rows streamed there):
  // unknown_run.
  Result<SettlementRun> run(std::string_view run_id,
                            const std::function<void(RunRows&&)>& rows = {});

 private:
  // Serialises callers of one run in this process (see "Thread safety" above).
  class RunGate;
  Result<SettlementRun> settle_once(const MarketplaceConfig& mk, Date date, TimeNs cutoff,
                                    const SettleOptions& options);

  const Rules& rules_;
  std::mutex gate_mu_;
  std::condition_variable gate_cv_;
  std::set<std::string, std::less<>> busy_;  // run ids a caller is working on now
};

}  // namespace tally
