#include "settlement/run.h"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <atomic>
#include <map>

#include "ledger/codec.h"

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
  }
  TALLY_ASSERT(false, "carry reason " + std::to_string(static_cast<int>(r)));
}

namespace {

std::string json_str(std::string_view s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      o += '\\', o += c;
    else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else
      o += c;
  }
  return o + "\"";
}

// --- the stored run record ------------------------------------------------------------------

void put_amount(Encoder& e, Amount a) {
  e.i128(a.minor());
}
Amount get_amount(Decoder& d) {
  return Amount::from_minor(d.i128());
}

std::string encode_run(const SettlementRun& r) {
  Encoder e;
  e.bytes("tally.run.v1");
  e.str(r.run), e.str(r.marketplace), e.str(r.pay_date), e.i64(r.cutoff);
  e.u32(static_cast<uint32_t>(r.released.size()));
  for (auto& x : r.released) e.str(x.payee), e.str(x.currency), put_amount(e, x.amount);
  e.u32(static_cast<uint32_t>(r.payouts.size()));
  for (auto& x : r.payouts)
    e.str(x.payout), e.str(x.payee), e.str(x.currency), put_amount(e, x.amount);
  e.u32(static_cast<uint32_t>(r.carried.size()));
  for (auto& x : r.carried)
    e.str(x.payee), e.str(x.currency), put_amount(e, x.balance),
        e.u8(static_cast<uint8_t>(x.reason));
  e.u32(static_cast<uint32_t>(r.totals.size()));
  for (auto& x : r.totals) {
    e.str(x.currency), put_amount(e, x.released), put_amount(e, x.paid), put_amount(e, x.carried);
    e.u64(x.payees_paid), e.u64(x.payees_carried);
  }
  e.u32(static_cast<uint32_t>(r.currencies.size()));
  for (auto& c : r.currencies) e.str(c.code()), e.u8(static_cast<uint8_t>(c.exponent()));
  e.u32(static_cast<uint32_t>(r.lines.size()));
  for (auto& x : r.lines) {
    e.str(x.payout_id), e.str(x.payee), e.str(x.currency.code()),
        e.u8(static_cast<uint8_t>(x.currency.exponent()));
    put_amount(e, x.amount), e.str(x.creditor_name), e.str(x.creditor_account),
        e.str(x.creditor_bic);
  }
  e.i64(r.committed_ns);
  return e.take();
}

bool decode_run(std::string_view s, SettlementRun& r) {
  Decoder d(s);
  if (d.bytes(12) != "tally.run.v1") return false;
  r.run = d.str(), r.marketplace = d.str(), r.pay_date = d.str(), r.cutoff = d.i64();
  for (uint32_t i = 0, n = d.u32(); d.ok() && i < n; ++i) {
    RunRelease x{std::string(d.str()), std::string(d.str()), {}};
    x.amount = get_amount(d);
    r.released.push_back(std::move(x));
  }
  for (uint32_t i = 0, n = d.u32(); d.ok() && i < n; ++i) {
    RunPayout x{std::string(d.str()), std::string(d.str()), std::string(d.str()), {}};
    x.amount = get_amount(d);
    r.payouts.push_back(std::move(x));
  }
  for (uint32_t i = 0, n = d.u32(); d.ok() && i < n; ++i) {
    RunCarried x{std::string(d.str()), std::string(d.str()), {}, {}};
    x.balance = get_amount(d);
    uint8_t reason = d.u8();
    if (reason > 3) return false;
    x.reason = static_cast<SettlementCarry>(reason);
    r.carried.push_back(std::move(x));
  }
  for (uint32_t i = 0, n = d.u32(); d.ok() && i < n; ++i) {
    RunTotal x;
    x.currency = d.str();
    x.released = get_amount(d), x.paid = get_amount(d), x.carried = get_amount(d);
    x.payees_paid = d.u64(), x.payees_carried = d.u64();
    r.totals.push_back(std::move(x));
  }
  for (uint32_t i = 0, n = d.u32(); d.ok() && i < n; ++i) {
    std::string code(d.str());
    auto c = Currency::make(code, d.u8());
    if (!c) return false;
    r.currencies.push_back(*c);
  }
  for (uint32_t i = 0, n = d.u32(); d.ok() && i < n; ++i) {
    PayoutLine x;
    x.payout_id = d.str(), x.payee = d.str();
    std::string code(d.str());
    int exp = d.u8();
    auto c = Currency::make(code, exp);
    if (!c) return false;
    x.currency = *c;
    x.amount = get_amount(d);
    x.creditor_name = d.str(), x.creditor_account = d.str(), x.creditor_bic = d.str();
    r.lines.push_back(std::move(x));
  }
  r.committed_ns = d.i64();
  return d.done();
}

