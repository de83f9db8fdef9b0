// Replication at the ledger (ledger/replication.h): a standby that applies a leader's change sets
// holds the same books byte for byte; a set out of order or tampered with changes nothing; a
// synchronous leader's results wait for release_through. The standby's books are checked against
// the leader's own reads and the standby's full verify, never against the change sets themselves.
#include <atomic>
#include <future>
#include <map>

#include "common/test_util.h"
#include "ledger/ledger.h"

namespace tally {
namespace {

using namespace tally::testing;

// Writes and deletes rows of a higher layer's table, and sweeps a range, as settlement does.
class TableOp : public WriteOp {
 public:
  TableOp(TableId t, std::vector<std::pair<std::string, std::string>> puts,
          std::vector<std::string> dels, std::string sweep_from = {})
      : t_(t), puts_(std::move(puts)), dels_(std::move(dels)), sweep_from_(std::move(sweep_from)) {}
  ItemResult apply(WriteTxn& txn) override {
    for (auto& [k, v] : puts_) txn.put(t_, k, v);
    for (auto& k : dels_) txn.del(t_, k);
    if (!sweep_from_.empty())
      txn.sweep(t_, sweep_from_, [](std::string_view k, std::string_view) {
        return k.substr(0, 2) == "s:" ? WriteTxn::Sweep::erase : WriteTxn::Sweep::stop;
      });
    return ItemResult{};
  }

 private:
  TableId t_;
  std::vector<std::pair<std::string, std::string>> puts_;
  std::vector<std::string> dels_;
  std::string sweep_from_;
};

std::map<std::string, std::string> table_rows(Ledger& l, std::string_view name) {
  std::map<std::string, std::string> rows;
  l.snapshot()->scan(l.table(name), {}, [&](std::string_view k, std::string_view v) {
    rows.emplace(k, v);
    return true;
  });
  return rows;
}

std::vector<ChangeSet> change_sets(Ledger& l, uint64_t from_txn) {
  std::vector<ChangeSet> out;
  l.snapshot()->change_sets(from_txn, [&](uint64_t txn, std::string_view row) {
    out.push_back(ChangeSet{txn, std::string(row)});
    return true;
  });
  return out;
}

class ReplicationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LedgerOptions o;
    o.replication_log = true;
    o.extra_tables = {"market", "runs"};
    leader_ = open_ledger(dir_.sub("leader"), o);
    standby_ = open_ledger(dir_.sub("standby"), o);
  }
  // Books with accounts, entries, a failed linked chain (a savepoint undone) and table rows.
  void write_books() {
    auto r = leader_->submit_and_wait(
        batch(make_open_account(account("m:bank", AccountKind::asset, {"USD", "EUR"})),
              make_open_account(account("m:payee", AccountKind::liability, {"USD"}, kNoOverdraft)),
              make_open_account(account("m:fees", AccountKind::revenue, {"USD"}))));
    for (auto& x : r) ASSERT_TRUE(x.ok()) << x.message;
    for (int i = 0; i < 5; ++i) {
      auto p = leader_->submit_and_wait(batch(make_post_entry(
          entry("sale-" + std::to_string(i),
                {debit("m:bank", "10.00"), credit("m:payee", "9.00"), credit("m:fees", "1.00")}))));
      ASSERT_TRUE(p[0].ok()) << p[0].message;
    }
    // A linked chain whose second item overdraws: the first item's writes are undone.
    Batch chain = batch(
        make_post_entry(entry("c-1", {debit("m:bank", "1.00"), credit("m:payee", "1.00")})),
        make_post_entry(entry("c-2", {debit("m:payee", "999.00"), credit("m:bank", "999.00")})));
    chain[0]->linked = true;
    auto c = leader_->submit_and_wait(std::move(chain));
    ASSERT_FALSE(c[0].ok());
    const TableId market = leader_->table("market");
    Batch t;
    t.push_back(std::make_unique<TableOp>(
        market,
        std::vector<std::pair<std::string, std::string>>{
            {"a", "1"}, {"b", "2"}, {"s:1", "x"}, {"s:2", "y"}, {"z", "3"}},
        std::vector<std::string>{}));
    ASSERT_TRUE(leader_->submit_and_wait(std::move(t))[0].ok());
    Batch u;
    u.push_back(std::make_unique<TableOp>(
        market, std::vector<std::pair<std::string, std::string>>{{"b", "22"}},
        std::vector<std::string>{"a", "never-there"}, "s:"));
    ASSERT_TRUE(leader_->submit_and_wait(std::move(u))[0].ok());
  }

  TempDir dir_;
  std::unique_ptr<Ledger> leader_, standby_;
};

