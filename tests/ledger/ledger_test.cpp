// The ledger core: validation, idempotency, linked chains, history, period close, integrity,
// durability. Expected balances come from a naive model (a map of sums), never from tally.
#include "ledger/ledger.h"

#include <lmdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "common/test_util.h"

namespace tally {
namespace {

using namespace tally::testing;

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger_ = open_ledger(dir_.sub("data"), opts_);
    auto r = ledger_->submit_and_wait(batch(
        make_open_account(account("ops:bank", AccountKind::asset, {"USD", "EUR"})),
        make_open_account(account("ops:wallets:w1", AccountKind::liability, {"USD"}, kNoOverdraft)),
        make_open_account(account("ops:wallets:w2", AccountKind::liability, {"USD"}, kNoOverdraft)),
        make_open_account(account("ops:revenue", AccountKind::revenue, {"USD", "EUR"})),
        make_open_account(account("ops:equity", AccountKind::equity, {"EUR"}))));
    for (auto& x : r) ASSERT_TRUE(x.ok()) << x.message;
  }
  ItemResult post(Entry e) {
    auto r = ledger_->submit_and_wait(batch(make_post_entry(std::move(e))));
    EXPECT_EQ(r.size(), 1u);
    return r[0];
  }
  Amount bal(std::string_view acct, std::string_view c = "USD", std::optional<TimeNs> as_of = {}) {
    auto r = ledger_->snapshot()->balance(acct, c, as_of);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : Amount();
  }