// --- planning -------------------------------------------------------------------------------

struct CurrencyPlan {
  Currency currency;
  i128 available_before = 0;
  i128 release = 0;
  // Due holds the release consumes. Only their number is kept: the commit finds them again in
  // its own transaction (nothing moved, the marketplace version says so) and checks the number
  // and the sum. Keeping 10^7 holds with their keys in memory cost more than reading them twice.
  uint64_t holds_due = 0;
  bool pay = false;
  std::optional<SettlementCarry> carry;
  i128 available_after() const { return available_before + release; }
};
struct PayeePlan {
  std::string payee;
  std::vector<CurrencyPlan> currencies;  // currency order
  std::optional<tables::PayeeDetailsValue> details;
};

struct Plan {
  std::string marketplace, pay_date, run_id;
  TimeNs cutoff = 0;
  uint64_t version = 0;
  uint64_t seq = 0;
  std::vector<Currency> currencies;
  std::vector<PayeePlan> payees;  // payee order
};

// Payee ids of a marketplace: every "M:payees:P:..." account, in name order.
std::vector<std::string> payees_of(Snapshot& snap, const std::string& mk) {
  std::string prefix = mk + ":payees:";
  std::vector<std::string> out;
  // Names only: no account record is decoded (a run walks two accounts per payee).
  snap.account_names(prefix, [&](std::string_view name) {
    std::string_view rest = name.substr(prefix.size());
    auto colon = rest.find(':');
    if (colon == std::string_view::npos) return true;
    std::string_view p = rest.substr(0, colon);
    if (out.empty() || out.back() != p) out.emplace_back(p);
    return true;
  });
  // A payee's accounts are adjacent, so each id came once; but "p10:..." sorts before "p1:...",
  // so the ids need sorting unless (as with fixed-width ids) they came in order already.
  if (!std::is_sorted(out.begin(), out.end())) std::sort(out.begin(), out.end());
  TALLY_ASSERT(std::adjacent_find(out.begin(), out.end()) == out.end(), "payee listed twice");
  return out;
}

PayeePlan plan_payee(Snapshot& snap, const tables::Handles& h, const MarketplaceConfig& mk,
                     const std::string& payee, TimeNs cutoff) {
  PayeePlan p;
  p.payee = payee;
  std::map<std::string, CurrencyPlan, std::less<>> by_code;  // transparent: found by view
  for (auto& c : mk.currencies) by_code[std::string(c.code())].currency = c;
  tables::visit_payee_holds(
      snap, h, mk.name, payee,
      [&](std::string_view currency, std::string_view, const tables::HoldValue& v) {
        if (v.release > cutoff) return;
        auto it = by_code.find(currency);
        TALLY_ASSERT(it != by_code.end(),
                     "hold in a marketplace currency: " + std::string(currency));
        it->second.release += v.remaining;  // bounded by the pending balance
        ++it->second.holds_due;
      });
  std::string avail = tables::available(mk.name, payee);
  for (auto& [code, cp] : by_code) {
    auto b = snap.balance(avail, code);
    cp.available_before = b.ok() ? b->minor() : 0;
  }
  auto state = tables::payee_state(snap, h, mk.name, payee);
  bool on_hold = state && state->on_hold;
  p.details = tables::latest_payee_details(snap, h, mk.name, payee);
  for (auto& [code, cp] : by_code) {
    i128 after = cp.available_after();
    if (after == 0 && cp.release == 0) continue;
    if (on_hold)
      cp.carry = SettlementCarry::on_hold;
    else if (after < 0)
      cp.carry = SettlementCarry::negative;
    else if (after == 0) {
      // released and netted to zero against a negative balance: nothing to pay, nothing carried
    } else if (after < mk.minimum_payout_for(code).minor())
      cp.carry = SettlementCarry::below_minimum;
    else if (!p.details)
      cp.carry = SettlementCarry::no_details;
    else
      cp.pay = true;
    p.currencies.push_back(std::move(cp));
  }
  return p;
}

