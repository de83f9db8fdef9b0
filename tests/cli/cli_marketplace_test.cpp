// The `tally` command with marketplace rules in process: sales, duplicates, holds and the shop
// fixture's quarter (SPEC sections 3 and 5). Expected amounts are worked out by hand in the
// comments.
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
#include "settlement/example_shop.h"

namespace tally {
namespace {

using namespace tally::testing;

const std::string kShopConfig = example_shop_toml();

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

}  // namespace
}  // namespace tally
