#include "settlement/calendar.h"

#include <algorithm>
#include <cstdio>

namespace tally {

namespace {

bool digits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

unsigned to_uint(std::string_view s) {
  unsigned v = 0;
  for (char c : s) v = v * 10 + unsigned(c - '0');
  return v;
}

}  // namespace

Result<Date> parse_date(std::string_view text, std::string_view field) {
  auto bad = [&](std::string_view why) {
    return reject(Code::bad_date,
                  std::string(field) + ": \"" + std::string(text) + "\" " + std::string(why));
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !digits(text.substr(0, 4)) ||
      !digits(text.substr(5, 2)) || !digits(text.substr(8, 2)))
    return bad("is not a date of the form YYYY-MM-DD");
  date::year_month_day ymd{date::year(int(to_uint(text.substr(0, 4)))),
                           date::month(to_uint(text.substr(5, 2))),
                           date::day(to_uint(text.substr(8, 2)))};
  if (!ymd.ok()) return bad("is not a calendar date");
  Date d{ymd};
  if (d < kDateMin || d > kDateMax) return bad("is outside 1900-01-01..2200-12-31");
  return d;
}

std::string format_date(Date d) {
  date::year_month_day ymd{d};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", int(ymd.year()), unsigned(ymd.month()),
                unsigned(ymd.day()));
  return buf;
}

bool is_business_day(Date d, std::span<const Date> holidays) {
  date::weekday wd{d};
  if (wd == date::Saturday || wd == date::Sunday) return false;
  return std::find(holidays.begin(), holidays.end(), d) == holidays.end();
}

Date next_business_day(Date d, std::span<const Date> holidays) {
  // Ends: at most holidays.size() weekdays are skipped, and weekends are two days long.
  while (!is_business_day(d, holidays)) d += date::days{1};
  return d;
}

Date adjusted_date(const Schedule& schedule, std::span<const Date> holidays, int64_t k) {
  return next_business_day(scheduled_date(schedule, k), holidays);
}

std::optional<PayDate> pay_date_for(const Schedule& schedule, std::span<const Date> holidays,
                                    Date d) {
  // Scheduled dates, hence adjusted dates, never decrease with k. Let k be the last k scheduled
  // at or before d: larger ones are scheduled, hence adjusted, after d; smaller ones adjust to
  // at most k's adjusted date, which is at most d when d is a business day. So a business day d
  // is a pay date exactly when k adjusts onto it, and k is then the largest k that does.
  if (!is_business_day(d, holidays)) return std::nullopt;
  int64_t k = last_scheduled_on_or_before(schedule, d);
  if (adjusted_date(schedule, holidays, k) != d) return std::nullopt;
  return PayDate{d, k, scheduled_date(schedule, k)};
}

std::vector<PayDate> next_pay_dates(const Schedule& schedule, std::span<const Date> holidays,
                                    Date from, size_t n) {
  std::vector<PayDate> out;
  if (n == 0) return out;
  // The smallest k scheduled on or after `from`, then back while an earlier k still lands on or
  // after `from` (it may, when a weekend or holidays push it forward).
  int64_t k = last_scheduled_on_or_before(schedule, from - date::days{1}) + 1;
  while (adjusted_date(schedule, holidays, k - 1) >= from) --k;
  for (;; ++k) {
    Date a = adjusted_date(schedule, holidays, k);
    if (!out.empty() && out.back().date == a) {
      out.back().k = k;  // merged pay date: keep the largest k, as pay_date_for does
      out.back().scheduled = scheduled_date(schedule, k);
      continue;
    }
    if (out.size() == n) break;
    out.push_back(PayDate{a, k, scheduled_date(schedule, k)});
  }
  return out;
}

Result<int64_t> start_of_day_ns(const date::time_zone& zone, Date d) {
  // choose::earliest: of a repeated midnight, the first; of a skipped one, date returns the
  // transition instant, which is the first instant of the local day d.
  date::sys_seconds start =
      zone.to_sys(date::local_days{d.time_since_epoch()}, date::choose::earliest);
  int64_t ns;
  if (__builtin_mul_overflow(int64_t(start.time_since_epoch().count()), int64_t(1'000'000'000),
                             &ns))
    return reject(Code::bad_date,
                  "date " + format_date(d) + " is outside the range of nanosecond timestamps");
  return ns;
}

}  // namespace tally
