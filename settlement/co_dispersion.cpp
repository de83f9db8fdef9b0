#include "settlement/co_dispersion.h"

#include <algorithm>
#include <array>
#include <set>
#include <vector>

#include "settlement/bank_text.h"
#include "settlement/config.h"

namespace tally {

namespace {

constexpr size_t kNitDigitsMin = 3, kNitDigitsMax = 15;  // nit_check_digit's weights cover 15
constexpr size_t kCedulaDigitsMin = 3, kCedulaDigitsMax = 10;
constexpr size_t kPassportCharsMin = 3, kPassportCharsMax = 20;
constexpr size_t kAccountDigitsMin = 4, kAccountDigitsMax = 20;

bool upper_alnum(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); });
}

}  // namespace

namespace {

// The form of a NIT with its check digit, the digit not yet checked: the number (dots dropped)
// and the check digit as written. nullopt when the form is wrong.
std::optional<Nit> nit_form(std::string_view text) {
  size_t dash = text.rfind('-');
  if (dash == std::string_view::npos || dash + 2 != text.size()) return std::nullopt;
  std::string_view body = text.substr(0, dash);
  char dv = text[dash + 1];
  if (dv < '0' || dv > '9') return std::nullopt;
  std::string number;
  if (body.find('.') == std::string_view::npos) {
    number = std::string(body);
  } else {
    // Dotted groups: 1..3 digits, then groups of exactly 3.
    size_t at = 0;
    for (bool first = true;; first = false) {
      size_t dot = body.find('.', at);
      std::string_view group =
          body.substr(at, dot == std::string_view::npos ? body.npos : dot - at);
      if (!all_digits(group) || group.size() > 3 || (!first && group.size() != 3))
        return std::nullopt;
      number += group;
      if (dot == std::string_view::npos) break;
      at = dot + 1;
    }
  }
  if (number.size() < kNitDigitsMin || number.size() > kNitDigitsMax || !all_digits(number) ||
      number[0] == '0')
    return std::nullopt;
  return Nit{std::move(number), dv - '0'};
}

}  // namespace

std::optional<Nit> parse_nit(std::string_view text) {
  std::optional<Nit> nit = nit_form(text);
  if (!nit || nit_check_digit(nit->number) != nit->check_digit) return std::nullopt;
  return nit;
}

std::string_view co_document_type_name(CoDocumentType t) {
  switch (t) {
    case CoDocumentType::nit:
      return "NIT";
    case CoDocumentType::cc:
      return "CC";
    case CoDocumentType::ce:
      return "CE";
    case CoDocumentType::pa:
      return "PA";
  }
  TALLY_ASSERT(false, "document type " + std::to_string(static_cast<int>(t)));
}

std::optional<CoDocumentType> parse_co_document_type(std::string_view name) {
  for (CoDocumentType t :
       {CoDocumentType::nit, CoDocumentType::cc, CoDocumentType::ce, CoDocumentType::pa})
    if (co_document_type_name(t) == name) return t;
  return std::nullopt;
}

Result<CoDocument> parse_co_document(CoDocumentType type, std::string_view number,
                                     std::string_view field) {
  std::string f = std::string(field) + ": " + std::string(co_document_type_name(type)) + " " +
                  in_quotes(number);
  if (type == CoDocumentType::nit) {
    std::optional<Nit> nit = nit_form(number);
    if (!nit)
      return reject(Code::bad_request, f + " is not a NIT with its check digit (3..15 digits, "
                                           "'-', the check digit: \"890903938-8\")");
    int dv = *nit_check_digit(nit->number);  // 3..15 digits here
    if (dv != nit->check_digit)
      return reject(Code::bad_request,
                    f + " has the wrong check digit (DIAN's is " + std::to_string(dv) + ")");
    return CoDocument{type, nit->number, dv};
  }
  if (type == CoDocumentType::cc || type == CoDocumentType::ce) {
    if (all_digits(number) && number.size() >= kCedulaDigitsMin &&
        number.size() <= kCedulaDigitsMax && number[0] != '0')
      return CoDocument{type, std::string(number), std::nullopt};
    return reject(Code::bad_request, f + " must be 3..10 digits, not starting with 0");
  }
  // A passport.
  if (number.size() >= kPassportCharsMin && number.size() <= kPassportCharsMax &&
      upper_alnum(number))
    return CoDocument{type, std::string(number), std::nullopt};
  return reject(Code::bad_request, f + " must be 3..20 upper-case letters and digits");
}

