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
#include "settlement/payee_rails.h"

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
  // The national rails' details (settlement/payee_rails.h), each optional: a marketplace with an
  // `ach` originator pays USD only to payees with `ach`, one with `co_dispersion` pays COP only to
  // payees with `co` (docs/settlement.md, "Runs": no_details otherwise).
  std::optional<PayeeAchFields> ach{};
  std::optional<PayeeCoFields> co{};
};

// What the bank did with a payout (SPEC section 8, the payout lifecycle: settlement/
// payout_lifecycle.h): `paid` (the money left: in transit -> cash), `failed` (rejected before
// settling: back to the payee's available, payee on hold) or `returned` (sent back after it was
// paid: cash -> the payee's available, payee on hold). A result the payout already has is a
// duplicate (ok, nothing posted); one that contradicts it (failed after paid) is refused
// (payout_already_settled), naming both states.
enum class PayoutResultStatus : uint8_t { paid, failed, returned };
std::string_view payout_result_status_name(PayoutResultStatus s);  // "paid", "failed", "returned"
std::optional<PayoutResultStatus> parse_payout_result_status(std::string_view name);

struct PayoutResultEvent {
  std::string payout;
  // paid (true) or failed (false): the event's status unless `returned` is set. (The first
  // form of this event had these three fields; status() is the one to read.)
  bool paid = true;
  std::string reason;         // the reason in words ("AC04 closed account number"), may be empty
  bool returned = false;      // status returned (overrides `paid`)
  std::string reason_code{};  // the bank's code ("AC04", "R03"), may be empty: 0..35 printable
                              // ASCII characters without spaces
  PayoutResultStatus status() const {
    return returned ? PayoutResultStatus::returned
                    : (paid ? PayoutResultStatus::paid : PayoutResultStatus::failed);
  }
  static PayoutResultEvent of(std::string payout, PayoutResultStatus s, std::string reason = {},
                              std::string reason_code = {}) {
    return PayoutResultEvent{std::move(payout), s == PayoutResultStatus::paid, std::move(reason),
                             s == PayoutResultStatus::returned, std::move(reason_code)};
  }
};

// payee_terms {payee, reserve?, minimum_balance?} (finance's, like payee_details): the payee's own
// reserve and kept balance in place of the marketplace's (SPEC section 8, "Reserves"), kept with
// history; the latest by business time is current and replaces earlier ones whole. It posts no
// entry. Its fields are validated by the rules (Rules::event_op), not by the JSON or wire forms.
struct PayeeTermsEvent {
  struct Reserve {
    std::string rate;  // an exact rate, 0..100% ("10%"; "0%": no reserve for this payee)
    int64_t days = 0;  // 1..3650 (checked by the rules; any integer the JSON or wire form holds)
  };
  std::string payee;
  std::optional<Reserve> reserve{};  // absent: the marketplace's reserve
  // currency code -> amount kept on available at each payout (>= 0); currencies not listed keep
  // the marketplace's minimum_balance.
  std::vector<std::pair<std::string, std::string>> minimum_balance{};
};

using EventBody = std::variant<SaleEvent, DeliveredEvent, RefundEvent, ChargebackEvent,
                               EarningEvent, PassThroughEvent, PayeeHoldEvent, PayeeDetailsEvent,
                               PayoutResultEvent, PayeeTermsEvent>;

struct Event {
  EventHeader header;
  EventBody body;
};

// "sale", "delivered", "refund", "chargeback", "earning", "pass_through", "payee_hold",
// "payee_details", "payout_result", "payee_terms".
std::string_view event_type_name(const EventBody& body);

// Canonical bytes of an event (type, header, body): the idempotency digest covers them. Fields
// added after an event type's first form are covered only when set, so an event posted before
// they existed keeps its digest (and a retry of it stays a duplicate).
std::string canonical_event_bytes(const Event& e);

}  // namespace tally
