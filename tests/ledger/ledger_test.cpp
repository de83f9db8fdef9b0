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

TEST(LedgerStore, ReopenGivesSameBalancesAndRefusesOtherSchemaVersion) {
  TempDir dir;
  {
    auto l = open_ledger(dir.sub("d"));
    l->submit_and_wait(batch(make_open_account(account("x:a", AccountKind::asset, {"EUR"})),
                             make_open_account(account("x:b", AccountKind::equity, {"EUR"}))));
    auto r = l->submit_and_wait(batch(
        make_post_entry(entry("e1", {debit("x:a", "7.50", "EUR"), credit("x:b", "7.50", "EUR")}))));
    ASSERT_TRUE(r[0].ok());
  }
  {
    auto l = open_ledger(dir.sub("d"));
    EXPECT_EQ(*l->snapshot()->balance("x:a", "EUR"), amt("7.50", "EUR"));
    EXPECT_TRUE(l->snapshot()->verify().ok);
  }
  // Rewrite the version with raw LMDB, as a future tally would have written it.
  {
    MDB_env* env;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 64);
    ASSERT_EQ(mdb_env_open(env, dir.sub("d").c_str(), 0, 0644), 0);
    MDB_txn* txn;
    MDB_dbi dbi;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    uint32_t v = 99;
    MDB_val k{14, const_cast<char*>("schema_version")}, val{4, &v};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &val, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }
  std::unique_ptr<Ledger> l;
  LedgerOptions o;
  o.dir = dir.sub("d");
  Status s = Ledger::open(o, &l);
  EXPECT_EQ(s.kind(), Status::Kind::version_mismatch) << s.to_string();
  EXPECT_NE(s.message().find("schema version 99"), std::string::npos);
}

// Corrupts one record of a copy of a store with raw LMDB and expects verify to find it.
class VerifyCorruption : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = open_ledger(dir_.sub("d"));
    l->submit_and_wait(batch(make_open_account(account("x:a", AccountKind::asset, {"USD"})),
                             make_open_account(account("x:b", AccountKind::revenue, {"USD"}))));
    Batch b;
    for (int i = 0; i < 20; ++i)
      b.push_back(make_post_entry(
          entry("e" + std::to_string(i), {debit("x:a", "1.25"), credit("x:b", "1.25")})));
    for (auto& r : l->submit_and_wait(std::move(b))) ASSERT_TRUE(r.ok());
    ASSERT_TRUE(l->snapshot()->verify().ok);
  }
  // Calls f(txn, dbi) on table `name` of the closed store.
  void tamper(const char* name, const std::function<void(MDB_txn*, MDB_dbi)>& f) {
    MDB_env* env;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 64);
    ASSERT_EQ(mdb_env_open(env, dir_.sub("d").c_str(), 0, 0644), 0);
    MDB_txn* txn;
    MDB_dbi dbi;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    ASSERT_EQ(mdb_dbi_open(txn, name, 0, &dbi), 0);
    f(txn, dbi);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }
  VerifyReport verify() { return open_ledger(dir_.sub("d"))->snapshot()->verify(); }
  TempDir dir_;
};

TEST_F(VerifyCorruption, FlippedByteInAnEntryBreaksTheChain) {
  tamper("entries", [](MDB_txn* txn, MDB_dbi dbi) {
    std::string key(8, '\0');
    key[7] = 7;  // seq 7
    MDB_val k{8, key.data()}, v;
    ASSERT_EQ(mdb_get(txn, dbi, &k, &v), 0);
    std::string val(static_cast<char*>(v.mv_data), v.mv_size);
    val[val.size() - 3] ^= 0x01;  // inside the last posting's amount
    MDB_val nv{val.size(), val.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &nv, 0), 0);
  });
  auto rep = verify();
  EXPECT_FALSE(rep.ok);
  EXPECT_NE(rep.problem.find("entry seq 7"), std::string::npos) << rep.problem;
}

