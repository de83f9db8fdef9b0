// The auditor's reads of the marketplace layer (SPEC section 5, "Reads"), over a Service: a
// marketplace's config as loaded and its next pay dates, a payee's details, holds, hold state and
// terms, the accounts under a prefix a page at a time, and runs across marketplaces. The one place
// the embedded backend (`tally --data`) and the RPC server's Auditor share, so both transports
// give the same results.
//
// Results are plain values in the clients' terms: rates as their exact decimal text
// (Rate::to_string, "2.9%"), dates as "YYYY-MM-DD", money as CurrencyTotal (printed with exactly
// the currency's digits), times as Unix nanoseconds. Nothing here is text for a person.
//
// Roles: every function is a read (the caller checks the auditor role).
//
// Thread safety: as Service (any thread); each call reads one snapshot of its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "service/results.h"
#include "service/service.h"
#include "settlement/originators.h"
#include "settlement/payee_rails.h"

namespace tally {

// --- marketplace(name) -----------------------------------------------------------------------

// Pay dates asked for at once: `next` is 1..pay_dates_max (0 means pay_dates_default).
inline constexpr uint32_t pay_dates_max = 366;
inline constexpr uint32_t pay_dates_default = 5;

struct MarketplaceQuery {
  std::string name;
  std::optional<std::string>
      from;           // YYYY-MM-DD, inclusive; absent: today in the marketplace's zone
  uint32_t next = 0;  // pay dates wanted; 0: pay_dates_default
};

struct NamedRate {
  std::string name;  // a category
  std::string rate;  // Rate::to_string: "10%"
};
struct EarningRuleView {
  std::string name;
  std::string rate;
  std::vector<CurrencyTotal> minimum;  // every marketplace currency, zero where not given
};
// The schedule's one form (settlement/schedule.h): `form` names it and only its fields are set.
struct ScheduleView {
  std::string form;                   // "every_days", "weekly", "monthly_days"
  uint32_t every_days = 0;            // every_days
  std::string anchor;                 // every_days: YYYY-MM-DD
  std::vector<std::string> weekdays;  // weekly: "monday".."sunday"
  std::vector<uint32_t> month_days;   // monthly_days: 1..31 (31 is "last": every month's last day)
};
struct ReserveView {
  std::string rate;
  uint32_t days = 0;
};
struct PayoutTaxView {
  std::string rate;
  std::string account;   // the full ledger account
  std::string rounding;  // rounding_name
  std::string currency;  // the one currency taxed; empty: every currency
};
struct CoDispersionView {
  std::string company_nit;  // with its check digit, "900123456-8"
  std::string company_name;
  std::string bank_code;
  std::string account_type;  // "savings" | "checking"
  std::string account;
};
// A pay date (settlement/calendar.h PayDate) and its run's cut-off.
struct PayDateView {
  std::string date;       // YYYY-MM-DD: the business day the run pays on
  std::string scheduled;  // YYYY-MM-DD: the scheduled date it stands for (before adjustment)
  TimeNs cutoff = 0;      // the run's cut-off: the start of `date` in the marketplace's zone
};

// MarketplaceConfig (settlement/config.h) as load_config made it, field for field.
struct MarketplaceResult {
  std::string name;
  std::vector<Currency> currencies;  // the first is the default
  std::string timezone;
  std::string rounding;                       // rounding_name
  std::vector<NamedRate> commission;          // category order
  std::optional<std::string> affiliate_rate;  // absent: sales may not name an affiliate
  std::string fee_rate;
  std::vector<CurrencyTotal> fee_fixed;  // every currency, zero where not given
  std::string fee_payer;                 // "payee" | "platform"
  uint32_t hold_days = 0;
  std::string hold_from;  // "sale" | "delivery"
  ScheduleView schedule;
  std::vector<CurrencyTotal> minimum_payout;
  std::vector<std::string> holidays;  // YYYY-MM-DD, ascending
  std::string payout_account_name, payout_account_iban, payout_account_bic;
  std::vector<EarningRuleView> earning;  // rule name order
  std::optional<ReserveView> reserve;    // absent: no reserve
  std::vector<CurrencyTotal> minimum_balance;
  std::optional<PayoutTaxView> payout_tax;
  std::optional<AchOriginator> ach;
  std::optional<CoDispersionView> co_dispersion;
  // The query's answer: the first date looked from and the next pay dates from it, ascending.
  std::string from;
  std::vector<PayDateView> pay_dates;
};

// unknown_marketplace; bad_date naming `from`; bad_request when next > pay_dates_max.
Result<MarketplaceResult> marketplace_op(Service& service, const MarketplaceQuery& query);

// --- payee(marketplace, payee) ---------------------------------------------------------------

struct PayeeDetailsView {
  TimeNs at = 0;  // the event's business time
  std::string event_id;
  std::string name, account, bic;
  std::optional<PayeeAchFields> ach;
  std::optional<PayeeCoFields> co;
};
// A hold (or a reserve): money of one origin kept pending until `release`.
struct PayeeHoldView {
  std::string origin;  // the sale or earning it came from
  Currency currency;
  Amount original;
  Amount remaining;
  std::optional<TimeNs> release;  // absent: not known yet (a sale held from delivery, undelivered)
  TimeNs created = 0;  // business time of the origin entry (a reserve: the run's cut-off)
};
struct PayeeTermsView {
  TimeNs at = 0;
  std::string event_id;
  std::optional<ReserveView> reserve;          // absent: the marketplace's reserve
  std::vector<CurrencyTotal> minimum_balance;  // the currencies it sets
};
struct PayeeResult {
  std::string marketplace, payee;
  bool on_hold = false;
  std::string hold_reason;  // of the last payee_hold (or failed payout) that named the payee
  std::optional<TimeNs> hold_since;       // absent: never named by a payee_hold
  std::vector<PayeeDetailsView> details;  // history, by business time; the last is current
  std::vector<PayeeHoldView> holds;       // currency, then origin order
  std::vector<PayeeHoldView> reserves;    // the same, of the rolling reserve
  std::vector<PayeeTermsView> terms;      // history, by business time; the last is current
};

// unknown_marketplace; bad_account_name for a payee that is not an account segment;
// unknown_payee when the marketplace knows nothing of it (no account, details, hold or terms).
Result<PayeeResult> payee_op(Service& service, const std::string& marketplace,
                             const std::string& payee);

// --- accounts(prefix, after, limit) ----------------------------------------------------------

inline constexpr uint32_t accounts_page_max = 10000;
inline constexpr uint32_t accounts_page_default = 1000;

struct AccountsQuery {
  std::string prefix;  // accounts equal to or under it; empty: every account
  std::string after;   // the cursor: an account name; empty: from the first
  uint32_t limit = 0;  // 1..accounts_page_max; 0: accounts_page_default
};
struct AccountsPage {
  std::string prefix;
  std::vector<Account> accounts;  // name order (Account: name, kind, flags, currencies)
  std::string next;               // the next page's cursor (the last name); empty at the end
};

// bad_account_name for a malformed prefix or cursor; bad_request for a limit over the max.
Result<AccountsPage> accounts_op(Service& service, const AccountsQuery& query);

// --- runs across marketplaces ----------------------------------------------------------------

// The runs of `marketplace`, or of every configured marketplace (absent), marketplace then pay
// date order, each with its marketplace set. unknown_marketplace.
Result<std::vector<RunSummary>> all_runs_op(Service& service,
                                            const std::optional<std::string>& marketplace);

}  // namespace tally
