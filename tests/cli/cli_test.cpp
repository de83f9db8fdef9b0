// The `tally` command in process against a temporary data directory: output lines, JSON shapes
// and exit codes of every client command (SPEC section 5). Expected amounts are worked out by
// hand in the comments.
#include "cli/cli.h"

#include <simdjson.h>
#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

#include "common/test_util.h"
#include "service/service.h"

namespace tally {
namespace {

using namespace tally::testing;

struct CliRun {
  int code = -1;
  std::string out, err;
  std::vector<std::string> lines() const {
    std::vector<std::string> v;
    std::istringstream s(out);
    for (std::string l; std::getline(s, l);) v.push_back(l);
    return v;
  }
};

constexpr const char* kSpecExample =
    R"({"type":"open","account":"ops:bank","kind":"asset","currencies":["USD","EUR"]}
{"type":"open","account":"ops:wallets:w1","kind":"liability","currencies":["USD"],"flags":["no_overdraft"]}
{"type":"entry","id":"dep-1","at":"2026-01-05T10:00:00Z","kind":"deposit","meta":{"ref":"r1"},"postings":[{"account":"ops:bank","currency":"USD","side":"debit","amount":"100.00"},{"account":"ops:wallets:w1","currency":"USD","side":"credit","amount":"100.00"}]}
)";

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("TALLY_CONNECT");
    unsetenv("TALLY_TOKEN");
  }

  CliRun run(std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> full = {"tally", "--data", dir_.sub("data")};
    full.insert(full.end(), args.begin(), args.end());
    return run_raw(full, input);
  }
  static CliRun run_raw(std::vector<std::string> full, const std::string& input = "") {
    std::vector<char*> argv;
    for (auto& a : full) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::istringstream in(input);
    std::ostringstream out, err;
    CliRun r;
    r.code = run_cli(static_cast<int>(full.size()), argv.data(), in, out, err);
    r.out = out.str();
    r.err = err.str();
    return r;
  }
  CliRun post(const std::string& input, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = extra;
    args.push_back("post");
    args.push_back("-");
    return run(args, input);
  }
  void post_example() {
    auto r = post(kSpecExample);
    ASSERT_EQ(r.code, 0) << r.out << r.err;
  }
  // Parses one JSON document; the element lives as long as parser_.
  simdjson::dom::element json(const std::string& text) {
    simdjson::dom::element e;
    auto err = parser_.parse(text).get(e);
    EXPECT_EQ(err, simdjson::SUCCESS) << text;
    return e;
  }
  static std::string str(simdjson::dom::element e, std::string_view key) {
    std::string_view s;
    auto err = e[key].get(s);
    EXPECT_EQ(err, simdjson::SUCCESS) << key << " in " << simdjson::to_string(e);
    return std::string(s);
  }

  TempDir dir_;
  simdjson::dom::parser parser_;
};

TEST_F(CliTest, PostsTheSpecExample) {
  auto r = post(kSpecExample);
  EXPECT_EQ(r.code, 0) << r.err;
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0], R"({"line":1,"id":"ops:bank","status":"ok","code":"ok","message":""})");
  EXPECT_EQ(lines[1], R"({"line":2,"id":"ops:wallets:w1","status":"ok","code":"ok","message":""})");
  auto e = json(lines[2]);
  EXPECT_EQ(int64_t(e["line"]), 3);
  EXPECT_EQ(str(e, "id"), "dep-1");
  EXPECT_EQ(str(e, "status"), "ok");
  EXPECT_EQ(uint64_t(e["seq"]), 1u);

  // Again: every line is a duplicate, nothing changes, still exit 0.
  auto again = post(kSpecExample);
  EXPECT_EQ(again.code, 0);
  for (auto& l : again.lines()) EXPECT_EQ(str(json(l), "status"), "duplicate") << l;
  auto b = run({"--json", "balance", "ops:bank", "--currency", "USD"});
  EXPECT_EQ(str(json(b.out), "balance"), "100.00");
}

TEST_F(CliTest, PostFromAFileAndBlankLinesKeepLineNumbers) {
  std::string path = dir_.sub("in.jsonl");
  std::ofstream(path) << "\n" << kSpecExample << "   \n";
  auto r = run({"post", path});
  EXPECT_EQ(r.code, 0) << r.err;
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(int64_t(json(lines[0])["line"]), 2);
  EXPECT_EQ(int64_t(json(lines[2])["line"]), 4);
}

