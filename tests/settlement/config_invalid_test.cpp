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

// --- each kind of invalid config -------------------------------------------------------------

TEST(ConfigTest, UnknownKeysAreRefused) {
  EXPECT_THAT(problems(shop({{"fee_fixd", R"("0.25")"}})),
              HasSubstr("marketplaces.shop.fee_fixd: unknown key"));
  EXPECT_THAT(problems(shop() + "[other]\nx = 1\n"), HasSubstr("other: unknown key"));
  EXPECT_THAT(
      problems(shop({{"schedule", R"({ every_days = 7, anchor = "2026-01-05", day = 1 })"}})),
      HasSubstr("marketplaces.shop.schedule.day: unknown key"));
  EXPECT_THAT(
      problems(shop({{"payout_account",
                      R"({ name = "S", iban = "FR7630006000011234567890189", bic = "AGRIFRPPXXX",)"
                      R"( swift = "x" })"}})),
      HasSubstr("marketplaces.shop.payout_account.swift: unknown key"));
  EXPECT_THAT(
      problems(shop() + "[marketplaces.shop.earning.session]\nrate = \"8%\"\nmin = \"1\"\n"),
      HasSubstr("marketplaces.shop.earning.session.min: unknown key"));
}

TEST(ConfigTest, MissingRequiredKeysAreRefused) {
  std::string msg = problems(shop({{"timezone", ""}, {"fee_rate", ""}}));
  EXPECT_THAT(lines_of(msg), ElementsAre("marketplaces.shop.timezone: missing (required)",
                                         "marketplaces.shop.fee_rate: missing (required)"));
  EXPECT_THAT(problems(shop({{"schedule", "{ every_days = 7 }"}})),
              HasSubstr("marketplaces.shop.schedule.anchor: missing (required)"));
  EXPECT_THAT(problems(shop() + "[marketplaces.shop.earning.session]\nminimum = \"1.00\"\n"),
              HasSubstr("marketplaces.shop.earning.session.rate: missing (required)"));
}

TEST(ConfigTest, AffiliateRateAboveACommissionRateIsRefused) {
  std::string msg = problems(shop({{"affiliate_rate", R"("12%")"}}));
  EXPECT_EQ(msg, "marketplaces.shop.affiliate_rate: 12% is above commission_rate.product 10%");
  // Equal to the commission is fine: A <= C.
  EXPECT_TRUE(load(shop({{"affiliate_rate", R"("10%")"}})).ok());
  // Above both: both named.
  EXPECT_THAT(
      lines_of(problems(shop({{"affiliate_rate", R"("25%")"}}))),
      ElementsAre("marketplaces.shop.affiliate_rate: 25% is above commission_rate.product 10%",
                  "marketplaces.shop.affiliate_rate: 25% is above commission_rate.service 20%"));
}

TEST(ConfigTest, UnknownCurrenciesAreRefused) {
  EXPECT_THAT(problems(shop({{"currencies", R"(["EUR", "XYZ"])"}})),
              HasSubstr("marketplaces.shop.currencies[1]: unknown currency \"XYZ\""));
  EXPECT_THAT(problems(shop({{"currencies", R"(["EUR", "EUR"])"}})),
              HasSubstr("marketplaces.shop.currencies[1]: duplicate currency \"EUR\""));
  EXPECT_THAT(problems(shop({{"currencies", "[]"}})),
              HasSubstr("marketplaces.shop.currencies: must name at least one currency"));
  EXPECT_THAT(problems(shop({{"fee_fixed", R"({ EUR = "0.25", XYZ = "1" })"}})),
              HasSubstr("marketplaces.shop.fee_fixed.XYZ: unknown currency \"XYZ\""));
  EXPECT_THAT(problems(shop({{"minimum_payout", R"({ USD = "10.00" })"}})),
              HasSubstr("marketplaces.shop.minimum_payout.USD: \"USD\" is not one of the "
                        "marketplace's currencies"));
}

TEST(ConfigTest, UnknownTimeZoneIsRefused) {
  EXPECT_EQ(problems(shop({{"timezone", R"("Europe/Atlantis")"}})),
            "marketplaces.shop.timezone: unknown IANA time zone \"Europe/Atlantis\"");
  EXPECT_THAT(problems(shop({{"timezone", R"("")"}})),
              HasSubstr("marketplaces.shop.timezone: unknown IANA time zone"));
}

