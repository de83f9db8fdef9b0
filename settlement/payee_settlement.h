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

// A hold due by the cut-off, as a reserve needs it: the reserve a run keeps of a release is
// allocated over the released holds' origins (so that a refund of a sale finds its part).
struct DueHold {
  std::string origin;
  i128 remaining = 0;
  friend bool operator==(const DueHold&, const DueHold&) = default;
};

// What a run decides a payee's release and payout from.
struct PayeeCurrencyState {
  Currency currency;
  i128 available = 0;      // normal-side balance of M:payees:P:available
  i128 due = 0;            // remaining amount of the holds due by the cut-off
  uint64_t holds_due = 0;  // how many holds that is
  // Each due hold, origin order, when a reserve applies to the payee (reserve_of); else empty.
  std::vector<DueHold> due_holds{};
  i128 reserve_due = 0;       // remaining amount of the payee's reserves released by the cut-off
  uint64_t reserves_due = 0;  // how many reserves that is
  friend bool operator==(const PayeeCurrencyState&, const PayeeCurrencyState&) = default;
};
struct PayeeState {
  std::vector<PayeeCurrencyState> currencies;  // every currency of the marketplace, code order
  bool on_hold = false;
  // Its pending, available or reserve account is closed: nothing can be released or paid.
  // Accounts are never reopened, so a chunk takes the plan's word for it until the ledger refuses
  // an entry.
  bool closed = false;
  std::optional<tables::PayeeDetailsValue> details;  // the current bank details, if any
  std::optional<tables::PayeeTermsValue> terms;      // the current payee terms, if any
  friend bool operator==(const PayeeState& a, const PayeeState& b);
};

// What a marketplace has at all, read once per snapshot or chunk, so that a payee's reserves and
// terms are looked up only where some exist (a marketplace without either pays no extra seek per
// payee).
struct MarketTables {
  bool terms = false;     // some payee of the marketplace has payee terms
  bool reserves = false;  // some payee of the marketplace has a reserve
};
MarketTables read_market_tables(TableReader& t, const tables::Handles& h, std::string_view mk);

// The hold state, bank details and terms of a payee (the parts of its state no entry changes).
void read_payee_standing(TableReader& t, const tables::Handles& h, std::string_view mk,
                         const MarketTables& market, std::string_view payee, PayeeState& into);
// A payee's whole state as of a snapshot: holds and reserves are read, not consumed. Holds in a
// currency the marketplace no longer has are not the run's (they stay where they are).
PayeeState read_payee_state(Snapshot& snap, const tables::Handles& h, const MarketplaceConfig& mk,
                            const MarketTables& market, std::string_view payee, TimeNs cutoff);

// The payee's reserve: its terms' (when they set one), else the marketplace's; nullopt when none
// or its rate is zero.
std::optional<Reserve> reserve_of(const PayeeState& state, const MarketplaceConfig& mk);
// The balance kept on available at a payout in `code`: the terms' (when they set one for the
// currency), else the marketplace's minimum_balance.
i128 minimum_balance_of(const PayeeState& state, const MarketplaceConfig& mk,
                        std::string_view code);

struct PayeeCurrencyDecision {
  Currency currency;
  i128 release = 0;   // holds released by this run (> 0, or 0: nothing due)
  i128 reserved = 0;  // kept back of the release, into M:payees:P:reserve
  // `reserved` allocated over the released holds' origins (largest remainder, by their amounts),
  // the parts above zero, origin order; each becomes a reserve record releasing at reserve_until.
  std::vector<DueHold> reserve_parts{};
  TimeNs reserve_until = 0;
  i128 reserve_released = 0;  // reserves released by the cut-off, back to available
  i128 after = 0;   // available after the release and the reserve movements, before the payout
  i128 payout = 0;  // paid when `pay`: after - kept
  i128 kept = 0;    // the minimum balance left on available when paid
  i128 tax = 0;     // the payout tax (GMF) booked with the payout, when paid
  bool pay = false;
  std::optional<SettlementCarry> carry{};  // why `after` stays, when it does and is not zero
};
// Decides the release, the reserve and the payout per currency (docs/settlement.md, "Runs"):
// release every due hold, keep the reserve's share of it back, release the reserves that are due;
// then, unless the payee is on hold, pay what exceeds the minimum balance when that reaches the
// marketplace's minimum payout and the payee has the bank details its rail needs. Currencies with
// nothing released and nothing available are left out.
std::vector<PayeeCurrencyDecision> decide_payee(const PayeeState& state,
                                                const MarketplaceConfig& mk, TimeNs cutoff);

// Ids of what a run makes for a payee: its entry "~M:DATE:settle:P" (ids starting with '~' are
// tally's own) and its payouts "M:DATE:P:CUR".
std::string run_entry_id(std::string_view run_id, std::string_view payee);
std::string run_payout_id(std::string_view run_id, std::string_view payee, std::string_view code);

// A payee's work in a run, ready to commit: its state, the decision, its entry with its request
// digest, and the rows that report it.
//
// One entry per payee carries every movement (docs/accounting.md, "Settlement"), per currency, in
// this order: the release (debit pending, credit available), the reserve kept (debit available,
// credit reserve), the reserves released (debit reserve, credit available), the payout (debit
// available, credit M:payouts:in_transit) and its tax (debit the payout_tax account, credit
// M:cash). One entry makes a payee's part of a run all or nothing, and costs the store one
// journal record and one id row per payee.
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