TEST_F(CliTest, FailedLinesExitOneAndTheRestCommit) {
  post_example();
  std::string in =
      R"({"type":"entry","id":"dep-2","at":"2026-01-05T10:00:00Z","kind":"deposit","postings":[{"account":"ops:bank","currency":"USD","side":"debit","amount":"5.00"},{"account":"ops:wallets:w1","currency":"USD","side":"credit","amount":"4.99"}]}
{"type":"entry","id":"dep-3","at":"2026-01-05T10:00:00Z","kind":"deposit","postings":[{"account":"ops:bank","currency":"USD","side":"debit","amount":5},{"account":"ops:wallets:w1","currency":"USD","side":"credit","amount":"5.00"}]}
not json
{"type":"entry","id":"dep-4","at":"2026-01-05T10:00:00Z","kind":"deposit","postings":[{"account":"ops:bank","currency":"USD","side":"debit","amount":"1.00"},{"account":"ops:wallets:w1","currency":"USD","side":"credit","amount":"1.00"}]}
{"type":"entry","id":"dep-1","at":"2026-01-05T10:00:00Z","kind":"deposit","postings":[{"account":"ops:bank","currency":"USD","side":"debit","amount":"1.00"},{"account":"ops:wallets:w1","currency":"USD","side":"credit","amount":"1.00"}]}
)";
  auto r = post(in);
  EXPECT_EQ(r.code, 1);
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 5u) << r.out;
  auto l1 = json(lines[0]);
  EXPECT_EQ(str(l1, "status"), "error");
  EXPECT_EQ(str(l1, "code"), "unbalanced");
  EXPECT_EQ(str(l1, "message"), "unbalanced: USD debits 5.00 != credits 4.99");
  auto l2 = json(lines[1]);
  EXPECT_EQ(str(l2, "code"), "bad_amount");
  EXPECT_EQ(str(l2, "id"), "dep-3");
  EXPECT_EQ(str(l2, "message"),
            R"(postings[0].amount: must be a string like "12.50", not a JSON number)");
  auto l3 = json(lines[2]);
  EXPECT_EQ(str(l3, "code"), "bad_request");
  EXPECT_TRUE(l3["id"].is_null());
  EXPECT_EQ(str(json(lines[3]), "status"), "ok");
  EXPECT_EQ(str(json(lines[4]), "code"), "id_conflict");
  auto b = run({"--json", "balance", "ops:bank", "--currency", "USD"});
  EXPECT_EQ(str(json(b.out), "balance"), "101.00");
}

TEST_F(CliTest, ARejectedLineSinksItsLinkedChain) {
  post_example();
  std::string in =
      R"({"type":"entry","id":"l-1","at":"2026-01-05T10:00:00Z","kind":"t","linked":true,"postings":[{"account":"ops:bank","currency":"USD","side":"debit","amount":"1.00"},{"account":"ops:wallets:w1","currency":"USD","side":"credit","amount":"1.00"}]}
{"type":"entry","id":"l-2","at":"2026-01-05T10:00:00Z","kind":"t","linked":true,"postings":[{"account":"ops:bank","currency":"XXX","side":"debit","amount":"1.00"}]}
{"type":"entry","id":"l-3","at":"2026-01-05T10:00:00Z","kind":"t","postings":[{"account":"ops:bank","currency":"USD","side":"debit","amount":"1.00"},{"account":"ops:wallets:w1","currency":"USD","side":"credit","amount":"1.00"}]}
{"type":"entry","id":"l-4","at":"2026-01-05T10:00:00Z","kind":"t","postings":[{"account":"ops:bank","currency":"USD","side":"debit","amount":"2.00"},{"account":"ops:wallets:w1","currency":"USD","side":"credit","amount":"2.00"}]}
)";
  auto r = post(in);
  EXPECT_EQ(r.code, 1);
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(str(json(lines[0]), "code"), "linked_failed");
  EXPECT_EQ(str(json(lines[0]), "message"),
            "linked: line 2 of this linked chain failed (bad_currency); nothing of the chain "
            "was committed");
  EXPECT_EQ(str(json(lines[1]), "code"), "bad_currency");
  EXPECT_EQ(str(json(lines[2]), "code"), "linked_failed");
  EXPECT_EQ(str(json(lines[3]), "status"), "ok");
  auto b = run({"--json", "balance", "ops:bank", "--currency", "USD"});
  EXPECT_EQ(str(json(b.out), "balance"), "102.00");  // only l-4
}

// The last line linked to nothing: its chain is left open and fails whole; the lines before it
// commit.
TEST_F(CliTest, ALinkedLastLineLeavesItsChainOpen) {
  post_example();
  std::string in =
      R"({"type":"entry","id":"o-1","at":"2026-01-05T10:00:00Z","kind":"t","postings":[{"account":"ops:bank","currency":"USD","side":"debit","amount":"1.00"},{"account":"ops:wallets:w1","currency":"USD","side":"credit","amount":"1.00"}]}
{"type":"entry","id":"o-2","at":"2026-01-05T10:00:00Z","kind":"t","linked":true,"postings":[{"account":"ops:bank","currency":"USD","side":"debit","amount":"1.00"},{"account":"ops:wallets:w1","currency":"USD","side":"credit","amount":"1.00"}]}
)";
  auto r = post(in);
  EXPECT_EQ(r.code, 1);
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(str(json(lines[0]), "status"), "ok");
  EXPECT_EQ(str(json(lines[1]), "code"), "linked_chain_open");
}

TEST_F(CliTest, ChunksNeverSplitALinkedChain) {
  post_example();
  // Chunks of 2 lines; the chain l-1..l-3 fails at l-3 (overdraft of the no_overdraft wallet),
  // so l-1 and l-2 must not commit although a chunk boundary falls inside the chain.
  auto line = [](std::string id, std::string amount, bool linked) {
    return R"({"type":"entry","id":")" + id + R"(","at":"2026-01-05T10:00:00Z","kind":"t",)" +
           (linked ? R"("linked":true,)" : "") +
           R"("postings":[{"account":"ops:wallets:w1","currency":"USD","side":"debit","amount":")" +
           amount + R"("},{"account":"ops:bank","currency":"USD","side":"credit","amount":")" +
           amount + "\"}]}\n";
  };
  std::string in = line("l-1", "40.00", true) + line("l-2", "40.00", true) +
                   line("l-3", "40.00", false) + line("l-4", "1.00", false);
  auto r = run({"post", "--chunk", "2", "-"}, in);
  EXPECT_EQ(r.code, 1);
  auto lines = r.lines();
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(str(json(lines[0]), "code"), "linked_failed");
  EXPECT_EQ(str(json(lines[1]), "code"), "linked_failed");
  EXPECT_EQ(str(json(lines[2]), "code"), "overdraft");
  EXPECT_EQ(str(json(lines[3]), "status"), "ok");
  auto b = run({"--json", "balance", "ops:wallets:w1"});
  EXPECT_EQ(str(json(b.out), "balance"), "99.00");
}