TEST(ConfigTest, RatesMustBeExactDecimalStrings) {
  EXPECT_EQ(problems(shop({{"fee_rate", "0.029"}})),
            "marketplaces.shop.fee_rate: must be a string, not a float (write exact decimals as "
            "strings)");
  EXPECT_EQ(problems(shop({{"timezone", "5"}})),
            "marketplaces.shop.timezone: must be a string, not an integer");
  EXPECT_THAT(problems(shop({{"fee_rate", "0.029"}})),
              HasSubstr("marketplaces.shop.fee_rate: must be a string, not a float"));
  EXPECT_THAT(problems(shop({{"fee_rate", R"("2.9999999999%")"}})),
              HasSubstr("marketplaces.shop.fee_rate"));
  EXPECT_THAT(problems(shop({{"fee_rate", R"("1e-2")"}})), HasSubstr("marketplaces.shop.fee_rate"));
  EXPECT_THAT(problems(shop({{"commission_rate", R"({ product = "ten" })"}})),
              HasSubstr("marketplaces.shop.commission_rate.product"));
  EXPECT_THAT(problems(shop({{"fee_rate", R"("150%")"}})),
              HasSubstr("marketplaces.shop.fee_rate: 150% is above 100%"));
  EXPECT_THAT(problems(shop({{"commission_rate", "{}"}})),
              HasSubstr("marketplaces.shop.commission_rate: must give a rate for at least one"));
}

TEST(ConfigTest, BadRoundingIsRefused) {
  EXPECT_EQ(
      problems(shop({{"rounding", R"("bankers")"}})),
      "marketplaces.shop.rounding: \"bankers\" is not one of half_even | half_up | down | up");
}

TEST(ConfigTest, BadDatesAreRefused) {
  EXPECT_THAT(problems(shop({{"holidays", R"(["2026-02-30"])"}})),
              HasSubstr("marketplaces.shop.holidays[0]: \"2026-02-30\" is not a calendar date"));
  EXPECT_THAT(problems(shop({{"holidays", R"(["2026-05-01", "1/5/2026"])"}})),
              HasSubstr("marketplaces.shop.holidays[1]: \"1/5/2026\" is not a date"));
  EXPECT_THAT(problems(shop({{"schedule", R"({ every_days = 7, anchor = "2026-1-5" })"}})),
              HasSubstr("marketplaces.shop.schedule.anchor"));
  EXPECT_THAT(problems(shop({{"schedule", "{ every_days = 7, anchor = 2026-01-05T00:00:00Z }"}})),
              HasSubstr("marketplaces.shop.schedule.anchor: must be a date"));
}

TEST(ConfigTest, IntegerRangesAreEnforced) {
  EXPECT_EQ(problems(shop({{"hold_days", "-1"}})),
            "marketplaces.shop.hold_days: -1 is out of range 0..3650");
  EXPECT_EQ(problems(shop({{"schedule", R"({ every_days = 0, anchor = "2026-01-05" })"}})),
            "marketplaces.shop.schedule.every_days: 0 is out of range 1..366");
  EXPECT_THAT(problems(shop({{"hold_days", R"("14")"}})),
              HasSubstr("marketplaces.shop.hold_days: must be an integer, not a string"));
  EXPECT_TRUE(load(shop({{"hold_days", "0"}})).ok());
}

TEST(ConfigTest, MarketplaceNamesMustBeAccountSegments) {
  std::string base = shop();
  for (std::string_view bad : {"Shop", "-shop", "sh op", "shop:eu", "_x"}) {
    std::string text = base;
    text.replace(text.find("shop"), 4, "\"" + std::string(bad) + "\"");
    EXPECT_THAT(problems(text), HasSubstr("marketplace name must match [a-z0-9][a-z0-9_.-]*"))
        << bad;
  }
  std::string good = base;
  good.replace(good.find("[marketplaces.shop]"), 19, "[marketplaces.\"shop-eu.2\"]");
  EXPECT_TRUE(load(good).ok());
  std::string upper = base;
  upper.replace(upper.find("shop"), 4, "Shop");
  EXPECT_THAT(problems(upper), HasSubstr("marketplaces.Shop: marketplace name"));
}

TEST(ConfigTest, AmountsMustBeExactAndNonNegative) {
  EXPECT_THAT(problems(shop({{"fee_fixed", R"("0.255")"}})),
              HasSubstr("marketplaces.shop.fee_fixed"));
  EXPECT_THAT(problems(shop({{"fee_fixed", "0.25"}})),
              HasSubstr("marketplaces.shop.fee_fixed: must be a string, not a float"));
  EXPECT_EQ(problems(shop({{"minimum_payout", R"("-10.00")"}})),
            "marketplaces.shop.minimum_payout: \"-10.00\" is negative");
  EXPECT_THAT(problems(shop({{"minimum_payout", "[1]"}})),
              HasSubstr("marketplaces.shop.minimum_payout: must be an amount string or a table"));
}

