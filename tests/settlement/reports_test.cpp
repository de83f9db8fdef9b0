// ISO 20022 bank reports applied to payouts (SPEC section 8, "Reports in"): the pain.002 and
// camt.054 samples of fixtures/bank/ (the shapes banks send: a message accepted, a transaction
// rejected with AC04, a whole message rejected, a payout debited and then returned), pointed at
// the payouts of real runs. Each line matched, already applied, unmatched (with its location),
// contradictory (both states), mismatched or informational; the whole report applied at once.
#include <gmock/gmock.h>

#include <fstream>

#include "payouts_fixture.h"

namespace tally {
namespace {

using namespace tally::testing;
using tables::PayoutState;
using ::testing::HasSubstr;
using St = ReportLineStatus;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(TALLY_SOURCE_DIR) + "/fixtures/bank/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  size_t n = 0;
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()), ++n)
    s.replace(at, from.size(), to);
  EXPECT_GT(n, 0u) << from;
}

BankReport parsed(const std::string& bytes) {
  auto r = parse_bank_report(bytes);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? std::move(r).value() : BankReport{};
}

class ReportsTest : public PayoutsTest {
 protected:
  // A run of `plain` on `date` paying x 120.50 and y 0.99 (sales of 133.89 and 1.10: the seller
  // keeps what the 10% commission, rounded half_even, leaves), its pain.001 exported.
  void run_with_two(const std::string& x, const std::string& y, const char* sold,
                    const char* date) {
    details("plain", x);
    details("plain", y);
    post("plain", "o-" + x, at(sold), SaleEvent{x, "133.89", "EUR", "product", {}});
    post("plain", "o-" + y, at(sold), SaleEvent{y, "1.10", "EUR", "product", {}});
    auto run = settle("plain", date);
    ASSERT_EQ(run.payouts.size(), 2u);
    EXPECT_EQ(format_amount(run.payouts[0].amount, 2), "120.50");
    EXPECT_EQ(format_amount(run.payouts[1].amount, 2), "0.99");
    auto f = export_payout_file(*rules_, run.run, PayoutFileFormat::pain001);
    ASSERT_TRUE(f.ok()) << f.error().message;
    EXPECT_EQ(f->sent, 2u);
  }
  // A sample with its references pointed at run `run`'s payouts of x (po-1) and y (po-2).
  std::string sample(const std::string& name, const std::string& run, const std::string& x,
                     const std::string& y) {
    std::string s = fixture(name);
    if (s.find("po-1") != std::string::npos) replace_all(s, "po-1", run + ":" + x + ":EUR");
    if (s.find("po-2") != std::string::npos) replace_all(s, "po-2", run + ":" + y + ":EUR");
    if (s.find("shop-2026-01-05") != std::string::npos) replace_all(s, "shop-2026-01-05", run);
    return s;
  }
  ReportImport import(const std::string& bytes, ReportImportOptions o = {}) {
    auto r = import_bank_report(*rules_, parsed(bytes), o);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? std::move(r).value() : ReportImport{};
  }
  uint64_t seq() { return ledger_->snapshot()->last_seq(); }
};

TEST_F(ReportsTest, Pain002RejectsOneTransactionWithAc04) {
  run_with_two("a", "b", "2026-01-05T10:00:00Z", "2026-01-12");
  std::string file = sample("pain002_one_rejected.xml", "plain:2026-01-12", "a", "b");
  auto r = import(file);
  EXPECT_TRUE(r.applied);
  ASSERT_EQ(r.lines.size(), 2u);
  // ACSC is accepted, not paid: recorded nowhere.
  EXPECT_EQ(r.lines[0].status, St::informational);
  EXPECT_EQ(r.lines[1].status, St::matched) << r.lines[1].message;
  EXPECT_EQ(r.lines[1].reason, "AC04");
  EXPECT_EQ(r.lines[1].location, "/Document/CstmrPmtStsRpt/OrgnlPmtInfAndSts[1]/TxInfAndSts[2]");
  EXPECT_EQ(payout("plain:2026-01-12:a:EUR")->state, PayoutState::sent);
  auto b = payout("plain:2026-01-12:b:EUR");
  EXPECT_EQ(b->state, PayoutState::failed);
  EXPECT_EQ(b->reason_code, "AC04");
  EXPECT_EQ(bal("plain:payees:b:available", "EUR"), "0.99");
  EXPECT_EQ(bal("plain:payouts:in_transit", "EUR"), "120.50");
  auto st = standing("plain", "b");
  ASSERT_TRUE(st && st->on_hold);
  EXPECT_EQ(st->reason,
            "payout plain:2026-01-12:b:EUR failed: AC04 Account closed since 2025-12-01");
  // The entry carries the report's references.
  auto snap = ledger_->snapshot();
  auto e = snap->entry("~plain:2026-01-12:b:EUR:failed");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->entry.kind, "payout_failed");
  std::map<std::string, std::string> meta(e->entry.meta.begin(), e->entry.meta.end());
  EXPECT_EQ(meta["report"], "STS-20260105-0002");
  EXPECT_EQ(meta["bank_reference"], "BANK-TX-2");
  EXPECT_EQ(meta["reason_code"], "AC04");
  // Again: already applied, nothing posted.
  const uint64_t before = seq();
  auto again = import(file);
  EXPECT_EQ(again.lines[1].status, St::already_applied);
  EXPECT_EQ(again.payouts_moved, 0u);
  EXPECT_EQ(seq(), before);
  expect_books_whole();
}