TEST_F(CliTest, BalanceTextAndJson) {
  post_example();
  auto t = run({"balance", "ops:bank"});
  EXPECT_EQ(t.code, 0);
  auto lines = t.lines();
  ASSERT_EQ(lines.size(), 3u) << t.out;
  EXPECT_EQ(lines[0].substr(0, 24), "ops:bank (asset) as of 2");
  EXPECT_EQ(lines[1], "  EUR    0.00");
  EXPECT_EQ(lines[2], "  USD  100.00");

  auto j = run({"balance", "ops:wallets:w1", "--json", "--currency", "USD"});
  EXPECT_EQ(j.code, 0);
  auto e = json(j.out);
  EXPECT_EQ(str(e, "account"), "ops:wallets:w1");
  EXPECT_EQ(str(e, "currency"), "USD");
  EXPECT_EQ(str(e, "balance"), "100.00");  // a liability's credit balance is positive
  EXPECT_TRUE(parse_rfc3339(str(e, "as_of"), "as_of").ok());

  // As of a time before the account was opened: not yet opened, never a 0.00.
  auto old = run({"--json", "balance", "ops:bank", "--currency", "USD", "--as-of", "2000-01-01"});
  EXPECT_EQ(old.code, 0) << old.err;
  EXPECT_TRUE(json(old.out)["balance"].is_null()) << old.out;
  EXPECT_TRUE(json(old.out)["not_yet_opened"].get_bool().value()) << old.out;
  EXPECT_EQ(str(json(old.out), "as_of"), "2000-01-01T00:00:00Z");

  auto unknown = run({"balance", "ops:nope"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_EQ(unknown.err, "tally balance: account: \"ops:nope\" was never opened\n");
  auto cur = run({"balance", "ops:wallets:w1", "--currency", "EUR"});
  EXPECT_EQ(cur.code, 1) << cur.err;
}

TEST_F(CliTest, BalancesShapes) {
  post_example();
  auto j = run({"--json", "balances", "ops"});
  EXPECT_EQ(j.code, 0);
  auto e = json(j.out);
  simdjson::dom::array accounts = e["accounts"];
  ASSERT_EQ(accounts.size(), 3u);
  EXPECT_EQ(str(accounts.at(1), "account"), "ops:bank");
  EXPECT_EQ(str(accounts.at(1), "currency"), "USD");
  EXPECT_EQ(str(accounts.at(1), "balance"), "100.00");
  EXPECT_EQ(str(accounts.at(2), "account"), "ops:wallets:w1");
  simdjson::dom::array totals = e["totals"];
  ASSERT_EQ(totals.size(), 2u);
  EXPECT_EQ(str(totals.at(1), "currency"), "USD");
  EXPECT_EQ(str(totals.at(1), "balance"), "200.00");

  auto t = run({"balances", "ops:wallets"});
  EXPECT_EQ(t.code, 0);
  EXPECT_EQ(t.out,
            "ACCOUNT         CURRENCY  BALANCE\n"
            "ops:wallets:w1  USD        100.00\n"
            "total           USD        100.00\n");
}

TEST_F(CliTest, TrialBalanceShapes) {
  post_example();
  auto j = run({"--json", "trial-balance"});
  EXPECT_EQ(j.code, 0);
  auto e = json(j.out);
  simdjson::dom::array cs = e["currencies"];
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_EQ(str(cs.at(1), "currency"), "USD");
  EXPECT_EQ(str(cs.at(1), "debits"), "100.00");
  EXPECT_EQ(str(cs.at(1), "credits"), "100.00");
  auto t = run({"trial-balance"});
  auto lines = t.lines();
  ASSERT_EQ(lines.size(), 4u) << t.out;
  EXPECT_EQ(lines[1], "CURRENCY  DEBITS  CREDITS");
  EXPECT_EQ(lines[3], "USD       100.00   100.00");
}

TEST_F(CliTest, StatementPagesAndJson) {
  post_example();
  std::string in;
  for (int i = 2; i <= 4; ++i)
    in +=
        R"({"type":"entry","id":"dep-)" + std::to_string(i) + R"(","at":"2026-01-0)" +
        std::to_string(4 + i) +
        R"(T10:00:00Z","kind":"deposit","postings":[{"account":"ops:bank","currency":"USD","side":"debit","amount":"1.00"},{"account":"ops:wallets:w1","currency":"USD","side":"credit","amount":"1.00"}]})"
        "\n";
  ASSERT_EQ(post(in).code, 0);
  auto p1 = run({"--json", "statement", "ops:wallets:w1", "--limit", "2"});
  EXPECT_EQ(p1.code, 0) << p1.err;
  auto e = json(p1.out);
  simdjson::dom::array lines = e["lines"];
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(str(lines.at(0), "id"), "dep-1");
  EXPECT_EQ(str(lines.at(0), "side"), "credit");
  EXPECT_EQ(str(lines.at(0), "amount"), "100.00");
  EXPECT_EQ(str(lines.at(1), "balance"), "101.00");
  std::string next = str(e, "next");
  ASSERT_FALSE(next.empty());
  auto p2 = run({"--json", "statement", "ops:wallets:w1", "--limit", "2", "--after", next});
  auto e2 = json(p2.out);
  simdjson::dom::array lines2 = e2["lines"];
  ASSERT_EQ(lines2.size(), 2u);
  EXPECT_EQ(str(lines2.at(1), "id"), "dep-4");
  EXPECT_EQ(str(lines2.at(1), "balance"), "103.00");
  EXPECT_TRUE(e2["next"].is_null());

  // By business time: only the entries dated 2026-01-07 and later.
  auto bt = run({"--json", "statement", "ops:wallets:w1", "--business-time", "--from", "2026-01-07",
                 "--to", "2026-01-08"});
  auto e3 = json(bt.out);
  simdjson::dom::array lines3 = e3["lines"];
  ASSERT_EQ(lines3.size(), 1u);
  EXPECT_EQ(str(lines3.at(0), "id"), "dep-3");

  auto text = run({"statement", "ops:wallets:w1", "--limit", "1"});
  EXPECT_EQ(text.code, 0);
  EXPECT_NE(text.out.find("dep-1"), std::string::npos);
  EXPECT_NE(text.out.find("more: --after "), std::string::npos);
}

