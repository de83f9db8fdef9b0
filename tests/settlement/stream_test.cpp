// Generated event streams (settlement/generator.h) over the example marketplaces of
// fixtures/marketplaces.toml, with settlement runs at every pay date as business time passes
// their cut-offs and the runs' payouts answered (most paid, some failed and put right). After
// every batch: the trial balance is level per currency, no pending balance is negative, and each
// payee's holds (tables::payee_holds) sum to its pending balance; whenever a sale has been
// refunded in full, every party's part of it has been reversed exactly (the seller keeps only
// the bank fee it bore and any chargeback fee); verify passes at the end.
//
// StreamTest.ShortForm (20,000 events) runs by default. StreamTest.LongFormMillionEvents runs
// only with TALLY_LONG=1 in the environment (GTEST_SKIP otherwise); CI should give it its own
// label and timeout.
#include "settlement/generator.h"

#include <cstdlib>
#include <map>
#include <set>
#include <unordered_map>

#include "common/test_util.h"
#include "settlement/market_verify.h"
#include "settlement/run.h"

namespace tally {
namespace {

using namespace tally::testing;

std::string source_path(const std::string& rel) {
  return std::string(TALLY_SOURCE_DIR) + "/" + rel;
}

Config fixture_config() {
  auto c = load_config_file(source_path("fixtures/marketplaces.toml"), CurrencyTable());
  EXPECT_TRUE(c.ok()) << c.error().message;
  return c.ok() ? std::move(*c) : Config{};
}

// --- the generator on its own -----------------------------------------------------------------

TEST(GeneratorTest, MakeIbanComputesTheCheckDigits) {
  EXPECT_EQ(make_iban("DE", "500400000587431209"), "DE63500400000587431209");
  EXPECT_EQ(make_iban("FR", "30006000011234567890189"), "FR7630006000011234567890189");
  EXPECT_EQ(make_iban("NL", "INGB0004567891"), "NL73INGB0004567891");
  EXPECT_EQ(make_iban("BE", "001701234597"), "BE54001701234597");
  EXPECT_TRUE(iban_checksum_ok(make_iban("ES", "21000813640201234567")));
}

TEST(GeneratorTest, SameSeedSameStreamOtherSeedOtherStream) {
  Config config = fixture_config();
  auto lines = [&](uint64_t seed) {
    GeneratorOptions o;
    o.seed = seed;
    o.payees = 20;
    EventGenerator g(config, o);
    std::string out;
    for (auto& e : g.take(2000)) out += event_json_line(e) + "\n";
    return out;
  };
  std::string a = lines(7);
  EXPECT_EQ(a, lines(7));
  EXPECT_NE(a, lines(8));
}

TEST(GeneratorTest, StreamsHaveEveryShapeInOrderAndValidDetails) {
  Config config = fixture_config();
  GeneratorOptions o;
  o.seed = 11;
  o.payees = 50;
  EventGenerator g(config, o);
  std::map<std::string, size_t> types;
  std::set<std::string> ids, introduced;
  size_t with_affiliate = 0, zero_basis = 0, chargeback_fee = 0;
  TimeNs last = o.start;
  for (auto& e : g.take(20000)) {
    types[std::string(event_type_name(e.body))]++;
    EXPECT_TRUE(ids.insert(e.header.id).second) << e.header.id;
    EXPECT_GE(e.header.at, last);
    last = e.header.at;
    std::string mk = e.header.marketplace + ":";
    auto known = [&](const std::string& p) {
      EXPECT_TRUE(introduced.count(mk + p)) << e.header.id << ": " << p << " has no details yet";
    };
    if (auto* s = std::get_if<SaleEvent>(&e.body)) {
      known(s->seller);
      if (s->affiliate) known(*s->affiliate), ++with_affiliate;
      EXPECT_NE(s->affiliate, std::optional<std::string>(s->seller));
    } else if (auto* d = std::get_if<PayeeDetailsEvent>(&e.body)) {
      EXPECT_TRUE(introduced.insert(mk + d->payee).second) << d->payee << " introduced twice";
      if (looks_like_iban(d->account)) {
        EXPECT_TRUE(iban_checksum_ok(d->account)) << d->account;
      }
      EXPECT_TRUE(d->bic.empty() || valid_bic(d->bic)) << d->bic;
    } else if (auto* x = std::get_if<EarningEvent>(&e.body)) {
      known(x->payee);
      zero_basis += x->basis == "0.00";
    } else if (auto* p = std::get_if<PassThroughEvent>(&e.body)) {
      known(p->payer);
    } else if (auto* c = std::get_if<ChargebackEvent>(&e.body)) {
      chargeback_fee += c->fee.has_value();
    }
    std::string line = event_json_line(e);
    EXPECT_EQ(line.rfind("{\"type\":\"", 0), 0u) << line;
    EXPECT_EQ(line.find('\n'), std::string::npos);
  }
  for (const char* t : {"sale", "delivered", "refund", "chargeback", "earning", "pass_through",
                        "payee_hold", "payee_details"})
    EXPECT_GT(types[t], 0u) << t;
  EXPECT_GT(with_affiliate, 0u);
  EXPECT_GT(zero_basis, 0u);
  EXPECT_GT(chargeback_fee, 0u);
  EXPECT_EQ(g.produced(), 20000u);
  EXPECT_EQ(g.now(), last);
}

// --- streams through tally --------------------------------------------------------------------

struct SaleInfo {
  std::string marketplace, seller, affiliate;
  int64_t refunded = 0;
  int64_t amount = 0;
  std::vector<std::string> refunds;  // refund and chargeback event ids
};

class StreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = fixture_config();
    LedgerOptions o;
    o.extra_tables = tables::all();
    const TimeNs clock = *parse_rfc3339("2030-01-01T00:00:00Z", "clock");
    o.clock = [clock] { return clock; };
    o.durable = false;  // invariants, not durability, are under test here: no fsync per batch
    ledger_ = open_ledger(dir_.sub("d"), o);
    rules_ = std::make_unique<Rules>(config_, *ledger_);
    settlement_ = std::make_unique<Settlement>(*rules_);
  }

