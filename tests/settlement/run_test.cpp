// Settlement runs: release timing, minimum payout carry-over, negatives netted, payee holds,
// failed payouts, reruns, dry runs, and byte-identical output whatever the thread count.
#include "settlement/run.h"

#include <signal.h>
#include <sys/wait.h>
#include <tbb/global_control.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "common/test_util.h"
#include "settlement/example_shop.h"

namespace tally {
namespace {

using namespace tally::testing;

const std::string kConfig = example_shop_toml({.holidays = R"(["2026-02-02"])"});

constexpr const char* kIban = "FR7630006000011234567890189";
const TimeNs kJan5 = TimeNs(1'767'607'200) * kNsPerSecond;  // Mon 2026-01-05T10:00:00Z

class RunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = load_config(kConfig, CurrencyTable());
    ASSERT_TRUE(c.ok()) << c.error().message;
    config_ = std::move(*c);
    open();
  }
  void open(size_t map_size_bytes = LedgerOptions{}.map_size_bytes, const std::string& sub = "d") {
    settlement_.reset();
    rules_.reset();
    ledger_.reset();
    LedgerOptions o;
    o.map_size_bytes = map_size_bytes;
    o.extra_tables = tables::all();
    o.clock = [] { return TimeNs(1'780'000'000) * kNsPerSecond; };  // 2026-05-28
    ledger_ = open_ledger(dir_.sub(sub), o);
    rules_ = std::make_unique<Rules>(config_, *ledger_);
    settlement_ = std::make_unique<Settlement>(*rules_);
  }
  ItemResult send(std::string id, EventBody body, TimeNs at = kJan5) {
    Event e{EventHeader{std::move(id), at, "shop", {}}, std::move(body)};
    Batch b;
    b.push_back(rules_->event_op(std::move(e)));
    auto r = ledger_->submit_and_wait(std::move(b))[0];
    EXPECT_TRUE(r.ok()) << r.message;
    return r;
  }
  void details(const std::string& payee) {
    send("pd-" + payee, PayeeDetailsEvent{payee, "Payee " + payee, kIban, "AGRIFRPPXXX"});
  }
  SettlementRun settle(const char* date, bool dry = false, int threads = 0) {
    SettleOptions o;
    o.dry_run = dry;
    o.threads = threads;
    auto r = settlement_->settle("shop", date, o);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : SettlementRun{};
  }
  Amount bal(const std::string& a) { return *ledger_->snapshot()->balance(a, "EUR"); }
  // Payees p0..p{n-1}, each with bank details and one delivered sale of 20.00: 17.17 paid each
  // on 2026-01-26.
  void paid_payees(int n) {
    Batch b;
    for (int p = 0; p < n; ++p) {
      std::string payee = "p" + std::to_string(p);
      b.push_back(rules_->event_op(Event{EventHeader{"pd" + payee, kJan5, "shop", {}},
                                         PayeeDetailsEvent{payee, "Payee", kIban, ""}}));
      b.push_back(
          rules_->event_op(Event{EventHeader{"o" + payee, kJan5, "shop", {}},
                                 SaleEvent{payee, "20.00", "EUR", "product", std::nullopt}}));
      b.push_back(rules_->event_op(
          Event{EventHeader{"d" + payee, kJan5, "shop", {}}, DeliveredEvent{"o" + payee}}));
    }
    for (auto& r : ledger_->submit_and_wait(std::move(b))) ASSERT_TRUE(r.ok()) << r.message;
  }

  TempDir dir_;
  Config config_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<Rules> rules_;
  std::unique_ptr<Settlement> settlement_;
};

TEST_F(RunTest, ReleasesAfterTheHoldAndPaysAboveTheMinimum) {
  details("p1");
  details("a7");
  send("o-1", SaleEvent{"p1", "120.00", "EUR", "product", "a7"});
  send("d-1", DeliveredEvent{"o-1"}, kJan5 + kNsPerDay);  // releases 2026-01-20T10:00Z
  auto jan19 = settle("2026-01-19");                      // cut-off 2026-01-18T23:00Z: nothing due
  EXPECT_TRUE(jan19.released.empty());
  EXPECT_TRUE(jan19.payouts.empty());
  auto jan26 = settle("2026-01-26");
  EXPECT_EQ(
      run_json(jan26),
      R"({"run":"shop:2026-01-26","marketplace":"shop","pay_date":"2026-01-26","cutoff":"2026-01-25T23:00:00Z",)"
      R"("released":[{"payee":"a7","currency":"EUR","amount":"8.40"},{"payee":"p1","currency":"EUR","amount":"104.27"}],)"
      R"("payouts":[{"payout":"shop:2026-01-26:p1:EUR","payee":"p1","currency":"EUR","amount":"104.27",)"
      R"("tax":"0.00","kept":"0.00"}],)"
      R"("carried":[{"payee":"a7","currency":"EUR","balance":"8.40","reason":"below_minimum"}],)"
      R"("reserved":[],"reserve_released":[],)"
      R"("totals":[{"currency":"EUR","released":"112.67","paid":"104.27","carried":"8.40","payees_paid":1,"payees_carried":1,)"
      R"("reserved":"0.00","reserve_released":"0.00","tax":"0.00","kept":"0.00"}]})");
  EXPECT_TRUE(bal("shop:payees:p1:pending").is_zero());
  EXPECT_TRUE(bal("shop:payees:p1:available").is_zero());
  EXPECT_EQ(bal("shop:payees:a7:available"), amt("8.40", "EUR"));
  EXPECT_EQ(bal("shop:payouts:in_transit"), amt("104.27", "EUR"));
  ASSERT_EQ(jan26.lines.size(), 1u);
  EXPECT_EQ(jan26.lines[0].creditor_account, kIban);
  // A rerun returns the same run and posts nothing.
  auto seq = ledger_->snapshot()->last_seq();
  auto again = settle("2026-01-26");
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(run_json(again), run_json(jan26));
  EXPECT_EQ(ledger_->snapshot()->last_seq(), seq);
  // The bank pays it.
  send("res-1", PayoutResultEvent{"shop:2026-01-26:p1:EUR", true, ""});
  EXPECT_TRUE(bal("shop:payouts:in_transit").is_zero());
  EXPECT_TRUE(ledger_->snapshot()->verify().ok);
}

// A payee whose available account was closed after its sale is carried (account_closed):
// nothing of it is released or paid, its holds stay, and the run goes on to the others. Closed
// before the plan (the plan sees it) or between plan and commit (the chunk learns it from the
// ledger and decides again): the same result.
class ClosedPayeeTest : public RunTest, public ::testing::WithParamInterface<bool> {};

TEST_P(ClosedPayeeTest, IsCarriedAndTheRunGoesOn) {
  const bool between = GetParam();
  for (const char* p : {"p0", "p1", "p2"}) {
    details(p);
    send(std::string("o-") + p, SaleEvent{p, "120.00", "EUR", "product", std::nullopt});
    send(std::string("d-") + p, DeliveredEvent{std::string("o-") + p}, kJan5 + kNsPerDay);
  }
  auto close = [&] {
    ASSERT_TRUE(
        ledger_->submit_and_wait(batch(make_close_account("shop:payees:p1:available")))[0].ok());
  };
  const Amount pending = bal("shop:payees:p1:pending");
  SettleOptions o;
  if (between)
    o.progress = [&, done = false](const RunProgress& p) mutable {
      if (p.phase != RunProgress::Phase::planning || done) return;
      done = true;  // planned: close it before the chunk commits
      close();
    };
  else
    close();
  auto r = settlement_->settle("shop", "2026-01-26", o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->state, RunState::complete);
  EXPECT_EQ(r->payouts.size(), 2u);
  ASSERT_EQ(r->carried.size(), 1u);
  EXPECT_EQ(r->carried[0].payee, "p1");
  EXPECT_EQ(r->carried[0].reason, SettlementCarry::account_closed);
  EXPECT_EQ(r->redecided, between ? 1u : 0u);
  EXPECT_EQ(bal("shop:payees:p1:pending"), pending);  // nothing released
  EXPECT_TRUE(bal("shop:payees:p0:pending").is_zero());
  EXPECT_TRUE(bal("shop:payees:p2:pending").is_zero());
  auto snap = ledger_->snapshot();
  i128 held = 0;
  tables::visit_payee_holds(
      *snap, rules_->tables(), "shop", "p1",
      [&](std::string_view, std::string_view, const tables::HoldValue& v) { held += v.remaining; });
  EXPECT_EQ(held, pending.minor());  // p1's holds are all still there
  EXPECT_TRUE(snap->verify().ok);
}

INSTANTIATE_TEST_SUITE_P(BeforeOrDuringTheRun, ClosedPayeeTest, ::testing::Bool(),
                         [](const auto& info) {
                           return info.param ? std::string("BetweenPlanAndCommit")
                                             : std::string("BeforeThePlan");
                         });

// A payee whose entry the books refuse for another reason (here a plain entry took money out of
// its pending account, so its holds are more than its pending balance: overdraft) stops the run
// there, naming it: the payees before it stay settled, the run stays in progress and refuses
// other pay dates until, the books mended, it is settled again and completes, paying no one twice.
TEST_F(RunTest, ARefusedPayeeStopsTheRunThereAndItCompletesOnceTheBooksAreMended) {
  for (const char* p : {"p0", "p1", "p2"}) {
    details(p);
    send(std::string("o-") + p, SaleEvent{p, "120.00", "EUR", "product", std::nullopt});
    send(std::string("d-") + p, DeliveredEvent{std::string("o-") + p}, kJan5 + kNsPerDay);
  }
  auto open = [&](const char* name, AccountKind kind) {
    ASSERT_TRUE(
        ledger_->submit_and_wait(batch(make_open_account(account(name, kind, {"EUR"}))))[0].ok());
  };
  open("ops:suspense", AccountKind::asset);
  auto move = [&](const char* id, bool out) {
    Posting pend{"shop:payees:p1:pending", cur("EUR"), out ? Side::debit : Side::credit,
                 amt("5.00", "EUR")};
    Posting sus{"ops:suspense", cur("EUR"), out ? Side::credit : Side::debit, amt("5.00", "EUR")};
    ASSERT_TRUE(ledger_->submit_and_wait(batch(make_post_entry(entry(id, {pend, sus}))))[0].ok());
  };
  move("take", true);
  auto r = settlement_->settle("shop", "2026-01-26", SettleOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::overdraft) << r.error().message;
  EXPECT_NE(r.error().message.find("payee p1"), std::string::npos) << r.error().message;
  auto runs = settlement_->runs("shop");
  ASSERT_TRUE(runs.ok() && runs->size() == 1);
  EXPECT_EQ((*runs)[0].state, RunState::in_progress);
  EXPECT_EQ((*runs)[0].payees, 1u);  // p0
  EXPECT_EQ((*runs)[0].payouts, 1u);
  EXPECT_TRUE(bal("shop:payees:p0:pending").is_zero());
  EXPECT_FALSE(bal("shop:payees:p1:pending").is_zero());
  EXPECT_FALSE(bal("shop:payees:p2:pending").is_zero());
  EXPECT_TRUE(ledger_->snapshot()->verify().ok);
  // Another pay date waits for this one.
  auto other = settlement_->settle("shop", "2026-02-09", SettleOptions{});
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, Code::run_in_progress) << other.error().message;
  // Mended: the run completes, from p1 on, and its output is the whole run.
  move("give-back", false);
  auto done = settle("2026-01-26");
  EXPECT_EQ(done.state, RunState::complete);
  EXPECT_FALSE(done.replayed);
  ASSERT_EQ(done.payouts.size(), 3u);
  EXPECT_EQ(done.payouts[0].payee, "p0");
  EXPECT_EQ(bal("shop:payouts:in_transit"), Amount::from_minor(3 * 10427));
  auto again = settle("2026-01-26");
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(run_json(again), run_json(done));
  EXPECT_TRUE(ledger_->snapshot()->verify().ok);
}

TEST_F(RunTest, PayDatesMoveOffHolidaysAndOtherDatesAreRefused) {
  EXPECT_EQ(settlement_->settle("shop", "2026-01-13").error().code, Code::not_a_pay_date);
  EXPECT_EQ(settlement_->settle("shop", "2026-02-02").error().code,
            Code::not_a_pay_date);                              // holiday
  EXPECT_TRUE(settlement_->settle("shop", "2026-02-03").ok());  // moved to Tuesday
  EXPECT_EQ(settlement_->settle("nope", "2026-02-03").error().code, Code::unknown_marketplace);
  EXPECT_EQ(settlement_->settle("shop", "2026-13-01").error().code, Code::bad_date);
  EXPECT_EQ(settlement_->settle("shop", "2026-12-28").error().code,
            Code::bad_date);  // future cut-off
}

TEST_F(RunTest, DryRunEqualsTheRealRunAndCommitsNothing) {
  details("p1");
  send("o-1", SaleEvent{"p1", "50.00", "EUR", "service", std::nullopt});
  send("d-1", DeliveredEvent{"o-1"}, kJan5);
  auto seq = ledger_->snapshot()->last_seq();
  auto preview = settle("2026-01-26", true);
  EXPECT_EQ(ledger_->snapshot()->last_seq(), seq);
  EXPECT_FALSE(preview.payouts.empty());
  auto real = settle("2026-01-26");
  EXPECT_EQ(run_json(preview), run_json(real));
}

TEST_F(RunTest, RefundAfterPayoutIsCarriedNegativeAndNettedNextRun) {
  details("p1");
  send("o-1",
       SaleEvent{"p1", "100.00", "EUR", "product", std::nullopt});  // seller 100-10-3.15 = 86.85
  send("d-1", DeliveredEvent{"o-1"}, kJan5);
  auto r1 = settle("2026-01-26");
  ASSERT_EQ(r1.payouts.size(), 1u);
  EXPECT_EQ(r1.payouts[0].amount, amt("86.85", "EUR"));
  send("rf-1", RefundEvent{"o-1", "50.00"},
       kJan5 + 22 * kNsPerDay);  // seller share 45.00, all from available
  auto r2 = settle("2026-02-03");
  ASSERT_EQ(r2.carried.size(), 1u);
  EXPECT_EQ(r2.carried[0].reason, SettlementCarry::negative);
  EXPECT_EQ(r2.carried[0].balance, amt("-45.00", "EUR"));
  send("o-2", SaleEvent{"p1", "200.00", "EUR", "product", std::nullopt},
       kJan5 + 30 * kNsPerDay);  // 200-20-6.05 = 173.95
  send("d-2", DeliveredEvent{"o-2"}, kJan5 + 30 * kNsPerDay);
  auto r3 = settle("2026-02-23");
  ASSERT_EQ(r3.payouts.size(), 1u);
  EXPECT_EQ(r3.payouts[0].amount, amt("128.95", "EUR"));  // 173.95 - 45.00
}

TEST_F(RunTest, PayeeOnHoldAccruesButIsNotPaidAndFailedPayoutReturnsFunds) {
  details("p1");
  send("o-1", SaleEvent{"p1", "100.00", "EUR", "product", std::nullopt});
  send("d-1", DeliveredEvent{"o-1"}, kJan5);
  send("h-1", PayeeHoldEvent{"p1", true, "kyc pending"});
  auto r1 = settle("2026-01-26");
  ASSERT_EQ(r1.carried.size(), 1u);
  EXPECT_EQ(r1.carried[0].reason, SettlementCarry::on_hold);
  EXPECT_EQ(bal("shop:payees:p1:available"), amt("86.85", "EUR"));  // released all the same
  send("h-2", PayeeHoldEvent{"p1", false, ""});
  auto r2 = settle("2026-02-03");
  ASSERT_EQ(r2.payouts.size(), 1u);
  send("res-1", PayoutResultEvent{r2.payouts[0].payout, false, "account closed"});
  EXPECT_EQ(bal("shop:payees:p1:available"), amt("86.85", "EUR"));
  EXPECT_TRUE(bal("shop:payouts:in_transit").is_zero());
  auto r3 = settle("2026-02-09");
  ASSERT_EQ(r3.carried.size(), 1u);
  EXPECT_EQ(r3.carried[0].reason, SettlementCarry::on_hold);
  // A second result for the same payout is refused.
  Event again{EventHeader{"res-2", kJan5, "shop", {}},
              PayoutResultEvent{r2.payouts[0].payout, true, ""}};
  Batch b;
  b.push_back(rules_->event_op(std::move(again)));
  EXPECT_EQ(ledger_->submit_and_wait(std::move(b))[0].code, Code::payout_already_settled);
}

TEST_F(RunTest, PayeeWithoutBankDetailsIsCarried) {
  send("o-1", SaleEvent{"p9", "100.00", "EUR", "product", std::nullopt});
  send("d-1", DeliveredEvent{"o-1"}, kJan5);
  auto r = settle("2026-01-26");
  ASSERT_EQ(r.carried.size(), 1u);
  EXPECT_EQ(r.carried[0].reason, SettlementCarry::no_details);
}

// The same books settled with 1, 2 and 8 planning threads and chunks of 1000, 37 and 5 payees,
// each in a store of its own: the same run JSON (dry and real), the same entries (content, in
// journal order) and the same payout files.
TEST_F(RunTest, OutputIsByteIdenticalWhateverTheThreadsAndTheChunkSize) {
  tbb::global_control allow(tbb::global_control::max_allowed_parallelism, 8);
  auto populate = [&] {
    std::mt19937_64 rng(99);
    Batch b;
    for (int p = 0; p < 400; ++p) {
      std::string payee = "p" + std::to_string(p);
      if (p % 7)
        b.push_back(rules_->event_op(Event{EventHeader{"pd" + payee, kJan5, "shop", {}},
                                           PayeeDetailsEvent{payee, "Payee", kIban, ""}}));
    }
    for (int i = 0; i < 1500; ++i) {
      std::string id = "o" + std::to_string(i);
      std::string payee = "p" + std::to_string(rng() % 400);
      i128 cents = 500 + static_cast<i128>(rng() % 20000);
      b.push_back(rules_->event_op(Event{
          EventHeader{id, kJan5, "shop", {}},
          SaleEvent{payee, format_amount(Amount::from_minor(cents), 2), "EUR", "product",
                    rng() % 3 ? std::nullopt
                              : std::optional<std::string>("a" + std::to_string(rng() % 9))}}));
      if (rng() % 4)
        b.push_back(rules_->event_op(Event{
            EventHeader{"d" + id, kJan5 + static_cast<TimeNs>(rng() % 20) * kNsPerDay, "shop", {}},
            DeliveredEvent{id}}));
    }
    for (auto& r : ledger_->submit_and_wait(std::move(b))) ASSERT_TRUE(r.ok()) << r.message;
  };
  struct Output {
    std::string dry, real, entries, csv;
  };
  auto settle_with = [&](int threads, uint64_t chunk) {
    open(LedgerOptions{}.map_size_bytes, "t" + std::to_string(threads));
    populate();
    Output out;
    SettleOptions o;
    o.threads = threads;
    o.chunk_payees = chunk;
    o.dry_run = true;
    out.dry = run_json(*settlement_->settle("shop", "2026-01-26", o));
    o.dry_run = false;
    auto run = settlement_->settle("shop", "2026-01-26", o);
    EXPECT_TRUE(run.ok());
    out.real = run_json(*run);
    EXPECT_EQ(run->chunks, (run->payees + chunk - 1) / chunk);
    ledger_->snapshot()->entries(1, [&](const EntryView& e) {
      if (e.entry.kind == "settlement") out.entries += canonical_entry_bytes(e.entry) + "\n";
      return true;
    });
    out.csv = *payout_csv(run->lines);
    EXPECT_TRUE(ledger_->snapshot()->verify().ok);
    for (auto& row : ledger_->snapshot()->trial_balance()) EXPECT_EQ(row.debits, row.credits);
    return out;
  };
  Output one = settle_with(1, 1000), two = settle_with(2, 37), eight = settle_with(8, 5);
  EXPECT_GT(one.real.size(), 10000u);
  EXPECT_GT(one.entries.size(), 10000u);
  for (const Output* o : {&two, &eight}) {
    EXPECT_EQ(o->dry, one.dry);
    EXPECT_EQ(o->real, one.real);
    EXPECT_EQ(o->entries, one.entries);
    EXPECT_EQ(o->csv, one.csv);
  }
  EXPECT_EQ(one.dry, one.real);
}

// A run that needs more room than the map has grows the map in place, as any write does. (It
// used to keep its planning snapshots open while it was committed, so the writer could not grow
// the map and the run failed with store_full.)
TEST_F(RunTest, ARunThatFillsTheMapGrowsIt) {
  constexpr int kPayees = 2000;
  Batch b;
  for (int p = 0; p < kPayees; ++p) {
    std::string payee = "p" + std::to_string(p), id = "o" + std::to_string(p);
    b.push_back(rules_->event_op(Event{EventHeader{"pd" + payee, kJan5, "shop", {}},
                                       PayeeDetailsEvent{payee, "Payee", kIban, ""}}));
    b.push_back(rules_->event_op(Event{EventHeader{id, kJan5, "shop", {}},
                                       SaleEvent{payee, "50.00", "EUR", "product", {}}}));
    b.push_back(
        rules_->event_op(Event{EventHeader{"d" + id, kJan5, "shop", {}}, DeliveredEvent{id}}));
  }
  for (auto& r : ledger_->submit_and_wait(std::move(b))) ASSERT_TRUE(r.ok()) << r.message;
  open(1);  // LMDB opens it at the size the store has: the run's pages must come from growth
  auto run = settle("2026-01-26");
  EXPECT_EQ(run.released.size(), size_t(kPayees));
  EXPECT_EQ(run.payouts.size(), size_t(kPayees));
  auto snap = ledger_->snapshot();
  EXPECT_EQ(*snap->balance("shop:payouts:in_transit", "EUR"), amt("86600.00", "EUR"));
  EXPECT_TRUE(snap->verify().ok);
}

// The writer is handed chunk k+1 the moment chunk k is durable, before chunk k's rows go out: the
// rows of chunk 1 are held until the journal shows chunk 2 committed. (Before, chunk 2 went to
// the writer only after chunk 1's rows were out and its plan freed, so this waited in vain.)
TEST_F(RunTest, TheNextChunkCommitsWhileTheRowsOfTheLastGoOut) {
  paid_payees(600);
  SettleOptions o;
  o.chunk_payees = 200;
  int calls = 0;
  uint64_t chunks_seen = 0;  // by the first call of the sink, once chunk 2 is durable (or never)
  uint64_t rows = 0;
  o.rows = [&](RunRows&& part) {
    rows += part.payouts.size();
    if (calls++ > 0) return;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (chunks_seen < 2 && std::chrono::steady_clock::now() < deadline) {
      auto runs = settlement_->runs("shop");
      if (runs.ok() && !runs->empty()) chunks_seen = (*runs)[0].chunks;
      if (chunks_seen < 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  auto r = settlement_->settle("shop", "2026-01-26", o);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(chunks_seen, 2u) << "chunk 2 did not commit while chunk 1's rows were going out";
  EXPECT_EQ(r->chunks, 3u);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(rows, 600u);
  EXPECT_EQ(bal("shop:payouts:in_transit"), Amount::from_minor(600 * 1717));
}

// A stop asked for while chunk k's rows go out (chunk k+1 is with the writer by then) ends the run
// after chunk k+1, in progress, with every row of what it committed delivered; the next settle
// completes it, paying each payee once.
TEST_F(RunTest, AStopBetweenChunksEndsTheRunInProgressAndTheNextSettleCompletesIt) {
  paid_payees(1000);
  std::atomic<bool> stop{false};
  SettleOptions o;
  o.chunk_payees = 200;
  o.stop = &stop;
  uint64_t rows = 0;
  o.rows = [&](RunRows&& part) {
    rows += part.payouts.size();
    stop = true;  // during chunk 1's rows
  };
  auto r = settlement_->settle("shop", "2026-01-26", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::interrupted) << r.error().message;
  auto runs = settlement_->runs("shop");
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].state, RunState::in_progress);
  EXPECT_EQ((*runs)[0].chunks, 2u);
  EXPECT_EQ(rows, 400u) << "the rows of both committed chunks went out";
  EXPECT_EQ(bal("shop:payouts:in_transit"), Amount::from_minor(400 * 1717));
  auto again = settle("2026-01-26");
  EXPECT_EQ(again.state, RunState::complete);
  EXPECT_EQ(again.payouts.size(), 1000u);  // the whole run's rows: the first 400 from the journal
  EXPECT_EQ(bal("shop:payouts:in_transit"), Amount::from_minor(1000 * 1717));
  EXPECT_TRUE(ledger_->snapshot()->verify().ok);
}

// SIGKILL of a process in the middle of a run committed in chunks of 200 payees, at later and
// later moments (in steps of half a dry run's time) until a run survives whole: after each kill
// the books hold a consistent prefix of the run (every payee up to the journal's last payee
// released and paid, none after it; M:payouts:in_transit exactly their payouts), verify passes,
// and the next settle completes the run from where it stopped, paying no one twice.
TEST_F(RunTest, CrashDuringAChunkedRunLeavesAPrefixThatTheNextSettleCompletesOnce) {
  constexpr int kPayees = 3000;
  std::vector<std::string> payees;
  Batch b;
  for (int p = 0; p < kPayees; ++p) {
    std::string payee = "p" + std::to_string(p);
    payees.push_back(payee);
    b.push_back(rules_->event_op(Event{EventHeader{"pd" + payee, kJan5, "shop", {}},
                                       PayeeDetailsEvent{payee, "Payee", kIban, ""}}));
    b.push_back(rules_->event_op(Event{EventHeader{"o" + payee, kJan5, "shop", {}},
                                       SaleEvent{payee, "20.00", "EUR", "product", std::nullopt}}));
    b.push_back(rules_->event_op(
        Event{EventHeader{"d" + payee, kJan5, "shop", {}}, DeliveredEvent{"o" + payee}}));
  }
  for (auto& r : ledger_->submit_and_wait(std::move(b))) ASSERT_TRUE(r.ok()) << r.message;
  std::sort(payees.begin(), payees.end());  // payee order
  SettleOptions chunked;
  chunked.chunk_payees = 200;
  std::mt19937_64 rng(5);
  auto t0 = std::chrono::steady_clock::now();
  SettleOptions dry = chunked;
  dry.dry_run = true;
  ASSERT_EQ(settlement_->settle("shop", "2026-01-26", dry)->payouts.size(), size_t(kPayees));
  const uint64_t dry_ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count());
  // Each payee nets 20.00 - 2.00 commission - (0.58 + 0.25) fee = 17.17.
  constexpr i128 kNet = 1717;
  int whole = 0, none = 0, part = 0;
  std::vector<uint64_t> kills_ms;
  for (int round = 0; round < 40 && whole == 0; ++round) {
    settlement_.reset();
    rules_.reset();
    ledger_.reset();
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      open();
      auto r = settlement_->settle("shop", "2026-01-26", chunked);
      _exit(r.ok() ? 0 : 1);
    }
    const uint64_t kill_ms = dry_ms / 2 * (round + 1) + rng() % (dry_ms / 2 + 1);
    kills_ms.push_back(kill_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(kill_ms));
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    open();
    auto snap = ledger_->snapshot();
    ASSERT_TRUE(snap->verify().ok);
    auto runs = settlement_->runs("shop");
    ASSERT_TRUE(runs.ok());
    std::string last;
    uint64_t done = 0;
    if (runs->empty()) {
      ++none;
    } else {
      ASSERT_EQ(runs->size(), 1u);
      done = (*runs)[0].payees;
      if ((*runs)[0].state == RunState::complete) {
        ++whole;
        EXPECT_EQ(done, uint64_t(kPayees));
      } else {
        ++part;
      }
      if (done > 0) last = payees[done - 1];
    }
    auto transit = snap->balance("shop:payouts:in_transit", "EUR");  // opened by the first chunk
    EXPECT_EQ(transit.ok() ? *transit : Amount(),
              Amount::from_minor(kNet * static_cast<i128>(done)));
    for (uint64_t i = 0; i < payees.size(); i += 97) {  // a sample of payees, both sides
      bool released = bal("shop:payees:" + payees[i] + ":pending").is_zero();
      EXPECT_EQ(released, i < done) << payees[i] << " with " << done << " payees done";
    }
    if (done > 0) {
      EXPECT_TRUE(bal("shop:payees:" + last + ":pending").is_zero());
    }
    if (done < payees.size()) {
      EXPECT_FALSE(bal("shop:payees:" + payees[done] + ":pending").is_zero());
    }
  }
  // Whatever happened, a rerun completes the run exactly once.
  auto r = settle("2026-01-26");
  EXPECT_EQ(r.state, RunState::complete);
  EXPECT_EQ(r.payouts.size(), size_t(kPayees));
  for (const auto& p : payees) EXPECT_TRUE(bal("shop:payees:" + p + ":pending").is_zero()) << p;
  EXPECT_TRUE(bal("shop:payees:p2999:available").is_zero());
  EXPECT_EQ(bal("shop:payouts:in_transit"), Amount::from_minor(kPayees * kNet));
  EXPECT_TRUE(ledger_->snapshot()->verify().ok);
  EXPECT_GT(none + part, 0) << "no kill landed inside the run";
  std::printf("dry run %llu ms; killed at", (unsigned long long)dry_ms);
  for (uint64_t ms : kills_ms) std::printf(" %llu", (unsigned long long)ms);
  std::printf(" ms: %d left no trace, %d a part, then %d whole\n", none, part, whole);
}

}  // namespace
}  // namespace tally
