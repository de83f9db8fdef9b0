// The reference model (Model): SPEC sections 3 and 4 from the text, posting the fixture events and
// settling each pay date with exact rationals.
// Part of the fixtures test's independent model (tests/settlement/fixtures_test.cpp): it shares
// no code with settlement/.
#pragma once

#include <date/date.h>

#include <boost/multiprecision/cpp_int.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <variant>

#include "common/test_util.h"
#include "settlement/reference_market.h"
#include "settlement/run.h"

namespace tally::fixture_model {

using namespace tally::testing;
using Int = boost::multiprecision::cpp_int;
using Q = boost::multiprecision::cpp_rational;

class Model {
 public:
  explicit Model(RefMarket m) : m_(std::move(m)) {}

  void apply(const FixtureEvent& fe) {
    const Event& e = fe.event;
    if (e.header.marketplace != m_.name) fail(e, "other marketplace");
    if (fe.terms) return on_terms(*fe.terms);
    std::visit([&](const auto& b) { on(e, b); }, e.body);
  }

  RefRun settle(sys_days pay_date, sys_seconds cutoff_s) {
    const TimeNs cutoff = cutoff_s.time_since_epoch().count() * kNsPerSecond;
    RefRun r;
    r.pay_date = ymd(pay_date);
    r.run = m_.name + ":" + r.pay_date;
    r.cutoff = rfc3339(cutoff_s);
    open(m_.name + ":payouts:in_transit");
    std::set<std::string> payees;
    const std::string prefix = m_.name + ":payees:";
    for (auto& a : accounts_)
      if (a.rfind(prefix, 0) == 0)
        payees.insert(a.substr(prefix.size(), a.rfind(':') - prefix.size()));
    for (auto& p : payees) {
      for (auto& [cur, exp] : m_.currencies) {
        // The holds due (by origin) and the reserves due, taken out of their tables.
        Int release = 0, matured = 0;
        std::vector<std::pair<std::string, Int>> due;  // origin order
        for (auto it = holds_.begin(); it != holds_.end();) {
          auto& [key, h] = *it;
          if (std::get<0>(key) == p && std::get<1>(key) == cur && h.release &&
              *h.release <= cutoff) {
            release += h.remaining;
            due.emplace_back(std::get<2>(key), h.remaining);
            it = holds_.erase(it);
          } else {
            ++it;
          }
        }
        for (auto it = reserves_.begin(); it != reserves_.end();) {
          auto& [key, h] = *it;
          if (std::get<0>(key) == p && std::get<1>(key) == cur && *h.release <= cutoff) {
            matured += h.remaining;
            it = reserves_.erase(it);
          } else {
            ++it;
          }
        }
        // The reserve: the payee's terms', else the marketplace's; a rate of zero is none.
        std::optional<RefMarket::ReserveR> reserve = m_.reserve;
        if (terms_.count(p) && terms_[p].reserve) reserve = terms_[p].reserve;
        if (reserve && reserve->rate == 0) reserve.reset();
        Int kept_back = reserve && release > 0 ? rounded(release, reserve->rate) : Int(0);
        const std::string pend = pending(p), avail = available(p), res = reserve_account(p);
        Int after = bal_[{avail, cur}] + release - kept_back + matured;
        if (after == 0 && release == 0 && matured == 0) continue;
        if (release > 0) {
          r.released.push_back({p, cur, text_of(release, exp)});
          post(pend, cur, false, release);
          post(avail, cur, true, release);
        }
        if (kept_back > 0) {
          r.reserved.push_back({p, cur, text_of(kept_back, exp)});
          post(avail, cur, false, kept_back);
          post(res, cur, true, kept_back);
          std::vector<Int> w;
          for (auto& [origin, x] : due) w.push_back(x);
          auto parts = ref_allocate(kept_back, w);
          TimeNs until = cutoff + TimeNs(reserve->days) * kNsPerDay;
          for (size_t i = 0; i < due.size(); ++i)
            if (parts[i] > 0) reserves_[{p, cur, due[i].first}] = {parts[i], until};
        }
        if (matured > 0) {
          r.reserve_released.push_back({p, cur, text_of(matured, exp)});
          post(res, cur, false, matured);
          post(avail, cur, true, matured);
        }
        Int kept = 0;
        if (terms_.count(p) && terms_[p].minimum_balance.count(cur))
          kept = terms_[p].minimum_balance[cur];
        const Detail* det = details_.count(p) ? &details_[p] : nullptr;
        std::string reason;
        if (on_hold_[p])
          reason = "on_hold";
        else if (after < 0)
          reason = "negative";
        else if (after == 0)
          continue;
        else if (after - kept <= 0 || after - kept < minor_of(m_.minimum_payout.at(cur), exp))
          reason = "below_minimum";
        else if (!det || (m_.ach && cur == "USD" && !det->ach) ||
                 (m_.co_dispersion && cur == "COP" && !det->co))
          reason = "no_details";  // tally's addition to the SPEC's reasons (docs/settlement.md)
        if (!reason.empty()) {
          r.carried.push_back({p, cur, text_of(after, exp), reason});
          continue;
        }
        const Int pay = after - kept;
        Int tax = 0;
        if (m_.payout_tax && m_.payout_tax->currency == cur)
          tax = round_q(Q(pay) * m_.payout_tax->rate, m_.payout_tax->rounding);
        std::string id = r.run + ":" + p + ":" + cur;
        r.payouts.push_back({id, p, cur, text_of(pay, exp), text_of(tax, exp), text_of(kept, exp)});
        post(avail, cur, false, pay);
        post(m_.name + ":payouts:in_transit", cur, true, pay);
        if (tax > 0) {
          post(m_.payout_tax->account, cur, false, tax);
          post(m_.name + ":cash", cur, true, tax);
        }
        payouts_[id] = {p, cur, pay, 'i'};
      }
    }
    return r;
  }

