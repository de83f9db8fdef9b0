#include "settlement/calendar.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "settlement/config.h"

namespace tally {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Date day(int y, unsigned m, unsigned d) {
  return Date{date::year{y} / m / d};
}

// Unix nanoseconds of y-m-d h:00 UTC, computed without any time zone.
int64_t utc_ns(int y, unsigned m, unsigned d, int h, int min = 0) {
  auto t = day(y, m, d) + std::chrono::hours{h} + std::chrono::minutes{min};
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

MarketplaceConfig market(Date anchor, int every_days, std::vector<Date> holidays = {},
                         std::string_view tz = "Europe/Paris") {
  MarketplaceConfig m;
  m.name = "m";
  m.timezone = std::string(tz);
  m.zone = date::locate_zone(tz);
  m.schedule = EveryDaysSchedule{anchor, every_days};
  m.holidays = std::move(holidays);
  return m;
}

std::vector<Date> dates_of(const std::vector<PayDate>& p) {
  std::vector<Date> out;
  for (const PayDate& x : p) out.push_back(x.date);
  return out;
}

TEST(CalendarTest, ParseDateIsStrict) {
  Result<Date> d = parse_date("2026-01-05", "f");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, day(2026, 1, 5));
  EXPECT_EQ(format_date(*d), "2026-01-05");
  EXPECT_TRUE(parse_date("2024-02-29", "f").ok());
  EXPECT_TRUE(parse_date("1900-01-01", "f").ok());
  EXPECT_TRUE(parse_date("2200-12-31", "f").ok());
  for (std::string_view bad :
       {"", "2026-1-05", "2026-01-5", "26-01-05", "2026/01/05", " 2026-01-05", "2026-01-05 ",
        "2026-01-05T00:00:00Z", "+2026-01-05", "2026-00-10", "2026-13-01", "2026-02-29",
        "2025-04-31", "1899-12-31", "2201-01-01", "２026-01-05", "2026-01-0x"}) {
    Result<Date> r = parse_date(bad, "schedule.anchor");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Code::bad_date);
    EXPECT_THAT(r.error().message, HasSubstr("schedule.anchor: \"" + std::string(bad) + "\""));
  }
  EXPECT_EQ(format_date(day(1900, 3, 9)), "1900-03-09");
}

TEST(CalendarTest, BusinessDays) {
  std::vector<Date> holidays = {day(2026, 5, 1), day(2026, 4, 6)};  // any order
  EXPECT_TRUE(is_business_day(day(2026, 1, 5), holidays));          // Monday
  EXPECT_TRUE(is_business_day(day(2026, 1, 9), holidays));          // Friday
  EXPECT_FALSE(is_business_day(day(2026, 1, 10), holidays));        // Saturday
  EXPECT_FALSE(is_business_day(day(2026, 1, 11), holidays));        // Sunday
  EXPECT_FALSE(is_business_day(day(2026, 4, 6), holidays));         // Easter Monday
  EXPECT_FALSE(is_business_day(day(2026, 5, 1), holidays));
  EXPECT_EQ(next_business_day(day(2026, 1, 10), holidays), day(2026, 1, 12));
  EXPECT_EQ(next_business_day(day(2026, 4, 4), holidays), day(2026, 4, 7));  // Sat, Sun, holiday
  EXPECT_EQ(next_business_day(day(2026, 1, 7), holidays), day(2026, 1, 7));
}

TEST(CalendarTest, AnchorInThePastAndInTheFuture) {
  MarketplaceConfig m = market(day(2026, 1, 5), 7);  // Mondays
  // After the anchor.
  auto p = pay_date_for(m, day(2026, 3, 2));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->k, 8);
  EXPECT_EQ(p->scheduled, day(2026, 3, 2));
  // Before the anchor: k negative.
  p = pay_date_for(m, day(2025, 12, 29));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->k, -1);
  p = pay_date_for(m, day(2025, 1, 6));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->k, -52);
  EXPECT_FALSE(pay_date_for(m, day(2026, 3, 3)).has_value());    // a Tuesday
  EXPECT_FALSE(pay_date_for(m, day(2025, 12, 30)).has_value());  // a Tuesday before the anchor
  EXPECT_EQ(scheduled_date(m.schedule, -2), day(2025, 12, 22));
  EXPECT_THAT(dates_of(next_pay_dates(m, day(2025, 12, 20), 3)),
              ElementsAre(day(2025, 12, 22), day(2025, 12, 29), day(2026, 1, 5)));
}

