// The payout lifecycle (SPEC section 8) against a model written from the SPEC's text: every
// sequence of up to three results (paid, failed, returned) on payouts still instructed and on
// payouts sent in a file, repeats and contradictions included; balances, states and holds after
// every step. Also: the payout_result event's forms, the reads, recording files.
#include <gmock/gmock.h>

#include <map>

#include "payouts_fixture.h"

namespace tally {
namespace {

using namespace tally::testing;
using tables::PayoutState;
using S = PayoutResultStatus;

// --- the model --------------------------------------------------------------------------------
// SPEC section 8: instructed -> sent -> paid | failed; a paid payout may later be returned.
// "failed and returned put the amount back on the payee's available (a return after paid takes it
// back from cash) and the payee on hold with the bank's reason. Each transition happens once."
// A repeated result is a duplicate; a contradicting one an error. A return of a payout not yet
// known to be paid is its payment and its return (docs/settlement.md).
struct ModelPayout {
  char state = 'i';  // i(nstructed) s(ent) p(aid) f(ailed) r(eturned)
  i128 amount = 0;
  i128 available = 0;  // the payee's, in minor units
  bool on_hold = false;
};
struct ModelBooks {
  i128 cash = 0, in_transit = 0;
};
enum class Expect { ok, duplicate, error };

Expect model_apply(ModelPayout& p, ModelBooks& b, S s) {
  const char st = p.state;
  const bool settled_before = st == 'i' || st == 's';
  switch (s) {
    case S::paid:
      if (settled_before) {
        p.state = 'p', b.in_transit -= p.amount, b.cash -= p.amount;
        return Expect::ok;
      }
      return st == 'p' || st == 'r' ? Expect::duplicate : Expect::error;
    case S::failed:
      if (settled_before) {
        p.state = 'f', b.in_transit -= p.amount, p.available += p.amount, p.on_hold = true;
        return Expect::ok;
      }
      return st == 'f' ? Expect::duplicate : Expect::error;
    case S::returned:
      if (st == 'p') {
        p.state = 'r', b.cash += p.amount, p.available += p.amount, p.on_hold = true;
        return Expect::ok;
      }
      if (settled_before) {  // paid (in transit -> cash) and returned (cash -> available)
        p.state = 'r', b.in_transit -= p.amount, p.available += p.amount, p.on_hold = true;
        return Expect::ok;
      }
      return st == 'r' ? Expect::duplicate : Expect::error;
  }
  return Expect::error;
}

PayoutState state_of(char c) {
  switch (c) {
    case 'i':
      return PayoutState::instructed;
    case 's':
      return PayoutState::sent;
    case 'p':
      return PayoutState::paid;
    case 'f':
      return PayoutState::failed;
    default:
      return PayoutState::returned;
  }
}

std::string minor_text(i128 v) {
  return format_amount(Amount::from_minor(v), 2);
}

class LifecycleTest : public PayoutsTest {};

TEST_F(LifecycleTest, EveryOrderOfResultsMatchesTheModel) {
  // Every sequence of 1..3 results, each on a payout instructed and on one sent.
  std::vector<std::vector<S>> sequences;
  for (int n = 1; n <= 3; ++n) {
    int count = n == 1 ? 3 : n == 2 ? 9 : 27;
    for (int k = 0; k < count; ++k) {
      std::vector<S> seq;
      for (int i = 0, x = k; i < n; ++i, x /= 3) seq.push_back(static_cast<S>(x % 3));
      sequences.push_back(seq);
    }
  }
  const size_t payees = sequences.size() * 2;
  std::vector<std::string> ids(payees);
  std::vector<ModelPayout> model(payees);
  ModelBooks books;
  for (size_t i = 0; i < payees; ++i) {
    std::string p = "q" + std::to_string(100 + i);
    details("plain", p);
    // A sale of 10.00 * (i + 1): the seller keeps 90%.
    post("plain", "o-" + p, at("2026-01-05T10:00:00Z"),
         SaleEvent{p, std::to_string(10 * (i + 1)) + ".00", "EUR", "product", std::nullopt});
    model[i].amount = i128(900) * i128(i + 1);
    ids[i] = "plain:2026-01-12:" + p + ":EUR";
  }
  auto run = settle("plain", "2026-01-12");
  ASSERT_EQ(run.payouts.size(), payees);
  for (size_t i = 0; i < payees; ++i) books.in_transit += model[i].amount;
  books.cash = 0;  // relative to before the results
  const i128 cash0 = amt(bal("plain:cash", "EUR"), "EUR").minor();

  // The odd payees' payouts go out in a (recorded) pain.001 file: sent.
  std::vector<std::string> sent;
  for (size_t i = 1; i < payees; i += 2) sent.push_back(ids[i]), model[i].state = 's';
  auto recorded = std::make_shared<PayoutFileRecorded>();
  ASSERT_TRUE(submit(record_payout_file_op(*rules_,
                                           PayoutFileRecord{"plain:2026-01-12",
                                                            PayoutFileFormat::pain001,
                                                            sha256("the file"),
                                                            sent,
                                                            {},
                                                            "",
                                                            {}},
                                           recorded))
                  .ok());
  EXPECT_EQ(recorded->sent, sent.size());

  auto check = [&](size_t step) {
    SCOPED_TRACE("after step " + std::to_string(step));
    for (size_t i = 0; i < payees; ++i) {
      std::string p = "q" + std::to_string(100 + i);
      auto pv = payout(ids[i]);
      ASSERT_TRUE(pv.has_value());
      EXPECT_EQ(payout_state_name(pv->state), payout_state_name(state_of(model[i].state))) << p;
      EXPECT_EQ(bal("plain:payees:" + p + ":available", "EUR"), minor_text(model[i].available))
          << p;
      auto st = standing("plain", p);
      EXPECT_EQ(st && st->on_hold, model[i].on_hold) << p;
    }
    EXPECT_EQ(bal("plain:payouts:in_transit", "EUR"), minor_text(books.in_transit));
    EXPECT_EQ(bal("plain:cash", "EUR"), minor_text(cash0 + books.cash));
  };
  check(0);
  for (size_t step = 0; step < 3; ++step) {
    for (size_t i = 0; i < payees; ++i) {
      const auto& seq = sequences[i / 2];
      if (step >= seq.size()) continue;
      S s = seq[step];
      std::string id = "r-" + std::to_string(i) + "-" + std::to_string(step);
      auto r = post("plain", id, at("2026-01-13T10:00:00Z"),
                    PayoutResultEvent::of(ids[i], s, "bank says so", "AC04"), false);
      Expect want = model_apply(model[i], books, s);
      std::string what = ids[i] + " " + std::string(payout_result_status_name(s));
      switch (want) {
        case Expect::ok:
          EXPECT_EQ(r.status, ItemStatus::ok) << what << ": " << r.message;
          EXPECT_GT(r.seq, 0u) << what;
          break;
        case Expect::duplicate:
          EXPECT_EQ(r.status, ItemStatus::duplicate) << what << ": " << r.message;
          break;
        case Expect::error:
          EXPECT_EQ(r.code, Code::payout_already_settled) << what << ": " << r.message;
          // The message names both states: "failed after paid".
          EXPECT_NE(r.message.find(std::string(payout_result_status_name(s)) + " after "),
                    std::string::npos)
              << r.message;
          break;
      }
    }
    check(step + 1);
  }
  // The payees put on hold carry the bank's code in the reason.
  for (size_t i = 0; i < payees; ++i)
    if (model[i].on_hold) {
      auto st = standing("plain", "q" + std::to_string(100 + i));
      ASSERT_TRUE(st.has_value());
      EXPECT_NE(st->reason.find("AC04"), std::string::npos) << st->reason;
      EXPECT_NE(st->reason.find(ids[i]), std::string::npos) << st->reason;
    }
  expect_books_whole();
}

TEST_F(LifecycleTest, ResultEventFormsIdempotencyAndErrors) {
  details("plain", "p1");
  post("plain", "o-1", at("2026-01-05T10:00:00Z"),
       SaleEvent{"p1", "100.00", "EUR", "product", std::nullopt});
  settle("plain", "2026-01-12");
  const std::string po = "plain:2026-01-12:p1:EUR";
  // Unknown payout, a payout of another marketplace, a bad reason code.
  EXPECT_EQ(
      post("plain", "x1", at("2026-01-13T00:00:00Z"), PayoutResultEvent{"nope", true, ""}, false)
          .code,
      Code::unknown_payout);
  EXPECT_EQ(
      post("shop", "x2", at("2026-01-13T00:00:00Z"), PayoutResultEvent{po, true, ""}, false).code,
      Code::unknown_payout);
  EXPECT_EQ(post("plain", "x3", at("2026-01-13T00:00:00Z"),
                 PayoutResultEvent::of(po, S::failed, "", "A C04"), false)
                .code,
            Code::bad_request);
  // Paid: the entry is the event's.
  auto paid = post("plain", "pr-1", at("2026-01-13T00:00:00Z"), PayoutResultEvent{po, true, ""});
  EXPECT_EQ(paid.status, ItemStatus::ok);
  // The same event again: a duplicate of itself.
  auto again = post("plain", "pr-1", at("2026-01-13T00:00:00Z"), PayoutResultEvent{po, true, ""});
  EXPECT_EQ(again.status, ItemStatus::duplicate);
  EXPECT_EQ(again.seq, paid.seq);
  // Another paid event: a duplicate that names the entry that paid it.
  auto other = post("plain", "pr-2", at("2026-01-13T00:00:00Z"), PayoutResultEvent{po, true, ""});
  EXPECT_EQ(other.status, ItemStatus::duplicate);
  EXPECT_EQ(other.seq, paid.seq);
  EXPECT_NE(other.message.find("pr-1"), std::string::npos) << other.message;
  // ... and its id is now taken: the same id with other content is a conflict.
  EXPECT_EQ(post("plain", "pr-2", at("2026-01-13T00:00:00Z"),
                 PayoutResultEvent::of(po, S::returned), false)
                .code,
            Code::id_conflict);
  // Failed after paid: refused, naming both states.
  auto bad = post("plain", "pr-3", at("2026-01-14T00:00:00Z"),
                  PayoutResultEvent::of(po, S::failed, "closed", "AC04"), false);
  EXPECT_EQ(bad.code, Code::payout_already_settled);
  EXPECT_NE(bad.message.find("failed after paid"), std::string::npos) << bad.message;
  // Returned with a code: money back from cash to available, payee on hold with the code.
  const std::string cash = bal("plain:cash", "EUR");
  auto ret = post("plain", "pr-4", at("2026-01-20T00:00:00Z"),
                  PayoutResultEvent::of(po, S::returned, "no account/unable to locate", "R03"));
  EXPECT_EQ(ret.status, ItemStatus::ok);
  EXPECT_EQ(bal("plain:payees:p1:available", "EUR"), "90.00");
  EXPECT_EQ(amt(bal("plain:cash", "EUR"), "EUR").minor() - amt(cash, "EUR").minor(), 9000);
  auto pv = payout(po);
  ASSERT_TRUE(pv);
  EXPECT_EQ(pv->state, PayoutState::returned);
  EXPECT_EQ(pv->result_event, "pr-1");
  EXPECT_EQ(pv->return_event, "pr-4");
  EXPECT_EQ(pv->reason_code, "R03");
  auto st = standing("plain", "p1");
  ASSERT_TRUE(st && st->on_hold);
  EXPECT_EQ(st->reason, "payout " + po + " returned: R03 no account/unable to locate");
  // The entries: kinds and postings.
  auto snap = ledger_->snapshot();
  auto e = snap->entry("pr-4");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->entry.kind, "payout_returned");
  ASSERT_EQ(e->entry.postings.size(), 2u);
  EXPECT_EQ(e->entry.postings[0].account, "plain:cash");
  EXPECT_EQ(e->entry.postings[0].side, Side::debit);
  EXPECT_EQ(e->entry.postings[1].account, "plain:payees:p1:available");
  expect_books_whole();
}

TEST_F(LifecycleTest, ReadsByStateAcrossRunsAndOfARun) {
  for (const char* p : {"a", "b", "c"}) details("plain", p);
  post("plain", "o-a", at("2026-01-05T10:00:00Z"), SaleEvent{"a", "10.00", "EUR", "product", {}});
  post("plain", "o-b", at("2026-01-05T10:00:00Z"), SaleEvent{"b", "20.00", "EUR", "product", {}});
  settle("plain", "2026-01-12");
  post("plain", "o-c", at("2026-01-13T10:00:00Z"), SaleEvent{"c", "30.00", "EUR", "product", {}});
  post("plain", "o-a2", at("2026-01-13T10:00:00Z"), SaleEvent{"a", "40.00", "EUR", "product", {}});
  settle("plain", "2026-01-19");
  post("plain", "pr-a", at("2026-01-20T00:00:00Z"),
       PayoutResultEvent{"plain:2026-01-12:a:EUR", true, ""});
  post("plain", "pr-c", at("2026-01-20T00:00:00Z"),
       PayoutResultEvent{"plain:2026-01-19:c:EUR", false, "closed"});
  auto snap = ledger_->snapshot();
  const auto& h = rules_->tables();
  auto all = payouts_by_state(*snap, h, config_, "plain", std::nullopt, "", 100);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->payouts.size(), 4u);
  EXPECT_EQ(all->payouts[0].payout, "plain:2026-01-12:a:EUR");
  EXPECT_EQ(all->payouts[3].payout, "plain:2026-01-19:c:EUR");
  auto instructed = payouts_by_state(*snap, h, config_, "plain", PayoutState::instructed, "", 100);
  ASSERT_TRUE(instructed.ok());
  ASSERT_EQ(instructed->payouts.size(), 2u);
  EXPECT_EQ(instructed->payouts[0].payout, "plain:2026-01-12:b:EUR");
  EXPECT_EQ(instructed->payouts[1].payout, "plain:2026-01-19:a:EUR");
  // Paged, one at a time.
  std::vector<std::string> seen;
  std::string after;
  for (int i = 0; i < 10; ++i) {
    auto page = payouts_by_state(*snap, h, config_, "plain", std::nullopt, after, 1);
    ASSERT_TRUE(page.ok());
    for (auto& p : page->payouts) seen.push_back(p.payout);
    if (page->next.empty()) break;
    after = page->next;
  }
  EXPECT_EQ(seen.size(), 4u);
  auto failed = payouts_by_state(*snap, h, config_, "plain", PayoutState::failed, "", 100);
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed->payouts.size(), 1u);
  EXPECT_EQ(failed->payouts[0].record.payee, "c");
  auto run = run_payouts(*snap, h, "plain:2026-01-12");
  ASSERT_TRUE(run.ok());
  ASSERT_EQ(run->size(), 2u);
  EXPECT_EQ((*run)[0].record.state, PayoutState::paid);
  EXPECT_EQ((*run)[1].record.state, PayoutState::instructed);
  EXPECT_EQ(run_payouts(*snap, h, "plain:2026-01-05").error().code, Code::unknown_run);
  EXPECT_EQ(payouts_by_state(*snap, h, config_, "nope", std::nullopt, "", 10).error().code,
            Code::unknown_marketplace);
  EXPECT_EQ(payouts_by_state(*snap, h, config_, "plain", std::nullopt, "", 0).error().code,
            Code::bad_request);
}