  std::vector<std::array<std::string, 3>> balances() const {
    std::vector<std::array<std::string, 3>> out;
    for (auto& a : accounts_)
      for (auto& [cur, exp] : m_.currencies) {
        auto it = bal_.find({a, cur});
        out.push_back({a, cur, text_of(it == bal_.end() ? Int(0) : it->second, exp)});
      }
    return out;
  }

  // Invariants the model itself must keep: pending never below zero and equal to its holds.
  void check() const {
    for (auto& a : accounts_) {
      if (a.size() < 8 || a.substr(a.size() - 8) != ":pending") continue;
      std::string p = a.substr(m_.name.size() + 8, a.size() - m_.name.size() - 16);
      for (auto& [cur, exp] : m_.currencies) {
        Int held = 0;
        for (auto& [key, h] : holds_)
          if (std::get<0>(key) == p && std::get<1>(key) == cur) held += h.remaining;
        auto it = bal_.find({a, cur});
        Int b = it == bal_.end() ? Int(0) : it->second;
        if (b != held || b < 0)
          throw std::runtime_error("model: " + a + " " + cur + " pending " + b.str() + " holds " +
                                   held.str());
        Int kept = 0;
        for (auto& [key, h] : reserves_)
          if (std::get<0>(key) == p && std::get<1>(key) == cur) kept += h.remaining;
        auto rb = bal_.find({reserve_account(p), cur});
        if ((rb == bal_.end() ? Int(0) : rb->second) != kept)
          throw std::runtime_error("model: " + p + " " + cur + " reserve != its reserves");
      }
    }
  }

 private:
  struct Sale {
    std::string seller, affiliate, cur;
    Int a, C, A, F, refunded;
  };
  struct HoldR {
    Int remaining;
    std::optional<TimeNs> release;
  };
  struct PayoutR {
    std::string payee, cur;
    Int amount;
    char state;  // i(nstructed) p(aid) f(ailed) r(eturned)
  };
  struct Detail {
    bool ach = false, co = false;
  };
  struct Terms {
    std::optional<RefMarket::ReserveR> reserve;
    std::map<std::string, Int> minimum_balance;
  };

  [[noreturn]] static void fail(const Event& e, const std::string& what) {
    throw std::runtime_error("model: event " + e.header.id + ": " + what);
  }
  bool debit_normal(const std::string& a) const {
    return a == m_.name + ":cash" || a.rfind(m_.name + ":expense:", 0) == 0;
  }
  void open(const std::string& a) { accounts_.insert(a); }
  void post(const std::string& a, const std::string& cur, bool credit, const Int& x) {
    if (x < 0) throw std::runtime_error("model: negative posting to " + a);
    open(a);
    bal_[{a, cur}] += (credit != debit_normal(a)) ? x : Int(-x);
  }
  std::string pending(const std::string& p) const { return m_.name + ":payees:" + p + ":pending"; }
  std::string available(const std::string& p) const {
    return m_.name + ":payees:" + p + ":available";
  }
  std::string reserve_account(const std::string& p) const {
    return m_.name + ":payees:" + p + ":reserve";
  }
  void open_payee(const std::string& p) { open(pending(p)), open(available(p)); }
  int exp(const Event& e, const std::string& cur) const {
    auto it = m_.currencies.find(cur);
    if (it == m_.currencies.end()) fail(e, "currency " + cur);
    return it->second;
  }
  TimeNs hold_end(TimeNs start) const { return start + TimeNs(m_.hold_days) * kNsPerDay; }
  Int rounded(const Int& a, const Q& rate) const { return round_q(Q(a) * rate, m_.rounding); }

