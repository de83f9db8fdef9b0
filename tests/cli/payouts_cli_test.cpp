// The payout lifecycle through the real `tally` binary on a data directory (SPEC section 8,
// issue 18's "Done when"): the personal-shopper platform (fixtures/marketplaces.toml `shopper`)
// pays its US payees by NACHA and its Colombian ones by dispersion file on the quincena with the
// GMF booked; the seller marketplace (`shop`) pays by pain.001 on Mondays with a 10% reserve; a
// bank's return file and a pain.002 rejection put bounced payouts back on the payee's available
// and on hold, and importing them again changes nothing.
//
// Amounts worked by hand (docs/accounting.md has the same entries):
//  - s-2001, 245300.00 COP to exito (groceries 12%, the platform bears the 3.9% + 900.00 fee):
//    exito pending 245300.00 - 29436.00 = 215864.00; paid on 2026-01-15 (held 3 days from the
//    sale); GMF 0.4% x 215864.00 = 863.456 -> 863.46.
//  - s-2003, 200.10 USD to techmiami: pending 190.09 (5% commission 10.005 -> 10.01); paid
//    2026-01-15 by NACHA; returned R03: 190.09 back on its available, and it is on hold.
//  - o-1001, 120.00 EUR to p1 (affiliate a7), delivered 2026-01-08, released 2026-01-22 and paid
//    Monday 2026-01-26: 104.27 released, 10% kept in reserve (10.43), 93.84 paid by pain.001;
//    the bank rejects it (AC04): 93.84 back on p1's available, p1 on hold.
#include <fcntl.h>
#include <simdjson.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <list>
#include <map>
#include <sstream>

#include "common/nacha_return.h"
#include "common/test_util.h"
#include "ledger/entry.h"

namespace tally {
namespace {

using namespace tally::testing;

std::string tally_binary() {
  return std::string(TALLY_BINARY_DIR) + "/cli/tally";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct Outcome {
  int code = -1;
  std::string out, err;
};

constexpr const char* kShopper =
    R"({"type":"payee_details","id":"pd-exito","at":"2026-01-02T14:00:00Z","marketplace":"shopper","payee":"exito","name":"Almacenes Éxito S.A.","account":"20045678901","co":{"bank_code":"1007","account_type":"checking","account_number":"20045678901","document_type":"NIT","document_number":"890.900.608-9"}}
{"type":"payee_details","id":"pd-techmiami","at":"2026-01-02T14:02:00Z","marketplace":"shopper","payee":"techmiami","name":"Tech Miami LLC","account":"026009593-1234567890","ach":{"routing":"026009593","account":"1234567890","account_type":"checking","receiver_kind":"company"}}
{"type":"sale","id":"s-2001","at":"2026-01-03T15:00:00Z","marketplace":"shopper","seller":"exito","amount":"245300.00","currency":"COP","category":"groceries"}
{"type":"sale","id":"s-2003","at":"2026-01-06T14:00:00Z","marketplace":"shopper","seller":"techmiami","amount":"200.10","currency":"USD","category":"electronics"}
)";

constexpr const char* kShop =
    R"({"type":"payee_details","id":"pd-p1","at":"2026-01-02T09:00:00Z","marketplace":"shop","payee":"p1","name":"Atelier Lumière SARL","account":"FR7630004008230001234567819","bic":"BNPAFRPPXXX"}
{"type":"sale","id":"o-1001","at":"2026-01-05T10:00:00Z","marketplace":"shop","seller":"p1","amount":"120.00","currency":"EUR","category":"product","affiliate":"a7"}
{"type":"delivered","id":"dl-1001","at":"2026-01-08T14:00:00Z","marketplace":"shop","sale":"o-1001"}
)";

// A pain.002 rejecting one transaction of shop's pain.001 with AC04.
constexpr const char* kPain002 = R"(<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03">
  <CstmrPmtStsRpt>
    <GrpHdr>
      <MsgId>STS-20260127-0001</MsgId>
      <CreDtTm>2026-01-27T09:30:00+01:00</CreDtTm>
    </GrpHdr>
    <OrgnlGrpInfAndSts>
      <OrgnlMsgId>shop:2026-01-26</OrgnlMsgId>
      <OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId>
      <GrpSts>PART</GrpSts>
    </OrgnlGrpInfAndSts>
    <OrgnlPmtInfAndSts>
      <OrgnlPmtInfId>shop:2026-01-26-EUR</OrgnlPmtInfId>
      <TxInfAndSts>
        <StsId>BANK-TX-1</StsId>
        <OrgnlEndToEndId>shop:2026-01-26:p1:EUR</OrgnlEndToEndId>
        <TxSts>RJCT</TxSts>
        <StsRsnInf>
          <Rsn>
            <Cd>AC04</Cd>
          </Rsn>
          <AddtlInf>Account closed</AddtlInf>
        </StsRsnInf>
        <OrgnlTxRef>
          <Amt>
            <InstdAmt Ccy="EUR">93.84</InstdAmt>
          </Amt>
        </OrgnlTxRef>
      </TxInfAndSts>
      <TxInfAndSts>
        <StsId>BANK-TX-2</StsId>
        <OrgnlEndToEndId>shop:2026-01-26:zz:EUR</OrgnlEndToEndId>
        <TxSts>RJCT</TxSts>
        <StsRsnInf>
          <Rsn>
            <Cd>AC01</Cd>
          </Rsn>
        </StsRsnInf>
      </TxInfAndSts>
    </OrgnlPmtInfAndSts>
  </CstmrPmtStsRpt>
</Document>
)";

class PayoutsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(tally_binary().c_str(), X_OK) != 0)
      TALLY_PREREQUISITE_MISSING("build the tally binary first: " + tally_binary());
    config_ = std::string(TALLY_SOURCE_DIR) + "/fixtures/marketplaces.toml";
  }

  // Runs `tally --data DIR --config fixtures/marketplaces.toml ARGS...` with `input` on stdin.
  Outcome tally(std::vector<std::string> args, const std::string& input = "") {
    std::string in = dir_.sub("stdin"), out = dir_.sub("stdout"), err = dir_.sub("stderr");
    std::ofstream(in, std::ios::binary) << input;
    std::vector<std::string> full = {tally_binary(), "--data", dir_.sub("data"), "--config",
                                     config_};
    full.insert(full.end(), args.begin(), args.end());
    pid_t pid = ::fork();
    if (pid == 0) {
      int i = ::open(in.c_str(), O_RDONLY);
      int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(i, 0), ::dup2(o, 1), ::dup2(e, 2);
      ::unsetenv("TALLY_CONNECT");
      ::unsetenv("TALLY_TOKEN");
      std::vector<char*> argv;
      for (auto& a : full) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    Outcome r;
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read_file(out);
    r.err = read_file(err);
    return r;
  }
  Outcome ok(std::vector<std::string> args, const std::string& input = "") {
    Outcome r = tally(std::move(args), input);
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    return r;
  }
  simdjson::dom::element json(const std::string& text) {
    simdjson::dom::element e;
    auto err = parsers_.emplace_back().parse(text).get(e);
    EXPECT_EQ(err, simdjson::SUCCESS) << text;
    return e;
  }
  static std::string str(simdjson::dom::element e, std::string_view key) {
    std::string_view s;
    auto err = e[key].get(s);
    EXPECT_EQ(err, simdjson::SUCCESS) << key << " in " << simdjson::to_string(e);
    return std::string(s);
  }
  static uint64_t num(simdjson::dom::element e, std::string_view key) {
    uint64_t v = 0;
    auto err = e[key].get(v);
    EXPECT_EQ(err, simdjson::SUCCESS) << key << " in " << simdjson::to_string(e);
    return v;
  }
  std::string balance(const std::string& account, const std::string& currency) {
    Outcome r = ok({"--json", "balance", account, "--currency", currency});
    return r.code == 0 ? str(json(r.out), "balance") : "?";
  }
  // payout id -> the payout's JSON object in `payouts RUN --json`.
  std::map<std::string, simdjson::dom::element> payouts_of(const std::string& run) {
    Outcome r = ok({"--json", "payouts", run});
    std::map<std::string, simdjson::dom::element> out;
    if (r.code != 0) return out;
    for (simdjson::dom::element p : json(r.out)["payouts"].get_array()) out[str(p, "payout")] = p;
    return out;
  }
  // The carried line of `payee` in `settle --json`, or "" when it is not carried.
  std::string carried_reason(simdjson::dom::element run, const std::string& payee) {
    for (simdjson::dom::element c : run["carried"].get_array())
      if (str(c, "payee") == payee) return str(c, "reason");
    return "";
  }

  TempDir dir_;
  std::string config_;
  std::list<simdjson::dom::parser> parsers_;  // each document lives as long as the test
};

