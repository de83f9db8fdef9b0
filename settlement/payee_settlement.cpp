#include "settlement/payee_settlement.h"

namespace tally {

bool operator==(const PayeeState& a, const PayeeState& b) {
  return a.currencies == b.currencies && a.on_hold == b.on_hold && a.closed == b.closed &&
         a.details == b.details && a.terms == b.terms;
}

MarketTables read_market_tables(TableReader& t, const tables::Handles& h, std::string_view mk) {
  std::string prefix = std::string(mk) + '\0';
  return MarketTables{tables::any_with_prefix(t, h.payee_terms, prefix),
                      tables::any_with_prefix(t, h.reserves, prefix)};
}

void read_payee_standing(TableReader& t, const tables::Handles& h, std::string_view mk,
                         const MarketTables& market, std::string_view payee, PayeeState& into) {
  auto standing = tables::payee_state(t, h, mk, payee);
  into.on_hold = standing && standing->on_hold;
  into.details = tables::latest_payee_details(t, h, mk, payee);
  into.terms.reset();
  if (market.terms) into.terms = tables::latest_payee_terms(t, h, mk, payee);
}

std::optional<Reserve> reserve_of(const PayeeState& state, const MarketplaceConfig& mk) {
  std::optional<Reserve> r = mk.reserve;
  if (state.terms && state.terms->reserve)
    r = Reserve{Rate::from_numerator(state.terms->reserve->rate_numerator),
                state.terms->reserve->days};
  if (r && r->rate.is_zero()) r.reset();
  return r;
}

i128 minimum_balance_of(const PayeeState& state, const MarketplaceConfig& mk,
                        std::string_view code) {
  if (state.terms)
    for (const auto& [c, minor] : state.terms->minimum_balance)
      if (c == code) return minor;
  return mk.minimum_balance_for(code).minor();
}

PayeeState read_payee_state(Snapshot& snap, const tables::Handles& h, const MarketplaceConfig& mk,
                            const MarketTables& market, std::string_view payee, TimeNs cutoff) {
  PayeeState s;
  for (const auto& c : mk.currencies) s.currencies.push_back(PayeeCurrencyState{c});
  std::sort(s.currencies.begin(), s.currencies.end(),
            [](const auto& x, const auto& y) { return x.currency < y.currency; });
  auto find = [&](std::string_view code) -> PayeeCurrencyState* {
    for (auto& c : s.currencies)
      if (c.currency.code() == code) return &c;
    return nullptr;
  };
  read_payee_standing(snap, h, mk.name, market, payee, s);
  const bool origins = reserve_of(s, mk).has_value();
  tables::visit_payee_holds(
      snap, h, mk.name, payee,
      [&](std::string_view currency, std::string_view origin, const tables::HoldValue& v) {
        if (v.release > cutoff) return;
        PayeeCurrencyState* c = find(currency);
        if (c == nullptr) return;  // a currency the marketplace no longer has: not this run's
        c->due += v.remaining;     // bounded by the pending balance, which fits 128 bits
        ++c->holds_due;
        if (origins) c->due_holds.push_back({std::string(origin), v.remaining});
      });
  if (market.reserves)
    tables::visit_payee_reserves(
        snap, h, mk.name, payee,
        [&](std::string_view currency, std::string_view, const tables::HoldValue& v) {
          if (v.release > cutoff) return;
          PayeeCurrencyState* c = find(currency);
          if (c == nullptr) return;
          c->reserve_due += v.remaining;  // bounded by the reserve balance
          ++c->reserves_due;
        });
  std::string avail = tables::available(mk.name, payee);
  for (const std::string& name :
       {tables::pending(mk.name, payee), avail, tables::reserve(mk.name, payee)}) {
    auto a = snap.account(name);
    if (a && (a->flags & kClosed)) s.closed = true;
  }
  for (auto& c : s.currencies) {
    auto b = snap.balance(avail, c.currency.code());
    c.available = b.ok() ? b->minor() : 0;
  }
  return s;
}

namespace {

// Does the marketplace's rail for this currency need details the payee has not given? A
// marketplace with an `ach` originator pays USD by NACHA, one with `co_dispersion` COP by
// dispersion file: a payout their files could not carry would sit in transit.
bool rail_details_missing(const MarketplaceConfig& mk, const tables::PayeeDetailsValue& d,
                          std::string_view code) {
  if (mk.ach && code == "USD" && !d.ach) return true;
  if (mk.co_dispersion && code == "COP" && !d.co) return true;
  return false;
}

}  // namespace

std::vector<PayeeCurrencyDecision> decide_payee(const PayeeState& state,
                                                const MarketplaceConfig& mk, TimeNs cutoff) {
  std::vector<PayeeCurrencyDecision> out;
  const std::optional<Reserve> reserve = reserve_of(state, mk);
  for (const auto& c : state.currencies) {
    PayeeCurrencyDecision d{c.currency};
    d.release = c.due;
    d.reserve_released = c.reserve_due;
    if (state.closed) {
      if (c.available == 0 && c.due == 0 && c.reserve_due == 0) continue;
      d.release = 0, d.reserve_released = 0;  // nothing moves: the holds and reserves stay
      d.after = c.available;
      d.carry = SettlementCarry::account_closed;
      out.push_back(std::move(d));
      continue;
    }
    if (reserve && c.due > 0) {
      auto r = apply_rate(Amount::from_minor(c.due), reserve->rate, mk.rounding);
      // rate <= 100%: at most the release; a product past 128 bits cannot happen below it.
      TALLY_ASSERT(r && r->minor() >= 0 && r->minor() <= c.due, "reserve of a release");
      d.reserved = r->minor();
      d.reserve_until = cutoff + static_cast<TimeNs>(reserve->days) * kNsPerDay;
    }
    // The available balance after each movement, in the entry's order; past 128 bits the ledger
    // refuses the entry when the chunk commits (which stops the run at this payee): nothing is
    // decided beyond the movements.
    i128 after = c.available;
    bool overflow = __builtin_add_overflow(after, d.release, &after) ||
                    __builtin_sub_overflow(after, d.reserved, &after) ||
                    __builtin_add_overflow(after, d.reserve_released, &after);
    if (overflow) {
      d.reserved = 0;
      d.after = c.available;
      out.push_back(std::move(d));
      continue;
    }
    d.after = after;
    if (d.after == 0 && d.release == 0 && d.reserve_released == 0) continue;
    if (d.reserved > 0) {
      std::vector<Amount> weights;
      for (const auto& hold : c.due_holds) weights.push_back(Amount::from_minor(hold.remaining));
      auto parts = allocate(Amount::from_minor(d.reserved), weights);
      TALLY_ASSERT(parts.ok(), "due holds sum to the release > 0");
      for (size_t i = 0; i < parts->size(); ++i)
        if ((*parts)[i].is_positive())
          d.reserve_parts.push_back({c.due_holds[i].origin, (*parts)[i].minor()});
    }
    const std::string_view code = c.currency.code();
    const i128 kept = minimum_balance_of(state, mk, code);
    if (state.on_hold) {
      d.carry = SettlementCarry::on_hold;
    } else if (d.after < 0) {
      d.carry = SettlementCarry::negative;
    } else if (d.after == 0) {
      // released and netted to zero against a negative balance: nothing to pay, nothing carried
    } else if (d.after - kept <= 0 || d.after - kept < mk.minimum_payout_for(code).minor()) {
      // Within the minimum balance, or what exceeds it is below the minimum payout.
      d.carry = SettlementCarry::below_minimum;
    } else if (!state.details || rail_details_missing(mk, *state.details, code)) {
      d.carry = SettlementCarry::no_details;
    } else {
      d.pay = true;
      d.kept = kept;
      d.payout = d.after - kept;
      if (mk.payout_tax && mk.payout_tax->applies_to(code)) {
        auto t =
            apply_rate(Amount::from_minor(d.payout), mk.payout_tax->rate, mk.payout_tax->rounding);
        TALLY_ASSERT(t && t->minor() >= 0 && t->minor() <= d.payout, "tax of a payout");
        d.tax = t->minor();
      }
    }
    out.push_back(std::move(d));
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
  w.decision = decide_payee(w.state, mk, cutoff);
  if (w.decision.empty()) return w;
  const std::string& m = mk.name;
  Entry e{run_entry_id(run_id, w.payee), cutoff, "settlement", {{"run", std::string(run_id)}}, {}};
  const std::string pending = tables::pending(m, w.payee);
  const std::string available = tables::available(m, w.payee);
  const std::string reserve = tables::reserve(m, w.payee);
  auto move = [&](const std::string& from, const std::string& to, const Currency& c, i128 x) {
    Amount a = Amount::from_minor(x);
    e.postings.push_back({from, c, Side::debit, a});
    e.postings.push_back({to, c, Side::credit, a});
  };
  for (const auto& d : w.decision) {
    std::string code(d.currency.code());
    if (d.release > 0) {
      move(pending, available, d.currency, d.release);
      w.rows.released.push_back({w.payee, code, Amount::from_minor(d.release)});
    }
    if (d.reserved > 0) {
      move(available, reserve, d.currency, d.reserved);
      w.rows.reserved.push_back({w.payee, code, Amount::from_minor(d.reserved)});
    }
    if (d.reserve_released > 0) {
      move(reserve, available, d.currency, d.reserve_released);
      w.rows.reserve_released.push_back({w.payee, code, Amount::from_minor(d.reserve_released)});
    }
    if (d.pay) {
      Amount paid = Amount::from_minor(d.payout);
      move(available, tables::in_transit(m), d.currency, d.payout);
      if (d.tax > 0) move(mk.payout_tax->account, tables::cash(m), d.currency, d.tax);
      std::string id = run_payout_id(run_id, w.payee, code);
      const tables::PayeeDetailsValue& det = *w.state.details;
      PayoutLine line{id, w.payee, d.currency, paid, det.name, det.account, det.bic};
      line.ach = det.ach;
      line.co = det.co;
      w.rows.lines.push_back(std::move(line));
      w.rows.payouts.push_back({std::move(id), w.payee, code, paid, Amount::from_minor(d.tax),
                                Amount::from_minor(d.kept)});
    } else if (d.carry) {
      w.rows.carried.push_back({w.payee, code, Amount::from_minor(d.after), *d.carry});
    }
  }
  if (build_entry && !e.postings.empty()) {
    Digest digest = sha256("run-entry", canonical_entry_bytes(e));
    w.entry.emplace(std::move(e), digest);
  }
  return w;
}

}  // namespace tally