TEST(CalendarTest, FortnightlyBeforeTheAnchor) {
  MarketplaceConfig m = market(day(2026, 1, 9), 14);  // every other Friday
  EXPECT_TRUE(pay_date_for(m, day(2025, 12, 26)).has_value());
  EXPECT_FALSE(pay_date_for(m, day(2026, 1, 2)).has_value());  // a Friday of the other week
  EXPECT_EQ(pay_date_for(m, day(2025, 12, 26))->k, -1);
  EXPECT_EQ(pay_date_for(m, day(2025, 12, 12))->k, -2);
}

TEST(CalendarTest, WeekendMovesToTheNextBusinessDay) {
  MarketplaceConfig m = market(day(2026, 1, 3), 7);  // anchored on a Saturday
  EXPECT_FALSE(pay_date_for(m, day(2026, 1, 3)).has_value());
  auto p = pay_date_for(m, day(2026, 1, 5));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->k, 0);
  EXPECT_EQ(p->scheduled, day(2026, 1, 3));
  EXPECT_EQ(adjusted_date(m.schedule, m.holidays, 1), day(2026, 1, 12));
}

TEST(CalendarTest, HolidayMovesToTheNextBusinessDay) {
  MarketplaceConfig m = market(day(2026, 1, 5), 7, {day(2026, 4, 6), day(2026, 5, 25)});
  EXPECT_FALSE(pay_date_for(m, day(2026, 4, 6)).has_value());  // Easter Monday
  auto p = pay_date_for(m, day(2026, 4, 7));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->scheduled, day(2026, 4, 6));
  // Listing from the holiday, or from the moved day itself, gives the moved day first: `from`
  // is inclusive and counts adjusted dates.
  EXPECT_THAT(dates_of(next_pay_dates(m, day(2026, 4, 6), 2)),
              ElementsAre(day(2026, 4, 7), day(2026, 4, 13)));
  EXPECT_THAT(dates_of(next_pay_dates(m, day(2026, 4, 7), 2)),
              ElementsAre(day(2026, 4, 7), day(2026, 4, 13)));
  EXPECT_THAT(dates_of(next_pay_dates(m, day(2026, 4, 8), 1)), ElementsAre(day(2026, 4, 13)));
  EXPECT_TRUE(next_pay_dates(m, day(2026, 4, 8), 0).empty());
}

TEST(CalendarTest, ScheduledDatesMovedOntoTheSameDayAreOnePayDate) {
  MarketplaceConfig daily = market(day(2026, 1, 1), 1, {day(2026, 1, 12)});
  // Sat 10, Sun 11 and the holiday Mon 12 all move to Tue 13.
  auto p = pay_date_for(daily, day(2026, 1, 13));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->scheduled, day(2026, 1, 13));
  EXPECT_EQ(p->k, 12);
  EXPECT_FALSE(pay_date_for(daily, day(2026, 1, 12)).has_value());
  std::vector<PayDate> next = next_pay_dates(daily, day(2026, 1, 8), 4);
  EXPECT_THAT(dates_of(next),
              ElementsAre(day(2026, 1, 8), day(2026, 1, 9), day(2026, 1, 13), day(2026, 1, 14)));
  EXPECT_EQ(next[2].k, 12);  // as pay_date_for says
}

