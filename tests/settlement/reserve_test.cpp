// Reserves and kept balances (SPEC section 8): `reserve = { rate, days }` keeps that share of each
// release back (in M:payees:P:reserve, allocated over the released sales) until a later run's
// cut-off passes the release time; refunds and chargebacks draw first from the sale's reserve;
// `minimum_balance` keeps that much on available at each payout; payee_terms override both per
// payee, with history; a run decides again a payee whose reserves or terms moved between its plan
// and its commit. The `shop` marketplace of payouts_fixture.h: EUR, sellers keep 90%, released 14
// days after the sale, paid on Mondays (Paris), 10% kept back for 90 days.
#include <gmock/gmock.h>

#include "payouts_fixture.h"

namespace tally {
namespace {

using namespace tally::testing;
using ::testing::HasSubstr;

class ReserveTest : public PayoutsTest {
 protected:
  std::vector<tables::Hold> reserves(const std::string& payee) {
    auto snap = ledger_->snapshot();
    return tables::payee_reserves(*snap, rules_->tables(), "shop", payee);
  }
  std::string entry_text(const std::string& id) {
    auto snap = ledger_->snapshot();
    auto e = snap->entry(id);
    EXPECT_TRUE(e) << id;
    std::string o;
    if (!e) return o;
    for (auto& p : e->entry.postings)
      o += std::string(o.empty() ? "" : " | ") + (p.side == Side::debit ? "D " : "C ") + p.account +
           " " + format_amount(p.amount, p.currency);
    return o;
  }
  const RunTotal& total(const SettlementRun& r) {
    EXPECT_EQ(r.totals.size(), 1u);
    return r.totals.at(0);
  }
};

TEST_F(ReserveTest, ATenPercentReserveIsKeptAndReleasedNinetyDaysLater) {
  details("shop", "p1");
  post("shop", "o-1", at("2026-01-05T10:00:00Z"), SaleEvent{"p1", "200.00", "EUR", "product", {}});
  post("shop", "o-2", at("2026-01-06T10:00:00Z"), SaleEvent{"p1", "100.00", "EUR", "product", {}});
  // 2026-01-26 (cut-off 2026-01-25T23:00Z): both holds released, 180.00 + 90.00; 10% kept.
  auto jan = settle("shop", "2026-01-26");
  ASSERT_EQ(jan.released.size(), 1u);
  EXPECT_EQ(format_amount(jan.released[0].amount, 2), "270.00");
  ASSERT_EQ(jan.reserved.size(), 1u);
  EXPECT_EQ(format_amount(jan.reserved[0].amount, 2), "27.00");
  ASSERT_EQ(jan.payouts.size(), 1u);
  EXPECT_EQ(format_amount(jan.payouts[0].amount, 2), "243.00");
  EXPECT_EQ(format_amount(total(jan).reserved, 2), "27.00");
  EXPECT_EQ(entry_text("~shop:2026-01-26:settle:p1"),
            "D shop:payees:p1:pending 270.00 | C shop:payees:p1:available 270.00 | "
            "D shop:payees:p1:available 27.00 | C shop:payees:p1:reserve 27.00 | "
            "D shop:payees:p1:available 243.00 | C shop:payouts:in_transit 243.00");
  EXPECT_EQ(bal("shop:payees:p1:reserve", "EUR"), "27.00");
  // Allocated over the sales released, each releasing 90 days after the cut-off.
  auto rs = reserves("p1");
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].origin, "o-1");
  EXPECT_EQ(format_amount(Amount::from_minor(rs[0].value.remaining), 2), "18.00");
  EXPECT_EQ(rs[1].origin, "o-2");
  EXPECT_EQ(format_amount(Amount::from_minor(rs[1].value.remaining), 2), "9.00");
  EXPECT_EQ(format_rfc3339(rs[0].value.release), "2026-04-25T23:00:00Z");
  // 2026-04-20 (cut-off 2026-04-19T22:00Z, summer time): still kept.
  auto apr20 = settle("shop", "2026-04-20");
  EXPECT_TRUE(apr20.reserve_released.empty());
  EXPECT_EQ(bal("shop:payees:p1:reserve", "EUR"), "27.00");
  // 2026-04-27 (cut-off 2026-04-26T22:00Z): released and paid.
  auto apr27 = settle("shop", "2026-04-27");
  ASSERT_EQ(apr27.reserve_released.size(), 1u);
  EXPECT_EQ(format_amount(apr27.reserve_released[0].amount, 2), "27.00");
  EXPECT_EQ(format_amount(total(apr27).reserve_released, 2), "27.00");
  ASSERT_EQ(apr27.payouts.size(), 1u);
  EXPECT_EQ(format_amount(apr27.payouts[0].amount, 2), "27.00");
  EXPECT_EQ(entry_text("~shop:2026-04-27:settle:p1"),
            "D shop:payees:p1:reserve 27.00 | C shop:payees:p1:available 27.00 | "
            "D shop:payees:p1:available 27.00 | C shop:payouts:in_transit 27.00");
  EXPECT_TRUE(reserves("p1").empty());
  EXPECT_EQ(bal("shop:payees:p1:reserve", "EUR"), "0.00");
  expect_books_whole();
}

