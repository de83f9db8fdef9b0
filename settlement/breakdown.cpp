// Breakdowns: the JSON `detail` of sales, refunds, chargebacks and earnings, for fresh posts and
// their duplicates alike.
#include "settlement/breakdown.h"
#include "ledger/json_writer.h"

#include <algorithm>

namespace tally {

namespace {

using tables::SaleValue;

std::string money(i128 minor, const Currency& c) {
  return json_string(format_amount(Amount::from_minor(minor), c));
}

}  // namespace

// A sale's split, from its sale record.
std::string sale_detail(const SaleValue& sv, const Currency& c) {
  const i128 seller = sv.amount - sv.commission - (sv.fee_on_payee ? sv.fee : 0);
  return "{\"commission\":" + money(sv.commission, c) +
         ",\"affiliate\":" + money(sv.affiliate_share, c) + ",\"fee\":" + money(sv.fee, c) +
         ",\"seller\":" + money(seller, c) + ",\"currency\":" + json_string(c.code()) + "}";
}

// A refund's (or chargeback's) split of `amount` into the seller's, the platform's and the
// affiliate's shares: the allocation of the cumulative refunded `total` (this one included) minus
// the allocation of what was refunded before, so any sequence of partial refunds adding up to the
// sale reverses every part exactly. `total` <= the sale's amount, `amount` <= `total`.
std::array<i128, 3> refund_split(const SaleValue& sale, i128 total, i128 amount) {
  const std::array<Amount, 3> weights = {Amount::from_minor(sale.amount - sale.commission),
                                         Amount::from_minor(sale.commission - sale.affiliate_share),
                                         Amount::from_minor(sale.affiliate_share)};
  auto now = allocate(Amount::from_minor(total), weights);
  auto before = allocate(Amount::from_minor(total - amount), weights);
  TALLY_ASSERT(now.ok() && before.ok(), "weights of a recorded sale sum to its amount > 0");
  std::array<i128, 3> share;
  for (size_t i = 0; i < 3; ++i) share[i] = (*now)[i].minor() - (*before)[i].minor();
  TALLY_ASSERT(
      share[0] >= 0 && share[1] >= 0 && share[2] >= 0 && share[0] + share[1] + share[2] == amount,
      "refund split sums to the refund");
  return share;
}

std::string refund_detail(const std::array<i128, 3>& share, i128 total, const Currency& c) {
  return "{\"seller\":" + money(share[0], c) + ",\"platform\":" + money(share[1], c) +
         ",\"affiliate\":" + money(share[2], c) + ",\"refunded_total\":" + money(total, c) +
         ",\"currency\":" + json_string(c.code()) + "}";
}

// What an earning pays: the rule's rate applied to the basis, or its minimum when larger.
Amount earning_paid(const Amount& earned, const Amount& minimum) {
  return std::max(earned, minimum);
}

std::string earning_detail(const Amount& earned, const Amount& minimum, const Currency& c) {
  return "{\"earned\":" + json_string(format_amount(earned, c)) +
         ",\"minimum\":" + json_string(format_amount(minimum, c)) +
         ",\"paid\":" + json_string(format_amount(earning_paid(earned, minimum), c)) +
         ",\"currency\":" + json_string(c.code()) + "}";
}

void put_breakdown(WriteTxn& t, const tables::Handles& h, const std::string& event_id,
                   tables::BreakdownKind kind, i128 first, i128 second) {
  tables::BreakdownValue v{};
  v.first = first, v.second = second, v.kind = static_cast<uint8_t>(kind);
  t.put(h.breakdowns, event_id, tables::encode_breakdown(v));
}

std::string original_detail(WriteTxn& t, const tables::Handles& h, const Event& ev) {
  auto sale_of = [&](const std::string& id) -> std::optional<SaleValue> {
    auto v = t.get(h.sales, id);
    SaleValue sv;
    if (!v) return std::nullopt;
    if (!tables::decode_sale(*v, sv)) throw StoreCorruption("sale " + id);
    return sv;
  };
  auto breakdown = [&](tables::BreakdownKind kind) -> std::optional<tables::BreakdownValue> {
    auto v = t.get(h.breakdowns, ev.header.id);
    if (!v) return std::nullopt;
    tables::BreakdownValue bv;
    if (!tables::decode_breakdown(*v, bv) || bv.kind != static_cast<uint8_t>(kind))
      throw StoreCorruption("breakdown of " + ev.header.id);
    return bv;
  };
  auto refund = [&](const std::string& sale_id) -> std::string {
    auto bv = breakdown(tables::BreakdownKind::refund);
    auto sale = bv ? sale_of(sale_id) : std::nullopt;
    auto c = sale ? t.currency(sale->currency) : std::nullopt;
    if (!c) return {};
    // What refund_split requires; a row that breaks it is a damaged store, not our bug.
    if (bv->second <= 0 || bv->second > bv->first || bv->first > sale->amount)
      throw StoreCorruption("breakdown of " + ev.header.id + " does not fit sale " + sale_id);
    return refund_detail(refund_split(*sale, bv->first, bv->second), bv->first, *c);
  };
  if (std::holds_alternative<SaleEvent>(ev.body)) {
    auto sale = sale_of(ev.header.id);
    auto c = sale ? t.currency(sale->currency) : std::nullopt;
    return c ? sale_detail(*sale, *c) : std::string();
  }
  if (const auto* r = std::get_if<RefundEvent>(&ev.body)) return refund(r->sale);
  if (const auto* r = std::get_if<ChargebackEvent>(&ev.body)) return refund(r->sale);
  if (const auto* e = std::get_if<EarningEvent>(&ev.body)) {
    auto bv = breakdown(tables::BreakdownKind::earning);
    auto c = bv ? t.currency(e->currency) : std::nullopt;
    if (!c) return {};
    return earning_detail(Amount::from_minor(bv->first), Amount::from_minor(bv->second), *c);
  }
  return {};
}

}  // namespace tally