TEST(CalendarTest, PayDateForAgreesWithNextPayDates) {
  // Over two years, for several periods and a cluster of holidays, every date is a pay date
  // exactly when the enumeration lists it, with the same k.
  std::vector<Date> holidays = {day(2026, 4, 3),   day(2026, 4, 6),   day(2026, 4, 7),
                                day(2026, 12, 24), day(2026, 12, 25), day(2026, 12, 28)};
  for (int every = 1; every <= 15; ++every) {
    MarketplaceConfig m = market(day(2026, 6, 17), every, holidays);
    Date from = day(2025, 12, 1), to = day(2027, 1, 31);
    std::vector<PayDate> listed = next_pay_dates(m, from, 1000);
    std::map<Date, PayDate> by_date;
    for (const PayDate& p : listed)
      if (p.date <= to) by_date.emplace(p.date, p);
    for (Date d = from; d <= to; d += date::days{1}) {
      auto p = pay_date_for(m, d);
      auto it = by_date.find(d);
      ASSERT_EQ(p.has_value(), it != by_date.end()) << every << " " << format_date(d);
      if (p) {
        EXPECT_EQ(*p, it->second) << every << " " << format_date(d);
        EXPECT_TRUE(is_business_day(d, holidays));
        EXPECT_EQ(adjusted_date(m.schedule, m.holidays, p->k), d);
      }
    }
  }
}

TEST(CalendarTest, CutoffEuropeParisAcrossDst) {
  MarketplaceConfig m = market(day(2026, 1, 5), 7, {}, "Europe/Paris");
  // Winter (CET, +01:00): 23:00Z the day before.
  EXPECT_EQ(*cutoff(m, day(2026, 1, 5)), utc_ns(2026, 1, 4, 23));
  EXPECT_EQ(*cutoff(m, day(2026, 3, 23)), utc_ns(2026, 3, 22, 23));
  // Clocks go forward on Sunday 2026-03-29 at 02:00: that day still starts at CET midnight.
  EXPECT_EQ(*cutoff(m, day(2026, 3, 29)), utc_ns(2026, 3, 28, 23));
  // Summer (CEST, +02:00): 22:00Z.
  EXPECT_EQ(*cutoff(m, day(2026, 3, 30)), utc_ns(2026, 3, 29, 22));
  EXPECT_EQ(*cutoff(m, day(2026, 10, 19)), utc_ns(2026, 10, 18, 22));
  // Clocks go back on Sunday 2026-10-25 at 03:00: that day starts at CEST midnight.
  EXPECT_EQ(*cutoff(m, day(2026, 10, 25)), utc_ns(2026, 10, 24, 22));
  EXPECT_EQ(*cutoff(m, day(2026, 10, 26)), utc_ns(2026, 10, 25, 23));
}

TEST(CalendarTest, CutoffAmericaBogotaHasNoDst) {
  MarketplaceConfig m = market(day(2026, 1, 9), 14, {}, "America/Bogota");
  // -05:00 all year: 05:00Z on the day itself, winter and summer (Paris's DST weeks too).
  EXPECT_EQ(*cutoff(m, day(2026, 1, 9)), utc_ns(2026, 1, 9, 5));
  EXPECT_EQ(*cutoff(m, day(2026, 3, 29)), utc_ns(2026, 3, 29, 5));
  EXPECT_EQ(*cutoff(m, day(2026, 7, 3)), utc_ns(2026, 7, 3, 5));
  EXPECT_EQ(*cutoff(m, day(2026, 10, 26)), utc_ns(2026, 10, 26, 5));
  EXPECT_EQ(*cutoff(m, day(2026, 3, 30)), utc_ns(2026, 3, 30, 5));
}

TEST(CalendarTest, NonexistentAndRepeatedMidnight) {
  // America/Santiago skips 2024-09-08 00:00..00:59 (-04 -> -03): the day starts at the
  // transition, 04:00Z (local 01:00).
  const date::time_zone* santiago = date::locate_zone("America/Santiago");
  EXPECT_EQ(*start_of_day_ns(*santiago, day(2024, 9, 8)), utc_ns(2024, 9, 8, 4));
  EXPECT_EQ(*start_of_day_ns(*santiago, day(2024, 9, 9)), utc_ns(2024, 9, 9, 3));
  // America/Havana skips midnight on 2024-03-10 (-05 -> -04): 05:00Z (local 01:00).
  const date::time_zone* havana = date::locate_zone("America/Havana");
  EXPECT_EQ(*start_of_day_ns(*havana, day(2024, 3, 10)), utc_ns(2024, 3, 10, 5));
  // and repeats 00:00..00:59 on 2024-11-03 (-04 -> -05): the first midnight, 04:00Z.
  EXPECT_EQ(*start_of_day_ns(*havana, day(2024, 11, 3)), utc_ns(2024, 11, 3, 4));
  EXPECT_EQ(*start_of_day_ns(*havana, day(2024, 11, 4)), utc_ns(2024, 11, 4, 5));
}

