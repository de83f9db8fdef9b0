// `tally export --format hledger`: hledger and ledger(1) read the journal unchanged and report
// the same balance as tally for every account and currency (SPEC section 5). Skipped when the
// tools are not installed.
#include "service/export.h"

#include <simdjson.h>
#include <stdio.h>
#include <stdlib.h>

#include <fstream>
#include <map>
#include <sstream>

#include "cli/cli.h"
#include "common/test_util.h"

namespace tally {
namespace {

using namespace tally::testing;

using BalanceMap = std::map<std::pair<std::string, std::string>, std::string>;  // (account, code)

bool have_tool(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// Runs a shell command; its stdout, and its exit status in *status.
std::string capture(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    *status = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *status = pclose(p);
  return out;
}

std::string unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

// tally's normal-side balance as hledger shows it: debit-positive.
std::string debit_positive(const std::string& normal, bool debit_normal_kind) {
  if (debit_normal_kind) return normal;
  if (normal[0] == '-') return normal.substr(1);
  return "-" + normal;
}

bool is_zero(const std::string& s) {
  return s.find_first_not_of("-0.") == std::string::npos;
}

class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("TALLY_CONNECT");
    std::string config = std::string(TALLY_SOURCE_DIR) + "/fixtures/marketplaces.toml";
    has_config_ = static_cast<bool>(std::ifstream(config));
    std::string in = R"J({"type":"asset","code":"PTS2","exponent":6}
{"type":"open","account":"m:bank","kind":"asset","currencies":["USD","JPY","BHD","PTS2","CLF"]}
{"type":"open","account":"m:owed","kind":"liability","currencies":["USD","JPY","BHD","PTS2","CLF"]}
{"type":"open","account":"m:rev","kind":"revenue","currencies":["USD"]}
{"type":"open","account":"m:eq","kind":"equity","currencies":["USD"]}
{"type":"open","account":"m:exp","kind":"expense","currencies":["USD"]}
{"type":"entry","id":"a;b  ; c","at":"1969-12-31T23:00:00-02:00","kind":"*odd (kind)","meta":{"n":"line1\nline2","q":"\"x\", y"},"postings":[{"account":"m:bank","currency":"USD","side":"debit","amount":"12345678901234567890123.45"},{"account":"m:owed","currency":"USD","side":"credit","amount":"12345678901234567890123.45"}]}
{"type":"entry","id":"e2","at":"2026-01-05T10:00:00Z","kind":"k","postings":[{"account":"m:bank","currency":"JPY","side":"debit","amount":"1000"},{"account":"m:owed","currency":"JPY","side":"credit","amount":"1000"},{"account":"m:bank","currency":"BHD","side":"debit","amount":"0.001"},{"account":"m:owed","currency":"BHD","side":"credit","amount":"0.001"},{"account":"m:bank","currency":"PTS2","side":"debit","amount":"0.000001"},{"account":"m:owed","currency":"PTS2","side":"credit","amount":"0.000001"},{"account":"m:bank","currency":"CLF","side":"debit","amount":"1.2345"},{"account":"m:owed","currency":"CLF","side":"credit","amount":"1.2345"}]}
{"type":"entry","id":"e3","at":"2026-01-06T10:00:00Z","kind":"k","postings":[{"account":"m:exp","currency":"USD","side":"debit","amount":"5.00"},{"account":"m:rev","currency":"USD","side":"credit","amount":"7.50"},{"account":"m:eq","currency":"USD","side":"debit","amount":"2.50"}]}
{"type":"entry","id":"e4","at":"2026-01-07T10:00:00Z","kind":"k","postings":[{"account":"m:owed","currency":"USD","side":"debit","amount":"0.01"},{"account":"m:bank","currency":"USD","side":"credit","amount":"0.01"}]}
)J";
    if (has_config_) {
      in +=
          R"J({"type":"sale","id":"o-1","at":"2026-01-05T10:00:00Z","marketplace":"shop","seller":"p1","amount":"120.00","currency":"EUR","category":"product","affiliate":"a7"}
{"type":"refund","id":"r-1","at":"2026-01-06T10:00:00Z","marketplace":"shop","sale":"o-1","amount":"33.33"}
)J";
    }
    std::vector<std::string> args = {"tally", "--data", dir_.sub("data")};
    if (has_config_) {
      args.push_back("--config");
      args.push_back(config);
    }
    args.push_back("post");
    args.push_back("-");
    auto [code, out] = cli(args, in);
    ASSERT_EQ(code, 0) << out;
  }

  std::pair<int, std::string> cli(std::vector<std::string> args, const std::string& input = "") {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    std::istringstream in(input);
    std::ostringstream out, err;
    int code = run_cli(static_cast<int>(args.size()), argv.data(), in, out, err);
    return {code, out.str() + err.str()};
  }

  // Every non-zero balance, debit-positive, from tally.
  BalanceMap tally_balances() {
    auto [code, out] = cli({"tally", "--data", dir_.sub("data"), "--json", "balances", ""});
    EXPECT_EQ(code, 0) << out;
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    EXPECT_EQ(p.parse(out).get(doc), simdjson::SUCCESS);
    BalanceMap b;
    for (simdjson::dom::element row : doc["accounts"].get_array()) {
      std::string account{std::string_view(row["account"])};
      std::string code_{std::string_view(row["currency"])};
      std::string balance{std::string_view(row["balance"])};
      if (is_zero(balance)) continue;
      // Kinds by name: m:bank, m:exp, shop:cash and shop:expense:* are debit-normal.
      bool debit_normal_kind = account == "m:bank" || account == "m:exp" ||
                               account == "shop:cash" || account.rfind("shop:expense", 0) == 0;
      b[{account, code_}] = debit_positive(balance, debit_normal_kind);
    }
    return b;
  }

  std::string journal() {
    std::string path = dir_.sub("tally.journal");
    auto [code, out] = cli({"tally", "--data", dir_.sub("data"), "export", "--format", "hledger"});
    EXPECT_EQ(code, 0);
    std::ofstream(path) << out;
    return path;
  }

  TempDir dir_;
  bool has_config_ = false;
};

