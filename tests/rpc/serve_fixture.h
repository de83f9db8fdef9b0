// What the RPC tests share: the `shop` marketplace and tokens they serve, terse item builders,
// and ServeProcessTest, which runs the real `tally serve` binary as a child process (to kill it
// with SIGKILL or SIGTERM).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "common/test_util.h"
#include "rpc/client.h"
#include "service/service.h"
#include "settlement/example_shop.h"

namespace tally::testing {

inline const std::string kConfig = example_shop_toml({.hold_from = "sale"}) + R"toml(
[tokens]
"tok-poster" = ["poster"]
"tok-auditor" = ["auditor"]
"tok-finance" = ["finance"]
"tok-finaud" = ["finance", "auditor"]
)toml";

inline Config test_config() {
  CurrencyTable t;
  auto c = load_config(kConfig, t);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return *c;
}

inline PostItem open_item(std::string name, AccountKind kind, std::vector<std::string> codes,
                          uint8_t flags = 0) {
  return PostItem{OpenItem{account(std::move(name), kind, std::move(codes), flags)}};
}
inline PostItem entry_item(std::string id, std::string amount = "1.00") {
  return PostItem{entry(std::move(id), {debit("ops:bank", amount), credit("ops:wallet", amount)})};
}
inline PostItem sale_item(std::string id, std::string seller, std::string amount) {
  Event e;
  e.header.id = std::move(id);
  e.header.at = 1'767'607'200'000'000'000;  // 2026-01-05T10:00:00Z
  e.header.marketplace = "shop";
  e.body = SaleEvent{std::move(seller), std::move(amount), "EUR", "product", std::nullopt};
  return PostItem{std::move(e)};
}
inline PostItem details_item(std::string id, std::string payee) {
  Event e;
  e.header.id = std::move(id);
  e.header.at = 1'767'607'200'000'000'000;
  e.header.marketplace = "shop";
  e.body =
      PayeeDetailsEvent{std::move(payee), "Paula", "FR7630006000011234567890189", "AGRIFRPPXXX"};
  return PostItem{std::move(e)};
}

// An account's balance in one currency through RPC; nullopt when the query is refused (an
// account not yet opened, say).
inline std::optional<Amount> rpc_balance(Client& c, const std::string& account,
                                         const std::string& code) {
  auto r = c.balance(BalanceQuery{account, code, std::nullopt});
  if (!r.ok() || r->balances.size() != 1) return std::nullopt;
  return r->balances[0].balance;
}

// The `tally` binary this build made (the test target depends on it).
inline std::string tally_binary() {
  return std::string(TALLY_BINARY_DIR) + "/cli/tally";
}

// Runs the tally binary with `args` (each quoted for the shell; none may hold a quote); its exit
// code, and its stdout and stderr in *out (through the file `scratch`).
inline int run_tally(const std::vector<std::string>& args, std::string* out,
                     const std::string& scratch) {
  std::string cmd = tally_binary();
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " >" + scratch + " 2>&1";
  int status = std::system(cmd.c_str());
  std::ifstream in(scratch);
  *out = std::string(std::istreambuf_iterator<char>(in), {});
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

class ServeProcessTest : public ::testing::Test {
 protected:
  // The server's config file; a test may serve another.
  virtual std::string config_text() const { return kConfig; }

  void SetUp() override {
    if (::access(tally_binary().c_str(), X_OK) != 0)
      FAIL() << "no tally binary at " << tally_binary() << " (the test target depends on it)";
    std::ofstream(dir_.sub("config.toml")) << config_text();
    address_ = "unix:" + dir_.sub("tally.sock");
  }
  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  void spawn() {
    pid_ = ::fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      // The server's log, kept for the test to read (serve_log()).
      int log = ::open(dir_.sub("serve.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(log, 2);
      std::string bin = tally_binary(), data = dir_.sub("data"), cfg = dir_.sub("config.toml");
      std::vector<std::string> args{bin,        "serve",  "--data",   data,
                                    "--listen", address_, "--config", cfg};
      args.insert(args.end(), serve_args_.begin(), serve_args_.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(bin.c_str(), argv.data());
      ::_exit(127);
    }
    // Ready when a login succeeds. The bound is generous: a restart after kill -9 under ASan,
    // beside other tests' servers on two cores, has taken more than 5 s. A server that exits
    // fails at once, with its log.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      ClientOptions o;
      o.address = address_;
      o.token = "tok-poster";
      o.max_attempts = 1;
      if (Client::connect(o).ok()) return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL() << "tally serve exited (status " << status << ") before serving:\n"
               << serve_log_tail();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "tally serve did not come up in 120 s:\n" << serve_log_tail();
  }
  // A client's options for the spawned server: retrying (across restarts) unless told otherwise.
  ClientOptions options(const std::string& token, int max_attempts = 200) const {
    ClientOptions o;
    o.address = address_;
    o.token = token;
    o.max_attempts = max_attempts;
    o.retry_delay_ms = 5;
    return o;
  }
  void kill_nine() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // Everything the spawned servers wrote to stderr so far.
  std::string serve_log() const {
    std::ifstream in(dir_.sub("serve.log"));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  // Its last 4 KiB (for failure messages).
  std::string serve_log_tail() const {
    std::string log = serve_log();
    return log.size() > 4096 ? log.substr(log.size() - 4096) : log;
  }
  int terminate() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  TempDir dir_;
  std::string address_;
  std::vector<std::string> serve_args_;  // more `tally serve` options
  pid_t pid_ = -1;
};

}  // namespace tally::testing
