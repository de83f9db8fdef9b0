// The RPC server's reads and finance calls through real sockets (ServerTest,
// tests/rpc/server_fixture.h): every auditor read, a read without a reader slot, a large export
// with back-pressure, periods, holds, settlement.
#include "rpc/server.h"

#include <capnp/rpc-twoparty.h>
#include <capnp/serialize.h>
#include <fcntl.h>
#include <kj/async-io.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "cli/cli.h"
#include "common/test_util.h"
#include "rpc/client.h"
#include "rpc/serve_fixture.h"
#include "rpc/server_fixture.h"
#include "rpc/tally.capnp.h"
#include "rpc/wire.h"

namespace tally {
namespace {

using namespace tally::testing;

// --- reads --------------------------------------------------------------------------------------

TEST_F(ServerTest, AuditorReadsEverything) {
  start();
  auto poster = connect("tok-poster");
  open_ops(*poster);
  for (int i = 0; i < 5; ++i) {
    auto r = poster->post({entry_item("e-" + std::to_string(i), "2.50")});
    ASSERT_TRUE(r.ok());
  }
  auto auditor = connect("tok-auditor");

  auto b = auditor->balance(BalanceQuery{"ops:wallet", std::nullopt, std::nullopt});
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->balances.size(), 1u);
  EXPECT_EQ(b->balances[0].balance, amt("12.50"));
  EXPECT_EQ(b->kind, AccountKind::liability);
  auto usd = auditor->balance(BalanceQuery{"ops:bank", "USD", std::nullopt});
  ASSERT_TRUE(usd.ok());
  EXPECT_EQ(usd->balances.size(), 1u);
  // As of a time before the account was opened: not yet opened, no balance (never a 0.00).
  auto past = auditor->balance(BalanceQuery{"ops:wallet", std::nullopt, TimeNs{1}});
  ASSERT_TRUE(past.ok());
  EXPECT_TRUE(past->not_yet_opened);
  EXPECT_TRUE(past->balances.empty());
  auto unknown = auditor->balance(BalanceQuery{"ops:nope", std::nullopt, std::nullopt});
  ASSERT_TRUE(unknown.rejected());
  EXPECT_EQ(unknown.rejection().code, Code::unknown_account);

  auto all = auditor->balances("ops", std::nullopt);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->balances.accounts.size(), 3u);  // bank USD, bank EUR, wallet USD
  // As of a time before the accounts were opened: none of them is listed (never a 0.00).
  auto before = auditor->balances("ops", TimeNs{1});
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->balances.accounts.empty());
  EXPECT_TRUE(before->balances.totals.empty());
  EXPECT_EQ(before->as_of, TimeNs{1});

  StatementQuery q;
  q.account = "ops:wallet";
  q.limit = 2;
  auto page1 = auditor->statement(q);
  ASSERT_TRUE(page1.ok());
  EXPECT_EQ(page1->statement.lines.size(), 2u);
  ASSERT_FALSE(page1->statement.next.empty());
  q.after = page1->statement.next;
  auto page2 = auditor->statement(q);
  ASSERT_TRUE(page2.ok());
  EXPECT_EQ(page2->statement.lines[0].entry_id, "e-2");

  auto e = auditor->entry("e-3");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->entry.postings.size(), 2u);
  EXPECT_EQ(e->entry.postings[0].amount, amt("2.50"));
  auto no = auditor->entry("nope");
  ASSERT_TRUE(no.rejected());
  EXPECT_EQ(no.rejection().code, Code::unknown_entry);

  auto tb = auditor->trial_balance(std::nullopt);
  ASSERT_TRUE(tb.ok());
  ASSERT_EQ(tb->currencies.size(), 2u);

  uint64_t progress_calls = 0;
  auto v = auditor->verify([&](uint64_t, uint64_t) { ++progress_calls; });
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->entries, 5u);

  std::string csv;
  auto x = auditor->export_journal(ExportFormat::csv, [&](std::string_view s) {
    csv.append(s);
    return true;
  });
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->entries, 5u);
  EXPECT_EQ(csv.rfind("seq,id,at,kind,account,currency,side,amount", 0), 0u) << csv;
  std::string hl;
  ASSERT_TRUE(auditor
                  ->export_journal(ExportFormat::hledger,
                                   [&](std::string_view s) {
                                     hl.append(s);
                                     return true;
                                   })
                  .ok());
  EXPECT_NE(hl.find("e-4"), std::string::npos);

  auto cur = auditor->find_currency("JPY");
  ASSERT_TRUE(cur.ok());
  ASSERT_TRUE(cur.value().has_value());
  EXPECT_EQ(cur.value()->exponent(), 0);
  EXPECT_FALSE(auditor->find_currency("ZZZ").value().has_value());
}