TEST_F(ExportTest, HledgerReportsTallysBalances) {
  if (!have_tool("hledger")) TALLY_PREREQUISITE_MISSING("hledger is not installed (scripts/deps)");
  std::string path = journal();
  int status = 0;
  std::string csv = capture(
      "hledger -f '" + path + "' balance --flat --no-total -O csv --layout=bare 2>&1", &status);
  ASSERT_EQ(status, 0) << csv;
  BalanceMap hledger;
  std::istringstream s(csv);
  std::string line;
  std::getline(s, line);
  EXPECT_EQ(line, R"("account","commodity","balance")");
  while (std::getline(s, line)) {
    // "m:bank","USD","12345678901234567890123.45"
    std::vector<std::string> cells;
    std::stringstream ls(line);
    for (std::string cell; std::getline(ls, cell, ',');) cells.push_back(unquote(cell));
    ASSERT_EQ(cells.size(), 3u) << line;
    hledger[{cells[0], cells[1]}] = cells[2];
  }
  BalanceMap expected = tally_balances();
  EXPECT_EQ(hledger, expected);
  EXPECT_GE(expected.size(), 11u);
  status = 0;
  std::string check = capture("hledger -f '" + path + "' check 2>&1", &status);
  EXPECT_EQ(status, 0) << check;
}

TEST_F(ExportTest, LedgerReportsTallysBalances) {
  if (!have_tool("ledger")) TALLY_PREREQUISITE_MISSING("ledger is not installed (scripts/deps)");
  std::string path = journal();
  int status = 0;
  std::string text = capture("ledger -f '" + path + "' balance --flat --no-total 2>&1", &status);
  ASSERT_EQ(status, 0) << text;
  // Lines "AMOUNT COMMODITY[  ACCOUNT]": an account's several commodities come on lines of
  // their own, the account's name on the last one.
  BalanceMap ledger;
  std::vector<std::pair<std::string, std::string>> pending;
  std::istringstream s(text);
  for (std::string line; std::getline(s, line);) {
    std::istringstream ls(line);
    std::string amount, commodity, account;
    ls >> amount >> commodity >> account;
    ASSERT_FALSE(commodity.empty()) << line;
    pending.emplace_back(unquote(commodity), amount);
    if (account.empty()) continue;
    for (auto& [c, a] : pending) ledger[{account, c}] = a;
    pending.clear();
  }
  EXPECT_TRUE(pending.empty()) << text;
  EXPECT_EQ(ledger, tally_balances());
}

TEST_F(ExportTest, JournalSpellsCommoditiesBothToolsAccept) {
  std::ifstream f(journal());
  std::stringstream ss;
  ss << f.rdbuf();
  std::string text = ss.str();
  EXPECT_NE(text.find("commodity USD\n    format 1000.00 USD\n"), std::string::npos);
  EXPECT_NE(text.find("commodity JPY\ncommodity"), std::string::npos);  // no format for 0 decimals
  EXPECT_NE(text.find("commodity \"PTS2\"\n    format 1000.000000 \"PTS2\"\n"), std::string::npos);
  EXPECT_NE(text.find("account m:owed  ; type: L\n"), std::string::npos);
  // The meta value's newline stays inside the one comment line.
  EXPECT_NE(text.find("    ; meta: {\"n\":\"line1\\nline2\",\"q\":\"\\\"x\\\", y\"}\n"),
            std::string::npos)
      << text;
  // Business time in UTC: 1969-12-31T23:00:00-02:00 is 1970-01-01T01:00:00Z.
  EXPECT_NE(text.find("\n1970-01-01 *odd (kind) a;b  ; c  ; seq: 1,"), std::string::npos);
  EXPECT_NE(text.find("    m:owed  -12345678901234567890123.45 USD\n"), std::string::npos);
}

TEST(ExportFieldsTest, CsvQuotingAndCommodityNames) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(hledger_commodity("EUR"), "EUR");
  EXPECT_EQ(hledger_commodity("PTS2"), "\"PTS2\"");
}

}  // namespace
}  // namespace tally
