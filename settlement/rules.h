// Marketplace rules (SPEC section 3): turns events into balanced ledger entries with exact
// arithmetic, opens the default chart of accounts on first use, and keeps the holds that
// settlement releases. Every event is one WriteOp: idempotent by id, all or nothing, with
// precise errors (unknown_marketplace, unknown_sale, refund_exceeds_sale, fees_exceed_amount,
// affiliate_exceeds_commission, unknown_rule, unknown_payout, ...).
//
// Worked examples of every event's entry: docs/accounting.md.
//
// Thread safety: Rules is immutable after construction; event_op() may be called from any thread.
// The ops it returns run on the ledger's writer thread.
#pragma once

#include <memory>

#include "ledger/ledger.h"
#include "settlement/config.h"
#include "settlement/events.h"
#include "settlement/tables.h"

namespace tally {

class Rules {
 public:
  // `config` and `ledger` must outlive the Rules and every op it made. The ledger must have been
  // opened with tables::all() among its extra_tables.
  Rules(const Config& config, Ledger& ledger);

  // The write op for one event. Its ItemResult carries the entry's seq, and in `detail` a JSON
  // object of what was computed (e.g. {"commission":"12.00","affiliate":"8.40","fee":"3.73"}).
  std::unique_ptr<WriteOp> event_op(Event event) const;
  // event_op of a payee_terms event (settlement/events.h). Posts no entry; idempotent by id like
  // the others. Rejections: unknown_marketplace, bad_request (payee, reserve.days, a currency
  // given twice), bad_rate (reserve.rate, above 100%), currency_not_allowed, bad_amount
  // (minimum_balance below 0 or not exact), each naming the field.
  std::unique_ptr<WriteOp> payee_terms_op(EventHeader header, PayeeTermsEvent terms) const;

  const Config& config() const { return config_; }
  Ledger& ledger() const { return ledger_; }
  const tables::Handles& tables() const { return handles_; }

 private:
  const Config& config_;
  Ledger& ledger_;
  tables::Handles handles_;
};

}  // namespace tally
