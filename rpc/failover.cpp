// Failover through etcd (contract in rpc/failover.h).
#include "rpc/failover.h"

#include <kj/async-io.h>

#include <algorithm>
#include <charconv>
#include <compare>
#include <optional>
#include <thread>

#include "ops/election.h"
#include "ops/etcd_client.h"
#include "rpc/standby.h"

namespace tally {

namespace {

// A failover candidate's position, compared term first.
struct Position {
  int64_t term = 0;
  uint64_t txn = 0;
  auto operator<=>(const Position&) const = default;
  std::string text() const { return std::to_string(term) + ":" + std::to_string(txn); }
  static std::optional<Position> parse(const std::string& text) {
    Position p;
    const size_t colon = text.find(':');
    if (colon == std::string::npos) return std::nullopt;
    auto t = std::from_chars(text.data(), text.data() + colon, p.term);
    auto x = std::from_chars(text.data() + colon + 1, text.data() + text.size(), p.txn);
    if (t.ec != std::errc() || t.ptr != text.data() + colon || x.ec != std::errc() ||
        x.ptr != text.data() + text.size())
      return std::nullopt;
    return p;
  }
};

// Nullopt when the store cannot be read now (no reader slot free, damage): not a candidate.
std::optional<Position> position(Ledger& ledger) {
  try {
    auto snap = ledger.snapshot();
    return Position{snap->last_term(), snap->last_txn()};
  } catch (const StoreFailure&) {
    return std::nullopt;
  }
}

// A standby's follower thread, started and stopped as the leader key changes.
class Follower {
 public:
  Follower(Ledger& ledger, StandbyOptions base, JsonLog& log, ServerMetrics* metrics)
      : ledger_(ledger), base_(std::move(base)), log_(log), metrics_(metrics) {}
  ~Follower() { stop(); }
  // Follows `leader` (keeps an existing stream to the same address).
  void follow(const std::string& leader) {
    if (thread_.joinable() && leader_ == leader) return;
    stop();
    leader_ = leader;
    stop_.store(false);
    StandbyOptions o = base_;
    o.leader = leader;
    thread_ = std::thread([this, o] {
      const StandbyEnd end = run_standby(ledger_, o, stop_, status_, log_, metrics_);
      if (end != StandbyEnd::stopped) end_.store(end);
    });
  }
  // Stops following; returns once no change set can arrive any more.
  void stop() {
    if (!thread_.joinable()) return;
    stop_.store(true);
    thread_.join();
    leader_.clear();
  }
  // How following failed (stopped: it did not).
  StandbyEnd failure() const { return end_.load(); }
  bool failed() const { return end_.load() != StandbyEnd::stopped; }

