// Failover through etcd (docs/operations.md "Failover"), as production runs it: a real etcd
// (tests/ops/etcd_fixture.h) and three `tally serve --etcd ... --sync-standbys 1` processes on
// unix sockets. A client posts without pause through the list of the three addresses, retrying
// each batch with the same ids until it is acknowledged; the leader is killed with SIGKILL at
// random moments, a standby takes over, the killed node is restarted and rejoins. At the end every
// acknowledged item is on the leader exactly once, every node's chain head is the leader's and
// verify is clean. What must be there is what the test itself saw acknowledged, never what a
// server reports. TALLY_LONG=1 runs 20 rounds (3 otherwise).
#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "common/test_util.h"
#include "ops/etcd_fixture.h"
#include "rpc/client.h"
#include "rpc/serve_fixture.h"
#include "rpc/serve_node.h"

namespace tally {
namespace {

using namespace tally::testing;
using Clock = std::chrono::steady_clock;

constexpr size_t kNodes = 3;
constexpr int kBatchItems = 10;

class FailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(tally_binary().c_str(), X_OK) != 0) FAIL() << "no tally binary";
    config_ = dir_.sub("config.toml");
    std::ofstream(config_) << config_with_replica();
    static int clusters = 0;
    cluster_ = "ft" + std::to_string(::getpid()) + "-" + std::to_string(++clusters);
    nodes_.resize(kNodes);
    for (size_t i = 0; i < kNodes; ++i) {
      nodes_[i].dir = dir_.sub("n" + std::to_string(i));
      std::filesystem::create_directories(nodes_[i].dir);
      nodes_[i].address = "unix:" + nodes_[i].dir + "/tally.sock";
    }
  }
  void TearDown() override {
    for (auto& n : nodes_) n.kill_nine();
  }
  std::vector<std::string> flags(const std::string& endpoint, size_t i, bool sync) const {
    std::vector<std::string> f{"--etcd", endpoint,      "--cluster",
                               cluster_, "--advertise", nodes_[i].address};
    if (sync) f.insert(f.end(), {"--sync-standbys", "1"});
    return f;
  }
  std::string all_addresses() const {
    std::string s;
    for (const auto& n : nodes_) s += (s.empty() ? "" : ",") + n.address;
    return s;
  }
  // The node whose current process leads (its log says so), within `seconds`; -1 if none did.
  int wait_for_leader(int seconds) {
    for (int waited = 0; waited < seconds * 100; ++waited) {
      for (size_t i = 0; i < nodes_.size(); ++i)
        if (nodes_[i].running() && nodes_[i].log().find("\"msg\":\"leading\"") != std::string::npos)
          return static_cast<int>(i);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
  // Waits (at most 60 s) until `node`'s journal holds `entries` entries; its verify then, or
  // nullopt when it did not get there or its process ended.
  std::optional<VerifyReport> wait_for_entries(ServeNode& node, uint64_t entries) {
    const auto until = Clock::now() + std::chrono::seconds(60);
    std::unique_ptr<Client> a;
    while (Clock::now() < until && node.alive()) {
      if (!a) {
        auto c = Client::connect(node.options("tok-auditor", 2));
        if (c.ok()) a = std::move(c.value());
      }
      if (a) {
        auto v = a->verify();
        if (v.ok() && v->entries >= entries) return v.value();
        if (!v.ok()) a.reset();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
  }

  TempDir dir_;
  std::string config_, cluster_;
  std::vector<ServeNode> nodes_;
};

// A client that posts batches of fresh ids one after another and retries a batch, same ids,
// until every item of it is acknowledged (ok or duplicate).
class Writer {
 public:
  explicit Writer(std::string addresses) : addresses_(std::move(addresses)) {}
  ~Writer() { stop(); }
  void start() {
    thread_ = std::thread([this] { run(); });
  }
  // Stops after the batch in flight is acknowledged.
  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  size_t acked() const { return acked_count_.load(); }
  Clock::time_point last_ack() const {
    std::lock_guard<std::mutex> g(mu_);
    return last_ack_;
  }
  std::set<std::string> ids() const {
    std::lock_guard<std::mutex> g(mu_);
    return acked_;
  }
  std::vector<std::string> problems() const {
    std::lock_guard<std::mutex> g(mu_);
    return problems_;
  }

 private:
  std::unique_ptr<Client> connect() {
    ClientOptions o;
    o.address = addresses_;
    o.token = "tok-poster";
    o.max_attempts = 50;
    o.retry_delay_ms = 5;
    while (true) {
      auto c = Client::connect(o);
      if (c.ok()) return std::move(c.value());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  // Posts `items` until all are acknowledged; false only on an answer no retry can change.
  bool post_until_acked(std::unique_ptr<Client>& c, const std::vector<PostItem>& items) {
    while (true) {
      auto r = c->post(items);
      if (!r.ok()) {  // retries ran out (no leader yet): a new connection, the same ids
        c = connect();
        continue;
      }
      bool all = true;
      for (const auto& x : r->results) {
        if (x.ok()) continue;
        all = false;
        if (x.code != Code::not_leader && x.code != Code::interrupted) {
          std::lock_guard<std::mutex> g(mu_);
          problems_.push_back(x.id + ": " + x.message);
          return false;
        }
      }
      if (!all) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      std::lock_guard<std::mutex> g(mu_);
      for (const auto& x : r->results)
        if (!x.id.empty()) acked_.insert(x.id);
      acked_count_.store(acked_.size());
      last_ack_ = Clock::now();
      return true;
    }
  }
  void run() {
    auto c = connect();
    if (!post_until_acked(c, {open_item("ops:bank", AccountKind::asset, {"USD"}),
                              open_item("ops:wallet", AccountKind::liability, {"USD"})}))
      return;
    for (int b = 0; !stop_.load(); ++b) {
      std::vector<PostItem> items;
      for (int i = 0; i < kBatchItems; ++i)
        items.push_back(entry_item("f-" + std::to_string(b) + "-" + std::to_string(i)));
      if (!post_until_acked(c, items)) return;
    }
  }

  std::string addresses_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<size_t> acked_count_{0};
  mutable std::mutex mu_;
  std::set<std::string> acked_;
  Clock::time_point last_ack_{};
  std::vector<std::string> problems_;
};

TEST_F(FailoverTest, KillingTheLeaderLosesNothingAcknowledgedAndAStandbyTakesOver) {
  TALLY_REQUIRE_ETCD(etcd);
  const int rounds = long_form() ? 20 : 3;
  for (size_t i = 0; i < kNodes; ++i) nodes_[i].start(config_, flags(etcd->endpoint(), i, true));
  ASSERT_GE(wait_for_leader(30), 0) << nodes_[0].log();
  Writer writer(all_addresses());
  writer.start();
  std::mt19937 random(20261204);
  std::vector<double> failover_ms;
  for (int round = 0; round < rounds; ++round) {
    const size_t before = writer.acked();
    // Let some writes through, then kill the leader at a random moment.
    for (int waited = 0; writer.acked() < before + 50 && waited < 3000; ++waited)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_GE(writer.acked(), before + 50) << "round " << round << ": no progress\n"
                                           << nodes_[0].log() << nodes_[1].log() << nodes_[2].log();
    std::this_thread::sleep_for(std::chrono::milliseconds(random() % 400));
    const int leader = wait_for_leader(30);
    ASSERT_GE(leader, 0) << "round " << round;
    nodes_[leader].kill_nine();
    const auto killed = Clock::now();
    const size_t at_kill = writer.acked();
    // A standby takes over: writes are acknowledged again.
    for (int waited = 0; writer.acked() <= at_kill + kBatchItems && waited < 6000; ++waited)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_GT(writer.acked(), at_kill + kBatchItems)
        << "round " << round << ": no write acknowledged after the leader was killed\n"
        << nodes_[0].log() << nodes_[1].log() << nodes_[2].log();
    failover_ms.push_back(
        std::chrono::duration<double, std::milli>(writer.last_ack() - killed).count());
    // The killed node comes back and rejoins as a standby.
    nodes_[leader].start(config_, flags(etcd->endpoint(), leader, true));
  }
  writer.stop();
  for (const auto& p : writer.problems()) ADD_FAILURE() << p;
  const std::set<std::string> acked = writer.ids();
  const int leader = wait_for_leader(30);
  ASSERT_GE(leader, 0);
  auto la = nodes_[leader].client("tok-auditor");
  ASSERT_TRUE(la);
  for (const auto& id : acked) {
    if (id.rfind("f-", 0) == 0) {
      EXPECT_TRUE(la->entry(id).ok()) << id << " acknowledged, not held";
    }
  }
  size_t entries = 0;
  for (const auto& id : acked) entries += id.rfind("f-", 0) == 0 ? 1 : 0;
  auto lv = la->verify();
  ASSERT_TRUE(lv.ok());
  EXPECT_TRUE(lv->ok) << lv->problem;
  // Exactly once: nothing acknowledged is missing and nothing is there twice or unasked.
  EXPECT_EQ(lv->entries, entries);
  EXPECT_EQ(rpc_balance(*la, "ops:wallet", "USD"), amt(std::to_string(entries) + ".00"));
  for (size_t i = 0; i < kNodes; ++i) {
    ASSERT_TRUE(nodes_[i].alive()) << "node " << i << " stopped\n" << nodes_[i].log();
    auto v = wait_for_entries(nodes_[i], entries);
    ASSERT_TRUE(v.has_value()) << "node " << i << " did not catch up\n" << nodes_[i].log();
    EXPECT_TRUE(v->ok) << "node " << i << ": " << v->problem;
    EXPECT_EQ(v->entries, lv->entries) << "node " << i;
    EXPECT_EQ(v->head, lv->head) << "node " << i;
  }
  std::sort(failover_ms.begin(), failover_ms.end());
  std::cerr << "failover (leader killed to first acknowledged batch on the new leader), ms:";
  for (double ms : failover_ms) std::cerr << " " << static_cast<int64_t>(ms);
  size_t set_aside = 0;
  for (const auto& n : nodes_)
    for (const auto& e : std::filesystem::directory_iterator(n.dir))
      set_aside += e.path().filename().string().rfind("data.diverged-", 0) == 0 ? 1 : 0;
  std::cerr << "\n"
            << entries << " entries acknowledged over " << rounds << " rounds; " << set_aside
            << " restarted leader(s) had diverged and rejoined empty\n";
}

// A leader whose last write no standby received (both were killed: a stopped standby would
// still read what its socket holds) is killed: the write was never acknowledged. The standbys
// come back, one leads and the client's retry of the batch posts it there; the old leader,
// restarted, finds its store diverged, sets it aside and rejoins empty. Every node ends with the
// same head and the batch once.
TEST_F(FailoverTest, ADeposedLeaderWithAnUnacknowledgedTailSetsItAsideAndRejoins) {
  TALLY_REQUIRE_ETCD(etcd);
  for (size_t i = 0; i < kNodes; ++i) nodes_[i].start(config_, flags(etcd->endpoint(), i, true));
  const int old = wait_for_leader(30);
  ASSERT_GE(old, 0);
  ServeNode& deposed = nodes_[old];
  std::vector<size_t> standbys;
  for (size_t i = 0; i < kNodes; ++i)
    if (static_cast<int>(i) != old) standbys.push_back(i);
  auto poster = deposed.client("tok-poster", 1);
  ASSERT_TRUE(poster);
  auto opened = poster->post({open_item("ops:bank", AccountKind::asset, {"USD"}),
                              open_item("ops:wallet", AccountKind::liability, {"USD"})});
  ASSERT_TRUE(opened.ok());
  for (const auto& x : opened->results) ASSERT_TRUE(x.ok()) << x.message;
  // No standby any more: the leader commits a batch it cannot acknowledge.
  for (size_t i : standbys) nodes_[i].kill_nine();
  std::atomic<bool> answered{false};
  std::thread tail([&] {
    auto r = poster->post({entry_item("tail-1"), entry_item("tail-2")});
    answered.store(r.ok() && r->results[0].ok());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  deposed.kill_nine();
  tail.join();
  EXPECT_FALSE(answered.load()) << "acknowledged with no standby holding it";
  for (size_t i : standbys) nodes_[i].start(config_, flags(etcd->endpoint(), i, true));
  // A standby leads; the client posts the unacknowledged batch again, then another.
  ClientOptions o;
  o.address = all_addresses();
  o.token = "tok-poster";
  o.max_attempts = 2000;
  o.retry_delay_ms = 5;
  auto c = Client::connect(o);
  ASSERT_TRUE(c.ok());
  for (const char* batch : {"tail", "after"}) {
    std::vector<PostItem> items{entry_item(std::string(batch) + "-1"),
                                entry_item(std::string(batch) + "-2")};
    auto r = c.value()->post(items);
    ASSERT_TRUE(r.ok()) << "no leader took the writes";
    for (const auto& x : r->results) ASSERT_TRUE(x.ok()) << x.id << ": " << x.message;
  }
  const int leader = wait_for_leader(30);
  ASSERT_GE(leader, 0);
  ASSERT_NE(leader, old);
  // The old leader comes back: its store holds a txn of an older term the leader does not have.
  deposed.start(config_, flags(etcd->endpoint(), static_cast<size_t>(old), true));
  auto lv = nodes_[leader].client("tok-auditor")->verify();
  ASSERT_TRUE(lv.ok());
  EXPECT_TRUE(lv->ok) << lv->problem;
  EXPECT_EQ(lv->entries, 4u) << "the retried tail twice, or lost";
  for (auto& n : nodes_) {
    auto v = wait_for_entries(n, lv->entries);
    ASSERT_TRUE(v.has_value()) << n.dir << " did not catch up\n" << n.log();
    EXPECT_TRUE(v->ok) << v->problem;
    EXPECT_EQ(v->head, lv->head) << n.dir;
    EXPECT_TRUE(n.alive()) << n.dir << "\n" << n.log();
  }
  bool aside = false;
  for (const auto& e : std::filesystem::directory_iterator(deposed.dir))
    aside |= e.path().filename().string().rfind("data.diverged-", 0) == 0;
  EXPECT_TRUE(aside) << "the deposed leader's store was not set aside\n" << deposed.log();
  EXPECT_NE(deposed.log().find("set aside, rejoining empty"), std::string::npos) << deposed.log();
}

// A leader cut off from etcd (here: etcd stopped with SIGSTOP) stops acknowledging as soon as a
// keep-alive round fails, before its lease can have expired and long before it learns anything
// from etcd: the may_acknowledge fence, end to end. The lease is 6 s (--lease-ttl-s), so a round
// runs every 2 s and the leader's own deadline is at least 3.4 s after etcd stopped: the leader
// process is still serving, and would acknowledge without the fence, for about 3 s after it logs
// "lease not confirmed". Every batch the test sends after it saw that line must be answered
// not_leader (causal: no clock involved). Then, with etcd still stopped, the deadline passes and
// the leader stops (exit 5, "leadership lost"). Also, by the test's own clock: nothing is
// acknowledged after etcd stopped plus the TTL (when the tenure may have ended), with a margin of
// 2 s for a reply in transit. Without the fence (may_acknowledge always true) the batches sent
// after the line are acknowledged.
TEST_F(FailoverTest, ALeaderCutOffFromEtcdStopsAcknowledgingBeforeItsLeaseCanExpire) {
  TALLY_REQUIRE_ETCD(etcd);
  constexpr int kTtlS = 6;
  auto node_flags = flags(etcd->endpoint(), 0, false);
  node_flags.insert(node_flags.end(), {"--lease-ttl-s", std::to_string(kTtlS)});
  nodes_[0].start(config_, node_flags);
  ASSERT_EQ(wait_for_leader(30), 0) << nodes_[0].log();
  // The flag reaches the election (its lease) and server-info.
  EXPECT_NE(nodes_[0].log().find("\"lease_ttl_s\":\"6\""), std::string::npos) << nodes_[0].log();
  auto poster = nodes_[0].client("tok-poster", 1);
  ASSERT_TRUE(poster);
  auto info = poster->server_info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->lease_ttl_s, static_cast<uint64_t>(kTtlS));
  auto opened = poster->post({open_item("ops:bank", AccountKind::asset, {"USD"}),
                              open_item("ops:wallet", AccountKind::liability, {"USD"})});
  ASSERT_TRUE(opened.ok());
  for (const auto& x : opened->results) ASSERT_TRUE(x.ok()) << x.message;

  struct Sent {
    std::string id;
    bool after_line = false;  // sent after the test saw "lease not confirmed"
    bool acknowledged = false;
    Clock::time_point answered;
  };
  std::vector<Sent> sent;
  // The fence as the log last reported it: closed after the last "lease not confirmed" unless a
  // later "lease confirmed again" (a round that failed under load before etcd stopped, then
  // succeeded). Once etcd is stopped it cannot reopen: no round can succeed.
  auto fence_closed = [&] {
    const std::string log = nodes_[0].log();
    const size_t closed = log.rfind("lease not confirmed: not acknowledging");
    const size_t reopened = log.rfind("lease confirmed again: acknowledging");
    return closed != std::string::npos && (reopened == std::string::npos || reopened < closed);
  };
  const auto cut = Clock::now();
  etcd->pause();
  struct Resume {
    EtcdProcess* e;
    ~Resume() { e->resume(); }
  } resume_at_end{etcd};
  bool seen = false;
  int after = 0;
  // Post until the line was seen and 20 batches went after it (or the process stopped: the
  // deadline passed), at most 60 s.
  for (int n = 0; after < 20 && Clock::now() < cut + std::chrono::seconds(60); ++n) {
    seen = seen || fence_closed();
    Sent s{"cut-" + std::to_string(n), seen, false, {}};
    auto r = poster->post({entry_item(s.id)});
    s.answered = Clock::now();
    if (!r.ok()) break;  // the leader stopped
    ASSERT_EQ(r->results.size(), 1u);
    s.acknowledged = r->results[0].ok();
    if (!s.acknowledged) {
      EXPECT_EQ(r->results[0].code, Code::not_leader) << r->results[0].message;
    }
    after += seen ? 1 : 0;
    sent.push_back(s);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(seen) << "the leader never said its lease was not confirmed\n" << nodes_[0].log();
  ASSERT_GT(after, 0) << "the leader stopped before the test could post after the line\n"
                      << nodes_[0].log();
  std::string after_line, late;
  for (const auto& s : sent) {
    if (s.acknowledged && s.after_line) after_line += " " + s.id;
    if (s.acknowledged && s.answered > cut + std::chrono::seconds(kTtlS + 2)) late += " " + s.id;
  }
  EXPECT_EQ(after_line, "") << "acknowledged after the leader said it was not acknowledging\n"
                            << nodes_[0].log();
  EXPECT_EQ(late, "") << "acknowledged after the lease may have expired";
  // etcd still stopped: the deadline passes without a successful round and the tenure ends.
  EXPECT_EQ(nodes_[0].wait_exit(30), 5) << nodes_[0].log();
  EXPECT_NE(nodes_[0].log().find("leadership lost"), std::string::npos) << nodes_[0].log();
}

}  // namespace
}  // namespace tally
