// The neutral form's names and the format detection. The parsers: bank_report_iso.cpp (pain.002,
// camt.054) and bank_report_nacha.cpp (NACHA returns).
#include "settlement/bank_report.h"

namespace tally {

std::string_view report_format_name(ReportFormat f) {
  switch (f) {
    case ReportFormat::pain002:
      return "pain.002.001.03";
    case ReportFormat::camt054:
      return "camt.054.001.02";
    case ReportFormat::nacha_return:
      return "nacha-return";
  }
  TALLY_ASSERT(false, "report format " + std::to_string(static_cast<int>(f)));
}

std::string_view report_outcome_name(ReportOutcome o) {
  switch (o) {
    case ReportOutcome::accepted:
      return "accepted";
    case ReportOutcome::pending:
      return "pending";
    case ReportOutcome::paid:
      return "paid";
    case ReportOutcome::rejected:
      return "rejected";
    case ReportOutcome::returned:
      return "returned";
  }
  TALLY_ASSERT(false, "report outcome " + std::to_string(static_cast<int>(o)));
}

std::string_view reference_kind_name(ReferenceKind k) {
  switch (k) {
    case ReferenceKind::end_to_end_id:
      return "end_to_end_id";
    case ReferenceKind::payment_information_id:
      return "payment_information_id";
    case ReferenceKind::message_id:
      return "message_id";
    case ReferenceKind::trace_number:
      return "trace_number";
  }
  TALLY_ASSERT(false, "reference kind " + std::to_string(static_cast<int>(k)));
}

Result<BankReport> parse_bank_report(std::string_view bytes) {
  if (bytes.size() > bank_report_bytes_max)
    return reject(Code::bad_request,
                  "bank report: " + std::to_string(bytes.size()) + " bytes, more than the " +
                      std::to_string(bank_report_bytes_max >> 20) + " MiB a report may have");
  if (bytes.empty()) return reject(Code::bad_request, "bank report: the file is empty");
  std::string_view rest = bytes;
  if (rest.substr(0, 3) == "\xEF\xBB\xBF") rest.remove_prefix(3);
  size_t first = rest.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && rest[first] == '<') return parse_iso20022_report(bytes);
  if (rest.size() >= 40 && rest[0] == '1' && rest.substr(34, 3) == "094")
    return parse_nacha_return(rest);
  return reject(Code::bad_request,
                "bank report: line 1: neither XML (ISO 20022 pain.002 / camt.054) nor a NACHA "
                "file (a file header record: '1', record size 094)");
}

}  // namespace tally
