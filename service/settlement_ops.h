// Settlement operations in the client commands' terms (rpc/results.h), over a Service: the one
// place the embedded backend and the RPC server's Finance capability share.
//
// Thread safety: as Service (any thread).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "service/results.h"
#include "service/service.h"

namespace tally {

// Runs, previews, resumes or replays a settlement (Settlement::settle) with the service's run
// options (chunk size, log). The rows go to `rows`, chunk by chunk in payee order, when it is
// set; otherwise into the result. progress(done, total, stage) as planning and chunks go.
Result<RunResult> settle_op(Service& service, const SettleRequest& request,
                            const StagedProgressFn& progress = {},
                            const std::function<void(RunRowsResult&&)>& rows = {});
// Runs of a marketplace, by pay date.
Result<std::vector<RunSummary>> runs_op(Service& service, const std::string& marketplace);
// The payout file of a stored, complete run: payout_file_op (service/payout_ops.h), its bytes
// only: the file is recorded and, for the bank formats, its payouts are sent. The same run
// always gives the same bytes. A run in progress has no file yet (run_in_progress).
Result<std::string> payouts_op(Service& service, const std::string& run, PayoutFormat format);

// The conversions both use (exposed for tests).
RunResult to_run_result(const SettlementRun& run);
RunRowsResult to_run_rows(const RunRows& rows, const std::vector<Currency>& currencies);

}  // namespace tally
