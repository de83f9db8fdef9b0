// Marketplace and server configuration (SPEC section 3): the TOML file, read into plain structs.
//
// The file has two top-level tables, both optional: `marketplaces` (one table per marketplace,
// with exactly the keys of SPEC section 3 and the optional ones of section 8: the schedule
// forms, reserve, minimum_balance, payout_tax, ach, co_dispersion) and `tokens` (token ->
// roles). Loading is all or nothing: an invalid file is refused with every problem found, one
// per line, each starting with the key path ("marketplaces.shop.affiliate_rate: 12% is above
// commission_rate.product 10%"), and nothing of it is used. docs/settlement.md
// ("Configuration") lists the rules.
//
// Includes settlement/calendar.h (pay dates and cut-offs of a MarketplaceConfig are below);
// calendar.h and schedule.h never include this header.
//
// Thread safety: the structs are plain values; load_config* are pure functions (they only read
// the CurrencyTable and the system tz database) and may run concurrently.
#pragma once

#include <date/tz.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/money.h"
#include "ledger/status.h"
#include "settlement/bank_account.h"
#include "settlement/calendar.h"
#include "settlement/originators.h"
#include "settlement/schedule.h"

namespace tally {

// An amount per currency code. After load_config every marketplace currency has an entry
// (explicitly given, or zero: see amount_for).
using AmountByCurrency = std::map<std::string, Amount, std::less<>>;

// The entry for `code`, or zero when there is none. A fixed amount (fee_fixed, minimum_payout,
// an earning minimum) not given for a currency is zero: no fixed fee, no minimum.
Amount amount_for(const AmountByCurrency& amounts, std::string_view code);

enum class FeePayer : uint8_t { payee, platform };
enum class HoldFrom : uint8_t { sale, delivery };
enum class Role : uint8_t { poster, auditor, finance, replica };

std::string_view fee_payer_name(FeePayer p);
std::string_view hold_from_name(HoldFrom h);
std::string_view role_name(Role r);
std::optional<Role> parse_role(std::string_view name);

// `[marketplaces.M.earning.RULE]`: pays max(round(basis * rate), minimum).
struct EarningRule {
  std::string name;
  Rate rate;
  AmountByCurrency minimum;  // every marketplace currency, zero where not given
  Amount minimum_for(std::string_view code) const { return amount_for(minimum, code); }
};

// The account payouts are sent from (the debtor of a pain.001 file).
struct PayoutAccount {
  std::string name;  // 1..140 characters of UTF-8, no control characters
  std::string iban;  // parse_bank_account's id: an IBAN, or where banks use none another id
  std::string bic;   // BIC (8 or 11 characters)
  friend bool operator==(const PayoutAccount&, const PayoutAccount&) = default;
};

// `reserve = { rate, days }`: a rolling reserve, that share of each release kept back for that
// many days.
struct Reserve {
  Rate rate;     // 0..100%
  int days = 0;  // 1..reserve_days_max
  static constexpr int reserve_days_max = 3650;
  friend bool operator==(const Reserve&, const Reserve&) = default;
};

// `payout_tax`: a tax the platform bears on each transfer it sends (the Colombian GMF, 4 per
// 1,000), booked as an expense leg of the payout entry.
struct PayoutTax {
  Rate rate;                                // 0..100%
  std::string account;                      // the full ledger account: "<marketplace>:expense:..."
  Rounding rounding = Rounding::half_even;  // the config's, else the marketplace's rounding
  std::optional<Currency> currency;         // the one currency taxed; nullopt: every currency
  // Does the tax apply to a payout in `code`?
  bool applies_to(std::string_view code) const { return !currency || currency->code() == code; }
};

struct MarketplaceConfig {
  std::string name;                       // a valid account segment: [a-z0-9][a-z0-9_.-]*
  std::vector<Currency> currencies;       // non-empty, no duplicates; the first is the default
  std::string timezone;                   // IANA name
  const date::time_zone* zone = nullptr;  // timezone resolved (lives as long as the process)
  Rounding rounding = Rounding::half_even;
  std::map<std::string, Rate, std::less<>> commission_rate;  // category -> rate, <= 100%
  std::optional<Rate> affiliate_rate;  // absent: sales may not name an affiliate
  Rate fee_rate;                       // <= 100%
  AmountByCurrency fee_fixed;          // >= 0
  FeePayer fee_payer = FeePayer::payee;
  int hold_days = 0;  // 0..3650
  HoldFrom hold_from = HoldFrom::sale;
  Schedule schedule;                // exactly one form (settlement/schedule.h)
  AmountByCurrency minimum_payout;  // >= 0
  std::vector<Date> holidays;       // sorted, no duplicates
  PayoutAccount payout_account;
  std::map<std::string, EarningRule, std::less<>> earning;
  std::optional<Reserve> reserve;       // absent: no reserve
  AmountByCurrency minimum_balance;     // >= 0, every currency (zero where not given)
  std::optional<PayoutTax> payout_tax;  // absent: no tax on payouts
  std::optional<AchOriginator> ach;     // the US NACHA originator (needs USD)
  std::optional<CoDispersionOriginator> co_dispersion;  // the Colombian one (needs COP)

  // The marketplace's currency with this code, or nullopt when it does not hold it.
  std::optional<Currency> currency(std::string_view code) const;
  Amount fee_fixed_for(std::string_view code) const { return amount_for(fee_fixed, code); }
  Amount minimum_payout_for(std::string_view code) const {
    return amount_for(minimum_payout, code);
  }
  Amount minimum_balance_for(std::string_view code) const {
    return amount_for(minimum_balance, code);
  }
};

// A marketplace's calendar: settlement/calendar.h's functions with its schedule, holidays and
// time zone (same contracts).
std::optional<PayDate> pay_date_for(const MarketplaceConfig& m, Date d);
std::vector<PayDate> next_pay_dates(const MarketplaceConfig& m, Date from, size_t n);
// A run's cut-off (SPEC section 4): start_of_day_ns(m's zone, pay_date). Requires m.zone
// (load_config sets it).
Result<int64_t> cutoff(const MarketplaceConfig& m, Date pay_date);

struct TokenGrant {
  std::string token;
  std::vector<Role> roles;  // non-empty, sorted, no duplicates
  bool has(Role r) const;
};

struct Config {
  std::map<std::string, MarketplaceConfig, std::less<>> marketplaces;
  std::vector<TokenGrant> tokens;  // sorted by token

  const MarketplaceConfig* marketplace(std::string_view name) const;
  const TokenGrant* grant(std::string_view token) const;
};

// Parses and validates the TOML text. Every problem is reported, one per line (in file order),
// as one Rejection with Code::bad_request; a TOML syntax error is reported alone (nothing after
// it can be read). Currencies are looked up in `currencies`.
Result<Config> load_config(std::string_view toml_text, const CurrencyTable& currencies);
// Reads the file and calls load_config; an unreadable file is a bad_request naming the path.
Result<Config> load_config_file(const std::string& path, const CurrencyTable& currencies);

}  // namespace tally