 private:
  Ledger& ledger_;
  StandbyOptions base_;
  JsonLog& log_;
  ServerMetrics* metrics_;
  std::string leader_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<StandbyEnd> end_{StandbyEnd::stopped};
  StandbyStatus status_;
};

}  // namespace

bool Failover::may_acknowledge() const {
  const LeaderElection* e = election_.load();
  return e != nullptr && e->am_leader(monotonic_now_ns());
}

int Failover::run(const std::atomic<bool>& stop) {
  auto io = kj::setupAsyncIo();
  auto& ws = io.waitScope;
  auto& timer = io.provider->getTimer();
  EtcdOptions eo;
  eo.endpoints = o_.etcd_endpoints;
  EtcdClient etcd(timer, io.provider->getNetwork(), eo);
  ElectionOptions el;
  el.cluster = o_.cluster;
  el.address = o_.advertise;
  el.ttl_seconds = o_.ttl_seconds;
  LeaderElection election(etcd, timer, el);
  const std::string key = election.key();
  const std::string candidates = "/tally/" + o_.cluster + "/candidates/";
  StandbyOptions sbo;
  sbo.token = o_.token;
  sbo.tls_ca_file = o_.tls_ca_file;
  Follower follower(ledger_, sbo, log_, metrics_);
  auto sleep = [&](uint64_t ms) { timer.afterDelay(ms * kj::MILLISECONDS).wait(ws); };
  bool warned = false;

  // After a failed follow: set the store aside and rejoin empty when it diverged (a deposed
  // leader's unacknowledged tail), else stop for a person.
  auto failed_code = [&] {
    return follower.failure() == StandbyEnd::diverged && ledger_.last_txn() > 0 ? kServeRejoin : 4;
  };
  while (!stop.load()) {
    if (follower.failed()) return failed_code();
    auto l = election.leader().wait(ws);
    if (!l.ok()) {
      if (!warned) log_.warn("etcd unreachable; retrying", {{"error", l.error().to_string()}});
      warned = true;
      sleep(250);
      continue;
    }
    warned = false;
    if (l->has_value()) {
      const LeaderInfo& leader = **l;
      if (leader.address != o_.advertise) {
        role_.set_standby_of(leader.address);
        follower.follow(leader.address);
      }
      // Ours from an earlier life (the lease outlives a killed process by its TTL), or another's:
      // wait for it to change, a second at a time so a stop is seen.
      auto kv = etcd.get(key).wait(ws);
      const int64_t seen = kv.ok() && kv->has_value() ? (*kv)->mod_revision : 0;
      (void)etcd.wait_for_change(key, seen, 250, 1000).wait(ws);
      continue;
    }
    // Nobody leads. No more change sets from the old leader, then compare positions.
    follower.stop();
    if (follower.failed()) return failed_code();
    // A candidate's position: the highest term its store holds, then its last txn. A longer log
    // of an older term (a deposed leader's unacknowledged tail) must not win over a log that holds
    // a newer leader's acknowledged transactions.
    const std::optional<Position> read = position(ledger_);
    if (!read) {
      sleep(250);
      continue;
    }
    const Position mine = *read;
    auto lease = etcd.lease_grant(o_.ttl_seconds).wait(ws);
    if (!lease.ok()) continue;
    (void)etcd.put(candidates + o_.advertise, mine.text(), lease->id).wait(ws);
    sleep(o_.settle_ms);
    auto all = etcd.get_prefix(candidates).wait(ws);
    bool best = all.ok();
    if (all.ok()) {
      for (const EtcdKeyValue& c : *all) {
        const std::string addr = c.key.substr(candidates.size());
        const std::optional<Position> theirs = Position::parse(c.value);
        if (!theirs) continue;  // not ours to judge: a value we did not write
        if (addr != o_.advertise && (mine < *theirs || (mine == *theirs && addr < o_.advertise)))
          best = false;
      }
    }
    if (!best) {
      (void)etcd.lease_revoke(lease->id).wait(ws);
      // The best candidate campaigns; wait for its key (or go round again).
      (void)etcd.wait_for_change(key, 0, 100, 2 * o_.settle_ms + 1000).wait(ws);
      continue;
    }
    auto won = election.campaign().wait(ws);
    (void)etcd.lease_revoke(lease->id).wait(ws);
    if (!won.ok() || !won->won) continue;

    // Leading: later change sets carry our term; writes are ours to acknowledge.
    ledger_.set_term(election.term());
    election_.store(&election);
    role_.set_standby_of("");
    leading_.store(true);
    if (metrics_ != nullptr) {
      metrics_->leader.set(1);
      metrics_->leader_term.set(election.term());
    }
    const std::string term_text = std::to_string(election.term());
    log_.info("leading", {{"term", term_text},
                          {"txn", std::to_string(mine.txn)},
                          {"address", o_.advertise},
                          {"lease_ttl_s", std::to_string(o_.ttl_seconds)}});
    auto lost = election.when_lost().fork();
    // Say when the fence closes (a keep-alive round failed: nothing is acknowledged until one
    // succeeds again) and when it reopens, so an operator sees a leader that holds results back.
    bool acknowledging = true;
    while (!stop.load() && !lost.addBranch().poll(ws)) {
      const bool now = election.am_leader(monotonic_now_ns());
      if (now != acknowledging) {
        acknowledging = now;
        if (now)
          log_.info("lease confirmed again: acknowledging", {{"term", term_text}});
        else
          log_.warn("lease not confirmed: not acknowledging", {{"term", term_text}});
      }
      sleep(100);
    }
    election_.store(nullptr);
    leading_.store(false);
    if (metrics_ != nullptr) metrics_->leader.set(0);
    if (stop.load()) {
      (void)election.resign().wait(ws);
      return 0;
    }
    log_.error("leadership lost: stopping (restart to rejoin as a standby)",
               {{"reason", election.loss_reason()}});
    return 5;
  }
  follower.stop();
  return 0;
}

}  // namespace tally
