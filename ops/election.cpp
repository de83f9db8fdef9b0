// GCC 12 reports false "maybe-uninitialized" positives inside kj::_::ExceptionOr<T> for promises
// of OpsResult<T> (a std::variant; the value is only read when it was set), as in rpc/server.cpp.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "ops/election.h"

#include <time.h>

#include <algorithm>

namespace tally {

namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;
constexpr int64_t kNsPerMs = 1'000'000;

bool cluster_char(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return !first && (c == '_' || c == '.' || c == '-');
}

LeaderInfo info_of(const EtcdKeyValue& kv) {
  return LeaderInfo{kv.value, kv.create_revision, kv.lease};
}

}  // namespace

std::optional<std::string> leader_key(std::string_view cluster) {
  if (cluster.empty() || cluster.size() > kClusterNameBytesMax) return std::nullopt;
  for (size_t i = 0; i < cluster.size(); ++i)
    if (!cluster_char(cluster[i], i == 0)) return std::nullopt;
  return "/tally/" + std::string(cluster) + "/leader";
}

int64_t monotonic_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * kNsPerSecond + ts.tv_nsec;
}

LeaderElection::LeaderElection(EtcdClient& etcd, kj::Timer& timer, ElectionOptions options,
                               Clock clock)
    : etcd_(etcd),
      timer_(timer),
      options_(std::move(options)),
      clock_(std::move(clock)),
      key_(leader_key(options_.cluster).value_or("")),
      tasks_(*this) {}

LeaderElection::~LeaderElection() = default;

void LeaderElection::taskFailed(kj::Exception&&) {
  // Only best-effort revokes run as tasks; their failure changes nothing (the lease expires).
}

bool LeaderElection::am_leader(int64_t now_ns) const {
  return leading_.load(std::memory_order_acquire) &&
         now_ns < deadline_ns_.load(std::memory_order_acquire);
}

kj::Promise<OpsResult<CampaignOutcome>> LeaderElection::campaign() {
  using R = OpsResult<CampaignOutcome>;
  if (key_.empty())
    return R(OpsError::invalid("cluster name must be [a-z0-9][a-z0-9_.-]*, at most 64 bytes"));
  if (options_.address.empty()) return R(OpsError::invalid("no advertised address"));
  if (options_.ttl_seconds < 1) return R(OpsError::invalid("lease TTL must be >= 1 s"));
  if (options_.guard_ms < 0) return R(OpsError::invalid("guard_ms must be >= 0"));
  if (leading_.load()) {
    return R(CampaignOutcome{true, LeaderInfo{options_.address, term_.load(), lease_id_}});
  }
  int64_t sent = clock_();
  return etcd_.lease_grant(options_.ttl_seconds)
      .then([this, sent](OpsResult<EtcdLease> lease) -> kj::Promise<R> {
        if (!lease.ok()) return R(lease.error());
        int64_t ttl_ns = lease->ttl_seconds * kNsPerSecond;
        int64_t guard_ns = options_.guard_ms > 0 ? options_.guard_ms * kNsPerMs : ttl_ns / 10;
        if (guard_ns >= ttl_ns) {
          tasks_.add(etcd_.lease_revoke(lease->id).ignoreResult());
          return R(OpsError::invalid("guard_ms is not below the granted lease TTL"));
        }
        EtcdLease granted = *lease;
        return etcd_.campaign(key_, options_.address, granted.id)
            .then([this, sent, granted, ttl_ns, guard_ns](OpsResult<EtcdCampaign> c) -> R {
              if (!c.ok() || !c->won) {
                // Unused (or, after a lost reply, possibly attached to a key we did create:
                // revoking deletes it, and the next campaign starts clean).
                tasks_.add(etcd_.lease_revoke(granted.id).ignoreResult());
                if (!c.ok()) return c.error();
                return CampaignOutcome{false, info_of(c->holder)};
              }
              ++tenure_;
              lease_id_ = granted.id;
              ttl_ns_ = ttl_ns;
              guard_ns_ = guard_ns;
              confirmed_until_ns_ = sent + ttl_ns - guard_ns;
              loss_reason_.clear();
              term_.store(c->holder.create_revision, std::memory_order_release);
              deadline_ns_.store(confirmed_until_ns_, std::memory_order_release);
              leading_.store(true, std::memory_order_release);
              auto paf = kj::newPromiseAndFulfiller<void>();
              lost_ = paf.promise.fork();
              lost_fulfiller_ = kj::mv(paf.fulfiller);
              uint64_t tenure = tenure_;
              loop_ = keep_alive_loop(tenure, sent + ttl_ns / 3)
                          .eagerlyEvaluate([this, tenure](kj::Exception&& e) {
                            if (tenure == tenure_)
                              end_tenure(std::string("keep-alive loop failed: ") +
                                             e.getDescription().cStr(),
                                         true);
                          });
              return CampaignOutcome{true, info_of(c->holder)};
            });
      });
}