// Every reader slot taken (here by snapshots the test holds): reads fail with an error the
// client can act on (retry later), on the loop (balance) and off it (trial balance); the server
// keeps serving, and reads work again once slots free up.
TEST_F(ServerTest, NoFreeReaderSlotFailsTheReadAndTheServerGoesOn) {
  service_.reset();
  open_service(/*readers_max=*/24, "few-readers");
  start();
  auto poster = connect("tok-poster");
  open_ops(*poster);
  // One attempt: the client would otherwise retry an OVERLOADED read with back-off.
  auto auditor = connect("tok-auditor", /*max_attempts=*/1);
  ASSERT_TRUE(auditor->balance(BalanceQuery{"ops:wallet", std::nullopt, std::nullopt}).ok());

  std::vector<std::unique_ptr<Snapshot>> held;
  bool busy = false;
  while (!busy) {
    ASSERT_LT(held.size(), 64u) << "readers_max is not enforced";
    try {
      held.push_back(service_->snapshot());
    } catch (const StoreFailure& e) {
      EXPECT_EQ(e.status.kind(), Status::Kind::busy) << e.what();
      busy = true;
    }
  }
  auto b = auditor->balance(BalanceQuery{"ops:wallet", std::nullopt, std::nullopt});
  ASSERT_TRUE(b.failed());
  EXPECT_NE(b.failure().message.find("unavailable"), std::string::npos) << b.failure().message;
  auto tb = auditor->trial_balance(std::nullopt);
  ASSERT_TRUE(tb.failed());
  EXPECT_NE(tb.failure().message.find("unavailable"), std::string::npos) << tb.failure().message;
  // Posting needs no reader slot of ours: it goes on.
  auto p = poster->post({entry_item("e-busy", "1.00")});
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->results[0].ok()) << p->results[0].message;

  held.clear();
  auto again = auditor->balance(BalanceQuery{"ops:wallet", std::nullopt, std::nullopt});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->balances[0].balance, amt("1.00"));
  EXPECT_TRUE(auditor->trial_balance(std::nullopt).ok());
}

TEST_F(ServerTest, LargeExportStreamsWithBackPressure) {
  start();
  auto poster = connect("tok-poster");
  open_ops(*poster);
  std::vector<PostItem> items;
  for (int i = 0; i < 3000; ++i) items.push_back(entry_item("bulk-" + std::to_string(i)));
  ASSERT_TRUE(poster->post(std::move(items)).ok());
  auto auditor = connect("tok-auditor");
  size_t bytes = 0, chunks = 0;
  auto x = auditor->export_journal(ExportFormat::csv, [&](std::string_view s) {
    bytes += s.size();
    ++chunks;
    return true;
  });
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->entries, 3000u);
  EXPECT_GT(chunks, 1u);
  // A sink that stops early ends the export without harm to the server.
  size_t seen = 0;
  auto stopped =
      auditor->export_journal(ExportFormat::csv, [&](std::string_view) { return ++seen < 2; });
  EXPECT_FALSE(stopped.ok());
  EXPECT_TRUE(auditor->verify().ok());
}

