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

TEST(CalendarTest, FixtureCalendars) {
  Result<Config> c = load_config_file(std::string(TALLY_SOURCE_DIR) + "/fixtures/marketplaces.toml",
                                      CurrencyTable());
  ASSERT_TRUE(c.ok()) << c.error().message;
  const MarketplaceConfig& shop = *c->marketplace("shop");
  EXPECT_THAT(dates_of(next_pay_dates(shop, day(2026, 3, 28), 4)),
              ElementsAre(day(2026, 3, 30), day(2026, 4, 7), day(2026, 4, 13), day(2026, 4, 20)));
  EXPECT_EQ(*cutoff(shop, day(2026, 4, 7)), utc_ns(2026, 4, 6, 22));
  const MarketplaceConfig& shopper = *c->marketplace("shopper");
  // Good Friday 2026-04-03 is a pay Friday and a Colombian holiday: paid Monday 04-06.
  EXPECT_THAT(dates_of(next_pay_dates(shopper, day(2026, 3, 21), 3)),
              ElementsAre(day(2026, 4, 6), day(2026, 4, 17), day(2026, 5, 4)));
  EXPECT_EQ(*cutoff(shopper, day(2026, 4, 6)), utc_ns(2026, 4, 6, 5));
}

}  // namespace
}  // namespace tally
