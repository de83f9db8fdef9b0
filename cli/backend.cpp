// The names of results.h's enums and Backend's one default.
#include "cli/backend.h"

namespace tally {

std::string_view failure_kind_name(Failure::Kind k) {
  switch (k) {
    case Failure::Kind::cannot_connect:
      return "cannot_connect";
    case Failure::Kind::not_allowed:
      return "not_allowed";
    case Failure::Kind::disconnected:
      return "disconnected";
    case Failure::Kind::server_error:
      return "server_error";
  }
  return "server_error";
}

std::optional<ExportFormat> parse_export_format(std::string_view name) {
  if (name == "hledger") return ExportFormat::hledger;
  if (name == "csv") return ExportFormat::csv;
  return std::nullopt;
}

std::string_view export_format_name(ExportFormat f) {
  return f == ExportFormat::hledger ? "hledger" : "csv";
}

std::string_view carry_reason_name(CarryReason r) {
  switch (r) {
    case CarryReason::below_minimum:
      return "below_minimum";
    case CarryReason::negative:
      return "negative";
    case CarryReason::on_hold:
      return "on_hold";
    case CarryReason::no_details:
      return "no_details";
    case CarryReason::account_closed:
      return "account_closed";
  }
  TALLY_ASSERT(false, "carry reason " + std::to_string(static_cast<int>(r)));
}

std::string_view run_state_result_name(RunStateResult s) {
  return s == RunStateResult::in_progress ? "in_progress" : "complete";
}

std::optional<PayoutFormat> parse_payout_format(std::string_view name) {
  if (name == "csv") return PayoutFormat::csv;
  if (name == "pain001") return PayoutFormat::pain001;
  if (name == "nacha") return PayoutFormat::nacha;
  if (name == "co-dispersion") return PayoutFormat::co_dispersion;
  return std::nullopt;
}

std::string_view payout_format_name(PayoutFormat f) {
  switch (f) {
    case PayoutFormat::csv:
      return "csv";
    case PayoutFormat::pain001:
      return "pain001";
    case PayoutFormat::nacha:
      return "nacha";
    case PayoutFormat::co_dispersion:
      return "co-dispersion";
  }
  TALLY_ASSERT(false, "payout format " + std::to_string(static_cast<int>(f)));
}

std::optional<Currency> Backend::find_currency(std::string_view code) {
  static const CurrencyTable builtins;
  return builtins.find(code);
}

}  // namespace tally
