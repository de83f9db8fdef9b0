// Leader election against a real etcd. No test measures time: they check the order of events
// (nobody wins while the old leader still believes it leads; terms only grow) and wait for
// outcomes by polling with generous limits.
// GCC 12: false "maybe-uninitialized" inside kj::_::ExceptionOr<OpsResult<T>> (see ops/*.cpp).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "ops/election.h"
#include "ops/etcd_client.h"
#include "ops/etcd_fixture.h"

namespace tally {
namespace {

constexpr int kPollStepMs = 50;
constexpr int kPollLimitMs = 60000;  // a ceiling for a stuck test, never a measured bound

EtcdOptions options_for(std::string endpoint) {
  EtcdOptions o;
  o.endpoints = {std::move(endpoint)};
  o.request_timeout_ms = 500;
  return o;
}

ElectionOptions election(std::string cluster, std::string address, int64_t ttl_seconds = 3) {
  ElectionOptions o;
  o.cluster = std::move(cluster);
  o.address = std::move(address);
  o.ttl_seconds = ttl_seconds;
  return o;
}

// Runs the event loop in steps until `done` holds; false if the limit passed first.
bool poll_until(kj::AsyncIoContext& io, const std::function<bool()>& done,
                int limit_ms = kPollLimitMs) {
  for (int waited = 0; waited <= limit_ms; waited += kPollStepMs) {
    if (done()) return true;
    io.provider->getTimer().afterDelay(kPollStepMs * kj::MILLISECONDS).wait(io.waitScope);
  }
  return done();
}

// Two contenders as two processes would have them: their own client each, one event loop.
struct Contenders {
  Contenders(kj::AsyncIoContext& io, const std::string& endpoint, const std::string& cluster,
             int64_t ttl_seconds = 3)
      : ca(io.provider->getTimer(), io.provider->getNetwork(), options_for(endpoint)),
        cb(io.provider->getTimer(), io.provider->getNetwork(), options_for(endpoint)),
        a(ca, io.provider->getTimer(), election(cluster, "10.0.0.1:7878", ttl_seconds)),
        b(cb, io.provider->getTimer(), election(cluster, "10.0.0.2:7878", ttl_seconds)) {}
  EtcdClient ca, cb;
  LeaderElection a, b;
};

TEST(LeaderElection, OneWinsAndTheOtherSeesTheHolder) {
  TALLY_REQUIRE_ETCD(etcd);
  auto io = kj::setupAsyncIo();
  auto& ws = io.waitScope;
  Contenders c(io, etcd->endpoint(), "one-wins");

  EXPECT_FALSE(c.a.am_leader(c.a.now_ns()));
  auto ra = c.a.campaign().wait(ws);
  ASSERT_TRUE(ra.ok()) << ra.error().to_string();
  EXPECT_TRUE(ra->won);
  EXPECT_EQ(ra->leader.address, "10.0.0.1:7878");
  EXPECT_GT(ra->leader.term, 0);
  EXPECT_EQ(c.a.term(), ra->leader.term);
  EXPECT_TRUE(c.a.am_leader(c.a.now_ns()));

  auto rb = c.b.campaign().wait(ws);
  ASSERT_TRUE(rb.ok()) << rb.error().to_string();
  EXPECT_FALSE(rb->won);
  EXPECT_EQ(rb->leader.address, "10.0.0.1:7878");
  EXPECT_EQ(rb->leader.term, ra->leader.term);
  EXPECT_FALSE(c.b.am_leader(c.b.now_ns()));
  EXPECT_EQ(c.b.term(), 0);

  auto seen = c.b.leader().wait(ws);
  ASSERT_TRUE(seen.ok());
  ASSERT_TRUE(seen->has_value());
  EXPECT_EQ((*seen)->address, "10.0.0.1:7878");
  EXPECT_EQ((*seen)->term, ra->leader.term);

  // Campaigning again while leading is the same tenure, not a new term.
  auto again = c.a.campaign().wait(ws);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->won);
  EXPECT_EQ(again->leader.term, ra->leader.term);