  // Minor units of decimal text in a currency of the marketplace.
  int64_t minor(const std::string& mk, std::string_view text, std::string_view code) {
    auto c = config_.marketplace(mk)->currency(code);
    auto a = parse_amount(text, *c, "test");
    EXPECT_TRUE(a.ok()) << text;
    return a.ok() ? static_cast<int64_t>(a->minor()) : 0;
  }

  // Remembers what the invariants need of an event about to be posted.
  void note(const Event& e) {
    const std::string& mk = e.header.marketplace;
    auto touch = [&](const std::string& p) { touched_.insert({mk, p}); };
    if (auto* s = std::get_if<SaleEvent>(&e.body)) {
      SaleInfo& si = sales_[e.header.id];
      si.marketplace = mk, si.seller = s->seller, si.affiliate = s->affiliate.value_or("");
      si.amount = minor(mk, s->amount, s->currency);
      sale_currency_[e.header.id] = s->currency;
      touch(s->seller);
      if (s->affiliate) touch(*s->affiliate);
    } else if (auto* r = std::get_if<RefundEvent>(&e.body)) {
      refunded(e.header.id, r->sale, r->amount);
    } else if (auto* c = std::get_if<ChargebackEvent>(&e.body)) {
      refunded(e.header.id, c->sale, c->amount);
    } else if (auto* x = std::get_if<EarningEvent>(&e.body)) {
      touch(x->payee);
    } else if (auto* p = std::get_if<PassThroughEvent>(&e.body)) {
      touch(p->payer);
    }
  }
  void refunded(const std::string& id, const std::string& sale, const std::string& amount) {
    auto it = sales_.find(sale);
    ASSERT_NE(it, sales_.end()) << sale;
    SaleInfo& si = it->second;
    si.refunded += minor(si.marketplace, amount, sale_currency_[sale]);
    si.refunds.push_back(id);
    touched_.insert({si.marketplace, si.seller});
    if (!si.affiliate.empty()) touched_.insert({si.marketplace, si.affiliate});
    if (si.refunded == si.amount) full_.push_back(sale);
  }

  void post(Batch& b) {
    if (b.empty()) return;
    auto res = ledger_->submit_and_wait(std::move(b));
    b.clear();
    for (auto& r : res) ASSERT_EQ(r.status, ItemStatus::ok) << r.id << ": " << r.message;
    ++batches_;
  }