std::string payout_id(const Plan& plan, const std::string& payee, std::string_view code) {
  return plan.run_id + ":" + payee + ":" + std::string(code);
}

// Runs f on `threads` worker threads (0: oneTBB's default).
template <class F>
void in_arena(int threads, F&& f) {
  if (threads > 0)
    tbb::task_arena(threads).execute(f);
  else
    f();
}

// The run's result from its plan: released, payouts, lines and carried in payee order, totals
// per currency. The rows are filled in parallel, each payee's into slots fixed beforehand by
// counting (so the result does not depend on the thread count): at 10^6 payees building them
// one by one took two seconds of the run's serial part.
SettlementRun result_of(const Plan& plan, int threads) {
  SettlementRun r;
  r.run = plan.run_id;
  r.marketplace = plan.marketplace;
  r.pay_date = plan.pay_date;
  r.cutoff = plan.cutoff;
  r.currencies = plan.currencies;
  struct Slots {
    size_t released = 0, paid = 0, carried = 0;
  };
  const size_t n = plan.payees.size();
  std::vector<Slots> first(n + 1);  // first[i]: payee i's first row in each vector
  std::map<std::string, RunTotal, std::less<>> totals;
  for (size_t i = 0; i < n; ++i) {
    Slots next = first[i];
    for (auto& cp : plan.payees[i].currencies) {
      auto it = totals.find(cp.currency.code());
      if (it == totals.end()) {
        it = totals.emplace(std::string(cp.currency.code()), RunTotal{}).first;
        it->second.currency = it->first;
      }
      RunTotal& t = it->second;
      if (cp.release > 0) {
        ++next.released;
        t.released = Amount::from_minor(t.released.minor() + cp.release);
      }
      if (cp.pay) {
        ++next.paid;
        t.paid = Amount::from_minor(t.paid.minor() + cp.available_after());
        ++t.payees_paid;
      } else if (cp.carry) {
        ++next.carried;
        t.carried = Amount::from_minor(t.carried.minor() + cp.available_after());
        ++t.payees_carried;
      }
    }
    first[i + 1] = next;
  }
  r.released.resize(first[n].released);
  r.payouts.resize(first[n].paid);
  r.lines.resize(first[n].paid);
  r.carried.resize(first[n].carried);
  in_arena(threads, [&] {
    tbb::parallel_for(tbb::blocked_range<size_t>(0, n, 256), [&](const auto& range) {
      for (size_t i = range.begin(); i != range.end(); ++i) {
        const PayeePlan& p = plan.payees[i];
        Slots at = first[i];
        for (auto& cp : p.currencies) {
          std::string code(cp.currency.code());
          if (cp.release > 0)
            r.released[at.released++] = {p.payee, code, Amount::from_minor(cp.release)};
          Amount after = Amount::from_minor(cp.available_after());
          if (cp.pay) {
            std::string id = payout_id(plan, p.payee, code);
            r.lines[at.paid] = {id,
                                p.payee,
                                cp.currency,
                                after,
                                p.details->name,
                                p.details->account,
                                p.details->bic};
            r.payouts[at.paid++] = {std::move(id), p.payee, std::move(code), after};
          } else if (cp.carry) {
            r.carried[at.carried++] = {p.payee, std::move(code), after, *cp.carry};
          }
        }
        TALLY_ASSERT(at.released == first[i + 1].released && at.paid == first[i + 1].paid &&
                         at.carried == first[i + 1].carried,
                     "result rows of payee " + p.payee);
      }
    });
  });
  for (auto& [code, t] : totals) r.totals.push_back(t);
  return r;
}