  TempDir dir_;
  LedgerOptions opts_;
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(LedgerTest, PostsBalancedEntryAndReportsNormalSideBalances) {
  auto r = post(entry("dep-1", {debit("ops:bank", "100.00"), credit("ops:wallets:w1", "100.00")}));
  ASSERT_EQ(r.status, ItemStatus::ok) << r.message;
  EXPECT_EQ(r.seq, 1u);
  EXPECT_EQ(bal("ops:bank"), amt("100.00"));        // asset: debit-normal
  EXPECT_EQ(bal("ops:wallets:w1"), amt("100.00"));  // liability: credit-normal, owed
  auto tb = ledger_->snapshot()->trial_balance();
  ASSERT_EQ(tb.size(), 2u);  // EUR (zero) and USD
  for (auto& row : tb) EXPECT_EQ(row.debits, row.credits) << row.currency.code();
}

TEST_F(LedgerTest, RetriedIdIsDuplicateAndDifferentContentConflicts) {
  auto e = entry("dep-1", {debit("ops:bank", "100.00"), credit("ops:wallets:w1", "100.00")});
  auto first = post(e);
  ASSERT_EQ(first.status, ItemStatus::ok);
  auto again = post(e);
  EXPECT_EQ(again.status, ItemStatus::duplicate);
  EXPECT_EQ(again.seq, first.seq);
  EXPECT_EQ(again.commit_ns, first.commit_ns);
  auto changed = e;
  changed.postings[0].amount = amt("100.01");
  changed.postings[1].amount = amt("100.01");
  auto conflict = post(changed);
  EXPECT_EQ(conflict.code, Code::id_conflict);
  EXPECT_EQ(bal("ops:bank"), amt("100.00"));
  EXPECT_EQ(ledger_->snapshot()->last_seq(), 1u);
}

struct RejectCase {
  const char* name;
  std::function<Entry()> make;
  Code code;
  const char* message_part;
};

TEST_F(LedgerTest, EveryValidationErrorHasItsCodeAndNamesTheField) {
  // A balance to protect: w1 holds 50.00.
  ASSERT_TRUE(
      post(entry("seed", {debit("ops:bank", "50.00"), credit("ops:wallets:w1", "50.00")})).ok());
  ASSERT_TRUE(ledger_->submit_and_wait(batch(make_close_account("ops:wallets:w2")))[0].ok());
  std::vector<RejectCase> cases = {
      {"unbalanced",
       [] {
         return entry("x1", {debit("ops:bank", "100.00"), credit("ops:revenue", "99.99")});
       },
       Code::unbalanced, "unbalanced: USD debits 100.00 != credits 99.99"},
      {"unknown account",
       [] {
         return entry("x2", {debit("ops:nope", "1.00"), credit("ops:revenue", "1.00")});
       },
       Code::unknown_account, "postings[0].account: \"ops:nope\""},
      {"currency not held",
       [] {
         return entry("x3",
                      {debit("ops:bank", "1.00", "EUR"), credit("ops:wallets:w1", "1.00", "EUR")});
       },
       Code::currency_not_allowed, "postings[1].currency"},
      {"closed account",
       [] {
         return entry("x4", {debit("ops:bank", "1.00"), credit("ops:wallets:w2", "1.00")});
       },
       Code::account_closed, "postings[1].account"},
      {"overdraft",
       [] {
         return entry("x5", {debit("ops:wallets:w1", "50.01"), credit("ops:revenue", "50.01")});
       },
       Code::overdraft, "\"ops:wallets:w1\" is no_overdraft"},
      {"one posting", [] { return entry("x6", {debit("ops:bank", "1.00")}); },
       Code::too_many_postings, "postings: 1 postings"},
      {"too many postings",
       [] {
         std::vector<Posting> ps;
         for (int i = 0; i < 1025; ++i)
           ps.push_back(i % 2 ? credit("ops:revenue", "1.00") : debit("ops:bank", "1.00"));
         return entry("x7", ps);
       },
       Code::too_many_postings, "1025 postings"},
      {"zero amount",
       [] {
         auto e = entry("x8", {debit("ops:bank", "1.00"), credit("ops:revenue", "1.00")});
         e.postings[0].amount = Amount();
         return e;
       },
       Code::bad_amount, "postings[0].amount"},
      {"negative amount",
       [] {
         auto e = entry("x9", {debit("ops:bank", "1.00"), credit("ops:revenue", "1.00")});
         e.postings[1].amount = amt("-1.00");
         return e;
       },
       Code::bad_amount, "postings[1].amount"},
      {"empty id",
       [] {
         return entry("", {debit("ops:bank", "1.00"), credit("ops:revenue", "1.00")});
       },
       Code::bad_id, "id:"},
      {"long id",
       [] {
         return entry(std::string(129, 'a'),
                      {debit("ops:bank", "1.00"), credit("ops:revenue", "1.00")});
       },
       Code::bad_id, "id:"},
      {"reserved id",
       [] {
         return entry("~run:x", {debit("ops:bank", "1.00"), credit("ops:revenue", "1.00")});
       },
       Code::bad_id, "reserves"},
      {"control char id",
       [] {
         return entry("a\nb", {debit("ops:bank", "1.00"), credit("ops:revenue", "1.00")});
       },
       Code::bad_id, "id:"},
      {"bad account name",
       [] {
         return entry("x10", {debit("Ops:Bank", "1.00"), credit("ops:revenue", "1.00")});
       },
       Code::bad_account_name, "postings[0].account"},
      {"meta too big",
       [] {
         auto e = entry("x11", {debit("ops:bank", "1.00"), credit("ops:revenue", "1.00")});
         e.meta = {{"k", std::string(4096, 'v')}};
         return e;
       },
       Code::bad_meta, "meta:"},
      {"overflow",
       [] {
         auto e = entry("x12", {debit("ops:bank", "1.00"), debit("ops:bank", "1.00"),
                                credit("ops:revenue", "1.00"), credit("ops:revenue", "1.00")});
         for (auto& p : e.postings) p.amount = Amount::max();
         return e;
       },
       Code::overflow, "overflow"},
      {"empty kind",
       [] {
         return entry("x13", {debit("ops:bank", "1.00"), credit("ops:revenue", "1.00")}, 0, "");
       },
       Code::bad_request, "kind:"},
  };
  auto before = ledger_->snapshot()->last_seq();
  for (const auto& c : cases) {
    auto r = post(c.make());
    EXPECT_EQ(r.status, ItemStatus::error) << c.name;
    EXPECT_EQ(r.code, c.code) << c.name << ": " << r.message;
    EXPECT_NE(r.message.find(c.message_part), std::string::npos) << c.name << ": " << r.message;
  }
  EXPECT_EQ(ledger_->snapshot()->last_seq(), before);
  EXPECT_EQ(bal("ops:wallets:w1"), amt("50.00"));
  EXPECT_TRUE(ledger_->snapshot()->verify().ok);
}

TEST_F(LedgerTest, BatchReportsEachItemAndOverdraftCountsEarlierItems) {
  auto r = ledger_->submit_and_wait(batch(
      make_post_entry(entry("a", {debit("ops:bank", "30.00"), credit("ops:wallets:w1", "30.00")})),
      make_post_entry(
          entry("b", {debit("ops:wallets:w1", "20.00"), credit("ops:revenue", "20.00")})),
      make_post_entry(
          entry("c", {debit("ops:wallets:w1", "20.00"), credit("ops:revenue", "20.00")})),
      make_post_entry(
          entry("d", {debit("ops:wallets:w1", "10.00"), credit("ops:revenue", "10.00")}))));
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].status, ItemStatus::ok);
  EXPECT_EQ(r[1].status, ItemStatus::ok);
  EXPECT_EQ(r[2].code, Code::overdraft) << r[2].message;  // 10.00 left after b
  EXPECT_EQ(r[3].status, ItemStatus::ok);
  EXPECT_EQ(bal("ops:wallets:w1"), amt("0.00"));
  EXPECT_FALSE(ledger_->snapshot()->entry("c").has_value());
}