TEST_F(LifecycleTest, ExportingFilesSendsPayoutsOnce) {
  for (const char* p : {"a", "b"}) details("plain", p);
  post("plain", "o-a", at("2026-01-05T10:00:00Z"), SaleEvent{"a", "10.00", "EUR", "product", {}});
  post("plain", "o-b", at("2026-01-05T10:00:00Z"), SaleEvent{"b", "20.00", "EUR", "product", {}});
  settle("plain", "2026-01-12");
  // A CSV is a listing: recorded, nothing sent.
  auto csv = export_payout_file(*rules_, "plain:2026-01-12", PayoutFileFormat::csv);
  ASSERT_TRUE(csv.ok()) << csv.error().message;
  EXPECT_EQ(csv->sent, 0u);
  EXPECT_EQ(payout("plain:2026-01-12:a:EUR")->state, PayoutState::instructed);
  // The pain.001 sends both.
  auto pain = export_payout_file(*rules_, "plain:2026-01-12", PayoutFileFormat::pain001);
  ASSERT_TRUE(pain.ok()) << pain.error().message;
  EXPECT_EQ(pain->sent, 2u);
  EXPECT_FALSE(pain->already_recorded);
  EXPECT_EQ(pain->file_id, "plain:2026-01-12:pain001");
  EXPECT_EQ(to_hex(pain->sha256), to_hex(sha256(pain->bytes)));
  auto pv = payout("plain:2026-01-12:b:EUR");
  ASSERT_TRUE(pv);
  EXPECT_EQ(pv->state, PayoutState::sent);
  EXPECT_EQ(pv->file, "plain:2026-01-12:pain001");
  EXPECT_GT(pv->sent_ns, 0);
  // Again: the same bytes, nothing changes.
  const uint64_t seq = ledger_->snapshot()->last_seq();
  auto again = export_payout_file(*rules_, "plain:2026-01-12", PayoutFileFormat::pain001);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->already_recorded);
  EXPECT_EQ(again->bytes, pain->bytes);
  EXPECT_EQ(again->sent, 0u);
  EXPECT_EQ(again->recorded_ns, pain->recorded_ns);
  EXPECT_EQ(ledger_->snapshot()->last_seq(), seq);
  // A CSV after: still fine (a listing).
  auto csv2 = export_payout_file(*rules_, "plain:2026-01-12", PayoutFileFormat::csv);
  ASSERT_TRUE(csv2.ok());
  EXPECT_TRUE(csv2->already_recorded);
  // Another bank file of the same payouts: refused, naming them and the file.
  auto refused = submit(record_payout_file_op(*rules_,
                                              PayoutFileRecord{"plain:2026-01-12",
                                                               PayoutFileFormat::co_dispersion,
                                                               sha256("x"),
                                                               {"plain:2026-01-12:a:EUR"},
                                                               {},
                                                               "",
                                                               {}},
                                              std::make_shared<PayoutFileRecorded>()));
  EXPECT_EQ(refused.code, Code::payout_already_settled);
  EXPECT_NE(refused.message.find("sent in file plain:2026-01-12:pain001"), std::string::npos)
      << refused.message;
  // The recorded pain.001 with other bytes: refused.
  auto other = submit(record_payout_file_op(*rules_,
                                            PayoutFileRecord{"plain:2026-01-12",
                                                             PayoutFileFormat::pain001,
                                                             sha256("other"),
                                                             {"plain:2026-01-12:a:EUR"},
                                                             {},
                                                             "",
                                                             {}},
                                            std::make_shared<PayoutFileRecorded>()));
  EXPECT_EQ(other.code, Code::id_conflict);
  // A payout that is not the run's; a run that does not exist.
  auto stranger = submit(record_payout_file_op(*rules_,
                                               PayoutFileRecord{"plain:2026-01-12",
                                                                PayoutFileFormat::nacha,
                                                                sha256("y"),
                                                                {"plain:2026-01-19:a:EUR"},
                                                                {{"plain:2026-01-19:a:EUR", "1"}},
                                                                "02100002",
                                                                {}},
                                               std::make_shared<PayoutFileRecorded>()));
  EXPECT_EQ(stranger.code, Code::bad_request) << stranger.message;
  EXPECT_EQ(export_payout_file(*rules_, "plain:2026-01-19", PayoutFileFormat::csv).error().code,
            Code::unknown_run);
  // A payout settled by a payout_result before any file: a bank file may not carry it.
  post("plain", "o-c", at("2026-01-13T10:00:00Z"), SaleEvent{"a", "30.00", "EUR", "product", {}});
  settle("plain", "2026-01-19");
  post("plain", "pr", at("2026-01-19T12:00:00Z"),
       PayoutResultEvent{"plain:2026-01-19:a:EUR", true, ""});
  auto late = export_payout_file(*rules_, "plain:2026-01-19", PayoutFileFormat::pain001);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, Code::payout_already_settled);
  EXPECT_NE(late.error().message.find("is already paid"), std::string::npos)
      << late.error().message;
  expect_books_whole();
}

}  // namespace
}  // namespace tally