// --- committing -----------------------------------------------------------------------------

struct RunOutcome {
  bool stale = false;
  bool replayed = false;
  std::string stored;  // the run record as committed or found
  SettlementRun run;   // what `stored` encodes, when this op committed it (not replayed)
};

class RunOp final : public WriteOp {
 public:
  RunOp(const Rules& rules, const Plan& plan, int threads, std::shared_ptr<RunOutcome> out)
      : rules_(rules), h_(rules.tables()), plan_(plan), threads_(threads), out_(std::move(out)) {}

  ItemResult apply(WriteTxn& t) override {
    ItemResult ok;
    ok.id = plan_.run_id;
    std::string key = tables::run_key(plan_.marketplace, plan_.pay_date);
    if (auto existing = t.get(h_.runs, key)) {
      out_->replayed = true;
      out_->stored = *existing;
      ok.status = ItemStatus::duplicate;
      return ok;
    }
    // Nothing the plan read may have moved: the marketplace layer's version covers holds, payee
    // states and details; balances are checked one by one (a plain entry can touch them too).
    auto v = t.get(h_.market_version, plan_.marketplace);
    uint64_t version = 0;
    if (v) std::memcpy(&version, v->data(), 8);
    if (version != plan_.version) return stale();
    for (auto& p : plan_.payees)
      for (auto& cp : p.currencies)
        if (t.balance(tables::available(plan_.marketplace, p.payee), cp.currency).minor() !=
            cp.available_before)
          return stale();

    const std::string& mk = plan_.marketplace;
    const MarketplaceConfig* cfg = rules_.config().marketplace(mk);
    TALLY_ASSERT(cfg != nullptr, mk);
    t.begin_savepoint();
    auto r =
        t.open_account(Account{tables::in_transit(mk), AccountKind::liability, 0, cfg->currencies});
    TALLY_ASSERT(r.ok(), r.ok() ? "" : r.error().message);
    std::vector<std::pair<std::string, std::string>> meta = {{"run", plan_.run_id}};
    for (auto& p : plan_.payees) {
      Entry release{std::string(1, kSystemIdPrefix) + plan_.run_id + ":release:" + p.payee,
                    plan_.cutoff,
                    "release",
                    meta,
                    {}};
      Entry payout{std::string(1, kSystemIdPrefix) + plan_.run_id + ":payout:" + p.payee,
                   plan_.cutoff,
                   "payout",
                   meta,
                   {}};
      for (auto& cp : p.currencies) {
        if (cp.release > 0) {
          release.postings.push_back({tables::pending(mk, p.payee), cp.currency, Side::debit,
                                      Amount::from_minor(cp.release)});
          release.postings.push_back({tables::available(mk, p.payee), cp.currency, Side::credit,
                                      Amount::from_minor(cp.release)});
        }
        if (cp.pay) {
          Amount a = Amount::from_minor(cp.available_after());
          payout.postings.push_back({tables::available(mk, p.payee), cp.currency, Side::debit, a});
          payout.postings.push_back({tables::in_transit(mk), cp.currency, Side::credit, a});
        }
      }
      for (Entry* e : {&release, &payout}) {
        if (e->postings.empty()) continue;
        Digest d = sha256("run-entry", canonical_entry_bytes(*e));
        auto prepared = t.prepare_entry(std::move(*e), d);
        if (!prepared) {
          // Only a broken invariant gets here (pending below its holds): undo the whole run.
          t.end_savepoint(false);
          return ItemResult::error(reject(prepared.error().code,
                                          "run " + plan_.run_id + ": " + prepared.error().message),
                                   plan_.run_id);
        }
        t.apply_entry(*prepared);
      }
      for (auto& cp : p.currencies) {
        if (cp.holds_due > 0) consume_due_holds(t, p.payee, cp);
        if (cp.pay) {
          tables::PayoutValue pv{mk,
                                 p.payee,
                                 std::string(cp.currency.code()),
                                 plan_.run_id,
                                 cp.available_after(),
                                 tables::PayoutState::instructed,
                                 ""};
          t.put(h_.payouts, payout_id(plan_, p.payee, cp.currency.code()),
                tables::encode_payout(pv));
        }
      }
    }
    SettlementRun result = result_of(plan_, threads_);
    result.committed_ns = t.commit_ns();
    out_->stored = encode_run(result);
    out_->run = std::move(result);
    t.put(h_.runs, key, out_->stored);
    tables::bump_market_version(t, h_, mk);
    t.end_savepoint(true);
    return ok;
  }

