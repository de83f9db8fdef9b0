// The ledger's extra tables (LedgerOptions::extra_tables) and savepoints over them.
#include "ledger/ledger.h"

#include <lmdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "common/test_util.h"

namespace tally {
namespace {

using namespace tally::testing;

// A generic op for the table tests: runs `f` inside the writer's transaction.
class FnOp final : public WriteOp {
 public:
  explicit FnOp(std::function<void(WriteTxn&)> f) : f_(std::move(f)) {}
  ItemResult apply(WriteTxn& t) override {
    f_(t);
    return ItemResult{};
  }

 private:
  std::function<void(WriteTxn&)> f_;
};

// A ledger with one extra table, "t", for the table tests.
std::unique_ptr<Ledger> open_with_table(const TempDir& dir) {
  LedgerOptions o;
  o.extra_tables = {"t"};
  return open_ledger(dir.sub("data"), o);
}
// Every row of `table`, in key order.
std::map<std::string, std::string> table_rows(Snapshot& snap, TableId table) {
  std::map<std::string, std::string> rows;
  snap.scan(table, "", [&](std::string_view k, std::string_view v) {
    rows.emplace(k, v);
    return true;
  });
  return rows;
}

// Savepoints: nested ones, each kept or undone at random, over puts, deletes and sweeps of a
// table, entries and account opens, must leave exactly what a model that copies its state at
// each savepoint says, and the journal must stay whole (verify).
TEST(LedgerTables, SavepointsUndoExactlyWhatWasWrittenInsideThemAndNest) {
  TempDir dir;
  auto ledger = open_with_table(dir);
  TableId t = ledger->table("t");
  ASSERT_TRUE(ledger
                  ->submit_and_wait(
                      batch(make_open_account(account("s:a", AccountKind::asset, {"USD"})),
                            make_open_account(account("s:b", AccountKind::revenue, {"USD"}))))[0]
                  .ok());
  std::mt19937_64 rng(3);
  struct Model {
    std::map<std::string, std::string> rows;
    i128 posted = 0;  // minor units on s:a
    int entries = 0, accounts = 0;
  } m;
  int next = 0;
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(ledger
                    ->submit_and_wait(batch(std::make_unique<FnOp>([&](WriteTxn& w) {
                      std::vector<Model> saved;  // the model at each open savepoint
                      for (int step = 0; step < 300; ++step) {
                        int what = static_cast<int>(rng() % 100);
                        std::string k = "k" + std::to_string(rng() % 400);
                        if (what < 40) {
                          std::string v(20 + rng() % 200, char('a' + rng() % 26));
                          w.put(t, k, v);
                          m.rows[k] = v;
                        } else if (what < 55) {
                          w.del(t, k);
                          m.rows.erase(k);
                        } else if (what < 60) {
                          // Erase every row of a key range through the cursor.
                          std::string hi = k + "~";
                          w.sweep(t, k, [&](std::string_view key, std::string_view) {
                            return key >= hi ? WriteTxn::Sweep::stop : WriteTxn::Sweep::erase;
                          });
                          m.rows.erase(m.rows.lower_bound(k), m.rows.lower_bound(hi));
                        } else if (what < 70) {
                          Entry e = entry("e" + std::to_string(next++),
                                          {debit("s:a", "0.07"), credit("s:b", "0.07")});
                          auto p = w.prepare_entry(e, sha256("test", canonical_entry_bytes(e)));
                          ASSERT_TRUE(p.ok());
                          w.apply_entry(*p);
                          m.posted += 7;
                          ++m.entries;
                        } else if (what < 73) {
                          auto r = w.open_account(
                              account("s:x" + std::to_string(next++), AccountKind::asset, {"USD"}));
                          ASSERT_TRUE(r.ok());
                          ++m.accounts;
                        } else if (what < 86) {
                          w.begin_savepoint();
                          saved.push_back(m);
                        } else if (!saved.empty()) {
                          bool keep = what < 93;
                          w.end_savepoint(keep);
                          if (!keep) m = saved.back();
                          saved.pop_back();
                        }
                        ASSERT_EQ(w.balance("s:a", cur("USD")), Amount::from_minor(m.posted));
                      }
                      while (!saved.empty()) {  // close what is open, undoing the outermost
                        w.end_savepoint(saved.size() > 1);
                        if (saved.size() == 1) m = saved.back();
                        saved.pop_back();
                      }
                    })))[0]
                    .ok());
    auto snap = ledger->snapshot();
    ASSERT_EQ(table_rows(*snap, t), m.rows) << "round " << round;
    ASSERT_EQ(*snap->balance("s:a", "USD"), Amount::from_minor(m.posted));
    auto v = snap->verify();
    ASSERT_TRUE(v.ok) << v.problem;
    ASSERT_EQ(v.entries, static_cast<uint64_t>(m.entries));
    ASSERT_EQ(snap->last_seq(), static_cast<uint64_t>(m.entries));  // undone entries left no gap
  }
  size_t opened = 0;
  for (int i = 0; i < next; ++i)
    opened += ledger->snapshot()->account("s:x" + std::to_string(i)).has_value();
  EXPECT_EQ(opened, static_cast<size_t>(m.accounts));
  EXPECT_GT(m.entries, 50);
  EXPECT_GT(m.accounts, 5);
}

TEST(LedgerTables, SweepDeletesWhatItIsToldAcrossPagesAndStopsWhereItIsTold) {
  TempDir dir;
  auto ledger = open_with_table(dir);
  TableId t = ledger->table("t");
  // 20,000 rows of ~100 bytes: several hundred LMDB pages, so deleting runs of rows empties
  // pages, merges them and moves the cursor across page boundaries.
  std::map<std::string, std::string> model;
  auto key = [](int i) {
    char b[16];
    std::snprintf(b, sizeof b, "k%06d", i);
    return std::string(b);
  };
  ASSERT_TRUE(ledger
                  ->submit_and_wait(batch(std::make_unique<FnOp>([&](WriteTxn& w) {
                    for (int i = 0; i < 20000; ++i) {
                      std::string v(90, char('a' + i % 26));
                      w.put(t, key(i), v);
                      model[key(i)] = v;
                    }
                  })))[0]
                  .ok());
  // Erase: every row from k001000 on whose number is not a multiple of 7, in runs long enough
  // to empty whole pages (7000..13999 all go), stopping before k018000.
  auto doomed = [](int i) {
    return i >= 1000 && i < 18000 && (i % 7 != 0 || (i >= 7000 && i < 14000));
  };
  uint64_t erased = 0;
  int visited = 0;
  ASSERT_TRUE(ledger
                  ->submit_and_wait(batch(std::make_unique<FnOp>([&](WriteTxn& w) {
                    erased = w.sweep(t, key(1000), [&](std::string_view k, std::string_view v) {
                      int i = std::stoi(std::string(k.substr(1)));
                      EXPECT_EQ(i, 1000 + visited) << "the sweep skipped or repeated a row";
                      EXPECT_EQ(v, model.at(std::string(k)));
                      ++visited;
                      if (i >= 18000) return WriteTxn::Sweep::stop;
                      return doomed(i) ? WriteTxn::Sweep::erase : WriteTxn::Sweep::keep;
                    });
                  })))[0]
                  .ok());
  EXPECT_EQ(visited, 17001);  // k001000..k018000, the last one only to stop
  uint64_t want = 0;
  for (int i = 0; i < 20000; ++i)
    if (doomed(i)) model.erase(key(i)), ++want;
  EXPECT_EQ(erased, want);
  EXPECT_EQ(table_rows(*ledger->snapshot(), t), model);
  // A sweep to the end of the table erasing everything leaves it empty.
  ASSERT_TRUE(ledger
                  ->submit_and_wait(batch(std::make_unique<FnOp>([&](WriteTxn& w) {
                    EXPECT_EQ(w.sweep(t, "", [](auto, auto) { return WriteTxn::Sweep::erase; }),
                              model.size());
                  })))[0]
                  .ok());
  bool any = false;
  ledger->snapshot()->scan(t, "", [&](auto, auto) { return !(any = true); });
  EXPECT_FALSE(any);
}

}  // namespace
}  // namespace tally