TEST_F(ReportsTest, Camt054BooksThePaymentsAndTheReturnAfterPaid) {
  run_with_two("c", "d", "2026-01-12T10:00:00Z", "2026-01-19");
  std::string file = sample("camt054_paid_and_returned.xml", "plain:2026-01-19", "c", "d");
  const std::string cash = bal("plain:cash", "EUR");
  auto r = import(file);
  EXPECT_TRUE(r.applied);
  // c debited; d debited, then returned (AC04) in the same report.
  ASSERT_EQ(r.lines.size(), 3u);
  EXPECT_EQ(r.lines[0].status, St::matched);
  EXPECT_EQ(r.lines[1].status, St::matched);
  EXPECT_EQ(r.lines[2].status, St::matched) << r.lines[2].message;
  EXPECT_EQ(r.lines[2].outcome, ReportOutcome::returned);
  EXPECT_EQ(r.lines[2].payouts[0].before, PayoutState::paid);
  EXPECT_EQ(r.lines[2].payouts[0].after, PayoutState::returned);
  EXPECT_EQ(r.payouts_moved, 3u);
  EXPECT_EQ(r.ignored.size(), 2u);  // the top-up and the fee: not payouts
  EXPECT_EQ(payout("plain:2026-01-19:c:EUR")->state, PayoutState::paid);
  EXPECT_EQ(payout("plain:2026-01-19:d:EUR")->state, PayoutState::returned);
  EXPECT_EQ(bal("plain:payouts:in_transit", "EUR"), "0.00");
  // Cash: -120.50 - 0.99 + 0.99.
  EXPECT_EQ(amt(cash, "EUR").minor() - amt(bal("plain:cash", "EUR"), "EUR").minor(), 12050);
  EXPECT_EQ(bal("plain:payees:d:available", "EUR"), "0.99");
  auto st = standing("plain", "d");
  ASSERT_TRUE(st && st->on_hold);
  EXPECT_THAT(st->reason, HasSubstr("returned: AC04 Closed account"));
  // Again: every line already applied.
  const uint64_t before = seq();
  auto again = import(file);
  EXPECT_EQ(again.already_applied, 3u);
  EXPECT_EQ(seq(), before);
  // A pain.002 rejecting d now: failed after returned, contradictory; nothing applied for it.
  std::string late = sample("pain002_one_rejected.xml", "plain:2026-01-19", "c", "d");
  auto contra = import(late);
  ASSERT_EQ(contra.lines.size(), 2u);
  EXPECT_EQ(contra.lines[0].status, St::informational);
  EXPECT_EQ(contra.lines[1].status, St::contradictory);
  EXPECT_THAT(contra.lines[1].message, HasSubstr("failed after returned"));
  EXPECT_EQ(payout("plain:2026-01-19:d:EUR")->state, PayoutState::returned);
  EXPECT_EQ(contra.payouts_moved, 0u);
  expect_books_whole();
}

TEST_F(ReportsTest, AGroupRejectionFailsEveryPayoutOfTheMessage) {
  run_with_two("e", "f", "2026-01-19T10:00:00Z", "2026-01-26");
  // Accepted first: informational.
  auto ok = import(sample("pain002_accepted.xml", "plain:2026-01-26", "e", "f"));
  ASSERT_EQ(ok.lines.size(), 1u);
  EXPECT_EQ(ok.lines[0].status, St::informational);
  EXPECT_EQ(ok.lines[0].reference_kind, ReferenceKind::message_id);
  // Then the whole message rejected (FF01): both payouts fail.
  auto r = import(sample("pain002_group_rejected.xml", "plain:2026-01-26", "e", "f"));
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0].status, St::matched) << r.lines[0].message;
  ASSERT_EQ(r.lines[0].payouts.size(), 2u);
  EXPECT_EQ(r.payouts_moved, 2u);
  EXPECT_EQ(payout("plain:2026-01-26:e:EUR")->state, PayoutState::failed);
  EXPECT_EQ(payout("plain:2026-01-26:f:EUR")->state, PayoutState::failed);
  EXPECT_EQ(payout("plain:2026-01-26:f:EUR")->reason_code, "FF01");
  EXPECT_EQ(bal("plain:payouts:in_transit", "EUR"), "0.00");
  // A batch (PmtInf) rejection of the same payouts: already applied.
  std::string batch = R"(<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03">
  <CstmrPmtStsRpt>
    <GrpHdr><MsgId>STS-B</MsgId><CreDtTm>2026-01-27T06:00:00Z</CreDtTm></GrpHdr>
    <OrgnlGrpInfAndSts><OrgnlMsgId>plain:2026-01-26</OrgnlMsgId>
      <OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId><GrpSts>PART</GrpSts></OrgnlGrpInfAndSts>
    <OrgnlPmtInfAndSts><OrgnlPmtInfId>plain:2026-01-26-EUR</OrgnlPmtInfId><PmtInfSts>RJCT</PmtInfSts>
      <StsRsnInf><Rsn><Cd>AM04</Cd></Rsn></StsRsnInf></OrgnlPmtInfAndSts>
  </CstmrPmtStsRpt>
