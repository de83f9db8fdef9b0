// A marketplace's payout schedule (SPEC sections 4 and 8): the scheduled dates, before any
// business-day adjustment (that is settlement/calendar.h's job).
//
// Three forms, exactly one per marketplace (docs/settlement.md, "Calendar"):
//   every_days + anchor   anchor + k * every_days, for every integer k
//   weekly                every listed weekday of every week
//   monthly_days          every listed day of every month; a day past a month's end is that
//                         month's last day ("last" is 31)
//
// Each form is a sequence of scheduled dates numbered by an integer k over all integers (the
// past and the future alike), never decreasing with k. It may repeat a date (monthly_days
// [30, 31] in February: both are the 28th or 29th); such repeats are merged like any other
// scheduled dates that land on the same pay date. How k is counted for each form is below; k
// only orders scheduled dates and names the one a pay date stands for.
//
// Thread safety: plain values and pure functions; call them from any thread.
#pragma once

#include <date/date.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <variant>
#include <vector>

namespace tally {

// A calendar day, no time zone: days since 1970-01-01, proleptic Gregorian.
using Date = date::sys_days;

// anchor + k * every_days.
struct EveryDaysSchedule {
  Date anchor;         // any date; the schedule extends both ways from it
  int every_days = 7;  // 1..every_days_max
  static constexpr int every_days_max = 366;
  friend bool operator==(const EveryDaysSchedule&, const EveryDaysSchedule&) = default;
};

// The listed weekdays of every week. k = n * w + i, where n = days.size(), w counts weeks
// (Monday to Sunday) from the week of 1970-01-01 (w = 0: Monday 1969-12-29 to Sunday
// 1970-01-04), and i is the weekday's index in `days`.
struct WeeklySchedule {
  std::vector<date::weekday> days;  // 1..7 weekdays, Monday first, no duplicates
  friend bool operator==(const WeeklySchedule&, const WeeklySchedule&) = default;
};

// The listed days of every month. k = n * m + i, where n = days.size(), m counts months from
// January 1970 (m = 0), and i is the day's index in `days`. A day past the month's end is the
// month's last day, so 31 is the last day of every month ("last" in the config).
struct MonthlySchedule {
  static constexpr int last_day = 31;  // "last": 31 falls back to every month's last day
  std::vector<int> days;               // 1..31 ascending, no duplicates
  friend bool operator==(const MonthlySchedule&, const MonthlySchedule&) = default;
};

using Schedule = std::variant<EveryDaysSchedule, WeeklySchedule, MonthlySchedule>;

// The config key that introduces the form: "every_days", "weekly" or "monthly_days".
std::string_view schedule_form_name(const Schedule& s);

// "monday".."sunday" (the config's spelling) and back; nullopt for anything else.
std::string_view weekday_name(date::weekday wd);
std::optional<date::weekday> parse_weekday(std::string_view name);

// The scheduled date k (no business-day adjustment). Requires a valid schedule: every_days >=
// 1; weekly and monthly days non-empty, in range, ascending (load_config guarantees it).
Date scheduled_date(const Schedule& s, int64_t k);

// The largest k whose scheduled date is on or before `d`. Every k above it is scheduled after
// `d`.
int64_t last_scheduled_on_or_before(const Schedule& s, Date d);

}  // namespace tally