  void add_hold(const std::string& p, const std::string& cur, const std::string& origin,
                const Int& x, std::optional<TimeNs> release) {
    if (x > 0) holds_[{p, cur, origin}] = {x, release};
  }

  void on(const Event& e, const SaleEvent& s) {
    const int x = exp(e, s.currency);
    Int a = minor_of(s.amount, x);
    Int C = rounded(a, m_.commission.at(s.category));
    Int A = s.affiliate ? rounded(a, *m_.affiliate) : Int(0);
    Int F = rounded(a, m_.fee_rate) + minor_of(m_.fee_fixed.at(s.currency), x);
    Int seller = a - C - (m_.fee_on_payee ? F : Int(0));
    if (A > C || seller < 0 || a <= 0) fail(e, "sale refused");
    const std::string mk = m_.name;
    open(mk + ":cash"), open(mk + ":expense:bank_fees"), open(mk + ":revenue:commission");
    if (m_.fee_on_payee) open(mk + ":revenue:fee_recharge");
    open_payee(s.seller);
    if (s.affiliate) open_payee(*s.affiliate);
    post(mk + ":cash", s.currency, false, a - F);
    post(mk + ":expense:bank_fees", s.currency, false, F);
    post(pending(s.seller), s.currency, true, seller);
    if (m_.fee_on_payee) post(mk + ":revenue:fee_recharge", s.currency, true, F);
    post(mk + ":revenue:commission", s.currency, true, C - A);
    if (s.affiliate) post(pending(*s.affiliate), s.currency, true, A);
    std::optional<TimeNs> release;
    if (!m_.hold_from_delivery) release = hold_end(e.header.at);
    add_hold(s.seller, s.currency, e.header.id, seller, release);
    if (s.affiliate) add_hold(*s.affiliate, s.currency, e.header.id, A, release);
    sales_[e.header.id] = {s.seller, s.affiliate.value_or(""), s.currency, a, C, A, F, 0};
  }

  void on(const Event& e, const DeliveredEvent& d) {
    auto it = sales_.find(d.sale);
    if (it == sales_.end()) fail(e, "unknown sale");
    if (!m_.hold_from_delivery || delivered_.count(d.sale)) return;
    delivered_.insert(d.sale);
    for (auto& p : {it->second.seller, it->second.affiliate}) {
      auto h = holds_.find({p, it->second.cur, d.sale});
      if (h != holds_.end() && !h->second.release) h->second.release = hold_end(e.header.at);
    }
  }

  void refund(const Event& e, const std::string& sale_id, const std::string& amount,
              const std::optional<std::string>& fee) {
    auto it = sales_.find(sale_id);
    if (it == sales_.end()) fail(e, "unknown sale");
    Sale& s = it->second;
    const int x = exp(e, s.cur);
    Int r = minor_of(amount, x);
    if (r <= 0 || s.refunded + r > s.a) fail(e, "refund exceeds the sale");
    std::vector<Int> w = {s.a - s.C, s.C - s.A, s.A};
    auto now = ref_allocate(s.refunded + r, w), before = ref_allocate(s.refunded, w);
    s.refunded += r;
    const std::string mk = m_.name;
    post(mk + ":cash", s.cur, true, r);
    post(mk + ":revenue:commission", s.cur, false, now[1] - before[1]);
    std::vector<std::pair<std::string, Int>> parties = {{s.seller, now[0] - before[0]}};
    if (!s.affiliate.empty()) parties.push_back({s.affiliate, now[2] - before[2]});
    // SPEC section 8: a refund draws first from the sale's reserve; then (section 3) from the
    // sale's hold, the rest from available.
    for (auto& [p, share] : parties) {
      Int from_reserve = 0, from_pending = 0;
      auto k = reserves_.find({p, s.cur, sale_id});
      if (k != reserves_.end()) {
        from_reserve = std::min(share, k->second.remaining);
        k->second.remaining -= from_reserve;
        if (k->second.remaining == 0) reserves_.erase(k);
      }
      auto h = holds_.find({p, s.cur, sale_id});
      if (h != holds_.end()) {
        from_pending = std::min(Int(share - from_reserve), h->second.remaining);
        h->second.remaining -= from_pending;
        if (h->second.remaining == 0) holds_.erase(h);
      }
      if (from_reserve > 0) post(reserve_account(p), s.cur, false, from_reserve);
      post(pending(p), s.cur, false, from_pending);
      post(available(p), s.cur, false, share - from_reserve - from_pending);
    }
    if (fee) {
      Int f = minor_of(*fee, x);
      post(mk + ":expense:bank_fees", s.cur, false, f);
      post(mk + ":cash", s.cur, true, f);
      post(available(s.seller), s.cur, false, f);
      post(mk + ":revenue:fee_recharge", s.cur, true, f);
    }
  }
  void on(const Event& e, const RefundEvent& r) { refund(e, r.sale, r.amount, std::nullopt); }
  void on(const Event& e, const ChargebackEvent& c) { refund(e, c.sale, c.amount, c.fee); }

