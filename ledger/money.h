// Exact money: currencies, amounts in integer minor units, exact decimal rates, named rounding
// modes and largest-remainder allocation (SPEC section 1).
//
// No floating point anywhere in this file or its implementation. Amount is a signed 128-bit
// count of minor units; every operation that could overflow is checked and reports overflow as
// std::nullopt (or Code::overflow), never wraps and never saturates.
//
// Thread safety: every type here is an immutable-after-construction value, except CurrencyTable,
// whose const methods may be called concurrently but whose declare() needs exclusive access.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace tally {

using i128 = __int128;
using u128 = unsigned __int128;

// Decimal text of a 128-bit integer ("-170141183460469231731687303715884105728").
std::string i128_to_string(i128 v);

// ---------------------------------------------------------------------------------------------
// Currency: a code ([A-Z][A-Z0-9]{2,11}) and its minor-unit exponent (0..18).

class Currency {
 public:
  static constexpr size_t kCodeBytesMax = 12;
  static constexpr int kExponentMax = 18;

  constexpr Currency() = default;  // the empty currency: code() == "", not valid for postings
  // Validates the code's form and the exponent's range; nullopt when either is off.
  static std::optional<Currency> make(std::string_view code, int exponent);

  std::string_view code() const { return std::string_view(code_.data(), len_); }
  int exponent() const { return exponent_; }
  bool empty() const { return len_ == 0; }
  // The code padded with NULs to 12 bytes: a fixed-width key part that sorts like the code.
  const std::array<char, kCodeBytesMax>& padded_code() const { return code_; }

  friend bool operator==(const Currency& a, const Currency& b) {
    return a.code_ == b.code_ && a.exponent_ == b.exponent_;
  }
  friend std::strong_ordering operator<=>(const Currency& a, const Currency& b) {
    return a.code_ <=> b.code_;
  }

 private:
  std::array<char, kCodeBytesMax> code_{};
  uint8_t len_ = 0;
  uint8_t exponent_ = 0;
};

// Is `code` of the form [A-Z][A-Z0-9]{2,11}?
bool valid_currency_code(std::string_view code);

// The currencies a ledger knows: the ISO 4217 built-ins of SPEC section 1 plus declared assets.
class CurrencyTable {
 public:
  // Built in: USD EUR GBP CHF CAD MXN BRL COP (2), JPY KRW CLP (0), BHD KWD TND (3), CLF (4).
  CurrencyTable();
  // Declares an asset. Re-declaring an existing code with the same exponent is a no-op; with a
  // different one it is rejected (bad_currency), as is a malformed code or exponent.
  Result<Currency> declare(std::string_view code, int exponent);
  std::optional<Currency> find(std::string_view code) const;
  // find(), or a bad_currency rejection naming `field` ("postings[1].currency: unknown currency
  // \"XYZ\"").
  Result<Currency> lookup(std::string_view code, std::string_view field) const;

 private:
  std::map<std::string, Currency, std::less<>> by_code_;
};

// ---------------------------------------------------------------------------------------------
// Amount: signed count of minor units.

class Amount {
 public:
  constexpr Amount() = default;
  static constexpr Amount from_minor(i128 minor) { return Amount(minor); }
  static constexpr Amount max() { return Amount(~(i128(1) << 127)); }
  static constexpr Amount min() { return Amount(i128(1) << 127); }
  constexpr i128 minor() const { return v_; }
  constexpr bool is_zero() const { return v_ == 0; }
  constexpr bool is_negative() const { return v_ < 0; }
  constexpr bool is_positive() const { return v_ > 0; }
  friend constexpr bool operator==(Amount a, Amount b) = default;
  friend constexpr std::strong_ordering operator<=>(Amount a, Amount b) { return a.v_ <=> b.v_; }

 private:
  constexpr explicit Amount(i128 v) : v_(v) {}
  i128 v_ = 0;
};
static_assert(sizeof(Amount) == 16);

