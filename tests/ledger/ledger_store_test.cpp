// The ledger's store: reopening, verify finding corruption, concurrent retries, map growth,
// durability across a SIGKILL.
#include "ledger/ledger.h"

#include <lmdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "common/test_util.h"
#include "ledger/limits.h"

namespace tally {
namespace {

using namespace tally::testing;

// `n` entries of m:a to m:b for 1.00, ids prefix0.., each padded with 200 bytes of meta (about
// 500 bytes of store each): batches that fill a small map.
Batch padded_entries(const std::string& prefix, int n) {
  Batch b;
  for (int i = 0; i < n; ++i) {
    Entry e = entry(prefix + std::to_string(i), {debit("m:a", "1.00"), credit("m:b", "1.00")});
    e.meta = {{"pad", std::string(200, 'x')}};
    b.push_back(make_post_entry(std::move(e)));
  }
  return b;
}

// A ledger on a map of 1 MiB (growth for a few thousand padded entries) with m:a and m:b open.
std::unique_ptr<Ledger> small_map_ledger(const TempDir& dir) {
  LedgerOptions o;
  o.map_size_bytes = 1 << 20;
  auto l = open_ledger(dir.sub("d"), o);
  l->submit_and_wait(batch(make_open_account(account("m:a", AccountKind::asset, {"USD"})),
                           make_open_account(account("m:b", AccountKind::revenue, {"USD"}))));
  return l;
}

TEST(LedgerStore, ReopenGivesSameBalancesAndRefusesOtherSchemaVersion) {
  TempDir dir;
  {
    auto l = open_ledger(dir.sub("d"));
    l->submit_and_wait(batch(make_open_account(account("x:a", AccountKind::asset, {"EUR"})),
                             make_open_account(account("x:b", AccountKind::equity, {"EUR"}))));
    auto r = l->submit_and_wait(batch(
        make_post_entry(entry("e1", {debit("x:a", "7.50", "EUR"), credit("x:b", "7.50", "EUR")}))));
    ASSERT_TRUE(r[0].ok());
  }
  {
    auto l = open_ledger(dir.sub("d"));
    EXPECT_EQ(*l->snapshot()->balance("x:a", "EUR"), amt("7.50", "EUR"));
    EXPECT_TRUE(l->snapshot()->verify().ok);
  }
  // Rewrite the version with raw LMDB, as a future tally would have written it.
  {
    MDB_env* env;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 64);
    ASSERT_EQ(mdb_env_open(env, dir.sub("d").c_str(), 0, 0644), 0);
    MDB_txn* txn;
    MDB_dbi dbi;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    uint32_t v = 99;
    MDB_val k{14, const_cast<char*>("schema_version")}, val{4, &v};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &val, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }
  std::unique_ptr<Ledger> l;
  LedgerOptions o;
  o.dir = dir.sub("d");
  Status s = Ledger::open(o, &l);
  EXPECT_EQ(s.kind(), Status::Kind::version_mismatch) << s.to_string();
  EXPECT_NE(s.message().find("schema version 99"), std::string::npos);
}

// Corrupts one record of a copy of a store with raw LMDB and expects verify to find it.
class VerifyCorruption : public ::testing::Test {
 protected:
  void SetUp() override {
    auto l = open_ledger(dir_.sub("d"));
    l->submit_and_wait(batch(make_open_account(account("x:a", AccountKind::asset, {"USD"})),
                             make_open_account(account("x:b", AccountKind::revenue, {"USD"}))));
    Batch b;
    for (int i = 0; i < 20; ++i)
      b.push_back(make_post_entry(
          entry("e" + std::to_string(i), {debit("x:a", "1.25"), credit("x:b", "1.25")})));
    for (auto& r : l->submit_and_wait(std::move(b))) ASSERT_TRUE(r.ok());
    ASSERT_TRUE(l->snapshot()->verify().ok);
  }
  // Calls f(txn, dbi) on table `name` of the closed store.
  void tamper(const char* name, const std::function<void(MDB_txn*, MDB_dbi)>& f) {
    MDB_env* env;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 64);
    ASSERT_EQ(mdb_env_open(env, dir_.sub("d").c_str(), 0, 0644), 0);
    MDB_txn* txn;
    MDB_dbi dbi;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    ASSERT_EQ(mdb_dbi_open(txn, name, 0, &dbi), 0);
    f(txn, dbi);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }
  VerifyReport verify() { return open_ledger(dir_.sub("d"))->snapshot()->verify(); }
  TempDir dir_;
};