 private:
  // Deletes the payee's holds in `cp`'s currency due by the cut-off: the ones the plan summed, as
  // the unchanged marketplace version guarantees; checked (a mismatch crashes before the commit,
  // so nothing of the run lands). One cursor walks the payee's range and deletes as it goes.
  void consume_due_holds(WriteTxn& t, const std::string& payee, const CurrencyPlan& cp) {
    const std::string code(cp.currency.code());
    i128 sum = 0;
    std::string prefix = tables::hold_key(plan_.marketplace, payee, code, "");
    uint64_t erased = t.sweep(h_.holds, prefix, [&](std::string_view k, std::string_view v) {
      if (k.substr(0, prefix.size()) != prefix) return WriteTxn::Sweep::stop;
      tables::HoldValue hv;
      TALLY_ASSERT(tables::decode_hold(v, hv), "hold record " + payee);
      if (hv.release > plan_.cutoff) return WriteTxn::Sweep::keep;
      sum += hv.remaining;
      return WriteTxn::Sweep::erase;
    });
    TALLY_ASSERT(erased == cp.holds_due && sum == cp.release,
                 "run " + plan_.run_id + ": " + payee + " " + code + " had " +
                     std::to_string(erased) + " due holds, planned " +
                     std::to_string(cp.holds_due));
  }

  ItemResult stale() {
    out_->stale = true;
    return ItemResult::error(reject(Code::internal, "run: the books moved while it was planned"),
                             plan_.run_id);
  }
  const Rules& rules_;
  const tables::Handles& h_;
  const Plan& plan_;
  const int threads_;  // for result_of
  std::shared_ptr<RunOutcome> out_;
};

}  // namespace

std::string run_json(const SettlementRun& r) {
  auto fmt = [&](Amount a, std::string_view code) {
    for (auto& c : r.currencies)
      if (c.code() == code) return json_str(format_amount(a, c));
    TALLY_ASSERT(false, "run currency " + std::string(code));
  };
  std::string o = "{\"run\":" + json_str(r.run) + ",\"marketplace\":" + json_str(r.marketplace) +
                  ",\"pay_date\":" + json_str(r.pay_date) +
                  ",\"cutoff\":" + json_str(format_rfc3339(r.cutoff)) + ",\"released\":[";
  for (size_t i = 0; i < r.released.size(); ++i) {
    auto& x = r.released[i];
    o += (i ? "," : "") + std::string("{\"payee\":") + json_str(x.payee) +
         ",\"currency\":" + json_str(x.currency) + ",\"amount\":" + fmt(x.amount, x.currency) + "}";
  }
  o += "],\"payouts\":[";
  for (size_t i = 0; i < r.payouts.size(); ++i) {
    auto& x = r.payouts[i];
    o += (i ? "," : "") + std::string("{\"payout\":") + json_str(x.payout) +
         ",\"payee\":" + json_str(x.payee) + ",\"currency\":" + json_str(x.currency) +
         ",\"amount\":" + fmt(x.amount, x.currency) + "}";
  }
  o += "],\"carried\":[";
  for (size_t i = 0; i < r.carried.size(); ++i) {
    auto& x = r.carried[i];
    o += (i ? "," : "") + std::string("{\"payee\":") + json_str(x.payee) +
         ",\"currency\":" + json_str(x.currency) + ",\"balance\":" + fmt(x.balance, x.currency) +
         ",\"reason\":" + json_str(settlement_carry_name(x.reason)) + "}";
  }
  o += "],\"totals\":[";
  for (size_t i = 0; i < r.totals.size(); ++i) {
    auto& x = r.totals[i];
    o += (i ? "," : "") + std::string("{\"currency\":") + json_str(x.currency) +
         ",\"released\":" + fmt(x.released, x.currency) + ",\"paid\":" + fmt(x.paid, x.currency) +
         ",\"carried\":" + fmt(x.carried, x.currency) +
         ",\"payees_paid\":" + std::to_string(x.payees_paid) +
         ",\"payees_carried\":" + std::to_string(x.payees_carried) + "}";
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
  }
  for (auto& p : r.payouts)
    o += "  pay    " + p.payee + " " + fmt(p.amount, p.currency) + " " + p.currency + "  (" +
         p.payout + ")\n";
  for (auto& c : r.carried)
    o += "  carry  " + c.payee + " " + fmt(c.balance, c.currency) + " " + c.currency + "  (" +
         std::string(settlement_carry_name(c.reason)) + ")\n";
  return o;
}

