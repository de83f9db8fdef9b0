#include "settlement/events.h"

#include "ledger/codec.h"

namespace tally {

std::string_view event_type_name(const EventBody& body) {
  static constexpr std::string_view kNames[] = {
      "sale",         "delivered",  "refund",        "chargeback",    "earning",
      "pass_through", "payee_hold", "payee_details", "payout_result", "payee_terms"};
  static_assert(std::size(kNames) == std::variant_size_v<EventBody>);
  return kNames[body.index()];
}

std::string_view payout_result_status_name(PayoutResultStatus s) {
  switch (s) {
    case PayoutResultStatus::paid:
      return "paid";
    case PayoutResultStatus::failed:
      return "failed";
    case PayoutResultStatus::returned:
      return "returned";
  }
  TALLY_ASSERT(false, "payout result status " + std::to_string(static_cast<int>(s)));
}

std::optional<PayoutResultStatus> parse_payout_result_status(std::string_view name) {
  for (auto s :
       {PayoutResultStatus::paid, PayoutResultStatus::failed, PayoutResultStatus::returned})
    if (payout_result_status_name(s) == name) return s;
  return std::nullopt;
}

namespace {
void opt(Encoder& e, const std::optional<std::string>& s) {
  e.u8(s.has_value());
  if (s) e.str(*s);
}

void header(Encoder& e, const EventHeader& h) {
  e.str(h.id);
  e.i64(h.at);
  e.str(h.marketplace);
  auto meta = h.meta;
  std::sort(meta.begin(), meta.end());
  e.u32(static_cast<uint32_t>(meta.size()));
  for (const auto& [k, v] : meta) e.str(k), e.str(v);
}
}  // namespace

std::string canonical_event_bytes(const Event& ev) {
  Encoder e;
  e.bytes("tally.event.v1");
  e.str(event_type_name(ev.body));
  header(e, ev.header);
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
          if (b.ach || b.co) {  // added later: covered only when given
            e.bytes("rails");
            e.u8(b.ach.has_value());
            if (b.ach)
              e.str(b.ach->routing), e.str(b.ach->account), e.str(b.ach->account_type),
                  e.str(b.ach->receiver_kind);
            e.u8(b.co.has_value());
            if (b.co)
              e.str(b.co->bank_code), e.str(b.co->account_type), e.str(b.co->account_number),
                  e.str(b.co->document_type), e.str(b.co->document_number);
          }
        } else if constexpr (std::is_same_v<T, PayeeTermsEvent>) {
          // The same bytes as before payee_terms was an EventBody alternative (then posted by
          // Rules::payee_terms_op alone), so a terms event posted then stays a duplicate.
          e.str(b.payee);
          e.u8(b.reserve.has_value());
          if (b.reserve) e.str(b.reserve->rate), e.i64(b.reserve->days);
          e.u32(static_cast<uint32_t>(b.minimum_balance.size()));
          for (const auto& [code, amount] : b.minimum_balance) e.str(code), e.str(amount);
        } else if constexpr (std::is_same_v<T, PayoutResultEvent>) {
          e.str(b.payout), e.u8(b.paid), e.str(b.reason);
          if (b.returned || !b.reason_code.empty()) {  // added later: covered only when given
            e.bytes("status2");
            e.u8(static_cast<uint8_t>(b.status())), e.str(b.reason_code);
          }
        }
      },
      ev.body);
  return e.take();
}

}  // namespace tally