TEST_F(CliTest, EntryShapes) {
  post_example();
  auto j = run({"entry", "dep-1", "--json"});
  EXPECT_EQ(j.code, 0);
  auto e = json(j.out);
  EXPECT_EQ(str(e, "id"), "dep-1");
  EXPECT_EQ(uint64_t(e["seq"]), 1u);
  EXPECT_EQ(str(e, "at"), "2026-01-05T10:00:00Z");
  EXPECT_EQ(str(e, "kind"), "deposit");
  EXPECT_EQ(str(e["meta"], "ref"), "r1");
  simdjson::dom::array ps = e["postings"];
  ASSERT_EQ(ps.size(), 2u);
  EXPECT_EQ(str(ps.at(0), "account"), "ops:bank");
  EXPECT_EQ(str(ps.at(0), "side"), "debit");
  EXPECT_EQ(str(ps.at(0), "amount"), "100.00");
  EXPECT_EQ(str(e, "hash").size(), 64u);
  auto t = run({"entry", "dep-1"});
  EXPECT_NE(t.out.find("  debit   ops:bank        100.00 USD"), std::string::npos) << t.out;
  EXPECT_NE(t.out.find("meta.ref"), std::string::npos);
  auto missing = run({"entry", "nope"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no entry \"nope\""), std::string::npos) << missing.err;
  auto jm = run({"--json", "entry", "nope"});
  EXPECT_EQ(str(json(jm.err), "code"), "unknown_entry");
}

TEST_F(CliTest, Verify) {
  post_example();
  auto t = run({"verify"});
  EXPECT_EQ(t.code, 0);
  EXPECT_EQ(t.out.substr(0, 28), "ok: 1 entries, 2 postings; h");
  auto j = run({"--json", "verify"});
  auto e = json(j.out);
  EXPECT_TRUE(bool(e["ok"]));
  EXPECT_EQ(uint64_t(e["entries"]), 1u);
  EXPECT_EQ(uint64_t(e["postings"]), 2u);
}

TEST_F(CliTest, ServerInfoShowsTheVersionAndLimits) {
  post_example();
  auto t = run({"server-info"});
  EXPECT_EQ(t.code, 0) << t.err;
  EXPECT_EQ(t.out.rfind("tally ", 0), 0u) << t.out;
  EXPECT_NE(t.out.find("batch_items_max 10000\n"), std::string::npos) << t.out;
  auto j = run({"--json", "server-info"});
  ASSERT_EQ(j.code, 0) << j.err;
  auto e = json(j.out);
  EXPECT_FALSE(std::string_view(e["version"]).empty());
  EXPECT_EQ(uint64_t(e["limits"]["batch_items_max"]), limits::batch_items_max);
  EXPECT_EQ(uint64_t(e["limits"]["id_bytes_max"]), limits::entry_id_bytes_max);
  EXPECT_EQ(uint64_t(e["limits"]["idle_timeout_ms"]), limits::idle_timeout_ms);
  EXPECT_EQ(uint64_t(e["limits"]["calls_in_flight_max"]), limits::calls_in_flight_max);
  EXPECT_EQ(run({"server-info", "extra"}).code, 2);
}