std::string_view co_account_type_name(CoAccountType t) {
  return t == CoAccountType::savings ? "savings" : "checking";
}

std::optional<CoAccountType> parse_co_account_type(std::string_view name) {
  for (CoAccountType t : {CoAccountType::savings, CoAccountType::checking})
    if (co_account_type_name(t) == name) return t;
  return std::nullopt;
}

bool co_bank_code_ok(std::string_view code) {
  return (code.size() == 3 || code.size() == 4) && all_digits(code) &&
         code.find_first_not_of('0') != std::string_view::npos;
}

Result<std::string> payout_co_dispersion(const CoDispersionInfo& info,
                                         std::span<const CoDispersionLine> lines) {
  Problems problems;
  std::set<std::string_view> seen;
  std::vector<CoDocument> documents(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const CoDispersionLine& l = lines[i];
    std::string who = "payout " + in_quotes(l.payout_id);
    if (l.payout_id.empty())
      problems.add(Code::bad_request, "payout \"\": empty payout id");
    else if (!seen.insert(l.payout_id).second)
      problems.add(Code::bad_request, who + ": duplicate payout id");
    if (l.currency.code() != "COP" || l.currency.exponent() != 2)
      problems.add(Code::bad_currency, who + ": currency " + in_quotes(l.currency.code()) +
                                           " cannot be paid by Colombian dispersion (COP only)");
    if (!l.amount.is_positive())
      problems.add(Code::bad_amount,
                   who + ": amount " + format_amount(l.amount, l.currency) + " is not positive");
    std::optional<size_t> len = bank_text_length(l.name);
    if (!len || *len == 0)
      problems.add(Code::bad_request,
                   who + ": name must be non-empty UTF-8 without control characters");
    if (!co_bank_code_ok(l.bank_code))
      problems.add(Code::bad_request, who + ": bank code " + in_quotes(l.bank_code) +
                                          " must be 3 or 4 digits, not all zero");
    if (!all_digits(l.account_number) || l.account_number.size() < kAccountDigitsMin ||
        l.account_number.size() > kAccountDigitsMax)
      problems.add(Code::bad_request, who + ": account number " + in_quotes(l.account_number) +
                                          " must be 4..20 digits");
    Result<CoDocument> d = parse_co_document(l.document_type, l.document_number, who + " document");
    if (d.ok())
      documents[i] = std::move(*d);
    else
      problems.add(d.error().code, d.error().message);
  }
  if (!problems.empty()) return problems.rejection();

  std::vector<size_t> order(lines.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return lines[a].payout_id < lines[b].payout_id; });
  std::string out =
      "payout,pay_date,bank_code,account_type,account_number,document_type,document_number,"
      "check_digit,name,amount_cop\n";
  std::string pay_date = format_date(info.pay_date);
  for (size_t i : order) {
    const CoDispersionLine& l = lines[i];
    const CoDocument& d = documents[i];
    csv_field(out, l.payout_id);
    out += ',' + pay_date + ',' + l.bank_code + ',';
    out += co_account_type_name(l.account_type);
    out += ',' + l.account_number + ',';
    out += co_document_type_name(d.type);
    out += ',' + d.number + ',';
    if (d.check_digit) out += char('0' + *d.check_digit);
    out += ',';
    csv_field(out, l.name);
    out += ',' + format_amount(l.amount, l.currency) + '\n';
  }
  return out;
}

}  // namespace tally
