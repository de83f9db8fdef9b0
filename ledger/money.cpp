#include "ledger/money.h"

#include <algorithm>
#include <numeric>

#include <boost/multiprecision/cpp_int.hpp>

// Integer arithmetic only. Amounts are __int128; whenever an intermediate (amount * rate,
// amount * weight) can exceed 128 bits it is computed in Boost's fixed 256-bit integers and
// the final result is checked to fit 128 bits.

namespace tally {

namespace {

using boost::multiprecision::int256_t;
using boost::multiprecision::uint256_t;

constexpr i128 kI128Max = Amount::max().minor();
constexpr i128 kI128Min = Amount::min().minor();
constexpr u128 kMinMagnitude = u128(1) << 127;  // |min()|, one more than max()

// |v| as unsigned: defined for min() too.
constexpr u128 magnitude(i128 v) {
  return v < 0 ? u128(0) - u128(v) : u128(v);
}

// The signed value of a magnitude and a sign. Callers guarantee it fits (m <= 2^127 when
// negative, < 2^127 otherwise); C++20 makes the unsigned-to-signed conversion modular, so
// 2^127 negated is exactly min().
constexpr i128 with_sign(u128 m, bool negative) {
  return i128(negative ? u128(0) - m : m);
}

constexpr u128 pow10_u128(int n) {
  u128 p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

std::string u128_digits(u128 m) {
  char buf[40];  // 2^128 has 39 digits
  char* end = buf + sizeof buf;
  char* p = end;
  // 128-bit division is a library call: one per 19 digits, then 64-bit divisions.
  constexpr uint64_t k19Digits = 10'000'000'000'000'000'000u;
  while (m > UINT64_MAX) {
    auto chunk = static_cast<uint64_t>(m % k19Digits);
    m /= k19Digits;
    for (int i = 0; i < 19; ++i, chunk /= 10) *--p = static_cast<char>('0' + chunk % 10);
  }
  auto low = static_cast<uint64_t>(m);
  do {
    *--p = static_cast<char>('0' + low % 10);
    low /= 10;
  } while (low != 0);
  return std::string(p, end);
}

// Outside text quoted for an error message: at most 64 bytes of it, with quotes, backslashes
// and anything but printable ASCII escaped, so that hostile input neither floods a message nor
// makes it invalid UTF-8.
std::string quoted(std::string_view text) {
  constexpr size_t kShown = 64;
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kShown; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  out += '"';
  if (text.size() > kShown) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// The shape shared by amounts and rates: digits, then optionally '.' and at least one digit.
// Only ASCII digits count ("١" is not a digit here).
struct Decimal {
  std::string_view int_digits;
  std::string_view frac_digits;
};

// Splits `body` into its integer and fraction digits, or says what is wrong with it.
std::optional<Decimal> split_decimal(std::string_view body, std::string* why) {
  if (body.empty()) {
    *why = "no digits";
    return std::nullopt;
  }
  size_t dot = std::string_view::npos;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (is_digit(c)) continue;
    if (c == '.' && dot == std::string_view::npos) {
      dot = i;
      continue;
    }
    *why = "unexpected " + quoted(body.substr(i, 1));
    return std::nullopt;
  }
  if (dot == std::string_view::npos) return Decimal{body, {}};
  if (dot == 0) {
    *why = "no digit before '.'";
    return std::nullopt;
  }
  if (dot + 1 == body.size()) {
    *why = "no digit after '.'";
    return std::nullopt;
  }
  return Decimal{body.substr(0, dot), body.substr(dot + 1)};
}

// Accumulates decimal digits into an unsigned value; false when it would exceed `limit`.
template <class U>
bool accumulate_digits(std::string_view digits, U limit, U* acc) {
  for (char c : digits) {
    if (__builtin_mul_overflow(*acc, U{10}, acc) ||
        __builtin_add_overflow(*acc, static_cast<U>(c - '0'), acc) || *acc > limit) {
      return false;
    }
  }
  return true;
}

// Whether a truncated quotient moves one unit away from zero. `half` compares the non-zero
// remainder with what is left of the divisor (r <=> |den| - r): below, at or above one half.
bool rounds_away(Rounding mode, std::strong_ordering half, bool truncated_is_odd) {
  switch (mode) {
    case Rounding::down:
      return false;
    case Rounding::up:
      return true;
    case Rounding::half_up:
      return half != std::strong_ordering::less;
    case Rounding::half_even:
      return half == std::strong_ordering::greater ||
             (half == std::strong_ordering::equal && truncated_is_odd);
  }
  TALLY_ASSERT(false, "rounding mode " + std::to_string(static_cast<int>(mode)));
}

template <class T>
std::strong_ordering order_of(const T& a, const T& b) {
  if (a < b) return std::strong_ordering::less;
  if (a == b) return std::strong_ordering::equal;
  return std::strong_ordering::greater;
}

// num / den rounded by `mode` in 256 bits, for products that overflowed 128 bits; nullopt when
// the result does not fit 128 bits.
std::optional<i128> divide_rounded_256(const int256_t& num, const int256_t& den, Rounding mode) {
  int256_t q = num / den;  // truncates toward zero, like the built-in types
  int256_t r = num % den;
  if (r != 0) {
    int256_t ur = abs(r);
    bool odd = bit_test(abs(q), 0);
    if (rounds_away(mode, order_of(ur, int256_t(abs(den) - ur)), odd)) {
      q += ((num < 0) != (den < 0)) ? -1 : 1;
    }
  }
  if (q < int256_t(kI128Min) || q > int256_t(kI128Max)) return std::nullopt;
  return q.convert_to<i128>();
}

struct BuiltinCurrency {
  const char* code;
  int exponent;
};
// SPEC section 1, exactly.
constexpr BuiltinCurrency kBuiltins[] = {
    {"USD", 2}, {"EUR", 2}, {"GBP", 2}, {"CHF", 2}, {"CAD", 2}, {"MXN", 2}, {"BRL", 2}, {"COP", 2},
    {"JPY", 0}, {"KRW", 0}, {"CLP", 0}, {"BHD", 3}, {"KWD", 3}, {"TND", 3}, {"CLF", 4},
};

}  // namespace

std::string i128_to_string(i128 v) {
  std::string digits = u128_digits(magnitude(v));
  return v < 0 ? "-" + digits : digits;
}

// ---------------------------------------------------------------------------------------------
// Currency

bool valid_currency_code(std::string_view code) {
  if (code.size() < 3 || code.size() > Currency::kCodeBytesMax) return false;
  if (code[0] < 'A' || code[0] > 'Z') return false;
  return std::all_of(code.begin() + 1, code.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || is_digit(c); });
}

std::optional<Currency> Currency::make(std::string_view code, int exponent) {
  if (!valid_currency_code(code) || exponent < 0 || exponent > kExponentMax) return std::nullopt;
  Currency c;
  std::copy(code.begin(), code.end(), c.code_.begin());
  c.len_ = static_cast<uint8_t>(code.size());
  c.exponent_ = static_cast<uint8_t>(exponent);
  return c;
}

CurrencyTable::CurrencyTable() {
  for (const auto& b : kBuiltins) {
    auto c = Currency::make(b.code, b.exponent);
    TALLY_ASSERT(c.has_value(), b.code);
    by_code_.emplace(b.code, *c);
  }
}

Result<Currency> CurrencyTable::declare(std::string_view code, int exponent) {
  if (!valid_currency_code(code)) {
    return reject(Code::bad_currency,
                  "currency: malformed code " + quoted(code) + " (expected [A-Z][A-Z0-9]{2,11})");
  }
  if (exponent < 0 || exponent > Currency::kExponentMax) {
    return reject(Code::bad_currency, "currency " + quoted(code) + ": exponent " +
                                          std::to_string(exponent) + " is outside 0..18");
  }
  if (auto it = by_code_.find(code); it != by_code_.end()) {
    if (it->second.exponent() == exponent) return it->second;
    return reject(Code::bad_currency,
                  "currency " + quoted(code) + ": already declared with exponent " +
                      std::to_string(it->second.exponent()) + ", not " + std::to_string(exponent));
  }
  auto c = Currency::make(code, exponent);
  TALLY_ASSERT(c.has_value(), std::string(code));
  by_code_.emplace(std::string(code), *c);
  return *c;
}

std::optional<Currency> CurrencyTable::find(std::string_view code) const {
  auto it = by_code_.find(code);
  if (it == by_code_.end()) return std::nullopt;
  return it->second;
}

Result<Currency> CurrencyTable::lookup(std::string_view code, std::string_view field) const {
  if (auto c = find(code)) return *c;
  std::string f(field);
  if (!valid_currency_code(code)) {
    return reject(Code::bad_currency, f + ": malformed currency code " + quoted(code));
  }
  return reject(Code::bad_currency, f + ": unknown currency " + quoted(code));
}

// ---------------------------------------------------------------------------------------------
// Amount

Result<Amount> parse_amount(std::string_view text, int exponent, std::string_view field) {
  TALLY_ASSERT(exponent >= 0 && exponent <= Currency::kExponentMax,
               "exponent " + std::to_string(exponent));
  auto bad = [&](const std::string& why) {
    return reject(Code::bad_amount, std::string(field) + ": " + quoted(text) + " " + why);
  };
  if (text.empty()) return bad("is empty");
  bool negative = text[0] == '-';
  std::string why;
  auto d = split_decimal(negative ? text.substr(1) : text, &why);
  if (!d) return bad("is not a plain decimal amount: " + why);
  if (d->frac_digits.size() > static_cast<size_t>(exponent)) {
    size_t n = d->frac_digits.size();
    return bad("has " + std::to_string(n) + " fraction digit" + (n == 1 ? "" : "s") + ", at most " +
               std::to_string(exponent) + " allowed");
  }
  // Scale to minor units while accumulating: the digits as an integer, then padded with the
  // fraction digits the text left out. The bound is |min()| for negatives, max() otherwise.
  u128 limit = negative ? kMinMagnitude : u128(kI128Max);
  u128 m = 0;
  bool fits =
      accumulate_digits(d->int_digits, limit, &m) && accumulate_digits(d->frac_digits, limit, &m);
  u128 pad = pow10_u128(exponent - static_cast<int>(d->frac_digits.size()));
  fits = fits && !__builtin_mul_overflow(m, pad, &m) && m <= limit;
  if (!fits) {
    return reject(Code::overflow, std::string(field) + ": " + quoted(text) +
                                      " does not fit a 128-bit count of minor units");
  }
  return Amount::from_minor(with_sign(m, negative));
}

std::string format_amount(Amount a, int exponent) {
  TALLY_ASSERT(exponent >= 0 && exponent <= Currency::kExponentMax,
               "exponent " + std::to_string(exponent));
  std::string digits = u128_digits(magnitude(a.minor()));
  auto e = static_cast<size_t>(exponent);
  if (digits.size() <= e) digits.insert(0, e + 1 - digits.size(), '0');
  if (e > 0) digits.insert(digits.size() - e, 1, '.');
  return a.is_negative() ? "-" + digits : digits;
}

// ---------------------------------------------------------------------------------------------
// Rounding

std::optional<Rounding> parse_rounding(std::string_view name) {
  for (auto r : {Rounding::half_even, Rounding::half_up, Rounding::down, Rounding::up}) {
    if (name == rounding_name(r)) return r;
  }
  return std::nullopt;
}

std::string_view rounding_name(Rounding r) {
  switch (r) {
    case Rounding::half_even:
      return "half_even";
    case Rounding::half_up:
      return "half_up";
    case Rounding::down:
      return "down";
    case Rounding::up:
      return "up";
  }
  TALLY_ASSERT(false, "rounding mode " + std::to_string(static_cast<int>(r)));
}

std::optional<i128> divide_rounded(i128 num, i128 den, Rounding mode) {
  TALLY_ASSERT(den != 0, "division by zero");
  // The one quotient that does not fit, and the one division the hardware traps on.
  if (num == kI128Min && den == -1) return std::nullopt;
  i128 q = num / den;
  i128 r = num - q * den;  // not num % den: a second 128-bit division costs as much again
  if (r == 0) return q;
  // Magnitudes in unsigned arithmetic: |den| may be 2^127 and 2|r| may exceed max().
  u128 ur = magnitude(r);
  if (rounds_away(mode, ur <=> magnitude(den) - ur, (q & 1) != 0)) {
    // Cannot overflow: r != 0 means |den| >= 2, so |q| <= 2^126.
    q += ((num < 0) != (den < 0)) ? -1 : 1;
  }
  return q;
}

// ---------------------------------------------------------------------------------------------
// Rate

Result<Rate> Rate::parse(std::string_view text, std::string_view field) {
  auto bad = [&](const std::string& why) {
    return reject(Code::bad_rate, std::string(field) + ": " + quoted(text) + " " + why);
  };
  if (text.empty()) return bad("is empty");
  if (text[0] == '-' || text[0] == '+') return bad("has a sign; rates are non-negative");
  bool percent = text.back() == '%';
  std::string why;
  auto d = split_decimal(percent ? text.substr(0, text.size() - 1) : text, &why);
  if (!d) return bad("is not an exact decimal rate like \"2.9%\" or \"0.029\": " + why);
  constexpr size_t kFracMax = 9;
  if (d->frac_digits.size() > kFracMax) {
    return bad("has " + std::to_string(d->frac_digits.size()) + " fraction digits, at most " +
               std::to_string(kFracMax) + " allowed");
  }
  // numerator = digits * 10^(11 - fraction digits - (2 if percent)). The digits are bounded
  // while accumulating so that the product cannot overflow; anything above the cap is too big.
  constexpr uint64_t kCap = kNumeratorMax;
  uint64_t digits = 0;
  bool fits = accumulate_digits(d->int_digits, kCap, &digits) &&
              accumulate_digits(d->frac_digits, kCap, &digits);
  int scale = kScaleDigits - static_cast<int>(d->frac_digits.size()) - (percent ? 2 : 0);
  uint64_t n = digits;
  for (int i = 0; fits && i < scale; ++i) fits = !__builtin_mul_overflow(n, 10u, &n) && n <= kCap;
  if (!fits) return bad("is above the largest rate, 1000%");
  return Rate(static_cast<int64_t>(n));
}

std::string Rate::to_string() const {
  // A percent is 10^9 numerator units.
  constexpr uint64_t kPerPercent = kDenominator / 100;
  uint64_t m = n_ < 0 ? uint64_t(0) - uint64_t(n_) : uint64_t(n_);
  std::string s = (n_ < 0 ? "-" : "") + std::to_string(m / kPerPercent);
  if (uint64_t frac = m % kPerPercent; frac != 0) {
    std::string f = std::to_string(frac);
    f.insert(0, 9 - f.size(), '0');
    f.erase(f.find_last_not_of('0') + 1);
    s += "." + f;
  }
  return s + "%";
}

std::optional<Amount> apply_rate(Amount a, Rate r, Rounding mode) {
  // Fast path: the product fits 128 bits for every amount below about 2^87 minor units.
  i128 p;
  std::optional<i128> q;
  if (!__builtin_mul_overflow(a.minor(), i128(r.numerator()), &p)) {
    q = divide_rounded(p, Rate::kDenominator, mode);
  } else {
    q = divide_rounded_256(int256_t(a.minor()) * r.numerator(), int256_t(Rate::kDenominator), mode);
  }
  if (!q) return std::nullopt;
  return Amount::from_minor(*q);
}

// ---------------------------------------------------------------------------------------------
// Allocation

Result<std::vector<Amount>> allocate(Amount whole, std::span<const Amount> weights) {
  if (weights.empty()) return reject(Code::bad_request, "weights: no parts to allocate to");
  i128 total = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    i128 w = weights[i].minor();
    if (w < 0) {
      return reject(Code::bad_request,
                    "weights[" + std::to_string(i) + "]: negative weight " + i128_to_string(w));
    }
    if (__builtin_add_overflow(total, w, &total)) {
      return reject(Code::overflow, "weights: their sum does not fit 128 bits");
    }
  }
  if (total == 0) return reject(Code::bad_request, "weights: every weight is zero");