TEST(CalendarTest, CutoffOutsideNanosecondRangeIsRefused) {
  const date::time_zone* utc = date::locate_zone("UTC");
  EXPECT_TRUE(start_of_day_ns(*utc, day(2262, 4, 10)).ok());
  Result<int64_t> r = start_of_day_ns(*utc, day(2262, 4, 12));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::bad_date);
  EXPECT_EQ(*start_of_day_ns(*utc, day(1970, 1, 1)), 0);
  EXPECT_EQ(*start_of_day_ns(*utc, day(1969, 12, 31)), -86'400'000'000'000);
}

// --- the weekly and monthly_days forms -------------------------------------------------------

MarketplaceConfig with_schedule(Schedule s, std::vector<Date> holidays = {}) {
  MarketplaceConfig m = market(day(2026, 1, 5), 7, std::move(holidays));
  m.schedule = std::move(s);
  return m;
}

WeeklySchedule weekly(std::initializer_list<date::weekday> days) {
  return WeeklySchedule{std::vector<date::weekday>(days)};
}

MonthlySchedule monthly(std::initializer_list<int> days) {
  return MonthlySchedule{std::vector<int>(days)};
}

TEST(ScheduleTest, ScheduledDatesAndTheirInverse) {
  // For every form and every date over years either side of 1970 (k negative and positive):
  // the last k scheduled on or before d is, and the next one is after d; scheduled dates never
  // decrease with k.
  std::vector<Schedule> forms = {
      EveryDaysSchedule{day(2026, 1, 9), 14},
      EveryDaysSchedule{day(2026, 1, 9), 1},
      weekly({date::Monday}),
      weekly({date::Monday, date::Thursday}),
      weekly({date::Sunday}),
      weekly({date::Monday, date::Tuesday, date::Wednesday, date::Thursday, date::Friday,
              date::Saturday, date::Sunday}),
      monthly({15, MonthlySchedule::last_day}),
      monthly({1}),
      monthly({29, 30, 31}),
      monthly({28, 30}),
  };
  for (size_t f = 0; f < forms.size(); ++f) {
    for (Date d : {day(1968, 12, 20), day(2026, 1, 1)}) {
      for (Date end = d + date::days{800}; d < end; d += date::days{1}) {
        int64_t k = last_scheduled_on_or_before(forms[f], d);
        ASSERT_LE(scheduled_date(forms[f], k), d) << f << " " << format_date(d);
        ASSERT_GT(scheduled_date(forms[f], k + 1), d) << f << " " << format_date(d);
        ASSERT_LE(scheduled_date(forms[f], k - 1), scheduled_date(forms[f], k));
      }
    }
  }
}

