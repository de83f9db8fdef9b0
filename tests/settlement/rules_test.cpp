// Marketplace rules: every event's postings on worked examples computed by hand, every error
// code, and invariants over random event streams (trial balance, holds == pending, full refunds
// reverse exactly).
#include "settlement/rules.h"

#include <map>
#include <random>

#include "common/test_util.h"
#include "settlement/example_shop.h"

namespace tally {
namespace {

using namespace tally::testing;

const std::string kConfig = example_shop_toml() + R"toml(
[marketplaces.plain]
currencies = ["USD", "JPY"]
timezone = "America/Bogota"
rounding = "half_up"
commission_rate = { product = "10%" }
affiliate_rate = "7%"
fee_rate = "0%"
fee_fixed = "0"
fee_payer = "platform"
hold_days = 7
hold_from = "sale"
schedule = { every_days = 14, anchor = "2026-01-05" }
minimum_payout = "0"
holidays = []
payout_account = { name = "Plain Inc", iban = "FR7630006000011234567890189", bic = "AGRIFRPPXXX" }

[marketplaces.plain.earning.session]
rate = "8%"
minimum = { USD = "10.00" }
)toml";

const TimeNs kJan5 = TimeNs(1'767'607'200) * kNsPerSecond;  // 2026-01-05T10:00:00Z

class RulesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = load_config(kConfig, CurrencyTable());
    ASSERT_TRUE(c.ok()) << c.error().message;
    config_ = std::move(*c);
    LedgerOptions o;
    o.extra_tables = tables::all();
    ledger_ = open_ledger(dir_.sub("d"), o);
    rules_ = std::make_unique<Rules>(config_, *ledger_);
  }
  ItemResult send(std::string id, std::string mk, EventBody body, TimeNs at = kJan5) {
    Event e{EventHeader{std::move(id), at, std::move(mk), {}}, std::move(body)};
    Batch b;
    b.push_back(rules_->event_op(std::move(e)));
    return ledger_->submit_and_wait(std::move(b))[0];
  }
  Amount bal(const std::string& account, std::string_view c = "EUR") {
    auto r = ledger_->snapshot()->balance(account, c);
    EXPECT_TRUE(r.ok()) << account << ": " << r.error().message;
    return r.ok() ? *r : Amount();
  }
  std::map<std::string, Amount> postings(const std::string& id) {
    auto e = ledger_->snapshot()->entry(id);
    EXPECT_TRUE(e.has_value()) << id;
    std::map<std::string, Amount> out;  // "D account" / "C account" -> amount
    if (e)
      for (auto& p : e->entry.postings)
        out[(p.side == Side::debit ? "D " : "C ") + p.account] = p.amount;
    return out;
  }
  // Every payee's holds sum to its pending balance; the trial balance is level.
  void check_invariants() {
    auto snap = ledger_->snapshot();
    for (const auto& [name, mk] : config_.marketplaces) {
      for (auto& acct : snap->accounts(name + ":payees")) {
        if (acct.name.size() < 8 || acct.name.substr(acct.name.size() - 8) != ":pending") continue;
        std::string payee = acct.name.substr(name.size() + 8, acct.name.size() - name.size() - 16);
        for (auto& c : acct.currencies) {
          i128 sum = 0;
          for (auto& h : tables::payee_holds(*snap, rules_->tables(), name, payee))
            if (h.currency == c.code()) sum += h.value.remaining;
          auto b = snap->balance(acct.name, c.code());
          ASSERT_TRUE(b.ok());
          EXPECT_EQ(b->minor(), sum) << acct.name << " " << c.code();
          EXPECT_GE(b->minor(), 0) << acct.name;
        }
      }
    }
    for (auto& row : snap->trial_balance())
      EXPECT_EQ(row.debits, row.credits) << row.currency.code();
    EXPECT_TRUE(snap->verify().ok);
  }

  TempDir dir_;
  Config config_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<Rules> rules_;
};

