#include "settlement/events.h"

#include "ledger/codec.h"

namespace tally {

std::string_view event_type_name(const EventBody& body) {
  static constexpr std::string_view kNames[] = {"sale",       "delivered",     "refund",
                                                "chargeback", "earning",       "pass_through",
                                                "payee_hold", "payee_details", "payout_result"};
  static_assert(std::size(kNames) == std::variant_size_v<EventBody>);
  return kNames[body.index()];
}

namespace {
void opt(Encoder& e, const std::optional<std::string>& s) {
  e.u8(s.has_value());
  if (s) e.str(*s);
}
}  // namespace

std::string canonical_event_bytes(const Event& ev) {
  Encoder e;
  e.bytes("tally.event.v1");
  e.str(event_type_name(ev.body));
  e.str(ev.header.id);
  e.i64(ev.header.at);
  e.str(ev.header.marketplace);
  auto meta = ev.header.meta;
  std::sort(meta.begin(), meta.end());
  e.u32(static_cast<uint32_t>(meta.size()));
  for (const auto& [k, v] : meta) e.str(k), e.str(v);
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, SaleEvent>) {
          e.str(b.seller), e.str(b.amount), e.str(b.currency), e.str(b.category),
              opt(e, b.affiliate);
        } else if constexpr (std::is_same_v<T, DeliveredEvent>) {
          e.str(b.sale);
        } else if constexpr (std::is_same_v<T, RefundEvent>) {
          e.str(b.sale), e.str(b.amount);
        } else if constexpr (std::is_same_v<T, ChargebackEvent>) {
          e.str(b.sale), e.str(b.amount), opt(e, b.fee);
        } else if constexpr (std::is_same_v<T, EarningEvent>) {
          e.str(b.payee), e.str(b.basis), e.str(b.currency), e.str(b.rule);
        } else if constexpr (std::is_same_v<T, PassThroughEvent>) {
          e.str(b.payer), e.str(b.vendor), e.str(b.amount), e.str(b.currency);
        } else if constexpr (std::is_same_v<T, PayeeHoldEvent>) {
          e.str(b.payee), e.u8(b.on), e.str(b.reason);
        } else if constexpr (std::is_same_v<T, PayeeDetailsEvent>) {
          e.str(b.payee), e.str(b.name), e.str(b.account), e.str(b.bic);
        } else if constexpr (std::is_same_v<T, PayoutResultEvent>) {
          e.str(b.payout), e.u8(b.paid), e.str(b.reason);
        }
      },
      ev.body);
  return e.take();
}

}  // namespace tally
