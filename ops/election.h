// Leader election through etcd: one leader per tally cluster, fenced by a term (SPEC section 9).
// The protocol, and why each step is safe, is in docs/operations.md ("Leader election"); in short:
//
//  1. campaign(): grant a lease of ttl_seconds (3 s), then one transaction on
//     `/tally/<cluster>/leader`: if the key does not exist, put our advertised address attached to
//     the lease, else read the holder. The winner's term is the revision of that put (the key's
//     create_revision): etcd revisions only grow, so a later leader always has a larger term.
//     That is the fencing token: standbys and clients refuse a stream or a reply from a term lower
//     than one they have seen. A loser revokes its unused lease at once.
//  2. While leading, a keep-alive round runs every TTL/3 (measured between send times): renew the
//     lease, then read the key to check it is still ours (same create_revision).
//  3. am_leader(now) is true only while the lease is certainly alive: until the send time of the
//     last successful round (or of the lease grant) plus the TTL etcd granted, minus a guard
//     (guard_ms, default TTL/10) for the difference in clock rates and for the time between the
//     check and a reply leaving. etcd starts a lease's TTL when it processes the request, which
//     is after we sent it, so its expiry is never earlier than ours.
//  4. A failed round (timeout, etcd unreachable) makes am_leader false at once; the next round
//     may restore it, because a renewed lease and an unchanged key prove nobody else led in
//     between. The tenure ends (when_lost() resolves, and the lease is revoked best effort) when
//     etcd says the lease is gone, the key is gone or someone else's, or the deadline passes
//     without a successful round. A new tenure needs a new campaign(), with a new term.
//  5. resign(): end the tenure at once, delete the key if it is still ours, revoke the lease.
//
// Time is a monotonic clock in nanoseconds (CLOCK_MONOTONIC by default; tests may inject one).
//
// Thread safety: campaign, resign, leader, when_lost and pause_keep_alive run on the kj event
// loop the election was created on (with its EtcdClient). am_leader, term and now_ns may be
// called from any thread (the writer checks am_leader before acknowledging a commit): they read
// atomics. Promises it returned must be resolved or dropped before it is destroyed; destroying it
// stops the keep-alives without revoking (the lease then expires after its TTL: call resign()
// first for a quick handover).
#pragma once

#include <kj/async.h>
#include <kj/timer.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "ops/etcd_client.h"
#include "ops/ops_result.h"

namespace tally {

inline constexpr size_t kClusterNameBytesMax = 64;

struct ElectionOptions {
  // [a-z0-9][a-z0-9_.-]*, at most 64 bytes. The key is "/tally/<cluster>/leader".
  std::string cluster;
  // What clients and standbys connect to, stored as the key's value ("10.0.0.5:7878").
  std::string address;
  // Requested lease TTL; etcd may grant more (its minimum is 2 s with default settings).
  int64_t ttl_seconds = 3;
  // Subtracted from every lease deadline. 0: a tenth of the granted TTL.
  int64_t guard_ms = 0;
};

// Who holds the leader key.
struct LeaderInfo {
  std::string address;
  int64_t term = 0;  // the key's create_revision: the revision of the winning put
  int64_t lease = 0;
};

struct CampaignOutcome {
  bool won = false;
  LeaderInfo leader;  // us when won, else the holder
};

// "/tally/<cluster>/leader"; nullopt when the cluster name is not valid.
std::optional<std::string> leader_key(std::string_view cluster);

// CLOCK_MONOTONIC in nanoseconds.
int64_t monotonic_now_ns();

class LeaderElection : private kj::TaskSet::ErrorHandler {
 public:
  using Clock = std::function<int64_t()>;

  // `etcd` and `timer` must outlive the election. The clock must be monotonic; it stamps send
  // times and is what am_leader's `now` is compared with.
  LeaderElection(EtcdClient& etcd, kj::Timer& timer, ElectionOptions options,
                 Clock clock = monotonic_now_ns);
  ~LeaderElection();

  // One attempt (never a loop): grant a lease and run the transaction. Won: we lead from now on,
  // keep-alives run, term() is the new term. Lost: the holder. An error (etcd unreachable, a
  // timeout) leaves us not leading; the lease, if granted, is revoked best effort. Already
  // leading: resolves to our own tenure without a new campaign. Invalid options: Kind::invalid.
  // One campaign at a time. A standby loops: campaign(); if lost, EtcdClient::wait_for_change
  // on the key until it is deleted; again.
  kj::Promise<OpsResult<CampaignOutcome>> campaign();

  // True only while we lead and the lease is certainly alive at `now_ns` (the election's clock).
  bool am_leader(int64_t now_ns) const;
  // The term of the current tenure, or of the last one; 0 before the first win. Any thread.
  int64_t term() const { return term_.load(std::memory_order_acquire); }
  // Reads the key: who leads now (nullopt: nobody).
  kj::Promise<OpsResult<std::optional<LeaderInfo>>> leader();
  // Resolves when the current tenure ends (at once when not leading).
  kj::Promise<void> when_lost();
  // Why the last tenure ended ("" while leading or before any).
  const std::string& loss_reason() const { return loss_reason_; }

  // Ends the tenure at once (am_leader false before this returns), deletes the key if it is
  // still ours and revokes the lease. Resolves to whether the key was ours to delete.
  kj::Promise<OpsResult<bool>> resign();

  // Stops (true) or resumes (false) sending keep-alives without giving anything up: what a
  // stalled or partitioned leader looks like to etcd. For tests and failover drills: the
  // deadline then passes, am_leader turns false and the tenure ends; etcd expires the lease.
  void pause_keep_alive(bool paused) { paused_ = paused; }

  int64_t now_ns() const { return clock_(); }
  const std::string& key() const { return key_; }

 private:
  void taskFailed(kj::Exception&& exception) override;
  kj::Promise<void> keep_alive_loop(uint64_t tenure, int64_t next_send_ns);
  kj::Promise<bool> round(uint64_t tenure);
  void extend(int64_t sent_ns, int64_t ttl_seconds);
  void end_tenure(std::string reason, bool revoke);

  EtcdClient& etcd_;
  kj::Timer& timer_;
  ElectionOptions options_;
  Clock clock_;
  std::string key_;

  // Shared with other threads.
  std::atomic<bool> leading_{false};
  std::atomic<int64_t> deadline_ns_{0};  // am_leader(now) needs now < this (0 while suspended)
  std::atomic<int64_t> term_{0};

  // Event loop thread only.
  uint64_t tenure_ = 0;   // bumped by every win and every end: stale rounds stop
  int64_t lease_id_ = 0;  // of the current tenure
  int64_t ttl_ns_ = 0;    // as granted
  int64_t guard_ns_ = 0;
  int64_t confirmed_until_ns_ = 0;  // the deadline from the last successful round
  bool paused_ = false;
  std::string loss_reason_;
  kj::Maybe<kj::Promise<void>> loop_;
  kj::Maybe<kj::ForkedPromise<void>> lost_;
  kj::Maybe<kj::Own<kj::PromiseFulfiller<void>>> lost_fulfiller_;
  kj::TaskSet tasks_;  // best-effort revokes
};

}  // namespace tally
