// Settlement on a live marketplace, through a real `tally serve`: clients keep posting sales to the
// marketplace while finance settles (SPEC section 4: "outside traffic can never make a run fail or
// abort the server"), the server is killed in the middle of runs, and two clients settle the same
// run at once. The books afterwards are checked against the test's own record of every
// acknowledged sale.
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "rpc/serve_fixture.h"

namespace tally {
namespace {

using namespace tally::testing;

// Every sale is 20.00 EUR of product: the seller nets 20.00 - 2.00 commission - (0.58 + 0.25) fee.
constexpr i128 kNetMinor = 1717;
constexpr TimeNs kJan1 = 1'767'225'600'000'000'000;  // 2026-01-01T00:00:00Z
constexpr TimeNs kDay = 86'400'000'000'000;
constexpr TimeNs kHour = 3'600'000'000'000;

PostItem dated_sale(std::string id, std::string seller, TimeNs at) {
  PostItem p = sale_item(std::move(id), std::move(seller), "20.00");
  std::get<Event>(p.body).header.at = at;
  return p;
}

// Posts batches of 100 sales (20.00 each, to random payees p0..p(n-1), dated by `at(rng)`) until
// stopped, keeping the net of what was acknowledged per payee. Its client retries across
// restarts of the server (resending a batch is safe: ids make it idempotent).
class Poster {
 public:
  Poster(ClientOptions o, int who, int payees, std::function<TimeNs(std::mt19937_64&)> at)
      : thread_([this, o, who, payees, at] { run(o, who, payees, at); }) {}
  ~Poster() { stop(); }
  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  uint64_t batches() const { return batches_.load(); }
  // Net per payee of the acknowledged sales; call after stop().
  const std::map<std::string, i128>& net() const { return net_; }
  const std::string& failure() const { return failure_; }

