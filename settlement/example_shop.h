// The `shop` marketplace of SPEC section 3's example as one `[marketplaces.shop]` TOML table: a
// French shop in EUR (Europe/Paris, half_even), commission 10% on products and 20% on services,
// affiliates 7%, a bank fee of 2.9% + 0.25 paid by the payee, funds held 14 days, paid every 7
// days from Monday 5 January 2026, 10.00 minimum payout, paid out of Shop SAS's account. The
// demo, tests and benchmarks that configure this marketplace take its text from here; what they
// vary is a field of ExampleShop. (fixtures/marketplaces.toml's shop differs: weekly, a reserve.)
//
// Thread safety: a pure function.
#pragma once

#include <string>
#include <string_view>

namespace tally {

struct ExampleShop {
  std::string_view hold_from = "delivery";  // "delivery" or "sale"
  std::string_view holidays = "[]";         // a TOML array of "YYYY-MM-DD"
  std::string_view commission_rate = R"({ product = "10%", service = "20%" })";
};

// The table, starting with its header line and ending with a newline; append further tables
// after it.
inline std::string example_shop_toml(const ExampleShop& v = {}) {
  std::string t = "[marketplaces.shop]\n";
  t += "currencies = [\"EUR\"]\n";
  t += "timezone = \"Europe/Paris\"\n";
  t += "rounding = \"half_even\"\n";
  t += "commission_rate = " + std::string(v.commission_rate) + "\n";
  t += "affiliate_rate = \"7%\"\n";
  t += "fee_rate = \"2.9%\"\n";
  t += "fee_fixed = \"0.25\"\n";
  t += "fee_payer = \"payee\"\n";
  t += "hold_days = 14\n";
  t += "hold_from = \"" + std::string(v.hold_from) + "\"\n";
  t += "schedule = { every_days = 7, anchor = \"2026-01-05\" }\n";
  t += "minimum_payout = \"10.00\"\n";
  t += "holidays = " + std::string(v.holidays) + "\n";
  t += "payout_account = { name = \"Shop SAS\", iban = \"FR7630006000011234567890189\", "
       "bic = \"AGRIFRPPXXX\" }\n";
  return t;
}

}  // namespace tally
