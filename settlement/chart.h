// The marketplace's chart of accounts opened on first use (SPEC section 3): which accounts an
// entry needs, whether they exist as the chart says, and opening the missing ones. Shared by the
// event rules, the payout lifecycle and settlement runs.
//
// Thread safety: functions over a WriteTxn the caller owns (the writer thread).
#pragma once

#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "settlement/config.h"

namespace tally {

struct ChartAccount {
  std::string name;
  AccountKind kind;
  uint8_t flags;  // kNoOverdraft or 0
};

// A payee's pending (liability, no_overdraft) and available (liability) accounts.
std::vector<ChartAccount> payee_chart_accounts(const MarketplaceConfig& mk,
                                               const std::string& payee);

// Whether opening is needed (an account is missing, or lacks one of the marketplace's
// currencies), or a rejection when one exists with another kind or flags (account_exists) or is
// closed (account_closed).
Result<bool> check_chart_accounts(WriteTxn& t, const MarketplaceConfig& mk,
                                  const std::vector<ChartAccount>& accounts);
// Opens (or extends with the marketplace's currencies) every account; check_chart_accounts must
// have passed in this transaction.
void open_chart_accounts(WriteTxn& t, const MarketplaceConfig& mk,
                         const std::vector<ChartAccount>& accounts);

}  // namespace tally