TEST_F(ReplicationTest, AStandbyThatAppliesTheChangeSetsHoldsTheSameBooks) {
  write_books();
  auto sets = change_sets(*leader_, 1);
  ASSERT_EQ(sets.size(), leader_->last_txn());
  EXPECT_EQ(sets.front().txn, 1u);
  // In two calls, as a stream would deliver them.
  std::vector<ChangeSet> first(sets.begin(), sets.begin() + 2), rest(sets.begin() + 2, sets.end());
  ASSERT_TRUE(standby_->replicate(first).ok());
  Status s = standby_->replicate(rest);
  ASSERT_TRUE(s.ok()) << s.message();

  EXPECT_EQ(standby_->last_txn(), leader_->last_txn());
  auto ls = leader_->snapshot(), ss = standby_->snapshot();
  EXPECT_EQ(ss->last_seq(), 5u);
  EXPECT_EQ(ss->last_seq(), ls->last_seq());
  EXPECT_EQ(ss->last_commit_ns(), ls->last_commit_ns());
  VerifyReport lv = ls->verify(), sv = ss->verify();
  ASSERT_TRUE(sv.ok) << sv.problem;
  EXPECT_EQ(sv.head, lv.head);
  for (const char* a : {"m:bank", "m:payee", "m:fees"})
    EXPECT_EQ(*ss->balance(a, "USD"), *ls->balance(a, "USD")) << a;
  EXPECT_EQ(*ss->balance("m:payee", "USD"), amt("45.00"));
  EXPECT_FALSE(ss->entry("c-1").has_value());  // the undone chain did not travel
  EXPECT_EQ(table_rows(*standby_, "market"), table_rows(*leader_, "market"));
  EXPECT_EQ(table_rows(*standby_, "market"),
            (std::map<std::string, std::string>{{"b", "22"}, {"z", "3"}}));
  // The standby keeps the same log, so it can feed standbys of its own after a failover.
  auto again = change_sets(*standby_, 1);
  ASSERT_EQ(again.size(), sets.size());
  for (size_t i = 0; i < sets.size(); ++i) EXPECT_EQ(again[i].row, sets[i].row) << i;
  // And it writes on after them as a leader would.
  auto p = standby_->submit_and_wait(
      batch(make_post_entry(entry("after", {debit("m:bank", "1.00"), credit("m:payee", "1.00")}))));
  ASSERT_TRUE(p[0].ok()) << p[0].message;
  EXPECT_EQ(p[0].seq, 6u);
  EXPECT_TRUE(standby_->snapshot()->verify().ok);
}

TEST_F(ReplicationTest, ASetOutOfOrderOrTamperedWithChangesNothing) {
  write_books();
  auto sets = change_sets(*leader_, 1);
  ASSERT_TRUE(standby_->replicate({sets[0]}).ok());
  // A gap.
  Status gap = standby_->replicate({sets[2]});
  EXPECT_EQ(gap.kind(), Status::Kind::corruption);
  EXPECT_NE(gap.message().find("replica diverged at txn 3"), std::string::npos) << gap.message();
  // A replayed set.
  EXPECT_EQ(standby_->replicate({sets[0]}).kind(), Status::Kind::corruption);
  // The second sale's set with its id changed: the chain hash does not cover it.
  ASSERT_TRUE(standby_->replicate({sets[1]}).ok());
  ChangeSet bad = sets[2];
  // The entry's id inside the row, changed: its chain hash no longer covers it.
  size_t at = bad.row.find("sale-1");
  ASSERT_NE(at, std::string::npos);
  bad.row[at + 5] = '9';
  Status t = standby_->replicate({bad});
  EXPECT_EQ(t.kind(), Status::Kind::corruption);
  EXPECT_NE(t.message().find("replica diverged"), std::string::npos) << t.message();
  EXPECT_EQ(standby_->last_txn(), 2u);
  EXPECT_EQ(standby_->snapshot()->last_seq(), 1u);
  // Cut short.
  ChangeSet cut = sets[2];
  cut.row.resize(cut.row.size() - 3);
  EXPECT_EQ(standby_->replicate({cut}).kind(), Status::Kind::corruption);
  // The real ones still apply.
  std::vector<ChangeSet> rest(sets.begin() + 2, sets.end());
  Status ok = standby_->replicate(rest);
  ASSERT_TRUE(ok.ok()) << ok.message();
  EXPECT_TRUE(standby_->snapshot()->verify().ok);
}

// A store that took another transaction at some txn (a deposed leader's unacknowledged tail, a
// standby written to by hand) refuses the leader's next set: rows chain by hash, so the books
// cannot silently differ where the journal's own chain does not reach (tables, accounts).
TEST_F(ReplicationTest, AStoreThatTookAnotherPathRefusesTheNextSet) {
  auto open = [](Ledger& l, const std::string& name) {
    auto r =
        l.submit_and_wait(batch(make_open_account(account(name, AccountKind::asset, {"USD"}))));
    ASSERT_TRUE(r[0].ok()) << r[0].message;
  };
  open(*leader_, "a");
  ASSERT_TRUE(standby_->replicate(change_sets(*leader_, 1)).ok());
  open(*standby_, "standby-only");  // txn 2 on the standby
  open(*leader_, "b");              // txn 2 on the leader: another row
  open(*leader_, "c");              // txn 3
  Status s = standby_->replicate(change_sets(*leader_, 3));
  EXPECT_EQ(s.kind(), Status::Kind::corruption);
  EXPECT_NE(s.message().find("another path"), std::string::npos) << s.message();
  EXPECT_FALSE(standby_->snapshot()->account("c").has_value());
}

