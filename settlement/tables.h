// The marketplace layer's tables in the ledger store (LedgerOptions::extra_tables), their keys
// and records. Every write to them happens inside a WriteOp, in the same LMDB transaction as the
// entry it belongs to, so a hold never exists without its entry and vice versa.
//
// Keys join names with '\0' (names never contain it) and times as sign-flipped big-endian, so
// range scans run in (name, time) order. Layout in docs/design.md, "Marketplace tables".
//
// Thread safety: pure functions over bytes.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/ledger.h"
#include "settlement/payee_rails.h"

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
inline constexpr const char* kPayeeTerms = "payee_terms";
inline constexpr const char* kReserves = "reserves";
inline constexpr const char* kPayoutFiles = "payout_files";
inline constexpr const char* kPayoutRefs = "payout_refs";
inline constexpr const char* kNachaSequences = "nacha_sequences";
inline constexpr const char* kBreakdowns = "breakdowns";
std::vector<std::string> all();

// Table handles of an open ledger.
struct Handles {
  TableId sales, holds, payees, payee_details, events, payouts, runs, run_chunks;
  TableId payee_terms, reserves, payout_files, payout_refs, nacha_sequences, breakdowns;
  static Handles of(const Ledger& ledger);
};

// Is there any row whose key starts with `prefix`? (One seek.)
bool any_with_prefix(TableReader& t, TableId table, std::string_view prefix);

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

// --- reserves ---------------------------------------------------------------------------------
// reserves: marketplace \0 payee \0 currency \0 origin -> HoldValue, the same 48 bytes as a
// hold: the part of a released hold (origin: the sale or earning it came from) that a run kept
// back in M:payees:P:reserve (docs/settlement.md, "Reserves"). `original` is what the run kept,
// `remaining` what is left of it (refunds of the origin draw on it first), `release` the run's
// cut-off plus the reserve's days, `created` the cut-off of the run that kept it. A later run
// releases every reserve whose release time is at or before its cut-off, whole. The sum of a
// payee's reserves in a currency is its reserve account's balance.
std::string reserve_key(std::string_view mk, std::string_view payee, std::string_view currency,
                        std::string_view origin);
// Every reserve of one payee, in (currency, origin) order (a Hold each: the same fields).
std::vector<Hold> payee_reserves(TableReader& snap, const Handles& h, std::string_view mk,
                                 std::string_view payee);
