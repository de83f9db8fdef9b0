// Failover through etcd (contract in rpc/failover.h).
#include "rpc/failover.h"

#include <kj/async-io.h>

#include <algorithm>
#include <thread>

#include "ops/election.h"
#include "ops/etcd_client.h"
#include "rpc/standby.h"

namespace tally {

namespace {

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
      if (!run_standby(ledger_, o, stop_, status_, log_, metrics_)) failed_.store(true);
    });
  }
  // Stops following; returns once no change set can arrive any more.
  void stop() {
    if (!thread_.joinable()) return;
    stop_.store(true);
    thread_.join();
    leader_.clear();
  }
  bool failed() const { return failed_.load(); }

 private:
  Ledger& ledger_;
  StandbyOptions base_;
  JsonLog& log_;
  ServerMetrics* metrics_;
  std::string leader_;
  std::thread thread_;
  std::atomic<bool> stop_{false}, failed_{false};
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

  while (!stop.load()) {
    if (follower.failed()) return 4;
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
    if (follower.failed()) return 4;
    const uint64_t mine = ledger_.last_txn();
    auto lease = etcd.lease_grant(o_.ttl_seconds).wait(ws);
    if (!lease.ok()) continue;
    (void)etcd.put(candidates + o_.advertise, std::to_string(mine), lease->id).wait(ws);
    sleep(o_.settle_ms);
    auto all = etcd.get_prefix(candidates).wait(ws);
    bool best = all.ok();
    if (all.ok()) {
      for (const EtcdKeyValue& c : *all) {
        const std::string addr = c.key.substr(candidates.size());
        uint64_t txn = 0;
        try {
          txn = std::stoull(c.value);
        } catch (...) {  // not ours to judge: a value we did not write
          continue;
        }
        if (addr != o_.advertise && (txn > mine || (txn == mine && addr < o_.advertise)))
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
    log_.info("leading", {{"term", std::to_string(election.term())},
                          {"txn", std::to_string(mine)},
                          {"address", o_.advertise}});
    auto lost = election.when_lost().fork();
    while (!stop.load() && !lost.addBranch().poll(ws)) sleep(100);
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
