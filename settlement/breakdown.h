// Breakdowns (SPEC section 3): the `detail` a sale's, refund's, chargeback's or earning's
// ItemResult carries, a JSON object of what the post computed, e.g.
// {"commission":"12.00","affiliate":"8.40","fee":"3.73","seller":"...","currency":"EUR"}.
// This is the one owner of each breakdown: a fresh post and its duplicate both build it here from
// the same numbers (the duplicate's from the sale record and the breakdowns table, tables.h), so
// a retried event answers exactly what its first post answered.
//
// Thread safety: pure functions, except put_breakdown/original_detail, which use the WriteTxn
// they are given (the ledger's writer thread).
#pragma once

#include <array>
#include <string>

#include "ledger/ledger.h"
#include "settlement/events.h"
#include "settlement/tables.h"

namespace tally {

// A sale's split (commission, affiliate, fee, seller), from its sale record.
std::string sale_detail(const tables::SaleValue& sv, const Currency& c);

// A refund's (or chargeback's) split of `amount` into the seller's, the platform's and the
// affiliate's shares: the allocation of the cumulative refunded `total` (this one included) minus
// the allocation of what was refunded before, so any sequence of partial refunds adding up to the
// sale reverses every part exactly. Requires 0 < `amount` <= `total` <= the sale's amount
// (asserted). The shares are >= 0 and sum to `amount`.
std::array<i128, 3> refund_split(const tables::SaleValue& sale, i128 total, i128 amount);
// The breakdown of a refund whose refund_split is `share`, `total` refunded so far.
std::string refund_detail(const std::array<i128, 3>& share, i128 total, const Currency& c);

// What an earning pays: the rule's rate applied to the basis, or its minimum when larger.
Amount earning_paid(const Amount& earned, const Amount& minimum);
std::string earning_detail(const Amount& earned, const Amount& minimum, const Currency& c);

// Records the numbers of event `event_id`'s breakdown in the breakdowns table: for a refund or
// chargeback (total refunded, this amount), for an earning (earned, minimum).
void put_breakdown(WriteTxn& t, const tables::Handles& h, const std::string& event_id,
                   tables::BreakdownKind kind, i128 first, i128 second);

// The breakdown the first post of the (already committed) event `ev` answered, rebuilt by the
// same functions from what it stored; empty for an event without one, or one stored before the
// breakdowns table (tables.h). Throws StoreCorruption on a stored row that cannot be decoded or
// does not fit its sale.
std::string original_detail(WriteTxn& t, const tables::Handles& h, const Event& ev);

}  // namespace tally