  // Pending >= 0 and equal to the payee's holds, for `payees` (all when empty); trial balance.
  void check(const std::set<std::pair<std::string, std::string>>& payees, bool all) {
    auto snap = ledger_->snapshot();
    for (auto& row : snap->trial_balance())
      ASSERT_EQ(row.debits, row.credits) << row.currency.code() << " after batch " << batches_;
    std::set<std::pair<std::string, std::string>> list = payees;
    if (all)
      for (auto& [name, _] : config_.marketplaces)
        for (auto& a : snap->accounts(name + ":payees")) {
          std::string rest = a.name.substr(name.size() + 8);
          list.insert({name, rest.substr(0, rest.find(':'))});
        }
    for (auto& [mk, p] : list) {
      std::map<std::string, i128> held;
      for (auto& h : tables::payee_holds(*snap, rules_->tables(), mk, p))
        held[h.currency] += h.value.remaining;
      for (auto& c : config_.marketplace(mk)->currencies) {
        auto b = snap->balance(tables::pending(mk, p), c.code());
        i128 pending = b.ok() ? b->minor() : 0;
        ASSERT_GE(pending, 0) << mk << ":" << p << " " << c.code();
        ASSERT_EQ(i128_to_string(pending), i128_to_string(held[std::string(c.code())]))
            << mk << ":" << p << " " << c.code() << " after batch " << batches_;
        ++checked_;
      }
    }
  }

  // Every sale refunded in full since the last check: each party's part reversed exactly.
  void check_full_refunds() {
    auto snap = ledger_->snapshot();
    for (auto& id : full_) {
      SaleInfo& si = sales_[id];
      const std::string& mk = si.marketplace;
      std::map<std::string, i128> net;  // account -> credits - debits over the sale and refunds
      i128 fee = 0, chargeback_fees = 0;
      bool fee_on_payee = false;
      auto add = [&](const std::string& eid, bool is_sale) {
        auto e = snap->entry(eid);
        ASSERT_TRUE(e.has_value()) << eid;
        for (auto& p : e->entry.postings) {
          i128 v = p.side == Side::credit ? p.amount.minor() : -p.amount.minor();
          net[p.account] += v;
          if (p.account == tables::bank_fees(mk)) (is_sale ? fee : chargeback_fees) -= v;
          if (is_sale && p.account == tables::fee_recharge(mk)) fee_on_payee = true;
        }
      };
      add(id, true);
      for (auto& r : si.refunds) add(r, false);
      // A refund draws on the sale's reserve first (docs/accounting.md, "Reserves").
      auto party = [&](const std::string& p) {
        return net[tables::pending(mk, p)] + net[tables::available(mk, p)] +
               net[tables::reserve(mk, p)];
      };
      // The seller's a - C is returned whole: it keeps the fee it bore and the chargeback fees.
      EXPECT_EQ(i128_to_string(party(si.seller)),
                i128_to_string(-(fee_on_payee ? fee : 0) - chargeback_fees))
          << id;
      EXPECT_EQ(i128_to_string(net[tables::commission(mk)]), "0") << id;
      if (!si.affiliate.empty()) {
        EXPECT_EQ(i128_to_string(party(si.affiliate)), "0") << id;
      }
      EXPECT_EQ(i128_to_string(net[tables::cash(mk)]), i128_to_string(fee + chargeback_fees)) << id;
      ++full_checked_;
      sales_.erase(id);
    }
    full_.clear();
  }

  struct NextRun {
    std::string mk;
    Date date;
    TimeNs cutoff;
  };
  NextRun next_run(const std::string& mk, Date from) {
    const MarketplaceConfig& c = *config_.marketplace(mk);
    auto pd = next_pay_dates(c, from, 1);
    auto cut = cutoff(c, pd.at(0).date);
    EXPECT_TRUE(cut.ok());
    return {mk, pd[0].date, *cut};
  }