  // Work on |whole| so that truncation and remainders are the same for either sign; the parts
  // take whole's sign at the end.
  const u128 mag = magnitude(whole.minor());
  const auto sum = u128(total);
  const size_t n = weights.size();
  std::vector<u128> part(n);
  std::vector<u128> rem(n);  // each share's remainder, in units of 1/sum: all comparable
  u128 given = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto w = u128(weights[i].minor());
    u128 prod;
    if (!__builtin_mul_overflow(mag, w, &prod)) {
      part[i] = prod / sum;
      rem[i] = prod % sum;
    } else {
      uint256_t wide = uint256_t(mag) * w;
      part[i] = uint256_t(wide / sum).convert_to<u128>();
      rem[i] = uint256_t(wide % sum).convert_to<u128>();
    }
    given += part[i];  // sum of truncated shares <= mag: no overflow
  }
  // The left-over is sum(rem) / sum, so fewer units than parts with a non-zero remainder: a
  // zero weight never receives one.
  const u128 left = mag - given;
  TALLY_ASSERT(left < n, "left-over " + u128_digits(left) + " for " + std::to_string(n) + " parts");
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  auto larger_first = [&](size_t x, size_t y) {
    return rem[x] > rem[y] || (rem[x] == rem[y] && x < y);
  };
  auto cut = order.begin() + static_cast<std::ptrdiff_t>(left);
  std::partial_sort(order.begin(), cut, order.end(), larger_first);
  for (auto it = order.begin(); it != cut; ++it) part[*it] += 1;

  std::vector<Amount> out;
  out.reserve(n);
  for (u128 m : part) out.push_back(Amount::from_minor(with_sign(m, whole.is_negative())));
  return out;
}

}  // namespace tally
