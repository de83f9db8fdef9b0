// The change stream (Auditor.follow, rpc/follow.h; `tally follow`): entries in commit order from
// any seq, then new commits as they happen; resumed after a disconnect with no gap and no repeat;
// a reader that stops reading holds back nobody else.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "rpc/server.h"
#include "serve_fixture.h"

namespace tally::testing {
namespace {

class FollowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServiceOptions so;
    so.data_dir = dir_.sub("data");
    so.config = test_config();
    ASSERT_TRUE(Service::open(std::move(so), &service_).ok());
    start();
    poster_ = connect("tok-poster");
    ASSERT_NE(poster_, nullptr);
    auto r = poster_->post({open_item("ops:bank", AccountKind::asset, {"USD"}),
                            open_item("ops:wallet", AccountKind::liability, {"USD"})});
    ASSERT_TRUE(r.ok());
  }
  void TearDown() override {
    poster_.reset();
    server_.reset();
    service_.reset();
  }
  void start() {
    ServerOptions o;
    o.listen = "unix:" + dir_.sub("tally.sock");
    auto t = ServerThread::start(*service_, o);
    ASSERT_TRUE(t.ok()) << t.error().message;
    server_ = std::move(*t);
  }
  std::unique_ptr<Client> connect(const std::string& token, int attempts = 10) {
    ClientOptions o;
    o.address = "unix:" + dir_.sub("tally.sock");
    o.token = token;
    o.max_attempts = attempts;
    o.retry_delay_ms = 5;
    auto c = Client::connect(o);
    return c.ok() ? std::move(c.value()) : nullptr;
  }
  // Posts `n` entries in batches of 50 (ids from `first`).
  void post_entries(int first, int n) {
    for (int i = 0; i < n; i += 50) {
      std::vector<PostItem> items;
      for (int k = i; k < std::min(n, i + 50); ++k)
        items.push_back(entry_item("f-" + std::to_string(first + k)));
      auto r = poster_->post(std::move(items));
      ASSERT_TRUE(r.ok());
      for (auto& x : r->results) ASSERT_TRUE(x.ok()) << x.message;
    }
  }
  // Every entry's hash, by seq, read from the store (index 0 unused).
  std::vector<Digest> journal_hashes() {
    std::vector<Digest> out(1);
    auto snap = service_->snapshot();
    snap->entries(1, [&](const EntryView& v) {
      EXPECT_EQ(v.seq, out.size());
      out.push_back(v.hash);
      return true;
    });
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<ServerThread> server_;
  std::unique_ptr<Client> poster_;
};

TEST_F(FollowTest, FromAnySeqInCommitOrderWithTheirHashes) {
  post_entries(0, 600);
  const auto hashes = journal_hashes();
  ASSERT_EQ(hashes.size(), 601u);
  auto auditor = connect("tok-auditor");
  ASSERT_NE(auditor, nullptr);
  std::mt19937_64 rng(7);
  std::vector<uint64_t> starts{1, 2, 255, 256, 257, 512, 600};
  for (int i = 0; i < 10; ++i) starts.push_back(1 + rng() % 600);
  for (uint64_t from : starts) {
    std::vector<EntryView> got;
    const uint64_t want = 601 - from;
    auto r = auditor->follow(from, want, [&](const EntryView& v) {
      got.push_back(v);
      return true;
    });
    ASSERT_TRUE(r.ok()) << (r.failed() ? r.failure().message : "rejected");
    EXPECT_EQ(r.value(), 600u);
    ASSERT_EQ(got.size(), want) << "from " << from;
    for (size_t k = 0; k < got.size(); ++k) {
      EXPECT_EQ(got[k].seq, from + k);
      EXPECT_EQ(got[k].hash, hashes[from + k]);
      EXPECT_EQ(got[k].prev_hash, from + k == 1 ? Digest{} : hashes[from + k - 1]);
      EXPECT_GT(got[k].commit_ns, 0);
      EXPECT_EQ(got[k].entry.id, "f-" + std::to_string(from + k - 1));
    }
  }
  // The poster has no auditor role.
  auto r = poster_->follow(1, 1, [](const EntryView&) { return true; });
  ASSERT_TRUE(r.failed());
  EXPECT_EQ(r.failure().kind, Failure::Kind::not_allowed);
}

// A follower that is caught up receives new commits as they happen; the server going away cuts
// the stream; following again from the last seq received + 1 continues with no gap or repeat,
// round after round while posting goes on.
TEST_F(FollowTest, ResumesAfterADisconnectWithNoGapOrRepeat) {
  post_entries(0, 100);
  constexpr int kRounds = 4, kPerRound = 150;
  std::vector<uint64_t> seqs;
  std::vector<Digest> prev_hashes, hashes;
  uint64_t next = 1;
  for (int round = 0; round < kRounds; ++round) {
    auto auditor = connect("tok-auditor", 200);
    ASSERT_NE(auditor, nullptr);
    std::mutex m;
    std::condition_variable cv;
    uint64_t seen = 0;
    uint64_t last = 0;
    Reply<uint64_t> r = uint64_t{0};
    std::thread follower([&] {
      r = auditor->follow(
          next, 0,
          [&](const EntryView& v) {
            std::lock_guard lock(m);
            seqs.push_back(v.seq);
            prev_hashes.push_back(v.prev_hash);
            hashes.push_back(v.hash);
            ++seen;
            cv.notify_all();
            return true;
          },
          &last);
    });
    // New commits reach the caught-up follower.
    post_entries(1000 * (round + 1), kPerRound);
    {
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return seen >= kPerRound; });
    }
    // The server goes away under the stream (more posted first: some may be in flight).
    post_entries(1000 * (round + 1) + 500, 20);
    server_->stop();
    follower.join();
    ASSERT_TRUE(r.failed()) << "the stream ended without a disconnect";
    EXPECT_EQ(last, seqs.empty() ? next - 1 : seqs.back());
    next = last + 1;
    start();
  }
  // The last round's tail, from where the last stream was cut.
  const auto journal = journal_hashes();
  auto auditor = connect("tok-auditor", 200);
  ASSERT_NE(auditor, nullptr);
  if (next < journal.size()) {
    auto tail = auditor->follow(next, journal.size() - next, [&](const EntryView& v) {
      seqs.push_back(v.seq);
      prev_hashes.push_back(v.prev_hash);
      hashes.push_back(v.hash);
      return true;
    });
    ASSERT_TRUE(tail.ok());
  }
  ASSERT_EQ(seqs.size(), journal.size() - 1);
  for (size_t i = 0; i < seqs.size(); ++i) {
    ASSERT_EQ(seqs[i], i + 1) << "gap or repeat at " << i;
    EXPECT_EQ(hashes[i], journal[i + 1]);
    EXPECT_EQ(prev_hashes[i], i == 0 ? Digest{} : journal[i]);
  }
}

