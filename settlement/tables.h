// The marketplace layer's tables in the ledger store (LedgerOptions::extra_tables), their keys
// and records. Every write to them happens inside a WriteOp, in the same LMDB transaction as the
// entry it belongs to, so a hold never exists without its entry and vice versa.
//
// Keys join names with '\0' (names never contain it) and times as sign-flipped big-endian, so
// range scans run in (name, time) order. Layout in docs/design.md, "Marketplace tables".
//
// Thread safety: pure functions over bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/ledger.h"

namespace tally::tables {

// Table names, to pass in LedgerOptions::extra_tables.
inline constexpr const char* kSales = "sales";
inline constexpr const char* kHolds = "holds";
inline constexpr const char* kPayees = "payees";
inline constexpr const char* kPayeeDetails = "payee_details";
inline constexpr const char* kEvents = "events";
inline constexpr const char* kPayouts = "payouts";
inline constexpr const char* kRuns = "runs";
inline constexpr const char* kRunChunks = "run_chunks";
std::vector<std::string> all();

// Table handles of an open ledger.
struct Handles {
  TableId sales, holds, payees, payee_details, events, payouts, runs, run_chunks;
  static Handles of(const Ledger& ledger);
};

// --- holds ------------------------------------------------------------------------------------
// holds: marketplace \0 payee \0 currency \0 origin -> HoldValue
// There is no index by release time: a run sums each payee's due holds from the payee's own
// range, and keeping such an index cost every sale two puts and every run one scattered delete
// per hold (docs/design.md, "Stored tables").
inline constexpr TimeNs kNoRelease = INT64_MAX;
struct HoldValue {
  i128 original;    // minor units credited to pending
  i128 remaining;   // still pending (refunds and releases consume it)
  int64_t release;  // release time, kNoRelease until known
  int64_t created;  // business time of the origin entry
};
static_assert(sizeof(HoldValue) == 48, "HoldValue is stored as is");

struct Hold {
  std::string marketplace, payee, currency, origin;
  HoldValue value{};
};
std::string hold_key(std::string_view mk, std::string_view payee, std::string_view currency,
                     std::string_view origin);
std::string encode_hold(const HoldValue& v);
bool decode_hold(std::string_view s, HoldValue& v);

// Every hold of one payee (any release), in (currency, origin) order.
std::vector<Hold> payee_holds(TableReader& snap, const Handles& h, std::string_view mk,
                              std::string_view payee);
// The same without copying: visit(currency, origin, value) for every hold of one payee, in
// (currency, origin) order; the views live for the call only.
void visit_payee_holds(
    TableReader& snap, const Handles& h, std::string_view mk, std::string_view payee,
    const std::function<void(std::string_view, std::string_view, const HoldValue&)>& visit);

// --- sales ------------------------------------------------------------------------------------
// sales: sale id -> SaleValue
struct SaleValue {
  std::string marketplace, seller, affiliate;  // affiliate empty when none
  std::string currency;
  i128 amount = 0;           // a
  i128 commission = 0;       // C
  i128 affiliate_share = 0;  // A
  i128 fee = 0;              // F
  bool fee_on_payee = true;
  i128 refunded = 0;  // cumulative refunds and chargebacks
  TimeNs at = 0;
  TimeNs delivered = kNoRelease;  // business time of the delivery, when known
};
std::string encode_sale(const SaleValue& v);
bool decode_sale(std::string_view s, SaleValue& v);

// --- payees -----------------------------------------------------------------------------------
// payees: marketplace \0 payee -> PayeeValue (exists once a payee_hold event named the payee or
// a failed payout put it on hold)
struct PayeeValue {
  bool on_hold = false;
  std::string reason;
  TimeNs since = 0;
};
std::string payee_key(std::string_view mk, std::string_view payee);
std::string encode_payee(const PayeeValue& v);
bool decode_payee(std::string_view s, PayeeValue& v);
// payee_details: marketplace \0 payee \0 be64s(at) event-id -> PayeeDetailsValue (history; the
// latest by business time is current)
struct PayeeDetailsValue {
  std::string name, account, bic;
  TimeNs at = 0;
  std::string event_id;
};
std::string payee_details_key(std::string_view mk, std::string_view payee, TimeNs at,
                              std::string_view event_id);
std::string encode_payee_details(const PayeeDetailsValue& v);
bool decode_payee_details(std::string_view s, PayeeDetailsValue& v);
std::optional<PayeeDetailsValue> latest_payee_details(TableReader& snap, const Handles& h,
                                                      std::string_view mk, std::string_view payee);
std::optional<PayeeValue> payee_state(TableReader& snap, const Handles& h, std::string_view mk,
                                      std::string_view payee);

// --- events without an entry (delivered, payee_hold, payee_details, payout_result) --------------
// events: event id -> digest of the request (idempotency for events that post no entry)

// --- payouts ----------------------------------------------------------------------------------
// payouts: payout id -> PayoutValue
enum class PayoutState : uint8_t { instructed = 1, paid = 2, failed = 3 };
struct PayoutValue {
  std::string marketplace, payee, currency, run;
  i128 amount = 0;
  PayoutState state = PayoutState::instructed;
  std::string result_event;  // id of the payout_result event that settled it
};
std::string encode_payout(const PayoutValue& v);
bool decode_payout(std::string_view s, PayoutValue& v);

// --- runs -------------------------------------------------------------------------------------
// runs: marketplace \0 YYYY-MM-DD -> the run's record (the run journal: settlement/run_journal.h)
std::string run_key(std::string_view mk, std::string_view pay_date);
// run_chunks: marketplace \0 YYYY-MM-DD \0 be64(chunk) -> the rows of one committed chunk
std::string run_chunk_key(std::string_view mk, std::string_view pay_date, uint64_t chunk);

// --- account names of the default chart (SPEC section 3) --------------------------------------
std::string cash(std::string_view mk);
std::string bank_fees(std::string_view mk);
std::string commission(std::string_view mk);
std::string fee_recharge(std::string_view mk);
std::string payee_earnings(std::string_view mk);
std::string pending(std::string_view mk, std::string_view payee);
std::string available(std::string_view mk, std::string_view payee);
std::string in_transit(std::string_view mk);
std::string payable(std::string_view mk, std::string_view vendor);

}  // namespace tally::tables
