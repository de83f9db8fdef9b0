// A store with three marketplaces for the payout lifecycle, rails, reserves and tax tests
// (lifecycle_test.cpp, rails_test.cpp, reserve_test.cpp): `plain` (EUR, simple numbers), `shopper`
// (USD and COP, the quincena, GMF on COP, NACHA and dispersion originators) and `shop` (EUR,
// Mondays, a 10% reserve for 90 days).
#pragma once

#include <string>

#include "common/test_util.h"
#include "settlement/market_verify.h"
#include "settlement/payout_export.h"
#include "settlement/payout_lifecycle.h"
#include "settlement/report_import.h"
#include "settlement/run.h"

namespace tally::testing {

inline constexpr const char* kPayoutsConfig = R"toml(
# Sellers keep 90% of a sale, no bank fee; funds released a day after the sale; paid on Mondays.
[marketplaces.plain]
currencies = ["EUR"]
timezone = "UTC"
commission_rate = { product = "10%" }
fee_rate = "0%"
fee_fixed = "0"
fee_payer = "payee"
hold_days = 1
hold_from = "sale"
schedule = { weekly = "monday" }
minimum_payout = "0.01"
payout_account = { name = "Plain SAS", iban = "FR7630006000011234567890189", bic = "AGRIFRPPXXX" }

[marketplaces.shopper]
currencies = ["USD", "COP"]
timezone = "America/Bogota"
rounding = "half_up"
commission_rate = { groceries = "10%" }
fee_rate = "0%"
fee_fixed = "0"
fee_payer = "platform"
hold_days = 1
hold_from = "sale"
schedule = { monthly_days = [15, "last"] }
minimum_payout = { USD = "10.00", COP = "40000.00" }
payout_account = { name = "Shopper Colombia S.A.S.", iban = "20012345678", bic = "COLOCOBMXXX" }
payout_tax = { rate = "0.4%", account = "expense:gmf", currency = "COP" }

[marketplaces.shopper.ach]
company_name = "SHOPPER US"
company_id = "1812345678"
odfi_routing = "021000021"
immediate_destination = "021000021"
immediate_destination_name = "JPMORGAN CHASE"
immediate_origin = "1812345678"
immediate_origin_name = "SHOPPER US LLC"
entry_description = "PAYOUT"

[marketplaces.shopper.co_dispersion]
company_nit = "900123456-8"
company_name = "Shopper Colombia S.A.S."
bank_code = "1007"
account_type = "checking"
account = "20012345678"

# Sellers keep 90%, no bank fee; released 14 days after the sale; Mondays; 10% kept back 90 days.
[marketplaces.shop]
currencies = ["EUR"]
timezone = "Europe/Paris"
rounding = "half_even"
commission_rate = { product = "10%" }
fee_rate = "0%"
fee_fixed = "0"
fee_payer = "payee"
hold_days = 14
hold_from = "sale"
schedule = { weekly = "monday" }
minimum_payout = "10.00"
payout_account = { name = "Shop SAS", iban = "FR7630006000011234567890189", bic = "AGRIFRPPXXX" }
reserve = { rate = "10%", days = 90 }
)toml";

inline constexpr const char* kPayeeIban = "FR7630006000011234567890189";

inline TimeNs at(const char* rfc3339) {
  auto t = parse_rfc3339(rfc3339, "at");
  EXPECT_TRUE(t.ok()) << rfc3339;
  return t.ok() ? *t : 0;
}

class PayoutsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = load_config(kPayoutsConfig, CurrencyTable());
    ASSERT_TRUE(c.ok()) << c.error().message;
    config_ = std::move(*c);
    LedgerOptions o;
    o.extra_tables = tables::all();
    o.clock = [] { return TimeNs(1'798'761'600) * kNsPerSecond; };  // 2027-01-01
    ledger_ = open_ledger(dir_.sub("d"), o);
    rules_ = std::make_unique<Rules>(config_, *ledger_);
    settlement_ = std::make_unique<Settlement>(*rules_);
  }

  ItemResult submit(std::unique_ptr<WriteOp> op) {
    Batch b;
    b.push_back(std::move(op));
    return ledger_->submit_and_wait(std::move(b))[0];
  }
  // Posts an event; expects it ok (or duplicate) unless told otherwise.
  ItemResult post(const std::string& mk, std::string id, TimeNs t, EventBody body,
                  bool expect_ok = true) {
    auto r =
        submit(rules_->event_op(Event{EventHeader{std::move(id), t, mk, {}}, std::move(body)}));
    if (expect_ok) {
      EXPECT_TRUE(r.ok()) << r.id << ": " << r.message;
    }
    return r;
  }
  ItemResult terms(const std::string& mk, std::string id, TimeNs t, PayeeTermsEvent body,
                   bool expect_ok = true) {
    auto r = submit(rules_->payee_terms_op(EventHeader{std::move(id), t, mk, {}}, std::move(body)));
    if (expect_ok) {
      EXPECT_TRUE(r.ok()) << r.id << ": " << r.message;
    }
    return r;
  }
  void details(const std::string& mk, const std::string& payee,
               TimeNs t = at("2026-01-01T00:00:00Z"), std::optional<PayeeAchFields> ach = {},
               std::optional<PayeeCoFields> co = {}) {
    PayeeDetailsEvent d{payee, "Payee " + payee, kPayeeIban, "AGRIFRPPXXX"};
    d.ach = std::move(ach);
    d.co = std::move(co);
    post(mk, "pd-" + payee + "-" + std::to_string(t), t, std::move(d));
  }
  SettlementRun settle(const std::string& mk, const char* date, SettleOptions o = {}) {
    auto r = settlement_->settle(mk, date, o);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : SettlementRun{};
  }
  // The normal-side balance, as text in the account's currency ("" when never opened).
  std::string bal(const std::string& account, const std::string& code) {
    auto snap = ledger_->snapshot();
    if (!snap->account(account)) return "";
    auto b = snap->balance(account, code);
    EXPECT_TRUE(b.ok()) << account;
    return b.ok() ? format_amount(*b, cur(code)) : "?";
  }
  std::optional<tables::PayoutValue> payout(const std::string& id) {
    auto snap = ledger_->snapshot();
    return load_payout(*snap, rules_->tables(), id);
  }
  std::optional<tables::PayeeValue> standing(const std::string& mk, const std::string& payee) {
    auto snap = ledger_->snapshot();
    return tables::payee_state(*snap, rules_->tables(), mk, payee);
  }
  // The trial balance is level, the journal verifies, and so do the marketplace tables.
  void expect_books_whole() {
    auto snap = ledger_->snapshot();
    for (auto& row : snap->trial_balance())
      EXPECT_EQ(row.debits, row.credits) << row.currency.code();
    auto v = snap->verify();
    EXPECT_TRUE(v.ok) << v.problem;
    auto m = verify_marketplace_tables(*snap, rules_->tables(), config_);
    EXPECT_TRUE(m.ok) << m.problem;
  }

  TempDir dir_;
  Config config_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<Rules> rules_;
  std::unique_ptr<Settlement> settlement_;
};

}  // namespace tally::testing