// A follower that stops taking entries (its callback blocks) holds back nobody: posting and
// another follower go on to the end meanwhile.
TEST_F(FollowTest, ASlowReaderSlowsOnlyItself) {
  post_entries(0, 2000);
  auto slow = connect("tok-auditor");
  auto fast = connect("tok-auditor");
  ASSERT_NE(slow, nullptr);
  ASSERT_NE(fast, nullptr);
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  uint64_t slow_got = 0;
  std::thread slow_thread([&] {
    auto r = slow->follow(1, 4000, [&](const EntryView&) {
      std::unique_lock lock(m);
      ++slow_got;
      cv.notify_all();
      cv.wait(lock, [&] { return release; });
      return true;
    });
    EXPECT_TRUE(r.ok()) << (r.failed() ? r.failure().message : "");
  });
  {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return slow_got >= 1; });
  }
  // The slow reader is stuck on its first entry; everything else proceeds.
  post_entries(5000, 2000);
  uint64_t fast_got = 0;
  auto r = fast->follow(1, 4000, [&](const EntryView&) {
    ++fast_got;
    return true;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(fast_got, 4000u);
  {
    std::lock_guard lock(m);
    EXPECT_EQ(slow_got, 1u);
    release = true;
  }
  cv.notify_all();
  slow_thread.join();
  EXPECT_EQ(slow_got, 4000u);
}

}  // namespace
}  // namespace tally::testing
