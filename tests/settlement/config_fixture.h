// Helpers of the config tests (config_test.cpp, config_invalid_test.cpp, config_schedule_test.cpp,
// config_originators_test.cpp): SPEC section 3's example config, a valid one-marketplace `shop`
// config with keys replaced, and loading a config expecting it to be refused (problems(): the
// message, a test failure when the config loaded).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "settlement/config.h"

namespace tally::testing {

inline Amount minor(i128 v) {
  return Amount::from_minor(v);
}
inline Rate pct(std::string_view text) {
  return *Rate::parse(text, "test");
}
inline Date day(int y, unsigned m, unsigned d) {
  return Date{date::year{y} / m / d};
}

// SPEC section 3's example as written there, with the shopper table completed (the SPEC gives
// only its earning rule).
inline constexpr std::string_view kSpecExample = R"(
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

inline Result<Config> load(std::string_view text) {
  return load_config(text, CurrencyTable());
}

// The rejection's message, or a failure when the config loaded.
inline std::string problems(std::string_view text) {
  Result<Config> r = load(text);
  if (r.ok()) {
    ADD_FAILURE() << "config loaded but should not have:\n" << text;
    return "";
  }
  EXPECT_EQ(r.error().code, Code::bad_request);
  return r.error().message;
}

inline std::vector<std::string> lines_of(const std::string& s) {
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
inline std::string shop(std::vector<std::pair<std::string, std::string>> changes = {}) {
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

}  // namespace tally::testing
