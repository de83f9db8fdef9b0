// The marketplace layer's reads on the command line (issue 17 item 4): `tally marketplace`,
// `tally payee`, `tally accounts`, `tally runs` without a marketplace. The same books on a data
// directory (`--data`) and behind a server (`--connect`) print the same JSON, byte for byte. The
// marketplaces are fixtures/marketplaces.toml's.
#include <simdjson.h>
#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

#include "both_ways_fixture.h"
#include "cli/cli.h"
#include "cli_fixture.h"
#include "common/test_util.h"
#include "rpc/server.h"
#include "service/service.h"

namespace tally {
namespace {

using namespace tally::testing;

constexpr const char* kLines =
    R"({"type":"payee_details","id":"pd-tm","at":"2026-01-02T14:02:00Z","marketplace":"shopper","payee":"techmiami","name":"Tech Miami LLC","account":"026009593-1234567890","ach":{"routing":"026009593","account":"1234567890","account_type":"checking","receiver_kind":"company"}}
{"type":"sale","id":"s-2003","at":"2026-01-06T14:00:00Z","marketplace":"shopper","seller":"techmiami","amount":"200.10","currency":"USD","category":"electronics"}
{"type":"payee_hold","id":"ph-1","at":"2026-01-07T09:00:00Z","marketplace":"shopper","payee":"techmiami","on":true,"reason":"kyc review"}
{"type":"open","account":"ops:bank","kind":"asset","currencies":["USD","EUR"]}
{"type":"open","account":"ops:wallets:w1","kind":"liability","currencies":["USD"],"flags":["no_overdraft"]}
{"type":"open","account":"ops:wallets:w2","kind":"liability","currencies":["EUR"]}
)";

class ReadsCliTest : public BothWaysCliTest {
 protected:
  ReadsCliTest() : BothWaysCliTest("tok-auditor") {}
};

TEST_F(ReadsCliTest, MarketplaceIsTheSameOnADataDirectoryAndBehindAServer) {
  post_both(kLines);  // a data directory to read
  auto out =
      same_both_ways({"--json", "marketplace", "shopper", "--from", "2026-02-01", "--next", "3"});
  auto m = json(out);
  EXPECT_EQ(str(m["marketplace"]), "shopper");
  EXPECT_EQ(str(m["fee_rate"]), "3.49%");
  EXPECT_EQ(str(m["commission_rate"]["groceries"]), "12%");
  EXPECT_TRUE(m["affiliate_rate"].is_null());
  EXPECT_EQ(str(m["payout_tax"]["rate"]), "0.4%");
  EXPECT_EQ(str(m["co_dispersion"]["company_nit"]), "900123456-8");
  EXPECT_EQ(str(m["from"]), "2026-02-01");
  simdjson::dom::array dates = m["pay_dates"];
  ASSERT_EQ(dates.size(), 3u);
  EXPECT_EQ(str(dates.at(0)["pay_date"]), "2026-02-02");
  EXPECT_EQ(str(dates.at(0)["scheduled"]), "2026-01-31");
  EXPECT_EQ(str(dates.at(2)["cutoff"]), "2026-03-02T05:00:00Z");
  // The text form names the pay dates too.
  auto text = same_both_ways({"marketplace", "shop", "--from", "2026-04-01", "--next", "1"});
  EXPECT_NE(text.find("2026-04-07  2026-04-06  2026-04-06T22:00:00Z"), std::string::npos) << text;
  EXPECT_NE(text.find("reserve          10% for 90 days"), std::string::npos) << text;

  auto unknown = data({"--json", "marketplace", "nope"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.err.find("unknown_marketplace"), std::string::npos) << unknown.err;
  EXPECT_EQ(remote({"marketplace", "nope"}).code, 1);
  EXPECT_EQ(data({"marketplace"}).code, 2);
  EXPECT_EQ(data({"marketplace", "shop", "--next", "0"}).code, 2);
  EXPECT_EQ(data({"marketplace", "shop", "--next", "367"}).code, 2);
  EXPECT_EQ(data({"marketplace", "shop", "--from", "2026-02-30"}).code, 1);
  // Not the finance role's read.
  EXPECT_EQ(remote({"marketplace", "shop"}, "tok-finance").code, 3);
}

TEST_F(ReadsCliTest, PayeeAndAccountsAreTheSameBothWays) {
  post_both(kLines);
  auto out = same_both_ways({"--json", "payee", "shopper", "techmiami"});
  auto p = json(out);
  EXPECT_TRUE(p["hold"]["on"].get_bool().value());
  EXPECT_EQ(str(p["hold"]["reason"]), "kyc review");
  simdjson::dom::array details = p["details"];
  ASSERT_EQ(details.size(), 1u);
  EXPECT_EQ(str(details.at(0)["ach"]["routing"]), "026009593");
  simdjson::dom::array holds = p["holds"];
  ASSERT_EQ(holds.size(), 1u);
  EXPECT_EQ(str(holds.at(0)["origin"]), "s-2003");
  EXPECT_EQ(str(holds.at(0)["remaining"]), "190.09");
  EXPECT_EQ(str(holds.at(0)["release"]), "2026-01-09T14:00:00Z");  // 3 days from the sale
  EXPECT_EQ(same_both_ways({"--json", "payee", "shopper:techmiami"}), out);
  auto unknown = data({"--json", "payee", "shopper", "nobody"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.err.find("unknown_payee"), std::string::npos) << unknown.err;
  EXPECT_EQ(data({"payee", "shopper"}).code, 2);

  // Accounts a page at a time: "ops", two a page.
  auto first = json(same_both_ways({"--json", "accounts", "ops", "--limit", "2"}));
  simdjson::dom::array page = first["accounts"];
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(str(page.at(0)["account"]), "ops:bank");
  EXPECT_EQ(str(page.at(1)["account"]), "ops:wallets:w1");
  EXPECT_EQ(str(page.at(1)["flags"].at(0)), "no_overdraft");
  EXPECT_EQ(str(page.at(1)["state"]), "open");
  std::string next = str(first["next"]);
  EXPECT_EQ(next, "ops:wallets:w1");
  auto second =
      json(same_both_ways({"--json", "accounts", "ops", "--limit", "2", "--after", next}));
  simdjson::dom::array rest = second["accounts"];
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(str(rest.at(0)["account"]), "ops:wallets:w2");
  EXPECT_EQ(str(second["next"]), "");
  auto text = same_both_ways({"accounts", "ops", "--limit", "2"});
  EXPECT_NE(text.find("more: --after ops:wallets:w1"), std::string::npos) << text;
  EXPECT_EQ(data({"accounts", "--limit", "10001"}).code, 2);
}

// Paging through `accounts` with any page size lists every account once, in name order, whether
// the cursor is a name the server gave or one that names no account (between two names, before
// or after them all).
TEST_F(ReadsCliTest, AccountPagesAreCompleteInOrderFromAnyCursorBothWays) {
  post_both(kLines);
  auto names_of = [&](const std::string& out) {
    std::vector<std::string> v;
    for (simdjson::dom::element a : json(out)["accounts"].get_array())
      v.push_back(str(a["account"]));
    return v;
  };
  const std::vector<std::string> all = names_of(same_both_ways({"--json", "accounts"}));
  ASSERT_GT(all.size(), 5u);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());  // no repeats
  for (const char* limit : {"1", "2", "3", "7"}) {
    std::vector<std::string> walked;
    std::string after;
    for (int pages = 0; pages < 100; ++pages) {
      std::vector<std::string> args = {"--json", "accounts", "--limit", limit};
      if (!after.empty()) args.insert(args.end(), {"--after", after});
      const std::string out = same_both_ways(args);
      after = str(json(out)["next"]);  // read before the next parse reuses the parser
      auto names = names_of(out);
      EXPECT_LE(names.size(), static_cast<size_t>(std::stoi(limit)));
      walked.insert(walked.end(), names.begin(), names.end());
      if (after.empty()) break;
    }
    EXPECT_EQ(walked, all) << "limit " << limit;
  }
  // A cursor that names no account starts at the next name.
  auto from = [&](const std::string& cursor) {
    return names_of(same_both_ways({"--json", "accounts", "--after", cursor}));
  };
  auto tail = [&](const std::string& cursor) {
    return std::vector<std::string>(std::upper_bound(all.begin(), all.end(), cursor), all.end());
  };
  for (const std::string cursor : {"ops:bank0", "ops:wallets:w1x", "a", "ops:a", "zz"})
    EXPECT_EQ(from(cursor), tail(cursor)) << cursor;
  EXPECT_EQ(from("zz"), std::vector<std::string>{});
  auto ops = names_of(same_both_ways({"--json", "accounts", "ops", "--after", "ops:bank0"}));
  EXPECT_EQ(ops, (std::vector<std::string>{"ops:wallets:w1", "ops:wallets:w2"}));
}

TEST_F(ReadsCliTest, RunsWithoutAMarketplaceListsEveryMarketplace) {
  post_both(kLines);
  ASSERT_EQ(data({"settle", "shopper", "--date", "2026-01-15"}).code, 0);
  ASSERT_EQ(data({"settle", "fulfil", "--date", "2026-01-09"}).code, 0);
  auto all = data({"--json", "runs"});
  ASSERT_EQ(all.code, 0) << all.err;
  auto j = json(all.out);
  EXPECT_TRUE(j["marketplace"].is_null());
  simdjson::dom::array runs = j["runs"];
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(str(runs.at(0)["marketplace"]), "fulfil");
  EXPECT_EQ(str(runs.at(1)["marketplace"]), "shopper");
  EXPECT_EQ(str(runs.at(1)["state"]), "complete");
  auto one = data({"--json", "runs", "shopper"});
  ASSERT_EQ(one.code, 0);
  simdjson::dom::array only = json(one.out)["runs"];
  EXPECT_EQ(only.size(), 1u);

  // Behind a server: the auditor lists every marketplace; finance still lists one.
  ASSERT_EQ(remote({"settle", "shopper", "--date", "2026-01-15"}, "tok-finance").code, 0);
  auto remote_all = remote({"--json", "runs"});
  ASSERT_EQ(remote_all.code, 0) << remote_all.err;
  simdjson::dom::array served = json(remote_all.out)["runs"];
  ASSERT_EQ(served.size(), 1u);
  EXPECT_EQ(str(served.at(0)["run"]), "shopper:2026-01-15");
  auto fin = remote({"--json", "runs", "shopper"}, "tok-finance");
  ASSERT_EQ(fin.code, 0) << fin.err;
  simdjson::dom::array fin_runs = json(fin.out)["runs"];
  ASSERT_EQ(fin_runs.size(), 1u);
  EXPECT_EQ(str(fin_runs.at(0)["marketplace"]), "shopper");
  EXPECT_EQ(remote({"runs"}, "tok-finance").code, 3);  // every marketplace: the auditor's
}

TEST_F(ReadsCliTest, ABalanceBeforeTheAccountWasOpenedSaysSoBothWays) {
  post_both(kLines);  // ops:bank opened now (2026-12 or later by the clock), never in 2000
  for (bool served : {false, true}) {
    std::vector<std::string> args = {
        "--json", "balance", "ops:bank", "--currency", "USD", "--as-of", "2000-01-01T00:00:00Z"};
    auto r = served ? remote(args) : data(args);
    ASSERT_EQ(r.code, 0) << r.err;
    auto j = json(r.out);
    EXPECT_TRUE(j["balance"].is_null()) << r.out;
    EXPECT_TRUE(j["not_yet_opened"].get_bool().value()) << r.out;
    EXPECT_EQ(str(j["as_of"]), "2000-01-01T00:00:00Z");
    EXPECT_GT(str(j["opened"]), "2000-01-01T00:00:00Z");
    auto text = served ? remote({"balance", "ops:bank", "--as-of", "2000-01-01T00:00:00Z"})
                       : data({"balance", "ops:bank", "--as-of", "2000-01-01T00:00:00Z"});
    ASSERT_EQ(text.code, 0) << text.err;
    EXPECT_NE(text.out.find("not yet opened"), std::string::npos) << text.out;
    EXPECT_EQ(text.out.find("0.00"), std::string::npos) << text.out;
    // Now it exists: the ordinary answer, 0.00.
    auto now = served ? remote({"--json", "balance", "ops:bank", "--currency", "USD"})
                      : data({"--json", "balance", "ops:bank", "--currency", "USD"});
    ASSERT_EQ(now.code, 0) << now.err;
    EXPECT_EQ(str(json(now.out)["balance"]), "0.00");
  }
}

// `balances PREFIX --as-of T` lists only the accounts opened by T: one opened later is not a
// balance of the books at T (no 0.00 row), and it is listed as of now.
TEST_F(ReadsCliTest, BalancesAsOfBeforeAnOpenLeaveTheAccountOutBothWays) {
  post_both(kLines);
  for (bool served : {false, true}) {
    auto run = [&](std::vector<std::string> args, const std::string& token = "tok-auditor",
                   const std::string& input = "") {
      return served ? remote(std::move(args), token, input) : data(std::move(args), input);
    };
    // T: the books as they are now, before ops:later is opened.
    auto t = run({"--json", "balances", "ops"});
    ASSERT_EQ(t.code, 0) << t.err;
    const std::string as_of = str(json(t.out)["as_of"]);
    auto opened = run({"post", "-"}, "tok-all",
                      R"({"type":"open","account":"ops:later","kind":"asset","currencies":["USD"]}
)");
    ASSERT_EQ(opened.code, 0) << opened.out << opened.err;
    auto then = run({"--json", "balances", "ops", "--as-of", as_of});
    ASSERT_EQ(then.code, 0) << then.err;
    EXPECT_EQ(then.out, t.out);  // the books at T, as read at T
    EXPECT_EQ(then.out.find("ops:later"), std::string::npos) << then.out;
    auto text = run({"balances", "ops", "--as-of", as_of});
    ASSERT_EQ(text.code, 0) << text.err;
    EXPECT_EQ(text.out.find("ops:later"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("ops:bank"), std::string::npos) << text.out;
    auto now = run({"--json", "balances", "ops"});
    ASSERT_EQ(now.code, 0) << now.err;
    EXPECT_NE(now.out.find(R"({"account":"ops:later","currency":"USD","balance":"0.00"})"),
              std::string::npos)
        << now.out;
    // Before anything was opened: no account and no total.
    auto empty = run({"--json", "balances", "", "--as-of", "2000-01-01T00:00:00Z"});
    ASSERT_EQ(empty.code, 0) << empty.err;
    auto e = json(empty.out);
    EXPECT_EQ(simdjson::dom::array(e["accounts"]).size(), 0u) << empty.out;
    EXPECT_EQ(simdjson::dom::array(e["totals"]).size(), 0u) << empty.out;
  }
}

// On books where only accounts were opened, a read "as of now" is as of that open, never
// 1970-01-01; and that time, given back as --as-of, finds the account opened.
TEST_F(ReadsCliTest, AReadAsOfNowOnBooksWithOnlyOpensIsAsOfTheOpen) {
  post_both(R"({"type":"open","account":"ops:late","kind":"asset","currencies":["USD"]}
)");
  for (bool served : {false, true}) {
    std::vector<std::string> args = {"--json", "balance", "ops:late", "--currency", "USD"};
    auto r = served ? remote(args) : data(args);
    ASSERT_EQ(r.code, 0) << r.err;
    auto j = json(r.out);
    std::string as_of = str(j["as_of"]);
    EXPECT_NE(as_of.rfind("1970-", 0), 0u) << r.out;
    EXPECT_EQ(str(j["balance"]), "0.00") << r.out;
    args.insert(args.end(), {"--as-of", as_of});
    auto again = served ? remote(args) : data(args);
    ASSERT_EQ(again.code, 0) << again.err;
    auto k = json(again.out);
    EXPECT_EQ(str(k["balance"]), "0.00") << again.out;
  }
}

}  // namespace
}  // namespace tally
