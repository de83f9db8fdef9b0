// Colombian payouts (SPEC section 8): identity documents with DIAN's NIT check digit, bank
// account details, and the dispersion CSV a marketplace uploads to its Colombian bank to pay its
// payees in COP.
//
// payout_co_dispersion is a pure function of its input: lines are sorted by payout id before
// writing, so the same input gives the same bytes whatever order the lines arrive in. Every
// problem is reported at once, one per line, in one Rejection whose code is the first problem's.
// docs/payout-rails.md ("Colombia") gives the columns and every decision.
//
// This file knows nothing of runs, payees or the store: the caller turns its payouts and the
// payee directory's details into CoDispersionLines.
//
// Thread safety: pure functions; call them from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ledger/money.h"
#include "ledger/status.h"
#include "settlement/bank_ids.h"
#include "settlement/calendar.h"

namespace tally {

// nit_check_digit (DIAN's check digit of a NIT): settlement/bank_ids.h.

// A NIT as written with its check digit: the number, '-', the check digit ("890903938-8"); the
// number may carry '.' between groups of three digits ("890.903.938-8"). The number has 3..15
// digits and does not start with 0.
struct Nit {
  std::string number;  // digits only, without the check digit
  int check_digit = 0;
  friend bool operator==(const Nit&, const Nit&) = default;
};
// The NIT in `text`, or nullopt when it is not of that form or its check digit is wrong.
std::optional<Nit> parse_nit(std::string_view text);
inline bool nit_ok(std::string_view text) {
  return parse_nit(text).has_value();
}

enum class CoDocumentType : uint8_t {
  nit,  // NIT, tax id (companies; people who have one), with its check digit
  cc,   // cédula de ciudadanía: 3..10 digits, not starting with 0
  ce,   // cédula de extranjería: 3..10 digits, not starting with 0
  pa,   // passport: 3..20 upper-case ASCII letters and digits
};
// "NIT", "CC", "CE", "PA": the abbreviations Colombian banks and DIAN use.
std::string_view co_document_type_name(CoDocumentType t);
std::optional<CoDocumentType> parse_co_document_type(std::string_view name);

// A document number of that type in its checked form (for a NIT: the number without the check
// digit, and the check digit). bad_request naming `field` when the form is wrong or a NIT's check
// digit does not hold.
struct CoDocument {
  CoDocumentType type = CoDocumentType::cc;
  std::string number;
  std::optional<int> check_digit;  // NIT only
  friend bool operator==(const CoDocument&, const CoDocument&) = default;
};
Result<CoDocument> parse_co_document(CoDocumentType type, std::string_view number,
                                     std::string_view field);

enum class CoAccountType : uint8_t { savings, checking };  // cuenta de ahorros / corriente
std::string_view co_account_type_name(CoAccountType t);    // "savings", "checking"
std::optional<CoAccountType> parse_co_account_type(std::string_view name);

// A Colombian bank code as banks' dispersion formats take it: 3 or 4 ASCII digits, not all zero
// (for example the 4-digit codes of the ACH Colombia network). Only the form is checked: tally
// keeps no list of banks.
bool co_bank_code_ok(std::string_view code);

// What the file says about its run.
struct CoDispersionInfo {
  Date pay_date;  // the date the bank is asked to pay on, on every line
};

// One payout to a Colombian bank account.
struct CoDispersionLine {
  std::string payout_id;  // unique within the file
  Currency currency;      // COP (exponent 2) only
  Amount amount;          // > 0
  std::string name;       // the account holder: non-empty UTF-8 without control characters
  std::string bank_code;  // co_bank_code_ok
  CoAccountType account_type = CoAccountType::savings;
  std::string account_number;  // 4..20 ASCII digits
  CoDocumentType document_type = CoDocumentType::cc;
  std::string document_number;  // parse_co_document's input (a NIT with its check digit)
};

// The dispersion CSV: header
//   payout,pay_date,bank_code,account_type,account_number,document_type,document_number,
//   check_digit,name,amount_cop
// (one line), then one line per payout sorted by payout id (bytewise), lines ending in "\n".
// pay_date is YYYY-MM-DD; account_type "savings" | "checking"; document_type NIT | CC | CE | PA;
// document_number without a NIT's check digit, which has its own column (empty for the other
// types); amount_cop with exactly 2 decimals ("1500000.00"). Fields are quoted (RFC 4180) only
// when they contain a comma, a double quote, CR or LF. No lines gives the header alone.
//
// Rejected, each line that has it: an empty or duplicate payout id, a bad bank code, account
// number, document or name (bad_request); a currency other than COP with exponent 2
// (bad_currency); an amount <= 0 (bad_amount).
Result<std::string> payout_co_dispersion(const CoDispersionInfo& info,
                                         std::span<const CoDispersionLine> lines);

}  // namespace tally