// Finance closes periods (entries dated inside are refused after) and puts payees on hold and
// takes them off (the next run carries and then pays them); a bad date and an unknown
// marketplace are rejections; the poster token may not do either.
TEST_F(ServerTest, FinanceClosesPeriodsAndHoldsPayees) {
  start();
  auto poster = connect("tok-poster");
  open_ops(*poster);
  auto finance = connect("tok-finaud");
  ASSERT_TRUE(finance->post({details_item("pd-p1", "p1")}, PostVia::finance).ok());
  ASSERT_TRUE(poster->post({sale_item("o-1", "p1", "120.00")}).ok());  // 2026-01-05: due by 01-26

  auto c = finance->close_period("2025-12-31");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->result.ok()) << c->result.message;
  EXPECT_EQ(c->through, "2025-12-31");
  auto dated = entry_item("late");
  std::get<Entry>(dated.body).at = 1'767'139'200'000'000'000;  // 2025-12-31T00:00:00Z
  auto late = poster->post({dated});
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->results[0].code, Code::period_closed) << late->results[0].message;
  auto bad = finance->close_period("2025-13-01");
  ASSERT_TRUE(bad.rejected());
  EXPECT_EQ(bad.rejection().code, Code::bad_date);

  auto preview = [&] {
    auto r = finance->settle(SettleRequest{"shop", "2026-01-26", true});
    EXPECT_TRUE(r.ok());
    return r.ok() ? r.value() : RunResult{};
  };
  HoldRequest h{"shop", "p1", true, "kyc pending", "hold-1", "2026-01-10T09:00:00Z"};
  auto held = finance->hold(h);
  ASSERT_TRUE(held.ok()) << (held.rejected() ? held.rejection().message : "");
  EXPECT_EQ(held->id, "hold-1");
  auto on = preview();
  ASSERT_EQ(on.carried.size(), 1u);
  EXPECT_EQ(on.carried[0].reason, CarryReason::on_hold);
  EXPECT_TRUE(on.payouts.empty());
  auto released =
      finance->hold(HoldRequest{"shop", "p1", false, "", "hold-2", "2026-01-11T09:00:00Z"});
  ASSERT_TRUE(released.ok());
  auto off = preview();
  EXPECT_TRUE(off.carried.empty());
  ASSERT_EQ(off.payouts.size(), 1u);
  EXPECT_EQ(off.payouts[0].payee, "p1");

  h.marketplace = "nope";
  h.id = "hold-3";
  auto unknown = finance->hold(h);
  ASSERT_TRUE(unknown.rejected());
  EXPECT_EQ(unknown.rejection().code, Code::unknown_marketplace);
  EXPECT_TRUE(connect("tok-poster")->hold(h).failed());  // not the poster's
}

// Finance.hold with an explicit id takes the caller's `at`, so a retry is the same event: the same
// id and at again is a duplicate (the original seq), other content under the id is id_conflict,
// and an id without at is bad_time naming `at` (docs/cli.md, `tally hold`).
TEST_F(ServerTest, FinanceHoldWithAnIdIsIdempotent) {
  start();
  auto finance = connect("tok-finance");
  HoldRequest h{"shop", "p1", true, "kyc pending", "hold-x", "2026-01-10T09:00:00+01:00"};
  auto first = finance->hold(h);
  ASSERT_TRUE(first.ok()) << (first.rejected() ? first.rejection().message : "");
  EXPECT_EQ(first->status, ItemStatus::ok);
  auto again = finance->hold(h);
  ASSERT_TRUE(again.ok()) << (again.rejected() ? again.rejection().message : "");
  EXPECT_EQ(again->status, ItemStatus::duplicate);
  EXPECT_EQ(again->id, "hold-x");

  HoldRequest other = h;
  other.reason = "another reason";
  auto conflict = finance->hold(other);
  ASSERT_TRUE(conflict.rejected());
  EXPECT_EQ(conflict.rejection().code, Code::id_conflict);

  HoldRequest no_at = h;
  no_at.id = "hold-y";
  no_at.at.reset();
  auto missing = finance->hold(no_at);
  ASSERT_TRUE(missing.rejected());
  EXPECT_EQ(missing.rejection().code, Code::bad_time);
  EXPECT_EQ(missing.rejection().message.rfind("at: ", 0), 0u) << missing.rejection().message;
  no_at.at = "2026-01-10 09:00";
  auto malformed = finance->hold(no_at);
  ASSERT_TRUE(malformed.rejected());
  EXPECT_EQ(malformed.rejection().code, Code::bad_time);

  // Without an id the server makes both: two calls, two events.
  HoldRequest fresh{"shop", "p1", false, "", "", std::nullopt};
  auto a = finance->hold(fresh);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->status, ItemStatus::ok);
  EXPECT_EQ(a->id.rfind("hold:shop:p1:", 0), 0u) << a->id;
  // With `at` and no id, the id comes from that time: a retry is a duplicate too.
  fresh.at = "2026-01-12T00:00:00Z";
  auto b = finance->hold(fresh);
  auto b2 = finance->hold(fresh);
  ASSERT_TRUE(b.ok() && b2.ok());
  EXPECT_EQ(b->status, ItemStatus::ok);
  EXPECT_EQ(b2->status, ItemStatus::duplicate);
  EXPECT_EQ(b2->id, b->id);
}