TEST(ConfigTest, EnumsAndPayoutAccountAreChecked) {
  EXPECT_THAT(problems(shop({{"fee_payer", R"("seller")"}})),
              HasSubstr("marketplaces.shop.fee_payer: \"seller\" is not one of payee | platform"));
  EXPECT_THAT(problems(shop({{"hold_from", R"("shipping")"}})),
              HasSubstr("marketplaces.shop.hold_from: \"shipping\" is not one of sale | delivery"));
  std::string msg =
      problems(shop({{"payout_account",
                      R"({ name = "", iban = "FR7630006000011234567890188", bic = "AGRI" })"}}));
  EXPECT_THAT(
      lines_of(msg),
      ElementsAre(HasSubstr("marketplaces.shop.payout_account.name: must be 1..140"),
                  "marketplaces.shop.payout_account.iban: \"FR7630006000011234567890188\" "
                  "fails the IBAN checksum",
                  HasSubstr("marketplaces.shop.payout_account.bic: \"AGRI\" is not a BIC")));
}

TEST(ConfigTest, TokensAreChecked) {
  std::string msg = problems(shop() + R"(
[tokens]
"t1" = ["poster", "admin"]
"t2" = []
"has space" = ["auditor"]
"t3" = "finance"
)");
  EXPECT_THAT(
      lines_of(msg),
      ElementsAre("tokens.t1[1]: unknown role \"admin\" (poster | auditor | finance | replica)",
                  HasSubstr("tokens.t2: must grant at least one role"),
                  HasSubstr("tokens.\"has space\": a token must be"),
                  HasSubstr("tokens.t3: must be an array of role names, not a string")));
}

TEST(ConfigTest, TomlSyntaxErrorIsReportedWithItsPosition) {
  std::string msg = problems("[marketplaces.shop]\ncurrencies = [\"EUR\"\n");
  EXPECT_THAT(msg, HasSubstr("TOML syntax error at line"));
}

TEST(ConfigTest, EveryProblemIsListedInFileOrder) {
  std::string text = R"([marketplaces.shop]
currencies = ["EUR", "XYZ"]
timezone = "Mars/Olympus"
rounding = "nearest"
commission_rate = { product = "10%" }
affiliate_rate = "12%"
fee_rate = 0.029
fee_fixed = "0.25"
fee_payer = "payee"
hold_days = -3
hold_from = "delivery"
schedule = { every_days = 0, anchor = "2026-13-01" }
minimum_payout = "10.00"
holidays = ["2026-04-31"]
payout_account = { name = "Shop SAS", iban = "FR7630006000011234567890189", bic = "AGRIFRPPXXX" }
colour = "blue"

[marketplaces.Bad]
currencies = ["EUR"]
)";
  std::vector<std::string> got = lines_of(problems(text));
  EXPECT_THAT(
      got,
      ElementsAre("marketplaces.shop.currencies[1]: unknown currency \"XYZ\"",
                  "marketplaces.shop.timezone: unknown IANA time zone \"Mars/Olympus\"",
                  "marketplaces.shop.rounding: \"nearest\" is not one of half_even | half_up | "
                  "down | up",
                  "marketplaces.shop.affiliate_rate: 12% is above commission_rate.product 10%",
                  HasSubstr("marketplaces.shop.fee_rate: must be a string, not a float"),
                  "marketplaces.shop.hold_days: -3 is out of range 0..3650",
                  "marketplaces.shop.schedule.every_days: 0 is out of range 1..366",
                  "marketplaces.shop.schedule.anchor: \"2026-13-01\" is not a calendar date",
                  "marketplaces.shop.holidays[0]: \"2026-04-31\" is not a calendar date",
                  "marketplaces.shop.colour: unknown key",
                  HasSubstr("marketplaces.Bad: marketplace name must match"),
                  // The missing keys of Bad are reported at its header.
                  "marketplaces.Bad.timezone: missing (required)",
                  "marketplaces.Bad.commission_rate: missing (required)",
                  "marketplaces.Bad.fee_rate: missing (required)",
                  "marketplaces.Bad.fee_fixed: missing (required)",
                  "marketplaces.Bad.fee_payer: missing (required)",
                  "marketplaces.Bad.hold_days: missing (required)",
                  "marketplaces.Bad.hold_from: missing (required)",
                  "marketplaces.Bad.schedule: missing (required)",
                  "marketplaces.Bad.minimum_payout: missing (required)",
                  "marketplaces.Bad.payout_account: missing (required)"));
}

TEST(ConfigTest, UnreadableFileIsRefused) {
  Result<Config> r = load_config_file("/nonexistent/tally.toml", CurrencyTable());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::bad_request);
  EXPECT_THAT(r.error().message, HasSubstr("/nonexistent/tally.toml"));
  EXPECT_FALSE(load_config_file("/", CurrencyTable()).ok());
}

TEST(ConfigTest, DeclaredAssetsCanBeMarketplaceCurrencies) {
  CurrencyTable table;
  ASSERT_TRUE(table.declare("USDC", 6).ok());
  Result<Config> r =
      load_config(shop({{"currencies", R"(["USDC"])"}, {"fee_fixed", R"("0.000001")"}}), table);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->marketplace("shop")->fee_fixed_for("USDC"), minor(1));
}

}  // namespace
}  // namespace tally
