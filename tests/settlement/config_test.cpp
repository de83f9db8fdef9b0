#include "settlement/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "settlement/bank_ids.h"

namespace tally {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Amount minor(i128 v) {
  return Amount::from_minor(v);
}
Rate pct(std::string_view text) {
  return *Rate::parse(text, "test");
}
Date day(int y, unsigned m, unsigned d) {
  return Date{date::year{y} / m / d};
}

// SPEC section 3's example as written there, with the shopper table completed (the SPEC gives
// only its earning rule).
constexpr std::string_view kSpecExample = R"(
[marketplaces.shop]
currencies = ["EUR"]
timezone = "Europe/Paris"          # IANA name, from the system tz database
rounding = "half_even"             # half_even | half_up | down | up
commission_rate = { product = "10%", service = "20%" }
affiliate_rate = "7%"              # paid out of the platform's commission
fee_rate = "2.9%"
fee_fixed = "0.25"
fee_payer = "payee"                # payee | platform
hold_days = 14
hold_from = "delivery"             # sale | delivery
schedule = { every_days = 14, anchor = "2026-01-05" }
minimum_payout = "10.00"
holidays = ["2026-04-06", "2026-05-01"]
payout_account = { name = "Shop SAS", iban = "FR7630006000011234567890189", bic = "AGRIFRPPXXX" }

[marketplaces.shopper]
currencies = ["USD", "COP"]
timezone = "America/Bogota"
commission_rate = { groceries = "12%" }
fee_rate = "3%"
fee_fixed = "0.30"
fee_payer = "platform"
hold_days = 3
hold_from = "sale"
schedule = { every_days = 14, anchor = "2026-01-09" }
minimum_payout = { USD = "10.00" }
payout_account = { name = "Shopper", iban = "20012345678", bic = "COLOCOBMXXX" }

[marketplaces.shopper.earning.session]   # an `earning` event names its rule
rate = "8%"
minimum = { USD = "10.00", COP = "40000.00" }

[tokens]                                  # server config: token -> roles
"k3y-for-orders" = ["poster"]
"k3y-for-audit" = ["auditor"]
"k3y-for-finance" = ["finance", "auditor"]
)";

Result<Config> load(std::string_view text) {
  return load_config(text, CurrencyTable());
}

// The rejection's message, or a failure when the config loaded.
std::string problems(std::string_view text) {
  Result<Config> r = load(text);
  if (r.ok()) {
    ADD_FAILURE() << "config loaded but should not have:\n" << text;
    return "";
  }
  EXPECT_EQ(r.error().code, Code::bad_request);
  return r.error().message;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string::npos) nl = s.size();
    out.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

// A valid one-marketplace config, with keys replaced (value "" drops the key) or added.
std::string shop(std::vector<std::pair<std::string, std::string>> changes = {}) {
  std::vector<std::pair<std::string, std::string>> keys = {
      {"currencies", R"(["EUR"])"},
      {"timezone", R"("Europe/Paris")"},
      {"rounding", R"("half_even")"},
      {"commission_rate", R"({ product = "10%", service = "20%" })"},
      {"affiliate_rate", R"("7%")"},
      {"fee_rate", R"("2.9%")"},
      {"fee_fixed", R"("0.25")"},
      {"fee_payer", R"("payee")"},
      {"hold_days", "14"},
      {"hold_from", R"("delivery")"},
      {"schedule", R"({ every_days = 7, anchor = "2026-01-05" })"},
      {"minimum_payout", R"("10.00")"},
      {"holidays", R"(["2026-04-06", "2026-05-01"])"},
      {"payout_account",
       R"({ name = "Shop SAS", iban = "FR7630006000011234567890189", bic = "AGRIFRPPXXX" })"},
  };
  for (auto& [k, v] : changes) {
    auto it = std::find_if(keys.begin(), keys.end(), [&](auto& kv) { return kv.first == k; });
    if (it == keys.end())
      keys.emplace_back(k, v);
    else
      it->second = v;
  }
  std::string out = "[marketplaces.shop]\n";
  for (auto& [k, v] : keys)
    if (!v.empty()) out += k + " = " + v + "\n";
  return out;
}

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

// --- originators --------------------------------------------------------------------------------

constexpr std::string_view kAch = R"({ company_name = "SHOPPER US", company_id = "1812345678", )"
                                  R"(odfi_routing = "091000019", immediate_destination = )"
                                  R"("091000019", immediate_origin = "1812345678", )"
                                  R"(entry_description = "PAYOUT" })";