TEST_F(CliTest, ClosePeriodRefusesEntriesDatedInIt) {
  post_example();
  auto c = run({"close-period", "2026-01-31"});
  EXPECT_EQ(c.code, 0) << c.err;
  EXPECT_EQ(c.out,
            "closed through 2026-01-31: entries dated before 2026-02-01T00:00:00Z are refused "
            "from now on\n");
  auto r = post(
      R"({"type":"entry","id":"late","at":"2026-01-20T10:00:00Z","kind":"t","postings":[{"account":"ops:bank","currency":"USD","side":"debit","amount":"1.00"},{"account":"ops:wallets:w1","currency":"USD","side":"credit","amount":"1.00"}]})"
      "\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(str(json(r.out), "code"), "period_closed");
  EXPECT_EQ(run({"close-period", "31/01/2026"}).code, 2);
}

TEST_F(CliTest, ExportCsv) {
  post_example();
  auto r = run({"export", "--format", "csv"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out,
            "seq,id,at,kind,account,currency,side,amount\n"
            "1,dep-1,2026-01-05T10:00:00Z,deposit,ops:bank,USD,debit,100.00\n"
            "1,dep-1,2026-01-05T10:00:00Z,deposit,ops:wallets:w1,USD,credit,100.00\n");
}

TEST_F(CliTest, UsageErrorsExitTwo) {
  post_example();
  EXPECT_EQ(run({}).code, 2);
  EXPECT_EQ(run({"frobnicate"}).code, 2);
  EXPECT_EQ(run({"balance"}).code, 2);
  EXPECT_EQ(run({"balance", "a", "b"}).code, 2);
  EXPECT_EQ(run({"balance", "ops:bank", "--as-of", "yesterday"}).code, 2);
  EXPECT_EQ(run({"balance", "ops:bank", "--bogus"}).code, 2);
  EXPECT_EQ(run({"balance", "ops:bank", "--currency"}).code, 2);
  EXPECT_EQ(run({"statement", "ops:bank", "--limit", "0"}).code, 2);
  EXPECT_EQ(run({"statement", "ops:bank", "--limit", "x"}).code, 2);
  EXPECT_EQ(run({"export"}).code, 2);
  EXPECT_EQ(run({"export", "--format", "xml"}).code, 2);
  EXPECT_EQ(run({"post"}).code, 2);
  EXPECT_EQ(run({"post", dir_.sub("missing.jsonl")}).code, 2);
  EXPECT_EQ(run({"hold", "p1", "--on", "--reason", "x"}).code, 2);
  EXPECT_EQ(run({"hold", "shop:p1", "--on", "--off", "--reason", "x"}).code, 2);
  EXPECT_EQ(run({"settle", "shop"}).code, 2);
  EXPECT_EQ(run({"payouts", "r1", "--format", "pdf"}).code, 2);
  EXPECT_EQ(run({"--connect", "127.0.0.1:1", "balance", "ops:bank"}).code, 2);  // and --data
  EXPECT_EQ(run_raw({"tally", "balance", "ops:bank"}).code, 2);  // neither --data nor --connect
  auto bad_config = run({"--config", dir_.sub("nope.toml"), "balance", "ops:bank"});
  EXPECT_EQ(bad_config.code, 2);
}

TEST_F(CliTest, HelpAndVersion) {
  auto h = run_raw({"tally", "help"});
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.out.find("usage: tally"), std::string::npos);
  auto v = run_raw({"tally", "--version"});
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.out.substr(0, 6), "tally ");
}

TEST_F(CliTest, MissingDataDirectoryForAReadExitsThree) {
  auto r = run({"balance", "ops:bank"});  // nothing was ever posted: no data directory
  EXPECT_EQ(r.code, 3);
  EXPECT_NE(r.err.find("no data directory"), std::string::npos) << r.err;
}

TEST_F(CliTest, ConnectWithoutAServerExitsThree) {
  auto r = run_raw({"tally", "--connect", "127.0.0.1:1", "--token", "t", "balance", "ops:bank"});
  EXPECT_EQ(r.code, 3) << r.err;
  setenv("TALLY_CONNECT", "127.0.0.1:1", 1);
  auto e = run_raw({"tally", "balance", "ops:bank"});
  EXPECT_EQ(e.code, 3) << e.err;
  unsetenv("TALLY_CONNECT");
}

constexpr const char* kShopConfig = R"toml(
[marketplaces.shop]
currencies = ["EUR"]
timezone = "Europe/Paris"
rounding = "half_even"
commission_rate = { product = "10%", service = "20%" }
affiliate_rate = "7%"
fee_rate = "2.9%"
fee_fixed = "0.25"
fee_payer = "payee"
hold_days = 14
hold_from = "delivery"
schedule = { every_days = 7, anchor = "2026-01-05" }
minimum_payout = "10.00"
holidays = []
payout_account = { name = "Shop SAS", iban = "FR7630006000011234567890189", bic = "AGRIFRPPXXX" }
)toml";

