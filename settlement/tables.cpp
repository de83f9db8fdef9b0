#include "settlement/tables.h"

#include <cstring>

#include "ledger/codec.h"

namespace tally::tables {

std::vector<std::string> all() {
  return {kSales,       kHolds,      kPayees,         kPayeeDetails, kEvents,
          kPayouts,     kRuns,       kRunChunks,      kPayeeTerms,   kReserves,
          kPayoutFiles, kPayoutRefs, kNachaSequences, kBreakdowns};
}

Handles Handles::of(const Ledger& l) {
  return Handles{l.table(kSales),          l.table(kHolds),       l.table(kPayees),
                 l.table(kPayeeDetails),   l.table(kEvents),      l.table(kPayouts),
                 l.table(kRuns),           l.table(kRunChunks),   l.table(kPayeeTerms),
                 l.table(kReserves),       l.table(kPayoutFiles), l.table(kPayoutRefs),
                 l.table(kNachaSequences), l.table(kBreakdowns)};
}

bool any_with_prefix(TableReader& t, TableId table, std::string_view prefix) {
  bool found = false;
  t.scan(table, prefix, [&](std::string_view k, std::string_view) {
    found = k.substr(0, prefix.size()) == prefix;
    return false;
  });
  return found;
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

namespace {
void visit_payee_range(
    TableReader& snap, TableId table, const char* what, std::string_view mk, std::string_view payee,
    const std::function<void(std::string_view, std::string_view, const HoldValue&)>& visit) {
  std::string prefix = join({mk, payee, ""});
  snap.scan(table, prefix, [&](std::string_view k, std::string_view v) {
    if (k.substr(0, prefix.size()) != prefix) return false;
    std::string_view rest = k.substr(prefix.size());  // currency \0 origin
    size_t z = rest.find('\0');
    HoldValue hv;
    if (z == std::string_view::npos || !decode_hold(v, hv))
      throw StoreCorruption(std::string(what) + " of " + std::string(mk) + ":" +
                            std::string(payee));
    visit(rest.substr(0, z), rest.substr(z + 1), hv);
    return true;
  });
}
}  // namespace

void visit_payee_holds(
    TableReader& snap, const Handles& h, std::string_view mk, std::string_view payee,
    const std::function<void(std::string_view, std::string_view, const HoldValue&)>& visit) {
  visit_payee_range(snap, h.holds, "hold", mk, payee, visit);
}

std::string reserve_key(std::string_view mk, std::string_view payee, std::string_view currency,
                        std::string_view origin) {
  return join({mk, payee, currency, origin});
}

void visit_payee_reserves(
    TableReader& snap, const Handles& h, std::string_view mk, std::string_view payee,
    const std::function<void(std::string_view, std::string_view, const HoldValue&)>& visit) {
  visit_payee_range(snap, h.reserves, "reserve", mk, payee, visit);
}

std::vector<Hold> payee_reserves(TableReader& snap, const Handles& h, std::string_view mk,
                                 std::string_view payee) {
  std::vector<Hold> out;
  visit_payee_reserves(snap, h, mk, payee,
                       [&](std::string_view currency, std::string_view origin, const HoldValue& v) {
                         out.push_back(Hold{std::string(mk), std::string(payee),
                                            std::string(currency), std::string(origin), v});
                       });
  return out;
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

std::string encode_breakdown(const BreakdownValue& v) {
  return std::string(reinterpret_cast<const char*>(&v), sizeof v);
}
bool decode_breakdown(std::string_view s, BreakdownValue& v) {
  if (s.size() != sizeof v) return false;
  std::memcpy(&v, s.data(), sizeof v);
  return v.kind == static_cast<uint8_t>(BreakdownKind::refund) ||
         v.kind == static_cast<uint8_t>(BreakdownKind::earning);
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
// Records written before the rail details end after event_id; later ones add a version byte (2)
// and the ACH and Colombian details, each behind a presence byte.
constexpr uint8_t kDetailsV2 = 2;
std::string encode_payee_details(const PayeeDetailsValue& v) {
  Encoder e;
  e.str(v.name), e.str(v.account), e.str(v.bic), e.i64(v.at), e.str(v.event_id);
  if (!v.ach && !v.co) return e.take();
  e.u8(kDetailsV2);
  e.u8(v.ach.has_value());
  if (v.ach) {
    e.str(v.ach->routing), e.str(v.ach->account);
    e.u8(static_cast<uint8_t>(v.ach->account_type)),
        e.u8(static_cast<uint8_t>(v.ach->receiver_kind));
  }
  e.u8(v.co.has_value());
  if (v.co) {
    e.str(v.co->bank_code), e.u8(static_cast<uint8_t>(v.co->account_type));
    e.str(v.co->account_number), e.u8(static_cast<uint8_t>(v.co->document_type));
    e.str(v.co->document_number);
  }
  return e.take();
}
bool decode_payee_details(std::string_view s, PayeeDetailsValue& v) {
  Decoder d(s);
  v.name = d.str(), v.account = d.str(), v.bic = d.str(), v.at = d.i64(), v.event_id = d.str();
  v.ach.reset(), v.co.reset();
  if (d.done()) return true;
  if (d.u8() != kDetailsV2) return false;
  if (d.u8()) {
    PayeeAchDetails a;
    a.routing = d.str(), a.account = d.str();
    uint8_t type = d.u8(), kind = d.u8();
    if (type > 1 || kind > 1) return false;
    a.account_type = static_cast<AchAccountType>(type);
    a.receiver_kind = static_cast<AchReceiverKind>(kind);
    v.ach = std::move(a);
  }
  if (d.u8()) {
    PayeeCoDetails c;
    c.bank_code = d.str();
    uint8_t type = d.u8();
    c.account_number = d.str();
    uint8_t doc = d.u8();
    c.document_number = d.str();
    if (type > 1 || doc > 3) return false;
    c.account_type = static_cast<CoAccountType>(type);
    c.document_type = static_cast<CoDocumentType>(doc);
    v.co = std::move(c);
  }
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

std::string payee_terms_key(std::string_view mk, std::string_view payee, TimeNs at,
                            std::string_view event_id) {
  return payee_details_key(mk, payee, at, event_id);
}
std::string encode_payee_terms(const PayeeTermsValue& v) {
  Encoder e;
  e.u8(v.reserve.has_value());
  if (v.reserve) e.i64(v.reserve->rate_numerator), e.u32(static_cast<uint32_t>(v.reserve->days));
  e.u32(static_cast<uint32_t>(v.minimum_balance.size()));
  for (const auto& [code, minor] : v.minimum_balance) e.str(code), e.i128(minor);
  e.i64(v.at), e.str(v.event_id);
  return e.take();
}
bool decode_payee_terms(std::string_view s, PayeeTermsValue& v) {
  Decoder d(s);
  v.reserve.reset();
  if (d.u8()) {
    TermsReserve r;
    r.rate_numerator = d.i64();
    r.days = static_cast<int32_t>(d.u32());
    v.reserve = r;
  }
  v.minimum_balance.clear();
  for (uint32_t i = 0, n = d.u32(); d.ok() && i < n; ++i) {
    std::string code(d.str());
    v.minimum_balance.emplace_back(std::move(code), d.i128());
  }
  v.at = d.i64(), v.event_id = d.str();
  return d.done();
}
std::optional<PayeeTermsValue> latest_payee_terms(TableReader& snap, const Handles& h,
                                                  std::string_view mk, std::string_view payee) {
  std::string prefix = join({mk, payee, ""});
  std::optional<PayeeTermsValue> out;
  snap.scan(h.payee_terms, prefix, [&](std::string_view k, std::string_view v) {
    if (k.substr(0, prefix.size()) != prefix) return false;
    PayeeTermsValue t;
    if (!decode_payee_terms(v, t))
      throw StoreCorruption("payee terms of " + std::string(mk) + ":" + std::string(payee));
    out = std::move(t);  // keys sort by business time: the last one is current
    return true;
  });
  return out;
}

// Records written before the lifecycle end after result_event; later ones add a version byte (2)
// and the lifecycle's fields.
constexpr uint8_t kPayoutV2 = 2;
std::string encode_payout(const PayoutValue& v) {
  Encoder e;
  e.str(v.marketplace), e.str(v.payee), e.str(v.currency), e.str(v.run);
  e.i128(v.amount), e.u8(static_cast<uint8_t>(v.state)), e.str(v.result_event);
  e.u8(kPayoutV2);
  e.str(v.file), e.i64(v.sent_ns), e.str(v.trace), e.str(v.return_event);
  e.str(v.reason_code), e.str(v.reason), e.i128(v.tax);
  return e.take();
}
bool decode_payout(std::string_view s, PayoutValue& v) {
  Decoder d(s);
  v.marketplace = d.str(), v.payee = d.str(), v.currency = d.str(), v.run = d.str();
  v.amount = d.i128();
  uint8_t st = d.u8();
  v.result_event = d.str();
  if (st < 1 || st > 5) return false;
  v.state = static_cast<PayoutState>(st);
  v.file.clear(), v.sent_ns = 0, v.trace.clear(), v.return_event.clear();
  v.reason_code.clear(), v.reason.clear(), v.tax = 0;
  if (d.done()) return st <= 3;  // a record from before the lifecycle
  if (d.u8() != kPayoutV2) return false;
  v.file = d.str(), v.sent_ns = d.i64(), v.trace = d.str(), v.return_event = d.str();
  v.reason_code = d.str(), v.reason = d.str(), v.tax = d.i128();
  return d.done();
}

void visit_payouts(TableReader& t, const Handles& h, std::string_view prefix,
                   std::string_view after,
                   const std::function<bool(std::string_view id, const PayoutValue&)>& visit) {
  std::string from(prefix);
  if (!after.empty() && after > from) {
    from = std::string(after);
    from.push_back('\0');  // the first key after `after`
  }
  t.scan(h.payouts, from, [&](std::string_view k, std::string_view v) {
    if (k.substr(0, prefix.size()) != prefix) return false;
    PayoutValue pv;
    if (!decode_payout(v, pv)) throw StoreCorruption("payout record " + std::string(k));
    return visit(k, pv);
  });
}

std::string payout_file_key(std::string_view run, std::string_view format) {
  return join({run, format});
}
std::string encode_payout_file(const PayoutFileValue& v) {
  Encoder e;
  e.str(v.run), e.str(v.format), e.str(v.sha256), e.i64(v.recorded_ns);
  e.u64(v.payouts), e.u64(v.sent), e.u32(v.first_trace_sequence);
  e.u8(static_cast<uint8_t>(v.file_id_modifier)), e.str(v.odfi);
  return e.take();
}
bool decode_payout_file(std::string_view s, PayoutFileValue& v) {
  Decoder d(s);
  v.run = d.str(), v.format = d.str(), v.sha256 = d.str(), v.recorded_ns = d.i64();
  v.payouts = d.u64(), v.sent = d.u64(), v.first_trace_sequence = d.u32();
  v.file_id_modifier = static_cast<char>(d.u8()), v.odfi = d.str();
  return d.done() && v.sha256.size() == 32;
}

std::string payout_ref_key(RefKind kind, std::string_view reference) {
  std::string k(1, static_cast<char>(kind));
  k.push_back('\0');
  k.append(reference);
  return k;
}

std::string encode_nacha_sequence(const NachaSequenceValue& v) {
  Encoder e;
  e.u32(v.next), e.u64(v.files);
  return e.take();
}
bool decode_nacha_sequence(std::string_view s, NachaSequenceValue& v) {
  Decoder d(s);
  v.next = d.u32(), v.files = d.u64();
  return d.done() && v.next >= 1;
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
std::string reserve(std::string_view mk, std::string_view payee) {
  return std::string(mk) + ":payees:" + std::string(payee) + ":reserve";
}

}  // namespace tally::tables