TEST_F(ReserveTest, AnAwkwardReleaseIsRoundedOnceAndAllocatedOverItsSales) {
  details("shop", "p1");
  // Three sales whose sellers' parts are 30.00, 30.00 and 30.03 (commission 10% half_even):
  // released together 90.03, reserve 9.003 -> 9.00, allocated 3.00 / 3.00 / 3.00 (remainders
  // 0.0, 0.0, 0.03 of a cent...: the largest remainder takes nothing left over).
  post("shop", "o-1", at("2026-01-05T10:00:00Z"), SaleEvent{"p1", "33.33", "EUR", "product", {}});
  post("shop", "o-2", at("2026-01-05T11:00:00Z"), SaleEvent{"p1", "33.33", "EUR", "product", {}});
  post("shop", "o-3", at("2026-01-05T12:00:00Z"), SaleEvent{"p1", "33.37", "EUR", "product", {}});
  // 33.33: C 3.333 -> 3.33, seller 30.00; 33.37: C 3.337 -> 3.34, seller 30.03.
  auto run = settle("shop", "2026-01-26");
  EXPECT_EQ(format_amount(run.released[0].amount, 2), "90.03");
  EXPECT_EQ(format_amount(run.reserved[0].amount, 2), "9.00");
  auto rs = reserves("p1");
  ASSERT_EQ(rs.size(), 3u);
  i128 sum = 0;
  for (auto& r : rs) sum += r.value.remaining;
  EXPECT_EQ(sum, 900);
  // Exact shares: 9.00 * 30.00/90.03 = 2.99900.. cents 299.900, 299.900, 300.199: truncated 299,
  // 299, 300 (898), the 2 cents left over to the largest remainders (0.900, 0.900; 0.199 last).
  EXPECT_EQ(rs[0].value.remaining, 300);
  EXPECT_EQ(rs[1].value.remaining, 300);
  EXPECT_EQ(rs[2].value.remaining, 300);
  expect_books_whole();
}