TEST(ScheduleTest, HowKIsCounted) {
  // weekly: k = n * week + index, week 0 starting Monday 1969-12-29.
  Schedule mon_thu = weekly({date::Monday, date::Thursday});
  EXPECT_EQ(scheduled_date(mon_thu, 0), day(1969, 12, 29));
  EXPECT_EQ(scheduled_date(mon_thu, 1), day(1970, 1, 1));
  EXPECT_EQ(scheduled_date(mon_thu, 2), day(1970, 1, 5));
  EXPECT_EQ(scheduled_date(mon_thu, -1), day(1969, 12, 25));
  EXPECT_EQ(last_scheduled_on_or_before(mon_thu, day(1969, 12, 28)), -1);  // the Sunday before
  // monthly_days: k = n * month + index, month 0 being January 1970.
  Schedule quincena = monthly({15, 31});
  EXPECT_EQ(scheduled_date(quincena, 0), day(1970, 1, 15));
  EXPECT_EQ(scheduled_date(quincena, 1), day(1970, 1, 31));
  EXPECT_EQ(scheduled_date(quincena, 3), day(1970, 2, 28));
  EXPECT_EQ(scheduled_date(quincena, -1), day(1969, 12, 31));
  EXPECT_EQ(scheduled_date(quincena, 2 * (56 * 12 + 1) + 1), day(2026, 2, 28));
  EXPECT_EQ(schedule_form_name(quincena), "monthly_days");
  EXPECT_EQ(schedule_form_name(mon_thu), "weekly");
  EXPECT_EQ(schedule_form_name(Schedule{EveryDaysSchedule{}}), "every_days");
}

TEST(ScheduleTest, WeekdayNames) {
  EXPECT_EQ(parse_weekday("monday"), date::Monday);
  EXPECT_EQ(parse_weekday("sunday"), date::Sunday);
  EXPECT_EQ(parse_weekday("saturday"), date::Saturday);
  EXPECT_FALSE(parse_weekday("Monday").has_value());
  EXPECT_FALSE(parse_weekday("mon").has_value());
  EXPECT_FALSE(parse_weekday("").has_value());
  for (unsigned i = 0; i < 7; ++i)
    EXPECT_EQ(parse_weekday(weekday_name(date::weekday{i})), date::weekday{i});
}

TEST(CalendarTest, WeeklyOnSeveralDays) {
  MarketplaceConfig m = with_schedule(weekly({date::Monday, date::Thursday}), {day(2026, 4, 2)});
  EXPECT_THAT(dates_of(next_pay_dates(m, day(2026, 3, 27), 6)),
              ElementsAre(day(2026, 3, 30), day(2026, 4, 3),  // Thursday 04-02 a holiday
                          day(2026, 4, 6), day(2026, 4, 9), day(2026, 4, 13), day(2026, 4, 16)));
  auto p = pay_date_for(m, day(2026, 4, 3));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->scheduled, day(2026, 4, 2));
  EXPECT_FALSE(pay_date_for(m, day(2026, 4, 2)).has_value());
  EXPECT_FALSE(pay_date_for(m, day(2026, 4, 7)).has_value());  // a Tuesday
}

TEST(CalendarTest, WeeklyWeekendDaysMergeOntoMonday) {
  // Friday, Saturday and Sunday: Saturday and Sunday move to Monday, one pay date standing for
  // Sunday (the largest k); a holiday Monday moves all of it to Tuesday.
  MarketplaceConfig m =
      with_schedule(weekly({date::Friday, date::Saturday, date::Sunday}), {day(2026, 4, 6)});
  std::vector<PayDate> next = next_pay_dates(m, day(2026, 3, 27), 4);
  EXPECT_THAT(dates_of(next),
              ElementsAre(day(2026, 3, 27), day(2026, 3, 30), day(2026, 4, 3), day(2026, 4, 7)));
  EXPECT_EQ(next[1].scheduled, day(2026, 3, 29));
  EXPECT_EQ(next[3].scheduled, day(2026, 4, 5));
  EXPECT_EQ(pay_date_for(m, day(2026, 3, 30)), next[1]);
  EXPECT_EQ(pay_date_for(m, day(2026, 4, 7)), next[3]);
}

TEST(CalendarTest, MonthlyDaysPastTheMonthEndAreItsLastDay) {
  MarketplaceConfig m = with_schedule(monthly({31}));
  // 2026: Jan 31 is a Saturday (paid Monday Feb 2), Feb 28 a Saturday (Monday Mar 2), Apr 30 a
  // Thursday; 2028 is a leap year: Feb 29, a Tuesday.
  EXPECT_THAT(dates_of(next_pay_dates(m, day(2026, 1, 1), 4)),
              ElementsAre(day(2026, 2, 2), day(2026, 3, 2), day(2026, 3, 31), day(2026, 4, 30)));
  auto p = pay_date_for(m, day(2026, 3, 2));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->scheduled, day(2026, 2, 28));
  EXPECT_THAT(dates_of(next_pay_dates(m, day(2028, 2, 1), 2)),
              ElementsAre(day(2028, 2, 29), day(2028, 3, 31)));
  EXPECT_EQ(pay_date_for(m, day(2028, 2, 29))->scheduled, day(2028, 2, 29));
}

