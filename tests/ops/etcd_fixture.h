// A real etcd (Debian's etcd-server, /usr/bin/etcd) for the ops tests: one single-node server per
// test process on free loopback ports with a temporary data directory, started on first use and
// killed when the tests end. Tests that need it GTEST_SKIP only when the binary is missing.
#pragma once

#include <kj/async-io.h>

#include <string>
#include <vector>

#include "common/test_util.h"

namespace tally::testing {

inline constexpr const char* kEtcdBinary = "/usr/bin/etcd";

class EtcdProcess {
 public:
  // The shared server, started (and waited for) on the first call; nullptr when it could not be
  // started, with the reason in *why.
  static EtcdProcess* shared(std::string* why);
  ~EtcdProcess();

  const std::string& endpoint() const { return endpoint_; }  // "127.0.0.1:PORT"
  int pid() const { return pid_; }
  // SIGSTOP / SIGCONT: what a partitioned or stalled etcd looks like to its clients.
  void pause();
  void resume();
  std::string log_tail() const;

 private:
  EtcdProcess() = default;
  std::string dir_;
  std::string endpoint_;
  int pid_ = -1;
};

// A free TCP port on 127.0.0.1 (bound and released: another process could take it meanwhile,
// which is unlikely enough for tests).
int free_loopback_port();
// `n` distinct free loopback ports (all bound at once while picking); empty when they cannot be
// had.
std::vector<int> free_loopback_ports(size_t n);

}  // namespace tally::testing

// In a TEST body: the shared etcd or a skip.
#define TALLY_REQUIRE_ETCD(var)                                                               \
  std::string var##_why;                                                                      \
  ::tally::testing::EtcdProcess* var = ::tally::testing::EtcdProcess::shared(&var##_why);     \
  if (var == nullptr) {                                                                       \
    if (access(::tally::testing::kEtcdBinary, X_OK) != 0)                                     \
      TALLY_PREREQUISITE_MISSING("etcd is not installed ("                                    \
                                 << ::tally::testing::kEtcdBinary                             \
                                 << " missing): apt-get install etcd-server (scripts/deps)"); \
    FAIL() << "etcd did not start: " << var##_why;                                            \
  }
