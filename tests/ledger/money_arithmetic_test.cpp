#include "ledger/money.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include <boost/multiprecision/cpp_int.hpp>

#include "money_fixture.h"

// Checked arithmetic and rounding (the money tests' method: money_fixture.h).

namespace tally {
namespace {

using namespace tally::testing;

// ---------------------------------------------------------------------------------------------
// Checked arithmetic

TEST(CheckedArithmetic, OverflowsAtTheEdges) {
  EXPECT_EQ(S(checked_add(A(kMax), A(0))), S(kMax));
  EXPECT_EQ(S(checked_add(A(kMax), A(1))), "nullopt");
  EXPECT_EQ(S(checked_add(A(kMin), A(-1))), "nullopt");
  EXPECT_EQ(S(checked_add(A(kMin), A(kMax))), "-1");
  EXPECT_EQ(S(checked_add(A(kMax), A(kMax))), "nullopt");
  EXPECT_EQ(S(checked_add(A(2), A(3))), "5");

  EXPECT_EQ(S(checked_sub(A(kMin), A(1))), "nullopt");
  EXPECT_EQ(S(checked_sub(A(kMin), A(0))), S(kMin));
  EXPECT_EQ(S(checked_sub(A(kMax), A(-1))), "nullopt");
  EXPECT_EQ(S(checked_sub(A(0), A(kMin))), "nullopt");
  EXPECT_EQ(S(checked_sub(A(-1), A(kMin))), S(kMax));
  EXPECT_EQ(S(checked_sub(A(2), A(3))), "-1");

  EXPECT_EQ(S(checked_neg(A(kMin))), "nullopt");
  EXPECT_EQ(S(checked_neg(A(kMax))), S(kMin + 1));
  EXPECT_EQ(S(checked_neg(A(0))), "0");
  EXPECT_EQ(S(checked_neg(A(-7))), "7");

  const i128 two63 = i128(1) << 63;
  const i128 two64 = i128(1) << 64;
  EXPECT_EQ(S(checked_mul(A(kMax), 1)), S(kMax));
  EXPECT_EQ(S(checked_mul(A(kMax), 2)), "nullopt");
  EXPECT_EQ(S(checked_mul(A(kMax), -1)), S(kMin + 1));
  EXPECT_EQ(S(checked_mul(A(kMin), 1)), S(kMin));
  EXPECT_EQ(S(checked_mul(A(kMin), -1)), "nullopt");
  EXPECT_EQ(S(checked_mul(A(kMin), 0)), "0");
  EXPECT_EQ(S(checked_mul(A(two63), two63)), S(i128(1) << 126));
  EXPECT_EQ(S(checked_mul(A(two64), two63)), "nullopt");
  EXPECT_EQ(S(checked_mul(A(-two64), two63)), S(kMin));
  EXPECT_EQ(S(checked_mul(A(kMin / 2), 2)), S(kMin));
  EXPECT_EQ(S(checked_mul(A(kMin / 2), -2)), "nullopt");
}

TEST(CheckedArithmeticProperty, MatchesExactIntegers) {
  std::mt19937_64 rng(kSeed + 1);
  const cpp_int lo = big(kMin), hi = big(kMax);
  for (int i = 0; i < kCases; ++i) {
    i128 a = random_i128(rng), b = random_i128(rng);
    cpp_int sum = big(a) + big(b), diff = big(a) - big(b), prod = big(a) * big(b);
    auto fits = [&](const cpp_int& x) { return lo <= x && x <= hi; };
    ASSERT_EQ(S(checked_add(A(a), A(b))), fits(sum) ? sum.str() : "nullopt") << S(a) << "+" << S(b);
    ASSERT_EQ(S(checked_sub(A(a), A(b))), fits(diff) ? diff.str() : "nullopt")
        << S(a) << "-" << S(b);
    ASSERT_EQ(S(checked_mul(A(a), b)), fits(prod) ? prod.str() : "nullopt") << S(a) << "*" << S(b);
  }
}

// ---------------------------------------------------------------------------------------------
// Rounding

TEST(Rounding, Names) {
  for (auto r : {Rounding::half_even, Rounding::half_up, Rounding::down, Rounding::up}) {
    EXPECT_EQ(parse_rounding(rounding_name(r)), r);
  }
  EXPECT_EQ(rounding_name(Rounding::half_even), "half_even");
  EXPECT_EQ(parse_rounding("half_up"), Rounding::half_up);
  EXPECT_FALSE(parse_rounding("HALF_EVEN").has_value());
  EXPECT_FALSE(parse_rounding("ceiling").has_value());
  EXPECT_FALSE(parse_rounding("").has_value());
}

TEST(Rounding, DivideRoundedTable) {
  struct Case {
    i128 num, den;
    std::string half_even, half_up, down, up;
  };
  const i128 two126 = i128(1) << 126;
  const std::vector<Case> cases = {
      // exact halves
      {25, 10, "2", "3", "2", "3"},
      {35, 10, "4", "4", "3", "4"},
      {-25, 10, "-2", "-3", "-2", "-3"},
      {-35, 10, "-4", "-4", "-3", "-4"},
      {25, -10, "-2", "-3", "-2", "-3"},
      {-25, -10, "2", "3", "2", "3"},
      {5, 10, "0", "1", "0", "1"},
      {-5, 10, "0", "-1", "0", "-1"},
      {15, 10, "2", "2", "1", "2"},
      {1, 2, "0", "1", "0", "1"},
      {3, 2, "2", "2", "1", "2"},
      {-3, 2, "-2", "-2", "-1", "-2"},
      // above and below a half
      {26, 10, "3", "3", "2", "3"},
      {24, 10, "2", "2", "2", "3"},
      {-26, 10, "-3", "-3", "-2", "-3"},
      {-24, 10, "-2", "-2", "-2", "-3"},
      {1, 3, "0", "0", "0", "1"},
      {-1, 3, "0", "0", "0", "-1"},
      {2, 3, "1", "1", "0", "1"},
      {-2, 3, "-1", "-1", "0", "-1"},
      {1, -3, "0", "0", "0", "-1"},
      // exact quotients
      {20, 10, "2", "2", "2", "2"},
      {-20, 10, "-2", "-2", "-2", "-2"},
      {0, 7, "0", "0", "0", "0"},
      {0, -7, "0", "0", "0", "0"},
      {7, 1, "7", "7", "7", "7"},
      // the edges of the range
      {kMax, 1, S(kMax), S(kMax), S(kMax), S(kMax)},
      {kMin, 1, S(kMin), S(kMin), S(kMin), S(kMin)},
      {kMax, -1, S(-kMax), S(-kMax), S(-kMax), S(-kMax)},
      {kMin, 2, S(-two126), S(-two126), S(-two126), S(-two126)},
      {kMax, 2, S(two126), S(two126), S(two126 - 1), S(two126)},  // 2^126 - 1/2: a tie
      {kMin + 1, 2, S(-two126), S(-two126), S(-two126 + 1), S(-two126)},
      {kMax, kMin, "-1", "-1", "0", "-1"},  // just above -1
      {kMin, kMin, "1", "1", "1", "1"},
      {1, kMin, "0", "0", "0", "-1"},
      {two126, kMin, "0", "-1", "0", "-1"},  // exactly -1/2
      {-two126, kMin, "0", "1", "0", "1"},   // exactly +1/2
      {kMax, kMax, "1", "1", "1", "1"},
      {kMin, kMax, "-1", "-1", "-1", "-2"},
  };
  const Rounding modes[] = {Rounding::half_even, Rounding::half_up, Rounding::down, Rounding::up};
  for (const auto& c : cases) {
    const std::string* want[] = {&c.half_even, &c.half_up, &c.down, &c.up};
    for (int m = 0; m < 4; ++m) {
      EXPECT_EQ(S(divide_rounded(c.num, c.den, modes[m])), *want[m])
          << S(c.num) << "/" << S(c.den) << " " << rounding_name(modes[m]);
    }
  }
  for (auto mode : modes) EXPECT_EQ(S(divide_rounded(kMin, -1, mode)), "nullopt");
}

TEST(RoundingProperty, DivideRoundedMatchesExactRationals) {
  std::mt19937_64 rng(kSeed + 2);
  const Rounding modes[] = {Rounding::half_even, Rounding::half_up, Rounding::down, Rounding::up};
  for (int i = 0; i < kCases; ++i) {
    i128 num = random_i128(rng);
    i128 den = random_i128(rng);
    if (den == 0) den = 1;
    if (rng() % 4 == 0) {  // force exact halves, of both signs, of every size
      den = 2 * (static_cast<i128>(rng() % 20) + 1) * ((rng() & 1) ? 1 : -1);
      i128 base = num / den * den;
      i128 half = (den < 0 ? -den : den) / 2;
      num = base >= 0 ? base - half : base + half;  // toward zero: cannot overflow
    }
    cpp_rational x = cpp_rational(big(num)) / cpp_rational(big(den));
    for (auto mode : modes) {
      auto got = divide_rounded(num, den, mode);
      if (num == kMin && den == -1) {
        ASSERT_FALSE(got.has_value());
        continue;
      }
      ASSERT_TRUE(got.has_value()) << S(num) << "/" << S(den);
      std::string why = check_rounding(x, big(*got), mode);
      ASSERT_EQ(why, "") << S(num) << "/" << S(den) << " " << rounding_name(mode) << " gave "
                         << S(*got);
    }
  }
}

}  // namespace
}  // namespace tally