// Checked arithmetic: nullopt on overflow. Defined here so that they inline: they sit on every
// balance update, and as out-of-line calls a sum of amounts ran over 10x slower
// (bench/money_bench.cpp, BM_Sum_*).
inline std::optional<Amount> checked_add(Amount a, Amount b) {
  i128 r;
  if (__builtin_add_overflow(a.minor(), b.minor(), &r)) return std::nullopt;
  return Amount::from_minor(r);
}
inline std::optional<Amount> checked_sub(Amount a, Amount b) {
  i128 r;
  if (__builtin_sub_overflow(a.minor(), b.minor(), &r)) return std::nullopt;
  return Amount::from_minor(r);
}
inline std::optional<Amount> checked_neg(Amount a) {  // -min() overflows
  return checked_sub(Amount(), a);
}
inline std::optional<Amount> checked_mul(Amount a, i128 factor) {
  i128 r;
  if (__builtin_mul_overflow(a.minor(), factor, &r)) return std::nullopt;
  return Amount::from_minor(r);
}

// Parses SPEC section 1 text: optional '-', digits, optional '.' and 1..exponent digits. No '+',
// exponent notation, separators, spaces, leading '.', trailing '.', or empty text. Leading zeros
// are allowed ("007.50"). "-0" parses as zero. Rejections are bad_amount (or overflow when the
// value does not fit 128 bits) with a message naming `field` and quoting the text.
Result<Amount> parse_amount(std::string_view text, int exponent, std::string_view field);
inline Result<Amount> parse_amount(std::string_view text, const Currency& c,
                                   std::string_view field) {
  return parse_amount(text, c.exponent(), field);
}
// Prints exactly `exponent` fraction digits ("12.50", "1000" for exponent 0, "-0.05").
std::string format_amount(Amount a, int exponent);
inline std::string format_amount(Amount a, const Currency& c) {
  return format_amount(a, c.exponent());
}

// ---------------------------------------------------------------------------------------------
// Rounding modes (SPEC section 1). Names are config values.

enum class Rounding : uint8_t {
  half_even,  // ties to the even neighbour (default)
  half_up,    // ties away from zero
  down,       // toward zero (truncate)
  up,         // away from zero
};
std::optional<Rounding> parse_rounding(std::string_view name);
std::string_view rounding_name(Rounding r);

// Exact quotient num/den rounded by `mode`. den must be non-zero (a caller bug otherwise).
// nullopt when the rounded result does not fit 128 bits.
std::optional<i128> divide_rounded(i128 num, i128 den, Rounding mode);

// ---------------------------------------------------------------------------------------------
// Rate: an exact non-negative decimal fraction, stored as numerator / 10^11 (so that a percent
// with 9 fraction digits, "0.123456789%", and a plain fraction with 9 digits are both exact).

class Rate {
 public:
  static constexpr int kScaleDigits = 11;
  static constexpr int64_t kDenominator = 100'000'000'000;  // 10^11
  // Largest accepted rate: 1000% (commission and fee rates above it are surely typos, and the
  // bound keeps amount * rate inside 256-bit intermediates with room to spare).
  static constexpr int64_t kNumeratorMax = 10 * kDenominator;

  constexpr Rate() = default;  // zero
  static constexpr Rate from_numerator(int64_t n) { return Rate(n); }
  // "10%", "2.9%", "0.029", "0", "1". At most 9 fraction digits in the number as written (before
  // or after the percent is removed), no sign, no exponent, no spaces. Rejections are bad_rate,
  // naming `field`.
  static Result<Rate> parse(std::string_view text, std::string_view field);
  constexpr int64_t numerator() const { return n_; }
  bool is_zero() const { return n_ == 0; }
  // Canonical text as a percent with no trailing zeros: "10%", "2.9%", "0.000000001%".
  std::string to_string() const;
  friend constexpr bool operator==(Rate a, Rate b) = default;
  friend constexpr std::strong_ordering operator<=>(Rate a, Rate b) { return a.n_ <=> b.n_; }

 private:
  constexpr explicit Rate(int64_t n) : n_(n) {}
  int64_t n_ = 0;
};

// round(a * r) with the named mode; nullopt when the result does not fit 128 bits.
std::optional<Amount> apply_rate(Amount a, Rate r, Rounding mode);

// ---------------------------------------------------------------------------------------------
// Largest-remainder allocation (SPEC section 1): splits `whole` into weights.size() parts in
// proportion to `weights` (each >= 0, at least one > 0, sum fits 128 bits). Each part is the
// truncated exact share of |whole|; the left-over minor units go one each to the parts with the
// largest remainders, ties to the earlier part; then every part takes whole's sign. The parts
// always sum exactly to `whole`. Rejections: bad_request for empty, negative or all-zero
// weights; overflow if the weights' sum overflows.
Result<std::vector<Amount>> allocate(Amount whole, std::span<const Amount> weights);

}  // namespace tally
