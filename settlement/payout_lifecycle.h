// The payout lifecycle (SPEC section 8):
//
//   instructed --(its file exported: settlement/payout_export.h)--> sent
//   instructed | sent --paid-->     paid      in transit -> cash
//   instructed | sent --failed-->   failed    in transit -> the payee's available; payee on hold
//   paid              --returned--> returned  cash -> the payee's available; payee on hold
//   instructed | sent --returned--> returned  in transit -> cash -> the payee's available (a
//                                             return of an ACH credit the bank had settled
//                                             before tally heard it was paid); payee on hold
//
// Each transition happens once. A result the payout already has (paid for a paid or returned
// payout, failed for a failed one, returned for a returned one) is "already applied": nothing
// is posted. A result that contradicts it (failed or returned after failed, paid after failed,
// failed after paid or returned) is refused, naming both states ("failed after paid").
// Worked entries: docs/accounting.md ("Payout lifecycle"); where results come from (payout_result
// events, bank reports): docs/settlement.md ("Payout lifecycle").
//
// This header has the rule (transition_verdict), the one function that carries a transition out
// inside a write transaction (apply_payout_transition: the payout_result event and the bank
// report import both call it), and the reads (a payout, a run's payouts, a marketplace's payouts
// by state).
//
// Thread safety: pure functions, and functions over a TableReader / WriteTxn the caller owns.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "settlement/config.h"
#include "settlement/events.h"
#include "settlement/tables.h"

namespace tally {

// "instructed", "sent", "paid", "failed", "returned".
std::string_view payout_state_name(tables::PayoutState s);
std::optional<tables::PayoutState> parse_payout_state(std::string_view name);

enum class TransitionVerdict : uint8_t {
  apply,            // the transition is new: post it
  already_applied,  // the payout already has this result: nothing to do
  contradictory,    // the payout has a result this one contradicts: refuse
};
// The verdict for result `to` on a payout in state `from`. Pure: the lifecycle's whole rule.
TransitionVerdict transition_verdict(tables::PayoutState from, PayoutResultStatus to);
// The state a result leads to.
tables::PayoutState state_after(PayoutResultStatus to);

// One transition to carry out.
struct PayoutTransition {
  std::string payout;  // the payout id
  PayoutResultStatus status = PayoutResultStatus::paid;
  std::string reason_code;  // the bank's code, may be empty
  std::string reason;       // in words, may be empty
  // The entry that carries it: its id (an event's id, or a report line's "~..." id), business
  // time, meta and request digest (the id's idempotency).
  std::string entry_id;
  TimeNs at = 0;
  std::vector<std::pair<std::string, std::string>> meta;
  Digest digest{};
};

// The entry id a bank report gives a transition: "~" + payout id + ":" + status, or, when that
// is longer than an entry id may be, "~po#" + 32 hex digits of the payout id's SHA-256 + ":" +
// status. Each transition happens once, so the id is unique, and posting it twice is impossible.
std::string report_transition_entry_id(std::string_view payout, PayoutResultStatus status);

// The payout record `id`, or nullopt. Throws StoreCorruption when it does not decode.
std::optional<tables::PayoutValue> load_payout(TableReader& t, const tables::Handles& h,
                                               std::string_view id);

// Carries out `tr` on payout `pv` (which must be the stored record of tr.payout, whose verdict is
// `apply`) inside `t`: opens the chart accounts it needs (M:cash, the payee's accounts) when
// missing, posts the entry (kinds payout_paid, payout_failed, payout_returned; docs/accounting.md),
// writes the record's new state and reason, and, for failed and returned, puts the payee on hold
// with the reason ("payout X failed: AC04 closed account"). Every check runs first: a rejection
// (the ledger refusing the entry: a closed account, a closed period) changes nothing.
Result<Committed> apply_payout_transition(WriteTxn& t, const tables::Handles& h,
                                          const MarketplaceConfig& mk, tables::PayoutValue pv,
                                          const PayoutTransition& tr);

// --- reads ------------------------------------------------------------------------------------

// A payout as a read reports it.
struct PayoutStatusRow {
  std::string payout;
  tables::PayoutValue record;
};
// The payouts of a stored run ("M:YYYY-MM-DD"), in payout id order, with their states.
// unknown_run when the run was never made.
Result<std::vector<PayoutStatusRow>> run_payouts(TableReader& t, const tables::Handles& h,
                                                 std::string_view run_id);
// A marketplace's payouts across runs, in payout id order (hence by pay date, payee, currency),
// those in `state` only when it is given, a page at a time: up to `limit` (1..10000) after the
// payout id `after` (empty: from the first). `next` is the cursor of the next page (empty at the
// end). A scan of the marketplace's payouts: there is no index by state (docs/design.md).
struct PayoutPage {
  std::vector<PayoutStatusRow> payouts;
  std::string next;
};
inline constexpr size_t payout_page_limit_max = 10000;
Result<PayoutPage> payouts_by_state(TableReader& t, const tables::Handles& h, const Config& config,
                                    std::string_view marketplace,
                                    std::optional<tables::PayoutState> state,
                                    std::string_view after, size_t limit);

}  // namespace tally