</Document>)";
  auto b = import(batch);
  ASSERT_EQ(b.lines.size(), 1u);
  EXPECT_EQ(b.lines[0].reference_kind, ReferenceKind::payment_information_id);
  EXPECT_EQ(b.lines[0].status, St::already_applied) << b.lines[0].message;
  EXPECT_EQ(b.lines[0].payouts.size(), 2u);
  expect_books_whole();
}

TEST_F(ReportsTest, UnmatchedMismatchedAllOrNothingAndDryRun) {
  run_with_two("g", "h", "2026-01-05T10:00:00Z", "2026-01-12");
  // The raw sample names po-1 and po-2, which are no payouts here: unmatched, with the line.
  auto raw = import(fixture("pain002_one_rejected.xml"));
  ASSERT_EQ(raw.lines.size(), 2u);
  EXPECT_EQ(raw.lines[0].status, St::unmatched);
  EXPECT_EQ(raw.lines[1].status, St::unmatched);
  EXPECT_EQ(raw.lines[1].line, 28u);
  EXPECT_THAT(raw.lines[1].message, HasSubstr("no payout has EndToEndId \"po-2\""));
  EXPECT_EQ(raw.unmatched, 2u);
  // An amount that is not the payout's: mismatched, not applied.
  std::string wrong = sample("pain002_one_rejected.xml", "plain:2026-01-12", "g", "h");
  replace_all(wrong, ">0.99<", ">9.99<");
  auto m = import(wrong);
  EXPECT_EQ(m.lines[1].status, St::mismatched);
  EXPECT_THAT(m.lines[1].message, HasSubstr("the line says 9.99 EUR, the payout is 0.99 EUR"));
  EXPECT_EQ(payout("plain:2026-01-12:h:EUR")->state, PayoutState::sent);
  // A camt.054 with one line that matches and one that does not, all or nothing: nothing.
  std::string mixed = sample("camt054_paid_and_returned.xml", "plain:2026-01-12", "g", "h");
  replace_all(mixed, "plain:2026-01-12:h:EUR", "unknown-payout");
  ReportImportOptions strict;
  strict.all_or_nothing = true;
  const uint64_t before = seq();
  auto held = import(mixed, strict);
  EXPECT_FALSE(held.applied);
  EXPECT_EQ(held.lines[0].status, St::matched);  // as judged
  EXPECT_EQ(held.unmatched, 2u);
  EXPECT_EQ(seq(), before);
  EXPECT_EQ(payout("plain:2026-01-12:g:EUR")->state, PayoutState::sent);
  // A dry run judges the same and applies nothing.
  ReportImportOptions dry;
  dry.dry_run = true;
  auto preview = import(mixed, dry);
  EXPECT_TRUE(preview.dry_run);
  EXPECT_FALSE(preview.applied);
  EXPECT_EQ(preview.matched, 1u);
  EXPECT_EQ(seq(), before);
  // Without all_or_nothing the matching line applies, the others are reported.
  auto partial = import(mixed);
  EXPECT_TRUE(partial.applied);
  EXPECT_EQ(partial.matched, 1u);
  EXPECT_EQ(payout("plain:2026-01-12:g:EUR")->state, PayoutState::paid);
  expect_books_whole();
}

TEST_F(ReportsTest, ARefusedTransitionRefusesTheWholeReport) {
  run_with_two("i", "j", "2026-01-05T10:00:00Z", "2026-01-12");
  // j's available account closed: its failure cannot be booked, so neither is i's payment.
  ASSERT_TRUE(submit(make_close_account("plain:payees:j:available")).ok());
  std::string file = sample("camt054_paid_and_returned.xml", "plain:2026-01-12", "i", "j");
  const uint64_t before = seq();
  auto r = import_bank_report(*rules_, parsed(file));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::account_closed);
  EXPECT_THAT(r.error().message, HasSubstr("payout plain:2026-01-12:j:EUR"));
  EXPECT_THAT(r.error().message, HasSubstr("nothing of the report was applied"));
  EXPECT_EQ(seq(), before);
  EXPECT_EQ(payout("plain:2026-01-12:i:EUR")->state, PayoutState::sent);
  EXPECT_EQ(payout("plain:2026-01-12:j:EUR")->state, PayoutState::sent);
}

}  // namespace
}  // namespace tally
