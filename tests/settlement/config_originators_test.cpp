#include "settlement/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "config_fixture.h"
#include "settlement/bank_ids.h"

namespace tally {
namespace {

using namespace tally::testing;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

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

}  // namespace
}  // namespace tally
