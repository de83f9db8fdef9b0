#include "ledger/money.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include <boost/multiprecision/cpp_int.hpp>

#include "money_fixture.h"

// Money is tested two ways: tables of chosen cases (every rule of SPEC section 1, the edges of
// the 128-bit range), and seeded property tests against an oracle in exact rationals
// (boost cpp_rational), which shares no arithmetic with the implementation. No floating point
// anywhere, random numbers included.

namespace tally {
namespace {

using namespace tally::testing;

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

}  // namespace
}  // namespace tally
