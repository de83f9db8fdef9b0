#include "service/settlement_ops.h"

#include <chrono>

#include "service/payout_ops.h"

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
    case SettlementCarry::account_closed:
      return CarryReason::account_closed;
  }
  TALLY_ASSERT(false, "carry reason " + std::to_string(static_cast<int>(c)));
}

Currency currency_of(const std::vector<Currency>& currencies, std::string_view code) {
  for (const auto& c : currencies)
    if (c.code() == code) return c;
  TALLY_ASSERT(false, "run currency " + std::string(code));
}

std::string stage_of(const RunProgress& p) {
  std::string chunk =
      "chunk " + std::to_string(p.chunks_done + 1) + "/" + std::to_string(p.chunks_total);
  switch (p.phase) {
    case RunProgress::Phase::planning:
      return "planning " + chunk;
    case RunProgress::Phase::committing:
      return "committed " + std::to_string(p.chunks_done) + "/" + std::to_string(p.chunks_total) +
             " chunks";
    case RunProgress::Phase::replaying:
      return "replaying";
  }
  return {};
}
}  // namespace

RunRowsResult to_run_rows(const RunRows& r, const std::vector<Currency>& currencies) {
  RunRowsResult out;
  for (const auto& x : r.released)
    out.released.push_back({x.payee, currency_of(currencies, x.currency), x.amount});
  for (const auto& x : r.payouts)
    out.payouts.push_back(
        {x.payout, x.payee, currency_of(currencies, x.currency), x.amount, x.tax, x.kept});
  for (const auto& x : r.reserved)
    out.reserved.push_back({x.payee, currency_of(currencies, x.currency), x.amount});
  for (const auto& x : r.reserve_released)
    out.reserve_released.push_back({x.payee, currency_of(currencies, x.currency), x.amount});
  for (const auto& x : r.carried)
    out.carried.push_back(
        {x.payee, currency_of(currencies, x.currency), x.balance, carry_of(x.reason)});
  return out;
}

RunResult to_run_result(const SettlementRun& r) {
  RunResult out;
  static_cast<RunRowsResult&>(out) = to_run_rows(r, r.currencies);
  out.run = r.run;
  out.marketplace = r.marketplace;
  out.pay_date = r.pay_date;
  out.cutoff = r.cutoff;
  out.dry_run = r.dry_run;
  out.existing = r.replayed;
  out.state =
      r.state == RunState::complete ? RunStateResult::complete : RunStateResult::in_progress;
  out.chunks = r.chunks;
  out.payees = r.payees;
  out.rows = out.size();
  for (const auto& t : r.totals) {
    Currency c = currency_of(r.currencies, t.currency);
    out.paid_totals.push_back({c, t.paid, false});
    out.totals.push_back({c, t.released, t.paid, t.carried, t.payees_paid, t.payees_carried,
                          t.reserved, t.reserve_released, t.tax, t.kept});
  }
  return out;
}

Result<RunResult> settle_op(Service& service, const SettleRequest& req,
                            const StagedProgressFn& progress,
                            const std::function<void(RunRowsResult&&)>& rows) {
  SettleOptions o = service.settle_options();
  o.dry_run = req.dry_run;
  uint64_t sent = 0;
  std::vector<Currency> currencies;
  if (const MarketplaceConfig* mk = service.config().marketplace(req.marketplace))
    currencies = mk->currencies;
  if (rows)
    o.rows = [&](RunRows&& part) {
      RunRowsResult r = to_run_rows(part, currencies);
      sent += r.size();
      rows(std::move(r));
    };
  if (req.dry_run) o.progress = nullptr;  // the service's progress hook is for real runs
  if (progress)
    o.progress = [&, base = o.progress](const RunProgress& p) {
      if (base) base(p);
      progress(p.payees_done, p.payees_total, stage_of(p));
    };
  const auto started = std::chrono::steady_clock::now();
  auto r = service.settlement().settle(req.marketplace, req.pay_date, o);
  service.report_run(req.dry_run, r.ok(),
                     std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now() - started)
                         .count());
  if (!r) return r.error();
  RunResult out = to_run_result(*r);
  if (rows) out.rows = sent;
  return out;
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
    x.marketplace = marketplace;
    x.pay_date = s.pay_date;
    x.cutoff = s.cutoff;
    x.committed_ns = s.committed_ns;
    x.state =
        s.state == RunState::complete ? RunStateResult::complete : RunStateResult::in_progress;
    x.chunks = s.chunks;
    x.payees = s.payees;
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
  auto r = payout_file_op(service, run, format);
  if (!r) return r.error();
  return std::move(r->bytes);
}

}  // namespace tally