Result<SettlementRun> Settlement::settle(std::string_view marketplace, std::string_view pay_date,
                                         const SettleOptions& opt) {
  const MarketplaceConfig* mk = rules_.config().marketplace(marketplace);
  if (!mk)
    return reject(
        Code::unknown_marketplace,
        "marketplace: \"" + std::string(marketplace.substr(0, 64)) + "\" is not configured");
  auto date = parse_date(pay_date, "date");
  if (!date) return date.error();
  auto pd = pay_date_for(*mk, *date);
  if (!pd || pd->date != *date) {
    auto next = tally::next_pay_dates(*mk, *date, 1);
    return reject(Code::not_a_pay_date,
                  "date: " + std::string(pay_date) + " is not a pay date of " + mk->name +
                      (next.empty() ? "" : "; the next is " + format_date(next[0].date)));
  }
  auto cutoff = tally::cutoff(*mk, *date);
  if (!cutoff) return cutoff.error();
  Ledger& ledger = rules_.ledger();
  if (*cutoff > ledger.options().clock())
    return reject(Code::bad_date, "date: the cut-off " + format_rfc3339(*cutoff) +
                                      " has not passed yet; a run cannot know its holds before it");
  const tables::Handles& h = rules_.tables();
  for (int attempt = 0;; ++attempt) {
    TALLY_ASSERT(attempt < 100, "a settlement run kept going stale");
    auto snap = ledger.snapshot();
    Plan plan;
    plan.marketplace = mk->name;
    plan.pay_date = format_date(*date);
    plan.run_id = mk->name + ":" + plan.pay_date;
    plan.cutoff = *cutoff;
    plan.currencies = mk->currencies;
    if (auto stored = snap->get(h.runs, tables::run_key(plan.marketplace, plan.pay_date))) {
      SettlementRun r;
      TALLY_ASSERT(decode_run(*stored, r), "run record " + plan.run_id);
      r.replayed = true;
      return r;
    }
    plan.version = tables::market_version(*snap, h, mk->name);
    plan.seq = snap->last_seq();
    std::vector<std::string> payees = payees_of(*snap, mk->name);
    plan.payees.resize(payees.size());
    // Every worker reads through its own snapshot (an LMDB read transaction belongs to one
    // thread); they must all show the commit the plan is based on, checked below.
    tbb::enumerable_thread_specific<std::unique_ptr<Snapshot>> snaps(
        [&] { return ledger.snapshot(); });
    std::atomic<uint64_t> done{0};
    auto work = [&] {
      tbb::parallel_for(tbb::blocked_range<size_t>(0, payees.size(), 64), [&](const auto& range) {
        auto& s = snaps.local();
        for (size_t i = range.begin(); i != range.end(); ++i)
          plan.payees[i] = plan_payee(*s, h, *mk, payees[i], plan.cutoff);
        uint64_t n = done.fetch_add(range.size()) + range.size();
        if (opt.progress) opt.progress(n, payees.size());
      });
    };
    in_arena(opt.threads, work);
    bool consistent = true;
    for (auto& s : snaps)
      consistent = consistent && s->last_seq() == plan.seq &&
                   tables::market_version(*s, h, mk->name) == plan.version;
    // The plan holds everything the commit needs. Release the read transactions before it: the
    // writer can grow a full map only when no read transaction is open in the process, and a
    // large run is the write most likely to fill it.
    snaps.clear();
    snap.reset();
    if (!consistent) continue;
    std::erase_if(plan.payees, [](const PayeePlan& p) { return p.currencies.empty(); });
    if (opt.dry_run) return result_of(plan, opt.threads);
    auto outcome = std::make_shared<RunOutcome>();
    Batch b;
    b.push_back(std::make_unique<RunOp>(rules_, plan, opt.threads, outcome));
    auto res = ledger.submit_and_wait(std::move(b));
    if (outcome->stale) continue;
    if (!res[0].ok()) return Rejection{res[0].code, res[0].message};
    if (!outcome->replayed) return std::move(outcome->run);
    // Another caller committed this run first: return what it stored.
    SettlementRun stored;
    TALLY_ASSERT(decode_run(outcome->stored, stored), "run record " + plan.run_id);
    stored.replayed = true;
    return stored;
  }
}