TEST_F(VerifyCorruption, WrongStoredBalanceIsFound) {
  tamper("books", [](MDB_txn* txn, MDB_dbi dbi) {
    std::string key(8, '\0');
    key[7] = 1;  // the first book: x:a USD
    MDB_val k{8, key.data()}, v;
    ASSERT_EQ(mdb_get(txn, dbi, &k, &v), 0);
    std::string val(static_cast<char*>(v.mv_data), v.mv_size);
    val[32] ^= 0x01;  // low byte of the balance
    MDB_val nv{val.size(), val.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &nv, 0), 0);
  });
  auto rep = verify();
  EXPECT_FALSE(rep.ok);
  EXPECT_NE(rep.problem.find("account x:a USD: stored balance"), std::string::npos) << rep.problem;
}

TEST_F(VerifyCorruption, WrongRunningBalanceIsFound) {
  tamper("postings", [](MDB_txn* txn, MDB_dbi dbi) {
    MDB_cursor* c;
    ASSERT_EQ(mdb_cursor_open(txn, dbi, &c), 0);
    MDB_val k, v;
    ASSERT_EQ(mdb_cursor_get(c, &k, &v, MDB_FIRST), 0);
    ASSERT_EQ(mdb_cursor_get(c, &k, &v, MDB_NEXT), 0);
    std::string val(static_cast<char*>(v.mv_data), v.mv_size);
    val[16] ^= 0x04;  // balance_after
    MDB_val nv{val.size(), val.data()};
    ASSERT_EQ(mdb_cursor_put(c, &k, &nv, MDB_CURRENT), 0);
    mdb_cursor_close(c);
  });
  auto rep = verify();
  EXPECT_FALSE(rep.ok);
  EXPECT_NE(rep.problem.find("records balance"), std::string::npos) << rep.problem;
}

