// The read operations of the auditor role on one Snapshot, as plain results (rpc/results.h):
// what the RPC server answers and what an embedded backend can answer, so both transports give
// the same results.
//
// Thread safety: each function uses the given Snapshot, which belongs to the calling thread.
#pragma once

#include <optional>
#include <string>

#include "ledger/ledger.h"
#include "service/results.h"

namespace tally {

// unknown_account; currency_not_allowed when the account does not hold the currency. As of a
// time before the account was opened: not_yet_opened set and no balances (not a rejection).
Result<BalanceResult> read_balance(Snapshot& snap, const BalanceQuery& q);
// overflow when a currency's total does not fit 128 bits (never a wrapped or zero total). As of a
// time before an account was opened, the account is left out (Snapshot::balances).
Result<BalancesResult> read_balances(Snapshot& snap, const std::string& prefix,
                                     std::optional<TimeNs> as_of);
// unknown_account; the ledger's rejections of a bad cursor or limit.
Result<StatementResult> read_statement(Snapshot& snap, const StatementQuery& q);
// unknown_entry.
Result<EntryView> read_entry(Snapshot& snap, const std::string& id);
// overflow when a currency's debits or credits do not fit 128 bits.
Result<TrialBalanceResult> read_trial_balance(Snapshot& snap, std::optional<TimeNs> as_of);

}  // namespace tally
