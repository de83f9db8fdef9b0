#include "settlement/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "config_fixture.h"

namespace tally {
namespace {

using namespace tally::testing;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ConfigTest, BaseConfigOfTheseTestsLoads) {
  Result<Config> r = load(shop());
  ASSERT_TRUE(r.ok()) << r.error().message;
}

TEST(ConfigTest, SpecExampleLoadsToTheRightValues) {
  Result<Config> r = load(kSpecExample);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = *r;
  ASSERT_EQ(c.marketplaces.size(), 2u);
  const MarketplaceConfig& shop = *c.marketplace("shop");
  EXPECT_EQ(shop.name, "shop");
  ASSERT_EQ(shop.currencies.size(), 1u);
  EXPECT_EQ(shop.currencies[0].code(), "EUR");
  EXPECT_EQ(shop.currencies[0].exponent(), 2);
  EXPECT_EQ(shop.timezone, "Europe/Paris");
  ASSERT_NE(shop.zone, nullptr);
  EXPECT_EQ(shop.zone->name(), "Europe/Paris");
  EXPECT_EQ(shop.rounding, Rounding::half_even);
  EXPECT_EQ(shop.commission_rate.at("product"), Rate::from_numerator(10'000'000'000));
  EXPECT_EQ(shop.commission_rate.at("service"), Rate::from_numerator(20'000'000'000));
  EXPECT_EQ(shop.commission_rate.size(), 2u);
  EXPECT_EQ(shop.affiliate_rate, Rate::from_numerator(7'000'000'000));
  EXPECT_EQ(shop.fee_rate, Rate::from_numerator(2'900'000'000));
  EXPECT_EQ(shop.fee_fixed_for("EUR"), minor(25));
  EXPECT_EQ(shop.fee_payer, FeePayer::payee);
  EXPECT_EQ(shop.hold_days, 14);
  EXPECT_EQ(shop.hold_from, HoldFrom::delivery);
  EXPECT_EQ(std::get<EveryDaysSchedule>(shop.schedule).every_days, 14);
  EXPECT_EQ(std::get<EveryDaysSchedule>(shop.schedule).anchor, day(2026, 1, 5));
  EXPECT_EQ(shop.minimum_payout_for("EUR"), minor(1000));
  EXPECT_THAT(shop.holidays, ElementsAre(day(2026, 4, 6), day(2026, 5, 1)));
  EXPECT_EQ(shop.payout_account,
            (PayoutAccount{"Shop SAS", "FR7630006000011234567890189", "AGRIFRPPXXX"}));
  EXPECT_TRUE(shop.earning.empty());

  const MarketplaceConfig& shopper = *c.marketplace("shopper");
  EXPECT_EQ(shopper.rounding, Rounding::half_even);  // the default
  EXPECT_FALSE(shopper.affiliate_rate.has_value());
  // A single fixed amount is in the first currency; the other currency has none.
  EXPECT_EQ(shopper.fee_fixed_for("USD"), minor(30));
  EXPECT_EQ(shopper.fee_fixed_for("COP"), minor(0));
  EXPECT_EQ(shopper.fee_fixed.size(), 2u);
  // A table without a currency: zero for it.
  EXPECT_EQ(shopper.minimum_payout_for("USD"), minor(1000));
  EXPECT_EQ(shopper.minimum_payout_for("COP"), minor(0));
  EXPECT_TRUE(shopper.holidays.empty());
  ASSERT_EQ(shopper.earning.count("session"), 1u);
  const EarningRule& session = shopper.earning.at("session");
  EXPECT_EQ(session.name, "session");
  EXPECT_EQ(session.rate, pct("8%"));
  EXPECT_EQ(session.minimum_for("USD"), minor(1000));
  EXPECT_EQ(session.minimum_for("COP"), minor(4000000));

  ASSERT_EQ(c.tokens.size(), 3u);
  EXPECT_EQ(c.tokens[0].token, "k3y-for-audit");  // sorted by token
  EXPECT_THAT(c.grant("k3y-for-orders")->roles, ElementsAre(Role::poster));
  EXPECT_THAT(c.grant("k3y-for-audit")->roles, ElementsAre(Role::auditor));
  EXPECT_THAT(c.grant("k3y-for-finance")->roles, ElementsAre(Role::auditor, Role::finance));
  EXPECT_TRUE(c.grant("k3y-for-finance")->has(Role::finance));
  EXPECT_FALSE(c.grant("k3y-for-finance")->has(Role::poster));
  EXPECT_EQ(c.grant("k3y-for-nothing"), nullptr);
  EXPECT_EQ(c.marketplace("nope"), nullptr);
}

TEST(ConfigTest, SpecSnippetVerbatimIsRefusedBecauseShopperIsPartial) {
  // The SPEC's snippet shows shopper's earning rule alone; a marketplace needs its required keys
  // (and its currencies, to read the per-currency minimum).
  std::string spec_snippet = shop() + R"(
[marketplaces.shopper.earning.session]
rate = "8%"
minimum = { USD = "10.00", COP = "40000.00" }
)";
  std::string msg = problems(spec_snippet);
  EXPECT_THAT(msg, HasSubstr("marketplaces.shopper.currencies: missing (required)"));
  EXPECT_THAT(msg, HasSubstr("marketplaces.shopper.payout_account: missing (required)"));
}

TEST(ConfigTest, FixtureLoads) {
  Result<Config> r = load_config_file(std::string(TALLY_SOURCE_DIR) + "/fixtures/marketplaces.toml",
                                      CurrencyTable());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Config& c = *r;
  ASSERT_EQ(c.marketplaces.size(), 3u);

  const MarketplaceConfig& shop = *c.marketplace("shop");
  ASSERT_TRUE(std::holds_alternative<WeeklySchedule>(shop.schedule));
  EXPECT_EQ(std::get<WeeklySchedule>(shop.schedule).days, std::vector<date::weekday>{date::Monday});
  ASSERT_TRUE(shop.reserve.has_value());
  EXPECT_EQ(shop.reserve->rate, pct("10%"));
  EXPECT_EQ(shop.reserve->days, 90);
  EXPECT_EQ(shop.commission_rate.at("product"), pct("10%"));
  EXPECT_EQ(shop.commission_rate.at("service"), pct("20%"));
  EXPECT_EQ(shop.affiliate_rate, pct("7%"));
  EXPECT_EQ(shop.fee_rate, pct("0.029"));
  EXPECT_EQ(shop.fee_fixed_for("EUR"), minor(25));
  EXPECT_EQ(shop.fee_payer, FeePayer::payee);
  EXPECT_EQ(shop.hold_days, 14);
  EXPECT_EQ(shop.hold_from, HoldFrom::delivery);
  EXPECT_EQ(shop.minimum_payout_for("EUR"), minor(1000));
  EXPECT_GE(shop.holidays.size(), 2u);
  EXPECT_TRUE(std::is_sorted(shop.holidays.begin(), shop.holidays.end()));

  const MarketplaceConfig& shopper = *c.marketplace("shopper");
  ASSERT_EQ(shopper.currencies.size(), 2u);
  EXPECT_EQ(shopper.currencies[0].code(), "USD");
  EXPECT_EQ(shopper.currencies[1].code(), "COP");
  EXPECT_EQ(shopper.timezone, "America/Bogota");
  ASSERT_TRUE(std::holds_alternative<MonthlySchedule>(shopper.schedule));
  EXPECT_EQ(std::get<MonthlySchedule>(shopper.schedule).days, (std::vector<int>{15, 31}));
  ASSERT_TRUE(shopper.payout_tax.has_value());
  EXPECT_EQ(shopper.payout_tax->account, "shopper:expense:gmf");
  ASSERT_TRUE(shopper.ach.has_value());
  ASSERT_TRUE(shopper.co_dispersion.has_value());
  EXPECT_EQ(shopper.fee_payer, FeePayer::platform);
  EXPECT_EQ(shopper.fee_fixed_for("COP"), minor(90000));
  const EarningRule& session = shopper.earning.at("session");
  EXPECT_EQ(session.rate, pct("8%"));
  EXPECT_EQ(session.minimum_for("USD"), minor(1000));
  EXPECT_EQ(session.minimum_for("COP"), minor(4000000));
  EXPECT_FALSE(shopper.affiliate_rate.has_value());
  EXPECT_EQ(shopper.payout_account.iban, "20012345678");  // not an IBAN: another account id

  const MarketplaceConfig& fulfil = *c.marketplace("fulfil");
  EXPECT_EQ(fulfil.currencies[0].code(), "USD");
  EXPECT_EQ(fulfil.hold_from, HoldFrom::sale);

  ASSERT_EQ(c.tokens.size(), 3u);
  EXPECT_TRUE(c.grant("k3y-for-orders")->has(Role::poster));
  EXPECT_TRUE(c.grant("k3y-for-audit")->has(Role::auditor));
  EXPECT_TRUE(c.grant("k3y-for-finance")->has(Role::finance));
}

TEST(ConfigTest, EmptyConfigIsValid) {
  Result<Config> r = load("");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->marketplaces.empty());
  EXPECT_TRUE(r->tokens.empty());
}

TEST(ConfigTest, TomlDatesAreAcceptedAsWellAsStrings) {
  Result<Config> r = load(shop({{"schedule", "{ every_days = 7, anchor = 2026-01-05 }"},
                                {"holidays", R"([2026-05-01, "2026-04-06", 2026-05-01])"}}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const MarketplaceConfig& m = *r->marketplace("shop");
  EXPECT_EQ(std::get<EveryDaysSchedule>(m.schedule).anchor, day(2026, 1, 5));
  EXPECT_THAT(m.holidays, ElementsAre(day(2026, 4, 6), day(2026, 5, 1)));  // sorted, deduplicated
}

TEST(ConfigTest, PerCurrencyTableGivesEachCurrency) {
  Result<Config> r = load(shop({{"currencies", R"(["USD", "JPY", "BHD"])"},
                                {"fee_fixed", R"({ USD = "0.30", JPY = "40", BHD = "0.100" })"},
                                {"minimum_payout", R"({ JPY = "1000" })"}}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const MarketplaceConfig& m = *r->marketplace("shop");
  EXPECT_EQ(m.fee_fixed_for("USD"), minor(30));
  EXPECT_EQ(m.fee_fixed_for("JPY"), minor(40));
  EXPECT_EQ(m.fee_fixed_for("BHD"), minor(100));
  EXPECT_EQ(m.minimum_payout_for("JPY"), minor(1000));
  EXPECT_EQ(m.minimum_payout_for("USD"), minor(0));
  EXPECT_EQ(m.minimum_payout.size(), 3u);  // every currency has its explicit entry
  EXPECT_EQ(m.currency("BHD")->exponent(), 3);
  EXPECT_FALSE(m.currency("EUR").has_value());
}

}  // namespace
}  // namespace tally