  auto resigned = c.a.resign().wait(ws);
  ASSERT_TRUE(resigned.ok()) << resigned.error().to_string();
  EXPECT_TRUE(*resigned);
}

TEST(LeaderElection, ResignHandsOverWithALargerTerm) {
  TALLY_REQUIRE_ETCD(etcd);
  auto io = kj::setupAsyncIo();
  auto& ws = io.waitScope;
  Contenders c(io, etcd->endpoint(), "resign");

  auto ra = c.a.campaign().wait(ws);
  ASSERT_TRUE(ra.ok() && ra->won);
  auto lost = c.a.when_lost().eagerlyEvaluate(nullptr);
  auto resigned = c.a.resign().wait(ws);
  ASSERT_TRUE(resigned.ok()) << resigned.error().to_string();
  EXPECT_TRUE(*resigned);
  EXPECT_FALSE(c.a.am_leader(c.a.now_ns()));
  lost.wait(ws);
  EXPECT_EQ(c.a.loss_reason(), "resigned");
  auto nobody = c.b.leader().wait(ws);
  ASSERT_TRUE(nobody.ok());
  EXPECT_FALSE(nobody->has_value());

  auto rb = c.b.campaign().wait(ws);
  ASSERT_TRUE(rb.ok()) << rb.error().to_string();
  EXPECT_TRUE(rb->won);
  EXPECT_GT(rb->leader.term, ra->leader.term);
  EXPECT_TRUE(c.b.am_leader(c.b.now_ns()));

  // And back: every new tenure has a larger term than all before it.
  ASSERT_TRUE(c.b.resign().wait(ws).ok());
  auto ra2 = c.a.campaign().wait(ws);
  ASSERT_TRUE(ra2.ok() && ra2->won);
  EXPECT_GT(ra2->leader.term, rb->leader.term);
  ASSERT_TRUE(c.a.resign().wait(ws).ok());
}

TEST(LeaderElection, StoppedKeepAlivesEndTheTenureBeforeAnotherWins) {
  TALLY_REQUIRE_ETCD(etcd);
  auto io = kj::setupAsyncIo();
  auto& ws = io.waitScope;
  Contenders c(io, etcd->endpoint(), "stopped-keep-alives");

  auto ra = c.a.campaign().wait(ws);
  ASSERT_TRUE(ra.ok() && ra->won);
  auto lost = c.a.when_lost().eagerlyEvaluate(nullptr);
  c.a.pause_keep_alive(true);

  // b campaigns until it wins. Each time it wins, a must already have stopped believing it
  // leads: a's deadline comes before etcd can expire a's lease.
  bool a_stopped_first = true;
  bool b_won = false;
  int64_t b_term = 0;
  bool done = poll_until(io, [&] {
    auto rb = c.b.campaign().wait(ws);
    if (rb.ok() && rb->won) {
      b_won = true;
      b_term = rb->leader.term;
      if (c.a.am_leader(c.a.now_ns())) a_stopped_first = false;
    }
    return b_won;
  });
  ASSERT_TRUE(done) << "b never won after a stopped its keep-alives";
  EXPECT_TRUE(a_stopped_first);
  EXPECT_GT(b_term, ra->leader.term);
  lost.wait(ws);
  EXPECT_FALSE(c.a.am_leader(c.a.now_ns()));
  EXPECT_FALSE(c.a.loss_reason().empty());

  // a's later campaigns see b.
  c.a.pause_keep_alive(false);
  auto again = c.a.campaign().wait(ws);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->won);
  EXPECT_EQ(again->leader.address, "10.0.0.2:7878");
  EXPECT_EQ(again->leader.term, b_term);
  ASSERT_TRUE(c.b.resign().wait(ws).ok());
}

TEST(LeaderElection, KeepAlivesHoldTheLeadershipPastTheTtl) {
  TALLY_REQUIRE_ETCD(etcd);
  auto io = kj::setupAsyncIo();
  auto& ws = io.waitScope;
  // A longer TTL leaves a loaded machine room: rounds every 2 s against a 6 s lease.
  Contenders c(io, etcd->endpoint(), "keep-alives-hold", 6);
  auto ra = c.a.campaign().wait(ws);
  ASSERT_TRUE(ra.ok() && ra->won);
  int64_t first_deadline = c.a.now_ns() + 6'000'000'000;

  // Past the first lease's whole TTL, as a's own clock says.
  ASSERT_TRUE(poll_until(io, [&] { return c.a.now_ns() > first_deadline; }));
  EXPECT_TRUE(c.a.loss_reason().empty()) << c.a.loss_reason();
  EXPECT_TRUE(poll_until(io, [&] { return c.a.am_leader(c.a.now_ns()); }));
  auto rb = c.b.campaign().wait(ws);
  ASSERT_TRUE(rb.ok());
  EXPECT_FALSE(rb->won);
  EXPECT_EQ(rb->leader.term, ra->leader.term);
  ASSERT_TRUE(c.a.resign().wait(ws).ok());
}

