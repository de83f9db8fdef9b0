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

// --- schedule forms ----------------------------------------------------------------------------

const Schedule& schedule_of(const Result<Config>& r) {
  return r->marketplace("shop")->schedule;
}

TEST(ConfigTest, WeeklySchedules) {
  Result<Config> r = load(shop({{"schedule", R"({ weekly = "monday" })"}}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(schedule_of(r), Schedule(WeeklySchedule{{date::Monday}}));
  // Any order in, Monday first out.
  r = load(shop({{"schedule", R"({ weekly = ["sunday", "thursday", "monday"] })"}}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(schedule_of(r), Schedule(WeeklySchedule{{date::Monday, date::Thursday, date::Sunday}}));

  EXPECT_EQ(problems(shop({{"schedule", R"({ weekly = ["monday", "thursday", "monday"] })"}})),
            "marketplaces.shop.schedule.weekly[2]: duplicate weekday \"monday\"");
  EXPECT_EQ(problems(shop({{"schedule", R"({ weekly = "Monday" })"}})),
            "marketplaces.shop.schedule.weekly: \"Monday\" is not one of monday | tuesday | "
            "wednesday | thursday | friday | saturday | sunday");
  EXPECT_EQ(problems(shop({{"schedule", R"({ weekly = ["monday", "thu"] })"}})),
            "marketplaces.shop.schedule.weekly[1]: \"thu\" is not one of monday | tuesday | "
            "wednesday | thursday | friday | saturday | sunday");
  EXPECT_EQ(problems(shop({{"schedule", R"({ weekly = [] })"}})),
            "marketplaces.shop.schedule.weekly: must name at least one weekday");
  EXPECT_EQ(problems(shop({{"schedule", R"({ weekly = 1 })"}})),
            "marketplaces.shop.schedule.weekly: must be a weekday name or an array of them, not "
            "an integer");
  EXPECT_EQ(problems(shop({{"schedule", R"({ weekly = ["monday", 2] })"}})),
            "marketplaces.shop.schedule.weekly[1]: must be a weekday name, not an integer");
}

TEST(ConfigTest, MonthlySchedules) {
  Result<Config> r = load(shop({{"schedule", R"({ monthly_days = [15, "last"] })"}}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(schedule_of(r), Schedule(MonthlySchedule{{15, 31}}));
  r = load(shop({{"schedule", R"({ monthly_days = [1] })"}}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(schedule_of(r), Schedule(MonthlySchedule{{1}}));
  // Any order; 31 is a day like the others (the last day of months shorter than 31 days).
  r = load(shop({{"schedule", R"({ monthly_days = [31, 30, 1, 29] })"}}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(schedule_of(r), Schedule(MonthlySchedule{{1, 29, 30, 31}}));

  auto one = [](std::string_view days) {
    return problems(shop({{"schedule", "{ monthly_days = " + std::string(days) + " }"}}));
  };
  EXPECT_EQ(one("[0]"), "marketplaces.shop.schedule.monthly_days[0]: 0 is out of range 1..31");
  EXPECT_EQ(one("[15, 32]"),
            "marketplaces.shop.schedule.monthly_days[1]: 32 is out of range 1..31");
  EXPECT_EQ(one(R"([15, "first"])"),
            "marketplaces.shop.schedule.monthly_days[1]: \"first\" is not a day of the month: "
            "1..31 or \"last\"");
  EXPECT_EQ(one(R"(["15"])"),
            "marketplaces.shop.schedule.monthly_days[0]: \"15\" is not a day of the month: "
            "1..31 or \"last\"");
  EXPECT_EQ(one("[15.0]"),
            "marketplaces.shop.schedule.monthly_days[0]: must be a day of the month, 1..31 or "
            "\"last\", not a float");
  EXPECT_EQ(one("[15, 15]"), "marketplaces.shop.schedule.monthly_days[1]: duplicate day 15");
  EXPECT_EQ(one(R"(["last", "last"])"),
            "marketplaces.shop.schedule.monthly_days[1]: duplicate day \"last\"");
  EXPECT_EQ(one(R"([31, "last"])"),
            "marketplaces.shop.schedule.monthly_days[1]: duplicate day \"last\" (31 and \"last\" "
            "are the same day: a day past a month's end is its last day)");
  EXPECT_EQ(one("[]"),
            "marketplaces.shop.schedule.monthly_days: must name at least one day of "
            "the month");
  EXPECT_EQ(one("15"),
            "marketplaces.shop.schedule.monthly_days: must be an array of days of the "
            "month (1..31 or \"last\"), not an integer");
  // Every bad element is reported.
  EXPECT_THAT(lines_of(one(R"([0, 15, "x", 15])")),
              ElementsAre(HasSubstr("monthly_days[0]: 0 is out of range"),
                          HasSubstr("monthly_days[2]: \"x\" is not a day"),
                          HasSubstr("monthly_days[3]: duplicate day 15")));
}

TEST(ConfigTest, ExactlyOneScheduleForm) {
  EXPECT_EQ(problems(shop(
                {{"schedule", R"({ every_days = 7, anchor = "2026-01-05", weekly = "monday" })"}})),
            "marketplaces.shop.schedule: mixes schedule forms (every_days, anchor, weekly): give "
            "exactly one of { every_days, anchor }, { weekly }, { monthly_days }");
  EXPECT_EQ(problems(shop({{"schedule", R"({ weekly = "monday", monthly_days = [1] })"}})),
            "marketplaces.shop.schedule: mixes schedule forms (weekly, monthly_days): give "
            "exactly one of { every_days, anchor }, { weekly }, { monthly_days }");
  // An anchor belongs to every_days: with weekly it is a mix, not an ignored key.
  EXPECT_EQ(problems(shop({{"schedule", R"({ weekly = "monday", anchor = "2026-01-05" })"}})),
            "marketplaces.shop.schedule: mixes schedule forms (anchor, weekly): give exactly one "
            "of { every_days, anchor }, { weekly }, { monthly_days }");
  EXPECT_EQ(problems(shop({{"schedule", "{}"}})),
            "marketplaces.shop.schedule: must give one form: { every_days, anchor }, { weekly } "
            "or { monthly_days }");
  EXPECT_EQ(problems(shop({{"schedule", R"({ anchor = "2026-01-05" })"}})),
            "marketplaces.shop.schedule.every_days: missing (required)");
  // The values of a mix are checked all the same.
  EXPECT_THAT(lines_of(problems(shop({{"schedule", R"({ weekly = "mon", monthly_days = [0] })"}}))),
              ElementsAre(HasSubstr("marketplaces.shop.schedule: mixes schedule forms"),
                          HasSubstr("schedule.weekly: \"mon\" is not one of"),
                          HasSubstr("schedule.monthly_days[0]: 0 is out of range")));
  EXPECT_EQ(problems(shop({{"schedule", R"("monday")"}})),
            "marketplaces.shop.schedule: must be a table, not a string");
  // The table form of TOML works like the inline one.
  std::string text =
      shop({{"schedule", ""}}) + "[marketplaces.shop.schedule]\nmonthly_days = [1]\n";
  Result<Config> r = load(text);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(schedule_of(r), Schedule(MonthlySchedule{{1}}));
}

// --- reserve, minimum_balance, payout_tax ------------------------------------------------------

TEST(ConfigTest, Reserve) {
  Result<Config> r = load(shop({{"reserve", R"({ rate = "10%", days = 90 })"}}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->marketplace("shop")->reserve, (Reserve{pct("10%"), 90}));
  EXPECT_FALSE(load(shop())->marketplace("shop")->reserve.has_value());
  EXPECT_TRUE(load(shop({{"reserve", R"({ rate = "0%", days = 1 })"}})).ok());
  EXPECT_TRUE(load(shop({{"reserve", R"({ rate = "100%", days = 3650 })"}})).ok());
  EXPECT_EQ(problems(shop({{"reserve", R"({ rate = "100.5%", days = 90 })"}})),
            "marketplaces.shop.reserve.rate: 100.5% is above 100%");
  EXPECT_EQ(problems(shop({{"reserve", R"({ rate = 0.1, days = 90 })"}})),
            "marketplaces.shop.reserve.rate: must be a string, not a float (write exact decimals "
            "as strings)");
  EXPECT_EQ(problems(shop({{"reserve", R"({ rate = "10%", days = 0 })"}})),
            "marketplaces.shop.reserve.days: 0 is out of range 1..3650");
  EXPECT_EQ(problems(shop({{"reserve", R"({ rate = "10%", days = 3651 })"}})),
            "marketplaces.shop.reserve.days: 3651 is out of range 1..3650");
  EXPECT_EQ(problems(shop({{"reserve", R"({ rate = "10%" })"}})),
            "marketplaces.shop.reserve.days: missing (required)");
  EXPECT_EQ(problems(shop({{"reserve", R"({ rate = "10%", days = 90, hold = 1 })"}})),
            "marketplaces.shop.reserve.hold: unknown key");
  EXPECT_EQ(problems(shop({{"reserve", R"("10%")"}})),
            "marketplaces.shop.reserve: must be a table, not a string");
}

TEST(ConfigTest, MinimumBalance) {
  Result<Config> base = load(shop());
  ASSERT_TRUE(base.ok());
  const MarketplaceConfig& none = *base->marketplace("shop");
  EXPECT_EQ(none.minimum_balance_for("EUR"), minor(0));
  EXPECT_EQ(none.minimum_balance.size(), 1u);  // every currency has its entry
  Result<Config> r = load(shop({{"minimum_balance", R"("50.00")"}}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->marketplace("shop")->minimum_balance_for("EUR"), minor(5000));
  r = load(
      shop({{"currencies", R"(["USD", "COP"])"}, {"minimum_balance", R"({ COP = "200000.00" })"}}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->marketplace("shop")->minimum_balance_for("COP"), minor(20000000));
  EXPECT_EQ(r->marketplace("shop")->minimum_balance_for("USD"), minor(0));
  EXPECT_EQ(problems(shop({{"minimum_balance", R"("-1.00")"}})),
            "marketplaces.shop.minimum_balance: \"-1.00\" is negative");
  EXPECT_THAT(problems(shop({{"minimum_balance", R"("0.001")"}})),
              HasSubstr("marketplaces.shop.minimum_balance"));
  EXPECT_EQ(problems(shop({{"minimum_balance", R"({ USD = "1.00" })"}})),
            "marketplaces.shop.minimum_balance.USD: \"USD\" is not one of the marketplace's "
            "currencies");
}

TEST(ConfigTest, PayoutTax) {
  Result<Config> r = load(shop({{"currencies", R"(["USD", "COP"])"},
                                {"rounding", R"("half_up")"},
                                {"payout_tax", R"({ rate = "0.4%", account = "expense:gmf" })"}}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const PayoutTax& all = *r->marketplace("shop")->payout_tax;
  EXPECT_EQ(all.rate, pct("0.004"));
  EXPECT_EQ(all.account, "shop:expense:gmf");
  EXPECT_EQ(all.rounding, Rounding::half_up);  // the marketplace's
  EXPECT_FALSE(all.currency.has_value());      // every currency
  EXPECT_TRUE(all.applies_to("USD"));
  EXPECT_TRUE(all.applies_to("COP"));

  r = load(shop({{"currencies", R"(["USD", "COP"])"},
                 {"payout_tax", R"({ rate = "0.4%", account = "expense:taxes:gmf", )"
                                R"(rounding = "up", currency = "COP" })"}}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const PayoutTax& cop = *r->marketplace("shop")->payout_tax;
  EXPECT_EQ(cop.account, "shop:expense:taxes:gmf");
  EXPECT_EQ(cop.rounding, Rounding::up);
  EXPECT_EQ(cop.currency->code(), "COP");
  EXPECT_TRUE(cop.applies_to("COP"));
  EXPECT_FALSE(cop.applies_to("USD"));
  EXPECT_FALSE(load(shop())->marketplace("shop")->payout_tax.has_value());

  auto tax = [](std::string_view table) {
    return problems(shop({{"payout_tax", std::string(table)}}));
  };
  EXPECT_EQ(tax(R"({ rate = "0.4%" })"),
            "marketplaces.shop.payout_tax.account: missing (required)");
  EXPECT_EQ(tax(R"({ account = "expense:gmf" })"),
            "marketplaces.shop.payout_tax.rate: missing (required)");
  EXPECT_EQ(tax(R"({ rate = "101%", account = "expense:gmf" })"),
            "marketplaces.shop.payout_tax.rate: 101% is above 100%");
  EXPECT_EQ(tax(R"({ rate = 0.004, account = "expense:gmf" })"),
            "marketplaces.shop.payout_tax.rate: must be a string, not a float (write exact "
            "decimals as strings)");
  EXPECT_EQ(tax(R"({ rate = "0.4%", account = "expense:GMF" })"),
            "marketplaces.shop.payout_tax.account: \"expense:GMF\" segments must match "
            "[a-z0-9][a-z0-9_.-]*");
  EXPECT_EQ(tax(R"({ rate = "0.4%", account = "expense::gmf" })"),
            "marketplaces.shop.payout_tax.account: \"expense::gmf\" has an empty segment");
  EXPECT_EQ(tax(R"({ rate = "0.4%", account = "cash" })"),
            "marketplaces.shop.payout_tax.account: \"cash\" must be an expense account: "
            "\"expense:NAME\" (the ledger account is then \"shop:cash\")");
  EXPECT_EQ(tax(R"({ rate = "0.4%", account = "expense" })"),
            "marketplaces.shop.payout_tax.account: \"expense\" must be an expense account: "
            "\"expense:NAME\" (the ledger account is then \"shop:expense\")");
  std::string long_name = "expense:" + std::string(190, 'g');
  EXPECT_EQ(tax(R"({ rate = "0.4%", account = ")" + long_name + "\" }"),
            "marketplaces.shop.payout_tax.account: the ledger account \"shop:" + long_name +
                "\" is longer than 200 bytes");
  EXPECT_EQ(tax(R"({ rate = "0.4%", account = "expense:gmf", rounding = "nearest" })"),
            "marketplaces.shop.payout_tax.rounding: \"nearest\" is not one of half_even | "
            "half_up | down | up");
  EXPECT_EQ(tax(R"({ rate = "0.4%", account = "expense:gmf", currency = "COP" })"),
            "marketplaces.shop.payout_tax.currency: \"COP\" is not one of the marketplace's "
            "currencies");
  EXPECT_EQ(tax(R"({ rate = "0.4%", account = "expense:gmf", per = "transfer" })"),
            "marketplaces.shop.payout_tax.per: unknown key");
}

TEST(ConfigTest, SchedulesFixtureLoads) {
  Result<Config> r =
      load_config_file(std::string(TALLY_SOURCE_DIR) + "/fixtures/schedules.toml", CurrencyTable());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const MarketplaceConfig& shop = *r->marketplace("shop");
  EXPECT_EQ(shop.schedule, Schedule(WeeklySchedule{{date::Monday}}));
  EXPECT_EQ(shop.reserve, (Reserve{pct("10%"), 90}));
  EXPECT_FALSE(shop.payout_tax.has_value());
  const MarketplaceConfig& shopper = *r->marketplace("shopper");
  EXPECT_EQ(shopper.schedule, Schedule(MonthlySchedule{{15, MonthlySchedule::last_day}}));
  ASSERT_TRUE(shopper.payout_tax.has_value());
  EXPECT_EQ(shopper.payout_tax->rate, pct("0.4%"));
  EXPECT_EQ(shopper.payout_tax->account, "shopper:expense:gmf");
  EXPECT_EQ(shopper.payout_tax->rounding, Rounding::half_up);
  EXPECT_TRUE(shopper.payout_tax->applies_to("COP"));
  EXPECT_FALSE(shopper.payout_tax->applies_to("USD"));
  ASSERT_TRUE(shopper.ach.has_value());
  EXPECT_EQ(shopper.ach->odfi_routing, "091000019");
  ASSERT_TRUE(shopper.co_dispersion.has_value());
  EXPECT_EQ(shopper.co_dispersion->nit_text(), "900123456-8");
  EXPECT_EQ(shopper.holidays.size(), 18u);
  // The money keys are marketplaces.toml's.
  Result<Config> base = load_config_file(
      std::string(TALLY_SOURCE_DIR) + "/fixtures/marketplaces.toml", CurrencyTable());
  ASSERT_TRUE(base.ok());
  for (std::string_view name : {"shop", "shopper"}) {
    const MarketplaceConfig& a = *base->marketplace(name);
    const MarketplaceConfig& b = *r->marketplace(name);
    EXPECT_EQ(a.commission_rate, b.commission_rate) << name;
    EXPECT_EQ(a.affiliate_rate, b.affiliate_rate) << name;
    EXPECT_EQ(a.fee_rate, b.fee_rate) << name;
    EXPECT_EQ(a.fee_fixed, b.fee_fixed) << name;
    EXPECT_EQ(a.fee_payer, b.fee_payer) << name;
    EXPECT_EQ(a.hold_days, b.hold_days) << name;
    EXPECT_EQ(a.hold_from, b.hold_from) << name;
    EXPECT_EQ(a.minimum_payout, b.minimum_payout) << name;
    EXPECT_EQ(a.rounding, b.rounding) << name;
    EXPECT_EQ(a.payout_account, b.payout_account) << name;
    EXPECT_EQ(a.timezone, b.timezone) << name;
  }
}

}  // namespace
}  // namespace tally
