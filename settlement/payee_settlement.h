// One payee's part of a settlement run (SPEC section 4): the state it is decided from, the
// decision, the entries that carry it out and the rows that report it. A run plans payees on a
// read snapshot with these; the chunk that commits them reads each payee's state again inside
// the write transaction and, when it moved, decides again with the same functions. So there is
// one owner of the rule "what a run does for a payee", whoever calls it.
//
// Thread safety: pure functions, and readers over a Snapshot / WriteTxn the caller owns.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "settlement/config.h"
#include "settlement/run.h"
#include "settlement/tables.h"

namespace tally {

// What a run decides a payee's release and payout from.
struct PayeeCurrencyState {
  Currency currency;
  i128 available = 0;      // normal-side balance of M:payees:P:available
  i128 due = 0;            // remaining amount of the holds due by the cut-off
  uint64_t holds_due = 0;  // how many holds that is
  friend bool operator==(const PayeeCurrencyState&, const PayeeCurrencyState&) = default;
};
struct PayeeState {
  std::vector<PayeeCurrencyState> currencies;  // every currency of the marketplace, code order
  bool on_hold = false;
  // Its pending or available account is closed: nothing can be released or paid. Accounts are
  // never reopened, so a chunk takes the plan's word for it until the ledger refuses an entry.
  bool closed = false;
  std::optional<tables::PayeeDetailsValue> details;  // the current bank details, if any
  friend bool operator==(const PayeeState& a, const PayeeState& b);
};

// The hold state and the bank details of a payee (the parts of its state no entry changes).
void read_payee_standing(TableReader& t, const tables::Handles& h, std::string_view mk,
                         std::string_view payee, PayeeState& into);
// A payee's whole state as of a snapshot: the holds are read, not consumed. Holds in a currency
// the marketplace no longer has are not the run's (they stay where they are).
PayeeState read_payee_state(Snapshot& snap, const tables::Handles& h, const MarketplaceConfig& mk,
                            std::string_view payee, TimeNs cutoff);

struct PayeeCurrencyDecision {
  Currency currency;
  i128 release = 0;  // released by this run (> 0, or 0: nothing due)
  i128 after = 0;    // the available balance after the release: paid out whole when `pay`
  bool pay = false;
  std::optional<SettlementCarry> carry;  // why `after` stays, when it does and is not zero
};
// Decides the release and the payout per currency (docs/settlement.md, "Runs"): release every
// due hold; then, unless the payee is on hold, pay the whole available balance when it reaches
// the marketplace's minimum and the payee has bank details. Currencies with nothing released and
// nothing available are left out.
std::vector<PayeeCurrencyDecision> decide_payee(const PayeeState& state,
                                                const MarketplaceConfig& mk);

// Ids of what a run makes for a payee: its entry "~M:DATE:settle:P" (ids starting with '~' are
// tally's own) and its payouts "M:DATE:P:CUR".
std::string run_entry_id(std::string_view run_id, std::string_view payee);
std::string run_payout_id(std::string_view run_id, std::string_view payee, std::string_view code);

// A payee's work in a run, ready to commit: its state, the decision, its entry with its request
// digest, and the rows that report it.
//
// One entry per payee carries both movements (docs/accounting.md, "Settlement"), per currency:
// the release (debit pending, credit available) and, when paid, the payout (debit available,
// credit M:payouts:in_transit). One entry makes a payee's part of a run all or nothing, and costs
// the store one journal record and one id row per payee instead of two.
struct PayeeWork {
  std::string payee;
  PayeeState state;
  std::vector<PayeeCurrencyDecision> decision;
  std::optional<std::pair<Entry, Digest>> entry;  // none when there is nothing to post
  RunRows rows;
};
// Decides and builds. The entry is dated at the cut-off, kind "settlement", meta {"run": id}.
// A preview (build_entry false) needs the rows only.
PayeeWork payee_work(std::string payee, PayeeState state, const MarketplaceConfig& mk,
                     std::string_view run_id, TimeNs cutoff, bool build_entry = true);

}  // namespace tally