TEST_F(CliTest, PostsASaleThroughTheMarketplaceRules) {
  std::string config = std::string(TALLY_SOURCE_DIR) + "/fixtures/marketplaces.toml";
  if (!std::ifstream(config)) {
    config = dir_.sub("marketplaces.toml");
    std::ofstream(config) << kShopConfig;
  }
  auto r = post(
      R"({"type":"sale","id":"o-1","at":"2026-01-05T10:00:00Z","marketplace":"shop","seller":"p1","amount":"120.00","currency":"EUR","category":"product","affiliate":"a7"})"
      "\n",
      {"--config", config});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto e = json(r.out);
  EXPECT_EQ(str(e, "status"), "ok");
  // a = 120.00; C = 10% = 12.00; A = 7% = 8.40; F = round(2.9% * 120.00) + 0.25 = 3.48 + 0.25.
  simdjson::dom::element detail = e["detail"];
  EXPECT_EQ(str(detail, "commission"), "12.00");
  EXPECT_EQ(str(detail, "affiliate"), "8.40");
  EXPECT_EQ(str(detail, "fee"), "3.73");

  // Seller pending a - C - F = 104.27; platform commission C - A = 3.60; cash a - F = 116.27.
  auto bal = [&](const std::string& account) {
    auto b = run({"--json", "balance", account, "--currency", "EUR"});
    EXPECT_EQ(b.code, 0) << b.err;
    return str(json(b.out), "balance");
  };
  EXPECT_EQ(bal("shop:payees:p1:pending"), "104.27");
  EXPECT_EQ(bal("shop:payees:a7:pending"), "8.40");
  EXPECT_EQ(bal("shop:revenue:commission"), "3.60");
  EXPECT_EQ(bal("shop:revenue:fee_recharge"), "3.73");
  EXPECT_EQ(bal("shop:cash"), "116.27");
  EXPECT_EQ(run({"verify"}).code, 0);

  // Without the config the marketplace is unknown: a rejected line.
  auto no_config = post(
      R"({"type":"sale","id":"o-2","at":"2026-01-05T10:00:00Z","marketplace":"shop","seller":"p1","amount":"1.00","currency":"EUR","category":"product"})"
      "\n");
  EXPECT_EQ(no_config.code, 1);
  EXPECT_EQ(str(json(no_config.out), "code"), "unknown_marketplace");
}

// A duplicate line prints the original's detail (issue 17), its seq and commit time: posting the
// same sale, refund, chargeback and earning again gives the same breakdown as the first time.
TEST_F(CliTest, ADuplicateLinePrintsTheOriginalsDetail) {
  const std::string config = std::string(TALLY_SOURCE_DIR) + "/fixtures/marketplaces.toml";
  const std::string lines =
      R"({"type":"sale","id":"o-1","at":"2026-01-05T10:00:00Z","marketplace":"shop","seller":"p1","amount":"120.00","currency":"EUR","category":"product","affiliate":"a7"})"
      "\n"
      R"({"type":"refund","id":"r-1","at":"2026-01-06T10:00:00Z","marketplace":"shop","sale":"o-1","amount":"12.00"})"
      "\n"
      R"({"type":"chargeback","id":"c-1","at":"2026-01-07T10:00:00Z","marketplace":"shop","sale":"o-1","amount":"30.00"})"
      "\n"
      R"({"type":"earning","id":"e-1","at":"2026-01-05T10:00:00Z","marketplace":"shopper","payee":"s1","basis":"50.00","currency":"USD","rule":"session"})"
      "\n";
  auto first = post(lines, {"--config", config});
  ASSERT_EQ(first.code, 0) << first.out << first.err;
  auto again = post(lines, {"--config", config});
  ASSERT_EQ(again.code, 0) << again.out << again.err;
  auto a = first.lines(), b = again.lines();
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);
  auto tail = [](const std::string& l) {  // "seq":...,"committed":...,"detail":{...}}
    size_t at = l.find("\"seq\":");
    return at == std::string::npos ? std::string() : l.substr(at);
  };
  for (size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(a[i]);
    EXPECT_EQ(str(json(a[i]), "status"), "ok");
    EXPECT_EQ(str(json(b[i]), "status"), "duplicate") << b[i];
    EXPECT_NE(a[i].find("\"detail\":{"), std::string::npos);
    EXPECT_EQ(tail(b[i]), tail(a[i]));
  }
  // The hand-worked numbers (docs/accounting.md): 8% of 50.00 is 4.00, below the USD minimum.
  EXPECT_NE(
      b[0].find(
          R"("detail":{"commission":"12.00","affiliate":"8.40","fee":"3.73","seller":"104.27","currency":"EUR"})"),
      std::string::npos)
      << b[0];
  EXPECT_NE(
      b[1].find(
          R"("detail":{"seller":"10.80","platform":"0.36","affiliate":"0.84","refunded_total":"12.00","currency":"EUR"})"),
      std::string::npos)
      << b[1];
  EXPECT_NE(
      b[3].find(R"("detail":{"earned":"4.00","minimum":"10.00","paid":"10.00","currency":"USD"})"),
      std::string::npos)
      << b[3];
}

// `tally hold --id ID --at T` is idempotent: the same again is a duplicate; other content under
// the id is id_conflict; --id without --at is bad_time naming `at` (exit 1).
TEST_F(CliTest, HoldWithAnIdAndAtIsIdempotent) {
  const std::string config = std::string(TALLY_SOURCE_DIR) + "/fixtures/marketplaces.toml";
  ASSERT_EQ(post("", {"--config", config}).code, 0);  // creates the data directory
  auto hold = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"--config", config, "--json", "hold", "shop:p1", "--on"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  };
  auto first = hold({"--reason", "kyc pending", "--id", "h-1", "--at", "2026-01-05T10:00:00Z"});
  ASSERT_EQ(first.code, 0) << first.out << first.err;
  EXPECT_EQ(str(json(first.out), "status"), "ok");
  auto again = hold({"--reason", "kyc pending", "--id", "h-1", "--at", "2026-01-05T10:00:00Z"});
  ASSERT_EQ(again.code, 0) << again.out << again.err;
  EXPECT_EQ(str(json(again.out), "status"), "duplicate");
  auto conflict = hold({"--reason", "other", "--id", "h-1", "--at", "2026-01-05T10:00:00Z"});
  EXPECT_EQ(conflict.code, 1);
  EXPECT_EQ(str(json(conflict.err), "code"), "id_conflict") << conflict.err;
  auto no_at = hold({"--reason", "kyc pending", "--id", "h-2"});
  EXPECT_EQ(no_at.code, 1);
  EXPECT_EQ(str(json(no_at.err), "code"), "bad_time") << no_at.err;
  EXPECT_EQ(str(json(no_at.err), "message").rfind("at: ", 0), 0u) << no_at.err;
}