// A set from a term below one the standby has applied (a deposed leader still streaming) is
// refused.
TEST_F(ReplicationTest, ASetFromAnOlderTermIsRefused) {
  leader_->set_term(7);
  leader_->submit_and_wait(batch(make_open_account(account("a", AccountKind::asset, {"USD"}))));
  auto first = change_sets(*leader_, 1);
  ASSERT_TRUE(standby_->replicate(first).ok());
  // An old leader (term 3) that holds the same first transaction writes its own second.
  LedgerOptions o;
  o.replication_log = true;
  o.extra_tables = {"market", "runs"};
  auto old = open_ledger(dir_.sub("old"), o);
  ASSERT_TRUE(old->replicate(first).ok());
  old->set_term(3);
  old->submit_and_wait(batch(make_open_account(account("b", AccountKind::asset, {"USD"}))));
  Status s = standby_->replicate(change_sets(*old, 2));
  EXPECT_EQ(s.kind(), Status::Kind::corruption);
  EXPECT_NE(s.message().find("older than term 7"), std::string::npos) << s.message();
  // The same from the current term applies.
  leader_->submit_and_wait(batch(make_open_account(account("b", AccountKind::asset, {"USD"}))));
  Status ok = standby_->replicate(change_sets(*leader_, 2));
  EXPECT_TRUE(ok.ok()) << ok.message();
}

TEST_F(ReplicationTest, ALeaderThatMayNotAcknowledgeAnswersNotLeader) {
  std::atomic<bool> may{true};
  LedgerOptions o;
  o.replication_log = true;
  o.may_acknowledge = [&may] { return may.load(); };
  auto l = open_ledger(dir_.sub("fenced"), o);
  auto r = l->submit_and_wait(batch(make_open_account(account("a", AccountKind::asset, {"USD"}))));
  EXPECT_TRUE(r[0].ok());
  may.store(false);
  r = l->submit_and_wait(batch(make_open_account(account("b", AccountKind::asset, {"USD"}))));
  EXPECT_EQ(r[0].code, Code::not_leader) << r[0].message;
  EXPECT_TRUE(l->snapshot()->account("b").has_value());  // committed, not acknowledged
}

TEST_F(ReplicationTest, TheLogKeepsTheLastTransactionsItIsToldTo) {
  LedgerOptions o;
  o.replication_log = true;
  o.replog_txns_kept = 3;
  auto l = open_ledger(dir_.sub("short"), o);
  for (int i = 0; i < 6; ++i)
    l->submit_and_wait(
        batch(make_open_account(account("a" + std::to_string(i), AccountKind::asset, {"USD"}))));
  EXPECT_EQ(l->last_txn(), 6u);
  EXPECT_EQ(l->snapshot()->first_logged_txn(), 4u);
  EXPECT_EQ(change_sets(*l, 1).size(), 3u);
}

TEST_F(ReplicationTest, ASynchronousLeadersResultsWaitForReleaseThrough) {
  LedgerOptions o;
  o.replication_log = true;
  o.hold_until_replicated = true;
  auto l = open_ledger(dir_.sub("sync"), o);
  std::promise<std::vector<ItemResult>> p;
  auto f = p.get_future();
  l->submit(batch(make_open_account(account("a", AccountKind::asset, {"USD"}))),
            [&p](std::vector<ItemResult> r) { p.set_value(std::move(r)); });
  // Committed (the log has it) but not answered.
  for (int i = 0; i < 1000 && l->last_txn() < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(l->last_txn(), 1u);
  EXPECT_EQ(f.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  l->release_through(1);
  auto r = f.get();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].ok()) << r[0].message;
}

TEST_F(ReplicationTest, ResultsStillHeldAtCloseAreInterrupted) {
  LedgerOptions o;
  o.replication_log = true;
  o.hold_until_replicated = true;
  auto l = open_ledger(dir_.sub("sync"), o);
  std::promise<std::vector<ItemResult>> p;
  auto f = p.get_future();
  l->submit(batch(make_open_account(account("a", AccountKind::asset, {"USD"}))),
            [&p](std::vector<ItemResult> r) { p.set_value(std::move(r)); });
  l.reset();
  auto r = f.get();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].code, Code::interrupted) << r[0].message;
}

}  // namespace
}  // namespace tally