  // Posts `n` generated events in batches of `batch`, settling each marketplace at every pay
  // date whose cut-off the stream passes, answering the payouts; checks after every batch
  // (every payee when `check_all`, else those the batch touched) and everything at the end.
  void run_stream(GeneratorOptions o, size_t n, size_t batch, bool check_all) {
    EventGenerator gen(config_, o);
    std::vector<NextRun> runs;
    Date first = date::floor<date::days>(
        date::sys_time<std::chrono::nanoseconds>(std::chrono::nanoseconds(o.start)));
    for (auto& [mk, _] : config_.marketplaces) runs.push_back(next_run(mk, first));
    Batch b;
    std::vector<std::pair<std::string, bool>> results;  // payout id, paid
    std::vector<std::pair<std::string, std::string>> unhold;
    uint64_t extra = 0;
    auto flush = [&] {
      post(b);
      check(touched_, check_all);
      touched_.clear();
      check_full_refunds();
    };
    auto answer = [&](TimeNs at) {
      for (auto& [payout, paid] : results) {
        std::string mk = payout.substr(0, payout.find(':'));
        Event e{{"t-result-" + std::to_string(extra++), at, mk, {}},
                PayoutResultEvent{payout, paid, paid ? "" : "AC04 closed account"}};
        b.push_back(rules_->event_op(std::move(e)));
      }
      results.clear();
      for (auto& [mk, p] : unhold) {
        Event e{{"t-hold-" + std::to_string(extra++), at, mk, {}},
                PayeeHoldEvent{p, false, "bank details corrected"}};
        b.push_back(rules_->event_op(std::move(e)));
      }
      unhold.clear();
    };
    for (size_t i = 0; i < n; ++i) {
      Event e = gen.next();
      for (;;) {
        auto due = std::min_element(runs.begin(), runs.end(),
                                    [](auto& x, auto& y) { return x.cutoff < y.cutoff; });
        if (e.header.at < due->cutoff) break;
        flush();
        auto r = settlement_->settle(due->mk, format_date(due->date));
        ASSERT_TRUE(r.ok()) << r.error().message;
        ++runs_;
        std::set<std::pair<std::string, std::string>> released;
        for (auto& x : r->released) released.insert({due->mk, x.payee});
        check(released, false);
        for (auto& p : r->payouts) {
          bool paid = (std::hash<std::string>{}(p.payout) % 20) != 0;
          results.emplace_back(p.payout, paid);
          if (!paid) unhold.emplace_back(due->mk, p.payee);
          payouts_++;
        }
        *due = next_run(due->mk, due->date + date::days(1));
        answer(e.header.at);
      }
      note(e);
      b.push_back(rules_->event_op(std::move(e)));
      if (b.size() >= batch) flush();
    }
    flush();
    check({}, true);
    auto report = ledger_->snapshot()->verify();
    EXPECT_TRUE(report.ok) << report.problem;
    auto tables = verify_marketplace_tables(*ledger_->snapshot(), rules_->tables(), config_);
    EXPECT_TRUE(tables.ok) << tables.problem;
  }

  TempDir dir_;
  Config config_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<Rules> rules_;
  std::unique_ptr<Settlement> settlement_;
  std::unordered_map<std::string, SaleInfo> sales_;
  std::unordered_map<std::string, std::string> sale_currency_;
  std::vector<std::string> full_;
  std::set<std::pair<std::string, std::string>> touched_;
  uint64_t batches_ = 0, runs_ = 0, payouts_ = 0, full_checked_ = 0, checked_ = 0;
};

TEST_F(StreamTest, ShortForm) {
  GeneratorOptions o;
  o.seed = 2026;
  o.payees = 150;
  o.mean_gap_ns = 390 * kNsPerSecond;  // 20,000 events over about three months
  run_stream(o, 20000, 500, /*check_all=*/true);
  EXPECT_GE(runs_, 20u);
  EXPECT_GT(payouts_, 100u);
  EXPECT_GT(full_checked_, 100u);
  EXPECT_GT(checked_, 40u * 150u);
  std::printf("%llu batches, %llu runs, %llu payouts, %llu full refunds, %llu pending checks\n",
              (unsigned long long)batches_, (unsigned long long)runs_, (unsigned long long)payouts_,
              (unsigned long long)full_checked_, (unsigned long long)checked_);
}

TEST_F(StreamTest, LongFormMillionEvents) {
  if (!long_form()) GTEST_SKIP() << "set TALLY_LONG=1 to run";
  GeneratorOptions o;
  o.seed = 1'000'000;
  o.payees = 10000;
  o.mean_gap_ns = 32 * kNsPerSecond;  // a million events over about a year
  run_stream(o, 1'000'000, 5000, /*check_all=*/false);
  EXPECT_GE(runs_, 100u);
  EXPECT_GT(full_checked_, 10000u);
}

}  // namespace
}  // namespace tally
