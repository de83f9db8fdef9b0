// What a settlement run keeps back, in `tally settle` (issue 18): the reserve kept of each release
// and the reserves released back (`reserve`), the minimum balance left on available
// (`minimum_balance`) and the payout tax booked with a payout (`payout_tax`), per payout and per
// currency, in `--json` and in the text. The same books on a data directory (`--data`) and behind
// a server (`--connect`, the rows through the RunRows sink) print the same JSON, byte for byte.
// Marketplaces: fixtures/marketplaces.toml's `shop` (10% reserve for 90 days, paid on Mondays)
// and `shopper` (the 0.4% GMF on COP payouts).
//
// Worked by hand: o-1001, 120.00 EUR to p1 with affiliate a7, releases 104.27 to p1 on
// 2026-01-22 (docs/accounting.md); the run of Monday 2026-01-26 keeps 10% of it in reserve
// (10.43), leaves p1's minimum balance of 20.00 on available and pays 104.27 - 10.43 - 20.00 =
// 73.84. a7's 8.40 less its 0.84 reserve is 7.56, below the 10.00 minimum payout: carried. The
// reserves kept on 2026-01-26 are due 90 days after its cut-off, 2026-04-25T23:00Z: the run of
// Monday 2026-04-27 releases them (10.43 and 0.84) and pays p1 10.43, the 20.00 kept again.
// s-2001's 215864.00 COP paid to exito on 2026-01-15 bears 0.4% GMF: 863.456 -> 863.46.
#include <simdjson.h>
#include <stdlib.h>

#include <fstream>
#include <iterator>
#include <list>

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
    R"({"type":"payee_details","id":"pd-p1","at":"2026-01-02T09:00:00Z","marketplace":"shop","payee":"p1","name":"Atelier Lumière SARL","account":"FR7630004008230001234567819","bic":"BNPAFRPPXXX"}
{"type":"payee_terms","id":"pt-p1","at":"2026-01-02T09:01:00Z","marketplace":"shop","payee":"p1","minimum_balance":{"EUR":"20.00"}}
{"type":"sale","id":"o-1001","at":"2026-01-05T10:00:00Z","marketplace":"shop","seller":"p1","amount":"120.00","currency":"EUR","category":"product","affiliate":"a7"}
{"type":"delivered","id":"dl-1001","at":"2026-01-08T14:00:00Z","marketplace":"shop","sale":"o-1001"}
{"type":"payee_details","id":"pd-exito","at":"2026-01-02T14:00:00Z","marketplace":"shopper","payee":"exito","name":"Almacenes Éxito S.A.","account":"20045678901","co":{"bank_code":"1007","account_type":"checking","account_number":"20045678901","document_type":"NIT","document_number":"890.900.608-9"}}
{"type":"sale","id":"s-2001","at":"2026-01-03T15:00:00Z","marketplace":"shopper","seller":"exito","amount":"245300.00","currency":"COP","category":"groceries"}
)";

class SettleKeptCliTest : public BothWaysCliTest {
 protected:
  SettleKeptCliTest() : BothWaysCliTest("tok-all") {}
  // "payee currency amount" of each line of a list of the run's JSON.
  static std::vector<std::string> lines(simdjson::dom::element run, const char* key) {
    std::vector<std::string> out;
    simdjson::dom::array a;
    if (run[key].get(a) != simdjson::SUCCESS) return {"<no " + std::string(key) + ">"};
    for (simdjson::dom::element l : a)
      out.push_back(str(l["payee"]) + " " + str(l["currency"]) + " " + str(l["amount"]));
    return out;
  }
  // The payout line of `payee`: "amount tax kept".
  static std::string payout(simdjson::dom::element run, const std::string& payee) {
    for (simdjson::dom::element p : run["payouts"].get_array())
      if (str(p["payee"]) == payee)
        return str(p["amount"]) + " " + str(p["tax"]) + " " + str(p["kept"]);
    return "<not paid>";
  }
  // The totals line of `currency`: "amount reserved reserve_released tax kept".
  static std::string totals(simdjson::dom::element run, const std::string& currency) {
    for (simdjson::dom::element t : run["totals"].get_array())
      if (str(t["currency"]) == currency)
        return str(t["amount"]) + " " + str(t["reserved"]) + " " + str(t["reserve_released"]) +
               " " + str(t["tax"]) + " " + str(t["kept"]);
    return "<no total>";
  }
};

using V = std::vector<std::string>;

TEST_F(SettleKeptCliTest, SettleJsonShowsReservesKeptBalancesAndTaxBothWays) {
  auto posted = data({"post", "-"}, kLines);
  ASSERT_EQ(posted.code, 0) << posted.out << posted.err;
  posted = remote({"post", "-"}, "tok-all", kLines);
  ASSERT_EQ(posted.code, 0) << posted.out << posted.err;

  auto jan = json(same_both_ways({"--json", "settle", "shop", "--date", "2026-01-26"}));
  EXPECT_EQ(lines(jan, "released"), (V{"a7 EUR 8.40", "p1 EUR 104.27"}));
  EXPECT_EQ(lines(jan, "reserved"), (V{"a7 EUR 0.84", "p1 EUR 10.43"}));
  EXPECT_EQ(lines(jan, "reserve_released"), V{});
  EXPECT_EQ(payout(jan, "p1"), "73.84 0.00 20.00");
  EXPECT_EQ(totals(jan, "EUR"), "73.84 11.27 0.00 0.00 20.00");

  // The reserves come due: released back to available, and paid with what p1 has above 20.00.
  auto apr = json(same_both_ways({"--json", "settle", "shop", "--date", "2026-04-27"}));
  EXPECT_EQ(lines(apr, "reserved"), V{});
  EXPECT_EQ(lines(apr, "reserve_released"), (V{"a7 EUR 0.84", "p1 EUR 10.43"}));
  EXPECT_EQ(payout(apr, "p1"), "10.43 0.00 20.00");
  EXPECT_EQ(totals(apr, "EUR"), "10.43 0.00 11.27 0.00 20.00");

  // A repeat returns the run as stored, with the same figures.
  auto again = json(same_both_ways({"--json", "settle", "shop", "--date", "2026-01-26"}));
  EXPECT_TRUE(again["existing"].get_bool().value());
  EXPECT_EQ(lines(again, "reserved"), lines(jan, "reserved"));
  EXPECT_EQ(payout(again, "p1"), "73.84 0.00 20.00");

  // The GMF the platform bears on its COP transfer.
  auto co = json(same_both_ways({"--json", "settle", "shopper", "--date", "2026-01-15"}));
  EXPECT_EQ(payout(co, "exito"), "215864.00 863.46 0.00");
  EXPECT_EQ(totals(co, "COP"), "215864.00 0.00 0.00 863.46 0.00");

  // The text says what was kept, per currency, when anything was.
  auto text = same_both_ways({"settle", "shop", "--date", "2026-01-26"});
  EXPECT_NE(text.find("total reserved 11.27 EUR, released from reserve 0.00 EUR"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("total payout tax 0.00 EUR, kept as minimum balance 20.00 EUR"),
            std::string::npos)
      << text;
  auto co_text = same_both_ways({"settle", "shopper", "--date", "2026-01-15"});
  EXPECT_NE(co_text.find("total payout tax 863.46 COP, kept as minimum balance 0.00 COP"),
            std::string::npos)
      << co_text;
  EXPECT_EQ(co_text.find("total reserved"), std::string::npos) << co_text;
}

}  // namespace
}  // namespace tally
