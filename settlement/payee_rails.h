// A payee's bank details for the national payout rails (SPEC section 8): what a NACHA credit
// (settlement/ach.h) and a Colombian dispersion line (settlement/co_dispersion.h) need beyond the
// payee directory's name, account and BIC. The payee directory (payee_details events) keeps them
// with its history, and a settlement run copies them into each payout line it makes, so that a
// run's files always carry the details the run paid to.
//
// parse_payee_ach / parse_payee_co check the text of a payee_details event and give the stored
// form; every problem names its field ("ach.routing: ...").
//
// Thread safety: plain values and pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ledger/status.h"
#include "settlement/ach.h"
#include "settlement/co_dispersion.h"

namespace tally {

// US ACH: where a NACHA credit goes.
struct PayeeAchDetails {
  std::string routing;  // the RDFI's ABA routing number: 9 digits, check digit verified
  std::string account;  // 1..17 printable ASCII characters without spaces
  AchAccountType account_type = AchAccountType::checking;       // transaction code 22 or 32
  AchReceiverKind receiver_kind = AchReceiverKind::individual;  // SEC code PPD or CCD
  friend bool operator==(const PayeeAchDetails&, const PayeeAchDetails&) = default;
};

// Colombia: where a dispersion line goes, and whose document it is.
struct PayeeCoDetails {
  std::string bank_code;  // co_bank_code_ok: 3 or 4 digits, not all zero
  CoAccountType account_type = CoAccountType::savings;
  std::string account_number;  // 4..20 digits
  CoDocumentType document_type = CoDocumentType::cc;
  std::string document_number;  // as given and checked (a NIT with its check digit: "900123456-8")
  friend bool operator==(const PayeeCoDetails&, const PayeeCoDetails&) = default;
};

// The text form, as a payee_details event carries it (JSON "ach": {...}, "co": {...}).
struct PayeeAchFields {
  std::string routing;
  std::string account;
  std::string account_type;   // "checking" | "savings"
  std::string receiver_kind;  // "individual" | "company"
};
struct PayeeCoFields {
  std::string bank_code;
  std::string account_type;  // "savings" | "checking"
  std::string account_number;
  std::string document_type;    // "NIT" | "CC" | "CE" | "PA"
  std::string document_number;  // a NIT with its check digit ("900123456-8" or "900.123.456-8")
};

// Limits of the fields, as the file writers take them.
inline constexpr size_t payee_ach_account_chars_max = 17;
inline constexpr size_t payee_co_account_digits_min = 4;
inline constexpr size_t payee_co_account_digits_max = 20;

// bad_request naming the field ("ach.routing: ... check digit"): every problem, one per line.
Result<PayeeAchDetails> parse_payee_ach(const PayeeAchFields& f);
Result<PayeeCoDetails> parse_payee_co(const PayeeCoFields& f);

}  // namespace tally