kj::Promise<void> LeaderElection::keep_alive_loop(uint64_t tenure, int64_t next_send_ns) {
  // Wake at the next send time, or at the deadline if that comes first, so that a tenure whose
  // keep-alives stopped succeeding ends on time.
  int64_t wake_ns = std::min(next_send_ns, confirmed_until_ns_);
  int64_t delay_ns = std::max<int64_t>(0, wake_ns - clock_());
  return timer_.afterDelay(delay_ns * kj::NANOSECONDS)
      .then([this, tenure, next_send_ns]() -> kj::Promise<void> {
        if (tenure != tenure_) return kj::READY_NOW;
        int64_t now = clock_();
        if (now >= confirmed_until_ns_) {
          end_tenure("no successful keep-alive before the lease deadline", true);
          return kj::READY_NOW;
        }
        if (now < next_send_ns) return keep_alive_loop(tenure, next_send_ns);
        int64_t interval_ns = ttl_ns_ / 3;
        if (paused_) return keep_alive_loop(tenure, now + interval_ns);
        return round(tenure).then(
            [this, tenure, now, interval_ns](bool go_on) -> kj::Promise<void> {
              if (!go_on || tenure != tenure_) return kj::READY_NOW;
              return keep_alive_loop(tenure, now + interval_ns);
            });
      });
}

kj::Promise<bool> LeaderElection::round(uint64_t tenure) {
  int64_t sent = clock_();
  return etcd_.lease_keep_alive(lease_id_).then(
      [this, tenure, sent](OpsResult<int64_t> ttl) -> kj::Promise<bool> {
        if (tenure != tenure_) return false;
        if (!ttl.ok()) {
          // Stop acknowledging at once; the next round may prove the lease still ours.
          deadline_ns_.store(0, std::memory_order_release);
          return true;
        }
        if (*ttl <= 0) {
          end_tenure("etcd no longer has the lease (expired or revoked)", false);
          return false;
        }
        int64_t granted = *ttl;
        return etcd_.get(key_).then(
            [this, tenure, sent, granted](OpsResult<std::optional<EtcdKeyValue>> kv) {
              if (tenure != tenure_) return false;
              if (!kv.ok()) {
                deadline_ns_.store(0, std::memory_order_release);
                return true;
              }
              if (!kv->has_value() || (*kv)->create_revision != term_.load()) {
                end_tenure("the leader key is gone or someone else's", true);
                return false;
              }
              extend(sent, granted);
              return true;
            });
      });
}

void LeaderElection::extend(int64_t sent_ns, int64_t ttl_seconds) {
  int64_t ttl_ns = std::min(ttl_seconds * kNsPerSecond, ttl_ns_);
  confirmed_until_ns_ = std::max(confirmed_until_ns_, sent_ns + ttl_ns - guard_ns_);
  deadline_ns_.store(confirmed_until_ns_, std::memory_order_release);
}

void LeaderElection::end_tenure(std::string reason, bool revoke) {
  if (!leading_.load()) return;
  leading_.store(false, std::memory_order_release);
  deadline_ns_.store(0, std::memory_order_release);
  ++tenure_;
  loss_reason_ = std::move(reason);
  if (revoke) tasks_.add(etcd_.lease_revoke(lease_id_).ignoreResult());
  KJ_IF_MAYBE (f, lost_fulfiller_) {
    (*f)->fulfill();
  }
  lost_fulfiller_ = nullptr;
}

kj::Promise<void> LeaderElection::when_lost() {
  if (!leading_.load()) return kj::READY_NOW;
  KJ_IF_MAYBE (f, lost_) {
    return f->addBranch();
  }
  return kj::READY_NOW;
}

kj::Promise<OpsResult<std::optional<LeaderInfo>>> LeaderElection::leader() {
  using R = OpsResult<std::optional<LeaderInfo>>;
  if (key_.empty()) return R(OpsError::invalid("invalid cluster name"));
  return etcd_.get(key_).then([](OpsResult<std::optional<EtcdKeyValue>> kv) -> R {
    if (!kv.ok()) return kv.error();
    if (!kv->has_value()) return std::optional<LeaderInfo>();
    return std::optional<LeaderInfo>(info_of(**kv));
  });
}

kj::Promise<OpsResult<bool>> LeaderElection::resign() {
  if (!leading_.load()) return OpsResult<bool>(false);
  int64_t term = term_.load();
  int64_t lease = lease_id_;
  end_tenure("resigned", false);
  loop_ = nullptr;
  return etcd_.resign(key_, term).then([this, lease](OpsResult<bool> deleted) {
    return etcd_.lease_revoke(lease).then(
        [deleted = std::move(deleted)](OpsResult<bool>) mutable { return kj::mv(deleted); });
  });
}

}  // namespace tally
