// A settlement run on a live marketplace, through a real `tally serve` (SPEC section 6: "10^6
// payees with 10^7 matured holds in at most 15 s while posting continues; the longest posting
// batch during the run at most 1 s; server RSS under 256 MiB during and after"). Results and
// verdicts: docs/performance.md, "Settlement while posting".
//
//   build/release/bench/live_settle_bench                    # 10^4 payees, 10^5 holds
//   TALLY_BENCH_BIG=1 build/release/bench/live_settle_bench  # 10^6 payees, 10^7 holds
//
// On a fresh copy of the golden store (bench/golden_store.h) it starts the tally binary
// (TALLY_BIN, default build/release/cli/tally) as `tally serve --settle-chunk-payees C`
// (TALLY_SETTLE_CHUNK, default the server's default), waits for the server's check of the books
// at start to end (TALLY_LIVE_CHECK_WAIT_S, default 1800; its time and peak RssAnon are
// printed), and one client posts batches of 100 sales
// (to random payees, dated after the run's cut-off, as live traffic is) back to back, each call
// waiting for the last: first alone for TALLY_LIVE_IDLE_S seconds (default 10), then while a
// finance client runs the 2026-01-26 settlement, then alone again for TALLY_LIVE_AFTER_S
// seconds (default 10). Meanwhile the server's RssAnon is read every 100 ms.
//
// Prints, per phase (idle, during, after): batches, sales/s, batch latency p50 / p99 / max (ms,
// from sending the call to holding its results, which the server sends once durable), peak
// RssAnon (MiB); and the run's wall time, chunks, and the longest chunk the server logged.
// Integers and fixed-point text only.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "bench/golden_store.h"
#include "rpc/client.h"
#include "settlement/run.h"