TEST(LeaderElection, AmLeaderEndsAtTheDeadlineCountedFromTheSendTime) {
  TALLY_REQUIRE_ETCD(etcd);
  auto io = kj::setupAsyncIo();
  auto& ws = io.waitScope;
  EtcdClient client(io.provider->getTimer(), io.provider->getNetwork(),
                    options_for(etcd->endpoint()));
  // The election's clock reads T when the lease grant is sent and T + 1 s at every later read
  // (the reply, the keep-alive loop): the deadline must count from T.
  constexpr int64_t kT = 5'000'000'000'000;
  constexpr int64_t kLater = kT + 1'000'000'000;
  int reads = 0;
  ElectionOptions o = election("send-time", "10.0.0.1:7878", 3);
  o.guard_ms = 500;
  LeaderElection e(client, io.provider->getTimer(), o,
                   [&reads] { return reads++ == 0 ? kT : kLater; });
  e.pause_keep_alive(true);  // no round may move the deadline in this test
  auto r = e.campaign().wait(ws);
  ASSERT_TRUE(r.ok() && r->won) << (r.ok() ? "lost" : r.error().to_string());
  constexpr int64_t kDeadline = kT + 3'000'000'000 - 500'000'000;
  EXPECT_TRUE(e.am_leader(kT));
  EXPECT_TRUE(e.am_leader(kDeadline - 1));
  EXPECT_FALSE(e.am_leader(kDeadline));
  EXPECT_FALSE(e.am_leader(kLater + 3'000'000'000 - 500'000'000 - 1));
  ASSERT_TRUE(e.resign().wait(ws).ok());
  EXPECT_FALSE(e.am_leader(kT));
}

TEST(LeaderElection, AKeepAliveRoundMovesTheDeadlineFromItsSendTime) {
  TALLY_REQUIRE_ETCD(etcd);
  auto io = kj::setupAsyncIo();
  auto& ws = io.waitScope;
  EtcdClient client(io.provider->getTimer(), io.provider->getNetwork(),
                    options_for(etcd->endpoint()));
  // T at the campaign, T + 1 s from then on: the first round (due at T + 1 s, TTL/3) is sent at
  // once and stamped T + 1 s, before the first deadline (T + 2.5 s).
  constexpr int64_t kT = 5'000'000'000'000;
  constexpr int64_t kLater = kT + 1'000'000'000;
  int reads = 0;
  ElectionOptions o = election("round-send-time", "10.0.0.1:7878", 3);
  o.guard_ms = 500;
  LeaderElection e(client, io.provider->getTimer(), o,
                   [&reads] { return reads++ == 0 ? kT : kLater; });
  auto r = e.campaign().wait(ws);
  ASSERT_TRUE(r.ok() && r->won);
  constexpr int64_t kNewDeadline = kLater + 3'000'000'000 - 500'000'000;
  ASSERT_TRUE(poll_until(io, [&] { return e.am_leader(kNewDeadline - 1); })) << e.loss_reason();
  EXPECT_FALSE(e.am_leader(kNewDeadline));
  ASSERT_TRUE(e.resign().wait(ws).ok());
}

TEST(LeaderElection, AStalledEtcdEndsTheTenureAndAnotherWinsAfterItResumes) {
  TALLY_REQUIRE_ETCD(etcd);
  auto io = kj::setupAsyncIo();
  auto& ws = io.waitScope;
  Contenders c(io, etcd->endpoint(), "stalled-etcd");
  auto ra = c.a.campaign().wait(ws);
  ASSERT_TRUE(ra.ok() && ra->won);
  auto lost = c.a.when_lost().eagerlyEvaluate(nullptr);
  bool lost_seen = false;
  auto noted = lost.then([&] { lost_seen = true; }).eagerlyEvaluate(nullptr);

  etcd->pause();  // every request now times out
  bool ended = poll_until(io, [&] { return lost_seen; });
  etcd->resume();
  ASSERT_TRUE(ended) << "the tenure did not end while etcd was stalled";
  EXPECT_FALSE(c.a.am_leader(c.a.now_ns()));
  EXPECT_FALSE(c.a.loss_reason().empty());

  bool b_won = false;
  int64_t b_term = 0;
  ASSERT_TRUE(poll_until(io, [&] {
    auto rb = c.b.campaign().wait(ws);
    if (rb.ok() && rb->won) b_won = true, b_term = rb->leader.term;
    return b_won;
  }));
  EXPECT_GT(b_term, ra->leader.term);
  EXPECT_FALSE(c.a.am_leader(c.a.now_ns()));
  ASSERT_TRUE(c.b.resign().wait(ws).ok());
}

TEST(LeaderElection, AFailedRoundStopsAcknowledgingAtOnceAndASuccessfulOneResumes) {
  TALLY_REQUIRE_ETCD(etcd);
  auto io = kj::setupAsyncIo();
  auto& ws = io.waitScope;
  // A 15 s lease: rounds every 5 s, deadline 13.5 s after each successful send. A round that
  // fails (etcd stalled) stops am_leader long before that deadline; the next round that
  // succeeds proves the lease and the key still ours and resumes it, in the same tenure.
  Contenders c(io, etcd->endpoint(), "failed-round", 15);
  auto ra = c.a.campaign().wait(ws);
  ASSERT_TRUE(ra.ok() && ra->won);
  bool lost_seen = false;
  auto noted = c.a.when_lost().then([&] { lost_seen = true; }).eagerlyEvaluate(nullptr);

  etcd->pause();
  bool stopped = poll_until(io, [&] { return !c.a.am_leader(c.a.now_ns()); });
  etcd->resume();
  ASSERT_TRUE(stopped);
  EXPECT_FALSE(lost_seen) << "the tenure ended instead of pausing: " << c.a.loss_reason();

  ASSERT_TRUE(poll_until(io, [&] { return lost_seen || c.a.am_leader(c.a.now_ns()); }));
  EXPECT_FALSE(lost_seen) << c.a.loss_reason();
  EXPECT_TRUE(c.a.am_leader(c.a.now_ns()));
  EXPECT_EQ(c.a.term(), ra->leader.term);
  ASSERT_TRUE(c.a.resign().wait(ws).ok());
}

TEST(LeaderElection, TheKeyDeletedUnderTheLeaderEndsItsTenure) {
  TALLY_REQUIRE_ETCD(etcd);
  auto io = kj::setupAsyncIo();
  auto& ws = io.waitScope;
  Contenders c(io, etcd->endpoint(), "key-deleted");
  auto ra = c.a.campaign().wait(ws);
  ASSERT_TRUE(ra.ok() && ra->won);
  bool lost_seen = false;
  auto noted = c.a.when_lost().then([&] { lost_seen = true; }).eagerlyEvaluate(nullptr);
  // An operator deletes the key; b takes it at once (its lease is alive, a's too).
  ASSERT_TRUE(c.cb.remove(c.a.key()).wait(ws).ok());
  auto rb = c.b.campaign().wait(ws);
  ASSERT_TRUE(rb.ok() && rb->won);
  EXPECT_GT(rb->leader.term, ra->leader.term);
  // a's next round sees a key that is not its own.
  ASSERT_TRUE(poll_until(io, [&] { return lost_seen; }));
  EXPECT_FALSE(c.a.am_leader(c.a.now_ns()));
  EXPECT_NE(c.a.loss_reason().find("key"), std::string::npos) << c.a.loss_reason();
  ASSERT_TRUE(c.b.resign().wait(ws).ok());
}

TEST(LeaderElection, BadOptionsAndAnUnreachableEtcdAreErrors) {
  auto io = kj::setupAsyncIo();
  auto& ws = io.waitScope;
  EtcdClient client(io.provider->getTimer(), io.provider->getNetwork(),
                    options_for("127.0.0.1:" + std::to_string(testing::free_loopback_port())));
  for (const char* bad : {"", "Upper", "-lead", "a/b", "a b"}) {
    LeaderElection e(client, io.provider->getTimer(), election(bad, "x:1"));
    auto r = e.campaign().wait(ws);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind, OpsError::Kind::invalid) << bad;
  }
  EXPECT_FALSE(leader_key(std::string(65, 'a')).has_value());
  EXPECT_EQ(leader_key("eu-1.prod_a").value_or(""), "/tally/eu-1.prod_a/leader");
  LeaderElection no_address(client, io.provider->getTimer(), election("c", ""));
  EXPECT_FALSE(no_address.campaign().wait(ws).ok());

  LeaderElection e(client, io.provider->getTimer(), election("c", "x:1"));
  auto r = e.campaign().wait(ws);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, OpsError::Kind::unavailable) << r.error().to_string();
  EXPECT_FALSE(e.am_leader(e.now_ns()));
  EXPECT_EQ(e.term(), 0);
  e.when_lost().wait(ws);  // not leading: at once
}

}  // namespace
}  // namespace tally
