// Helpers of the money tests (money_test.cpp, money_arithmetic_test.cpp, money_rate_test.cpp,
// money_allocate_test.cpp). Money is tested two ways: tables of chosen cases (every rule of SPEC
// section 1, the edges of the 128-bit range), and seeded property tests against an oracle in
// exact rationals (boost cpp_rational), which shares no arithmetic with the implementation. No
// floating point anywhere, random numbers included.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>
#include <vector>

#include <boost/multiprecision/cpp_int.hpp>

#include "ledger/money.h"

namespace tally::testing {

using boost::multiprecision::cpp_int;
using boost::multiprecision::cpp_rational;

inline constexpr i128 kMax = Amount::max().minor();
inline constexpr i128 kMin = Amount::min().minor();
inline constexpr uint64_t kSeed = 20260105;
inline constexpr int kCases = 20000;

inline constexpr const char* kMaxText = "170141183460469231731687303715884105727";
inline constexpr const char* kMinText = "-170141183460469231731687303715884105728";

inline Amount A(i128 v) {
  return Amount::from_minor(v);
}

// Readable values for assertions: gtest cannot print __int128.
inline std::string S(i128 v) {
  return i128_to_string(v);
}
inline std::string S(Amount a) {
  return i128_to_string(a.minor());
}
inline std::string S(const std::optional<Amount>& a) {
  return a ? S(*a) : "nullopt";
}
inline std::string S(const std::optional<i128>& v) {
  return v ? S(*v) : "nullopt";
}
inline std::string S(const std::vector<Amount>& parts) {
  std::string s;
  for (auto p : parts) s += (s.empty() ? "" : ",") + S(p);
  return s;
}

inline i128 I(const std::string& decimal) {
  return cpp_int(decimal).convert_to<i128>();
}
inline cpp_int big(i128 v) {
  return cpp_int(v);
}

// A random integer whose bit length is itself uniform, so that small, medium and huge
// magnitudes (and the exact edges) all turn up.
inline i128 random_i128(std::mt19937_64& rng) {
  switch (rng() % 16) {
    case 0:
      return kMax - static_cast<i128>(rng() % 4);
    case 1:
      return kMin + static_cast<i128>(rng() % 4);
    case 2:
      return static_cast<i128>(rng() % 5) - 2;
    default:
      break;
  }
  unsigned bits = static_cast<unsigned>(rng() % 128);  // magnitude below 2^bits
  u128 m = (u128(rng()) << 64) | rng();
  m = bits == 0 ? 0 : m >> (128 - bits);
  return (rng() & 1) ? -static_cast<i128>(m) : static_cast<i128>(m);
}

// Checks `got` against the exact value x by the rules of `mode`: down is x truncated toward
// zero, up away from zero, the half modes within 1/2 with ties away from zero (half_up) or to
// the even neighbour (half_even). Returns an explanation when it breaks one.
inline std::string check_rounding(const cpp_rational& x, const cpp_int& got, Rounding mode) {
  cpp_rational err = cpp_rational(got) - x;  // how far the result moved
  cpp_rational abs_err = err < 0 ? cpp_rational(-err) : err;
  cpp_rational half(cpp_int(1), cpp_int(2));
  bool away = (x > 0 && err > 0) || (x < 0 && err < 0);
  bool toward = err == 0 || (x > 0 && err < 0) || (x < 0 && err > 0);
  switch (mode) {
    case Rounding::down:
      if (!(abs_err < 1 && toward)) return "down must truncate toward zero";
      break;
    case Rounding::up:
      if (!(abs_err < 1 && (err == 0 || away))) return "up must round away from zero";
      break;
    case Rounding::half_up:
      if (abs_err > half) return "more than 1/2 off";
      if (abs_err == half && !away) return "half_up tie must go away from zero";
      break;
    case Rounding::half_even:
      if (abs_err > half) return "more than 1/2 off";
      if (abs_err == half && bit_test(got < 0 ? cpp_int(-got) : got, 0)) {
        return "half_even tie must go to the even neighbour";
      }
      break;
  }
  return "";
}

}  // namespace tally::testing
