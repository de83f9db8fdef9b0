#include "settlement/payee_rails.h"

#include "settlement/bank_text.h"

namespace tally {

namespace {
std::string quoted(std::string_view s) {
  return in_quotes(s.substr(0, 64));
}
}  // namespace

Result<PayeeAchDetails> parse_payee_ach(const PayeeAchFields& f) {
  Problems problems;
  PayeeAchDetails d;
  if (!aba_routing_ok(f.routing))
    problems.add(Code::bad_request, "ach.routing: " + quoted(f.routing) +
                                        " is not an ABA routing number (9 digits whose check "
                                        "digit holds)");
  if (f.account.empty() || f.account.size() > payee_ach_account_chars_max ||
      !printable_ascii(f.account) || f.account.find(' ') != std::string::npos)
    problems.add(Code::bad_request, "ach.account: " + quoted(f.account) +
                                        " must be 1..17 printable ASCII characters without spaces");
  if (auto t = parse_ach_account_type(f.account_type))
    d.account_type = *t;
  else
    problems.add(Code::bad_request,
                 "ach.account_type: " + quoted(f.account_type) + " must be checking or savings");
  if (auto k = parse_ach_receiver_kind(f.receiver_kind))
    d.receiver_kind = *k;
  else
    problems.add(Code::bad_request, "ach.receiver_kind: " + quoted(f.receiver_kind) +
                                        " must be individual (PPD) or company (CCD)");
  if (!problems.empty()) return problems.rejection();
  d.routing = f.routing;
  d.account = f.account;
  return d;
}

Result<PayeeCoDetails> parse_payee_co(const PayeeCoFields& f) {
  Problems problems;
  PayeeCoDetails d;
  if (!co_bank_code_ok(f.bank_code))
    problems.add(Code::bad_request,
                 "co.bank_code: " + quoted(f.bank_code) + " must be 3 or 4 digits, not all zero");
  if (auto t = parse_co_account_type(f.account_type))
    d.account_type = *t;
  else
    problems.add(Code::bad_request,
                 "co.account_type: " + quoted(f.account_type) + " must be savings or checking");
  if (!all_digits(f.account_number) || f.account_number.size() < payee_co_account_digits_min ||
      f.account_number.size() > payee_co_account_digits_max)
    problems.add(Code::bad_request,
                 "co.account_number: " + quoted(f.account_number) + " must be 4..20 digits");
  if (auto t = parse_co_document_type(f.document_type)) {
    d.document_type = *t;
    if (f.document_number.size() > 64) {
      problems.add(Code::bad_request, "co.document_number: at most 64 bytes");
    } else {
      Result<CoDocument> doc = parse_co_document(*t, f.document_number, "co.document_number");
      if (!doc) problems.add(doc.error().code, doc.error().message);
    }
  } else {
    problems.add(Code::bad_request,
                 "co.document_type: " + quoted(f.document_type) + " must be NIT, CC, CE or PA");
  }
  if (!problems.empty()) return problems.rejection();
  d.bank_code = f.bank_code;
  d.account_number = f.account_number;
  d.document_number = f.document_number;
  return d;
}

}  // namespace tally
