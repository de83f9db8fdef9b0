// Bank reports in (SPEC section 8, "Reports in"): a parsed report (settlement/bank_report.h) is
// matched line by line to payouts and its outcomes are applied as payout lifecycle transitions
// (settlement/payout_lifecycle.h), in one write transaction.
//
// Matching, by the line's reference kind:
//  - end_to_end_id: the payout whose pain001_id is the EndToEndId (recorded when its pain.001 file
//    was exported), else the payout whose id it is (ids of 1..35 printable ASCII characters are
//    their own EndToEndId);
//  - trace_number: the payout a NACHA file gave that trace number when it was exported;
//  - payment_information_id / message_id: every payout of the pain.001 file whose PmtInfId (one
//    currency of a run) or MsgId (the run) it is. A group or batch rejection fails them all.
// Each line's outcome: paid -> paid, rejected -> failed, returned -> returned; accepted and
// pending are informational: recorded nowhere (a payment the bank accepted may still be rejected
// or returned; only the booked debit of camt.054 says the money left).
//
// The whole report is matched and judged against the payouts' states first (a line sees the
// states the lines before it left: a camt.054 with a payout's debit and then its return applies
// both), and only then applied, atomically: every transition of the report commits, or (when the
// ledger refuses one, e.g. a closed account or period) none does and the import is refused with
// the line named. Idempotent per line: a line whose result the payout already has is
// already_applied, and importing the same report again changes nothing.
//
// Thread safety: import_bank_report may be called from any thread (it submits one op to the
// ledger's writer, or reads a snapshot for a dry run).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "settlement/bank_report.h"
#include "settlement/payout_lifecycle.h"
#include "settlement/rules.h"

namespace tally {

enum class ReportLineStatus : uint8_t {
  matched,          // applied now: the payout moved (for a batch or group line, at least one did
                    // and none contradicted it)
  already_applied,  // the payout (each payout of the line) already had this result
  unmatched,        // no payout, run or file has this reference
  contradictory,    // a payout has a result this line contradicts (both states in the message)
  mismatched,       // the line's amount or currency is not the payout's: not applied
  informational,    // accepted or pending: nothing to apply
};
// "matched", "already_applied", "unmatched", "contradictory", "mismatched", "informational".
std::string_view report_line_status_name(ReportLineStatus s);

// What a line did to one payout.
struct ReportPayoutResult {
  std::string payout;
  tables::PayoutState before = tables::PayoutState::instructed;  // when the line was judged
  tables::PayoutState after = tables::PayoutState::instructed;
  ReportLineStatus status = ReportLineStatus::matched;
  std::string entry_id;  // the entry the transition posted (matched), else empty
  std::string message;   // why, for the statuses other than matched
};

struct ReportLineResult {
  size_t index = 0;      // into BankReport::lines
  std::string location;  // the line's place in the file (BankReportLine::location)
  size_t line = 0;
  ReferenceKind reference_kind = ReferenceKind::end_to_end_id;
  std::string reference;
  ReportOutcome outcome = ReportOutcome::accepted;
  std::string reason;  // the bank's code
  ReportLineStatus status = ReportLineStatus::unmatched;
  std::vector<ReportPayoutResult> payouts;  // the payouts the line names (none when unmatched)
  std::string message;
};

struct ReportImport {
  ReportFormat format = ReportFormat::pain002;
  std::string message_id;
  bool dry_run = false;
  bool applied = false;  // the transitions were committed (false: dry run, or all_or_nothing
                         // held them back)
  std::vector<ReportLineResult> lines;  // one per report line, in file order
  std::vector<std::string> ignored;     // BankReport::ignored, for a person to look at
  // Lines per status, and payouts moved.
  size_t matched = 0, already_applied = 0, unmatched = 0, contradictory = 0, mismatched = 0,
         informational = 0;
  size_t payouts_moved = 0;
};

struct ReportImportOptions {
  bool dry_run = false;  // judge every line against the books now, apply nothing
  // Apply nothing unless every line is matched, already_applied or informational.
  bool all_or_nothing = false;
  // Business time of the entries the transitions post; 0: the commit time of the import. (The
  // bank's own dates go into each entry's meta.)
  TimeNs at = 0;
};

// Imports `report`. A rejection means nothing was applied: the ledger refused a transition's
// entry (its code, the line and payout named), or a store failure (internal / store_full).
Result<ReportImport> import_bank_report(const Rules& rules, const BankReport& report,
                                        const ReportImportOptions& options = {});

// The op import_bank_report submits (for a caller that batches ops itself). `out` is reset each
// time it applies; its ItemResult is ok, or the error that refused the whole report.
std::unique_ptr<WriteOp> import_report_op(const Rules& rules, BankReport report,
                                          ReportImportOptions options,
                                          std::shared_ptr<ReportImport> out);

}  // namespace tally