std::string usd_cop(std::vector<std::pair<std::string, std::string>> more) {
  more.insert(more.begin(), {"currencies", R"(["USD", "COP"])"});
  return shop(std::move(more));
}

// kAch with `key = value` put in (replacing the key when it is there).
std::string ach_with(std::string_view key, std::string_view value) {
  std::string t(kAch);
  size_t at = t.find(std::string(key) + " = ");
  std::string entry = std::string(key) + " = " + std::string(value);
  if (at == std::string::npos) return t.substr(0, t.size() - 2) + ", " + entry + " }";
  size_t end = t.find_first_of(",}", t.find('"', t.find('"', at) + 1));
  if (value.empty()) return t.replace(at, end + 2 - at, "");
  return t.replace(at, end - at, entry);
}

TEST(ConfigTest, AchOriginator) {
  Result<Config> r = load(usd_cop({{"ach", std::string(kAch)}}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const AchOriginator& a = *r->marketplace("shop")->ach;
  EXPECT_EQ(a.company_name, "SHOPPER US");
  EXPECT_EQ(a.company_id, "1812345678");
  EXPECT_EQ(a.odfi_routing, "091000019");
  EXPECT_EQ(a.immediate_destination, "091000019");
  EXPECT_EQ(a.immediate_origin, "1812345678");
  EXPECT_EQ(a.entry_description, "PAYOUT");
  EXPECT_EQ(a.immediate_destination_name, "");  // optional: blank in the file
  EXPECT_EQ(a.immediate_origin_name, "");
  r = load(usd_cop({{"ach", ach_with("immediate_origin_name", R"("SHOPPER US LLC")")}}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->marketplace("shop")->ach->immediate_origin_name, "SHOPPER US LLC");
  EXPECT_FALSE(load(shop())->marketplace("shop")->ach.has_value());

  auto bad = [](std::string_view key, std::string_view value) {
    return problems(usd_cop({{"ach", ach_with(key, value)}}));
  };
  EXPECT_EQ(bad("odfi_routing", R"("091000018")"),
            "marketplaces.shop.ach.odfi_routing: \"091000018\" fails the ABA routing number "
            "check digit");
  EXPECT_EQ(bad("immediate_destination", R"("91000019")"),
            "marketplaces.shop.ach.immediate_destination: \"91000019\" must be a routing number "
            "of 9 digits");
  EXPECT_EQ(bad("odfi_routing", "121000358"),
            "marketplaces.shop.ach.odfi_routing: must be a string, not an integer");
  EXPECT_EQ(bad("company_name", R"("Shopper US")"),
            "marketplaces.shop.ach.company_name: \"Shopper US\" must be 1..16 NACHA characters "
            "(printable ASCII without lower case, no leading or trailing space)");
  EXPECT_THAT(bad("company_name", R"("SHOPPER US HOLDINGS")"),
              HasSubstr("marketplaces.shop.ach.company_name: \"SHOPPER US HOLDINGS\" must be "
                        "1..16 NACHA characters"));
  EXPECT_THAT(bad("company_name", R"("")"), HasSubstr("ach.company_name: \"\" must be 1..16"));
  EXPECT_THAT(bad("entry_description", R"(" PAYOUT")"),
              HasSubstr("ach.entry_description: \" PAYOUT\" must be 1..10 NACHA characters"));
  EXPECT_THAT(bad("entry_description", R"("PAYOUTS 2026")"),
              HasSubstr("ach.entry_description: \"PAYOUTS 2026\" must be 1..10"));
  EXPECT_EQ(bad("company_id", R"("1-81234567")"),
            "marketplaces.shop.ach.company_id: \"1-81234567\" must be 1..10 capital letters or "
            "digits");
  EXPECT_THAT(bad("immediate_origin", R"("18123456789")"),
              HasSubstr("ach.immediate_origin: \"18123456789\" must be 1..10 capital letters"));
  EXPECT_THAT(bad("immediate_destination_name", R"("BANK ÑU")"),
              HasSubstr("ach.immediate_destination_name: \"BANK ÑU\" must be 0..23 NACHA"));
  EXPECT_EQ(bad("immediate_origin", ""),
            "marketplaces.shop.ach.immediate_origin: missing (required)");
  EXPECT_EQ(bad("trace", R"("1")"), "marketplaces.shop.ach.trace: unknown key");
  EXPECT_EQ(problems(shop({{"ach", std::string(kAch)}})),
            "marketplaces.shop.ach: the marketplace has no USD (a NACHA file pays in USD)");
}

constexpr std::string_view kCo = R"({ company_nit = "900123456-8", company_name = )"
                                 R"("Shopper Colombia S.A.S.", bank_code = "1007", )"
                                 R"(account_type = "checking", account = "20012345678" })";

std::string co_with(std::string_view key, std::string_view value) {
  std::string t(kCo);
  size_t at = t.find(std::string(key) + " = ");
  size_t end = t.find_first_of(",}", t.find('"', t.find('"', at) + 1));
  if (value.empty()) return t.replace(at, end + 2 - at, "");
  return t.replace(at, end - at, std::string(key) + " = " + std::string(value));
}

TEST(ConfigTest, CoDispersionOriginator) {
  Result<Config> r = load(usd_cop({{"co_dispersion", std::string(kCo)}}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const CoDispersionOriginator& o = *r->marketplace("shop")->co_dispersion;
  EXPECT_EQ(o.company_nit, "900123456");
  EXPECT_EQ(o.company_nit_check, 8);
  EXPECT_EQ(o.nit_text(), "900123456-8");
  EXPECT_EQ(o.company_name, "Shopper Colombia S.A.S.");
  EXPECT_EQ(o.bank_code, "1007");
  EXPECT_EQ(o.account_type, CoAccountType::checking);
  EXPECT_EQ(co_account_type_name(o.account_type), "checking");
  EXPECT_EQ(o.account, "20012345678");
  EXPECT_FALSE(load(shop())->marketplace("shop")->co_dispersion.has_value());
  r = load(usd_cop({{"co_dispersion", co_with("account_type", R"("savings")")}}));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->marketplace("shop")->co_dispersion->account_type, CoAccountType::savings);

  auto bad = [](std::string_view key, std::string_view value) {
    return problems(usd_cop({{"co_dispersion", co_with(key, value)}}));
  };
  EXPECT_EQ(bad("company_nit", R"("900123456-7")"),
            "marketplaces.shop.co_dispersion.company_nit: \"900123456-7\": the check digit is 7, "
            "DIAN's gives 8");
  for (std::string_view form : {R"("900123456")", R"("900.123.456-8")", R"("900123456-")",
                                R"("900123456-88")", R"("-8")", R"("9001234567890123-4")"}) {
    EXPECT_THAT(bad("company_nit", form),
                HasSubstr("co_dispersion.company_nit: " + std::string(form) +
                          " must be the NIT's 1..15 digits, '-' and its check digit"));
  }
  EXPECT_EQ(bad("company_nit", "900123456"),
            "marketplaces.shop.co_dispersion.company_nit: must be a string, not an integer");
  EXPECT_EQ(bad("bank_code", R"("07")"),
            "marketplaces.shop.co_dispersion.bank_code: \"07\" must be a bank code of 3 or 4 "
            "digits");
  EXPECT_EQ(bad("account_type", R"("current")"),
            "marketplaces.shop.co_dispersion.account_type: \"current\" is not one of savings | "
            "checking");
  EXPECT_EQ(bad("account", R"("200-123456-78")"),
            "marketplaces.shop.co_dispersion.account: \"200-123456-78\" must be an account number "
            "of 1..17 digits");
  EXPECT_THAT(bad("company_name", R"("")"),
              HasSubstr("co_dispersion.company_name: \"\" must be 1..140 characters"));
  EXPECT_EQ(bad("bank_code", ""), "marketplaces.shop.co_dispersion.bank_code: missing (required)");
  EXPECT_EQ(problems(shop({{"co_dispersion", std::string(kCo)}})),
            "marketplaces.shop.co_dispersion: the marketplace has no COP (a Colombian dispersion "
            "file pays in COP)");
}

TEST(ConfigTest, EveryProblemOfTheNewKeysIsListedInFileOrder) {
  std::string text = usd_cop({{"schedule", R"({ monthly_days = [15, 32] })"},
                              {"reserve", R"({ rate = "10%", days = 0 })"},
                              {"minimum_balance", R"("-5.00")"},
                              {"payout_tax", R"({ rate = "0.4%", account = "gmf" })"},
                              {"ach", ach_with("odfi_routing", R"("123456789")")},
                              {"co_dispersion", co_with("company_nit", R"("900123456-1")")}});
  EXPECT_THAT(
      lines_of(problems(text)),
      ElementsAre("marketplaces.shop.schedule.monthly_days[1]: 32 is out of range 1..31",
                  "marketplaces.shop.reserve.days: 0 is out of range 1..3650",
                  "marketplaces.shop.minimum_balance: \"-5.00\" is negative",
                  HasSubstr("marketplaces.shop.payout_tax.account: \"gmf\" must be an expense"),
                  HasSubstr("marketplaces.shop.ach.odfi_routing: \"123456789\" fails the ABA"),
                  HasSubstr("marketplaces.shop.co_dispersion.company_nit: \"900123456-1\": the "
                            "check digit is 1")));
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

TEST(BankIdsTest, IbanBicAndText) {
  EXPECT_TRUE(looks_like_iban("FR7630006000011234567890189"));
  EXPECT_TRUE(iban_checksum_ok("FR7630006000011234567890189"));
  EXPECT_TRUE(iban_checksum_ok("GB82WEST12345698765432"));
  EXPECT_TRUE(iban_checksum_ok("NO9386011117947"));
  EXPECT_FALSE(iban_checksum_ok("GB82WEST12345698765433"));
  EXPECT_FALSE(looks_like_iban("20012345678"));
  EXPECT_FALSE(looks_like_iban("FR76 3000 6000 0112 3456 7890 189"));
  EXPECT_EQ(*parse_bank_account("FR76 3000 6000 0112 3456 7890 189", "f"),
            (BankAccount{true, "FR7630006000011234567890189"}));
  EXPECT_EQ(*parse_bank_account("20012345678", "f"), (BankAccount{false, "20012345678"}));
  EXPECT_EQ(parse_bank_account("GB82WEST12345698765433", "f").error().message,
            "f: \"GB82WEST12345698765433\" fails the IBAN checksum");
  EXPECT_FALSE(parse_bank_account("", "f").ok());
  EXPECT_FALSE(parse_bank_account("12 34", "f").ok());
  EXPECT_FALSE(parse_bank_account(std::string(35, '1'), "f").ok());
  EXPECT_TRUE(parse_bank_account(std::string(34, '1'), "f").ok());
  EXPECT_TRUE(valid_bic("AGRIFRPPXXX"));
  EXPECT_TRUE(valid_bic("DEUTDEFF"));
  EXPECT_FALSE(valid_bic("DEUTDEF"));
  EXPECT_FALSE(valid_bic("DEUTDE1F"));  // 7th: a letter or 2-9
  EXPECT_FALSE(valid_bic("DEUTDEFO"));  // 8th: not O
  EXPECT_FALSE(valid_bic("deutdeff"));
  EXPECT_EQ(bank_text_length("Shop SAS"), 8u);
  EXPECT_EQ(bank_text_length("Café Zoë"), 8u);
  EXPECT_EQ(bank_text_length(""), 0u);
  EXPECT_FALSE(bank_text_length("a\nb").has_value());
  EXPECT_FALSE(bank_text_length("\xC3").has_value());          // truncated
  EXPECT_FALSE(bank_text_length("\xC0\xAF").has_value());      // overlong
  EXPECT_FALSE(bank_text_length("\xED\xA0\x80").has_value());  // surrogate
  EXPECT_FALSE(bank_text_length("\xC2\x85").has_value());      // C1 control
}

TEST(BankIdsTest, AbaRoutingNumbers) {
  for (std::string_view ok : {"091000019", "021000021", "011000015", "026009593", "121000358"})
    EXPECT_TRUE(aba_routing_ok(ok)) << ok;
  for (std::string_view bad :
       {"091000018", "021000022", "12345678", "1234567890", "09100001x", " 91000019", ""})
    EXPECT_FALSE(aba_routing_ok(bad)) << bad;
}

TEST(BankIdsTest, NitCheckDigits) {
  // Published NITs: the DIAN itself, Bancolombia, Ecopetrol.
  EXPECT_EQ(nit_check_digit("800197268"), 4);
  EXPECT_EQ(nit_check_digit("890903938"), 8);
  EXPECT_EQ(nit_check_digit("899999068"), 1);
  EXPECT_EQ(nit_check_digit("900123456"), 8);
  // The remainder r of the weighted sum mod 11 gives 11 - r, except 0 and 1 which stand.
  EXPECT_EQ(nit_check_digit("1"), 8);  // 1 * 3 = 3: 11 - 3
  EXPECT_EQ(nit_check_digit("4"), 1);  // 4 * 3 = 12: r = 1
  EXPECT_EQ(nit_check_digit("0"), 0);
  EXPECT_EQ(nit_check_digit("10"), 4);                          // 1 * 7 + 0 * 3 = 7: 11 - 7
  EXPECT_TRUE(nit_check_digit("123456789012345").has_value());  // 15 digits, the last weight
  EXPECT_FALSE(nit_check_digit("").has_value());
  EXPECT_FALSE(nit_check_digit("1234567890123456").has_value());  // 16 digits
  EXPECT_FALSE(nit_check_digit("900.123").has_value());
}

}  // namespace
}  // namespace tally