TEST(LedgerConcurrency, RetriesFromManyThreadsPostEachIdOnce) {
  TempDir dir;
  auto l = open_ledger(dir.sub("d"));
  l->submit_and_wait(batch(make_open_account(account("c:bank", AccountKind::asset, {"USD"})),
                           make_open_account(account("c:rev", AccountKind::revenue, {"USD"}))));
  constexpr int kThreads = 8, kIds = 200;
  std::atomic<int> ok{0}, dup{0}, other{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int round = 0; round < 4; ++round) {
        Batch b;
        for (int i = 0; i < kIds / 4; ++i) {
          int id = (i * 4 + round + t) % kIds;  // every thread retries every id
          b.push_back(make_post_entry(entry("id" + std::to_string(id),
                                            {debit("c:bank", "1.00"), credit("c:rev", "1.00")})));
        }
        for (auto& r : l->submit_and_wait(std::move(b))) {
          if (r.status == ItemStatus::ok)
            ++ok;
          else if (r.status == ItemStatus::duplicate)
            ++dup;
          else
            ++other;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(ok.load() + dup.load(), kThreads * kIds);
  EXPECT_EQ(*l->snapshot()->balance("c:bank", "USD"),
            Amount::from_minor(100 * static_cast<i128>(ok.load())));
  EXPECT_LE(ok.load(), kIds);
  EXPECT_LT(l->commits(),
            static_cast<uint64_t>(kThreads * 4 + 1));  // batches were grouped at most 1:1
  EXPECT_TRUE(l->snapshot()->verify().ok);
}

TEST(LedgerStore, MapGrowsInPlaceThenFailsCleanlyWhenItMayNotGrow) {
  TempDir dir;
  LedgerOptions o;
  o.map_size_bytes = 1 << 20;
  o.map_size_max_bytes = 8 << 20;
  auto l = open_ledger(dir.sub("d"), o);
  l->submit_and_wait(batch(make_open_account(account("m:a", AccountKind::asset, {"USD"})),
                           make_open_account(account("m:b", AccountKind::revenue, {"USD"}))));
  int posted = 0;
  bool full = false;
  for (int round = 0; round < 200 && !full; ++round) {
    Batch b;
    for (int i = 0; i < 500; ++i) {
      Entry e = entry("g" + std::to_string(round) + "-" + std::to_string(i),
                      {debit("m:a", "1.00"), credit("m:b", "1.00")});
      e.meta = {{"pad", std::string(200, 'x')}};
      b.push_back(make_post_entry(std::move(e)));
    }
    for (auto& r : l->submit_and_wait(std::move(b))) {
      if (r.ok())
        ++posted;
      else {
        EXPECT_EQ(r.code, Code::store_full) << r.message;
        full = true;
      }
    }
  }
  EXPECT_TRUE(full);
  EXPECT_GT(posted, 2000);  // well past what 1 MiB holds: the map grew
  EXPECT_EQ(*l->snapshot()->balance("m:a", "USD"),
            Amount::from_minor(100 * static_cast<i128>(posted)));
  EXPECT_TRUE(l->snapshot()->verify().ok);
}

// A generic op for the table tests: runs `f` inside the writer's transaction.
class FnOp final : public WriteOp {
 public:
  explicit FnOp(std::function<void(WriteTxn&)> f) : f_(std::move(f)) {}
  ItemResult apply(WriteTxn& t) override {
    f_(t);
    return ItemResult{};
  }

 private:
  std::function<void(WriteTxn&)> f_;
};

// A ledger with one extra table, "t", for the table tests.
std::unique_ptr<Ledger> open_with_table(const TempDir& dir) {
  LedgerOptions o;
  o.extra_tables = {"t"};
  return open_ledger(dir.sub("data"), o);
}
// Every row of `table`, in key order.
std::map<std::string, std::string> table_rows(Snapshot& snap, TableId table) {
  std::map<std::string, std::string> rows;
  snap.scan(table, "", [&](std::string_view k, std::string_view v) {
    rows.emplace(k, v);
    return true;
  });
  return rows;
}

// Savepoints: nested ones, each kept or undone at random, over puts, deletes and sweeps of a
// table, entries and account opens, must leave exactly what a model that copies its state at
// each savepoint says, and the journal must stay whole (verify).
TEST(LedgerTables, SavepointsUndoExactlyWhatWasWrittenInsideThemAndNest) {
  TempDir dir;
  auto ledger = open_with_table(dir);
  TableId t = ledger->table("t");
  ASSERT_TRUE(ledger
                  ->submit_and_wait(
                      batch(make_open_account(account("s:a", AccountKind::asset, {"USD"})),
                            make_open_account(account("s:b", AccountKind::revenue, {"USD"}))))[0]
                  .ok());
  std::mt19937_64 rng(3);
  struct Model {
    std::map<std::string, std::string> rows;
    i128 posted = 0;  // minor units on s:a
    int entries = 0, accounts = 0;
  } m;
  int next = 0;
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(ledger
                    ->submit_and_wait(batch(std::make_unique<FnOp>([&](WriteTxn& w) {
                      std::vector<Model> saved;  // the model at each open savepoint
                      for (int step = 0; step < 300; ++step) {
                        int what = static_cast<int>(rng() % 100);
                        std::string k = "k" + std::to_string(rng() % 400);
                        if (what < 40) {
                          std::string v(20 + rng() % 200, char('a' + rng() % 26));
                          w.put(t, k, v);
                          m.rows[k] = v;
                        } else if (what < 55) {
                          w.del(t, k);
                          m.rows.erase(k);
                        } else if (what < 60) {
                          // Erase every row of a key range through the cursor.
                          std::string hi = k + "~";
                          w.sweep(t, k, [&](std::string_view key, std::string_view) {
                            return key >= hi ? WriteTxn::Sweep::stop : WriteTxn::Sweep::erase;
                          });
                          m.rows.erase(m.rows.lower_bound(k), m.rows.lower_bound(hi));
                        } else if (what < 70) {
                          Entry e = entry("e" + std::to_string(next++),
                                          {debit("s:a", "0.07"), credit("s:b", "0.07")});
                          auto p = w.prepare_entry(e, sha256("test", canonical_entry_bytes(e)));
                          ASSERT_TRUE(p.ok());
                          w.apply_entry(*p);
                          m.posted += 7;
                          ++m.entries;
                        } else if (what < 73) {
                          auto r = w.open_account(
                              account("s:x" + std::to_string(next++), AccountKind::asset, {"USD"}));
                          ASSERT_TRUE(r.ok());
                          ++m.accounts;
                        } else if (what < 86) {
                          w.begin_savepoint();
                          saved.push_back(m);
                        } else if (!saved.empty()) {
                          bool keep = what < 93;
                          w.end_savepoint(keep);
                          if (!keep) m = saved.back();
                          saved.pop_back();
                        }
                        ASSERT_EQ(w.balance("s:a", cur("USD")), Amount::from_minor(m.posted));
                      }
                      while (!saved.empty()) {  // close what is open, undoing the outermost
                        w.end_savepoint(saved.size() > 1);
                        if (saved.size() == 1) m = saved.back();
                        saved.pop_back();
                      }
                    })))[0]
                    .ok());
    auto snap = ledger->snapshot();
    ASSERT_EQ(table_rows(*snap, t), m.rows) << "round " << round;
    ASSERT_EQ(*snap->balance("s:a", "USD"), Amount::from_minor(m.posted));
    auto v = snap->verify();
    ASSERT_TRUE(v.ok) << v.problem;
    ASSERT_EQ(v.entries, static_cast<uint64_t>(m.entries));
    ASSERT_EQ(snap->last_seq(), static_cast<uint64_t>(m.entries));  // undone entries left no gap
  }
  size_t opened = 0;
  for (int i = 0; i < next; ++i)
    opened += ledger->snapshot()->account("s:x" + std::to_string(i)).has_value();
  EXPECT_EQ(opened, static_cast<size_t>(m.accounts));
  EXPECT_GT(m.entries, 50);
  EXPECT_GT(m.accounts, 5);
}

TEST(LedgerTables, SweepDeletesWhatItIsToldAcrossPagesAndStopsWhereItIsTold) {
  TempDir dir;
  auto ledger = open_with_table(dir);
  TableId t = ledger->table("t");
  // 20,000 rows of ~100 bytes: several hundred LMDB pages, so deleting runs of rows empties
  // pages, merges them and moves the cursor across page boundaries.
  std::map<std::string, std::string> model;
  auto key = [](int i) {
    char b[16];
    std::snprintf(b, sizeof b, "k%06d", i);
    return std::string(b);
  };
  ASSERT_TRUE(ledger
                  ->submit_and_wait(batch(std::make_unique<FnOp>([&](WriteTxn& w) {
                    for (int i = 0; i < 20000; ++i) {
                      std::string v(90, char('a' + i % 26));
                      w.put(t, key(i), v);
                      model[key(i)] = v;
                    }
                  })))[0]
                  .ok());
  // Erase: every row from k001000 on whose number is not a multiple of 7, in runs long enough
  // to empty whole pages (7000..13999 all go), stopping before k018000.
  auto doomed = [](int i) {
    return i >= 1000 && i < 18000 && (i % 7 != 0 || (i >= 7000 && i < 14000));
  };
  uint64_t erased = 0;
  int visited = 0;
  ASSERT_TRUE(ledger
                  ->submit_and_wait(batch(std::make_unique<FnOp>([&](WriteTxn& w) {
                    erased = w.sweep(t, key(1000), [&](std::string_view k, std::string_view v) {
                      int i = std::stoi(std::string(k.substr(1)));
                      EXPECT_EQ(i, 1000 + visited) << "the sweep skipped or repeated a row";
                      EXPECT_EQ(v, model.at(std::string(k)));
                      ++visited;
                      if (i >= 18000) return WriteTxn::Sweep::stop;
                      return doomed(i) ? WriteTxn::Sweep::erase : WriteTxn::Sweep::keep;
                    });
                  })))[0]
                  .ok());
  EXPECT_EQ(visited, 17001);  // k001000..k018000, the last one only to stop
  uint64_t want = 0;
  for (int i = 0; i < 20000; ++i)
    if (doomed(i)) model.erase(key(i)), ++want;
  EXPECT_EQ(erased, want);
  EXPECT_EQ(table_rows(*ledger->snapshot(), t), model);
  // A sweep to the end of the table erasing everything leaves it empty.
  ASSERT_TRUE(ledger
                  ->submit_and_wait(batch(std::make_unique<FnOp>([&](WriteTxn& w) {
                    EXPECT_EQ(w.sweep(t, "", [](auto, auto) { return WriteTxn::Sweep::erase; }),
                              model.size());
                  })))[0]
                  .ok());
  bool any = false;
  ledger->snapshot()->scan(t, "", [&](auto, auto) { return !(any = true); });
  EXPECT_FALSE(any);
}

// A child process posts batches and reports each acknowledged id through a pipe; the parent
// kills it with SIGKILL at a random moment, reopens the store and checks that every acknowledged
// id is there, nothing is half-applied, and verify passes.
TEST(LedgerCrash, KillNineLosesNothingAcknowledged) {
  TempDir dir;
  std::mt19937_64 rng(7);
  std::set<std::string> acked;
  for (int round = 0; round < 6; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      LedgerOptions o;
      o.dir = dir.sub("d");
      std::unique_ptr<Ledger> l;
      if (!Ledger::open(o, &l).ok()) _exit(3);
      l->submit_and_wait(batch(make_open_account(account("k:a", AccountKind::asset, {"USD"})),
                               make_open_account(account("k:b", AccountKind::revenue, {"USD"}))));
      for (int i = 0;; ++i) {
        Batch b;
        std::vector<std::string> ids;
        for (int j = 0; j < 50; ++j) {
          ids.push_back("r" + std::to_string(round) + "-" + std::to_string(i) + "-" +
                        std::to_string(j));
          b.push_back(
              make_post_entry(entry(ids.back(), {debit("k:a", "0.01"), credit("k:b", "0.01")})));
        }
        auto res = l->submit_and_wait(std::move(b));
        std::string line;
        for (size_t j = 0; j < res.size(); ++j)
          if (res[j].status == ItemStatus::ok) line += ids[j] + "\n";
        if (write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(4);
      }
    }
    close(fds[1]);
    // Kill at a random moment after the child's first acknowledgement (slow builds, such as the
    // sanitizer one, take a while to get there); wait at most 20 s for it.
    std::string got;
    char buf[4096];
    pollfd pfd{fds[0], POLLIN, 0};
    if (poll(&pfd, 1, 20000) == 1) {
      ssize_t n = read(fds[0], buf, sizeof buf);
      if (n > 0) got.append(buf, static_cast<size_t>(n));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 150));
    kill(pid, SIGKILL);
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
      got.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    size_t start = 0;
    for (size_t nl; (nl = got.find('\n', start)) != std::string::npos; start = nl + 1)
      acked.insert(got.substr(start, nl - start));
    auto l = open_ledger(dir.sub("d"));
    auto snap = l->snapshot();
    for (const auto& id : acked)
      ASSERT_TRUE(snap->entry(id).has_value()) << "lost acknowledged " << id;
    auto v = snap->verify();
    ASSERT_TRUE(v.ok) << v.problem;
    // A child killed before it opened its accounts has posted nothing.
    auto b = snap->balance("k:a", "USD");
    if (!b.ok())
      EXPECT_EQ(v.entries, 0u) << b.error().message;
    else
      EXPECT_EQ(*b, Amount::from_minor(static_cast<i128>(v.entries)));
  }
  EXPECT_GT(acked.size(), 100u);
}

}  // namespace
}  // namespace tally
