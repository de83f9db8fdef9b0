#include "ledger/money.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include <boost/multiprecision/cpp_int.hpp>

#include "money_fixture.h"

// Rates and applying them (the money tests' method: money_fixture.h).

namespace tally {
namespace {

using namespace tally::testing;

// ---------------------------------------------------------------------------------------------
// Rates

TEST(Rate, ParseAccepts) {
  struct Case {
    std::string text;
    int64_t numerator;  // of 10^11
  };
  const std::vector<Case> cases = {
      {"10%", 10'000'000'000},
      {"2.9%", 2'900'000'000},
      {"0.029", 2'900'000'000},
      {"7%", 7'000'000'000},
      {"007%", 7'000'000'000},
      {"20%", 20'000'000'000},
      {"0.123456789%", 123'456'789},
      {"0.000000001%", 1},
      {"0.000000001", 100},
      {"0.123456789", 12'345'678'900},
      {"0", 0},
      {"0%", 0},
      {"0.0", 0},
      {"1", 100'000'000'000},
      {"100%", 100'000'000'000},
      {"1000%", 1'000'000'000'000},
      {"10", 1'000'000'000'000},
      {"10.000000000", 1'000'000'000'000},
      {"999.999999999%", 999'999'999'999},
  };
  for (const auto& c : cases) {
    auto r = Rate::parse(c.text, "fee_rate");
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.error().message;
    EXPECT_EQ(r->numerator(), c.numerator) << c.text;
  }
  EXPECT_EQ(*Rate::parse("2.9%", "r"), *Rate::parse("0.029", "r"));
}

TEST(Rate, ParseRejects) {
  const std::vector<std::string> cases = {
      "0.0000000001",  // 10 fraction digits
      "0.0000000001%",
      "0.1234567891%",
      "-1%",
      "-0",
      "+5%",
      "1e-2",
      "1E2%",
      "10 %",
      " 10%",
      "10% ",
      "%",
      "",
      "abc",
      "NaN",
      "1001%",
      "1000.000000001%",
      "10.000000001",
      "11",
      "99999999999999999999999999999%",
      ".5%",
      "5.%",
      "5%%",
      "%5",
      "1/3",
      "0x1",
      "2,9%",
      "\u0661%",
  };
  for (const auto& text : cases) {
    auto r = Rate::parse(text, "fee_rate");
    ASSERT_FALSE(r.ok()) << text << " parsed as " << r->numerator();
    EXPECT_EQ(r.error().code, Code::bad_rate) << text;
    EXPECT_EQ(r.error().message.rfind("fee_rate: ", 0), 0u) << r.error().message;
  }
  EXPECT_EQ(Rate::parse("0.0000000001", "fee_rate").error().message,
            "fee_rate: \"0.0000000001\" has 10 fraction digits, at most 9 allowed");
  EXPECT_EQ(Rate::parse("1001%", "commission_rate.product").error().message,
            "commission_rate.product: \"1001%\" is above the largest rate, 1000%");
  EXPECT_EQ(Rate::parse("1e-2", "fee_rate").error().message,
            "fee_rate: \"1e-2\" is not an exact decimal rate like \"2.9%\" or \"0.029\": "
            "unexpected \"e\"");
  EXPECT_EQ(Rate::parse("-1%", "affiliate_rate").error().message,
            "affiliate_rate: \"-1%\" has a sign; rates are non-negative");
}

TEST(Rate, ToString) {
  EXPECT_EQ(Rate::from_numerator(10'000'000'000).to_string(), "10%");
  EXPECT_EQ(Rate::from_numerator(2'900'000'000).to_string(), "2.9%");
  EXPECT_EQ(Rate::from_numerator(1).to_string(), "0.000000001%");
  EXPECT_EQ(Rate::from_numerator(100).to_string(), "0.0000001%");
  EXPECT_EQ(Rate::from_numerator(15).to_string(), "0.000000015%");
  EXPECT_EQ(Rate::from_numerator(123'456'789).to_string(), "0.123456789%");
  EXPECT_EQ(Rate::from_numerator(0).to_string(), "0%");
  EXPECT_EQ(Rate().to_string(), "0%");
  EXPECT_EQ(Rate::from_numerator(Rate::kNumeratorMax).to_string(), "1000%");
  EXPECT_EQ(Rate::from_numerator(100'000'000'000).to_string(), "100%");
}

TEST(RateProperty, ParseOfToStringIsIdentity) {
  std::mt19937_64 rng(kSeed + 3);
  for (int i = 0; i < kCases; ++i) {
    auto n = static_cast<int64_t>(rng() % (Rate::kNumeratorMax + 1));
    if (i % 2) n -= n % 1'000'000'000;  // whole percents too
    Rate r = Rate::from_numerator(n);
    auto back = Rate::parse(r.to_string(), "rate");
    ASSERT_TRUE(back.ok()) << r.to_string() << ": " << back.error().message;
    ASSERT_EQ(back->numerator(), n) << r.to_string();
  }
}

TEST(ApplyRate, Examples) {
  auto rate = [](const char* t) { return *Rate::parse(t, "rate"); };
  // A 120.00 EUR sale: 10% commission, 7% affiliate, 2.9% fee.
  EXPECT_EQ(S(apply_rate(A(12000), rate("10%"), Rounding::half_even)), "1200");
  EXPECT_EQ(S(apply_rate(A(12000), rate("7%"), Rounding::half_even)), "840");
  EXPECT_EQ(S(apply_rate(A(12000), rate("2.9%"), Rounding::half_even)), "348");
  // 12.34 * 2.9% = 0.35786
  EXPECT_EQ(S(apply_rate(A(1234), rate("2.9%"), Rounding::half_even)), "36");
  EXPECT_EQ(S(apply_rate(A(1234), rate("2.9%"), Rounding::half_up)), "36");
  EXPECT_EQ(S(apply_rate(A(1234), rate("2.9%"), Rounding::down)), "35");
  EXPECT_EQ(S(apply_rate(A(1234), rate("2.9%"), Rounding::up)), "36");
  // Exact halves: 0.50 * 1% = 0.005, 1.50 * 1% = 0.015, and their negatives.
  struct Case {
    i128 a;
    std::string half_even, half_up, down, up;
  };
  const Rounding modes[] = {Rounding::half_even, Rounding::half_up, Rounding::down, Rounding::up};
  for (const Case& c : std::vector<Case>{{50, "0", "1", "0", "1"},
                                         {150, "2", "2", "1", "2"},
                                         {250, "2", "3", "2", "3"},
                                         {-50, "0", "-1", "0", "-1"},
                                         {-150, "-2", "-2", "-1", "-2"},
                                         {51, "1", "1", "0", "1"},
                                         {-49, "0", "0", "0", "-1"},
                                         {0, "0", "0", "0", "0"}}) {
    const std::string* want[] = {&c.half_even, &c.half_up, &c.down, &c.up};
    for (int m = 0; m < 4; ++m) {
      EXPECT_EQ(S(apply_rate(A(c.a), rate("1%"), modes[m])), *want[m])
          << S(c.a) << " " << rounding_name(modes[m]);
    }
  }
  // The smallest rate on the smallest amount, and a 9-digit percent exactly.
  EXPECT_EQ(S(apply_rate(A(1), rate("0.000000001%"), Rounding::up)), "1");
  EXPECT_EQ(S(apply_rate(A(1), rate("0.000000001%"), Rounding::half_even)), "0");
  EXPECT_EQ(S(apply_rate(A(100'000'000'000), rate("0.123456789%"), Rounding::down)), "123456789");
}

TEST(ApplyRate, WideIntermediatesAndOverflow) {
  auto rate = [](const char* t) { return *Rate::parse(t, "rate"); };
  const i128 two126 = i128(1) << 126;
  // amount * numerator overflows 128 bits here: the 256-bit path.
  EXPECT_EQ(S(apply_rate(A(kMax), rate("100%"), Rounding::half_even)), S(kMax));
  EXPECT_EQ(S(apply_rate(A(kMin), rate("100%"), Rounding::half_even)), S(kMin));
  EXPECT_EQ(S(apply_rate(A(kMax), rate("50%"), Rounding::half_even)), S(two126));  // tie, even
  EXPECT_EQ(S(apply_rate(A(kMax), rate("50%"), Rounding::half_up)), S(two126));
  EXPECT_EQ(S(apply_rate(A(kMax), rate("50%"), Rounding::down)), S(two126 - 1));
  EXPECT_EQ(S(apply_rate(A(kMin), rate("50%"), Rounding::down)), S(-two126));
  EXPECT_EQ(S(apply_rate(A(kMin + 1), rate("50%"), Rounding::half_even)), S(-two126));
  EXPECT_EQ(S(apply_rate(A(kMin + 1), rate("50%"), Rounding::down)), S(-two126 + 1));
  EXPECT_EQ(S(apply_rate(A(kMax), rate("0%"), Rounding::up)), "0");
  EXPECT_EQ(S(apply_rate(A(kMax), rate("100.000000001%"), Rounding::down)), "nullopt");
  EXPECT_EQ(S(apply_rate(A(kMax), rate("1000%"), Rounding::down)), "nullopt");
  EXPECT_EQ(S(apply_rate(A(kMin), rate("1000%"), Rounding::down)), "nullopt");
  EXPECT_EQ(S(apply_rate(A(kMax / 10), rate("1000%"), Rounding::down)), S(kMax / 10 * 10));
  EXPECT_EQ(S(apply_rate(A(kMin / 10), rate("1000%"), Rounding::down)), S(kMin / 10 * 10));
  // 2^126 * 200% is 2^127: one past max, and exactly min when negative.
  const i128 two127_half = I("85070591730234615865843651857942052864");
  EXPECT_EQ(S(apply_rate(A(two127_half), rate("200%"), Rounding::down)), "nullopt");
  EXPECT_EQ(S(apply_rate(A(-two127_half), rate("200%"), Rounding::down)), S(kMin));
  // (2^128 - 1) / 5 * 250% is max + 1/2: it fits only when rounded toward zero; its negative,
  // min + 1/2, fits every way.
  const i128 a = I("68056473384187692692674921486353642291");
  const Rate r = rate("250%");
  EXPECT_EQ(S(apply_rate(A(a), r, Rounding::down)), S(kMax));
  EXPECT_EQ(S(apply_rate(A(a), r, Rounding::half_even)), "nullopt");  // max is odd: goes up
  EXPECT_EQ(S(apply_rate(A(a), r, Rounding::half_up)), "nullopt");
  EXPECT_EQ(S(apply_rate(A(a), r, Rounding::up)), "nullopt");
  EXPECT_EQ(S(apply_rate(A(-a), r, Rounding::down)), S(kMin + 1));
  EXPECT_EQ(S(apply_rate(A(-a), r, Rounding::half_even)), S(kMin));
  EXPECT_EQ(S(apply_rate(A(-a), r, Rounding::half_up)), S(kMin));
  EXPECT_EQ(S(apply_rate(A(-a), r, Rounding::up)), S(kMin));
}

TEST(ApplyRateProperty, MatchesExactRationals) {
  std::mt19937_64 rng(kSeed + 4);
  const Rounding modes[] = {Rounding::half_even, Rounding::half_up, Rounding::down, Rounding::up};
  const cpp_rational lo(big(kMin)), hi(big(kMax));
  const cpp_rational denominator{cpp_int(Rate::kDenominator)};
  int wide = 0, overflowed = 0;
  for (int i = 0; i < kCases; ++i) {
    i128 a = random_i128(rng);
    int64_t n;
    switch (rng() % 4) {
      case 0:  // a whole or half percent: many exact ties
        n = static_cast<int64_t>(rng() % 2001) * 500'000'000;
        break;
      case 1:  // a small rate: many results near zero
        n = static_cast<int64_t>(rng() % 1'000'000);
        break;
      default:
        n = static_cast<int64_t>(rng() % (Rate::kNumeratorMax + 1));
    }
    Rate r = Rate::from_numerator(n);
    cpp_rational x = cpp_rational(big(a) * n) / denominator;
    if (big(a) * n > big(kMax) || big(a) * n < big(kMin)) ++wide;
    for (auto mode : modes) {
      auto got = apply_rate(A(a), r, mode);
      if (!got) {
        // Only a result outside 128 bits may be refused; any rounding of x in range fits.
        ASSERT_TRUE(x < lo || x > hi) << S(a) << " * " << r.to_string();
        ++overflowed;
        continue;
      }
      std::string why = check_rounding(x, big(got->minor()), mode);
      ASSERT_EQ(why, "") << S(a) << " * " << r.to_string() << " " << rounding_name(mode) << " gave "
                         << S(*got);
    }
  }
  // The generator reaches both the 256-bit path and overflow often enough to mean something.
  EXPECT_GT(wide, kCases / 10);
  EXPECT_GT(overflowed, kCases / 100);
}

}  // namespace
}  // namespace tally
