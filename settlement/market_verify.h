// The marketplace tables' invariants (SPEC section 7: "verify checks the marketplace tables'
// invariants as well as the journal"), checked against the books of one snapshot:
//  - a payee's pending balance equals the sum of its holds, per currency, and no hold is negative;
//  - a payee's reserve balance equals the sum of its reserves, per currency;
//  - M:payouts:in_transit equals the sum of the marketplace's payouts still instructed or sent,
//    per currency (every other state has left it);
//  - every payout record decodes, a sent payout names its file and that file is recorded, and
//    every reference bank reports are matched by (payout_refs) names an existing payout or run.
// The service layer runs it after the ledger's verify. It reads every hold, reserve and payout of
// the configured marketplaces: O(rows), like the journal's verify.
//
// Thread safety: reads the caller's snapshot only.
#pragma once

#include <string>

#include "settlement/config.h"
#include "settlement/tables.h"

namespace tally {

struct MarketVerifyReport {
  bool ok = true;
  std::string problem;                            // the first discrepancy found, with its location
  uint64_t holds = 0, reserves = 0, payouts = 0;  // rows checked
};

MarketVerifyReport verify_marketplace_tables(Snapshot& snap, const tables::Handles& h,
                                             const Config& config);

}  // namespace tally