TEST_F(LedgerTest, LinkedChainCommitsOrFailsTogether) {
  auto chain = [](std::string p, bool bad) {
    Batch b;
    b.push_back(make_post_entry(
        entry(p + "1", {debit("ops:bank", "10.00"), credit("ops:wallets:w1", "10.00")})));
    b.back()->linked = true;
    b.push_back(make_post_entry(entry(p + "2", {debit("ops:wallets:w1", bad ? "11.00" : "5.00"),
                                                credit("ops:revenue", bad ? "11.00" : "5.00")})));
    b.back()->linked = true;
    b.push_back(make_post_entry(
        entry(p + "3", {debit("ops:bank", "1.00"), credit("ops:revenue", "1.00")})));
    // Unlinked trailing item: independent of the chain.
    b.push_back(make_post_entry(
        entry(p + "4", {debit("ops:bank", "2.00"), credit("ops:revenue", "2.00")})));
    return b;
  };
  auto bad = ledger_->submit_and_wait(chain("bad", true));
  EXPECT_EQ(bad[0].code, Code::linked_failed);
  EXPECT_EQ(bad[1].code, Code::overdraft);
  EXPECT_EQ(bad[2].code, Code::linked_failed);
  EXPECT_EQ(bad[3].status, ItemStatus::ok);
  EXPECT_EQ(bal("ops:bank"), amt("2.00"));
  EXPECT_FALSE(ledger_->snapshot()->entry("bad1").has_value());
  auto good = ledger_->submit_and_wait(chain("good", false));
  for (auto& x : good) EXPECT_EQ(x.status, ItemStatus::ok) << x.message;
  EXPECT_EQ(bal("ops:bank"), amt("15.00"));
  EXPECT_EQ(bal("ops:wallets:w1"), amt("5.00"));
  EXPECT_TRUE(ledger_->snapshot()->verify().ok);
}

TEST_F(LedgerTest, OpenIsIdempotentExtendsCurrenciesAndRejectsKindChange) {
  auto r = ledger_->submit_and_wait(
      batch(make_open_account(account("ops:bank", AccountKind::asset, {"USD"})),
            make_open_account(account("ops:bank", AccountKind::asset, {"GBP"})),
            make_open_account(account("ops:bank", AccountKind::liability, {"USD"})),
            make_open_account(account("ops:Bad", AccountKind::asset, {"USD"}))));
  EXPECT_EQ(r[0].status, ItemStatus::duplicate);
  EXPECT_EQ(r[1].status, ItemStatus::ok);
  EXPECT_EQ(r[2].code, Code::account_exists);
  EXPECT_EQ(r[3].code, Code::bad_account_name);
  auto a = ledger_->snapshot()->account("ops:bank");
  ASSERT_TRUE(a.has_value());
  ASSERT_EQ(a->currencies.size(), 3u);
  EXPECT_EQ(a->currencies[0].code(), "EUR");
  EXPECT_EQ(a->currencies[1].code(), "GBP");
}

