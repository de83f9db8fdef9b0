// The payout lifecycle over RPC (SPEC section 8): finance makes, records and sends payout files
// and imports bank reports; the auditor reads payouts by run and by state; no other role may.
// The marketplaces are fixtures/marketplaces.toml's (the shopper pays USD by NACHA).
#include <capnp/message.h>

#include <fstream>
#include <iterator>

#include "common/nacha_return.h"
#include "common/test_util.h"
#include "ledger/money.h"
#include "rpc/client.h"
#include "rpc/served_books.h"
#include "rpc/server.h"
#include "rpc/wire.h"
#include "service/service.h"

namespace tally {
namespace {

using namespace tally::testing;

constexpr TimeNs kJan6_14h = 1'767'708'000'000'000'000;  // 2026-01-06T14:00:00Z

Event shopper_event(std::string id, EventBody body) {
  Event e;
  e.header.id = std::move(id);
  e.header.at = kJan6_14h;
  e.header.marketplace = "shopper";
  e.body = std::move(body);
  return e;
}

PayeeDetailsEvent techmiami_details() {
  PayeeDetailsEvent d{"techmiami", "Tech Miami LLC", "026009593-1234567890", ""};
  d.ach = PayeeAchFields{"026009593", "1234567890", "checking", "company"};
  return d;
}

class PayoutsRpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    serve_marketplaces(dir_, &service_, &server_);
    ASSERT_TRUE(server_);
  }
  void TearDown() override {
    server_.reset();
    service_.reset();
  }
  std::unique_ptr<Client> connect(const std::string& token) {
    ClientOptions o;
    o.address = server_->address();
    o.token = token;
    auto c = Client::connect(o);
    EXPECT_TRUE(c.ok()) << (c.failed() ? c.failure().message : "rejected");
    return c.ok() ? std::move(c.value()) : nullptr;
  }
  template <class T>
  static std::string why(const Reply<T>& r) {
    return r.ok() ? "" : r.rejected() ? r.rejection().message : r.failure().message;
  }

  TempDir dir_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<ServerThread> server_;
};