// payee_terms is finance's, like payee_details (SPEC section 5; service/service.h
// role_may_post): a poster token gets not_allowed and nothing is posted; finance posts it, and
// the rules check its fields, naming them.
TEST_F(ServerTest, PayeeTermsNeedTheFinanceRole) {
  start();
  Event terms;
  terms.header = EventHeader{"pt-1", 1'767'607'200'000'000'000, "shop", {}};
  terms.body = PayeeTermsEvent{"p1", PayeeTermsEvent::Reserve{"5%", 28}, {{"EUR", "20.00"}}};
  auto refused = connect("tok-poster")->post({PostItem{terms}});
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->results[0].code, Code::not_allowed) << refused->results[0].message;
  EXPECT_NE(refused->results[0].message.find("payee_terms"), std::string::npos);

  auto finance = connect("tok-finance");
  auto posted = finance->post({PostItem{terms}}, PostVia::finance);
  ASSERT_TRUE(posted.ok());
  EXPECT_EQ(posted->results[0].status, ItemStatus::ok) << posted->results[0].message;
  auto again = finance->post({PostItem{terms}}, PostVia::finance);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->results[0].status, ItemStatus::duplicate) << again->results[0].message;

  Event bad = terms;
  bad.header.id = "pt-2";
  bad.body = PayeeTermsEvent{"p1", PayeeTermsEvent::Reserve{"5%", 0}, {}};
  auto r = finance->post({PostItem{bad}}, PostVia::finance);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->results[0].code, Code::bad_request);
  EXPECT_EQ(r->results[0].message.rfind("reserve.days: ", 0), 0u) << r->results[0].message;
}

bool same_payouts(const std::vector<PayoutLineResult>& a, const std::vector<PayoutLineResult>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].payout != b[i].payout || a[i].payee != b[i].payee || a[i].currency != b[i].currency ||
        a[i].amount != b[i].amount)
      return false;
  return true;
}

TEST_F(ServerTest, FinanceSettlesOverRpc) {
  start();
  auto poster = connect("tok-poster");
  auto r = poster->post({sale_item("s-1", "p1", "120.00"), sale_item("s-2", "p2", "5.00")});
  ASSERT_TRUE(r.ok());
  for (auto& x : r->results) ASSERT_TRUE(x.ok()) << x.message;
  auto finance = connect("tok-finaud");
  ASSERT_TRUE(finance->post({details_item("pd-1", "p1")}, PostVia::finance).ok());

  // Held 14 days from the sale (2026-01-05): due by the pay date 2026-01-26.
  SettleRequest req{"shop", "2026-01-26", true};
  auto dry = finance->settle(req);
  ASSERT_TRUE(dry.ok()) << (dry.rejected() ? dry.rejection().message : dry.failure().message);
  EXPECT_TRUE(dry->dry_run);
  EXPECT_TRUE(finance->runs("shop").value().empty());  // a dry run commits nothing
  req.dry_run = false;
  auto run = finance->settle(req);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->pay_date, "2026-01-26");
  ASSERT_EQ(run->payouts.size(), 1u);  // p1; p2 is below the minimum
  EXPECT_EQ(run->payouts[0].payee, "p1");
  EXPECT_TRUE(same_payouts(run->payouts, dry->payouts));
  auto runs = finance->runs("shop");
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  auto csv = finance->payouts(run->run, PayoutFormat::csv);
  ASSERT_TRUE(csv.ok()) << (csv.rejected() ? csv.rejection().message : csv.failure().message);
  EXPECT_EQ(csv->rfind("payout,payee,currency,amount,creditor_name,creditor_account", 0), 0u);
  auto xml = finance->payouts(run->run, PayoutFormat::pain001);
  ASSERT_TRUE(xml.ok());
  EXPECT_NE(xml->find("pain.001.001.03"), std::string::npos);
  auto again = finance->settle(req);  // idempotent per (marketplace, pay date)
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(same_payouts(again->payouts, run->payouts));
  auto bad = finance->settle(SettleRequest{"nope", "2026-01-26", false});
  ASSERT_TRUE(bad.rejected());
  EXPECT_EQ(bad.rejection().code, Code::unknown_marketplace);
  EXPECT_TRUE(finance->payouts("shop:1999-01-01", PayoutFormat::csv).rejected());
  EXPECT_TRUE(poster->settle(req).failed());  // not the poster's
}

}  // namespace
}  // namespace tally