TEST_F(ReserveTest, RefundsAndChargebacksDrawFirstFromTheSalesReserve) {
  details("shop", "p2");
  post("shop", "o-3", at("2026-01-05T10:00:00Z"), SaleEvent{"p2", "100.00", "EUR", "product", {}});
  post("shop", "o-4", at("2026-01-20T10:00:00Z"), SaleEvent{"p2", "50.00", "EUR", "product", {}});
  auto jan = settle("shop", "2026-01-26");  // o-3: 90.00 released, 9.00 kept, 81.00 paid
  EXPECT_EQ(format_amount(jan.payouts[0].amount, 2), "81.00");
  // A refund of 30.00 of o-3 after: the seller's 27.00 comes out of o-3's reserve (9.00), then
  // (no hold left) out of available.
  auto r1 = post("shop", "rf-3", at("2026-02-03T10:00:00Z"), RefundEvent{"o-3", "30.00"});
  EXPECT_EQ(entry_text("rf-3"),
            "C shop:cash 30.00 | D shop:revenue:commission 3.00 | "
            "D shop:payees:p2:reserve 9.00 | D shop:payees:p2:available 18.00");
  EXPECT_EQ(bal("shop:payees:p2:reserve", "EUR"), "0.00");
  EXPECT_EQ(bal("shop:payees:p2:available", "EUR"), "-18.00");
  // A refund of o-4 while its hold is pending: from pending, as before (no reserve yet).
  post("shop", "rf-4a", at("2026-01-21T10:00:00Z"), RefundEvent{"o-4", "10.00"}, true);
  EXPECT_EQ(entry_text("rf-4a"),
            "C shop:cash 10.00 | D shop:revenue:commission 1.00 | D shop:payees:p2:pending 9.00");
  // 2026-02-09: o-4's hold (45.00 - 9.00 = 36.00) released, 3.60 kept; -18.00 + 32.40 = 14.40.
  auto feb = settle("shop", "2026-02-09");
  EXPECT_EQ(format_amount(feb.released[0].amount, 2), "36.00");
  EXPECT_EQ(format_amount(feb.reserved[0].amount, 2), "3.60");
  ASSERT_EQ(feb.payouts.size(), 1u);
  EXPECT_EQ(format_amount(feb.payouts[0].amount, 2), "14.40");
  // A chargeback of 20.00 of o-4 with a fee: the seller's 18.00 from o-4's reserve 3.60 first.
  post("shop", "cb-4", at("2026-02-10T10:00:00Z"), ChargebackEvent{"o-4", "20.00", "5.00"});
  EXPECT_EQ(entry_text("cb-4"),
            "C shop:cash 20.00 | D shop:revenue:commission 2.00 | "
            "D shop:payees:p2:reserve 3.60 | D shop:payees:p2:available 14.40 | "
            "D shop:expense:bank_fees 5.00 | C shop:cash 5.00 | "
            "D shop:payees:p2:available 5.00 | C shop:revenue:fee_recharge 5.00");
  EXPECT_TRUE(reserves("p2").empty());
  EXPECT_EQ(bal("shop:payees:p2:available", "EUR"), "-19.40");
  (void)r1;
  expect_books_whole();
}

