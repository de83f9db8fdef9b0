#include "settlement/tables.h"

#include <cstring>

#include "ledger/codec.h"

namespace tally::tables {

std::vector<std::string> all() {
  return {kSales, kHolds, kPayees, kPayeeDetails, kEvents, kPayouts, kRuns, kRunChunks};
}

Handles Handles::of(const Ledger& l) {
  return Handles{l.table(kSales),  l.table(kHolds),   l.table(kPayees), l.table(kPayeeDetails),
                 l.table(kEvents), l.table(kPayouts), l.table(kRuns),   l.table(kRunChunks)};
}

namespace {
std::string join(std::initializer_list<std::string_view> parts) {
  std::string k;
  bool first = true;
  for (auto p : parts) {
    if (!first) k.push_back('\0');
    k.append(p);
    first = false;
  }
  return k;
}
}  // namespace

std::string hold_key(std::string_view mk, std::string_view payee, std::string_view currency,
                     std::string_view origin) {
  return join({mk, payee, currency, origin});
}

std::string encode_hold(const HoldValue& v) {
  return std::string(reinterpret_cast<const char*>(&v), sizeof v);
}
bool decode_hold(std::string_view s, HoldValue& v) {
  if (s.size() != sizeof v) return false;
  std::memcpy(&v, s.data(), sizeof v);
  return true;
}

void visit_payee_holds(
    TableReader& snap, const Handles& h, std::string_view mk, std::string_view payee,
    const std::function<void(std::string_view, std::string_view, const HoldValue&)>& visit) {
  std::string prefix = join({mk, payee, ""});
  snap.scan(h.holds, prefix, [&](std::string_view k, std::string_view v) {
    if (k.substr(0, prefix.size()) != prefix) return false;
    std::string_view rest = k.substr(prefix.size());  // currency \0 origin
    size_t z = rest.find('\0');
    HoldValue hv;
    if (z == std::string_view::npos || !decode_hold(v, hv))
      throw StoreCorruption("hold of " + std::string(mk) + ":" + std::string(payee));
    visit(rest.substr(0, z), rest.substr(z + 1), hv);
    return true;
  });
}

std::vector<Hold> payee_holds(TableReader& snap, const Handles& h, std::string_view mk,
                              std::string_view payee) {
  std::vector<Hold> out;
  visit_payee_holds(snap, h, mk, payee,
                    [&](std::string_view currency, std::string_view origin, const HoldValue& v) {
                      out.push_back(Hold{std::string(mk), std::string(payee), std::string(currency),
                                         std::string(origin), v});
                    });
  return out;
}

std::string encode_sale(const SaleValue& v) {
  Encoder e;
  e.str(v.marketplace), e.str(v.seller), e.str(v.affiliate), e.str(v.currency);
  e.i128(v.amount), e.i128(v.commission), e.i128(v.affiliate_share), e.i128(v.fee);
  e.u8(v.fee_on_payee);
  e.i128(v.refunded);
  e.i64(v.at), e.i64(v.delivered);
  return e.take();
}
bool decode_sale(std::string_view s, SaleValue& v) {
  Decoder d(s);
  v.marketplace = d.str(), v.seller = d.str(), v.affiliate = d.str(), v.currency = d.str();
  v.amount = d.i128(), v.commission = d.i128(), v.affiliate_share = d.i128(), v.fee = d.i128();
  v.fee_on_payee = d.u8();
  v.refunded = d.i128();
  v.at = d.i64(), v.delivered = d.i64();
  return d.done();
}

std::string payee_key(std::string_view mk, std::string_view payee) {
  return join({mk, payee});
}

std::string encode_payee(const PayeeValue& v) {
  Encoder e;
  e.u8(v.on_hold), e.str(v.reason), e.i64(v.since);
  return e.take();
}
bool decode_payee(std::string_view s, PayeeValue& v) {
  Decoder d(s);
  v.on_hold = d.u8(), v.reason = d.str(), v.since = d.i64();
  return d.done();
}

std::string payee_details_key(std::string_view mk, std::string_view payee, TimeNs at,
                              std::string_view event_id) {
  std::string k = join({mk, payee, ""});
  put_be64_signed(k, at);
  k.append(event_id);
  return k;
}
std::string encode_payee_details(const PayeeDetailsValue& v) {
  Encoder e;
  e.str(v.name), e.str(v.account), e.str(v.bic), e.i64(v.at), e.str(v.event_id);
  return e.take();
}
bool decode_payee_details(std::string_view s, PayeeDetailsValue& v) {
  Decoder d(s);
  v.name = d.str(), v.account = d.str(), v.bic = d.str(), v.at = d.i64(), v.event_id = d.str();
  return d.done();
}

std::optional<PayeeDetailsValue> latest_payee_details(TableReader& snap, const Handles& h,
                                                      std::string_view mk, std::string_view payee) {
  std::string prefix = join({mk, payee, ""});
  std::optional<PayeeDetailsValue> out;
  snap.scan(h.payee_details, prefix, [&](std::string_view k, std::string_view v) {
    if (k.substr(0, prefix.size()) != prefix) return false;
    PayeeDetailsValue d;
    if (!decode_payee_details(v, d))
      throw StoreCorruption("payee details of " + std::string(mk) + ":" + std::string(payee));
    out = std::move(d);  // keys sort by business time: the last one is current
    return true;
  });
  return out;
}

std::optional<PayeeValue> payee_state(TableReader& snap, const Handles& h, std::string_view mk,
                                      std::string_view payee) {
  auto v = snap.get(h.payees, payee_key(mk, payee));
  if (!v) return std::nullopt;
  PayeeValue p;
  if (!decode_payee(*v, p))
    throw StoreCorruption("payee record of " + std::string(mk) + ":" + std::string(payee));
  return p;
}

std::string encode_payout(const PayoutValue& v) {
  Encoder e;
  e.str(v.marketplace), e.str(v.payee), e.str(v.currency), e.str(v.run);
  e.i128(v.amount), e.u8(static_cast<uint8_t>(v.state)), e.str(v.result_event);
  return e.take();
}
bool decode_payout(std::string_view s, PayoutValue& v) {
  Decoder d(s);
  v.marketplace = d.str(), v.payee = d.str(), v.currency = d.str(), v.run = d.str();
  v.amount = d.i128();
  uint8_t st = d.u8();
  v.result_event = d.str();
  if (st < 1 || st > 3) return false;
  v.state = static_cast<PayoutState>(st);
  return d.done();
}

std::string run_key(std::string_view mk, std::string_view pay_date) {
  return join({mk, pay_date});
}

std::string run_chunk_key(std::string_view mk, std::string_view pay_date, uint64_t chunk) {
  std::string k = join({mk, pay_date, ""});
  put_be64(k, chunk);
  return k;
}

std::string cash(std::string_view mk) {
  return std::string(mk) + ":cash";
}
std::string bank_fees(std::string_view mk) {
  return std::string(mk) + ":expense:bank_fees";
}
std::string commission(std::string_view mk) {
  return std::string(mk) + ":revenue:commission";
}
std::string fee_recharge(std::string_view mk) {
  return std::string(mk) + ":revenue:fee_recharge";
}
std::string payee_earnings(std::string_view mk) {
  return std::string(mk) + ":expense:payee_earnings";
}
std::string pending(std::string_view mk, std::string_view payee) {
  return std::string(mk) + ":payees:" + std::string(payee) + ":pending";
}
std::string available(std::string_view mk, std::string_view payee) {
  return std::string(mk) + ":payees:" + std::string(payee) + ":available";
}
std::string in_transit(std::string_view mk) {
  return std::string(mk) + ":payouts:in_transit";
}
std::string payable(std::string_view mk, std::string_view vendor) {
  return std::string(mk) + ":payables:" + std::string(vendor);
}

}  // namespace tally::tables
