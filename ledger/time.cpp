#include "ledger/time.h"

#include <chrono>

namespace tally {

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  // Howard Hinnant's public-domain algorithm, restated.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

namespace {

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

bool parse_date_part(std::string_view s, int& y, int& mo, int& d) {
  return digits(s, 0, 4, y) && s.size() >= 10 && s[4] == '-' && digits(s, 5, 2, mo) &&
         s[7] == '-' && digits(s, 8, 2, d) && y >= 1 && mo >= 1 && mo <= 12 && d >= 1 &&
         static_cast<unsigned>(d) <= days_in_month(y, static_cast<unsigned>(mo));
}

Rejection bad(std::string_view field, std::string_view text, Code code, const char* why) {
  return reject(code, std::string(field) + ": \"" + std::string(text.substr(0, 64)) + "\" " + why);
}

}  // namespace

Result<TimeNs> parse_rfc3339(std::string_view s, std::string_view field) {
  constexpr const char* kForm = "is not an RFC 3339 timestamp with offset (2026-01-05T10:00:00Z)";
  int y, mo, d, h, mi, sec;
  if (s.size() < 20 || !parse_date_part(s, y, mo, d)) return bad(field, s, Code::bad_time, kForm);
  if ((s[10] != 'T' && s[10] != 't') || !digits(s, 11, 2, h) || s[13] != ':' ||
      !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, sec) || h > 23 || mi > 59 ||
      sec > 59)
    return bad(field, s, Code::bad_time, kForm);
  size_t pos = 19;
  int64_t frac_ns = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t n = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n == 9) return bad(field, s, Code::bad_time, "has more than 9 fraction digits");
      frac_ns = frac_ns * 10 + (s[pos] - '0');
      ++pos, ++n;
    }
    if (n == 0) return bad(field, s, Code::bad_time, kForm);
    for (; n < 9; ++n) frac_ns *= 10;
  }
  int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return bad(field, s, Code::bad_time, kForm);
    offset_s = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad(field, s, Code::bad_time, kForm);
  }
  if (pos != s.size()) return bad(field, s, Code::bad_time, kForm);
  // Nanoseconds in int64 cover 1677..2262; business times outside 1900..2200 are typos.
  if (y < 1900 || y > 2200) return bad(field, s, Code::bad_time, "is outside years 1900..2200");
  int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  return secs * kNsPerSecond + frac_ns;
}

std::string format_rfc3339(TimeNs t) {
  int64_t secs = t / kNsPerSecond;
  int64_t ns = t % kNsPerSecond;
  if (ns < 0) ns += kNsPerSecond, secs -= 1;
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) rem += 86400, days -= 1;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld",
                        static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                        static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (ns != 0) {
    char f[16];
    std::snprintf(f, sizeof f, ".%09lld", static_cast<long long>(ns));
    std::string frac(f);
    if (ns % 1000000 == 0)
      frac.resize(4);
    else if (ns % 1000 == 0)
      frac.resize(7);
    out += frac;
  }
  out += 'Z';
  return out;
}

Result<TimeNs> parse_date_utc(std::string_view s, std::string_view field) {
  int y, mo, d;
  if (s.size() != 10 || !parse_date_part(s, y, mo, d))
    return bad(field, s, Code::bad_date, "is not a date YYYY-MM-DD");
  if (y < 1900 || y > 2200) return bad(field, s, Code::bad_date, "is outside years 1900..2200");
  return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * kNsPerDay;
}

Result<TimeNs> parse_time_or_date(std::string_view s, std::string_view field) {
  if (s.size() == 10) return parse_date_utc(s, field);
  return parse_rfc3339(s, field);
}

TimeNs system_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace tally