TEST(CalendarTest, MonthlyDaysFallingOnOneDateAreOnePayDate) {
  // [30, "last"]: in February both are its last day, one pay date (k of "last"); in other
  // months two.
  MarketplaceConfig m = with_schedule(monthly({30, 31}));
  std::vector<PayDate> next = next_pay_dates(m, day(2028, 1, 30), 5);
  EXPECT_THAT(dates_of(next), ElementsAre(day(2028, 1, 31), day(2028, 2, 29), day(2028, 3, 30),
                                          day(2028, 3, 31), day(2028, 5, 1)));
  // 2028-01-30 is a Sunday: moved to Monday 31, merged with the 31st.
  EXPECT_EQ(next[0].scheduled, day(2028, 1, 31));
  EXPECT_EQ(next[1].k, last_scheduled_on_or_before(m.schedule, day(2028, 2, 29)));
  EXPECT_EQ(next[1].k % 2, 1);  // the index of "last"
  EXPECT_EQ(pay_date_for(m, day(2028, 2, 29)), next[1]);
  // April 30, 2028 is a Sunday: both April days move to May 1; May 1 stands for April 30th's k.
  EXPECT_EQ(next[4].scheduled, day(2028, 4, 30));
  // 2026: Jan 31 is a Saturday, paid Monday Feb 2; Feb 28 is a Saturday: both February days
  // move to Monday Mar 2, one pay date.
  EXPECT_THAT(dates_of(next_pay_dates(m, day(2026, 2, 1), 4)),
              ElementsAre(day(2026, 2, 2), day(2026, 3, 2), day(2026, 3, 30), day(2026, 3, 31)));
  EXPECT_FALSE(pay_date_for(m, day(2026, 2, 27)).has_value());
}

TEST(CalendarTest, AMonthEndMovedIntoTheNextMonthCountsFromThere) {
  // The quincena's Feb 28, 2026 (a Saturday) is paid Monday Mar 2: listing from Mar 1 gives it.
  MarketplaceConfig m = with_schedule(monthly({15, 31}));
  EXPECT_THAT(dates_of(next_pay_dates(m, day(2026, 3, 1), 2)),
              ElementsAre(day(2026, 3, 2), day(2026, 3, 16)));
  EXPECT_THAT(dates_of(next_pay_dates(m, day(2026, 3, 3), 1)), ElementsAre(day(2026, 3, 16)));
}

TEST(CalendarTest, PayDateForAgreesWithNextPayDatesForEveryForm) {
  std::vector<Date> holidays = {day(2026, 1, 30),  day(2026, 2, 2),   day(2026, 2, 3),
                                day(2026, 4, 3),   day(2026, 4, 6),   day(2026, 4, 7),
                                day(2026, 6, 15),  day(2026, 6, 16),  day(2026, 8, 31),
                                day(2026, 12, 24), day(2026, 12, 25), day(2026, 12, 28)};
  std::vector<Schedule> forms = {
      weekly({date::Monday}),
      weekly({date::Tuesday, date::Friday}),
      weekly({date::Saturday, date::Sunday}),
      weekly({date::Monday, date::Tuesday, date::Wednesday, date::Thursday, date::Friday,
              date::Saturday, date::Sunday}),
      monthly({15, 31}),
      monthly({1}),
      monthly({30, 31}),
      monthly({29, 30, 31}),
      monthly({1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
               17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31}),
  };
  for (size_t f = 0; f < forms.size(); ++f) {
    MarketplaceConfig m = with_schedule(forms[f], holidays);
    Date from = day(2025, 12, 1), to = day(2027, 1, 31);
    std::vector<PayDate> listed = next_pay_dates(m, from, 1000);
    std::map<Date, PayDate> by_date;
    for (const PayDate& p : listed)
      if (p.date <= to) by_date.emplace(p.date, p);
    for (Date d = from; d <= to; d += date::days{1}) {
      auto p = pay_date_for(m, d);
      auto it = by_date.find(d);
      ASSERT_EQ(p.has_value(), it != by_date.end()) << f << " " << format_date(d);
      if (p) {
        EXPECT_EQ(*p, it->second) << f << " " << format_date(d);
        EXPECT_TRUE(is_business_day(d, holidays));
        EXPECT_EQ(adjusted_date(m.schedule, m.holidays, p->k), d);
        EXPECT_NE(adjusted_date(m.schedule, m.holidays, p->k + 1), d);
      }
    }
  }
}

