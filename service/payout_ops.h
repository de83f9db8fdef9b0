// The payout lifecycle's operations (SPEC section 8) in the client commands' terms
// (service/results.h), over a Service: payout files (make, record, send), a run's payouts with
// their states, a marketplace's payouts by state, and bank report import. The one place the
// embedded backend and the RPC server share (as settlement_ops.h is for runs).
//
// Roles (checked by the caller, as for settlement_ops.h): payout_file_op and import_report_op are
// finance's (they write); run_payouts_op and payouts_by_state_op are reads (auditor, and finance,
// which needs them to do its work).
//
// Thread safety: as Service (any thread). The writes submit one op to the ledger's writer and
// wait for it.
#pragma once

#include <string>

#include "service/results.h"
#include "service/service.h"

namespace tally {

// Makes run `run`'s payout file in `format`, records it (id "RUN:FORMAT", format, SHA-256, the
// payouts it carries) and, for the bank formats (pain001, nacha, co-dispersion), moves its
// payouts from instructed to sent (settlement/payout_export.h has the rules). Exporting the same
// file again gives the same bytes and changes nothing (already_recorded). Rejections:
// unknown_run, run_in_progress, bad_request (no originator for the rail, no payouts of the
// rail's currency, payees without the rail's details, each named), id_conflict (the recorded
// file had other bytes), payout_already_settled (a bank file with payouts past instructed).
Result<PayoutFileResult> payout_file_op(Service& service, const std::string& run,
                                        PayoutFormat format);

// The payouts of a stored run, in payout id order, with their lifecycle states. unknown_run.
Result<RunPayoutsResult> run_payouts_op(Service& service, const std::string& run);

// A marketplace's payouts across runs, in payout id order, only those in `state` when it is
// given, a page at a time (limit 1..10000, 0: 1000). unknown_marketplace; bad_request for an
// unknown state or a bad limit.
Result<PayoutPageResult> payouts_by_state_op(Service& service, const PayoutQuery& query);

// Reads a bank report (pain.002.001.03, camt.054.001.02 or a NACHA return file: the format is
// detected from the content), matches its lines to payouts and applies their transitions in one
// transaction (settlement/report_import.h). A malformed file is bad_request naming where, and
// changes nothing; so does a report the ledger refuses a transition of (the line named).
Result<ImportReportResult> import_report_op(Service& service, const ImportReportRequest& request);

}  // namespace tally
