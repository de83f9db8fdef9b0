// Marketplace events (SPEC section 3) as plain values. Amounts stay decimal text until the
// writer knows their currency (a refund's currency is its sale's), so parsing never guesses.
//
// Thread safety: plain values.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "ledger/entry.h"
#include "ledger/time.h"

namespace tally {

struct EventHeader {
  std::string id;           // 1..128 printable ASCII; the id of the entry the event posts
  TimeNs at = 0;            // business time
  std::string marketplace;  // a configured marketplace
  std::vector<std::pair<std::string, std::string>> meta;
};

struct SaleEvent {
  std::string seller;
  std::string amount;  // decimal text, > 0, in `currency`
  std::string currency;
  std::string category;
  std::optional<std::string> affiliate;
};
struct DeliveredEvent {
  std::string sale;
};
struct RefundEvent {
  std::string sale;
  std::string amount;  // in the sale's currency
};
struct ChargebackEvent {
  std::string sale;
  std::string amount;
  std::optional<std::string> fee;  // in the sale's currency, debited to the seller's available
};
struct EarningEvent {
  std::string payee;
  std::string basis;  // decimal text, >= 0
  std::string currency;
  std::string rule;
};
struct PassThroughEvent {
  std::string payer;  // a payee of the marketplace
  std::string vendor;
  std::string amount;
  std::string currency;
};
struct PayeeHoldEvent {
  std::string payee;
  bool on = true;
  std::string reason;
};
struct PayeeDetailsEvent {
  std::string payee;
  std::string name;
  std::string account;  // IBAN or another bank account id
  std::string bic;      // may be empty
};
struct PayoutResultEvent {
  std::string payout;
  bool paid = true;  // paid | failed
  std::string reason;
};

using EventBody =
    std::variant<SaleEvent, DeliveredEvent, RefundEvent, ChargebackEvent, EarningEvent,
                 PassThroughEvent, PayeeHoldEvent, PayeeDetailsEvent, PayoutResultEvent>;

struct Event {
  EventHeader header;
  EventBody body;
};

// "sale", "delivered", "refund", "chargeback", "earning", "pass_through", "payee_hold",
// "payee_details", "payout_result".
std::string_view event_type_name(const EventBody& body);

// Canonical bytes of an event (type, header, body): the idempotency digest covers them.
std::string canonical_event_bytes(const Event& e);

}  // namespace tally