// `tally post fixtures/shop.jsonl` end to end (issue 18), payee_terms lines included, with the
// quarter's runs settled in between (each pay date after the lines dated before its cut-off, as
// tests/settlement/fixtures_test.cpp does): every line ok, every run's payouts and carried
// balances equal fixtures/shop.expected.json (the independent model, which applies the terms),
// p4's minimum_balance of 20.00 (pt-p4) kept on its available, and the books' final balances.
TEST_F(CliTest, PostsTheShopFixtureWithItsPayeeTermsAndSettlesItsQuarter) {
  const std::string src = TALLY_SOURCE_DIR;
  const std::string config = src + "/fixtures/marketplaces.toml";
  std::vector<std::string> lines;
  {
    std::ifstream in(src + "/fixtures/shop.jsonl");
    for (std::string l; std::getline(in, l);)
      if (!l.empty()) lines.push_back(l);
  }
  std::string expected_text;
  {
    std::ifstream in(src + "/fixtures/shop.expected.json");
    expected_text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  simdjson::dom::parser expected_parser;
  simdjson::dom::element expected;
  ASSERT_EQ(expected_parser.parse(expected_text).get(expected), simdjson::SUCCESS);

  size_t terms_lines = 0;
  std::vector<bool> posted(lines.size(), false);
  auto post_before = [&](std::optional<TimeNs> cutoff) {
    std::string batch;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (posted[i]) continue;
      std::string at = str(json(lines[i]), "at");
      auto t = parse_rfc3339(at, "at");
      ASSERT_TRUE(t.ok()) << lines[i];
      if (cutoff && *t >= *cutoff) continue;
      posted[i] = true;
      if (lines[i].find("\"type\":\"payee_terms\"") != std::string::npos) ++terms_lines;
      batch += lines[i] + "\n";
    }
    if (batch.empty()) return;
    auto r = post(batch, {"--config", config});
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    for (auto& l : r.lines()) EXPECT_EQ(str(json(l), "status"), "ok") << l;
  };
  // "payee currency amount" rows of a JSON array, sorted, for comparison.
  auto rows = [](simdjson::dom::element arr, const char* amount_key) {
    std::vector<std::string> out;
    for (simdjson::dom::element x : simdjson::dom::array(arr)) {
      std::string_view p, c, a;
      EXPECT_EQ(x["payee"].get(p), simdjson::SUCCESS);
      EXPECT_EQ(x["currency"].get(c), simdjson::SUCCESS);
      EXPECT_EQ(x[amount_key].get(a), simdjson::SUCCESS);
      out.push_back(std::string(p) + " " + std::string(c) + " " + std::string(a));
    }
    std::sort(out.begin(), out.end());
    return out;
  };

  size_t runs = 0;
  for (simdjson::dom::element want : simdjson::dom::array(expected["runs"])) {
    std::string_view pay_date, cutoff_text;
    ASSERT_EQ(want["pay_date"].get(pay_date), simdjson::SUCCESS);
    ASSERT_EQ(want["cutoff"].get(cutoff_text), simdjson::SUCCESS);
    SCOPED_TRACE(std::string(pay_date));
    auto cutoff = parse_rfc3339(cutoff_text, "cutoff");
    ASSERT_TRUE(cutoff.ok());
    post_before(*cutoff);
    auto s = run_raw({"tally", "--data", dir_.sub("data"), "--config", config, "--json", "settle",
                      "shop", "--date", std::string(pay_date)});
    ASSERT_EQ(s.code, 0) << s.out << s.err;
    simdjson::dom::parser p;
    simdjson::dom::element got;
    ASSERT_EQ(p.parse(s.out).get(got), simdjson::SUCCESS) << s.out;
    EXPECT_EQ(rows(got["payouts"], "amount"), rows(want["payouts"], "amount"));
    EXPECT_EQ(rows(got["carried"], "balance"), rows(want["carried"], "balance"));
    EXPECT_EQ(rows(got["released"], "amount"), rows(want["released"], "amount"));
    if (pay_date == "2026-03-02") {
      // p4 was paid 50.25 and kept 20.00, its payee_terms' minimum_balance (the marketplace
      // has none).
      auto b = run({"--config", config, "--json", "balance", "shop:payees:p4:available"});
      ASSERT_EQ(b.code, 0) << b.err;
      EXPECT_EQ(str(json(b.out), "balance"), "20.00");
    }
    ++runs;
  }
  EXPECT_EQ(runs, 13u);
  post_before(std::nullopt);
  EXPECT_EQ(terms_lines, 3u);
  for (bool p : posted) EXPECT_TRUE(p);

  // The final books equal the model's.
  auto all = run({"--config", config, "--json", "balances", "shop"});
  ASSERT_EQ(all.code, 0) << all.err;
  simdjson::dom::parser bp;
  simdjson::dom::element books;
  ASSERT_EQ(bp.parse(all.out).get(books), simdjson::SUCCESS);
  std::vector<std::string> have;
  for (simdjson::dom::element x : simdjson::dom::array(books["accounts"])) {
    std::string_view a, c, v;
    EXPECT_EQ(x["account"].get(a), simdjson::SUCCESS);
    EXPECT_EQ(x["currency"].get(c), simdjson::SUCCESS);
    EXPECT_EQ(x["balance"].get(v), simdjson::SUCCESS);
    have.push_back(std::string(a) + " " + std::string(c) + " " + std::string(v));
  }
  for (simdjson::dom::element x : simdjson::dom::array(expected["balances"])) {
    std::string_view a, c, v;
    EXPECT_EQ(x["account"].get(a), simdjson::SUCCESS);
    EXPECT_EQ(x["currency"].get(c), simdjson::SUCCESS);
    EXPECT_EQ(x["balance"].get(v), simdjson::SUCCESS);
    std::string want = std::string(a) + " " + std::string(c) + " " + std::string(v);
    EXPECT_NE(std::find(have.begin(), have.end(), want), have.end()) << want;
  }
  EXPECT_EQ(run({"verify"}).code, 0);
}

