// Business calendar of a marketplace (SPEC sections 4 and 8): dates, business days, pay dates
// (the schedule's dates of settlement/schedule.h moved to the next business day) and a run's
// cut-off instant.
//
// Dates are `Date` (= date::sys_days: a count of days since 1970-01-01, proleptic Gregorian, no
// time zone). A date means a calendar day in the marketplace's own time zone; only
// start_of_day_ns turns one into an instant.
//
// The functions take the schedule, the holidays and the zone, not the marketplace's config: the
// config includes this header (settlement/config.h has the same calls on a MarketplaceConfig),
// never the other way round.
//
// The schedule's k ranges over all integers: every form extends both ways (an every_days anchor
// fixes the phase of the schedule, not its start). When several scheduled dates move onto the
// same business day (every_days < 3 over a weekend, weekly days over a weekend, a run of
// holidays, or monthly days 30 and 31 in February), they are one pay date, that is one run.
//
// Thread safety: pure functions of their arguments (the tz database they read is immutable once
// loaded, and loading it is thread-safe); call them from any thread.
#pragma once

#include <date/date.h>
#include <date/tz.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"
#include "settlement/schedule.h"

namespace tally {

// The dates tally accepts as text: the years the ledger's timestamps cover (ledger/time.h), so
// that every accepted date's cut-off fits int64 nanoseconds with room to spare.
inline constexpr Date kDateMin = date::sys_days{date::year{1900} / 1 / 1};
inline constexpr Date kDateMax = date::sys_days{date::year{2200} / 12 / 31};

// Strict "YYYY-MM-DD": exactly 4+2+2 digits and two '-', a real calendar day, within
// [kDateMin, kDateMax]. No spaces, signs, time or offset. bad_date naming `field` otherwise.
Result<Date> parse_date(std::string_view text, std::string_view field);
// "YYYY-MM-DD" (for dates in kDateMin..kDateMax; other years print with date::format's rules).
std::string format_date(Date d);

// A weekday other than Saturday and Sunday that is not listed in `holidays` (any order).
bool is_business_day(Date d, std::span<const Date> holidays);
// `d` itself when it is a business day, else the first business day after it.
Date next_business_day(Date d, std::span<const Date> holidays);

// A pay date of a schedule and the scheduled date(s) it stands for.
struct PayDate {
  Date date;       // the business day the run pays on
  int64_t k = 0;   // the largest k whose scheduled date moves onto `date`
  Date scheduled;  // scheduled_date(k), before the business-day adjustment
  friend bool operator==(const PayDate&, const PayDate&) = default;
};

// The pay date for k: scheduled_date(schedule, k) moved to the next business day.
Date adjusted_date(const Schedule& schedule, std::span<const Date> holidays, int64_t k);

// Is `d` a pay date of the schedule (the adjusted date of some integer k)? nullopt otherwise.
std::optional<PayDate> pay_date_for(const Schedule& schedule, std::span<const Date> holidays,
                                    Date d);

// The first `n` distinct pay dates on or after `from` (inclusive), ascending. A scheduled date
// before `from` that moves onto or past `from` counts.
std::vector<PayDate> next_pay_dates(const Schedule& schedule, std::span<const Date> holidays,
                                    Date from, size_t n);

// The first instant of day `d` in `zone`, as Unix nanoseconds (UTC). Normally local 00:00; when
// local midnight does not exist (a DST jump at 00:00, e.g. America/Santiago in September) it is
// the earliest instant that falls on `d` (the transition itself, local 01:00); when midnight
// happens twice (a fall-back to 00:00, e.g. America/Havana in November) it is the first one.
// bad_date when the instant does not fit int64 nanoseconds (dates outside ~1677..2262).
Result<int64_t> start_of_day_ns(const date::time_zone& zone, Date d);

}  // namespace tally
