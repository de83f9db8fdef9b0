// One real `tally serve` process for the replication tests (standbys, failover): started with
// fork/exec on a unix socket in its own directory, its stderr (the JSON log) in a file per start,
// killed with SIGKILL or waited for. Every start of a node gets a new log file (serve-N.log), so
// what a log says is about the process now running.
//
// Thread safety: none; one test thread drives a node.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "rpc/client.h"
#include "rpc/serve_fixture.h"

namespace tally::testing {

// kConfig with a replica token: what a standby logs in with (`--token tok-replica`).
inline std::string config_with_replica() {
  return std::string(kConfig) + "\"tok-replica\" = [\"replica\"]\n";
}

struct ServeNode {
  std::string dir, address;
  pid_t pid = -1;
  int starts = 0;

  // Starts `tally --token tok-replica serve --data DIR/data --listen ADDRESS --config CONFIG`
  // plus `extra`; with `wait`, returns once an auditor can log in.
  void start(const std::string& config, std::vector<std::string> extra, bool wait = true) {
    ++starts;
    const std::string log_path = log_file();
    pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(log, 2);
      std::string bin = tally_binary();
      std::vector<std::string> args{bin,           "--token",  "tok-replica", "serve",    "--data",
                                    dir + "/data", "--listen", address,       "--config", config};
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(bin.c_str(), argv.data());
      ::_exit(127);
    }
    if (!wait) return;
    for (int i = 0; i < 1000; ++i) {
      if (Client::connect(options("tok-auditor", 1)).ok()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "tally serve did not come up: " << log();
  }
  ClientOptions options(const std::string& token, int attempts = 200) const {
    ClientOptions o;
    o.address = address;
    o.token = token;
    o.max_attempts = attempts;
    o.retry_delay_ms = 5;
    return o;
  }
  std::unique_ptr<Client> client(const std::string& token, int attempts = 200) const {
    auto c = Client::connect(options(token, attempts));
    EXPECT_TRUE(c.ok()) << "connect " << address;
    return c.ok() ? std::move(c.value()) : nullptr;
  }
  bool running() const { return pid > 0; }
  // Whether the process still runs (reaps it when it exited).
  bool alive() {
    if (pid <= 0) return false;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) != pid) return true;
    pid = -1;
    return false;
  }
  void stop_signal(int sig) const {
    if (pid > 0) ::kill(pid, sig);
  }
  void kill_nine() {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    pid = -1;
  }
  // The exit code (128 + signal when killed) once it exits within `seconds`; -1 if it did not.
  int wait_exit(int seconds) {
    for (int i = 0; i < seconds * 100; ++i) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
  // The log of the current (or last) start.
  std::string log() const {
    std::ifstream in(log_file());
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::string log_file() const { return dir + "/serve-" + std::to_string(starts) + ".log"; }
};

}  // namespace tally::testing