TEST_F(ReserveTest, PayeeTermsOverrideTheReserveAndKeepAMinimumBalance) {
  for (const char* p : {"p3", "p4", "p5"}) details("shop", p);
  // p3: no reserve, 50.00 kept on available. p4: 20% for 7 days. p5: the marketplace's.
  terms("shop", "t-p3", at("2026-01-02T00:00:00Z"),
        PayeeTermsEvent{"p3", PayeeTermsEvent::Reserve{"0%", 1}, {{"EUR", "50.00"}}});
  terms("shop", "t-p4", at("2026-01-02T00:00:00Z"),
        PayeeTermsEvent{"p4", PayeeTermsEvent::Reserve{"20%", 7}, {}});
  for (const char* p : {"p3", "p4", "p5"})
    post("shop", std::string("o-") + p, at("2026-01-05T10:00:00Z"),
         SaleEvent{p, "200.00", "EUR", "product", {}});
  auto jan = settle("shop", "2026-01-26");
  ASSERT_EQ(jan.payouts.size(), 3u);
  EXPECT_EQ(format_amount(jan.payouts[0].amount, 2), "130.00");  // p3: 180.00 - 50.00 kept
  EXPECT_EQ(format_amount(jan.payouts[0].kept, 2), "50.00");
  EXPECT_EQ(format_amount(jan.payouts[1].amount, 2), "144.00");  // p4: 180.00 - 36.00
  EXPECT_EQ(format_amount(jan.payouts[2].amount, 2), "162.00");  // p5: 180.00 - 18.00
  EXPECT_EQ(format_amount(total(jan).reserved, 2), "54.00");
  EXPECT_EQ(format_amount(total(jan).kept, 2), "50.00");
  EXPECT_EQ(bal("shop:payees:p3:available", "EUR"), "50.00");
  EXPECT_EQ(bal("shop:payees:p3:reserve", "EUR"), "");  // never opened
  // 2026-02-02 (cut-off 2026-02-01T23:00Z): p4's reserve, 7 days after the last cut-off, is due.
  auto feb = settle("shop", "2026-02-02");
  ASSERT_EQ(feb.reserve_released.size(), 1u);
  EXPECT_EQ(feb.reserve_released[0].payee, "p4");
  ASSERT_EQ(feb.payouts.size(), 1u);
  EXPECT_EQ(format_amount(feb.payouts[0].amount, 2), "36.00");
  // p3 keeps its 50.00: within the minimum balance, carried.
  ASSERT_EQ(feb.carried.size(), 1u);
  EXPECT_EQ(feb.carried[0].payee, "p3");
  EXPECT_EQ(feb.carried[0].reason, SettlementCarry::below_minimum);
  EXPECT_EQ(format_amount(feb.carried[0].balance, 2), "50.00");
  // New terms for p3, later in business time, without a reserve: the marketplace's 10% again,
  // and no minimum balance (the new terms replace the old whole).
  terms("shop", "t-p3-2", at("2026-02-03T00:00:00Z"), PayeeTermsEvent{"p3", {}, {}});
  post("shop", "o-p3-2", at("2026-02-05T10:00:00Z"),
       SaleEvent{"p3", "100.00", "EUR", "product", {}});
  auto feb23 = settle("shop", "2026-02-23");
  ASSERT_EQ(feb23.payouts.size(), 1u);
  EXPECT_EQ(format_amount(feb23.payouts[0].amount, 2), "131.00");  // 50.00 + 90.00 - 9.00
  EXPECT_TRUE(feb23.payouts[0].kept.is_zero());
  auto snap = ledger_->snapshot();
  auto latest = tables::latest_payee_terms(*snap, rules_->tables(), "shop", "p3");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->event_id, "t-p3-2");
  // The same terms event again: a duplicate; the same id otherwise: a conflict.
  EXPECT_EQ(
      terms("shop", "t-p3-2", at("2026-02-03T00:00:00Z"), PayeeTermsEvent{"p3", {}, {}}).status,
      ItemStatus::duplicate);
  EXPECT_EQ(terms("shop", "t-p3-2", at("2026-02-03T00:00:00Z"),
                  PayeeTermsEvent{"p3", {}, {{"EUR", "1.00"}}}, false)
                .code,
            Code::id_conflict);
  expect_books_whole();
}

TEST_F(ReserveTest, TermsAreChecked) {
  auto refused = [&](PayeeTermsEvent t, Code code, const char* part) {
    auto r = terms("shop", "t-bad", at("2026-01-02T00:00:00Z"), std::move(t), false);
    EXPECT_EQ(r.code, code) << part << ": " << r.message;
    EXPECT_THAT(r.message, HasSubstr(part));
  };
  refused({"p1", PayeeTermsEvent::Reserve{"120%", 10}, {}}, Code::bad_rate, "reserve.rate");
  refused({"p1", PayeeTermsEvent::Reserve{"0.1", 0}, {}}, Code::bad_request, "reserve.days");
  refused({"p1", PayeeTermsEvent::Reserve{"ten", 10}, {}}, Code::bad_rate, "reserve.rate");
  refused({"p1", {}, {{"USD", "1.00"}}}, Code::currency_not_allowed, "minimum_balance.USD");
  refused({"p1", {}, {{"EUR", "-1.00"}}}, Code::bad_amount, "minimum_balance.EUR");
  refused({"p1", {}, {{"EUR", "1.005"}}}, Code::bad_amount, "minimum_balance.EUR");
  refused({"p1", {}, {{"EUR", "1.00"}, {"EUR", "2.00"}}}, Code::bad_request, "given twice");
  refused({"P:1", {}, {}}, Code::bad_request, "payee");
  EXPECT_EQ(
      terms("nope", "t-x", at("2026-01-02T00:00:00Z"), PayeeTermsEvent{"p1", {}, {}}, false).code,
      Code::unknown_marketplace);
}