// The pay dates of 2026 for the forms docs/settlement.md lists ("Calendar"), from the fixtures'
// configs: checked by hand for month ends and holidays.
std::vector<std::string> pay_dates_of_2026(const MarketplaceConfig& m) {
  std::vector<std::string> out;
  for (const PayDate& p : next_pay_dates(m, day(2026, 1, 1), 60))
    if (p.date <= day(2026, 12, 31)) out.push_back(format_date(p.date));
  return out;
}

Config schedules_fixture() {
  Result<Config> c =
      load_config_file(std::string(TALLY_SOURCE_DIR) + "/fixtures/schedules.toml", CurrencyTable());
  EXPECT_TRUE(c.ok()) << c.error().message;
  return c.ok() ? *c : Config{};
}

TEST(CalendarTest, AYearOfTheQuincena) {
  // The 15th and the last day, Colombian holidays (Bogota). Month ends on a weekend move into
  // the next month (Jan 31, Feb 28, May 31, Oct 31); holidays: Mon Jun 15, and the Mondays
  // after a weekend date (Aug 17, Nov 2, Nov 16) push to Tuesday.
  Config c = schedules_fixture();
  ASSERT_NE(c.marketplace("shopper"), nullptr);
  EXPECT_THAT(pay_dates_of_2026(*c.marketplace("shopper")),
              ElementsAre("2026-01-15", "2026-02-02", "2026-02-16", "2026-03-02", "2026-03-16",
                          "2026-03-31", "2026-04-15", "2026-04-30", "2026-05-15", "2026-06-01",
                          "2026-06-16", "2026-06-30", "2026-07-15", "2026-07-31", "2026-08-18",
                          "2026-08-31", "2026-09-15", "2026-09-30", "2026-10-15", "2026-11-03",
                          "2026-11-17", "2026-11-30", "2026-12-15", "2026-12-31"));
  // marketplaces.toml's shopper has the same schedule and holidays: the same days.
  Result<Config> fixture = load_config_file(
      std::string(TALLY_SOURCE_DIR) + "/fixtures/marketplaces.toml", CurrencyTable());
  ASSERT_TRUE(fixture.ok());
  EXPECT_EQ(pay_dates_of_2026(*fixture->marketplace("shopper")),
            pay_dates_of_2026(*c.marketplace("shopper")));
}

TEST(CalendarTest, AYearOfWeeklyMondays) {
  // Every Monday, French holidays: Easter Monday (Apr 6) and Whit Monday (May 25) pay Tuesday.
  Config c = schedules_fixture();
  ASSERT_NE(c.marketplace("shop"), nullptr);
  std::vector<std::string> want;
  for (Date d = day(2026, 1, 5); d <= day(2026, 12, 31); d += date::days{7})
    want.push_back(format_date(d));
  want[13] = "2026-04-07";
  want[20] = "2026-05-26";
  ASSERT_EQ(want[12], "2026-03-30");
  ASSERT_EQ(want[19], "2026-05-18");
  ASSERT_EQ(want.size(), 52u);
  EXPECT_EQ(want.back(), "2026-12-28");
  EXPECT_EQ(pay_dates_of_2026(*c.marketplace("shop")), want);
  // The same dates as marketplaces.toml's weekly Mondays (whose holiday list is shorter, but the
  // French holidays it lacks are not Mondays).
  Result<Config> old = load_config_file(
      std::string(TALLY_SOURCE_DIR) + "/fixtures/marketplaces.toml", CurrencyTable());
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(pay_dates_of_2026(*old->marketplace("shop")), want);
}