TEST_F(LedgerTest, PrefixBalancesInNameOrderWithTotals) {
  ASSERT_TRUE(ledger_
                  ->submit_and_wait(batch(make_open_account(
                      account("ops:wallets2", AccountKind::liability, {"USD"}))))[0]
                  .ok());
  ASSERT_TRUE(post(entry("a", {debit("ops:bank", "30.00"), credit("ops:wallets:w1", "10.00"),
                               credit("ops:wallets:w2", "20.00")}))
                  .ok());
  auto b = ledger_->snapshot()->balances("ops:wallets");
  ASSERT_EQ(b.accounts.size(), 2u);  // ops:wallets2 is not under ops:wallets
  EXPECT_EQ(b.accounts[0].account, "ops:wallets:w1");
  EXPECT_EQ(b.accounts[1].account, "ops:wallets:w2");
  ASSERT_EQ(b.totals.size(), 1u);
  EXPECT_EQ(b.totals[0].balance, amt("30.00"));
}

TEST_F(LedgerTest, AccountNamesByBytePrefixInOrderUntilTheVisitStops) {
  ASSERT_TRUE(ledger_
                  ->submit_and_wait(batch(make_open_account(
                      account("ops:wallets2", AccountKind::liability, {"USD"}))))[0]
                  .ok());
  auto names = [&](std::string_view prefix, size_t stop_after = SIZE_MAX) {
    std::vector<std::string> out;
    ledger_->snapshot()->account_names(prefix, [&](std::string_view n) {
      out.emplace_back(n);
      return out.size() < stop_after;
    });
    return out;
  };
  using V = std::vector<std::string>;
  // Byte order: '2' sorts before ':'.
  EXPECT_EQ(names("ops:wallets"), (V{"ops:wallets2", "ops:wallets:w1", "ops:wallets:w2"}));
  EXPECT_EQ(names("ops:wallets:"), (V{"ops:wallets:w1", "ops:wallets:w2"}));
  EXPECT_EQ(names("ops:"), (V{"ops:bank", "ops:equity", "ops:revenue", "ops:wallets2",
                              "ops:wallets:w1", "ops:wallets:w2"}));
  EXPECT_EQ(names("ops:", 2), (V{"ops:bank", "ops:equity"}));
  EXPECT_EQ(names("opz"), V{});
}

TEST_F(LedgerTest, TotalsThatOverflowAreFlaggedNotFatal) {
  auto r = ledger_->submit_and_wait(
      batch(make_open_account(account("big:a", AccountKind::asset, {"USD"})),
            make_open_account(account("big:b", AccountKind::asset, {"USD"})),
            make_open_account(account("big:e1", AccountKind::equity, {"USD"})),
            make_open_account(account("big:e2", AccountKind::equity, {"USD"}))));
  for (auto& x : r) ASSERT_TRUE(x.ok()) << x.message;
  auto e1 = entry("big1", {debit("big:a", "1.00"), credit("big:e1", "1.00")});
  auto e2 = entry("big2", {debit("big:b", "1.00"), credit("big:e2", "1.00")});
  for (auto* e : {&e1, &e2})
    for (auto& p : e->postings) p.amount = Amount::max();
  ASSERT_TRUE(post(e1).ok());
  ASSERT_TRUE(post(e2).ok());
  auto b = ledger_->snapshot()->balances("big");
  ASSERT_EQ(b.totals.size(), 1u);
  EXPECT_TRUE(b.totals[0].overflow);
  EXPECT_EQ(b.accounts[0].balance, Amount::max());
  for (auto& row : ledger_->snapshot()->trial_balance()) {
    if (row.currency.code() == "USD") {
      EXPECT_TRUE(row.overflow);
    }
  }
  EXPECT_TRUE(ledger_->snapshot()->verify().ok);
}