namespace tally {
namespace {

// A WriteOp that runs a function in the writer's transaction: damage for verify to find.
class Damage final : public WriteOp {
 public:
  explicit Damage(std::function<void(WriteTxn&)> f) : f_(std::move(f)) {}
  ItemResult apply(WriteTxn& t) override {
    f_(t);
    return ItemResult{};
  }

 private:
  std::function<void(WriteTxn&)> f_;
};

TEST_F(LifecycleTest, VerifyFindsDamagedMarketplaceTables) {
  details("plain", "p1");
  post("plain", "o-1", at("2026-01-05T10:00:00Z"), SaleEvent{"p1", "10.00", "EUR", "product", {}});
  post("plain", "o-2", at("2026-01-12T10:00:00Z"), SaleEvent{"p1", "20.00", "EUR", "product", {}});
  settle("plain", "2026-01-12");
  expect_books_whole();
  const auto& h = rules_->tables();
  auto verify = [&] {
    auto snap = ledger_->snapshot();
    return verify_marketplace_tables(*snap, h, config_);
  };
  // A payout whose amount is not what in transit holds.
  const std::string po = "plain:2026-01-12:p1:EUR";
  auto pv = *payout(po);
  pv.amount += 1;
  ASSERT_TRUE(submit(std::make_unique<Damage>([&](WriteTxn& t) {
                t.put(h.payouts, po, tables::encode_payout(pv));
              })).ok());
  auto v = verify();
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.problem, ::testing::HasSubstr("FAILED: plain:payouts:in_transit EUR"));
  pv.amount -= 1;
  ASSERT_TRUE(submit(std::make_unique<Damage>([&](WriteTxn& t) {
                t.put(h.payouts, po, tables::encode_payout(pv));
              })).ok());
  EXPECT_TRUE(verify().ok);
  // A hold gone: pending no longer equals its holds.
  const std::string o2 = tables::hold_key("plain", "p1", "EUR", "o-2");
  auto o2_bytes = ledger_->snapshot()->get(h.holds, o2);
  ASSERT_TRUE(o2_bytes.has_value());
  tables::HoldValue o2_value;
  ASSERT_TRUE(tables::decode_hold(*o2_bytes, o2_value));
  ASSERT_TRUE(submit(std::make_unique<Damage>([&](WriteTxn& t) { t.del(h.holds, o2); })).ok());
  v = verify();
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.problem, ::testing::HasSubstr("plain:payees:p1:pending EUR: balance 18.00 but its "
                                              "holds sum to 0.00"));
  // A hold of a payee that has no pending account.
  const std::string ghost = tables::hold_key("plain", "ghost", "EUR", "o-9");
  ASSERT_TRUE(submit(std::make_unique<Damage>([&](WriteTxn& t) {
                t.put(h.holds, ghost, tables::encode_hold({100, 100, tables::kNoRelease, 0}));
              })).ok());
  v = verify();
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.problem, ::testing::HasSubstr("holds of plain:ghost in EUR have no account"));
  // The hold back, a cent short: its sum is held against the balance.
  tables::HoldValue short_value = o2_value;
  short_value.remaining -= 1;
  ASSERT_TRUE(submit(std::make_unique<Damage>([&](WriteTxn& t) {
                t.del(h.holds, ghost);
                t.put(h.holds, o2, tables::encode_hold(short_value));
              })).ok());
  v = verify();
  EXPECT_FALSE(v.ok);
  EXPECT_THAT(v.problem, ::testing::HasSubstr("plain:payees:p1:pending EUR: balance 18.00 but its "
                                              "holds sum to 17.99"));
  ASSERT_TRUE(submit(std::make_unique<Damage>([&](WriteTxn& t) {
                t.put(h.holds, o2, tables::encode_hold(o2_value));
              })).ok());
  EXPECT_TRUE(verify().ok) << verify().problem;
}

}  // namespace
}  // namespace tally
