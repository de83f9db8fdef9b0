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

#include "cli_fixture.h"
#include "common/test_util.h"
#include "service/service.h"

namespace tally {
namespace {

using namespace tally::testing;

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
  EXPECT_EQ(uint64_t(e["limits"]["lease_ttl_s"]), 0u);  // no etcd here
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

// `tally serve --lease-ttl-s S`: the failover leader's etcd lease, only with --etcd, within
// limits::lease_ttl_s_min..max; each refusal names the option before anything is opened.
TEST_F(CliTest, ServeLeaseTtlIsForEtcdAndBounded) {
  const std::vector<std::string> etcd = {
      "tally",  "--token",     "t",         "serve", "--data",      dir_.sub("served"),
      "--etcd", "127.0.0.1:1", "--cluster", "c",     "--advertise", "unix:x"};
  auto with = [&](std::vector<std::string> base, std::vector<std::string> extra) {
    base.insert(base.end(), extra.begin(), extra.end());
    return run_raw(base);
  };
  auto no_etcd = with({"tally", "serve", "--data", dir_.sub("served")}, {"--lease-ttl-s", "5"});
  EXPECT_EQ(no_etcd.code, 2);
  EXPECT_NE(no_etcd.err.find("--lease-ttl-s is for --etcd"), std::string::npos) << no_etcd.err;
  for (const std::string& bad : {std::to_string(limits::lease_ttl_s_min - 1),
                                 std::to_string(limits::lease_ttl_s_max + 1), std::string("3s")}) {
    auto r = with(etcd, {"--lease-ttl-s", bad});
    EXPECT_EQ(r.code, 2) << bad;
    EXPECT_NE(r.err.find("--lease-ttl-s: a number, " + std::to_string(limits::lease_ttl_s_min) +
                         ".." + std::to_string(limits::lease_ttl_s_max)),
              std::string::npos)
        << bad << ": " << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.sub("served") + "/data.mdb"));
}

// An empty value (`--lease-ttl-s ""`, `--idle-timeout-ms=`) is not the default: every valued
// `tally serve` option, and every global one (--config, --token, ...), refuses it, naming the
// option, before anything is opened.
TEST_F(CliTest, ServeRefusesAnEmptyValueNamingTheOption) {
  for (const std::string opt : {"--lease-ttl-s", "--connections-max", "--login-timeout-ms",
                                "--idle-timeout-ms", "--sync-standbys", "--settle-chunk-payees",
                                "--listen", "--config", "--log-level", "--token", "--tls-ca"}) {
    for (bool joined : {false, true}) {
      std::vector<std::string> args = {"tally", "serve", "--data", dir_.sub("served")};
      if (joined)
        args.push_back(opt + "=");
      else
        args.insert(args.end(), {opt, ""});
      auto r = run_raw(args);
      EXPECT_EQ(r.code, 2) << opt << (joined ? "=" : " \"\"");
      EXPECT_NE(r.err.find(opt + " needs a value"), std::string::npos) << opt << ": " << r.err;
    }
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.sub("served") + "/data.mdb"));
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

}  // namespace
}  // namespace tally
