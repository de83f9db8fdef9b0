// Standbys (docs/operations.md "Standbys") with real `tally serve` processes on unix sockets: a
// standby follows its leader's replication log and refuses writes; a synchronous leader
// acknowledges only what a standby holds, so a leader killed right after an acknowledgement loses
// nothing; a standby killed mid-stream resumes from its own last txn; a standby ahead of its
// leader stops loudly (exit 4). What the standby must hold is what the test itself acknowledged
// (ids of batches answered ok), never what the leader reports.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

#include <simdjson.h>

#include "common/test_util.h"
#include "rpc/client.h"
#include "rpc/serve_fixture.h"
#include "rpc/serve_node.h"

namespace tally {
namespace {

using namespace tally::testing;

using Node = ServeNode;

class StandbyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(tally_binary().c_str(), X_OK) != 0) FAIL() << "no tally binary";
    config_ = dir_.sub("config.toml");
    std::ofstream(config_) << config_with_replica();
    for (auto* n : {&leader_, &standby_}) {
      n->dir = dir_.sub(n == &leader_ ? "leader" : "standby");
      std::filesystem::create_directories(n->dir);
      n->address = "unix:" + n->dir + "/tally.sock";
    }
  }
  void TearDown() override {
    leader_.kill_nine();
    standby_.kill_nine();
  }
  void open_books(Client& c) {
    auto r = c.post({open_item("ops:bank", AccountKind::asset, {"USD"}),
                     open_item("ops:wallet", AccountKind::liability, {"USD"})});
    ASSERT_TRUE(r.ok());
    for (auto& x : r->results) ASSERT_TRUE(x.ok()) << x.message;
  }
  // Waits until `node`'s journal reaches `seq` (its auditor's verify); true when it did.
  bool wait_for_seq(const Node& node, uint64_t seq) {
    auto a = node.client("tok-auditor");
    if (!a) return false;
    for (int i = 0; i < 1000; ++i) {
      auto v = a->verify();
      if (v.ok() && v->entries >= seq) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  TempDir dir_;
  std::string config_;
  Node leader_, standby_;
};

TEST_F(StandbyTest, AStandbyFollowsTheLeaderServesReadsAndRefusesWrites) {
  leader_.start(config_, {"--replication-log"});
  auto poster = leader_.client("tok-poster");
  ASSERT_TRUE(poster);
  open_books(*poster);
  for (int b = 0; b < 10; ++b) {
    std::vector<PostItem> items;
    for (int i = 0; i < 20; ++i)
      items.push_back(entry_item("e-" + std::to_string(b) + "-" + std::to_string(i)));
    ASSERT_TRUE(poster->post(std::move(items)).ok());
  }
  // The standby starts from nothing after the leader has written, then follows new writes.
  standby_.start(config_, {"--standby-of", leader_.address});
  ASSERT_TRUE(poster->post({entry_item("late", "5.00")}).ok());
  ASSERT_TRUE(wait_for_seq(standby_, 201)) << standby_.log();
  auto la = leader_.client("tok-auditor"), sa = standby_.client("tok-auditor");
  auto lv = la->verify(), sv = sa->verify();
  ASSERT_TRUE(lv.ok() && sv.ok());
  EXPECT_TRUE(sv->ok) << sv->problem;
  EXPECT_EQ(sv->head, lv->head);
  EXPECT_EQ(rpc_balance(*sa, "ops:wallet", "USD"), rpc_balance(*la, "ops:wallet", "USD"));
  EXPECT_EQ(rpc_balance(*sa, "ops:wallet", "USD"), amt("205.00"));
  // Writes on the standby: not_leader, naming the leader.
  auto sp = standby_.client("tok-poster", 1);
  auto r = sp->post({entry_item("on-standby")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->results[0].code, Code::not_leader) << r->results[0].message;
  EXPECT_NE(r->results[0].message.find(leader_.address), std::string::npos);
  EXPECT_FALSE(sa->entry("on-standby").ok());
}

TEST_F(StandbyTest, ASynchronousLeaderAcknowledgesOnlyWhatAStandbyHolds) {
  leader_.start(config_, {"--sync-standbys", "1"});
  auto poster = leader_.client("tok-poster");
  ASSERT_TRUE(poster);
  // No standby yet: the write commits on the leader but is not acknowledged.
  std::atomic<bool> answered{false};
  std::thread first([&] {
    open_books(*poster);
    answered.store(true);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(answered.load()) << "acknowledged with no standby holding it";
  standby_.start(config_, {"--standby-of", leader_.address});
  first.join();
  ASSERT_TRUE(answered.load());
  // Each acknowledged batch is on the standby at the moment of the acknowledgement: kill the
  // leader right after one and read the standby at once.
  std::vector<std::string> acked;
  for (int b = 0; b < 30; ++b) {
    std::vector<PostItem> items;
    for (int i = 0; i < 10; ++i) {
      items.push_back(entry_item("s-" + std::to_string(b) + "-" + std::to_string(i)));
    }
    auto r = poster->post(std::move(items));
    ASSERT_TRUE(r.ok());
    for (auto& x : r->results) {
      ASSERT_TRUE(x.ok()) << x.message;
      acked.push_back(x.id);
    }
  }
  leader_.kill_nine();
  auto sa = standby_.client("tok-auditor");
  for (const auto& id : acked) EXPECT_TRUE(sa->entry(id).ok()) << id << " acknowledged, not held";
  auto v = sa->verify();
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->entries, acked.size());
}

TEST_F(StandbyTest, AStandbyKilledMidStreamResumesFromItsOwnLastTxn) {
  leader_.start(config_, {"--replication-log"});
  standby_.start(config_, {"--standby-of", leader_.address});
  auto poster = leader_.client("tok-poster");
  open_books(*poster);
  std::atomic<bool> stop{false};
  std::atomic<int> sent{0};
  std::thread writer([&] {
    for (int b = 0; !stop.load() && b < 400; ++b) {
      std::vector<PostItem> items;
      for (int i = 0; i < 5; ++i)
        items.push_back(entry_item("k-" + std::to_string(b) + "-" + std::to_string(i)));
      if (poster->post(std::move(items)).ok()) sent.fetch_add(5);
    }
  });
  while (sent.load() < 100) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  standby_.kill_nine();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  standby_.start(config_, {"--standby-of", leader_.address});
  stop.store(true);
  writer.join();
  const uint64_t total = static_cast<uint64_t>(sent.load());
  ASSERT_TRUE(wait_for_seq(standby_, total)) << standby_.log();
  auto lv = leader_.client("tok-auditor")->verify();
  auto sv = standby_.client("tok-auditor")->verify();
  ASSERT_TRUE(lv.ok() && sv.ok());
  EXPECT_TRUE(sv->ok) << sv->problem;
  EXPECT_EQ(sv->entries, total);
  EXPECT_EQ(sv->head, lv->head);
}

// Operators back up from a standby so the leader is not loaded: the standby's finance role
// serves Finance.backup (a copy of its own store, consistent with its own head, which the backup
// records) while every other finance call still answers not_leader. The copy, taken while the
// leader keeps posting, restores (`tally restore`, which runs the full verify and checks the
// recorded head) to a store whose head is the one recorded, and that head is the leader's own
// entry at that seq (the standby's copy is a prefix of the leader's journal).
TEST_F(StandbyTest, ABackupTakenFromAStandbyRestoresAndVerifiesWithTheHeadItRecorded) {
  leader_.start(config_, {"--replication-log"});
  standby_.start(config_, {"--standby-of", leader_.address});
  auto poster = leader_.client("tok-poster");
  ASSERT_TRUE(poster);
  open_books(*poster);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> acked{0};
  std::thread writer([&] {
    for (int b = 0; !stop.load() && b < 2000; ++b) {
      std::vector<PostItem> items;
      for (int i = 0; i < 10; ++i)
        items.push_back(entry_item("bk-" + std::to_string(b) + "-" + std::to_string(i)));
      auto r = poster->post(std::move(items));
      if (r.ok()) acked.fetch_add(r->results.size());
    }
  });
  while (acked.load() < 200) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_TRUE(wait_for_seq(standby_, 200)) << standby_.log();
  const std::string dest = dir_.sub("backup");
  std::string out;
  int code =
      run_tally({"--connect", standby_.address, "--token", "tok-finance", "backup", dest, "--json"},
                &out, dir_.sub("out.txt"));
  stop.store(true);
  writer.join();
  ASSERT_EQ(code, 0) << out << standby_.log();
  simdjson::dom::parser parser;
  simdjson::dom::element rec;
  ASSERT_FALSE(parser.parse(out).get(rec)) << out;
  uint64_t seq = 0;
  std::string_view hash;
  ASSERT_FALSE(rec["seq"].get(seq)) << out;
  ASSERT_FALSE(rec["hash"].get(hash)) << out;
  const std::string recorded(hash);
  EXPECT_GE(seq, 200u);

  // The standby's copy restores and verifies, ending at the head it recorded.
  code = run_tally({"--data", dir_.sub("restored"), "--config", config_, "restore", dest, "--json"},
                   &out, dir_.sub("out.txt"));
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find(recorded), std::string::npos) << out;
  {
    ServiceOptions so;
    so.data_dir = dir_.sub("restored");
    CurrencyTable currencies;
    auto cfg = load_config(config_with_replica(), currencies);
    ASSERT_TRUE(cfg.ok());
    so.config = *cfg;
    std::unique_ptr<Service> svc;
    ASSERT_TRUE(Service::open(std::move(so), &svc).ok());
    auto snap = svc->snapshot();
    EXPECT_EQ(snap->last_seq(), seq);
    auto v = snap->verify();
    EXPECT_TRUE(v.ok) << v.problem;
    EXPECT_EQ(to_hex(v.head), recorded);
  }
  // The recorded head is the leader's entry at that seq (its change stream carries the hash).
  auto la = leader_.client("tok-auditor");
  std::string leaders_hash;
  auto f = la->follow(seq, 1, [&](const EntryView& e) {
    leaders_hash = to_hex(e.hash);
    return false;
  });
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(leaders_hash, recorded);
  // Every other finance call on the standby still answers not_leader.
  auto sf = standby_.client("tok-finance", 1);
  ASSERT_TRUE(sf);
  auto r = sf->close_period("2026-01-31");
  ASSERT_TRUE(r.rejected());
  EXPECT_EQ(r.rejection().code, Code::not_leader) << r.rejection().message;
}

TEST_F(StandbyTest, AStandbyAheadOfItsLeaderStopsLoudly) {
  // The standby's store has written on its own (it was a leader of other books).
  standby_.start(config_, {"--replication-log"});
  open_books(*standby_.client("tok-poster"));
  standby_.kill_nine();
  leader_.start(config_, {"--replication-log"});
  standby_.start(config_, {"--standby-of", leader_.address}, false);
  EXPECT_EQ(standby_.wait_exit(30), 4) << standby_.log();
  EXPECT_NE(standby_.log().find("ahead of this server"), std::string::npos) << standby_.log();
}

}  // namespace
}  // namespace tally