TEST_F(PayoutsCliTest, ShopperPaysByNachaAndDispersionAndABankReturnBouncesOnce) {
  ok({"post", "-"}, kShopper);
  Outcome settled = ok({"--json", "settle", "shopper", "--date", "2026-01-15"});
  auto run = json(settled.out);
  std::map<std::string, std::string> paid;
  for (simdjson::dom::element p : run["payouts"].get_array())
    paid[str(p, "payout")] = str(p, "amount");
  EXPECT_EQ(paid["shopper:2026-01-15:exito:COP"], "215864.00");
  EXPECT_EQ(paid["shopper:2026-01-15:techmiami:USD"], "190.09");
  // The GMF the platform bears on its COP transfer, booked with the payout.
  EXPECT_EQ(balance("shopper:expense:gmf", "COP"), "863.46");

  // Every payout is instructed until its file is exported.
  for (auto& [id, p] : payouts_of("shopper:2026-01-15")) EXPECT_EQ(str(p, "state"), "instructed");
  EXPECT_EQ(str(payouts_of("shopper:2026-01-15")["shopper:2026-01-15:exito:COP"], "tax"), "863.46");

  // NACHA: the USD payouts; recorded with its hash, its payouts now sent.
  std::string ach = dir_.sub("shopper.ach");
  Outcome nacha =
      ok({"--json", "payouts", "shopper:2026-01-15", "--format", "nacha", "--out", ach});
  auto nf = json(nacha.out);
  EXPECT_EQ(str(nf, "file"), "shopper:2026-01-15:nacha");
  EXPECT_EQ(num(nf, "payouts"), 1u);
  EXPECT_EQ(num(nf, "sent"), 1u);
  const std::string ach_bytes = read_file(ach);
  EXPECT_EQ(str(nf, "sha256"), to_hex(sha256(ach_bytes)));
  {
    std::istringstream lines(ach_bytes);
    size_t n = 0;
    for (std::string l; std::getline(lines, l); ++n) EXPECT_EQ(l.size(), 94u) << l;
    EXPECT_EQ(n % 10, 0u);  // blocks of ten records
  }
  // Again: the same bytes, nothing sent twice.
  std::string ach2 = dir_.sub("shopper2.ach");
  auto again =
      json(ok({"--json", "payouts", "shopper:2026-01-15", "--format", "nacha", "--out", ach2}).out);
  EXPECT_TRUE(bool(again["already_recorded"]));
  EXPECT_EQ(num(again, "sent"), 0u);
  EXPECT_EQ(read_file(ach2), ach_bytes);

  // The dispersion file: the COP payouts, with the NIT.
  std::string disp = dir_.sub("shopper-co.csv");
  auto df = json(
      ok({"--json", "payouts", "shopper:2026-01-15", "--format", "co-dispersion", "--out", disp})
          .out);
  EXPECT_EQ(num(df, "sent"), 1u);
  EXPECT_NE(read_file(disp).find("215864"), std::string::npos) << read_file(disp);
  // Text output names the file and what it sent.
  Outcome text =
      ok({"payouts", "shopper:2026-01-15", "--format", "csv", "--out", dir_.sub("x.csv")});
  EXPECT_NE(text.out.find("recorded shopper:2026-01-15:csv"), std::string::npos) << text.out;

  auto states = payouts_of("shopper:2026-01-15");
  simdjson::dom::element tm = states["shopper:2026-01-15:techmiami:USD"];
  EXPECT_EQ(str(tm, "state"), "sent");
  EXPECT_EQ(str(tm, "file"), "shopper:2026-01-15:nacha");
  const std::string trace = str(tm, "trace");
  ASSERT_EQ(trace.size(), 15u);
  EXPECT_EQ(str(states["shopper:2026-01-15:exito:COP"], "file"),
            "shopper:2026-01-15:co-dispersion");

  // The bank returns techmiami's credit (R03). Text report first.
  std::string ret = dir_.sub("return.ach");
  std::ofstream(ret) << nacha_return_file(
      {{trace, "R03", 19009, "NO ACCOUNT/UNABLE TO LOCATE ACCOUNT"}});
  Outcome imported = ok({"import-report", ret});
  EXPECT_NE(imported.out.find("1 matched, 0 already applied, 0 unmatched, 0 contradictory"),
            std::string::npos)
      << imported.out;
  EXPECT_EQ(balance("shopper:payees:techmiami:available", "USD"), "190.09");
  EXPECT_EQ(balance("shopper:payouts:in_transit", "USD"), "0.00");
  EXPECT_EQ(str(payouts_of("shopper:2026-01-15")["shopper:2026-01-15:techmiami:USD"], "state"),
            "returned");

  // Again: already applied, nothing moves.
  auto twice = json(ok({"--json", "import-report", ret}).out);
  EXPECT_EQ(num(twice["counts"], "matched"), 0u);
  EXPECT_EQ(num(twice["counts"], "already_applied"), 1u);
  EXPECT_EQ(num(twice["counts"], "payouts_moved"), 0u);
  EXPECT_EQ(balance("shopper:payees:techmiami:available", "USD"), "190.09");

  // Listed by state across runs, with the bank's reason.
  auto returned =
      json(ok({"--json", "payouts", "--marketplace", "shopper", "--state", "returned"}).out);
  auto list = returned["payouts"].get_array();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(str(list.at(0), "payout"), "shopper:2026-01-15:techmiami:USD");
  EXPECT_EQ(str(list.at(0), "reason_code"), "R03");
  auto sent = json(ok({"--json", "payouts", "--marketplace", "shopper", "--state", "sent"}).out);
  EXPECT_EQ(sent["payouts"].get_array().size(), 1u);  // exito's

  // techmiami is on hold: the next quincena (Sat 01-31 -> Mon 02-02) carries it.
  auto next = json(ok({"--json", "settle", "shopper", "--date", "2026-02-02"}).out);
  EXPECT_EQ(carried_reason(next, "techmiami"), "on_hold");

  // A return naming a trace tally never wrote: unmatched, with the file's line; exit 1.
  std::string stray = dir_.sub("stray.ach");
  std::ofstream(stray) << nacha_return_file({{"091000019999999", "R01", 100, "INSUFFICIENT"}});
  Outcome unmatched = tally({"import-report", stray});
  EXPECT_EQ(unmatched.code, 1) << unmatched.out << unmatched.err;
  EXPECT_NE(unmatched.out.find("unmatched  line 3"), std::string::npos) << unmatched.out;
  EXPECT_NE(unmatched.out.find("62102100002"), std::string::npos) << unmatched.out;

  // A malformed file changes nothing and says where.
  Outcome bad = tally({"import-report", "-"}, "<Document><unclosed>");
  EXPECT_EQ(bad.code, 1) << bad.out << bad.err;
  EXPECT_FALSE(bad.err.empty());

  ok({"verify"});
}

