// Payouts on the national rails from real runs (SPEC section 8): the personal-shopper platform
// pays its US payees by NACHA and its Colombian payees by dispersion file twice a month, with the
// GMF booked; payees without the details their rail needs are carried (no_details); NACHA trace
// numbers stay unique across files; a NACHA return file (R01, R03) puts bounced payouts back on
// the payees' balances and on hold, once. The NACHA files go through the independent npm parser
// (tests/nacha_check) when node is present.
#include <gmock/gmock.h>

#include <filesystem>
#include <fstream>

#include "common/nacha_return.h"
#include "payouts_fixture.h"
#include "settlement/bank_text.h"

namespace tally {
namespace {

using namespace tally::testing;
using tables::PayoutState;
using ::testing::HasSubstr;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(TALLY_SOURCE_DIR) + "/fixtures/bank/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// tests/nacha_check/check.js (an npm NACHA parser) on a file: it recounts every count, hash and
// total (docs/payout-rails.md, "Independent check").
void expect_independent_check(const std::string& text, const std::string& name) {
  std::string dir = std::string(TALLY_SOURCE_DIR) + "/tests/nacha_check";
  if (std::system("command -v node >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "node is not installed: the independent NACHA check is skipped";
  if (!std::filesystem::exists(dir + "/node_modules"))
    GTEST_SKIP() << "no " << dir << "/node_modules: run `npm ci --prefix tests/nacha_check`";
  std::string file = ::testing::TempDir() + "/tally_rails_" + name + ".ach";
  std::string log = file + ".log";
  std::ofstream(file, std::ios::binary) << text;
  std::string cmd = "node '" + dir + "/check.js' '" + file + "' >'" + log + "' 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream in(log);
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << out << "\n" << text;
  EXPECT_THAT(out, HasSubstr("ok:"));
  std::filesystem::remove(file);
  std::filesystem::remove(log);
}

BankReport parsed(const std::string& bytes) {
  auto r = parse_bank_report(bytes);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? std::move(r).value() : BankReport{};
}

class RailsTest : public PayoutsTest {
 protected:
  // The quincena of 2026-01-15 (cut-off 05:00Z: Bogota) for US and Colombian payees.
  void first_fortnight() {
    const TimeNs t = at("2026-01-05T15:00:00Z");
    details("shopper", "us1", at("2026-01-01T00:00:00Z"),
            PayeeAchFields{"011000015", "12345678", "checking", "individual"});
    details("shopper", "us2", at("2026-01-01T00:00:00Z"),
            PayeeAchFields{"026009593", "987654321", "savings", "company"});
    details("shopper", "us3");  // no ACH details
    details("shopper", "co1", at("2026-01-01T00:00:00Z"), std::nullopt,
            PayeeCoFields{"1051", "savings", "4567890123", "CC", "1020304050"});
    details("shopper", "co2", at("2026-01-01T00:00:00Z"), std::nullopt,
            PayeeCoFields{"1007", "checking", "00012345678", "NIT", "900.123.456-8"});
    details("shopper", "co3");  // no Colombian details
    // Sellers keep 90% (10% commission rounded half_up): the payouts below.
    post("shopper", "s-us1", t, SaleEvent{"us1", "150.00", "USD", "groceries", {}});   // 135.00
    post("shopper", "s-us2", t, SaleEvent{"us2", "1000.10", "USD", "groceries", {}});  // 900.09
    post("shopper", "s-us3", t, SaleEvent{"us3", "50.00", "USD", "groceries", {}});    // 45.00
    post("shopper", "s-co1", t,
         SaleEvent{"co1", "1234567.89", "COP", "groceries", {}});  // C 123456.789 -> 123456.79
    post("shopper", "s-co2", t,
         SaleEvent{"co2", "44445.83", "COP", "groceries", {}});  // C 4444.583 -> 4444.58
    post("shopper", "s-co3", t, SaleEvent{"co3", "100000.00", "COP", "groceries", {}});
  }
};

TEST_F(RailsTest, TheQuincenaPaysByNachaAndDispersionWithTheGmfBooked) {
  first_fortnight();
  auto run = settle("shopper", "2026-01-15");
  ASSERT_EQ(run.payouts.size(), 4u);
  std::map<std::string, RunPayout> by;
  for (auto& p : run.payouts) by[p.payee] = p;
  EXPECT_EQ(format_amount(by["us1"].amount, 2), "135.00");
  EXPECT_EQ(format_amount(by["us2"].amount, 2), "900.09");
  EXPECT_EQ(format_amount(by["co1"].amount, 2), "1111111.10");
  EXPECT_EQ(format_amount(by["co2"].amount, 2), "40001.25");
  // GMF: 0.4% of each COP payout, rounded half_up (the marketplace's rounding):
  // 1111111.10 * 0.004 = 4444.4444 -> 4444.44; 40001.25 * 0.004 = 160.005 -> 160.01. None on USD.
  EXPECT_EQ(format_amount(by["co1"].tax, 2), "4444.44");
  EXPECT_EQ(format_amount(by["co2"].tax, 2), "160.01");
  EXPECT_TRUE(by["us1"].tax.is_zero());
  ASSERT_EQ(run.carried.size(), 2u);
  for (auto& c : run.carried) EXPECT_EQ(c.reason, SettlementCarry::no_details) << c.payee;
  EXPECT_EQ(run.carried[0].payee, "co3");
  EXPECT_EQ(run.carried[1].payee, "us3");
  for (auto& t : run.totals) {
    if (t.currency == "COP") {
      EXPECT_EQ(format_amount(t.tax, 2), "4604.45");
    } else {
      EXPECT_TRUE(t.tax.is_zero());
    }
  }
  EXPECT_EQ(bal("shopper:expense:gmf", "COP"), "4604.45");
  // The platform pays the tax from cash; the payee gets the whole payout.
  auto snap = ledger_->snapshot();
  auto e = snap->entry("~shopper:2026-01-15:settle:co2");
  ASSERT_TRUE(e);
  std::string postings;
  for (auto& p : e->entry.postings)
    postings += std::string(p.side == Side::debit ? "D " : "C ") + p.account + " " +
                format_amount(p.amount, p.currency) + "; ";
  EXPECT_EQ(postings,
            "D shopper:payees:co2:pending 40001.25; C shopper:payees:co2:available 40001.25; "
            "D shopper:payees:co2:available 40001.25; C shopper:payouts:in_transit 40001.25; "
            "D shopper:expense:gmf 160.01; C shopper:cash 160.01; ");
  EXPECT_EQ(bal("shopper:payees:co2:available", "COP"), "0.00");

  // NACHA: the US payouts, CCD (us2, a company) before PPD (us1), traces from the ODFI 02100002.
  auto nacha = export_payout_file(*rules_, "shopper:2026-01-15", PayoutFileFormat::nacha);
  ASSERT_TRUE(nacha.ok()) << nacha.error().message;
  EXPECT_EQ(nacha->sent, 2u);
  ASSERT_EQ(nacha->traces.size(), 2u);
  EXPECT_EQ(nacha->traces[0].payout_id, "shopper:2026-01-15:us2:USD");
  EXPECT_EQ(nacha->traces[0].trace_number, "021000020000001");
  EXPECT_EQ(nacha->traces[1].payout_id, "shopper:2026-01-15:us1:USD");
  EXPECT_EQ(nacha->traces[1].trace_number, "021000020000002");
  const std::string& text = nacha->bytes;
  // Hand-computed controls: entry hash 01100001 + 02600959 = 0003700960, credits 13500 + 90009.
  EXPECT_THAT(text, HasSubstr("\n9000002000001000000020003700960000000000000000000103509"));
  EXPECT_THAT(text, HasSubstr("5220SHOPPER US                          1812345678CCDPAYOUT"));
  EXPECT_THAT(text, HasSubstr("632026009593987654321        0000090009"));  // savings credit
  EXPECT_THAT(text, HasSubstr("62201100001512345678         0000013500"));  // checking credit
  EXPECT_EQ(text.substr(0, 3), "101");
  expect_independent_check(text, "quincena");
  auto pv = payout("shopper:2026-01-15:us1:USD");
  ASSERT_TRUE(pv);
  EXPECT_EQ(pv->state, PayoutState::sent);
  EXPECT_EQ(pv->trace, "021000020000002");
  EXPECT_EQ(pv->file, "shopper:2026-01-15:nacha");

  // The dispersion file: the COP payouts.
  auto disp = export_payout_file(*rules_, "shopper:2026-01-15", PayoutFileFormat::co_dispersion);
  ASSERT_TRUE(disp.ok()) << disp.error().message;
  EXPECT_EQ(disp->bytes,
            "payout,pay_date,bank_code,account_type,account_number,document_type,document_number,"
            "check_digit,name,amount_cop\n"
            "shopper:2026-01-15:co1:COP,2026-01-15,1051,savings,4567890123,CC,1020304050,,"
            "Payee co1,1111111.10\n"
            "shopper:2026-01-15:co2:COP,2026-01-15,1007,checking,00012345678,NIT,900123456,8,"
            "Payee co2,40001.25\n");
  EXPECT_EQ(disp->sent, 2u);
  // Both files again: the same bytes, nothing changes.
  auto nacha2 = export_payout_file(*rules_, "shopper:2026-01-15", PayoutFileFormat::nacha);
  ASSERT_TRUE(nacha2.ok());
  EXPECT_TRUE(nacha2->already_recorded);
  EXPECT_EQ(nacha2->bytes, text);
  // A pain.001 of the same run would pay them twice.
  auto pain = export_payout_file(*rules_, "shopper:2026-01-15", PayoutFileFormat::pain001);
  ASSERT_FALSE(pain.ok());
  EXPECT_EQ(pain.error().code, Code::payout_already_settled);
  expect_books_whole();

  // The next quincena (Jan 31 is a Saturday: Monday Feb 2): the next NACHA file's traces follow
  // on, and its file id modifier is B.
  post("shopper", "s-us1-2", at("2026-01-20T15:00:00Z"),
       SaleEvent{"us1", "20.00", "USD", "groceries", {}});
  auto feb = settle("shopper", "2026-02-02");
  ASSERT_EQ(feb.payouts.size(), 1u);
  auto next = export_payout_file(*rules_, "shopper:2026-02-02", PayoutFileFormat::nacha);
  ASSERT_TRUE(next.ok()) << next.error().message;
  ASSERT_EQ(next->traces.size(), 1u);
  EXPECT_EQ(next->traces[0].trace_number, "021000020000003");
  EXPECT_EQ(next->bytes[33], 'B');  // file id modifier, position 34
  expect_independent_check(next->bytes, "next");
}

TEST_F(RailsTest, APayeeWithoutRailDetailsIsNamedByTheFileWriter) {
  // A run made while the marketplace had no originators: its lines have no rail details.
  first_fortnight();
  auto run = settle("shopper", "2026-01-15");
  auto stored = load_run(*rules_, run.run);
  ASSERT_TRUE(stored.ok());
  for (auto& l : stored->lines) l.ach.reset(), l.co.reset();
  const MarketplaceConfig& mk = *config_.marketplace("shopper");
  auto nacha = payout_nacha_of_run(*stored, mk);
  ASSERT_FALSE(nacha.ok());
  EXPECT_THAT(nacha.error().message, HasSubstr("payee \"us1\" had no ACH details"));
  EXPECT_THAT(nacha.error().message, HasSubstr("payee \"us2\" had no ACH details"));
  auto disp = payout_co_dispersion_of_run(*stored, mk);
  ASSERT_FALSE(disp.ok());
  EXPECT_THAT(disp.error().message, HasSubstr("payee \"co1\""));
  MarketplaceConfig bare = mk;
  bare.ach.reset();
  EXPECT_THAT(payout_nacha_of_run(*stored, bare).error().message, HasSubstr("no ach originator"));
}

TEST_F(RailsTest, PayeeDetailsWithRailsAreCheckedAndKeptWithHistory) {
  auto bad = [&](std::optional<PayeeAchFields> ach, std::optional<PayeeCoFields> co,
                 const char* part) {
    PayeeDetailsEvent d{"x", "X", "12345678", ""};
    d.ach = std::move(ach);
    d.co = std::move(co);
    auto r = post("shopper", "pd-bad", at("2026-01-01T00:00:00Z"), std::move(d), false);
    EXPECT_EQ(r.code, Code::bad_request) << part;
    EXPECT_THAT(r.message, HasSubstr(part));
  };
  bad(PayeeAchFields{"011000016", "1", "checking", "individual"}, {}, "ach.routing");
  bad(PayeeAchFields{"011000015", "", "checking", "individual"}, {}, "ach.account");
  bad(PayeeAchFields{"011000015", "1", "current", "individual"}, {}, "ach.account_type");
  bad(PayeeAchFields{"011000015", "1", "checking", "person"}, {}, "ach.receiver_kind");
  bad({}, PayeeCoFields{"0000", "savings", "1234", "CC", "123456"}, "co.bank_code");
  bad({}, PayeeCoFields{"1007", "savings", "12-34", "CC", "123456"}, "co.account_number");
  bad({}, PayeeCoFields{"1007", "savings", "1234", "NIT", "900123456-7"},
      "wrong check digit (DIAN's is 8)");
  bad({}, PayeeCoFields{"1007", "savings", "1234", "RUT", "1"}, "co.document_type");
  // History: the run pays to the details current at the run; a run keeps what it paid to.
  details("shopper", "us1", at("2026-01-01T00:00:00Z"),
          PayeeAchFields{"011000015", "111", "checking", "individual"});
  post("shopper", "s1", at("2026-01-05T15:00:00Z"),
       SaleEvent{"us1", "150.00", "USD", "groceries", {}});
  settle("shopper", "2026-01-15");
  details("shopper", "us1", at("2026-01-20T00:00:00Z"),
          PayeeAchFields{"011000015", "222", "savings", "individual"});
  auto stored = load_run(*rules_, "shopper:2026-01-15");
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->lines.size(), 1u);
  ASSERT_TRUE(stored->lines[0].ach);
  EXPECT_EQ(stored->lines[0].ach->account, "111");
  auto snap = ledger_->snapshot();
  auto now = tables::latest_payee_details(*snap, rules_->tables(), "shopper", "us1");
  ASSERT_TRUE(now && now->ach);
  EXPECT_EQ(now->ach->account, "222");
  EXPECT_EQ(now->ach->account_type, AchAccountType::savings);
}

TEST_F(RailsTest, GmfRoundingFollowsTheConfiguredMode) {
  // 0.4% of 40001.25 is 160.005 (a tie), of 1111111.10 is 4444.4444, of 40000.01 is 160.00004.
  struct Case {
    const char* mode;
    const char* tie;
    const char* quarter;
    const char* tiny;
  };
  for (Case c :
       {Case{"half_even", "160.00", "4444.44", "160.00"},
        Case{"half_up", "160.01", "4444.44", "160.00"}, Case{"down", "160.00", "4444.44", "160.00"},
        Case{"up", "160.01", "4444.45", "160.01"}}) {
    SCOPED_TRACE(c.mode);
    std::string toml = kPayoutsConfig;
    std::string from = R"(currency = "COP" })";
    toml.replace(toml.find(from), from.size(),
                 std::string(R"(currency = "COP", rounding = ")") + c.mode + "\" }");
    auto config = load_config(toml, CurrencyTable());
    ASSERT_TRUE(config.ok()) << config.error().message;
    TempDir dir;
    LedgerOptions o;
    o.extra_tables = tables::all();
    o.clock = [] { return TimeNs(1'798'761'600) * kNsPerSecond; };
    auto ledger = open_ledger(dir.sub("d"), o);
    Rules rules(*config, *ledger);
    Settlement settlement(rules);
    Batch b;
    auto ev = [&](std::string id, EventBody body) {
      b.push_back(rules.event_op(
          Event{EventHeader{std::move(id), at("2026-01-05T15:00:00Z"), "shopper", {}}, body}));
    };
    for (const char* p : {"a", "b", "c"}) {
      PayeeDetailsEvent d{p, p, "12345678", ""};
      d.co = PayeeCoFields{"1007", "savings", "12345678", "CC", "12345678"};
      ev(std::string("pd-") + p, d);
    }
    ev("s-a", SaleEvent{"a", "44445.83", "COP", "groceries", {}});    // 40001.25
    ev("s-b", SaleEvent{"b", "1234567.89", "COP", "groceries", {}});  // 1111111.10
    ev("s-c", SaleEvent{"c", "44444.46", "COP", "groceries", {}});    // C 4444.446 -> 40000.01
    for (auto& r : ledger->submit_and_wait(std::move(b))) ASSERT_TRUE(r.ok()) << r.message;
    auto run = settlement.settle("shopper", "2026-01-15");
    ASSERT_TRUE(run.ok()) << run.error().message;
    ASSERT_EQ(run->payouts.size(), 3u);
    EXPECT_EQ(format_amount(run->payouts[0].amount, 2), "40001.25");
    EXPECT_EQ(format_amount(run->payouts[0].tax, 2), c.tie);
    EXPECT_EQ(format_amount(run->payouts[1].tax, 2), c.quarter);
    EXPECT_EQ(format_amount(run->payouts[2].amount, 2), "40000.01");
    EXPECT_EQ(format_amount(run->payouts[2].tax, 2), c.tiny);
    EXPECT_TRUE(ledger->snapshot()->verify().ok);
  }
}

TEST_F(RailsTest, NachaReturnsPutBouncedPayoutsBackOnce) {
  first_fortnight();
  settle("shopper", "2026-01-15");
  auto nacha = export_payout_file(*rules_, "shopper:2026-01-15", PayoutFileFormat::nacha);
  ASSERT_TRUE(nacha.ok()) << nacha.error().message;
  // The bank's sample return file names traces 021000020000002 (R03, 1250.00) and ...0003 (R01):
  // the first is us1's payout, but of 135.00: mismatched; the second is no payout of ours.
  auto sample = import_bank_report(*rules_, parsed(fixture("nacha_return_r01_r03.ach")));
  ASSERT_TRUE(sample.ok()) << sample.error().message;
  ASSERT_EQ(sample->lines.size(), 2u);
  EXPECT_EQ(sample->lines[0].status, ReportLineStatus::mismatched);
  EXPECT_THAT(sample->lines[0].message,
              HasSubstr("the line says 1250.00 USD, the payout is 135.00"));
  EXPECT_EQ(sample->lines[1].status, ReportLineStatus::unmatched);
  EXPECT_EQ(sample->lines[1].location, "record 7");
  EXPECT_EQ(sample->ignored.size(), 1u);  // the notification of change
  EXPECT_EQ(payout("shopper:2026-01-15:us1:USD")->state, PayoutState::sent);

  // The returns of both payouts: R01 for us2 (paid first by a camt? no: still sent), R03 us1.
  post("shopper", "pr-us2", at("2026-01-16T12:00:00Z"),
       PayoutResultEvent{"shopper:2026-01-15:us2:USD", true, ""});
  const std::string cash = bal("shopper:cash", "USD");
  const std::string transit = bal("shopper:payouts:in_transit", "USD");
  std::string file =
      nacha_return_file({{"021000020000002", "R03", 13500, "NO ACCOUNT/UNABLE TO LOCATE ACCOUNT"},
                         {"021000020000001", "R01", 90009, "INSUFFICIENT FUNDS"}});
  BankReport report = parsed(file);
  auto r = import_bank_report(*rules_, report);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->applied);
  ASSERT_EQ(r->lines.size(), 2u);
  EXPECT_EQ(r->lines[0].status, ReportLineStatus::matched) << r->lines[0].message;
  EXPECT_EQ(r->lines[1].status, ReportLineStatus::matched) << r->lines[1].message;
  EXPECT_EQ(r->matched, 2u);
  EXPECT_EQ(r->payouts_moved, 2u);
  ASSERT_EQ(r->lines[0].payouts.size(), 1u);
  EXPECT_EQ(r->lines[0].payouts[0].before, PayoutState::sent);
  EXPECT_EQ(r->lines[0].payouts[0].after, PayoutState::returned);
  EXPECT_EQ(r->lines[0].payouts[0].entry_id, "~shopper:2026-01-15:us1:USD:returned");
  EXPECT_EQ(r->lines[1].payouts[0].before, PayoutState::paid);
  // us1 (sent): in transit -> cash -> available; us2 (paid): cash -> available.
  EXPECT_EQ(bal("shopper:payees:us1:available", "USD"), "135.00");
  EXPECT_EQ(bal("shopper:payees:us2:available", "USD"), "900.09");
  EXPECT_EQ(amt(bal("shopper:cash", "USD"), "USD").minor() - amt(cash, "USD").minor(), 90009);
  EXPECT_EQ(
      amt(transit, "USD").minor() - amt(bal("shopper:payouts:in_transit", "USD"), "USD").minor(),
      13500);
  auto st = standing("shopper", "us1");
  ASSERT_TRUE(st && st->on_hold);
  EXPECT_EQ(st->reason,
            "payout shopper:2026-01-15:us1:USD returned: R03 NO ACCOUNT/UNABLE TO LOCATE ACCOUNT");
  EXPECT_EQ(payout("shopper:2026-01-15:us2:USD")->reason_code, "R01");
  auto snap = ledger_->snapshot();
  auto e = snap->entry("~shopper:2026-01-15:us1:USD:returned");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->entry.kind, "payout_returned");
  EXPECT_EQ(e->entry.postings.size(), 4u);  // paid, then returned
  // Again: already applied, nothing posted.
  const uint64_t seq = ledger_->snapshot()->last_seq();
  auto again = import_bank_report(*rules_, report);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->already_applied, 2u);
  EXPECT_EQ(again->payouts_moved, 0u);
  EXPECT_EQ(ledger_->snapshot()->last_seq(), seq);
  // The next run carries them: on hold.
  auto feb = settle("shopper", "2026-02-02");
  for (auto& c : feb.carried)
    if (c.payee == "us1" || c.payee == "us2") {
      EXPECT_EQ(c.reason, SettlementCarry::on_hold);
    }
  expect_books_whole();
}

}  // namespace
}  // namespace tally
