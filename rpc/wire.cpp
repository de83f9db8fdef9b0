// Conversions between tally values and rpc/tally.capnp (contract in rpc/wire.h).
#include "rpc/wire.h"
#include "rpc/wire_values.h"

#include <type_traits>

namespace tally::wire {

static_assert(static_cast<uint16_t>(ErrorCode::NOT_LEADER) == static_cast<uint16_t>(kCodeLast),
              "ErrorCode must mirror tally::Code value for value, up to the last");
static_assert(static_cast<uint16_t>(ErrorCode::RUN_IN_PROGRESS) ==
              static_cast<uint16_t>(Code::run_in_progress));
static_assert(static_cast<uint16_t>(ErrorCode::NOT_ALLOWED) ==
              static_cast<uint16_t>(Code::not_allowed));
static_assert(static_cast<uint16_t>(ErrorCode::INTERNAL) == static_cast<uint16_t>(Code::internal));

using AccountKind_ = ::tally::wire::AccountKind;
using Side_ = ::tally::wire::Side;

constexpr uint16_t kErrorCodeCount = static_cast<uint16_t>(kCodeLast) + 1;

// Business times the ledger accepts (years 1900..2200, as in parse_rfc3339).
const TimeNs kTimeMin = days_from_civil(1900, 1, 1) * kNsPerDay;
const TimeNs kTimeMaxExclusive = days_from_civil(2201, 1, 1) * kNsPerDay;

Result<TimeNs> get_time(int64_t ns, std::string_view field) {
  if (ns < kTimeMin || ns >= kTimeMaxExclusive)
    return reject(Code::bad_time, std::string(field) + ": " + std::to_string(ns) +
                                      " ns is outside years 1900..2200");
  return TimeNs{ns};
}

Result<TimeNs> get_time_text(bool has, capnp::Text::Reader r, std::string_view field) {
  if (!has || r.size() == 0)
    return reject(Code::bad_time,
                  std::string(field) + ": missing: an RFC 3339 time with offset is required");
  return parse_rfc3339(std::string_view(r.begin(), r.size()), field);
}

Result<std::optional<TimeNs>> get_opt_time_text(bool has, capnp::Text::Reader r,
                                                std::string_view field) {
  if (!has) return std::optional<TimeNs>();
  auto t = get_time_text(true, r, field);
  if (!t) return t.error();
  return std::optional<TimeNs>(*t);
}

std::string_view echoed_id(std::string_view id) {
  return id.substr(0, limits::entry_id_bytes_max);
}

std::string at(std::string_view field, size_t i) {
  return std::string(field) + "[" + std::to_string(i) + "]";
}

// --- values -------------------------------------------------------------------------------------

void set_amount(Amount128::Builder b, Amount a) {
  u128 u = static_cast<u128>(a.minor());
  b.setHi(static_cast<int64_t>(static_cast<uint64_t>(u >> 64)));
  b.setLo(static_cast<uint64_t>(u));
}

Amount get_amount(Amount128::Reader r) {
  u128 u = (static_cast<u128>(static_cast<uint64_t>(r.getHi())) << 64) | r.getLo();
  return Amount::from_minor(static_cast<i128>(u));
}

void set_currency(Currency::Builder b, const tally::Currency& c) {
  b.setCode(text_of(c.code()));
  b.setExponent(static_cast<uint8_t>(c.exponent()));
}

Result<tally::Currency> get_currency(Currency::Reader r, std::string_view field) {
  auto code = r.getCode();
  auto c = tally::Currency::make(std::string_view(code.begin(), code.size()), r.getExponent());
  if (!c)
    return reject(Code::bad_currency,
                  std::string(field) + ": malformed currency \"" +
                      std::string(code.begin(), std::min<size_t>(code.size(), 40)) +
                      "\" with exponent " + std::to_string(r.getExponent()));
  return *c;
}

ErrorCode to_wire(Code c) {
  return static_cast<ErrorCode>(static_cast<uint16_t>(c));
}

Code from_wire(ErrorCode c) {
  auto v = static_cast<uint16_t>(c);
  return v < kErrorCodeCount ? static_cast<Code>(v) : Code::internal;
}

std::string text(capnp::Text::Reader r) {
  return std::string(r.begin(), r.size());
}

AccountKind_ kind_to_wire(tally::AccountKind k) {
  switch (k) {
    case tally::AccountKind::asset:
      return AccountKind_::ASSET;
    case tally::AccountKind::liability:
      return AccountKind_::LIABILITY;
    case tally::AccountKind::equity:
      return AccountKind_::EQUITY;
    case tally::AccountKind::revenue:
      return AccountKind_::REVENUE;
    case tally::AccountKind::expense:
      return AccountKind_::EXPENSE;
  }
  return AccountKind_::ASSET;
}

Result<tally::AccountKind> kind_from_wire(AccountKind_ k, std::string_view field) {
  switch (k) {
    case AccountKind_::ASSET:
      return tally::AccountKind::asset;
    case AccountKind_::LIABILITY:
      return tally::AccountKind::liability;
    case AccountKind_::EQUITY:
      return tally::AccountKind::equity;
    case AccountKind_::REVENUE:
      return tally::AccountKind::revenue;
    case AccountKind_::EXPENSE:
      return tally::AccountKind::expense;
  }
  return reject(Code::bad_request, std::string(field) + ": unknown account kind " +
                                       std::to_string(static_cast<uint16_t>(k)));
}

Side_ side_to_wire(tally::Side s) {
  return s == tally::Side::debit ? Side_::DEBIT : Side_::CREDIT;
}

Result<tally::Side> side_from_wire(Side_ s, std::string_view field) {
  switch (s) {
    case Side_::DEBIT:
      return tally::Side::debit;
    case Side_::CREDIT:
      return tally::Side::credit;
  }
  return reject(Code::bad_request,
                std::string(field) + ": unknown side " + std::to_string(static_cast<uint16_t>(s)));
}

void encode_meta(capnp::List<KeyValue>::Builder b,
                 const std::vector<std::pair<std::string, std::string>>& meta) {
  for (size_t i = 0; i < meta.size(); ++i) {
    b[i].setKey(text_of(meta[i].first));
    b[i].setValue(text_of(meta[i].second));
  }
}

Result<std::vector<std::pair<std::string, std::string>>> decode_meta(
    capnp::List<KeyValue>::Reader r, std::string_view field) {
  // Sized before anything is copied: a list of empty structs costs its sender a few bytes
  // whatever its length, so its length alone must not decide what the reader allocates. Keys
  // are non-empty, so no valid meta has more entries than bytes.
  const std::string f(field);
  if (r.size() > limits::meta_bytes_max)
    return reject(Code::bad_meta, f + ": " + std::to_string(r.size()) + " keys, at most " +
                                      std::to_string(limits::meta_bytes_max) +
                                      " bytes of keys and values allowed");
  size_t bytes = 0;
  for (auto kv : r) bytes += kv.getKey().size() + kv.getValue().size();
  if (bytes > limits::meta_bytes_max)
    return reject(Code::bad_meta, f + ": " + std::to_string(bytes) +
                                      " bytes of keys and values, at most " +
                                      std::to_string(limits::meta_bytes_max) + " allowed");
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(r.size());
  for (auto kv : r) out.emplace_back(text(kv.getKey()), text(kv.getValue()));
  return out;
}

// Optional text: a null pointer is absent.
std::optional<std::string> opt_text(bool has, capnp::Text::Reader r) {
  if (!has) return std::nullopt;
  return text(r);
}

void set_money(CurrencyAmount::Builder b, const tally::Currency& c, Amount a) {
  b.setCurrency(text_of(c.code()));
  b.setAmount(text_of(format_amount(a, c)));
}

Result<CurrencyTotal> get_money(CurrencyAmount::Reader r, std::string_view field) {
  return money_from_text(r.getCurrency(), r.getAmount(), field);
}

Result<CurrencyTotal> money_from_text(capnp::Text::Reader code, capnp::Text::Reader amount,
                                      std::string_view field) {
  std::string_view a(amount.begin(), amount.size());
  auto dot = a.find('.');
  size_t exponent = dot == std::string_view::npos ? 0 : a.size() - dot - 1;
  std::string_view cv(code.begin(), code.size());
  auto c = tally::Currency::make(cv, static_cast<int>(std::min<size_t>(exponent, 255)));
  if (!c)
    return reject(Code::bad_currency, std::string(field) + ".currency: malformed currency \"" +
                                          std::string(cv.substr(0, 40)) + "\" with " +
                                          std::to_string(exponent) + " fraction digits");
  auto v = parse_amount(a, *c, std::string(field) + ".amount");
  if (!v) return v.error();
  return CurrencyTotal{*c, *v};
}

Result<Amount> amount_in(const tally::Currency& c, capnp::Text::Reader amount,
                         std::string_view field) {
  return parse_amount(std::string_view(amount.begin(), amount.size()), c, field);
}

Result<tally::Currency> find_code(capnp::Text::Reader code, const FindCurrency& find,
                                  std::string_view field) {
  std::string_view cv(code.begin(), code.size());
  if (!valid_currency_code(cv))
    return reject(Code::bad_currency, std::string(field) + ": malformed currency code \"" +
                                          std::string(cv.substr(0, 40)) + "\"");
  auto c = find(cv);
  if (!c)
    return reject(Code::bad_currency,
                  std::string(field) + ": unknown currency \"" + std::string(cv) + "\"");
  return *c;
}

Digest get_digest(capnp::Data::Reader d) {
  Digest out{};
  if (d.size() == out.size()) std::copy(d.begin(), d.end(), out.begin());
  return out;
}
capnp::Data::Reader data_of(const Digest& d) {
  return capnp::Data::Reader(d.data(), d.size());
}

}  // namespace tally::wire
