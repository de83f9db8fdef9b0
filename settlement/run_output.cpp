// A run's text for people and its JSON (contract in settlement/run.h).

#include "ledger/json_writer.h"
#include "settlement/run.h"

namespace tally {

std::string_view settlement_carry_name(SettlementCarry r) {
  switch (r) {
    case SettlementCarry::below_minimum:
      return "below_minimum";
    case SettlementCarry::negative:
      return "negative";
    case SettlementCarry::on_hold:
      return "on_hold";
    case SettlementCarry::no_details:
      return "no_details";
    case SettlementCarry::account_closed:
      return "account_closed";
  }
  TALLY_ASSERT(false, "carry reason " + std::to_string(static_cast<int>(r)));
}

std::string_view run_state_name(RunState s) {
  switch (s) {
    case RunState::in_progress:
      return "in_progress";
    case RunState::complete:
      return "complete";
  }
  TALLY_ASSERT(false, "run state " + std::to_string(static_cast<int>(s)));
}

void RunRows::append(RunRows&& more) {
  auto move_all = [](auto& into, auto& from) {
    if (into.empty() && into.capacity() < from.size()) {  // keep room the caller made
      into = std::move(from);
      return;
    }
    into.insert(into.end(), std::make_move_iterator(from.begin()),
                std::make_move_iterator(from.end()));
  };
  move_all(released, more.released);
  move_all(payouts, more.payouts);
  move_all(carried, more.carried);
  move_all(lines, more.lines);
  move_all(reserved, more.reserved);
  move_all(reserve_released, more.reserve_released);
}

namespace {}  // namespace

std::string run_json(const SettlementRun& r) {
  auto fmt = [&](Amount a, std::string_view code) {
    for (auto& c : r.currencies)
      if (c.code() == code) return json_string(format_amount(a, c));
    TALLY_ASSERT(false, "run currency " + std::string(code));
  };
  std::string o = "{\"run\":" + json_string(r.run) +
                  ",\"marketplace\":" + json_string(r.marketplace) +
                  ",\"pay_date\":" + json_string(r.pay_date) +
                  ",\"cutoff\":" + json_string(format_rfc3339(r.cutoff));
  auto amounts = [&](const char* key, const std::vector<RunRelease>& rows) {
    o += ",\"" + std::string(key) + "\":[";
    for (size_t i = 0; i < rows.size(); ++i) {
      auto& x = rows[i];
      o += (i ? "," : "") + std::string("{\"payee\":") + json_string(x.payee) +
           ",\"currency\":" + json_string(x.currency) + ",\"amount\":" + fmt(x.amount, x.currency) +
           "}";
    }
    o += "]";
  };
  amounts("released", r.released);
  o += ",\"payouts\":[";
  for (size_t i = 0; i < r.payouts.size(); ++i) {
    auto& x = r.payouts[i];
    o += (i ? "," : "") + std::string("{\"payout\":") + json_string(x.payout) +
         ",\"payee\":" + json_string(x.payee) + ",\"currency\":" + json_string(x.currency) +
         ",\"amount\":" + fmt(x.amount, x.currency) + ",\"tax\":" + fmt(x.tax, x.currency) +
         ",\"kept\":" + fmt(x.kept, x.currency) + "}";
  }
  o += "],\"carried\":[";
  for (size_t i = 0; i < r.carried.size(); ++i) {
    auto& x = r.carried[i];
    o += (i ? "," : "") + std::string("{\"payee\":") + json_string(x.payee) +
         ",\"currency\":" + json_string(x.currency) + ",\"balance\":" + fmt(x.balance, x.currency) +
         ",\"reason\":" + json_string(settlement_carry_name(x.reason)) + "}";
  }
  o += "]";
  amounts("reserved", r.reserved);
  amounts("reserve_released", r.reserve_released);
  o += ",\"totals\":[";
  for (size_t i = 0; i < r.totals.size(); ++i) {
    auto& x = r.totals[i];
    o += (i ? "," : "") + std::string("{\"currency\":") + json_string(x.currency) +
         ",\"released\":" + fmt(x.released, x.currency) + ",\"paid\":" + fmt(x.paid, x.currency) +
         ",\"carried\":" + fmt(x.carried, x.currency) +
         ",\"payees_paid\":" + std::to_string(x.payees_paid) +
         ",\"payees_carried\":" + std::to_string(x.payees_carried) +
         ",\"reserved\":" + fmt(x.reserved, x.currency) +
         ",\"reserve_released\":" + fmt(x.reserve_released, x.currency) +
         ",\"tax\":" + fmt(x.tax, x.currency) + ",\"kept\":" + fmt(x.kept, x.currency) + "}";
  }
  return o + "]}";
}

std::string run_text(const SettlementRun& r) {
  auto fmt = [&](Amount a, std::string_view code) {
    for (auto& c : r.currencies)
      if (c.code() == code) return format_amount(a, c);
    TALLY_ASSERT(false, "run currency " + std::string(code));
  };
  std::string o = "run " + r.run + " (cut-off " + format_rfc3339(r.cutoff) + ")" +
                  (r.replayed ? ", already run: nothing posted" : "") + "\n";
  for (auto& t : r.totals) {
    o += "  " + t.currency + ": released " + fmt(t.released, t.currency) + ", paid " +
         fmt(t.paid, t.currency) + " to " + std::to_string(t.payees_paid) + " payees, carried " +
         fmt(t.carried, t.currency) + " for " + std::to_string(t.payees_carried) + " payees\n";
    if (!t.reserved.is_zero() || !t.reserve_released.is_zero())
      o += "  " + t.currency + ": reserved " + fmt(t.reserved, t.currency) +
           ", released from reserve " + fmt(t.reserve_released, t.currency) + "\n";
    if (!t.tax.is_zero() || !t.kept.is_zero())
      o += "  " + t.currency + ": payout tax " + fmt(t.tax, t.currency) +
           ", kept as minimum balance " + fmt(t.kept, t.currency) + "\n";
  }
  for (auto& p : r.payouts)
    o += "  pay    " + p.payee + " " + fmt(p.amount, p.currency) + " " + p.currency + "  (" +
         p.payout + ")\n";
  for (auto& c : r.carried)
    o += "  carry  " + c.payee + " " + fmt(c.balance, c.currency) + " " + c.currency + "  (" +
         std::string(settlement_carry_name(c.reason)) + ")\n";
  return o;
}

}  // namespace tally
