// The reference model's arithmetic and calendar: rounding by mode, amounts and rates as exact
// rationals, the example marketplaces' parameters, pay dates and cut-offs, largest-remainder
// allocation, and the shapes of a run and of the expected books.
// Part of the fixtures test's independent model (tests/settlement/fixtures_test.cpp): it shares
// no code with settlement/.
#pragma once

#include <date/date.h>

#include <boost/multiprecision/cpp_int.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <variant>

#include "common/test_util.h"
#include "settlement/fixture_events.h"
#include "settlement/run.h"

namespace tally::fixture_model {

using namespace tally::testing;
using Int = boost::multiprecision::cpp_int;
using Q = boost::multiprecision::cpp_rational;

// --- the reference model ----------------------------------------------------------------------

enum class Mode { half_even, half_up, down, up };

// round(q) to an integer, by `m`.
inline Int round_q(const Q& q, Mode m) {
  Int n = boost::multiprecision::numerator(q), d = boost::multiprecision::denominator(q);
  Int t = n / d;  // toward zero
  Int r = n - t * d;
  if (r == 0) return t;
  Int away = n < 0 ? Int(t - 1) : Int(t + 1);
  Int twice = (r < 0 ? Int(-r) : r) * 2;
  switch (m) {
    case Mode::down:
      return t;
    case Mode::up:
      return away;
    case Mode::half_up:
      return twice >= d ? away : t;
    case Mode::half_even:
      if (twice != d) return twice > d ? away : t;
      return t % 2 == 0 ? t : away;
  }
  return t;
}

// Decimal text to minor units at `exp` digits, refusing anything else.
inline Int minor_of(std::string_view text, int exp) {
  bool neg = !text.empty() && text[0] == '-';
  if (neg) text.remove_prefix(1);
  Int v = 0;
  int frac = -1;
  if (text.empty()) throw std::runtime_error("empty amount");
  for (char c : text) {
    if (c == '.') {
      if (frac >= 0) throw std::runtime_error("two dots");
      frac = 0;
      continue;
    }
    if (c < '0' || c > '9') throw std::runtime_error("bad amount " + std::string(text));
    v = v * 10 + (c - '0');
    if (frac >= 0) ++frac;
  }
  if (frac > exp) throw std::runtime_error("too many digits: " + std::string(text));
  for (int k = std::max(frac, 0); k < exp; ++k) v *= 10;
  return neg ? Int(-v) : v;
}

inline std::string text_of(Int v, int exp) {
  bool neg = v < 0;
  if (neg) v = -v;
  std::string s = v.str();
  if (exp > 0) {
    if (s.size() <= size_t(exp)) s.insert(0, size_t(exp) + 1 - s.size(), '0');
    s.insert(s.size() - size_t(exp), ".");
  }
  return (neg ? "-" : "") + s;
}

// "10%", "2.9%", "0.029" as an exact fraction.
inline Q rate_of(std::string_view text) {
  bool pct = !text.empty() && text.back() == '%';
  if (pct) text.remove_suffix(1);
  size_t dot = text.find('.');
  int digits = dot == std::string_view::npos ? 0 : int(text.size() - dot - 1);
  Int n = minor_of(text, digits), d = 1;
  for (int k = 0; k < digits + (pct ? 2 : 0); ++k) d *= 10;
  return Q(n, d);
}

// A marketplace as the model knows it: SPEC section 3's parameters, copied by hand from
// fixtures/marketplaces.toml (ModelParametersMatchTheConfigFile checks the copy).
struct RefMarket {
  std::string name;
  std::map<std::string, int> currencies;  // code -> exponent
  Mode rounding;
  std::map<std::string, Q> commission;
  std::optional<Q> affiliate;
  Q fee_rate;
  std::map<std::string, std::string> fee_fixed;  // code -> amount text
  bool fee_on_payee;
  int hold_days;
  bool hold_from_delivery;
  date::sys_days anchor;
  int every_days;
  std::map<std::string, std::string> minimum_payout;
  std::vector<date::sys_days> holidays;
  struct Earning {
    Q rate;
    std::map<std::string, std::string> minimum;
  };
  std::map<std::string, Earning> earning;
  // The zone's UTC offsets in Q1 2026: standard, and summer time from `dst_from` (UTC).
  int std_offset_minutes;
  int dst_offset_minutes;
  date::sys_seconds dst_from;
  // SPEC section 8. The schedule is anchor + k * every_days when every_days > 0, else the
  // `weekdays` of every week, else the `month_days` of every month (a day past the month's end
  // is its last day).
  std::vector<date::weekday> weekdays{};
  std::vector<int> month_days{};
  struct ReserveR {
    Q rate;
    int days;
  };
  std::optional<ReserveR> reserve{};
  struct TaxR {
    Q rate;
    Mode rounding;
    std::string currency, account;
  };
  std::optional<TaxR> payout_tax{};
  bool ach = false;            // USD paid by NACHA: payees need ACH details
  bool co_dispersion = false;  // COP paid by dispersion file: payees need Colombian details
};

using date::days;
using date::sys_days;
using date::sys_seconds;
using std::chrono::hours;
using std::chrono::minutes;
constexpr auto y2026 = date::year{2026};

inline std::vector<RefMarket> ref_markets() {
  RefMarket shop{"shop",
                 {{"EUR", 2}},
                 Mode::half_even,
                 {{"product", rate_of("10%")}, {"service", rate_of("20%")}},
                 rate_of("7%"),
                 rate_of("2.9%"),
                 {{"EUR", "0.25"}},
                 true,
                 14,
                 true,
                 sys_days{y2026 / 1 / 5},
                 7,
                 {{"EUR", "10.00"}},
                 {sys_days{y2026 / 4 / 6}, sys_days{y2026 / 5 / 1}, sys_days{y2026 / 5 / 25},
                  sys_days{y2026 / 12 / 25}},
                 {},
                 60,
                 120,
                 // Europe/Paris: CET (+1) until 2026-03-29T01:00Z, then CEST (+2)
                 sys_days{y2026 / 3 / 29} + hours(1)};
  shop.every_days = 0;
  shop.weekdays = {date::Monday};
  shop.reserve = RefMarket::ReserveR{rate_of("10%"), 90};
  RefMarket shopper{
      "shopper",
      {{"COP", 2}, {"USD", 2}},
      Mode::half_up,
      {{"groceries", rate_of("12%")}, {"pharmacy", rate_of("8%")}, {"electronics", rate_of("5%")}},
      std::nullopt,
      rate_of("3.49%"),
      {{"USD", "0.30"}, {"COP", "900.00"}},
      false,
      3,
      false,
      sys_days{y2026 / 1 / 9},
      14,
      {{"USD", "10.00"}, {"COP", "40000.00"}},
      {sys_days{y2026 / 1 / 1}, sys_days{y2026 / 1 / 12}, sys_days{y2026 / 3 / 23},
       sys_days{y2026 / 4 / 2}, sys_days{y2026 / 4 / 3}, sys_days{y2026 / 5 / 1},
       sys_days{y2026 / 5 / 18}, sys_days{y2026 / 6 / 8}, sys_days{y2026 / 6 / 15},
       sys_days{y2026 / 6 / 29}, sys_days{y2026 / 7 / 20}, sys_days{y2026 / 8 / 7},
       sys_days{y2026 / 8 / 17}, sys_days{y2026 / 10 / 12}, sys_days{y2026 / 11 / 2},
       sys_days{y2026 / 11 / 16}, sys_days{y2026 / 12 / 8}, sys_days{y2026 / 12 / 25}},
      {{"session", {rate_of("8%"), {{"USD", "10.00"}, {"COP", "40000.00"}}}}},
      // America/Bogota: -5 all year
      -300,
      -300,
      sys_days{y2026 / 12 / 31}};
  shopper.every_days = 0;
  shopper.month_days = {15, 31};
  shopper.payout_tax =
      RefMarket::TaxR{rate_of("0.4%"), Mode::half_up, "COP", "shopper:expense:gmf"};
  shopper.ach = true;
  shopper.co_dispersion = true;
  RefMarket fulfil{"fulfil",
                   {{"USD", 2}},
                   Mode::half_even,
                   {{"fulfilment", rate_of("6%")}, {"storage", rate_of("15%")}},
                   std::nullopt,
                   rate_of("2.9%"),
                   {{"USD", "0.30"}},
                   true,
                   2,
                   false,
                   sys_days{y2026 / 1 / 2},
                   7,
                   {{"USD", "25.00"}},
                   {sys_days{y2026 / 1 / 1}, sys_days{y2026 / 7 / 3}, sys_days{y2026 / 11 / 26},
                    sys_days{y2026 / 12 / 25}},
                   {},
                   // America/New_York: EST (-5) until 2026-03-08T07:00Z, then EDT (-4)
                   -300,
                   -240,
                   sys_days{y2026 / 3 / 8} + hours(7)};
  return {shop, shopper, fulfil};
}

inline std::string rfc3339(sys_seconds t) {
  return date::format("%Y-%m-%dT%H:%M:%SZ", t);
}
inline std::string ymd(sys_days d) {
  return date::format("%Y-%m-%d", d);
}

// Pay dates from `from` to `to`: every scheduled day (see RefMarket) moved to the next business
// day, distinct, in order.
inline std::vector<sys_days> ref_pay_dates(const RefMarket& m, sys_days from, sys_days to) {
  auto business = [&](sys_days d) {
    date::weekday w{d};
    if (w == date::Saturday || w == date::Sunday) return false;
    return std::find(m.holidays.begin(), m.holidays.end(), d) == m.holidays.end();
  };
  auto scheduled = [&](sys_days d) {
    if (m.every_days > 0) {
      long long k = (d - m.anchor).count();
      return k % m.every_days == 0;
    }
    if (!m.weekdays.empty())
      return std::find(m.weekdays.begin(), m.weekdays.end(), date::weekday{d}) != m.weekdays.end();
    date::year_month_day ymd{d};
    unsigned last = unsigned((ymd.year() / ymd.month() / date::last).day());
    for (int day : m.month_days)
      if (std::min(unsigned(day), last) == unsigned(ymd.day())) return true;
    return false;
  };
  std::vector<sys_days> out;
  for (sys_days d = from - days(30); d <= to; d += days(1)) {
    if (!scheduled(d)) continue;
    sys_days p = d;
    while (!business(p)) p += days(1);
    if (p < from || p > to) continue;
    if (out.empty() || out.back() != p) out.push_back(p);
  }
  return out;
}

// Midnight at the start of `d`, local time, in UTC.
inline sys_seconds ref_cutoff(const RefMarket& m, sys_days d) {
  sys_seconds local_midnight{d};
  sys_seconds utc = local_midnight - minutes(m.std_offset_minutes);
  if (utc >= m.dst_from) utc = local_midnight - minutes(m.dst_offset_minutes);
  return utc;
}

// Largest remainder (SPEC section 1): truncated shares, the left-over units one each to the
// largest remainders, ties to the earlier part. `whole` >= 0.
inline std::vector<Int> ref_allocate(const Int& whole, const std::vector<Int>& w) {
  Int total = 0;
  for (auto& x : w) total += x;
  std::vector<Int> part(w.size()), rem(w.size());
  Int left = whole;
  for (size_t i = 0; i < w.size(); ++i) {
    part[i] = whole * w[i] / total;
    rem[i] = whole * w[i] - part[i] * total;
    left -= part[i];
  }
  std::vector<size_t> order(w.size());
  for (size_t i = 0; i < w.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return rem[x] > rem[y]; });
  for (size_t k = 0; left > 0; ++k, --left) part[order[k]] += 1;
  return part;
}

struct RefRun {
  std::string run, pay_date, cutoff;
  std::vector<std::array<std::string, 3>> released;  // payee, currency, amount
  std::vector<std::array<std::string, 6>> payouts;   // payout, payee, currency, amount, tax, kept
  std::vector<std::array<std::string, 4>> carried;   // payee, currency, balance, reason
  std::vector<std::array<std::string, 3>> reserved;  // payee, currency, amount
  std::vector<std::array<std::string, 3>> reserve_released;  // payee, currency, amount
};

struct Expected {
  std::string marketplace;
  std::vector<RefRun> runs;
  std::vector<std::array<std::string, 3>> balances;  // account, currency, balance
};

// SPEC sections 3 and 4, from the text. Throws std::runtime_error on anything the SPEC refuses
// (a fixture must be all valid events).

}  // namespace tally::fixture_model
