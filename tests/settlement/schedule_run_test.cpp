// Settlement runs on the weekly and monthly_days schedules: run.cpp's checks (is it a pay date,
// which is the next, has its cut-off passed) through the calendar of every form.
#include <gtest/gtest.h>

#include "common/test_util.h"
#include "settlement/run.h"

namespace tally {
namespace {

using namespace tally::testing;

// A Colombian marketplace paid on the quincena, and a French one paid on Mondays.
constexpr const char* kConfig = R"toml(
[marketplaces.quincena]
currencies = ["COP"]
timezone = "America/Bogota"
commission_rate = { groceries = "12%" }
fee_rate = "3.49%"
fee_fixed = "900.00"
fee_payer = "platform"
hold_days = 3
hold_from = "sale"
schedule = { monthly_days = [15, "last"] }
minimum_payout = "40000.00"
holidays = ["2026-06-15"]
payout_account = { name = "Shopper Colombia S.A.S.", iban = "20012345678", bic = "COLOCOBMXXX" }

[marketplaces.mondays]
currencies = ["EUR"]
timezone = "Europe/Paris"
commission_rate = { product = "10%" }
fee_rate = "2.9%"
fee_fixed = "0.25"
fee_payer = "payee"
hold_days = 14
hold_from = "sale"
schedule = { weekly = "monday" }
minimum_payout = "10.00"
holidays = ["2026-04-06"]
payout_account = { name = "Shop SAS", iban = "FR7630006000011234567890189", bic = "AGRIFRPPXXX" }
)toml";

class ScheduleRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = load_config(kConfig, CurrencyTable());
    ASSERT_TRUE(c.ok()) << c.error().message;
    config_ = std::move(*c);
    LedgerOptions o;
    o.extra_tables = tables::all();
    o.clock = [] { return TimeNs(1'780'000'000) * kNsPerSecond; };  // 2026-05-28T20:26:40Z
    ledger_ = open_ledger(dir_.sub("d"), o);
    rules_ = std::make_unique<Rules>(config_, *ledger_);
    settlement_ = std::make_unique<Settlement>(*rules_);
  }
  Code settle_code(const char* mk, const char* date) {
    auto r = settlement_->settle(mk, date);
    return r.ok() ? Code::ok : r.error().code;
  }

  TempDir dir_;
  Config config_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<Rules> rules_;
  std::unique_ptr<Settlement> settlement_;
};

TEST_F(ScheduleRunTest, TheQuincenaSettlesOnItsMovedDates) {
  // Jan 31, 2026 is a Saturday: the run is Monday Feb 2, and Jan 30 names it as the next.
  auto r = settlement_->settle("quincena", "2026-01-30");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::not_a_pay_date);
  EXPECT_NE(r.error().message.find("the next is 2026-02-02"), std::string::npos)
      << r.error().message;
  EXPECT_EQ(settle_code("quincena", "2026-01-31"), Code::not_a_pay_date);
  EXPECT_EQ(settle_code("quincena", "2026-02-02"), Code::ok);
  EXPECT_EQ(settle_code("quincena", "2026-01-15"), Code::ok);
  // Feb 28 (Saturday) is paid Monday Mar 2; Mar 15 (Sunday) Monday Mar 16.
  EXPECT_EQ(settle_code("quincena", "2026-03-02"), Code::ok);
  EXPECT_EQ(settle_code("quincena", "2026-03-16"), Code::ok);
  EXPECT_EQ(settle_code("quincena", "2026-03-15"), Code::not_a_pay_date);
  // The cut-off of Jun 1 (for Sunday May 31) has not passed on May 28: refused as a future run.
  EXPECT_EQ(settle_code("quincena", "2026-06-01"), Code::bad_date);
  // Runs done up to Mar 16: next from the clock's day (May 28), then the holiday Jun 15 moved.
  EXPECT_EQ(settlement_->next_pay_dates("quincena", 3),
            (std::vector<std::string>{"2026-06-01", "2026-06-16", "2026-06-30"}));
}

TEST_F(ScheduleRunTest, WeeklyMondaysSettleAndEasterMondayMovesToTuesday) {
  EXPECT_EQ(settle_code("mondays", "2026-03-30"), Code::ok);
  EXPECT_EQ(settle_code("mondays", "2026-04-06"), Code::not_a_pay_date);
  EXPECT_EQ(settle_code("mondays", "2026-04-07"), Code::ok);
  EXPECT_EQ(settle_code("mondays", "2026-04-08"), Code::not_a_pay_date);
  EXPECT_EQ(settlement_->next_pay_dates("mondays", 2),
            (std::vector<std::string>{"2026-06-01", "2026-06-08"}));
}

}  // namespace
}  // namespace tally
