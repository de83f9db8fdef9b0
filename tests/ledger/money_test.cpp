#include "ledger/money.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include <boost/multiprecision/cpp_int.hpp>

// Money is tested two ways: tables of chosen cases (every rule of SPEC section 1, the edges of
// the 128-bit range), and seeded property tests against an oracle in exact rationals
// (boost cpp_rational), which shares no arithmetic with the implementation. No floating point
// anywhere, random numbers included.

namespace tally {
namespace {

using boost::multiprecision::cpp_int;
using boost::multiprecision::cpp_rational;

constexpr i128 kMax = Amount::max().minor();
constexpr i128 kMin = Amount::min().minor();
constexpr uint64_t kSeed = 20260105;
constexpr int kCases = 20000;

const char* const kMaxText = "170141183460469231731687303715884105727";
const char* const kMinText = "-170141183460469231731687303715884105728";

Amount A(i128 v) {
  return Amount::from_minor(v);
}

// Readable values for assertions: gtest cannot print __int128.
std::string S(i128 v) {
  return i128_to_string(v);
}
std::string S(Amount a) {
  return i128_to_string(a.minor());
}
std::string S(const std::optional<Amount>& a) {
  return a ? S(*a) : "nullopt";
}
std::string S(const std::optional<i128>& v) {
  return v ? S(*v) : "nullopt";
}
std::string S(const std::vector<Amount>& parts) {
  std::string s;
  for (auto p : parts) s += (s.empty() ? "" : ",") + S(p);
  return s;
}

i128 I(const std::string& decimal) {
  return cpp_int(decimal).convert_to<i128>();
}
cpp_int big(i128 v) {
  return cpp_int(v);
}

// A random integer whose bit length is itself uniform, so that small, medium and huge
// magnitudes (and the exact edges) all turn up.
i128 random_i128(std::mt19937_64& rng) {
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

// ---------------------------------------------------------------------------------------------
// Currencies

TEST(Currency, BuiltinsAreExactlyTheSpecList) {
  CurrencyTable t;
  const std::vector<std::pair<std::string, int>> spec = {
      {"USD", 2}, {"EUR", 2}, {"GBP", 2}, {"CHF", 2}, {"CAD", 2},
      {"MXN", 2}, {"BRL", 2}, {"COP", 2}, {"JPY", 0}, {"KRW", 0},
      {"CLP", 0}, {"BHD", 3}, {"KWD", 3}, {"TND", 3}, {"CLF", 4}};
  for (const auto& [code, exp] : spec) {
    auto c = t.find(code);
    ASSERT_TRUE(c.has_value()) << code;
    EXPECT_EQ(c->code(), code);
    EXPECT_EQ(c->exponent(), exp) << code;
  }
  EXPECT_FALSE(t.find("XYZ").has_value());
  EXPECT_FALSE(t.find("usd").has_value());
}

TEST(Currency, CodeForm) {
  for (const char* good : {"USD", "A00", "POINTS", "ABCDEFGHIJKL", "X1Y2"}) {
    EXPECT_TRUE(valid_currency_code(good)) << good;
  }
  for (const char* bad : {"", "US", "usd", "1AB", "ABCDEFGHIJKLM", "US D", "US-D", "ÉUR", "U$D"}) {
    EXPECT_FALSE(valid_currency_code(bad)) << bad;
  }
  EXPECT_TRUE(Currency::make("PTS", 0).has_value());
  EXPECT_TRUE(Currency::make("PTS", 18).has_value());
  EXPECT_FALSE(Currency::make("PTS", 19).has_value());
  EXPECT_FALSE(Currency::make("PTS", -1).has_value());
  EXPECT_FALSE(Currency::make("pts", 2).has_value());
  Currency c = *Currency::make("PTS", 3);
  EXPECT_EQ(c.code(), "PTS");
  EXPECT_EQ(c.padded_code()[3], '\0');
  EXPECT_TRUE(Currency().empty());
  EXPECT_LT(*Currency::make("EUR", 2), *Currency::make("USD", 2));
}

TEST(Currency, DeclareAndLookup) {
  CurrencyTable t;
  auto pts = t.declare("POINTS", 0);
  ASSERT_TRUE(pts.ok()) << pts.error().message;
  EXPECT_EQ(pts->exponent(), 0);
  EXPECT_TRUE(t.declare("POINTS", 0).ok());  // same again: a no-op
  EXPECT_TRUE(t.declare("USD", 2).ok());

  auto clash = t.declare("USD", 3);
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code, Code::bad_currency);
  EXPECT_EQ(clash.error().message, "currency \"USD\": already declared with exponent 2, not 3");
  EXPECT_EQ(t.declare("usd", 2).error().code, Code::bad_currency);
  EXPECT_EQ(t.declare("GOLD", 19).error().code, Code::bad_currency);
  EXPECT_EQ(t.declare("GOLD", -1).error().code, Code::bad_currency);
  EXPECT_EQ(t.find("USD")->exponent(), 2);

  EXPECT_EQ(t.lookup("POINTS", "currency")->code(), "POINTS");
  auto unknown = t.lookup("XYZ", "postings[1].currency");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, Code::bad_currency);
  EXPECT_EQ(unknown.error().message, "postings[1].currency: unknown currency \"XYZ\"");
  EXPECT_EQ(t.lookup("eur", "currency").error().message,
            "currency: malformed currency code \"eur\"");
}

// ---------------------------------------------------------------------------------------------
// Parsing and formatting amounts

struct Accept {
  std::string text;
  int exponent;
  std::string minor;  // expected count of minor units, in decimal
};

TEST(ParseAmount, Accepts) {
  const std::vector<Accept> cases = {
      {"0", 2, "0"},
      {"7", 2, "700"},
      {"1234.56", 2, "123456"},
      {"-3.5", 2, "-350"},
      {"-0.5", 1, "-5"},
      {"-0.5", 2, "-50"},
      {"-0.05", 2, "-5"},
      {"1.5", 2, "150"},
      {"1.00", 2, "100"},
      {"007.50", 2, "750"},
      {"-0", 2, "0"},
      {"-0.00", 2, "0"},
      {"1000", 0, "1000"},
      {"1.005", 3, "1005"},
      {"0.0001", 4, "1"},
      {"1.000000000000000001", 18, "1000000000000000001"},
      {std::string(300, '0') + "1.5", 1, "15"},
      // The edges of the 128-bit range, at exponent 0, 2 and 18.
      {kMaxText, 0, kMaxText},
      {kMinText, 0, kMinText},
      {"1701411834604692317316873037158841057.27", 2, kMaxText},
      {"-1701411834604692317316873037158841057.28", 2, kMinText},
      {"1701411834604692317316873037158841057", 2, "170141183460469231731687303715884105700"},
      {"170141183460469231731.687303715884105727", 18, kMaxText},
      {"-170141183460469231731.687303715884105728", 18, kMinText},
  };
  for (const auto& c : cases) {
    auto r = parse_amount(c.text, c.exponent, "amount");
    ASSERT_TRUE(r.ok()) << c.text << " e" << c.exponent << ": " << r.error().message;
    EXPECT_EQ(S(*r), c.minor) << c.text << " e" << c.exponent;
  }
}

struct Reject {
  std::string text;
  int exponent;
  Code code;
};

TEST(ParseAmount, Rejects) {
  const std::vector<Reject> cases = {
      {"1.005", 2, Code::bad_amount},  // never rounded
      {"1.000", 2, Code::bad_amount},  // even when the extra digit is a zero
      {"1.0", 0, Code::bad_amount},    // JPY has no fraction
      {"0.5", 0, Code::bad_amount},
      {"-0.5", 0, Code::bad_amount},
      {"1e3", 2, Code::bad_amount},
      {"1E3", 2, Code::bad_amount},
      {" 1", 2, Code::bad_amount},
      {"1 ", 2, Code::bad_amount},
      {"\t1", 2, Code::bad_amount},
      {"1\n", 2, Code::bad_amount},
      {"+1", 2, Code::bad_amount},
      {"1,000", 2, Code::bad_amount},
      {"1_000", 2, Code::bad_amount},
      {"1'000", 2, Code::bad_amount},
      {"", 2, Code::bad_amount},
      {"-", 2, Code::bad_amount},
      {".5", 2, Code::bad_amount},
      {"-.5", 2, Code::bad_amount},
      {"5.", 2, Code::bad_amount},
      {"-5.", 2, Code::bad_amount},
      {".", 2, Code::bad_amount},
      {"1..0", 2, Code::bad_amount},
      {"1.2.3", 2, Code::bad_amount},
      {"--1", 2, Code::bad_amount},
      {"-+1", 2, Code::bad_amount},
      {"1-", 2, Code::bad_amount},
      {"0x10", 2, Code::bad_amount},
      {"\u0661", 2, Code::bad_amount},   // ARABIC-INDIC DIGIT ONE
      {"\uff11", 2, Code::bad_amount},   // FULLWIDTH DIGIT ONE
      {"1\u00bd", 2, Code::bad_amount},  // VULGAR FRACTION ONE HALF
      {"NaN", 2, Code::bad_amount},
      {"Infinity", 2, Code::bad_amount},
      {"-inf", 2, Code::bad_amount},
      {"12a", 2, Code::bad_amount},
      {std::string("1\0", 2), 2, Code::bad_amount},
      // One past each edge of the 128-bit range, at exponent 0, 2 and 18.
      {"170141183460469231731687303715884105728", 0, Code::overflow},
      {"-170141183460469231731687303715884105729", 0, Code::overflow},
      {"1701411834604692317316873037158841057.28", 2, Code::overflow},
      {"-1701411834604692317316873037158841057.29", 2, Code::overflow},
      {"1701411834604692317316873037158841058", 2, Code::overflow},
      {"170141183460469231731.687303715884105728", 18, Code::overflow},
      {"-170141183460469231731.687303715884105729", 18, Code::overflow},
      {"340282366920938463463374607431768211456", 0, Code::overflow},  // 2^128
      {"340282366920938463463374607431768211457", 0, Code::overflow},
      {std::string(100, '9'), 0, Code::overflow},
      {"-" + std::string(100, '9') + ".99", 2, Code::overflow},
      // Too many fraction digits is reported before the size: the text is wrong whatever it is.
      {std::string(100, '9') + ".999", 2, Code::bad_amount},
  };
  for (const auto& c : cases) {
    auto r = parse_amount(c.text, c.exponent, "amount");
    ASSERT_FALSE(r.ok()) << c.text << " e" << c.exponent << " parsed as " << S(*r);
    EXPECT_EQ(code_name(r.error().code), code_name(c.code)) << c.text << " e" << c.exponent;
    EXPECT_EQ(r.error().message.rfind("amount: ", 0), 0u) << r.error().message;
  }
}

TEST(ParseAmount, MessagesNameTheFieldAndQuoteTheText) {
  EXPECT_EQ(parse_amount("1.005", 2, "amount").error().message,
            "amount: \"1.005\" has 3 fraction digits, at most 2 allowed");
  EXPECT_EQ(parse_amount("1.0", 0, "postings[0].amount").error().message,
            "postings[0].amount: \"1.0\" has 1 fraction digit, at most 0 allowed");
  EXPECT_EQ(parse_amount("", 2, "amount").error().message, "amount: \"\" is empty");
  EXPECT_EQ(parse_amount("1e3", 2, "fee_fixed").error().message,
            "fee_fixed: \"1e3\" is not a plain decimal amount: unexpected \"e\"");
  EXPECT_EQ(parse_amount("5.", 2, "amount").error().message,
            "amount: \"5.\" is not a plain decimal amount: no digit after '.'");
  EXPECT_EQ(parse_amount(".5", 2, "amount").error().message,
            "amount: \".5\" is not a plain decimal amount: no digit before '.'");
  EXPECT_EQ(parse_amount("170141183460469231731687303715884105728", 0, "amount").error().message,
            "amount: \"170141183460469231731687303715884105728\" does not fit a 128-bit count of "
            "minor units");
  // Outside text is escaped and cut short: a message stays printable ASCII and small.
  EXPECT_EQ(parse_amount("\u0661\"\\", 2, "amount").error().message,
            "amount: \"\\xd9\\xa1\\\"\\\\\" is not a plain decimal amount: unexpected \"\\xd9\"");
  std::string huge(100000, 'x');
  auto m = parse_amount(huge, 2, "amount").error().message;
  EXPECT_LT(m.size(), 300u);
  EXPECT_NE(m.find("... (100000 bytes)"), std::string::npos) << m;
}

TEST(ParseAmount, CurrencyOverload) {
  CurrencyTable t;
  EXPECT_EQ(S(*parse_amount("1000", *t.find("JPY"), "amount")), "1000");
  EXPECT_FALSE(parse_amount("1.0", *t.find("JPY"), "amount").ok());
  EXPECT_EQ(S(*parse_amount("1.005", *t.find("BHD"), "amount")), "1005");
  EXPECT_EQ(S(*parse_amount("1.0005", *t.find("CLF"), "amount")), "10005");
}

TEST(FormatAmount, PrintsExactlyTheExponentsDigits) {
  struct Case {
    i128 minor;
    int exponent;
    std::string text;
  };
  const std::vector<Case> cases = {
      {1250, 2, "12.50"},
      {1000, 0, "1000"},
      {-5, 2, "-0.05"},
      {0, 2, "0.00"},
      {0, 0, "0"},
      {100, 2, "1.00"},
      {-100, 0, "-100"},
      {5, 3, "0.005"},
      {123456, 2, "1234.56"},
      {-1, 18, "-0.000000000000000001"},
      {kMax, 0, kMaxText},
      {kMin, 0, kMinText},
      {kMax, 2, "1701411834604692317316873037158841057.27"},
      {kMin, 2, "-1701411834604692317316873037158841057.28"},
      {kMax, 18, "170141183460469231731.687303715884105727"},
      {kMin, 18, "-170141183460469231731.687303715884105728"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(format_amount(A(c.minor), c.exponent), c.text) << S(c.minor) << " e" << c.exponent;
  }
  CurrencyTable t;
  EXPECT_EQ(format_amount(A(1250), *t.find("EUR")), "12.50");
  EXPECT_EQ(format_amount(A(1000), *t.find("JPY")), "1000");
}

TEST(FormatAmount, I128ToString) {
  EXPECT_EQ(i128_to_string(0), "0");
  EXPECT_EQ(i128_to_string(-1), "-1");
  EXPECT_EQ(i128_to_string(1234567890), "1234567890");
  EXPECT_EQ(i128_to_string(kMax), kMaxText);
  EXPECT_EQ(i128_to_string(kMin), kMinText);
}

TEST(ParseAmountProperty, ParseOfFormatIsIdentity) {
  std::mt19937_64 rng(kSeed);
  for (int i = 0; i < kCases; ++i) {
    i128 v = random_i128(rng);
    int e = static_cast<int>(rng() % (Currency::kExponentMax + 1));
    std::string text = format_amount(A(v), e);
    auto back = parse_amount(text, e, "amount");
    ASSERT_TRUE(back.ok()) << text << " e" << e << ": " << back.error().message;
    ASSERT_EQ(S(*back), S(v)) << text << " e" << e;
    // And the text is the minor units' exact decimal value with the point moved e places.
    std::string digits;
    for (char c : text) {
      if (c != '-' && c != '.') digits += c;
    }
    ASSERT_EQ(text.find('.'), e ? text.size() - 1 - static_cast<size_t>(e) : std::string::npos);
    digits.erase(0, std::min(digits.find_first_not_of('0'), digits.size() - 1));
    cpp_int value(digits);  // no leading zero left: cpp_int would read it as octal
    ASSERT_EQ(text[0] == '-' ? cpp_int(-value) : value, big(v)) << text;
  }
}

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

// Checks `got` against the exact value x by the rules of `mode`: down is x truncated toward
// zero, up away from zero, the half modes within 1/2 with ties away from zero (half_up) or to
// the even neighbour (half_even). Returns an explanation when it breaks one.
std::string check_rounding(const cpp_rational& x, const cpp_int& got, Rounding mode) {
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