TEST_F(RulesTest, SaleWithAffiliateAndFeeBorneBySeller) {
  // a = 120.00: C = 12.00, A = 8.40, F = 3.48 + 0.25 = 3.73, seller = 120 - 12 - 3.73 = 104.27.
  auto r = send("o-1", "shop", SaleEvent{"p1", "120.00", "EUR", "product", "a7"});
  ASSERT_EQ(r.status, ItemStatus::ok) << r.message;
  EXPECT_EQ(
      r.detail,
      R"({"commission":"12.00","affiliate":"8.40","fee":"3.73","seller":"104.27","currency":"EUR"})");
  auto p = postings("o-1");
  EXPECT_EQ(p["D shop:cash"], amt("116.27", "EUR"));
  EXPECT_EQ(p["D shop:expense:bank_fees"], amt("3.73", "EUR"));
  EXPECT_EQ(p["C shop:payees:p1:pending"], amt("104.27", "EUR"));
  EXPECT_EQ(p["C shop:revenue:fee_recharge"], amt("3.73", "EUR"));
  EXPECT_EQ(p["C shop:revenue:commission"], amt("3.60", "EUR"));
  EXPECT_EQ(p["C shop:payees:a7:pending"], amt("8.40", "EUR"));
  EXPECT_EQ(p.size(), 6u);
  // Held until delivery: no release time yet.
  auto snap = ledger_->snapshot();
  auto holds = tables::payee_holds(*snap, rules_->tables(), "shop", "p1");
  ASSERT_EQ(holds.size(), 1u);
  EXPECT_EQ(holds[0].value.release, tables::kNoRelease);
  auto d = send("d-1", "shop", DeliveredEvent{"o-1"}, kJan5 + 3 * kNsPerDay);
  ASSERT_TRUE(d.ok()) << d.message;
  snap = ledger_->snapshot();
  holds = tables::payee_holds(*snap, rules_->tables(), "shop", "a7");
  ASSERT_EQ(holds.size(), 1u);
  EXPECT_EQ(holds[0].value.release, kJan5 + 17 * kNsPerDay);
  holds = tables::payee_holds(*snap, rules_->tables(), "shop", "p1");
  ASSERT_EQ(holds.size(), 1u);
  EXPECT_EQ(holds[0].value.release, kJan5 + 17 * kNsPerDay);
  check_invariants();
}

TEST_F(RulesTest, PlatformBearsFeeAndHoldCountsFromSale) {
  auto r = send("s-1", "plain", SaleEvent{"p1", "0.25", "USD", "product", std::nullopt});
  ASSERT_TRUE(r.ok()) << r.message;
  // 10% of 0.25 = 0.025: half_up gives 0.03 (half_even would give 0.02).
  auto p = postings("s-1");
  EXPECT_EQ(p["C plain:revenue:commission"], amt("0.03"));
  EXPECT_EQ(p["C plain:payees:p1:pending"], amt("0.22"));
  EXPECT_EQ(p["D plain:cash"], amt("0.25"));
  EXPECT_EQ(p.count("D plain:expense:bank_fees"), 0u);  // zero fee: no line
  auto holds = tables::payee_holds(*ledger_->snapshot(), rules_->tables(), "plain", "p1");
  ASSERT_EQ(holds.size(), 1u);
  EXPECT_EQ(holds[0].value.release, kJan5 + 7 * kNsPerDay);
}

TEST_F(RulesTest, HalfEvenCommissionAtAnExactHalf) {
  // 10% of 0.25 EUR = 0.025 -> 0.02 (half_even); 7% = 0.0175 -> 0.02; A <= C holds.
  // Fee 2.9% of 0.25 = 0.00725 -> 0.01, + 0.25 fixed = 0.26 > amount: refused.
  auto r = send("s-half", "shop", SaleEvent{"p1", "0.25", "EUR", "product", std::nullopt});
  EXPECT_EQ(r.code, Code::fees_exceed_amount) << r.message;
  auto r2 = send("s-half2", "shop", SaleEvent{"p1", "10.25", "EUR", "product", std::nullopt});
  ASSERT_TRUE(r2.ok()) << r2.message;
  // C = 1.025 -> 1.02 (half_even), F = 0.29725 -> 0.30 + 0.25 = 0.55, seller = 10.25-1.02-0.55
  // = 8.68
  EXPECT_EQ(
      r2.detail,
      R"({"commission":"1.02","affiliate":"0.00","fee":"0.55","seller":"8.68","currency":"EUR"})");
}