TEST_F(VerifyCorruption, FlippedByteInAnEntryBreaksTheChain) {
  tamper("entries", [](MDB_txn* txn, MDB_dbi dbi) {
    std::string key(8, '\0');
    key[7] = 7;  // seq 7
    MDB_val k{8, key.data()}, v;
    ASSERT_EQ(mdb_get(txn, dbi, &k, &v), 0);
    std::string val(static_cast<char*>(v.mv_data), v.mv_size);
    val[val.size() - 3] ^= 0x01;  // inside the last posting's amount
    MDB_val nv{val.size(), val.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &nv, 0), 0);
  });
  auto rep = verify();
  EXPECT_FALSE(rep.ok);
  EXPECT_NE(rep.problem.find("entry seq 7"), std::string::npos) << rep.problem;
}

TEST_F(VerifyCorruption, WrongStoredBalanceIsFound) {
  tamper("books", [](MDB_txn* txn, MDB_dbi dbi) {
    std::string key(8, '\0');
    key[7] = 1;  // the first book: x:a USD
    MDB_val k{8, key.data()}, v;
    ASSERT_EQ(mdb_get(txn, dbi, &k, &v), 0);
    std::string val(static_cast<char*>(v.mv_data), v.mv_size);
    val[32] ^= 0x01;  // low byte of the balance
    MDB_val nv{val.size(), val.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &k, &nv, 0), 0);
  });
  auto rep = verify();
  EXPECT_FALSE(rep.ok);
  EXPECT_NE(rep.problem.find("account x:a USD: stored balance"), std::string::npos) << rep.problem;
}

TEST_F(VerifyCorruption, WrongRunningBalanceIsFound) {
  tamper("postings", [](MDB_txn* txn, MDB_dbi dbi) {
    MDB_cursor* c;
    ASSERT_EQ(mdb_cursor_open(txn, dbi, &c), 0);
    MDB_val k, v;
    ASSERT_EQ(mdb_cursor_get(c, &k, &v, MDB_FIRST), 0);
    ASSERT_EQ(mdb_cursor_get(c, &k, &v, MDB_NEXT), 0);
    std::string val(static_cast<char*>(v.mv_data), v.mv_size);
    val[16] ^= 0x04;  // balance_after
    MDB_val nv{val.size(), val.data()};
    ASSERT_EQ(mdb_cursor_put(c, &k, &nv, MDB_CURRENT), 0);
    mdb_cursor_close(c);
  });
  auto rep = verify();
  EXPECT_FALSE(rep.ok);
  EXPECT_NE(rep.problem.find("records balance"), std::string::npos) << rep.problem;
}

