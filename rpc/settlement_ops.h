// Settlement operations in the client commands' terms (rpc/results.h), over a Service: the one
// place the embedded backend and the RPC server's Finance capability share.
//
// Thread safety: as Service (any thread).
#pragma once

#include <string>
#include <vector>

#include "rpc/results.h"
#include "rpc/service.h"

namespace tally {

// Runs, previews or replays a settlement (Settlement::settle).
Result<RunResult> settle_op(Service& service, const SettleRequest& request);
// Past runs of a marketplace, by pay date.
Result<std::vector<RunSummary>> runs_op(Service& service, const std::string& marketplace);
// The payout file of a stored run: CSV, or pain.001.001.03 with the marketplace's payout
// account as debtor. The file's creation time is the run's commit time, so the same run always
// gives the same bytes.
Result<std::string> payouts_op(Service& service, const std::string& run, PayoutFormat format);

// The conversion both use (exposed for tests).
RunResult to_run_result(const SettlementRun& run, bool dry_run);

}  // namespace tally