TEST_F(RulesTest, ThreeWayRefundOf33_33ReversesEveryPartExactly) {
  // a = 33.33: C = 3.333 -> 3.33, A = 2.3331 -> 2.33, F = 0.96657 -> 0.97 + 0.25 = 1.22
  // parts: seller a - C = 30.00, platform C - A = 1.00, affiliate A = 2.33
  ASSERT_TRUE(send("o-33", "shop", SaleEvent{"p1", "33.33", "EUR", "product", "a7"}).ok());
  auto r1 = send("r-1", "shop", RefundEvent{"o-33", "11.11"});
  ASSERT_TRUE(r1.ok()) << r1.message;
  // cumulative 11.11 by weights 30.00/1.00/2.33 of 33.33: 10.00 / 0.3333 / 0.7766...
  EXPECT_EQ(
      r1.detail,
      R"({"seller":"10.00","platform":"0.33","affiliate":"0.78","refunded_total":"11.11","currency":"EUR"})");
  ASSERT_TRUE(send("r-2", "shop", RefundEvent{"o-33", "11.11"}).ok());
  auto r3 = send("r-3", "shop", RefundEvent{"o-33", "11.11"});
  ASSERT_TRUE(r3.ok()) << r3.message;
  // Everything refunded: commission back to zero, affiliate pending zero, seller pending gone
  // and the seller bears the fee (available -1.22).
  EXPECT_TRUE(bal("shop:revenue:commission").is_zero());
  EXPECT_TRUE(bal("shop:payees:a7:pending").is_zero());
  EXPECT_TRUE(bal("shop:payees:a7:available").is_zero());
  EXPECT_TRUE(bal("shop:payees:p1:pending").is_zero());
  EXPECT_EQ(bal("shop:payees:p1:available"), amt("-1.22", "EUR"));
  EXPECT_EQ(bal("shop:cash"), amt("-1.22", "EUR"));  // the processor kept its fee
  auto over = send("r-4", "shop", RefundEvent{"o-33", "0.01"});
  EXPECT_EQ(over.code, Code::refund_exceeds_sale) << over.message;
  check_invariants();
}

TEST_F(RulesTest, ChargebackWithFeeDebitsSellerAvailable) {
  ASSERT_TRUE(send("o-1", "shop", SaleEvent{"p1", "100.00", "EUR", "service", std::nullopt}).ok());
  // C = 20.00, F = 2.90 + 0.25 = 3.15, seller pending 76.85
  auto cb = send("cb-1", "shop", ChargebackEvent{"o-1", "100.00", "15.00"});
  ASSERT_TRUE(cb.ok()) << cb.message;
  EXPECT_TRUE(bal("shop:payees:p1:pending").is_zero());
  // seller share 80.00: 76.85 from pending, 3.15 from available; plus the 15.00 fee
  EXPECT_EQ(bal("shop:payees:p1:available"), amt("-18.15", "EUR"));
  EXPECT_EQ(bal("shop:expense:bank_fees"), amt("18.15", "EUR"));
  EXPECT_EQ(bal("shop:revenue:fee_recharge"), amt("18.15", "EUR"));
  check_invariants();
}

TEST_F(RulesTest, EarningPaysTheMinimumWhenTheCommissionIsBelowIt) {
  auto none = send("sess-1", "plain", EarningEvent{"shopper1", "0.00", "USD", "session"});
  ASSERT_TRUE(none.ok()) << none.message;
  EXPECT_EQ(none.detail, R"({"earned":"0.00","minimum":"10.00","paid":"10.00","currency":"USD"})");
  auto big = send("sess-2", "plain", EarningEvent{"shopper1", "500.00", "USD", "session"});
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big.detail, R"({"earned":"40.00","minimum":"10.00","paid":"40.00","currency":"USD"})");
  EXPECT_EQ(bal("plain:payees:shopper1:pending", "USD"), amt("50.00"));
  EXPECT_EQ(bal("plain:expense:payee_earnings", "USD"), amt("50.00"));
  // JPY has no minimum configured: a zero earning is refused.
  EXPECT_EQ(send("sess-3", "plain", EarningEvent{"shopper1", "0", "JPY", "session"}).code,
            Code::bad_amount);
  EXPECT_EQ(send("sess-4", "plain", EarningEvent{"shopper1", "1.00", "USD", "nope"}).code,
            Code::unknown_rule);
  check_invariants();
}

TEST_F(RulesTest, PassThroughAtCost) {
  auto r = send("c-1", "plain", PassThroughEvent{"p1", "courier", "7.35", "USD"});
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(bal("plain:payees:p1:available", "USD"), amt("-7.35"));
  EXPECT_EQ(bal("plain:payables:courier", "USD"), amt("7.35"));
}