Result<std::vector<SettlementRunSummary>> Settlement::runs(std::string_view marketplace) {
  const MarketplaceConfig* mk = rules_.config().marketplace(marketplace);
  if (!mk)
    return reject(
        Code::unknown_marketplace,
        "marketplace: \"" + std::string(marketplace.substr(0, 64)) + "\" is not configured");
  auto snap = rules_.ledger().snapshot();
  std::string prefix = mk->name + std::string(1, '\0');
  std::vector<SettlementRunSummary> out;
  snap->scan(rules_.tables().runs, prefix, [&](std::string_view k, std::string_view v) {
    if (k.substr(0, prefix.size()) != prefix) return false;
    SettlementRun r;
    TALLY_ASSERT(decode_run(v, r), "run record");
    out.push_back({r.run, r.pay_date, r.cutoff, r.committed_ns, r.payouts.size(), r.totals});
    return true;
  });
  return out;
}

std::vector<std::string> Settlement::next_pay_dates(std::string_view marketplace, size_t n) {
  const MarketplaceConfig* mk = rules_.config().marketplace(marketplace);
  if (!mk) return {};
  TimeNs now = rules_.ledger().options().clock();
  Date from = Date(date::days(now / kNsPerDay));
  auto done = runs(marketplace);
  if (done.ok() && !done->empty()) {
    auto last = parse_date(done->back().pay_date, "date");
    if (last.ok() && *last + date::days(1) > from) from = *last + date::days(1);
  }
  std::vector<std::string> out;
  for (auto& pd : tally::next_pay_dates(*mk, from, n)) out.push_back(format_date(pd.date));
  return out;
}

Result<SettlementRun> Settlement::run(std::string_view run_id) {
  auto colon = run_id.rfind(':');
  if (colon == std::string_view::npos)
    return reject(Code::unknown_run, "run: \"" + std::string(run_id.substr(0, 128)) +
                                         "\" is not a run id (M:YYYY-MM-DD)");
  auto snap = rules_.ledger().snapshot();
  auto v = snap->get(rules_.tables().runs,
                     tables::run_key(run_id.substr(0, colon), run_id.substr(colon + 1)));
  if (!v)
    return reject(Code::unknown_run,
                  "run: \"" + std::string(run_id.substr(0, 128)) + "\" has not been run");
  SettlementRun r;
  TALLY_ASSERT(decode_run(*v, r), "run record");
  r.replayed = true;
  return r;
}

}  // namespace tally