 private:
  void run(const ClientOptions& o, int who, int payees,
           const std::function<TimeNs(std::mt19937_64&)>& at) {
    auto c = Client::connect(o);
    if (!c.ok()) {
      failure_ = "cannot connect";
      return;
    }
    std::mt19937_64 rng(100 + who);
    for (int b = 0; !stop_.load(); ++b) {
      std::vector<PostItem> items;
      std::vector<std::string> sellers;
      for (int i = 0; i < 100; ++i) {
        std::string seller = "p" + std::to_string(rng() % payees);
        std::string id =
            "s" + std::to_string(who) + "-" + std::to_string(b) + "-" + std::to_string(i);
        items.push_back(dated_sale(std::move(id), seller, at(rng)));
        sellers.push_back(std::move(seller));
      }
      auto r = c.value()->post(std::move(items));
      if (!r.ok()) {
        failure_ = r.failed() ? r.failure().message : r.rejection().message;
        return;
      }
      for (size_t i = 0; i < r->results.size(); ++i) {
        if (!r->results[i].ok()) failure_ = r->results[i].id + ": " + r->results[i].message;
        net_[sellers[i]] += kNetMinor;
      }
      batches_.fetch_add(1);
    }
  }
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> batches_{0};
  std::map<std::string, i128> net_;
  std::string failure_;
  std::thread thread_;
};

// Runs commit in chunks of 300 payees here, so that every run has several.
class LiveSettlementTest : public ServeProcessTest {
 protected:
  void SetUp() override {
    ServeProcessTest::SetUp();
    serve_args_ = {"--settle-chunk-payees", "300"};
  }
  void post_details(int payees) {
    auto finance = Client::connect(options("tok-finance"));
    ASSERT_TRUE(finance.ok());
    std::vector<PostItem> details;
    for (int p = 0; p < payees; ++p)
      details.push_back(details_item("pd" + std::to_string(p), "p" + std::to_string(p)));
    auto d = finance.value()->post(std::move(details), PostVia::finance);
    ASSERT_TRUE(d.ok());
    for (auto& x : d->results) ASSERT_TRUE(x.ok()) << x.message;
  }
  // What every run paid, by payee, collected from the runs' results; no payout id twice.
  struct Paid {
    std::map<std::string, i128> by_payee;
    std::set<std::string> ids;
    i128 total = 0;
    void add(const RunResult& r) {
      for (const auto& p : r.payouts) {
        EXPECT_TRUE(ids.insert(p.payout).second) << "payout " << p.payout << " twice";
        EXPECT_GE(p.amount, Amount::from_minor(1000)) << p.payout << " is below the minimum";
        by_payee[p.payee] += p.amount.minor();
        total += p.amount.minor();
      }
    }
  };
  // After a last run that released everything: nothing is pending, each payee's available
  // balance plus what it was paid is the net of its acknowledged sales, the payouts sum to
  // M:payouts:in_transit, and verify is clean.
  void expect_books_reconcile(const std::map<std::string, i128>& net, const Paid& paid) {
    auto auditor = Client::connect(options("tok-auditor"));
    ASSERT_TRUE(auditor.ok());
    auto balances = auditor.value()->balances("shop:payees:", std::nullopt);
    ASSERT_TRUE(balances.ok());
    std::map<std::string, i128> available;
    for (const auto& row : balances->balances.accounts) {
      std::string rest = row.account.substr(std::string("shop:payees:").size());
      std::string payee = rest.substr(0, rest.find(':'));
      if (rest.ends_with(":pending"))
        EXPECT_TRUE(row.balance.is_zero()) << row.account << " still holds something";
      else
        available[payee] += row.balance.minor();
    }
    ASSERT_FALSE(net.empty());
    for (const auto& [payee, n] : net) {
      auto it = paid.by_payee.find(payee);
      i128 p = it == paid.by_payee.end() ? 0 : it->second;
      EXPECT_EQ(Amount::from_minor(available[payee] + p), Amount::from_minor(n)) << payee;
    }
    EXPECT_EQ(rpc_balance(*auditor.value(), "shop:payouts:in_transit", "EUR"),
              Amount::from_minor(paid.total));
    auto v = auditor.value()->verify();
    ASSERT_TRUE(v.ok());
    EXPECT_TRUE(v->ok) << v->problem;
  }
};

TimeNs january_or_february(std::mt19937_64& rng) {
  return kJan1 + static_cast<TimeNs>(rng() % 50) * kDay + 10 * kHour;
}

// Two clients post sales (dated over January and February, to random payees) in batches of 100,
// without pause, while finance settles four Mondays in a row, each in several chunks. Then the
// posting stops and a last run, after every hold is due, releases everything. Every run
// completes, the server stays up and logs each run's start, chunks and end, no payout id comes
// twice, and the books reconcile with what was posted.
TEST_F(LiveSettlementTest, RunsCompleteWhileClientsKeepPostingAndTheBooksReconcile) {
  constexpr int kPayees = 4000;
  spawn();
  post_details(kPayees);
  Poster p1(options("tok-poster", 3), 1, kPayees, january_or_february);
  Poster p2(options("tok-poster", 3), 2, kPayees, january_or_february);
  while (p1.batches() + p2.batches() < 20 && p1.failure().empty())
    std::this_thread::sleep_for(std::chrono::milliseconds(5));

  auto finance = Client::connect(options("tok-finaud", 3));  // a dead server fails the test fast
  ASSERT_TRUE(finance.ok());
  Paid paid;
  auto settle = [&](const std::string& date) {
    auto r = finance.value()->settle(SettleRequest{"shop", date, false});
    if (!r.ok()) {
      ADD_FAILURE() << date << ": " << (r.failed() ? r.failure().message : r.rejection().message)
                    << "\nserver log:\n"
                    << serve_log();
      return;
    }
    EXPECT_FALSE(r->existing) << date;
    EXPECT_EQ(r->state, RunStateResult::complete);
    EXPECT_GT(r->chunks, 1u) << date;
    paid.add(r.value());
  };
  for (const char* date : {"2026-01-19", "2026-01-26", "2026-02-02", "2026-02-09"}) {
    uint64_t before = p1.batches() + p2.batches();
    settle(date);
    EXPECT_GT(p1.batches() + p2.batches(), before) << "no posting went on during " << date;
  }
  p1.stop();
  p2.stop();
  ASSERT_EQ(p1.failure(), "");
  ASSERT_EQ(p2.failure(), "");
  settle("2026-03-30");  // after every hold: 2026-02-19 + 14 days
  std::map<std::string, i128> net = p1.net();
  for (const auto& [payee, n] : p2.net()) net[payee] += n;
  expect_books_reconcile(net, paid);
  std::string log = serve_log();
  EXPECT_NE(log.find("run shop:2026-01-19: started"), std::string::npos) << log;
  EXPECT_NE(log.find("run shop:2026-01-19: chunk 2/"), std::string::npos) << log;
  EXPECT_NE(log.find("run shop:2026-01-19: complete"), std::string::npos) << log;
  EXPECT_EQ(terminate(), 0);
}

// kill -9 of `tally serve` in the middle of a chunked run while a client keeps posting sales to
// the same payees, later and later (in steps of half a dry run's time), round after round; each
// restart completes the run a crash left in progress by itself. After each restart verify is
// clean and the run is absent, in progress or complete; at the end a settle completes it once,
// and with the posting stopped a last run releases everything: the books reconcile with every
// acknowledged sale and no payout id comes twice.
TEST_F(LiveSettlementTest, KillNineDuringAChunkedRunWhilePostingCompletesItExactlyOnce) {
  constexpr int kPayees = 3000;
  const int rounds = long_form() ? 40 : 12;
  std::mt19937_64 rng(13);
  spawn();
  post_details(kPayees);
  auto at_jan = [](std::mt19937_64& rng) {  // due by the 2026-01-26 cut-off
    return kJan1 + static_cast<TimeNs>(rng() % 10) * kDay + 10 * kHour;
  };
  {
    // One sale for each payee first, so that every payee has something to release.
    auto poster = Client::connect(options("tok-poster"));
    ASSERT_TRUE(poster.ok());
    std::vector<PostItem> sales;
    for (int p = 0; p < kPayees; ++p)
      sales.push_back(dated_sale("first-" + std::to_string(p), "p" + std::to_string(p), kJan1));
    auto s = poster.value()->post(std::move(sales));
    ASSERT_TRUE(s.ok());
    for (auto& x : s->results) ASSERT_TRUE(x.ok()) << x.message;
  }
  const SettleRequest req{"shop", "2026-01-26", false};
  uint64_t dry_ms = 0;
  {
    auto finance = Client::connect(options("tok-finaud"));
    ASSERT_TRUE(finance.ok());
    auto t0 = std::chrono::steady_clock::now();
    auto dry = finance.value()->settle(SettleRequest{req.marketplace, req.pay_date, true});
    dry_ms = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count());
    ASSERT_TRUE(dry.ok());
    ASSERT_EQ(dry->payouts.size(), size_t(kPayees));
  }
  Poster poster(options("tok-poster"), 1, kPayees, at_jan);
  int complete = 0, part = 0, none = 0;
  std::vector<uint64_t> kills_ms;
  for (int round = 0; round < rounds && complete == 0; ++round) {
    if (round > 0) spawn();  // which completes a run left in progress
    auto finance = Client::connect(options("tok-finaud", 1));
    ASSERT_TRUE(finance.ok());
    std::thread settler([&] { (void)finance.value()->settle(req); });
    const uint64_t kill_ms = dry_ms / 2 * (round + 1) + rng() % (dry_ms / 2 + 1);
    kills_ms.push_back(kill_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(kill_ms));
    kill_nine();
    settler.join();
    spawn();
    auto auditor = Client::connect(options("tok-finaud"));
    ASSERT_TRUE(auditor.ok());
    auto v = auditor.value()->verify();
    ASSERT_TRUE(v.ok());
    ASSERT_TRUE(v->ok) << v->problem;
    auto runs = auditor.value()->runs("shop");
    ASSERT_TRUE(runs.ok());
    if (runs->empty())
      ++none;
    else if (runs.value()[0].state == RunStateResult::complete)
      ++complete;
    else
      ++part;
    kill_nine();  // the next round starts from a killed server too
  }
  spawn();
  Paid paid;
  {
    auto finance = Client::connect(options("tok-finaud"));
    ASSERT_TRUE(finance.ok());
    auto run = finance.value()->settle(req);
    ASSERT_TRUE(run.ok()) << (run.failed() ? run.failure().message : run.rejection().message);
    EXPECT_EQ(run->state, RunStateResult::complete);
    paid.add(run.value());  // the whole run's rows: those of every chunk, whoever committed them
    EXPECT_GE(run->payouts.size(), size_t(kPayees) * 9 / 10);
    poster.stop();
    ASSERT_EQ(poster.failure(), "");
    auto last = finance.value()->settle(SettleRequest{"shop", "2026-03-30", false});
    ASSERT_TRUE(last.ok()) << (last.failed() ? last.failure().message : last.rejection().message);
    paid.add(last.value());
  }
  std::map<std::string, i128> net = poster.net();
  for (int p = 0; p < kPayees; ++p) net["p" + std::to_string(p)] += kNetMinor;
  expect_books_reconcile(net, paid);
  std::printf("dry run %llu ms; runs killed at", (unsigned long long)dry_ms);
  for (uint64_t ms : kills_ms) std::printf(" %llu", (unsigned long long)ms);
  std::printf(" ms: %d left no trace, %d a part, then %d complete\n", none, part, complete);
  EXPECT_GT(part, 0) << "no kill landed inside a run";
  EXPECT_EQ(terminate(), 0);
}

// Two finance clients settle the same run at the same time: one run, one set of payouts; both
// get the same rows.
TEST_F(LiveSettlementTest, TheSameRunSettledTwiceAtOnceRunsOnce) {
  constexpr int kPayees = 2000;
  spawn();
  post_details(kPayees);
  {
    auto poster = Client::connect(options("tok-poster"));
    ASSERT_TRUE(poster.ok());
    std::vector<PostItem> sales;
    for (int p = 0; p < kPayees; ++p)
      sales.push_back(dated_sale("o-" + std::to_string(p), "p" + std::to_string(p), kJan1));
    ASSERT_TRUE(poster.value()->post(std::move(sales)).ok());
  }
  Reply<RunResult> a = Failure{}, b = Failure{};
  {
    auto fa = Client::connect(options("tok-finance"));
    auto fb = Client::connect(options("tok-finance"));
    ASSERT_TRUE(fa.ok() && fb.ok());
    std::thread ta([&] { a = fa.value()->settle(SettleRequest{"shop", "2026-01-26", false}); });
    std::thread tb([&] { b = fb.value()->settle(SettleRequest{"shop", "2026-01-26", false}); });
    ta.join();
    tb.join();
  }
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->existing, b->existing);  // one ran it, the other got it as it was
  ASSERT_EQ(a->payouts.size(), size_t(kPayees));
  ASSERT_EQ(b->payouts.size(), size_t(kPayees));
  for (size_t i = 0; i < a->payouts.size(); ++i) {
    EXPECT_EQ(a->payouts[i].payout, b->payouts[i].payout);
    EXPECT_EQ(a->payouts[i].amount, b->payouts[i].amount);
  }
  auto auditor = Client::connect(options("tok-auditor"));
  ASSERT_TRUE(auditor.ok());
  EXPECT_EQ(rpc_balance(*auditor.value(), "shop:payouts:in_transit", "EUR"),
            Amount::from_minor(kPayees * kNetMinor));
  auto runs = Client::connect(options("tok-finance")).value()->runs("shop");
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->size(), 1u);
  EXPECT_EQ(terminate(), 0);
}

}  // namespace
}  // namespace tally