TEST_F(RulesTest, EventsAreIdempotentByIdAndConflictOnOtherContent) {
  auto first = send("o-1", "shop", SaleEvent{"p1", "10.00", "EUR", "product", std::nullopt});
  ASSERT_EQ(first.status, ItemStatus::ok);
  auto again = send("o-1", "shop", SaleEvent{"p1", "10.00", "EUR", "product", std::nullopt});
  EXPECT_EQ(again.status, ItemStatus::duplicate);
  EXPECT_EQ(again.seq, first.seq);
  EXPECT_EQ(send("o-1", "shop", SaleEvent{"p1", "11.00", "EUR", "product", std::nullopt}).code,
            Code::id_conflict);
  ASSERT_TRUE(send("h-1", "shop", PayeeHoldEvent{"p1", true, "kyc"}).ok());
  EXPECT_EQ(send("h-1", "shop", PayeeHoldEvent{"p1", true, "kyc"}).status, ItemStatus::duplicate);
  EXPECT_EQ(send("h-1", "shop", PayeeHoldEvent{"p1", false, ""}).code, Code::id_conflict);
  EXPECT_EQ(ledger_->snapshot()->last_seq(), 1u);
}

TEST_F(RulesTest, EveryErrorCodeChangesNothing) {
  ASSERT_TRUE(send("o-1", "shop", SaleEvent{"p1", "10.00", "EUR", "product", std::nullopt}).ok());
  struct Case {
    const char* name;
    std::string mk;
    EventBody body;
    Code code;
    const char* part;
  };
  std::vector<Case> cases = {
      {"unknown marketplace", "nope", SaleEvent{"p1", "1.00", "EUR", "product", {}},
       Code::unknown_marketplace, "marketplace:"},
      {"currency not allowed", "shop", SaleEvent{"p1", "1.00", "USD", "product", {}},
       Code::currency_not_allowed, "currency:"},
      {"bad amount", "shop", SaleEvent{"p1", "1.005", "EUR", "product", {}}, Code::bad_amount,
       "amount:"},
      {"zero amount", "shop", SaleEvent{"p1", "0.00", "EUR", "product", {}}, Code::bad_amount,
       "amount:"},
      {"unknown category", "shop", SaleEvent{"p1", "1.00", "EUR", "gadget", {}}, Code::bad_request,
       "category:"},
      {"bad seller", "shop", SaleEvent{"P:1", "1.00", "EUR", "product", {}}, Code::bad_request,
       "seller:"},
      {"fees exceed", "shop", SaleEvent{"p1", "0.10", "EUR", "product", {}},
       Code::fees_exceed_amount, "amount:"},
      {"unknown sale", "shop", RefundEvent{"nope", "1.00"}, Code::unknown_sale, "sale:"},
      {"refund too big", "shop", RefundEvent{"o-1", "10.01"}, Code::refund_exceeds_sale, "amount:"},
      {"refund other mk", "plain", RefundEvent{"o-1", "1.00"}, Code::unknown_sale, "belongs to"},
      {"delivered unknown", "shop", DeliveredEvent{"o-9"}, Code::unknown_sale, "sale:"},
      {"unknown payout", "shop", PayoutResultEvent{"po-1", true, ""}, Code::unknown_payout,
       "payout:"},
      {"hold without reason", "shop", PayeeHoldEvent{"p1", true, ""}, Code::bad_request, "reason:"},
      {"bad iban", "shop", PayeeDetailsEvent{"p1", "P One", "FR7630006000011234567890188", ""},
       Code::bad_request, "checksum"},
      {"bad bic", "shop", PayeeDetailsEvent{"p1", "P One", "FR7630006000011234567890189", "xx"},
       Code::bad_request, "bic:"},
  };
  auto before = ledger_->snapshot()->last_seq();
  int i = 0;
  for (auto& c : cases) {
    auto r = send("x" + std::to_string(i++), c.mk, c.body);
    EXPECT_EQ(r.code, c.code) << c.name << ": " << r.message;
    EXPECT_NE(r.message.find(c.part), std::string::npos) << c.name << ": " << r.message;
  }
  EXPECT_EQ(ledger_->snapshot()->last_seq(), before);
  EXPECT_FALSE(ledger_->snapshot()->account("plain:cash").has_value());  // nothing opened either
  check_invariants();
}

