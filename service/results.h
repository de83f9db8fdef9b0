// The plain C++ results the `tally` client commands work with, whatever the transport: the
// embedded backend fills them from a Snapshot, the RPC client from Cap'n Proto replies. The CLI
// formats them as text or JSON; nothing here is text for a person.
//
// Reads reuse the ledger's own value types (Balances, Statement, EntryView, VerifyReport,
// TrialBalanceRow): they already carry each amount with its Currency (code and exponent), so an
// amount can be printed exactly without another lookup.
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/status.h"
#include "ledger/time.h"

namespace tally {

// --- failures that are not the input's fault --------------------------------------------------

// A client command could not be carried out for a reason other than its input: the server is
// unreachable, the token's role may not do this, the connection broke, the server failed. The
// CLI exits 3 on cannot_connect and not_allowed, and 3 on the others too (nothing the input can
// fix). Business rejections are never a Failure: they are a Rejection (exit 1).
struct Failure {
  enum class Kind : uint8_t {
    cannot_connect,  // no connection (refused, unresolvable address, TLS/handshake)
    not_allowed,     // the token is unknown or its roles do not include this operation
    disconnected,    // the connection broke mid-call: the outcome of a write is unknown
    server_error,    // the server or the local store failed (Status): message says which
  };
  Kind kind = Kind::server_error;
  std::string message;
};
std::string_view failure_kind_name(Failure::Kind k);

// A value, a business Rejection (exit 1) or a Failure (exit 3).
template <class T>
class [[nodiscard]] Reply {
 public:
  Reply(T value) : v_(std::move(value)) {}                  // NOLINT: implicit by design
  Reply(Rejection rejection) : v_(std::move(rejection)) {}  // NOLINT
  Reply(Failure failure) : v_(std::move(failure)) {}        // NOLINT
  bool ok() const { return v_.index() == 0; }
  bool rejected() const { return v_.index() == 1; }
  bool failed() const { return v_.index() == 2; }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Rejection& rejection() const { return std::get<1>(v_); }
  const Failure& failure() const { return std::get<2>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Rejection, Failure> v_;
};

// --- posting -----------------------------------------------------------------------------------

// The results of Backend::post: results[i] belongs to items[i]. When the transport failed part
// way, `failure` is set and `results` holds only the items whose outcome is known (a prefix);
// the others may or may not have committed (reposting them is safe: ids make posting
// idempotent).
struct PostOutcome {
  std::vector<ItemResult> results;
  std::optional<Failure> failure;
};

// --- reads -------------------------------------------------------------------------------------

// `tally balance ACCOUNT [--currency C] [--as-of T]`.
struct BalanceQuery {
  std::string account;
  std::optional<std::string> currency;  // absent: every currency the account holds
  std::optional<TimeNs> as_of;          // absent: now
};
struct BalanceResult {
  std::string account;
  AccountKind kind = AccountKind::asset;
  uint8_t flags = 0;  // AccountFlag bits
  TimeNs as_of = 0;   // the commit time the balances are as of (the query's, or the read's now)
  std::vector<CurrencyTotal> balances;  // normal-side, currency code order (one when asked)
  // When the account was opened (Snapshot::account_opened_ns); nullopt: unknown (opened before
  // tally recorded open times).
  std::optional<TimeNs> opened_ns;
  // as_of is before the account was opened: it did not exist then, and `balances` is empty (never
  // a 0.00 it never had). docs/clients.md, "Balances before an account was opened".
  bool not_yet_opened = false;
};

struct BalancesResult {
  std::string prefix;
  TimeNs as_of = 0;
  Balances balances;  // accounts in name order; totals per currency
};

struct TrialBalanceResult {
  TimeNs as_of = 0;
  std::vector<TrialBalanceRow> currencies;  // code order
};

// A page of an account's statement.
struct StatementResult {
  std::string account;
  AccountKind kind = AccountKind::asset;
  Statement statement;  // lines and the cursor of the next page
};

// --- export ------------------------------------------------------------------------------------

enum class ExportFormat : uint8_t { hledger, csv };
std::optional<ExportFormat> parse_export_format(std::string_view name);
std::string_view export_format_name(ExportFormat f);

struct ExportSummary {
  uint64_t entries = 0;
  uint64_t postings = 0;
  uint64_t last_seq = 0;  // the export is a consistent view as of this commit sequence
  // Over RPC, the trailer: the bytes the server sent and their SHA-256 (the client checks its
  // sink received exactly these). Zero when exported in process.
  uint64_t bytes = 0;
  Digest sha256{};
};

// --- period close (finance) ----------------------------------------------------------------------

struct ClosePeriodResult {
  std::string through;  // the closed date, YYYY-MM-DD (inclusive)
  TimeNs end_exclusive = 0;
  ItemResult result;
};

// --- settlement (filled in by the settlement engineer's backend methods) -----------------------

struct SettleRequest {
  std::string marketplace;
  std::string pay_date;  // YYYY-MM-DD
  bool dry_run = false;
};
struct ReleasedLine {
  std::string payee;
  Currency currency;
  Amount amount;
};
struct PayoutLineResult {
  std::string payout;  // payout id
  std::string payee;
  Currency currency;
  Amount amount;
  Amount tax{};   // the payout tax (payout_tax, the GMF) the platform booked with it, else zero
  Amount kept{};  // the minimum balance (minimum_balance) left on the payee's available, else 0
};
// no_details: the payee has no bank details to pay to (see docs/settlement.md, "Runs").
// account_closed: a payee account is closed; nothing is released or paid.
enum class CarryReason : uint8_t { below_minimum, negative, on_hold, no_details, account_closed };
std::string_view carry_reason_name(CarryReason r);
struct CarriedLine {
  std::string payee;
  Currency currency;
  Amount balance;
  CarryReason reason = CarryReason::below_minimum;
};
// A run's rows, or a chunk of them, in payee order.
struct RunRowsResult {
  std::vector<ReleasedLine> released;
  std::vector<PayoutLineResult> payouts;
  std::vector<CarriedLine> carried;
  // The reserve (marketplace or payee `reserve`) kept back of each payee's release, and the
  // reserves that came due and went back to available; per payee and currency, payee order.
  std::vector<ReleasedLine> reserved;
  std::vector<ReleasedLine> reserve_released;
  // The rows counted in RunResult::rows (released, payouts, carried; the reserve lists ride with
  // them in the same chunks).
  size_t size() const { return released.size() + payouts.size() + carried.size(); }
};
struct RunTotalLine {
  Currency currency;
  Amount released, paid, carried;
  uint64_t payees_paid = 0, payees_carried = 0;
  Amount reserved{};          // kept back of the releases into reserves
  Amount reserve_released{};  // reserves released back to available
  Amount tax{};               // payout tax booked with the payouts
  Amount kept{};              // minimum balances left on available by the payouts
};
enum class RunStateResult : uint8_t { in_progress, complete };
std::string_view run_state_result_name(RunStateResult s);  // "in_progress", "complete"
// SPEC section 5 `settle --json`: run, marketplace, pay_date, cutoff, released, payouts, carried;
// and the run's state, chunks and totals.
struct RunResult : RunRowsResult {
  std::string run;  // run id
  std::string marketplace;
  std::string pay_date;  // YYYY-MM-DD
  TimeNs cutoff = 0;
  bool dry_run = false;
  bool existing = false;  // the run already existed: returned as it was, nothing posted
  std::vector<CurrencyTotal> paid_totals;  // per currency
  RunStateResult state = RunStateResult::complete;
  uint64_t chunks = 0;  // committed (a dry run: a run would commit)
  uint64_t payees = 0;  // the run went through
  uint64_t rows = 0;    // rows the run reported (released + payouts + carried)
  std::vector<RunTotalLine> totals;
};
struct RunSummary {
  std::string run;
  std::string marketplace;
  std::string pay_date;
  TimeNs cutoff = 0;
  TimeNs committed_ns = 0;  // of the last chunk, once complete
  uint64_t payees_paid = 0;
  uint64_t payees_carried = 0;
  std::vector<CurrencyTotal> paid_totals;
  RunStateResult state = RunStateResult::complete;
  uint64_t chunks = 0;
  uint64_t payees = 0;
};
// progress(done, total): called now and then during long work (total 0 when unknown).
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;
// Receives exported text in order; return false to stop early (e.g. the output failed).
using TextSink = std::function<bool(std::string_view chunk)>;
// progress(done, total, stage) of work in stages ("planning chunk 2/9", "committing chunk 2/9").
using StagedProgressFn =
    std::function<void(uint64_t done, uint64_t total, const std::string& stage)>;

// --- the payout lifecycle (SPEC section 8) ---------------------------------------------------

// `tally payouts RUN --format F`.
enum class PayoutFormat : uint8_t { csv, pain001, nacha, co_dispersion };
// "csv", "pain001", "nacha", "co-dispersion".
std::optional<PayoutFormat> parse_payout_format(std::string_view name);
std::string_view payout_format_name(PayoutFormat f);

// A payout file made and recorded (service/payout_ops.h).
struct PayoutFileResult {
  std::string run;
  std::string file;  // its id, "RUN:FORMAT" ("shop:2026-01-26:pain001")
  PayoutFormat format = PayoutFormat::csv;
  std::string bytes;              // the file
  std::string sha256;             // of the bytes, 64 lowercase hex digits
  uint64_t payouts = 0;           // payouts the file carries
  uint64_t sent = 0;              // payouts this export moved from instructed to sent
  bool already_recorded = false;  // exported before: the same bytes, nothing changed
  TimeNs recorded_ns = 0;         // when the file was (first) recorded
};

// A payout and where it is in its lifecycle.
struct PayoutStatusLine {
  std::string payout;  // id "M:YYYY-MM-DD:PAYEE:CUR"
  std::string run;
  std::string payee;
  Currency currency;
  Amount amount;
  Amount tax;  // the payout tax (GMF) booked with it
  // "instructed", "sent", "paid", "failed", "returned".
  std::string state;
  std::string file;  // the bank file it was sent in, if any
  TimeNs sent_ns = 0;
  std::string trace;         // its NACHA trace number, if it went by NACHA
  std::string result_entry;  // the entry that settled it (paid or failed)
  std::string return_entry;  // the entry that took it back (returned)
  std::string reason_code;   // the bank's code of a failure or return ("AC04", "R03")
  std::string reason;
};
struct RunPayoutsResult {
  std::string run;
  std::vector<PayoutStatusLine> payouts;  // payout id order
};
// A marketplace's payouts by state across runs, a page at a time.
struct PayoutQuery {
  std::string marketplace;
  std::optional<std::string> state;  // a state name; absent: every state
  std::string after;                 // the cursor (a payout id); empty: from the first
  uint64_t limit = 0;                // 1..10000; 0: 1000
};
struct PayoutPageResult {
  std::string marketplace;
  std::vector<PayoutStatusLine> payouts;  // payout id order (pay date, payee, currency)
  std::string next;                       // the next page's cursor; empty at the end
};

// `tally import-report FILE`: a bank report in (settlement/report_import.h). The names are the
// settlement layer's (report_line_status_name, payout_state_name, ...).
struct ImportReportRequest {
  std::string bytes;  // the file
  bool dry_run = false;
};
struct ReportPayoutLine {
  std::string payout;
  std::string before, after;  // states
  std::string status;         // this payout's: matched, already_applied, contradictory, ...
  std::string entry;          // the entry the transition posted (matched)
  std::string message;
};
struct ReportLine {
  std::string location;  // XML element path, or "record N" of a NACHA file
  uint64_t line = 0;     // 1-based line of the file
  std::string reference_kind, reference;
  std::string outcome;  // accepted, pending, paid, rejected, returned
  std::string reason;   // the bank's code
  // matched, already_applied, unmatched, contradictory, mismatched, informational.
  std::string status;
  std::string message;
  std::vector<ReportPayoutLine> payouts;
};
struct ImportReportResult {
  std::string format;  // "pain.002.001.03", "camt.054.001.02", "nacha-return"
  std::string message_id;
  bool dry_run = false;
  bool applied = false;
  std::vector<ReportLine> lines;  // file order
  std::vector<std::string> ignored;
  uint64_t matched = 0, already_applied = 0, unmatched = 0, contradictory = 0, mismatched = 0,
           informational = 0, payouts_moved = 0;
};

// `tally hold M:P --on|--off --reason R`: posts a payee_hold event.
struct HoldRequest {
  std::string marketplace;
  std::string payee;
  bool on = true;
  std::string reason;
  std::string id;  // event id; empty: the service makes one from the marketplace, payee and `at`
  // The event's business time, RFC 3339 text as given (validated by Service::hold_item, naming
  // the field `at`). Required with an explicit id, so that a retry is the same event (duplicate,
  // not id_conflict); absent without an id: the service's clock.
  std::optional<std::string> at{};
};

}  // namespace tally