TEST(LedgerConcurrency, RetriesFromManyThreadsPostEachIdOnce) {
  TempDir dir;
  auto l = open_ledger(dir.sub("d"));
  l->submit_and_wait(batch(make_open_account(account("c:bank", AccountKind::asset, {"USD"})),
                           make_open_account(account("c:rev", AccountKind::revenue, {"USD"}))));
  constexpr int kThreads = 8, kIds = 200;
  std::atomic<int> ok{0}, dup{0}, other{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int round = 0; round < 4; ++round) {
        Batch b;
        for (int i = 0; i < kIds / 4; ++i) {
          int id = (i * 4 + round + t) % kIds;  // every thread retries every id
          b.push_back(make_post_entry(entry("id" + std::to_string(id),
                                            {debit("c:bank", "1.00"), credit("c:rev", "1.00")})));
        }
        for (auto& r : l->submit_and_wait(std::move(b))) {
          if (r.status == ItemStatus::ok)
            ++ok;
          else if (r.status == ItemStatus::duplicate)
            ++dup;
          else
            ++other;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(ok.load() + dup.load(), kThreads * kIds);
  EXPECT_EQ(*l->snapshot()->balance("c:bank", "USD"),
            Amount::from_minor(100 * static_cast<i128>(ok.load())));
  EXPECT_LE(ok.load(), kIds);
  EXPECT_LT(l->commits(),
            static_cast<uint64_t>(kThreads * 4 + 1));  // batches were grouped at most 1:1
  EXPECT_TRUE(l->snapshot()->verify().ok);
}

TEST(LedgerStore, MapGrowsInPlaceThenFailsCleanlyWhenItMayNotGrow) {
  TempDir dir;
  LedgerOptions o;
  o.map_size_bytes = 1 << 20;
  o.map_size_max_bytes = 8 << 20;
  auto l = open_ledger(dir.sub("d"), o);
  l->submit_and_wait(batch(make_open_account(account("m:a", AccountKind::asset, {"USD"})),
                           make_open_account(account("m:b", AccountKind::revenue, {"USD"}))));
  int posted = 0;
  bool full = false;
  for (int round = 0; round < 200 && !full; ++round) {
    Batch b = padded_entries("g" + std::to_string(round) + "-", 500);
    for (auto& r : l->submit_and_wait(std::move(b))) {
      if (r.ok())
        ++posted;
      else {
        EXPECT_EQ(r.code, Code::store_full) << r.message;
        full = true;
      }
    }
  }
  EXPECT_TRUE(full);
  EXPECT_GT(posted, 2000);  // well past what 1 MiB holds: the map grew
  EXPECT_EQ(*l->snapshot()->balance("m:a", "USD"),
            Amount::from_minor(100 * static_cast<i128>(posted)));
  EXPECT_TRUE(l->snapshot()->verify().ok);
}

// Readers that come and go back to back (two threads, each holding a snapshot for a moment and
// taking the next at once, as a settlement run's planning does) do not keep the map from
// growing: a snapshot asked for while the writer waits to grow waits for the growth. (Before,
// the writer waited 5 s for a moment with no reader open that never came, and the batch failed
// with store_full on a store with room to grow.)
TEST(LedgerStore, TheMapGrowsWhileReadersComeAndGoBackToBack) {
  TempDir dir;
  auto l = small_map_ledger(dir);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t)
    readers.emplace_back([&] {
      while (!done.load()) {
        auto snap = l->snapshot();
        EXPECT_TRUE(snap->balance("m:a", "USD").ok());
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        reads.fetch_add(1);
      }
    });
  int posted = 0;
  for (int round = 0; round < 16; ++round) {
    Batch b = padded_entries("g" + std::to_string(round) + "-", 500);
    for (auto& r : l->submit_and_wait(std::move(b))) {
      EXPECT_TRUE(r.ok()) << r.message;
      posted += r.ok();
    }
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(posted, 16 * 500);  // about 4 MiB of entries: the map doubled at least twice
  EXPECT_GT(l->usage().map_bytes, uint64_t(1) << 21);
  EXPECT_GT(reads.load(), 0u);
  EXPECT_TRUE(l->snapshot()->verify().ok);
}

// A store larger than the map asked for opens with that much room on top of what it has, so its
// first writes need no growth, which a reader held open from the start (the server's verify at
// start holds one for minutes on a large store) would keep from happening. (Before, the map was
// exactly the store's size, and the first batch that needed a page failed with store_full after
// waiting 5 s for that reader.)
TEST(LedgerStore, AStoreLargerThanTheMapOpensWithRoomToWrite) {
  TempDir dir;
  LedgerOptions o;
  o.map_size_bytes = 1 << 20;
  auto fill = [](Ledger& l, const std::string& prefix, int n) {
    return l.submit_and_wait(padded_entries(prefix, n));
  };
  {
    auto l = open_ledger(dir.sub("d"), o);
    l->submit_and_wait(batch(make_open_account(account("m:a", AccountKind::asset, {"USD"})),
                             make_open_account(account("m:b", AccountKind::revenue, {"USD"}))));
    for (auto& r : fill(*l, "a", 8000)) ASSERT_TRUE(r.ok()) << r.message;  // grew past 1 MiB
  }
  auto l = open_ledger(dir.sub("d"), o);
  EXPECT_GE(l->usage().map_bytes, l->usage().used_bytes + (1 << 20));
  auto reader = l->snapshot();  // open throughout, as the verify at start is
  for (auto& r : fill(*l, "b", 1000)) EXPECT_TRUE(r.ok()) << r.message;
  reader.reset();
  EXPECT_EQ(*l->snapshot()->balance("m:a", "USD"), amt("9000.00", "USD"));
}

// A reader that arrives while a growth waits, and whose sibling keeps its own snapshot until this
// one is served (two planning threads of one chunk), goes ahead after a bounded wait, and the
// growth happens once both are done: no batch fails and no reader hangs.
TEST(LedgerStore, AReaderWaitingBehindAGrowthThatWaitsForItsSiblingGoesAhead) {
  TempDir dir;
  auto l = small_map_ledger(dir);
  std::promise<void> first_open, second_open;
  std::shared_future<void> second = second_open.get_future().share();
  std::thread sibling([&] {
    auto snap = l->snapshot();
    first_open.set_value();
    second.wait();  // held until the other reader is served
  });
  first_open.get_future().wait();
  Batch b = padded_entries("g", 8000);  // about 4 MiB: the map must grow; the sibling reads
  auto posted = std::async(std::launch::async, [&] { return l->submit_and_wait(std::move(b)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the growth is waiting by now
  {
    auto snap = l->snapshot();  // waits behind the growth, then goes ahead
    second_open.set_value();
    EXPECT_TRUE(snap->balance("m:a", "USD").ok());
  }
  sibling.join();
  for (auto& r : posted.get()) EXPECT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(*l->snapshot()->balance("m:a", "USD"), amt("8000.00", "USD"));
  EXPECT_TRUE(l->snapshot()->verify().ok);
}

// A walk of the whole journal over more books than a reader keeps named (limits::
// book_names_cached_max) names every posting right and verifies: the cache starts over without
// losing a name, and verify's per-book sums cover every book.
TEST(LedgerStore, AWalkOverMoreBooksThanAReaderKeepsNamedNamesAndVerifiesThemAll) {
  TempDir dir;
  auto l = open_ledger(dir.sub("d"));
  const int kAccounts = static_cast<int>(limits::book_names_cached_max) + 4000;
  auto name = [](int i) { return "w:a" + std::to_string(i); };
  for (int from = 0; from < kAccounts; from += 10000) {
    Batch b;
    for (int i = from; i < std::min(kAccounts, from + 10000); ++i)
      b.push_back(make_open_account(account(name(i), AccountKind::asset, {"USD"})));
    for (auto& r : l->submit_and_wait(std::move(b))) ASSERT_TRUE(r.ok()) << r.message;
  }
  for (int from = 0; from < kAccounts; from += 2 * 5000) {
    Batch b;
    for (int i = from; i < std::min(kAccounts, from + 2 * 5000); i += 2)
      b.push_back(make_post_entry(
          entry("e" + std::to_string(i), {debit(name(i), "1.00"), credit(name(i + 1), "1.00")})));
    for (auto& r : l->submit_and_wait(std::move(b))) ASSERT_TRUE(r.ok()) << r.message;
  }
  int seen = 0;
  l->snapshot()->entries(1, [&](const EntryView& e) {
    const int i = std::stoi(e.entry.id.substr(1));
    EXPECT_EQ(e.entry.postings[0].account, name(i));
    EXPECT_EQ(e.entry.postings[1].account, name(i + 1));
    ++seen;
    return true;
  });
  EXPECT_EQ(seen, kAccounts / 2);
  auto v = l->snapshot()->verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.postings, uint64_t(kAccounts));
}

// A child process posts batches and reports each acknowledged id through a pipe; the parent
// kills it with SIGKILL at a random moment, reopens the store and checks that every acknowledged
// id is there, nothing is half-applied, and verify passes.
TEST(LedgerCrash, KillNineLosesNothingAcknowledged) {
  TempDir dir;
  std::mt19937_64 rng(7);
  std::set<std::string> acked;
  for (int round = 0; round < 6; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      LedgerOptions o;
      o.dir = dir.sub("d");
      std::unique_ptr<Ledger> l;
      if (!Ledger::open(o, &l).ok()) _exit(3);
      l->submit_and_wait(batch(make_open_account(account("k:a", AccountKind::asset, {"USD"})),
                               make_open_account(account("k:b", AccountKind::revenue, {"USD"}))));
      for (int i = 0;; ++i) {
        Batch b;
        std::vector<std::string> ids;
        for (int j = 0; j < 50; ++j) {
          ids.push_back("r" + std::to_string(round) + "-" + std::to_string(i) + "-" +
                        std::to_string(j));
          b.push_back(
              make_post_entry(entry(ids.back(), {debit("k:a", "0.01"), credit("k:b", "0.01")})));
        }
        auto res = l->submit_and_wait(std::move(b));
        std::string line;
        for (size_t j = 0; j < res.size(); ++j)
          if (res[j].status == ItemStatus::ok) line += ids[j] + "\n";
        if (write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(4);
      }
    }
    close(fds[1]);
    // Kill at a random moment after the child's first acknowledgement (slow builds, such as the
    // sanitizer one, take a while to get there); wait at most 20 s for it.
    std::string got;
    char buf[4096];
    pollfd pfd{fds[0], POLLIN, 0};
    if (poll(&pfd, 1, 20000) == 1) {
      ssize_t n = read(fds[0], buf, sizeof buf);
      if (n > 0) got.append(buf, static_cast<size_t>(n));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 150));
    kill(pid, SIGKILL);
    for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;)
      got.append(buf, static_cast<size_t>(n));
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    size_t start = 0;
    for (size_t nl; (nl = got.find('\n', start)) != std::string::npos; start = nl + 1)
      acked.insert(got.substr(start, nl - start));
    auto l = open_ledger(dir.sub("d"));
    auto snap = l->snapshot();
    for (const auto& id : acked)
      ASSERT_TRUE(snap->entry(id).has_value()) << "lost acknowledged " << id;
    auto v = snap->verify();
    ASSERT_TRUE(v.ok) << v.problem;
    // A child killed before it opened its accounts has posted nothing.
    auto b = snap->balance("k:a", "USD");
    if (!b.ok())
      EXPECT_EQ(v.entries, 0u) << b.error().message;
    else
      EXPECT_EQ(*b, Amount::from_minor(static_cast<i128>(v.entries)));
  }
  EXPECT_GT(acked.size(), 100u);
}

}  // namespace
}  // namespace tally