// Meta over the limit is refused for every event type, not only those that post an entry
// (a probe got a 20 KB value into payee_hold, payee_details and delivered).
TEST_F(RulesTest, MetaOverTheLimitIsRefusedForEveryEventType) {
  ASSERT_TRUE(send("o-1", "shop", SaleEvent{"p1", "10.00", "EUR", "product", std::nullopt}).ok());
  const std::string big(20 * 1024, 'x');
  std::vector<std::pair<const char*, EventBody>> bodies = {
      {"sale", SaleEvent{"p1", "10.00", "EUR", "product", std::nullopt}},
      {"delivered", DeliveredEvent{"o-1"}},
      {"payee_hold", PayeeHoldEvent{"p1", true, "kyc"}},
      {"payee_details", PayeeDetailsEvent{"p1", "P One", "FR7630006000011234567890189", ""}},
      {"refund", RefundEvent{"o-1", "1.00"}},
  };
  const auto before = ledger_->snapshot()->last_seq();
  int i = 0;
  for (auto& [name, body] : bodies) {
    Event e{EventHeader{"m" + std::to_string(i++), kJan5, "shop", {{"note", big}}}, body};
    Batch b;
    b.push_back(rules_->event_op(std::move(e)));
    auto r = ledger_->submit_and_wait(std::move(b))[0];
    EXPECT_EQ(r.code, Code::bad_meta) << name << ": " << r.message;
    EXPECT_NE(r.message.find("meta:"), std::string::npos) << name << ": " << r.message;
  }
  EXPECT_EQ(ledger_->snapshot()->last_seq(), before);
  // At the limit it is taken.
  Event ok{EventHeader{"m-ok", kJan5, "shop", {{"note", std::string(4096 - 4, 'x')}}},
           PayeeHoldEvent{"p1", true, "kyc"}};
  Batch b;
  b.push_back(rules_->event_op(std::move(ok)));
  EXPECT_TRUE(ledger_->submit_and_wait(std::move(b))[0].ok());
}

TEST_F(RulesTest, RejectedFirstSaleOpensNoAccounts) {
  // Close the period so the sale is refused after its accounts would have been opened.
  ASSERT_TRUE(ledger_->submit_and_wait(batch(make_close_period(kJan5 + kNsPerDay)))[0].ok());
  auto r = send("late", "shop", SaleEvent{"newseller", "50.00", "EUR", "product", std::nullopt});
  EXPECT_EQ(r.code, Code::period_closed) << r.message;
  EXPECT_FALSE(ledger_->snapshot()->account("shop:payees:newseller:pending").has_value());
}

// Random streams: invariants after every batch, and a full refund of every sale leaves each
// party exactly where the fee puts it.
TEST_F(RulesTest, RandomStreamsKeepEveryInvariant) {
  std::mt19937_64 rng(2026);
  std::vector<std::pair<std::string, i128>> sales;  // id, amount left to refund
  int id = 0;
  for (int round = 0; round < 30; ++round) {
    Batch b;
    for (int k = 0; k < 20; ++k) {
      std::string ev = "ev" + std::to_string(id++);
      Event e{EventHeader{ev, kJan5 + id * 1000, "shop", {}}, DeliveredEvent{}};
      int pick = static_cast<int>(rng() % 10);
      if (pick < 5 || sales.empty()) {
        i128 cents = 100 + static_cast<i128>(rng() % 100000);
        std::string text = format_amount(Amount::from_minor(cents), 2);
        std::optional<std::string> aff;
        if (rng() % 2) aff = "a" + std::to_string(rng() % 3);
        e.body = SaleEvent{"p" + std::to_string(rng() % 5), text, "EUR",
                           rng() % 2 ? "product" : "service", aff};
        sales.emplace_back(ev, cents);
      } else if (pick < 8) {
        auto& [sid, left] = sales[rng() % sales.size()];
        i128 r = left == 0 ? 1 : 1 + static_cast<i128>(rng() % static_cast<uint64_t>(left));
        e.body = RefundEvent{sid, format_amount(Amount::from_minor(r), 2)};
        if (r <= left) left -= r;  // else the op is refused (refund_exceeds_sale)
      } else {
        e.body = DeliveredEvent{sales[rng() % sales.size()].first};
      }
      b.push_back(rules_->event_op(std::move(e)));
    }
    auto results = ledger_->submit_and_wait(std::move(b));
    for (auto& r : results) ASSERT_TRUE(r.ok() || r.code == Code::refund_exceeds_sale) << r.message;
    check_invariants();
  }
}

}  // namespace
}  // namespace tally