void visit_payee_reserves(
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
// latest by business time is current). Records written before the rail details existed decode
// with neither.
struct PayeeDetailsValue {
  std::string name, account, bic;
  TimeNs at = 0;
  std::string event_id;
  std::optional<PayeeAchDetails> ach{};  // US ACH details, when given
  std::optional<PayeeCoDetails> co{};    // Colombian dispersion details, when given
  friend bool operator==(const PayeeDetailsValue&, const PayeeDetailsValue&) = default;
};
std::string payee_details_key(std::string_view mk, std::string_view payee, TimeNs at,
                              std::string_view event_id);
std::string encode_payee_details(const PayeeDetailsValue& v);
bool decode_payee_details(std::string_view s, PayeeDetailsValue& v);
std::optional<PayeeDetailsValue> latest_payee_details(TableReader& snap, const Handles& h,
                                                      std::string_view mk, std::string_view payee);
std::optional<PayeeValue> payee_state(TableReader& snap, const Handles& h, std::string_view mk,
                                      std::string_view payee);

// payee_terms: marketplace \0 payee \0 be64s(at) event-id -> PayeeTermsValue (history; the latest
// by business time is current). A payee's terms replace the marketplace's reserve and
// minimum_balance for it: `reserve` absent means the marketplace's (a rate of 0 means none);
// minimum_balance lists the currencies it sets, the others keep the marketplace's.
struct TermsReserve {
  int64_t rate_numerator = 0;  // Rate::numerator(), 0..Rate::kDenominator
  int32_t days = 0;            // 1..3650
  friend bool operator==(const TermsReserve&, const TermsReserve&) = default;
};
struct PayeeTermsValue {
  std::optional<TermsReserve> reserve{};
  std::vector<std::pair<std::string, i128>> minimum_balance{};  // code -> minor units, code order
  TimeNs at = 0;
  std::string event_id;
  friend bool operator==(const PayeeTermsValue&, const PayeeTermsValue&) = default;
};
std::string payee_terms_key(std::string_view mk, std::string_view payee, TimeNs at,
                            std::string_view event_id);
std::string encode_payee_terms(const PayeeTermsValue& v);
bool decode_payee_terms(std::string_view s, PayeeTermsValue& v);
std::optional<PayeeTermsValue> latest_payee_terms(TableReader& snap, const Handles& h,
                                                  std::string_view mk, std::string_view payee);

// --- events without an entry (delivered, payee_hold, payee_details, payout_result) --------------
// events: event id -> digest of the request (idempotency for events that post no entry)

// --- breakdowns -------------------------------------------------------------------------------
// breakdowns: event id -> BreakdownValue *as is*, 48 bytes: the numbers of a refund's,
// chargeback's or earning's breakdown that neither its entry nor the sale record keeps, so that
// a duplicate answers the breakdown the first post did (a sale's comes from its sale record).
// Written with the event's entry. A refund, chargeback or earning posted before this table
// existed has no row: its duplicate carries no breakdown.
enum class BreakdownKind : uint8_t { refund = 1, earning = 2 };
struct BreakdownValue {
  i128 first = 0;    // refund, chargeback: the sale's refunded total with it; earning: earned
  i128 second = 0;   // refund, chargeback: its amount; earning: the rule's minimum then
  uint8_t kind = 0;  // BreakdownKind
  uint8_t reserved[15] = {};
};
static_assert(sizeof(BreakdownValue) == 48 && alignof(BreakdownValue) == 16,
              "BreakdownValue is stored as is");
std::string encode_breakdown(const BreakdownValue& v);
// false when `s` is not a BreakdownValue.
bool decode_breakdown(std::string_view s, BreakdownValue& v);

// --- payouts ----------------------------------------------------------------------------------
// payouts: payout id -> PayoutValue. A run's payout ids start with the run id and ':'
// ("M:YYYY-MM-DD:P:CUR"), so a run's payouts are one key range and a marketplace's another.
// The lifecycle (settlement/payout_lifecycle.h): instructed -> sent -> paid | failed; paid ->
// returned. The numbers are stored; 1..3 are those of records written before `sent` existed.
enum class PayoutState : uint8_t { instructed = 1, paid = 2, failed = 3, sent = 4, returned = 5 };
struct PayoutValue {
  std::string marketplace, payee, currency, run;
  i128 amount = 0;
  PayoutState state = PayoutState::instructed;
  std::string result_event;  // the entry that settled it (paid or failed): an event's id, or the
                             // entry a bank report's line posted
  // Since the lifecycle (a record written before has these empty):
  std::string file{};          // the payout file it was sent in (its id, "RUN:FORMAT"), if any
  TimeNs sent_ns = 0;          // when that file was recorded (commit time)
  std::string trace{};         // its NACHA trace number in that file, if it went by NACHA
  std::string return_event{};  // the entry that took it back after it was paid
  std::string reason_code{};   // the bank's code of a failure or return ("AC04", "R03")
  std::string reason{};        // the reason in words, as reported
  i128 tax = 0;                // the payout tax (GMF) the run booked with it
};
std::string encode_payout(const PayoutValue& v);
bool decode_payout(std::string_view s, PayoutValue& v);
// Every payout whose id starts with `prefix` ("M:" for a marketplace's, "M:YYYY-MM-DD:" for a
// run's), in id order, from the first id after `after` (all when empty), until visit returns
// false. Throws StoreCorruption on a record that does not decode.
void visit_payouts(TableReader& t, const Handles& h, std::string_view prefix,
                   std::string_view after,
                   const std::function<bool(std::string_view id, const PayoutValue&)>& visit);

// --- payout files -----------------------------------------------------------------------------
// payout_files: run id \0 format -> PayoutFileValue: the file a run's payouts were exported in,
// one per run and format (settlement/payout_export.h).
struct PayoutFileValue {
  std::string run, format;  // format: "csv", "pain001", "nacha", "co-dispersion"
  std::string sha256;       // 32 bytes
  TimeNs recorded_ns = 0;   // commit time of the recording
  uint64_t payouts = 0;     // payouts it carries
  uint64_t sent = 0;        // payouts it moved from instructed to sent
  // NACHA: the trace sequence of its first entry and its file id modifier (so that exporting the
  // run again gives the same bytes), and the ODFI's 8 digits.
  uint32_t first_trace_sequence = 0;
  char file_id_modifier = 0;
  std::string odfi{};
};
std::string payout_file_key(std::string_view run, std::string_view format);
std::string encode_payout_file(const PayoutFileValue& v);
bool decode_payout_file(std::string_view s, PayoutFileValue& v);

// payout_refs: what bank reports name, back to payouts and runs:
//   "e" \0 EndToEndId -> payout id      (pain.001 files: pain001_id(payout id))
//   "t" \0 trace number -> payout id    (NACHA files)
//   "m" \0 MsgId -> run id              (pain.001 files: pain001_id(run id))
//   "b" \0 PmtInfId -> run id \0 code  (pain.001 files: pain001_id(run id + "-" + code))
enum class RefKind : char { end_to_end = 'e', trace = 't', message = 'm', batch = 'b' };
std::string payout_ref_key(RefKind kind, std::string_view reference);

// nacha_sequences: ODFI (8 digits) -> NachaSequenceValue: the next trace sequence a NACHA file of
// that ODFI starts at, and how many files it has had (their file id modifiers go A..Z, 0..9
// round). Trace numbers are then unique across files until the 7-digit sequence wraps.
struct NachaSequenceValue {
  uint32_t next = 1;   // 1..9,999,999
  uint64_t files = 0;  // files recorded
};
std::string encode_nacha_sequence(const NachaSequenceValue& v);
bool decode_nacha_sequence(std::string_view s, NachaSequenceValue& v);

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
// The part of P's releases a reserve keeps back (liability, no_overdraft): settlement runs credit
// it and release it; refunds and chargebacks of a sale draw on that sale's part first.
std::string reserve(std::string_view mk, std::string_view payee);

}  // namespace tally::tables
