// Timestamps: signed nanoseconds since the Unix epoch, UTC. Business times (`at`) arrive as
// RFC 3339 text with an explicit offset and are normalised to UTC nanoseconds, so "10:00:00Z" and
// "12:00:00+02:00" are the same instant (and the same content for idempotency).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace tally {

using TimeNs = int64_t;

// "2026-01-05T10:00:00Z", "2026-01-05T10:00:00.123+01:00" (T or t, Z or z; 0..9 fraction digits;
// years 1900..2200, the range int64 nanoseconds hold with margin;
// offset required; leap seconds (:60) rejected). bad_time naming `field`.
Result<TimeNs> parse_rfc3339(std::string_view text, std::string_view field);
// UTC text with "Z", fraction printed only when non-zero, trailing zeros trimmed to 3/6/9 digits.
std::string format_rfc3339(TimeNs t);
// "YYYY-MM-DD" as the UTC midnight that starts the day; bad_date naming `field`.
Result<TimeNs> parse_date_utc(std::string_view text, std::string_view field);
// Accepts either an RFC 3339 timestamp or a date (start of that UTC day): for --as-of, --from.
Result<TimeNs> parse_time_or_date(std::string_view text, std::string_view field);

// Days since 1970-01-01 for a civil date (proleptic Gregorian), and back.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d);

constexpr TimeNs kNsPerSecond = 1'000'000'000;
constexpr TimeNs kNsPerDay = 86'400 * kNsPerSecond;

// The wall clock, injectable so tests can drive commit times (LevelDB's Env, in miniature).
using Clock = std::function<TimeNs()>;
TimeNs system_now_ns();

}  // namespace tally
