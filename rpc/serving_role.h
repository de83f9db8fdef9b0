// Whom a server serves as: the leader, or a standby of an address (docs/operations.md,
// "Standbys" and "Failover"). Set by `tally serve` (--standby-of) and by the failover; read by
// the RPC server at each login, which answers a standby's writers not_leader.
//
// Thread safety: any thread (a mutex).
#pragma once

#include <mutex>
#include <string>

namespace tally {

// Whom this server serves as: the leader (empty) or a standby of an address. Shared by the
// failover (which sets it) and the RPC server (which reads it at each login).
class ServingRole {
 public:
  explicit ServingRole(std::string standby_of = {}) : standby_of_(std::move(standby_of)) {}
  void set_standby_of(std::string address) {
    std::lock_guard lock(mu_);
    standby_of_ = std::move(address);
  }
  std::string standby_of() const {
    std::lock_guard lock(mu_);
    return standby_of_;
  }

 private:
  mutable std::mutex mu_;
  std::string standby_of_;
};

}  // namespace tally