TEST(CalendarTest, AYearOfTheFirstOfTheMonthAndOfEveryOtherFriday) {
  Config c = schedules_fixture();
  ASSERT_NE(c.marketplace("shop"), nullptr);
  // monthly_days = [1] with the shop's French holidays: New Year's Day and May 1 are holidays.
  MarketplaceConfig first = *c.marketplace("shop");
  first.schedule = monthly({1});
  EXPECT_THAT(pay_dates_of_2026(first),
              ElementsAre("2026-01-02", "2026-02-02", "2026-03-02", "2026-04-01", "2026-05-04",
                          "2026-06-01", "2026-07-01", "2026-08-03", "2026-09-01", "2026-10-01",
                          "2026-11-02", "2026-12-01"));
  // every_days = 14 from Friday 2026-01-09 with the Colombian holidays: Good Friday, May 1,
  // Aug 7 and Christmas are pay Fridays and holidays, paid the Monday after.
  MarketplaceConfig fortnight = *c.marketplace("shopper");
  fortnight.schedule = EveryDaysSchedule{day(2026, 1, 9), 14};
  std::vector<std::string> want = {
      "2026-01-09", "2026-01-23", "2026-02-06", "2026-02-20", "2026-03-06", "2026-03-20",
      "2026-04-06", "2026-04-17", "2026-05-04", "2026-05-15", "2026-05-29", "2026-06-12",
      "2026-06-26", "2026-07-10", "2026-07-24", "2026-08-10", "2026-08-21", "2026-09-04",
      "2026-09-18", "2026-10-02", "2026-10-16", "2026-10-30", "2026-11-13", "2026-11-27",
      "2026-12-11", "2026-12-28"};
  EXPECT_EQ(pay_dates_of_2026(fortnight), want);
}

TEST(CalendarTest, CutoffOfTheNewForms) {
  Config c = schedules_fixture();
  ASSERT_NE(c.marketplace("shopper"), nullptr);
  EXPECT_EQ(*cutoff(*c.marketplace("shopper"), day(2026, 6, 16)), utc_ns(2026, 6, 16, 5));
  EXPECT_EQ(*cutoff(*c.marketplace("shop"), day(2026, 4, 7)), utc_ns(2026, 4, 6, 22));
}

TEST(CalendarTest, FixtureCalendars) {
  Result<Config> c = load_config_file(std::string(TALLY_SOURCE_DIR) + "/fixtures/marketplaces.toml",
                                      CurrencyTable());
  ASSERT_TRUE(c.ok()) << c.error().message;
  const MarketplaceConfig& shop = *c->marketplace("shop");
  EXPECT_THAT(dates_of(next_pay_dates(shop, day(2026, 3, 28), 4)),
              ElementsAre(day(2026, 3, 30), day(2026, 4, 7), day(2026, 4, 13), day(2026, 4, 20)));
  EXPECT_EQ(*cutoff(shop, day(2026, 4, 7)), utc_ns(2026, 4, 6, 22));
  const MarketplaceConfig& shopper = *c->marketplace("shopper");
  // The quincena: Tue Mar 31, Wed Apr 15, Thu Apr 30; then Sun May 31 is paid Monday Jun 1.
  EXPECT_THAT(dates_of(next_pay_dates(shopper, day(2026, 3, 21), 5)),
              ElementsAre(day(2026, 3, 31), day(2026, 4, 15), day(2026, 4, 30), day(2026, 5, 15),
                          day(2026, 6, 1)));
  EXPECT_EQ(*cutoff(shopper, day(2026, 3, 31)), utc_ns(2026, 3, 31, 5));
}

}  // namespace
}  // namespace tally