TEST_F(PayoutsCliTest, ShopPaysByPain001OnMondaysWithAReserveAndARejectionBouncesOnce) {
  ok({"post", "-"}, kShop);
  auto run = json(ok({"--json", "settle", "shop", "--date", "2026-01-26"}).out);
  std::string p1_paid;
  for (simdjson::dom::element p : run["payouts"].get_array())
    if (str(p, "payee") == "p1") p1_paid = str(p, "amount");
  EXPECT_EQ(p1_paid, "93.84");
  EXPECT_EQ(balance("shop:payees:p1:reserve", "EUR"), "10.43");
  // a7's 8.40 less its 10% reserve (0.84) is below the 10.00 minimum: carried.
  EXPECT_EQ(carried_reason(run, "a7"), "below_minimum");

  // A Monday that is not a pay date is refused; a Tuesday too.
  EXPECT_EQ(tally({"settle", "shop", "--date", "2026-01-27"}).code, 1);

  std::string xml = dir_.sub("shop.xml");
  auto f =
      json(ok({"--json", "payouts", "shop:2026-01-26", "--format", "pain001", "--out", xml}).out);
  EXPECT_EQ(num(f, "sent"), 1u);
  EXPECT_NE(read_file(xml).find("<EndToEndId>shop:2026-01-26:p1:EUR</EndToEndId>"),
            std::string::npos);
  // Without --out the file goes to stdout, the same bytes.
  EXPECT_EQ(ok({"payouts", "shop:2026-01-26", "--format", "pain001"}).out, read_file(xml));
  // nacha needs an ACH originator shop does not have.
  EXPECT_EQ(tally({"payouts", "shop:2026-01-26", "--format", "nacha"}).code, 1);

  Outcome text = ok({"payouts", "shop:2026-01-26"});
  EXPECT_NE(text.out.find("shop:2026-01-26:p1:EUR"), std::string::npos);
  EXPECT_NE(text.out.find("sent"), std::string::npos) << text.out;

  std::string report = dir_.sub("pain002.xml");
  std::ofstream(report) << kPain002;
  Outcome r = tally({"--json", "import-report", report});
  EXPECT_EQ(r.code, 1) << r.out << r.err;  // one line unmatched
  auto x = json(r.out);
  EXPECT_EQ(str(x, "format"), "pain.002.001.03");
  EXPECT_EQ(num(x["counts"], "matched"), 1u);
  EXPECT_EQ(num(x["counts"], "unmatched"), 1u);
  auto lines = x["lines"].get_array();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(str(lines.at(0), "status"), "matched");
  EXPECT_EQ(str(lines.at(0), "reason"), "AC04");
  EXPECT_EQ(str(lines.at(0)["payouts"].get_array().at(0), "after"), "failed");
  EXPECT_EQ(str(lines.at(1), "status"), "unmatched");
  EXPECT_EQ(str(lines.at(1), "reference"), "shop:2026-01-26:zz:EUR");
  EXPECT_EQ(balance("shop:payees:p1:available", "EUR"), "93.84");

  // The same report again: already applied, nothing moves.
  auto again = json(tally({"--json", "import-report", report}).out);
  EXPECT_EQ(num(again["counts"], "already_applied"), 1u);
  EXPECT_EQ(num(again["counts"], "matched"), 0u);
  EXPECT_EQ(balance("shop:payees:p1:available", "EUR"), "93.84");

  // p1 is on hold: the next Monday carries it (with the reserve still kept).
  auto next = json(ok({"--json", "settle", "shop", "--date", "2026-02-02"}).out);
  EXPECT_EQ(carried_reason(next, "p1"), "on_hold");
  EXPECT_EQ(balance("shop:payees:p1:reserve", "EUR"), "10.43");
  auto failed = json(ok({"--json", "payouts", "--marketplace", "shop", "--state", "failed"}).out);
  ASSERT_EQ(failed["payouts"].get_array().size(), 1u);
  EXPECT_EQ(str(failed["payouts"].get_array().at(0), "reason_code"), "AC04");
  ok({"verify"});
}

TEST_F(PayoutsCliTest, UsageAndUnknowns) {
  EXPECT_EQ(tally({"payouts", "shop:2026-01-26", "--format", "swift"}).code, 2);
  EXPECT_EQ(tally({"payouts", "--marketplace", "shop", "shop:2026-01-26"}).code, 2);
  EXPECT_EQ(tally({"payouts", "shop:2026-01-26", "--state", "sent"}).code, 2);
  EXPECT_EQ(tally({"import-report"}).code, 2);
  EXPECT_EQ(tally({"import-report", dir_.sub("missing.xml")}).code, 2);
  ok({"post", "-"}, "");  // creates the data directory
  Outcome unknown_run = tally({"--json", "payouts", "shop:2026-01-26"});
  EXPECT_EQ(unknown_run.code, 1);
  EXPECT_NE(unknown_run.err.find("unknown_run"), std::string::npos) << unknown_run.err;
  EXPECT_EQ(tally({"payouts", "--marketplace", "nowhere"}).code, 1);
  EXPECT_EQ(tally({"payouts", "--marketplace", "shop", "--state", "lost"}).code, 1);
}

}  // namespace
}  // namespace tally
