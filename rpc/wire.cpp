// Conversions between tally values and rpc/tally.capnp (contract in rpc/wire.h).
#include "rpc/wire.h"
#include "rpc/wire_values.h"

#include <type_traits>

namespace tally::wire {

static_assert(static_cast<uint16_t>(ErrorCode::LINKED_CHAIN_OPEN) ==
                  static_cast<uint16_t>(kCodeLast),
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

std::vector<std::pair<std::string, std::string>> decode_meta(capnp::List<KeyValue>::Reader r) {
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
  set_currency(b.initCurrency(), c);
  set_amount(b.initAmount(), a);
}

Result<CurrencyTotal> get_money(CurrencyAmount::Reader r, std::string_view field) {
  auto c = get_currency(r.getCurrency(), std::string(field) + ".currency");
  if (!c) return c.error();
  return CurrencyTotal{*c, get_amount(r.getAmount())};
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
