// `tally export`: the whole journal of one snapshot as text (SPEC section 5).
//
// hledger: a journal that hledger and ledger(1) both read unchanged, with the same balances as
// tally. Commodities are declared with their exact decimals and no thousands separator; every
// account is declared with its hledger account type (A, L, E, R, X); one transaction per entry,
// in commit order, dated by `at` in UTC, described as "KIND ID", debits positive and credits
// negative (hledger's sign convention). Commodity codes with digits are quoted, as both tools
// require. Entry seq, business time and meta travel in comments.
//
// csv: one row per posting, RFC 4180 quoting, header
// `seq,id,at,kind,account,currency,side,amount` (amount > 0; side says which way).
//
// Thread safety: the functions read the given Snapshot, which belongs to the calling thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "ledger/ledger.h"
#include "service/results.h"

namespace tally {

// Writes the journal of `snap` in `format` to `sink` in chunks (one per entry or so). Stops early
// when `sink` returns false. `progress(done, total)` counts entries.
ExportSummary export_journal(Snapshot& snap, ExportFormat format,
                             const std::function<bool(std::string_view)>& sink,
                             const std::function<void(uint64_t, uint64_t)>& progress = {});

// A CSV field quoted when it holds a comma, quote, CR or LF (RFC 4180).
std::string csv_field(std::string_view s);

// The hledger/ledger spelling of a commodity code: bare when letters only, else double-quoted.
std::string hledger_commodity(std::string_view code);

}  // namespace tally
