#include "ledger/money.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include <boost/multiprecision/cpp_int.hpp>

#include "money_fixture.h"

// Allocation (the money tests' method: money_fixture.h).

namespace tally {
namespace {

using namespace tally::testing;

// ---------------------------------------------------------------------------------------------
// Allocation

std::vector<Amount> amounts(std::initializer_list<i128> values) {
  std::vector<Amount> out;
  for (i128 v : values) out.push_back(A(v));
  return out;
}

std::string alloc(i128 whole, std::initializer_list<i128> weights) {
  auto w = amounts(weights);
  auto r = allocate(A(whole), w);
  if (!r.ok()) return std::string(code_name(r.error().code)) + ": " + r.error().message;
  return S(*r);
}

TEST(Allocate, Examples) {
  EXPECT_EQ(alloc(100, {1, 1, 1}), "34,33,33");
  EXPECT_EQ(alloc(-100, {1, 1, 1}), "-34,-33,-33");
  EXPECT_EQ(alloc(2, {1, 1, 1}), "1,1,0");  // ties to the earlier part
  EXPECT_EQ(alloc(-2, {1, 1, 1}), "-1,-1,0");
  EXPECT_EQ(alloc(1, {1, 1}), "1,0");
  EXPECT_EQ(alloc(1, {1, 2}), "0,1");  // the larger remainder wins over order
  EXPECT_EQ(alloc(10, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}), "1,1,1,1,1,1,1,1,1,1,0,0");
  EXPECT_EQ(alloc(100, {0, 1, 0, 1}), "0,50,0,50");
  EXPECT_EQ(alloc(101, {0, 1, 0, 1}), "0,51,0,50");
  EXPECT_EQ(alloc(101, {1, 0, 0}), "101,0,0");
  EXPECT_EQ(alloc(0, {1, 2}), "0,0");
  EXPECT_EQ(alloc(7, {5}), "7");
  // A 33.33 refund split by 90/7/3: exact shares 29.997, 2.331, 0.999.
  EXPECT_EQ(alloc(3333, {90, 7, 3}), "3000,233,100");
  EXPECT_EQ(alloc(-3333, {90, 7, 3}), "-3000,-233,-100");
  // The same refund of a 120.00 sale split seller 108.00, platform 3.60, affiliate 8.40.
  EXPECT_EQ(alloc(3333, {10800, 360, 840}), "3000,100,233");
  // The whole sale allocates back to its parts exactly: a full refund reverses exactly.
  EXPECT_EQ(alloc(12000, {10800, 360, 840}), "10800,360,840");
  EXPECT_EQ(alloc(-12000, {10800, 360, 840}), "-10800,-360,-840");
}

TEST(Allocate, EdgesOfTheRange) {
  const i128 two126 = i128(1) << 126;
  EXPECT_EQ(alloc(kMax, {1, 1}), S(two126) + "," + S(two126 - 1));
  EXPECT_EQ(alloc(kMin, {1, 1}), S(-two126) + "," + S(-two126));
  EXPECT_EQ(alloc(kMin, {5}), S(kMin));
  EXPECT_EQ(alloc(kMax, {kMax}), S(kMax));
  EXPECT_EQ(alloc(kMax, {kMax - 1, 1}), S(kMax - 1) + ",1");  // products beyond 128 bits
  EXPECT_EQ(alloc(kMin, {1, kMax - 1}), "-1," + S(-kMax));
  EXPECT_EQ(alloc(kMin, {kMax, 0}), S(kMin) + ",0");
}

TEST(Allocate, Rejections) {
  auto code = [](i128 whole, std::vector<Amount> w) {
    auto r = allocate(A(whole), w);
    return r.ok() ? std::string("ok") : std::string(code_name(r.error().code));
  };
  EXPECT_EQ(code(100, {}), "bad_request");
  EXPECT_EQ(code(100, amounts({1, -1})), "bad_request");
  EXPECT_EQ(code(100, amounts({0, 0})), "bad_request");
  EXPECT_EQ(code(0, amounts({0})), "bad_request");
  EXPECT_EQ(code(100, amounts({kMax, 1})), "overflow");
  EXPECT_EQ(code(100, amounts({kMax, 0})), "ok");
  EXPECT_EQ(alloc(5, {3, -2}), "bad_request: weights[1]: negative weight -2");
  EXPECT_EQ(alloc(5, {0, 0}), "bad_request: weights: every weight is zero");
}

// The largest-remainder split computed independently in exact rationals.
std::vector<cpp_int> reference_allocation(const cpp_int& whole, const std::vector<cpp_int>& w) {
  cpp_int sum = 0;
  for (const auto& x : w) sum += x;
  cpp_int mag = whole < 0 ? cpp_int(-whole) : whole;
  std::vector<cpp_int> parts;
  std::vector<cpp_rational> fractions;
  cpp_int given = 0;
  for (const auto& x : w) {
    cpp_rational share = cpp_rational(mag * x) / cpp_rational(sum);
    cpp_int floor = numerator(share) / denominator(share);
    parts.push_back(floor);
    fractions.push_back(share - cpp_rational(floor));
    given += floor;
  }
  for (cpp_int left = mag - given; left > 0; --left) {
    size_t best = 0;
    for (size_t i = 1; i < w.size(); ++i) {
      if (fractions[i] > fractions[best]) best = i;  // strict: ties stay with the earlier part
    }
    parts[best] += 1;
    fractions[best] = -1;
  }
  if (whole < 0) {
    for (auto& p : parts) p = -p;
  }
  return parts;
}

TEST(AllocateProperty, PartsSumToTheWholeAndStayWithinOneUnit) {
  std::mt19937_64 rng(kSeed + 5);
  for (int i = 0; i < kCases; ++i) {
    i128 whole = random_i128(rng);
    size_t n = 1 + rng() % 12;
    // Weights of a random size each, small enough that their sum fits; some of them zero.
    unsigned bits = 1 + static_cast<unsigned>(rng() % 123);
    std::vector<Amount> weights;
    i128 total = 0;
    for (size_t k = 0; k < n; ++k) {
      i128 w =
          rng() % 4 == 0 ? 0 : static_cast<i128>(((u128(rng()) << 64) | rng()) >> (128 - bits));
      weights.push_back(A(w));
      total += w;
    }
    if (total == 0) {
      weights[rng() % n] = A(1);
      total = 1;
    }
    auto got = allocate(A(whole), weights);
    ASSERT_TRUE(got.ok()) << got.error().message;
    ASSERT_EQ(got->size(), n);

    cpp_int sum = 0;
    std::vector<cpp_int> w;
    for (auto x : weights) w.push_back(big(x.minor()));
    for (size_t k = 0; k < n; ++k) {
      i128 part = (*got)[k].minor();
      sum += big(part);
      // A part's sign follows the whole's.
      ASSERT_TRUE(whole < 0 || part >= 0) << S(whole) << " part " << k << " " << S(part);
      ASSERT_TRUE(whole > 0 || part <= 0) << S(whole) << " part " << k << " " << S(part);
      ASSERT_TRUE(!weights[k].is_zero() || part == 0) << S(whole) << " part " << k;
      // Within one minor unit of the exact share.
      cpp_rational exact = cpp_rational(big(whole) * w[k]) / cpp_rational(big(total));
      cpp_rational off = cpp_rational(big(part)) - exact;
      ASSERT_LT(off < 0 ? cpp_rational(-off) : off, 1) << S(whole) << " part " << k;
    }
    ASSERT_EQ(sum, big(whole));  // exactly the whole
    if (whole != kMin) {         // a negative whole splits as the exact mirror of its positive
      auto mirror = allocate(A(-whole), weights);
      for (size_t k = 0; k < n; ++k) ASSERT_EQ(S(mirror->at(k)), S(-(*got)[k].minor()));
    }
    auto ref = reference_allocation(big(whole), w);
    for (size_t k = 0; k < n; ++k)
      ASSERT_EQ(big((*got)[k].minor()), ref[k]) << S(whole) << " " << k;
  }
}

}  // namespace
}  // namespace tally