TEST_F(ReserveTest, AMarketplaceMinimumBalanceIsKeptAtEachPayout) {
  std::string toml = kPayoutsConfig;
  std::string from = R"(reserve = { rate = "10%", days = 90 })";
  toml.replace(toml.find(from), from.size(), R"(minimum_balance = "25.00")");
  auto c = load_config(toml, CurrencyTable());
  ASSERT_TRUE(c.ok()) << c.error().message;
  config_ = std::move(*c);  // the Rules hold a reference to config_: same object, new value
  details("shop", "p1");
  post("shop", "o-1", at("2026-01-05T10:00:00Z"), SaleEvent{"p1", "30.00", "EUR", "product", {}});
  // 27.00 available, 25.00 kept: 2.00 is below the 10.00 minimum payout.
  auto jan = settle("shop", "2026-01-26");
  ASSERT_EQ(jan.carried.size(), 1u);
  EXPECT_EQ(jan.carried[0].reason, SettlementCarry::below_minimum);
  EXPECT_TRUE(jan.reserved.empty());
  post("shop", "o-2", at("2026-01-20T10:00:00Z"), SaleEvent{"p1", "100.00", "EUR", "product", {}});
  auto feb = settle("shop", "2026-02-09");
  ASSERT_EQ(feb.payouts.size(), 1u);
  EXPECT_EQ(format_amount(feb.payouts[0].amount, 2), "92.00");  // 27.00 + 90.00 - 25.00
  EXPECT_EQ(format_amount(feb.payouts[0].kept, 2), "25.00");
  EXPECT_EQ(bal("shop:payees:p1:available", "EUR"), "25.00");
  expect_books_whole();
}

// The chunk's re-decision covers the new inputs: terms posted, and a reserve drawn by a refund,
// between a payee's plan and its commit.
TEST_F(ReserveTest, TermsAndReservesThatMoveBetweenPlanAndCommitAreDecidedAgain) {
  details("shop", "p1");
  details("shop", "p2");
  post("shop", "o-1", at("2026-01-05T10:00:00Z"), SaleEvent{"p1", "100.00", "EUR", "product", {}});
  post("shop", "o-2", at("2026-01-05T10:00:00Z"), SaleEvent{"p2", "100.00", "EUR", "product", {}});
  settle("shop", "2026-01-26");  // each: 9.00 kept until 2026-04-25T23:00Z
  post("shop", "o-3", at("2026-04-01T10:00:00Z"), SaleEvent{"p1", "100.00", "EUR", "product", {}});
  // Planned: p1 releases 90.00, keeps 9.00 of it and gets its 9.00 reserve back: pays 90.00; p2
  // gets its 9.00 reserve back (below the minimum payout: carried).
  SettleOptions o;
  o.progress = [&, done = false](const RunProgress& p) mutable {
    if (p.phase != RunProgress::Phase::planning || done) return;
    done = true;
    // Before the commit: p1's terms drop its reserve and keep 5.00; a refund of o-2 takes p2's
    // reserve.
    terms("shop", "t-p1", at("2026-04-01T00:00:00Z"),
          PayeeTermsEvent{"p1", PayeeTermsEvent::Reserve{"0%", 1}, {{"EUR", "5.00"}}});
    post("shop", "rf-2", at("2026-04-26T10:00:00Z"), RefundEvent{"o-2", "10.00"});
  };
  auto run = settlement_->settle("shop", "2026-04-27", o);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->redecided, 2u);
  ASSERT_EQ(run->payouts.size(), 1u);
  EXPECT_EQ(run->payouts[0].payee, "p1");
  EXPECT_EQ(format_amount(run->payouts[0].amount, 2), "94.00");  // 90.00 + 9.00 - 5.00
  EXPECT_TRUE(run->reserved.empty());
  ASSERT_EQ(run->reserve_released.size(), 1u);  // p2's reserve went to its refund
  EXPECT_EQ(run->reserve_released[0].payee, "p1");
  EXPECT_TRUE(run->carried.empty());
  EXPECT_EQ(bal("shop:payees:p2:reserve", "EUR"), "0.00");
  EXPECT_EQ(bal("shop:payees:p1:available", "EUR"), "5.00");
  expect_books_whole();
}

}  // namespace
}  // namespace tally