TEST_F(PayoutsRpcTest, FinanceSendsANachaFileAndImportsItsReturnOnceTheAuditorReadsTheStates) {
  auto poster = connect("tok-poster");
  auto finance = connect("tok-finance");
  auto auditor = connect("tok-auditor");
  ASSERT_TRUE(poster && finance && auditor);
  // The ACH details travel in the payee_details event (PayeeDetails.ach).
  auto d = finance->post({PostItem{shopper_event("pd-tm", techmiami_details())}}, PostVia::finance);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(d->results[0].ok()) << d->results[0].message;
  auto s = poster->post({PostItem{shopper_event(
      "s-2003", SaleEvent{"techmiami", "200.10", "USD", "electronics", std::nullopt})}});
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(s->results[0].ok()) << s->results[0].message;
  auto run = finance->settle(SettleRequest{"shopper", "2026-01-15", false});
  ASSERT_TRUE(run.ok()) << why(run);
  ASSERT_EQ(run->payouts.size(), 1u);
  const std::string payout = "shopper:2026-01-15:techmiami:USD";

  // The NACHA file: streamed, checked against its trailer, recorded, its payout sent.
  auto file = finance->payout_file(run->run, PayoutFormat::nacha);
  ASSERT_TRUE(file.ok()) << why(file);
  EXPECT_EQ(file->file, "shopper:2026-01-15:nacha");
  EXPECT_EQ(file->format, PayoutFormat::nacha);
  EXPECT_EQ(file->payouts, 1u);
  EXPECT_EQ(file->sent, 1u);
  EXPECT_FALSE(file->already_recorded);
  EXPECT_EQ(file->sha256, to_hex(sha256(file->bytes)));
  EXPECT_EQ(file->bytes.substr(0, 3), "101");  // the NACHA file header
  auto again = finance->payout_file(run->run, PayoutFormat::nacha);
  ASSERT_TRUE(again.ok()) << why(again);
  EXPECT_TRUE(again->already_recorded);
  EXPECT_EQ(again->sent, 0u);
  EXPECT_EQ(again->bytes, file->bytes);

  auto states = auditor->run_payouts(run->run);
  ASSERT_TRUE(states.ok()) << why(states);
  ASSERT_EQ(states->payouts.size(), 1u);
  const PayoutStatusLine& line = states->payouts[0];
  EXPECT_EQ(line.payout, payout);
  EXPECT_EQ(line.state, "sent");
  EXPECT_EQ(line.file, "shopper:2026-01-15:nacha");
  EXPECT_EQ(format_amount(line.amount, line.currency), "190.09");
  ASSERT_EQ(line.trace.size(), 15u);

  // The bank returns it (R03): applied once.
  ImportReportRequest req;
  req.bytes = nacha_return_file({{line.trace, "R03", 19009, "NO ACCOUNT/UNABLE TO LOCATE"}});
  auto imported = finance->import_report(req);
  ASSERT_TRUE(imported.ok()) << why(imported);
  EXPECT_EQ(imported->format, "nacha-return");
  EXPECT_EQ(imported->matched, 1u);
  EXPECT_EQ(imported->payouts_moved, 1u);
  ASSERT_EQ(imported->lines.size(), 1u);
  EXPECT_EQ(imported->lines[0].status, "matched");
  ASSERT_EQ(imported->lines[0].payouts.size(), 1u);
  EXPECT_EQ(imported->lines[0].payouts[0].after, "returned");
  auto twice = finance->import_report(req);
  ASSERT_TRUE(twice.ok()) << why(twice);
  EXPECT_EQ(twice->matched, 0u);
  EXPECT_EQ(twice->already_applied, 1u);
  auto available =
      auditor->balance(BalanceQuery{"shopper:payees:techmiami:available", "USD", std::nullopt});
  ASSERT_TRUE(available.ok()) << why(available);
  EXPECT_EQ(format_amount(available->balances[0].balance, available->balances[0].currency),
            "190.09");

  auto returned = auditor->payouts_by_state(PayoutQuery{"shopper", "returned", "", 0});
  ASSERT_TRUE(returned.ok()) << why(returned);
  ASSERT_EQ(returned->payouts.size(), 1u);
  EXPECT_EQ(returned->payouts[0].reason_code, "R03");
  EXPECT_TRUE(returned->next.empty());
  auto bad_state = auditor->payouts_by_state(PayoutQuery{"shopper", "lost", "", 0});
  ASSERT_TRUE(bad_state.rejected());
  EXPECT_EQ(bad_state.rejection().code, Code::bad_request);

  // A malformed report: bad_request naming where, nothing applied.
  ImportReportRequest junk;
  junk.bytes = "<Document><unclosed>";
  auto refused = finance->import_report(junk);
  ASSERT_TRUE(refused.rejected());
  EXPECT_EQ(refused.rejection().code, Code::bad_request);

  // Each role gets only its own: reads are the auditor's, exports and imports finance's.
  EXPECT_TRUE(poster->import_report(req).failed());
  EXPECT_TRUE(auditor->import_report(req).failed());
  EXPECT_TRUE(auditor->payout_file(run->run, PayoutFormat::csv).failed());
  EXPECT_TRUE(finance->run_payouts(run->run).failed());
  EXPECT_TRUE(poster->payouts_by_state(PayoutQuery{"shopper", {}, "", 0}).failed());
}

// A payout_result `returned` with its reason code, and payee details with both rails, survive
// the wire unchanged (they were paid/failed and plain details before).
TEST(PayoutsWireTest, ReturnedResultsAndRailDetailsRoundTrip) {
  auto round_trip = [](const PostItem& item) {
    capnp::MallocMessageBuilder m;
    auto b = m.initRoot<wire::Item>();
    wire::encode_item(b, item);
    static const CurrencyTable table;  // the server's lookup, over the built-in currencies
    return wire::decode_item(b.asReader(), [](std::string_view code) { return table.find(code); });
  };
  auto r = round_trip(PostItem{shopper_event(
      "pr-1", PayoutResultEvent::of("po-1", PayoutResultStatus::returned, "closed", "R02"))});
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& pr = std::get<PayoutResultEvent>(std::get<Event>(r->body).body);
  EXPECT_EQ(pr.status(), PayoutResultStatus::returned);
  EXPECT_EQ(pr.reason_code, "R02");
  EXPECT_EQ(pr.reason, "closed");

  PayeeDetailsEvent both = techmiami_details();
  both.co = PayeeCoFields{"1007", "savings", "3104567890", "NIT", "890.900.608-9"};
  auto d = round_trip(PostItem{shopper_event("pd-1", both)});
  ASSERT_TRUE(d.ok()) << d.error().message;
  const auto& det = std::get<PayeeDetailsEvent>(std::get<Event>(d->body).body);
  ASSERT_TRUE(det.ach && det.co);
  EXPECT_EQ(det.ach->routing, "026009593");
  EXPECT_EQ(det.ach->receiver_kind, "company");
  EXPECT_EQ(det.co->document_number, "890.900.608-9");
  auto plain = round_trip(
      PostItem{shopper_event("pd-2", PayeeDetailsEvent{"p", "P", "FR76", "AGRIFRPPXXX"})});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(std::get<PayeeDetailsEvent>(std::get<Event>(plain->body).body).ach.has_value());
}

}  // namespace
}  // namespace tally