namespace tally::bench {
namespace {

enum Phase { kIdle, kDuring, kAfter, kPhases, kWarm = kPhases };
const char* kPhaseNames[] = {"idle", "during", "after"};

struct Sample {
  Phase phase;
  uint64_t latency_us;
};

std::string ms(uint64_t us) {
  char b[32];
  std::snprintf(b, sizeof b, "%llu.%03llu", static_cast<unsigned long long>(us / 1000),
                static_cast<unsigned long long>(us % 1000));
  return b;
}

int run() {
  const uint64_t payees = payee_count(), holds = hold_count();
  const std::string golden = golden_store(payees, holds);
  const char* bin_env = std::getenv("TALLY_BIN");
  const std::string bin = bin_env ? bin_env : "build/release/cli/tally";
  if (::access(bin.c_str(), X_OK) != 0) die("no tally binary at " + bin + " (set TALLY_BIN)");
  const uint64_t chunk = env_u64("TALLY_SETTLE_CHUNK", 0);
  const uint64_t idle_s = env_u64("TALLY_LIVE_IDLE_S", 10),
                 after_s = env_u64("TALLY_LIVE_AFTER_S", 10);

  TempDir work;
  const std::string dir = fresh_copy(golden, work);
  std::ofstream(work.sub("config.toml")) << config_text();
  const std::string address = "unix:" + work.sub("tally.sock");
  const std::string log_path = work.sub("serve.log");
  pid_t pid = ::fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(log, 2);
    std::vector<std::string> args{bin,        "serve", "--data",   dir,
                                  "--listen", address, "--config", work.sub("config.toml")};
    if (chunk) args.insert(args.end(), {"--settle-chunk-payees", std::to_string(chunk)});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  auto connect = [&](const char* token) {
    ClientOptions o;
    o.address = address;
    o.token = token;
    o.max_attempts = 1;
    for (int i = 0; i < 1000; ++i) {
      auto c = Client::connect(o);
      if (c.ok()) return std::move(c.value());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    die("tally serve did not come up");
  };
  auto poster = connect("bench-poster");
  auto finance = connect("bench-finance");
  const std::string server_pid = std::to_string(pid);

  // The server checks the books at start, beside serving (docs/operations.md, "Checks at
  // start"): minutes on this store. The phases below measure a server past it; the check's own
  // time and memory are printed.
  double check_s = 0, check_rss_peak = 0;
  {
    const auto c0 = Clock::now();
    const uint64_t wait_s = env_u64("TALLY_LIVE_CHECK_WAIT_S", 1800);
    for (bool checked = false; !checked;) {
      check_rss_peak = std::max(check_rss_peak, rss_anon_mib(server_pid));
      std::ifstream in(log_path);
      for (std::string line; std::getline(in, line);)
        if (line.find("books verified at start") != std::string::npos)
          checked = true;
        else if (line.find("books fail verify at start") != std::string::npos)
          die("the server's check at start failed: " + line);
      if (seconds_since(c0) > static_cast<double>(wait_s))
        die("the server's check at start did not end in " + std::to_string(wait_s) + " s");
      if (!checked) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    check_s = seconds_since(c0);
  }
  std::atomic<int> phase{kIdle};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::vector<Sample> samples;
  double rss_peak[kPhases] = {0, 0, 0};
  std::string post_failure;
  std::thread post([&] {
    std::mt19937_64 rng(7);
    for (uint64_t b = 0; !stop.load(); ++b) {
      std::vector<PostItem> items;
      for (int i = 0; i < 100; ++i) {
        Event e;
        e.header.id = "live-" + std::to_string(b) + "-" + std::to_string(i);
        // After the cut-off of the run (2026-01-25T23:00Z): live sales, not due for it.
        e.header.at = TimeNs(1'770'000'000) * kNsPerSecond;  // 2026-02-02
        e.header.marketplace = "shop";
        uint64_t seller = rng() % payees, affiliate = (seller + 1 + rng() % (payees - 1)) % payees;
        e.body = SaleEvent{payee(seller), "25.00", "EUR", "product", payee(affiliate)};
        items.push_back(PostItem{std::move(e)});
      }
      Phase ph = static_cast<Phase>(phase.load());
      if (b < 10) ph = kWarm;  // the first batches warm the server's caches: not counted
      auto t0 = Clock::now();
      auto r = poster->post(std::move(items));
      uint64_t us = static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
      std::lock_guard lock(mu);
      if (!r.ok()) {
        post_failure = r.failed() ? r.failure().message : r.rejection().message;
        return;
      }
      for (auto& x : r->results)
        if (!x.ok()) post_failure = x.id + ": " + x.message;
      samples.push_back({ph, us});
    }
  });
  std::thread sampler([&] {
    while (!stop.load()) {
      double rss = rss_anon_mib(server_pid);
      {
        std::lock_guard lock(mu);
        double& peak = rss_peak[std::min(phase.load(), static_cast<int>(kAfter))];
        peak = std::max(peak, rss);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });

  std::this_thread::sleep_for(std::chrono::seconds(idle_s));
  phase.store(kDuring);
  auto t0 = Clock::now();
  auto run = finance->settle(SettleRequest{"shop", kPayDate, false});
  const double run_s = seconds_since(t0);
  phase.store(kAfter);
  if (!run.ok()) die("settle: " + (run.failed() ? run.failure().message : run.rejection().message));
  std::this_thread::sleep_for(std::chrono::seconds(after_s));
  stop.store(true);
  post.join();
  sampler.join();
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!post_failure.empty()) die("posting: " + post_failure);

  // The longest chunk the server logged ("... chunk 3/200: 5000 payees (0 decided again) in 81
  // ms").
  uint64_t chunk_max_ms = 0, redecided = 0;
  {
    std::ifstream in(log_path);
    for (std::string line; std::getline(in, line);) {
      auto in_at = line.find(" decided again) in ");
      if (line.find(": chunk ") == std::string::npos || in_at == std::string::npos) continue;
      chunk_max_ms =
          std::max<uint64_t>(chunk_max_ms, std::strtoull(line.c_str() + in_at + 19, nullptr, 10));
      auto open = line.rfind('(', in_at);
      redecided += std::strtoull(line.c_str() + open + 1, nullptr, 10);
    }
  }
  std::printf("payees %llu, holds %llu, chunk %s\n", static_cast<unsigned long long>(payees),
              static_cast<unsigned long long>(holds),
              chunk ? std::to_string(chunk).c_str() : "default");
  std::printf("check at start: %.1f s, RssAnon peak %.0f MiB\n", check_s, check_rss_peak);
  char run_text[64];
  std::snprintf(run_text, sizeof run_text, "%.2f", run_s);
  std::printf(
      "run: %s s, %llu chunks, %llu payees paid, longest chunk %llu ms, %llu payees "
      "decided again at commit\n",
      run_text, static_cast<unsigned long long>(run->chunks),
      static_cast<unsigned long long>(run->payouts.size()),
      static_cast<unsigned long long>(chunk_max_ms), static_cast<unsigned long long>(redecided));
  std::printf("%-7s %8s %10s %10s %10s %10s %14s\n", "phase", "batches", "sales/s", "p50_ms",
              "p99_ms", "max_ms", "rss_peak_mib");
  for (int p = 0; p < kPhases; ++p) {
    std::vector<uint64_t> l;
    for (const auto& s : samples)
      if (s.phase == p) l.push_back(s.latency_us);
    std::sort(l.begin(), l.end());
    auto at = [&](double q) { return l.empty() ? 0 : l[static_cast<size_t>(q * (l.size() - 1))]; };
    double secs = p == kIdle    ? static_cast<double>(idle_s)
                  : p == kAfter ? static_cast<double>(after_s)
                                : run_s;
    std::printf("%-7s %8zu %10llu %10s %10s %10s %14llu\n", kPhaseNames[p], l.size(),
                static_cast<unsigned long long>(static_cast<double>(l.size()) * 100 / secs),
                ms(at(0.5)).c_str(), ms(at(0.99)).c_str(), ms(l.empty() ? 0 : l.back()).c_str(),
                static_cast<unsigned long long>(rss_peak[p]));
  }
  return 0;
}

}  // namespace
}  // namespace tally::bench

int main() {
  return tally::bench::run();
}
