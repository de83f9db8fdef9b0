#include "rpc/settlement_ops.h"

#include <map>

namespace tally {

namespace {
CarryReason carry_of(SettlementCarry c) {
  switch (c) {
    case SettlementCarry::below_minimum:
      return CarryReason::below_minimum;
    case SettlementCarry::negative:
      return CarryReason::negative;
    case SettlementCarry::on_hold:
      return CarryReason::on_hold;
    case SettlementCarry::no_details:
      return CarryReason::no_details;
  }
  TALLY_ASSERT(false, "carry reason " + std::to_string(static_cast<int>(c)));
}

Currency currency_of(const std::vector<Currency>& currencies, std::string_view code) {
  for (const auto& c : currencies)
    if (c.code() == code) return c;
  TALLY_ASSERT(false, "run currency " + std::string(code));
}
}  // namespace

RunResult to_run_result(const SettlementRun& r, bool dry_run) {
  RunResult out;
  out.run = r.run;
  out.marketplace = r.marketplace;
  out.pay_date = r.pay_date;
  out.cutoff = r.cutoff;
  out.dry_run = dry_run;
  out.existing = r.replayed;
  for (const auto& x : r.released)
    out.released.push_back({x.payee, currency_of(r.currencies, x.currency), x.amount});
  for (const auto& x : r.payouts)
    out.payouts.push_back({x.payout, x.payee, currency_of(r.currencies, x.currency), x.amount});
  for (const auto& x : r.carried)
    out.carried.push_back(
        {x.payee, currency_of(r.currencies, x.currency), x.balance, carry_of(x.reason)});
  for (const auto& t : r.totals)
    out.paid_totals.push_back({currency_of(r.currencies, t.currency), t.paid, false});
  return out;
}

Result<RunResult> settle_op(Service& service, const SettleRequest& req) {
  SettleOptions o;
  o.dry_run = req.dry_run;
  auto r = service.settlement().settle(req.marketplace, req.pay_date, o);
  if (!r) return r.error();
  return to_run_result(*r, req.dry_run && !r->replayed);
}

Result<std::vector<RunSummary>> runs_op(Service& service, const std::string& marketplace) {
  auto runs = service.settlement().runs(marketplace);
  if (!runs) return runs.error();
  const MarketplaceConfig* mk = service.config().marketplace(marketplace);
  TALLY_ASSERT(mk != nullptr, marketplace);
  std::vector<RunSummary> out;
  for (const auto& s : *runs) {
    RunSummary x;
    x.run = s.run;
    x.pay_date = s.pay_date;
    x.cutoff = s.cutoff;
    x.committed_ns = s.committed_ns;
    for (const auto& t : s.totals) {
      x.payees_paid += t.payees_paid;
      x.payees_carried += t.payees_carried;
      x.paid_totals.push_back({currency_of(mk->currencies, t.currency), t.paid, false});
    }
    out.push_back(std::move(x));
  }
  return out;
}

Result<std::string> payouts_op(Service& service, const std::string& run, PayoutFormat format) {
  auto r = service.settlement().run(run);
  if (!r) return r.error();
  if (format == PayoutFormat::csv) return payout_csv(r->lines);
  const MarketplaceConfig* mk = service.config().marketplace(r->marketplace);
  if (!mk)
    return reject(Code::unknown_marketplace,
                  "run: marketplace " + r->marketplace + " is no longer configured");
  auto date = parse_date(r->pay_date, "run");
  if (!date) return date.error();
  PayoutRunInfo info{r->run, *date, format_rfc3339(r->committed_ns), mk->payout_account};
  return payout_pain001(info, r->lines);
}

}  // namespace tally