  void on(const Event& e, const EarningEvent& x) {
    const int ex = exp(e, x.currency);
    auto& rule = m_.earning.at(x.rule);
    Int earned = rounded(minor_of(x.basis, ex), rule.rate);
    Int minimum = minor_of(rule.minimum.at(x.currency), ex);
    Int pay = std::max(earned, minimum);
    if (pay <= 0) fail(e, "nothing earned");
    post(m_.name + ":expense:payee_earnings", x.currency, false, pay);
    open_payee(x.payee);
    post(pending(x.payee), x.currency, true, pay);
    add_hold(x.payee, x.currency, e.header.id, pay, hold_end(e.header.at));
  }

  void on(const Event& e, const PassThroughEvent& p) {
    Int a = minor_of(p.amount, exp(e, p.currency));
    open_payee(p.payer);
    post(available(p.payer), p.currency, false, a);
    post(m_.name + ":payables:" + p.vendor, p.currency, true, a);
  }

  void on(const Event&, const PayeeHoldEvent& h) { on_hold_[h.payee] = h.on; }
  void on(const Event&, const PayeeDetailsEvent& d) {
    details_[d.payee] = Detail{d.ach.has_value(), d.co.has_value()};
  }
  void on(const Event&, const PayeeTermsEvent& t) { on_terms(t); }
  // The latest terms replace the earlier ones whole (the fixtures post them in time order).
  void on_terms(const PayeeTermsEvent& t) {
    Terms x;
    if (t.reserve)
      x.reserve = RefMarket::ReserveR{rate_of(t.reserve->rate), static_cast<int>(t.reserve->days)};
    for (auto& [code, amount] : t.minimum_balance)
      x.minimum_balance[code] = minor_of(amount, m_.currencies.at(code));
    terms_[t.payee] = x;
  }

  // SPEC section 8: paid moves the payout out of in transit to the bank; failed (before it
  // settled) and returned (after it was paid) put it back on the payee's available, which is then
  // on hold; a return after paid takes the money back into cash. The fixtures only post results
  // a payout can take.
  void on(const Event& e, const PayoutResultEvent& r) {
    auto it = payouts_.find(r.payout);
    if (it == payouts_.end()) fail(e, "unknown payout");
    PayoutR& po = it->second;
    const std::string transit = m_.name + ":payouts:in_transit", cash = m_.name + ":cash";
    switch (r.status()) {
      case PayoutResultStatus::paid:
        if (po.state != 'i') fail(e, "paid twice");
        po.state = 'p';
        post(transit, po.cur, false, po.amount);
        post(cash, po.cur, true, po.amount);
        break;
      case PayoutResultStatus::failed:
        if (po.state != 'i') fail(e, "failed after a result");
        po.state = 'f';
        post(transit, po.cur, false, po.amount);
        post(available(po.payee), po.cur, true, po.amount);
        on_hold_[po.payee] = true;
        break;
      case PayoutResultStatus::returned:
        if (po.state != 'p') fail(e, "returned before it was paid");
        po.state = 'r';
        post(cash, po.cur, false, po.amount);
        post(available(po.payee), po.cur, true, po.amount);
        on_hold_[po.payee] = true;
        break;
    }
  }

  RefMarket m_;
  std::set<std::string> accounts_;
  std::map<std::pair<std::string, std::string>, Int> bal_;  // normal side
  std::map<std::string, Sale> sales_;
  std::set<std::string> delivered_;
  std::map<std::tuple<std::string, std::string, std::string>, HoldR> holds_;
  std::map<std::tuple<std::string, std::string, std::string>, HoldR> reserves_;
  std::map<std::string, bool> on_hold_;
  std::map<std::string, Detail> details_;
  std::map<std::string, Terms> terms_;
  std::map<std::string, PayoutR> payouts_;
};

}  // namespace tally::fixture_model
