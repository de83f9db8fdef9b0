#include "settlement/schedule.h"

#include <algorithm>
#include <array>
#include <string>

#include "ledger/status.h"

namespace tally {

namespace {

// Rounds toward negative infinity (C++ division truncates toward zero): k for dates before the
// origin of a schedule must be the k whose scheduled date is at or before them.
int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// a - b * floor_div(a, b): in 0..b-1 for b > 0.
int64_t floor_mod(int64_t a, int64_t b) {
  return a - b * floor_div(a, b);
}

// Monday 1969-12-29, the first day of week w = 0 of WeeklySchedule.
constexpr Date kWeekZero = Date{date::days{-3}};
constexpr date::year_month kMonthZero = date::year{1970} / date::January;

constexpr std::array<std::string_view, 7> kWeekdayNames = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};

// Days from Monday: 0 for Monday .. 6 for Sunday.
int64_t from_monday(date::weekday wd) {
  return int64_t(wd.iso_encoding()) - 1;
}

// Day `day` of month `ym`, or its last day when the month is shorter.
Date day_of_month(date::year_month ym, int day) {
  date::day last = (ym / date::last).day();
  date::day want{unsigned(day)};
  return Date{ym / std::min(want, last)};
}

void check(const WeeklySchedule& s) {
  TALLY_ASSERT(!s.days.empty() && s.days.size() <= 7, "weekly schedule without days");
  for (size_t i = 1; i < s.days.size(); ++i)
    TALLY_ASSERT(from_monday(s.days[i - 1]) < from_monday(s.days[i]), "weekly days out of order");
}

void check(const MonthlySchedule& s) {
  TALLY_ASSERT(!s.days.empty(), "monthly schedule without days");
  for (size_t i = 0; i < s.days.size(); ++i) {
    TALLY_ASSERT(s.days[i] >= 1 && s.days[i] <= MonthlySchedule::last_day,
                 "monthly day " + std::to_string(s.days[i]));
    TALLY_ASSERT(i == 0 || s.days[i - 1] < s.days[i], "monthly days out of order");
  }
}

}  // namespace

std::string_view schedule_form_name(const Schedule& s) {
  switch (s.index()) {
    case 0:
      return "every_days";
    case 1:
      return "weekly";
    default:
      return "monthly_days";
  }
}

std::string_view weekday_name(date::weekday wd) {
  return wd.ok() ? kWeekdayNames[size_t(from_monday(wd))] : "?";
}

std::optional<date::weekday> parse_weekday(std::string_view name) {
  for (size_t i = 0; i < kWeekdayNames.size(); ++i)
    if (kWeekdayNames[i] == name) return date::weekday{unsigned(i + 1) % 7};  // Sunday is 0
  return std::nullopt;
}

Date scheduled_date(const Schedule& schedule, int64_t k) {
  if (const auto* s = std::get_if<EveryDaysSchedule>(&schedule)) {
    TALLY_ASSERT(s->every_days >= 1, "every_days " + std::to_string(s->every_days));
    return s->anchor + date::days{k * s->every_days};
  }
  if (const auto* s = std::get_if<WeeklySchedule>(&schedule)) {
    check(*s);
    auto n = int64_t(s->days.size());
    return kWeekZero +
           date::days{7 * floor_div(k, n) + from_monday(s->days[size_t(floor_mod(k, n))])};
  }
  const auto& s = std::get<MonthlySchedule>(schedule);
  check(s);
  auto n = int64_t(s.days.size());
  return day_of_month(kMonthZero + date::months{floor_div(k, n)}, s.days[size_t(floor_mod(k, n))]);
}

int64_t last_scheduled_on_or_before(const Schedule& schedule, Date d) {
  if (const auto* s = std::get_if<EveryDaysSchedule>(&schedule)) {
    TALLY_ASSERT(s->every_days >= 1, "every_days " + std::to_string(s->every_days));
    return floor_div((d - s->anchor).count(), s->every_days);
  }
  if (const auto* s = std::get_if<WeeklySchedule>(&schedule)) {
    check(*s);
    int64_t days = (d - kWeekZero).count();
    int64_t week = floor_div(days, 7), offset = floor_mod(days, 7);
    // The days of this week on or before d: i of them, so the last is k = n * week + i - 1 (the
    // previous week's last day when i is 0).
    auto i = int64_t(std::count_if(s->days.begin(), s->days.end(),
                                   [&](date::weekday wd) { return from_monday(wd) <= offset; }));
    return int64_t(s->days.size()) * week + i - 1;
  }
  const auto& s = std::get<MonthlySchedule>(schedule);
  check(s);
  date::year_month_day ymd{d};
  date::year_month ym = ymd.year() / ymd.month();
  int64_t month = (ym - kMonthZero).count();
  // Days of this month scheduled on or before d (their dates never decrease with their index,
  // and equal dates, 30 and 31 in February, all count: k is the largest).
  auto i = int64_t(std::count_if(s.days.begin(), s.days.end(),
                                 [&](int day) { return day_of_month(ym, day) <= d; }));
  return int64_t(s.days.size()) * month + i - 1;
}

}  // namespace tally
