// A standby (contract in rpc/standby.h).
#include "rpc/standby.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "rpc/client.h"
#include "rpc/replica_stream.h"

namespace tally {

namespace {

// Sleeps `ms` in small steps, returning early when `stop` is set.
void pause(uint64_t ms, const std::atomic<bool>& stop) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!stop.load() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

}  // namespace

StandbyEnd run_standby(Ledger& ledger, const StandbyOptions& o, const std::atomic<bool>& stop,
                       StandbyStatus& status, JsonLog& log, ServerMetrics* metrics) {
  uint64_t delay = o.retry_delay_ms_first;
  bool logged_down = false;
  status.applied_txn.store(ledger.last_txn());
  while (!stop.load()) {
    ClientOptions co;
    co.address = o.leader;
    co.token = o.token;
    co.tls_ca_file = o.tls_ca_file;
    co.max_attempts = 1;
    auto c = Client::connect(co);
    if (!c.ok()) {
      if (!logged_down)
        log.warn("standby cannot reach its leader; retrying",
                 {{"leader", o.leader},
                  {"error", c.failed() ? c.failure().message : c.rejection().message}});
      logged_down = true;
      pause(delay, stop);
      delay = std::min(delay * 2, o.retry_delay_ms_max);
      continue;
    }
    std::unique_ptr<Client> client = std::move(c.value());
    if (!client->roles().count(Role::replica)) {
      log.error("standby's token has no replica role in the leader's config",
                {{"leader", o.leader}});
      return StandbyEnd::unservable;
    }
    const uint64_t from = ledger.last_txn() + 1;
    log.info("standby following", {{"leader", o.leader}, {"from_txn", std::to_string(from)}});
    logged_down = false;
    status.connected.store(true);
    std::string diverged;
    auto r =
        client->follow_changes(from, [&](std::vector<ChangeSet>& sets) -> std::optional<uint64_t> {
          if (stop.load()) return std::nullopt;
          if (sets.empty()) return ledger.last_txn();  // a heartbeat
          delay = o.retry_delay_ms_first;
          Status s = ledger.replicate(std::move(sets));
          if (!s.ok()) {
            diverged = s.to_string();
            return std::nullopt;
          }
          const uint64_t txn = ledger.last_txn();
          status.applied_txn.store(txn);
          if (metrics != nullptr) {
            metrics->replication_applied_txn.set(static_cast<int64_t>(txn));
            auto snap = ledger.snapshot();
            metrics->replication_lag_seconds.set(
                std::max<int64_t>(0, system_now_ns() - snap->last_commit_ns()));
          }
          return txn;
        });
    status.connected.store(false);
    if (!diverged.empty()) {
      log.error("standby diverged from its leader: stopped",
                {{"leader", o.leader}, {"error", diverged}});
      return StandbyEnd::diverged;
    }
    if (stop.load()) break;
    if (r.rejected()) {
      // The leader cannot stream from here (its log moved on, or this store is ahead of it).
      const std::string why = r.rejection().message;
      log.error("the leader cannot stream to this standby", {{"leader", o.leader}, {"error", why}});
      return why.find(kStandbyAheadText) != std::string::npos ? StandbyEnd::diverged
                                                              : StandbyEnd::unservable;
    }
    log.warn("standby lost its leader; reconnecting",
             {{"leader", o.leader}, {"error", r.failed() ? r.failure().message : std::string()}});
    pause(delay, stop);
    delay = std::min(delay * 2, o.retry_delay_ms_max);
  }
  return StandbyEnd::stopped;
}

}  // namespace tally