TEST_F(LedgerTest, StatementPagesWithCursorAndFiltersBusinessTime) {
  for (int i = 0; i < 25; ++i) {
    TimeNs at = TimeNs(1'767'607'200) * kNsPerSecond + i * kNsPerDay;
    ASSERT_TRUE(post(entry("s" + std::to_string(i),
                           {debit("ops:bank", "1.00"), credit("ops:revenue", "1.00")}, at))
                    .ok());
  }
  auto snap = ledger_->snapshot();
  StatementQuery q;
  q.account = "ops:bank";
  q.limit = 10;
  std::vector<StatementLine> all;
  for (int page = 0; page < 5; ++page) {
    auto s = snap->statement(q);
    ASSERT_TRUE(s.ok()) << s.error().message;
    all.insert(all.end(), s->lines.begin(), s->lines.end());
    if (s->next.empty()) break;
    q.after = s->next;
  }
  ASSERT_EQ(all.size(), 25u);
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].entry_id, "s" + std::to_string(i));
    EXPECT_EQ(all[i].balance_after, Amount::from_minor(100 * static_cast<i128>(i + 1)));
    EXPECT_EQ(all[i].side, Side::debit);
  }
  StatementQuery bt;
  bt.account = "ops:bank";
  bt.by_business_time = true;
  bt.from = TimeNs(1'767'607'200) * kNsPerSecond + 5 * kNsPerDay;
  bt.to = TimeNs(1'767'607'200) * kNsPerSecond + 8 * kNsPerDay;
  auto s = snap->statement(bt);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->lines.size(), 3u);
  EXPECT_EQ(s->lines[0].entry_id, "s5");
  bt.after = "zz";
  EXPECT_EQ(snap->statement(bt).error().code, Code::bad_request);
}

