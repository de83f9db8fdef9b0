#include "settlement/payee_settlement.h"

namespace tally {

bool operator==(const PayeeState& a, const PayeeState& b) {
  auto same_details = [](const std::optional<tables::PayeeDetailsValue>& x,
                         const std::optional<tables::PayeeDetailsValue>& y) {
    if (x.has_value() != y.has_value()) return false;
    if (!x) return true;
    return x->name == y->name && x->account == y->account && x->bic == y->bic && x->at == y->at &&
           x->event_id == y->event_id;
  };
  return a.currencies == b.currencies && a.on_hold == b.on_hold && a.closed == b.closed &&
         same_details(a.details, b.details);
}

void read_payee_standing(TableReader& t, const tables::Handles& h, std::string_view mk,
                         std::string_view payee, PayeeState& into) {
  auto standing = tables::payee_state(t, h, mk, payee);
  into.on_hold = standing && standing->on_hold;
  into.details = tables::latest_payee_details(t, h, mk, payee);
}

PayeeState read_payee_state(Snapshot& snap, const tables::Handles& h, const MarketplaceConfig& mk,
                            std::string_view payee, TimeNs cutoff) {
  PayeeState s;
  for (const auto& c : mk.currencies) s.currencies.push_back(PayeeCurrencyState{c});
  std::sort(s.currencies.begin(), s.currencies.end(),
            [](const auto& x, const auto& y) { return x.currency < y.currency; });
  auto find = [&](std::string_view code) -> PayeeCurrencyState* {
    for (auto& c : s.currencies)
      if (c.currency.code() == code) return &c;
    return nullptr;
  };
  tables::visit_payee_holds(
      snap, h, mk.name, payee,
      [&](std::string_view currency, std::string_view, const tables::HoldValue& v) {
        if (v.release > cutoff) return;
        PayeeCurrencyState* c = find(currency);
        if (c == nullptr) return;  // a currency the marketplace no longer has: not this run's
        c->due += v.remaining;     // bounded by the pending balance, which fits 128 bits
        ++c->holds_due;
      });
  std::string avail = tables::available(mk.name, payee);
  for (const std::string& name : {tables::pending(mk.name, payee), avail}) {
    auto a = snap.account(name);
    if (a && (a->flags & kClosed)) s.closed = true;
  }
  for (auto& c : s.currencies) {
    auto b = snap.balance(avail, c.currency.code());
    c.available = b.ok() ? b->minor() : 0;
  }
  read_payee_standing(snap, h, mk.name, payee, s);
  return s;
}

std::vector<PayeeCurrencyDecision> decide_payee(const PayeeState& state,
                                                const MarketplaceConfig& mk) {
  std::vector<PayeeCurrencyDecision> out;
  for (const auto& c : state.currencies) {
    PayeeCurrencyDecision d{c.currency, c.due, 0, false, std::nullopt};
    if (__builtin_add_overflow(c.available, c.due, &d.after)) {
      // The release would take the available balance past 128 bits: the ledger refuses the
      // release entry (overflow) when the chunk commits, which stops the run at this payee.
      d.after = c.available;
      out.push_back(d);
      continue;
    }
    if (d.after == 0 && d.release == 0) continue;
    if (state.closed) {
      d.release = 0;
      d.after = c.available;
      d.carry = SettlementCarry::account_closed;
      out.push_back(d);
      continue;
    }
    if (state.on_hold)
      d.carry = SettlementCarry::on_hold;
    else if (d.after < 0)
      d.carry = SettlementCarry::negative;
    else if (d.after == 0) {
      // released and netted to zero against a negative balance: nothing to pay, nothing carried
    } else if (d.after < mk.minimum_payout_for(c.currency.code()).minor())
      d.carry = SettlementCarry::below_minimum;
    else if (!state.details)
      d.carry = SettlementCarry::no_details;
    else
      d.pay = true;
    out.push_back(d);
  }
  return out;
}

std::string run_entry_id(std::string_view run_id, std::string_view payee) {
  std::string id(1, kSystemIdPrefix);
  id.append(run_id).append(":settle:").append(payee);
  return id;
}

std::string run_payout_id(std::string_view run_id, std::string_view payee, std::string_view code) {
  std::string id(run_id);
  id.append(":").append(payee).append(":").append(code);
  return id;
}

PayeeWork payee_work(std::string payee, PayeeState state, const MarketplaceConfig& mk,
                     std::string_view run_id, TimeNs cutoff, bool build_entry) {
  PayeeWork w;
  w.payee = std::move(payee);
  w.state = std::move(state);
  w.decision = decide_payee(w.state, mk);
  if (w.decision.empty()) return w;
  const std::string& m = mk.name;
  Entry e{run_entry_id(run_id, w.payee), cutoff, "settlement", {{"run", std::string(run_id)}}, {}};
  const std::string pending = tables::pending(m, w.payee);
  const std::string available = tables::available(m, w.payee);
  for (const auto& d : w.decision) {
    std::string code(d.currency.code());
    if (d.release > 0) {
      Amount a = Amount::from_minor(d.release);
      e.postings.push_back({pending, d.currency, Side::debit, a});
      e.postings.push_back({available, d.currency, Side::credit, a});
      w.rows.released.push_back({w.payee, code, a});
    }
    Amount after = Amount::from_minor(d.after);
    if (d.pay) {
      e.postings.push_back({available, d.currency, Side::debit, after});
      e.postings.push_back({tables::in_transit(m), d.currency, Side::credit, after});
      std::string id = run_payout_id(run_id, w.payee, code);
      w.rows.lines.push_back({id, w.payee, d.currency, after, w.state.details->name,
                              w.state.details->account, w.state.details->bic});
      w.rows.payouts.push_back({std::move(id), w.payee, code, after});
    } else if (d.carry) {
      w.rows.carried.push_back({w.payee, code, after, *d.carry});
    }
  }
  if (build_entry && !e.postings.empty()) {
    Digest digest = sha256("run-entry", canonical_entry_bytes(e));
    w.entry.emplace(std::move(e), digest);
  }
  return w;
}

}  // namespace tally