// --- Service: role checks ------------------------------------------------------------------------

Entry deposit(std::string id) {
  return entry(std::move(id), {debit("ops:bank", "1.00"), credit("ops:wallets:w1", "1.00")});
}

Event payout_result(std::string id) {
  Event e;
  e.header.id = std::move(id);
  e.header.at = 1'767'607'200'000'000'000;
  e.header.marketplace = "shop";
  e.body = PayoutResultEvent{"po-1", true, ""};
  return e;
}

TEST(ServiceTest, RolesDecideWhoPostsWhat) {
  RoleSet poster{Role::poster}, finance{Role::finance}, auditor{Role::auditor};
  Entry e = deposit("x");
  EXPECT_TRUE(role_may_post(e, poster));
  EXPECT_FALSE(role_may_post(e, finance));
  EXPECT_FALSE(role_may_post(e, auditor));
  Event hold;
  hold.body = PayeeHoldEvent{};
  EXPECT_TRUE(role_may_post(hold, poster));
  EXPECT_TRUE(role_may_post(hold, finance));
  EXPECT_FALSE(role_may_post(hold, auditor));
  Event details;
  details.body = PayeeDetailsEvent{};
  EXPECT_FALSE(role_may_post(details, poster));
  EXPECT_TRUE(role_may_post(details, finance));
  EXPECT_FALSE(role_may_post(payout_result("p"), poster));
  EXPECT_TRUE(role_may_post(payout_result("p"), finance));
  EXPECT_EQ(post_type_name(payout_result("p")), "payout_result");
  EXPECT_EQ(post_type_name(OpenItem{}), "open");
}

TEST(ServiceTest, NotAllowedItemsNeverReachTheWriterAndSinkTheirChain) {
  TempDir dir;
  ServiceOptions o;
  o.data_dir = dir.sub("data");
  std::unique_ptr<Service> s;
  ASSERT_TRUE(Service::open(std::move(o), &s).ok());
  RoleSet poster{Role::poster};
  std::vector<PostItem> setup;
  setup.push_back({OpenItem{account("ops:bank", AccountKind::asset, {"USD"})}, false});
  setup.push_back({OpenItem{account("ops:wallets:w1", AccountKind::liability, {"USD"})}, false});
  for (auto& r : s->post_and_wait(std::move(setup), poster)) ASSERT_TRUE(r.ok()) << r.message;

  std::vector<PostItem> items;
  items.push_back({deposit("a"), false});
  items.push_back({payout_result("pr-1"), false});  // alone: not_allowed
  items.push_back({deposit("b"), true});            // chain b, pr-2, c
  items.push_back({payout_result("pr-2"), true});
  items.push_back({deposit("c"), false});
  items.push_back({deposit("d"), false});
  auto r = s->post_and_wait(std::move(items), poster);
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[0].status, ItemStatus::ok) << r[0].message;
  EXPECT_EQ(r[1].code, Code::not_allowed);
  EXPECT_EQ(r[1].message, "not_allowed: a poster token may not post payout_result");
  EXPECT_EQ(r[1].id, "pr-1");
  EXPECT_EQ(r[2].code, Code::linked_failed);
  EXPECT_EQ(r[2].id, "b");
  EXPECT_EQ(r[3].code, Code::not_allowed);
  EXPECT_EQ(r[4].code, Code::linked_failed);
  EXPECT_EQ(r[5].status, ItemStatus::ok);
  EXPECT_EQ(r[5].seq, 2u);  // only a and d were written
  EXPECT_EQ(s->snapshot()->balance("ops:bank", "USD").value(), amt("2.00"));

  // An auditor may post nothing; with nothing left for the writer, results come back at once.
  std::vector<PostItem> more;
  more.push_back({deposit("e"), false});
  auto r2 = s->post_and_wait(std::move(more), RoleSet{Role::auditor});
  ASSERT_EQ(r2.size(), 1u);
  EXPECT_EQ(r2[0].message, "not_allowed: an auditor token may not post entry");
  EXPECT_EQ(s->ledger().commits(), 2u);
}

}  // namespace
}  // namespace tally