TEST_F(LedgerTest, PeriodCloseSnapshotsBusinessTimeAndRefusesEntriesDatedInIt) {
  const TimeNs jan5 = TimeNs(1'767'607'200) * kNsPerSecond;
  ASSERT_TRUE(
      post(entry("a", {debit("ops:bank", "10.00"), credit("ops:revenue", "10.00")}, jan5)).ok());
  ASSERT_TRUE(post(entry("b", {debit("ops:bank", "5.00"), credit("ops:revenue", "5.00")},
                         jan5 + 30 * kNsPerDay))
                  .ok());
  const TimeNs end = TimeNs(1'769'904'000) * kNsPerSecond;  // 2026-02-01T00:00:00Z: closes January
  auto r = ledger_->submit_and_wait(batch(make_close_period(end)));
  ASSERT_TRUE(r[0].ok()) << r[0].message;
  auto late = post(
      entry("c", {debit("ops:bank", "1.00"), credit("ops:revenue", "1.00")}, jan5 + kNsPerDay));
  EXPECT_EQ(late.code, Code::period_closed) << late.message;
  EXPECT_TRUE(
      post(entry("d", {debit("ops:bank", "1.00"), credit("ops:revenue", "1.00")}, end)).ok());
  auto snap = ledger_->snapshot();
  EXPECT_EQ(*snap->period_balance("ops:bank", "USD", end), amt("10.00"));
  EXPECT_EQ(*snap->period_balance("ops:revenue", "USD", end), amt("10.00"));
  EXPECT_EQ(snap->period_balance("ops:bank", "USD", end + 1).error().code, Code::bad_date);
  EXPECT_EQ(bal("ops:bank"), amt("16.00"));
  EXPECT_EQ(ledger_->submit_and_wait(batch(make_close_period(end - kNsPerDay)))[0].code,
            Code::bad_date);
}

// Entries and the period close in one transaction (group commit merges them): the close sees
// the entries of its own transaction, whose posting rows the writer had not yet put.
TEST_F(LedgerTest, PeriodCloseInTheTransactionOfItsEntriesCountsThem) {
  const TimeNs jan5 = TimeNs(1'767'607'200) * kNsPerSecond;
  const TimeNs end = TimeNs(1'769'904'000) * kNsPerSecond;  // 2026-02-01T00:00:00Z
  auto r = ledger_->submit_and_wait(batch(
      make_post_entry(
          entry("a", {debit("ops:bank", "10.00"), credit("ops:revenue", "10.00")}, jan5)),
      make_post_entry(entry("b", {debit("ops:bank", "5.00"), credit("ops:revenue", "5.00")}, end)),
      make_close_period(end)));
  for (const auto& x : r) ASSERT_TRUE(x.ok()) << x.message;
  auto snap = ledger_->snapshot();
  EXPECT_EQ(*snap->period_balance("ops:bank", "USD", end), amt("10.00"));
  EXPECT_EQ(*snap->period_balance("ops:revenue", "USD", end), amt("10.00"));
  EXPECT_EQ(bal("ops:bank"), amt("15.00"));
}

// Random journals: running balances and as-of balances at random points equal a naive
// recomputation.
TEST(LedgerProperty, AsOfBalancesMatchNaiveModel) {
  TempDir dir;
  TimeNs fake_now = 1'000'000'000'000'000'000;
  LedgerOptions o;
  o.clock = [&] { return fake_now; };
  auto l = open_ledger(dir.sub("d"), o);
  std::vector<std::string> names;
  Batch opens;
  for (int i = 0; i < 6; ++i) {
    names.push_back("acct:a" + std::to_string(i));
    opens.push_back(make_open_account(account(
        names.back(), i % 2 ? AccountKind::liability : AccountKind::asset, {"USD", "JPY"})));
  }
  ASSERT_TRUE(l->submit_and_wait(std::move(opens))[0].ok());
  std::mt19937_64 rng(42);
  // model[name][code] after each commit, with the commit's time
  std::map<std::pair<std::string, std::string>, i128> model;
  std::vector<std::pair<TimeNs, decltype(model)>> history;
  int id = 0;
  for (int round = 0; round < 60; ++round) {
    fake_now += 1000 + static_cast<TimeNs>(rng() % 1000);
    Batch b;
    for (int k = 0, n = 1 + static_cast<int>(rng() % 5); k < n; ++k) {
      const char* code = rng() % 2 ? "USD" : "JPY";
      size_t from = rng() % names.size(), to = rng() % names.size();
      i128 units = 1 + static_cast<i128>(rng() % 100000);
      Entry e = entry("e" + std::to_string(id++),
                      {Posting{names[from], cur(code), Side::debit, Amount::from_minor(units)},
                       Posting{names[to], cur(code), Side::credit, Amount::from_minor(units)}});
      auto sign = [&](size_t i, Side s) { return (s == Side::debit) == (i % 2 == 0) ? 1 : -1; };
      model[{names[from], code}] += sign(from, Side::debit) * units;
      model[{names[to], code}] += sign(to, Side::credit) * units;
      b.push_back(make_post_entry(std::move(e)));
    }
    for (auto& r : l->submit_and_wait(std::move(b))) ASSERT_TRUE(r.ok()) << r.message;
    history.emplace_back(fake_now, model);
  }
  auto snap = l->snapshot();
  for (int probe = 0; probe < 200; ++probe) {
    size_t h = rng() % history.size();
    TimeNs t = history[h].first + static_cast<TimeNs>(rng() % 999);  // before the next commit
    for (auto& n : names) {
      for (const char* code : {"USD", "JPY"}) {
        auto got = snap->balance(n, code, t);
        ASSERT_TRUE(got.ok());
        auto it = history[h].second.find({n, code});
        i128 want = it == history[h].second.end() ? 0 : it->second;
        ASSERT_EQ(got->minor(), want) << n << " " << code << " at " << t;
      }
    }
  }
  // Before the first commit everything was zero.
  EXPECT_TRUE(snap->balance(names[0], "USD", 0)->is_zero());
  for (auto& row : snap->trial_balance(history[5].first)) EXPECT_EQ(row.debits, row.credits);
  auto v = snap->verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.entries, static_cast<uint64_t>(id));
}

}  // namespace
}  // namespace tally
