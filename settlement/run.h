// Settlement runs (SPEC section 4): release the holds due by the cut-off and pay out every payee
// whose available balance reaches the minimum, exactly once per (marketplace, pay date).
//
// How a run works (docs/settlement.md, "Runs"):
//  1. Plan, in parallel on oneTBB, on read snapshots that all show the same commit: per payee,
//     sum the due holds per currency, add the available balance, decide pay / carry.
//  2. Commit the plan as ONE write op in ONE LMDB transaction: release entries, payout entries,
//     holds consumed, payout records and the run record. A crash leaves no trace or the whole
//     run. At commit the op checks that nothing the plan read has moved (the marketplace's
//     version and every planned balance); if something did, the run is planned again.
//  3. The run record stores the run's JSON bytes: a rerun returns them unchanged and posts
//     nothing; a dry run computes the same bytes and commits nothing.
// Output order is by payee then currency, never by thread: byte-identical for any thread count.
//
// Thread safety: Settlement's methods may be called from any thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "settlement/calendar.h"
#include "settlement/payout_file.h"
#include "settlement/rules.h"

namespace tally {

enum class SettlementCarry : uint8_t { below_minimum, negative, on_hold, no_details };
std::string_view settlement_carry_name(SettlementCarry r);

struct RunRelease {
  std::string payee, currency;
  Amount amount;
};
struct RunPayout {
  std::string payout, payee, currency;
  Amount amount;
};
struct RunCarried {
  std::string payee, currency;
  Amount balance;
  SettlementCarry reason;
};
struct RunTotal {
  std::string currency;
  Amount released, paid, carried;
  uint64_t payees_paid = 0, payees_carried = 0;
};

struct SettlementRun {
  std::string run;  // "M:YYYY-MM-DD"
  std::string marketplace;
  std::string pay_date;  // YYYY-MM-DD
  TimeNs cutoff = 0;
  std::vector<RunRelease> released;  // payee, currency order
  std::vector<RunPayout> payouts;
  std::vector<RunCarried> carried;
  std::vector<RunTotal> totals;      // currency order
  std::vector<PayoutLine> lines;     // payouts with the creditor details captured at the run
  std::vector<Currency> currencies;  // the marketplace's, for formatting amounts
  bool replayed = false;             // an existing run returned by a rerun (not in the JSON)
  TimeNs committed_ns = 0;           // commit time of the run; 0 for a dry run (not in the JSON)
};

// The run as SPEC section 5's `settle --json` shape plus totals: the bytes a run stores and
// every later call returns.
std::string run_json(const SettlementRun& r);
// A summary for people.
std::string run_text(const SettlementRun& r);

struct SettleOptions {
  bool dry_run = false;
  int threads = 0;  // 0: oneTBB's default
  // Called with (payees planned, payees) now and then, from any thread.
  std::function<void(uint64_t, uint64_t)> progress;
};

struct SettlementRunSummary {
  std::string run, pay_date;
  TimeNs cutoff = 0, committed_ns = 0;
  uint64_t payouts = 0;
  std::vector<RunTotal> totals;
};

class Settlement {
 public:
  explicit Settlement(const Rules& rules) : rules_(rules) {}

  // Runs (or previews, or replays) the settlement of `marketplace` for `pay_date` (YYYY-MM-DD).
  // Rejections: unknown_marketplace, bad_date, not_a_pay_date; a pay date whose cut-off is
  // still in the future is refused too (bad_date): its holds cannot be known yet.
  Result<SettlementRun> settle(std::string_view marketplace, std::string_view pay_date,
                               const SettleOptions& options = {});
  // Past runs of a marketplace, by pay date, and its next pay dates after the last run (or
  // today).
  Result<std::vector<SettlementRunSummary>> runs(std::string_view marketplace);
  std::vector<std::string> next_pay_dates(std::string_view marketplace, size_t n);
  // A stored run by id ("M:YYYY-MM-DD"): unknown_run.
  Result<SettlementRun> run(std::string_view run_id);

 private:
  const Rules& rules_;
};

}  // namespace tally
