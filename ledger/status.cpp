#include "ledger/status.h"

#include <array>

namespace tally {

namespace {
constexpr std::array kCodeNames = {
    "ok",
    "bad_request",
    "bad_amount",
    "bad_currency",
    "bad_rate",
    "overflow",
    "unbalanced",
    "unknown_account",
    "currency_not_allowed",
    "account_closed",
    "overdraft",
    "too_many_postings",
    "id_conflict",
    "bad_id",
    "bad_account_name",
    "bad_time",
    "bad_meta",
    "account_exists",
    "period_closed",
    "linked_failed",
    "batch_too_large",
    "unknown_marketplace",
    "unknown_sale",
    "refund_exceeds_sale",
    "fees_exceed_amount",
    "affiliate_exceeds_commission",
    "unknown_rule",
    "unknown_payee",
    "not_allowed",
    "store_full",
    "internal",
    "unknown_entry",
    "unknown_run",
    "bad_date",
    "not_a_pay_date",
    "unknown_payout",
    "payout_already_settled",
    "run_in_progress",
    "interrupted",
    "linked_chain_open",
    "unknown_token",
    "not_leader",
};
static_assert(kCodeNames.size() == static_cast<size_t>(kCodeLast) + 1, "every Code has a name");
}  // namespace

std::string_view code_name(Code code) {
  auto i = static_cast<size_t>(code);
  TALLY_ASSERT(i < kCodeNames.size(), "code " + std::to_string(i));
  return kCodeNames[i];
}

std::optional<Code> code_from_name(std::string_view name) {
  for (size_t i = 0; i < kCodeNames.size(); ++i) {
    if (name == kCodeNames[i]) return static_cast<Code>(i);
  }
  return std::nullopt;
}

std::string Status::to_string() const {
  static constexpr std::array kKinds = {
      "ok", "io_error", "store_full", "corruption", "version_mismatch", "invalid", "busy"};
  std::string s = kKinds[static_cast<size_t>(kind_)];
  if (!message_.empty()) s += ": " + message_;
  return s;
}

void assert_fail(const char* expr, const char* file, int line, const std::string& why) {
  std::fprintf(stderr, "tally: assertion failed at %s:%d: %s%s%s\n", file, line, expr,
               why.empty() ? "" : ": ", why.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace tally
