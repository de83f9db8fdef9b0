// The settlement benchmarks' books (bench/settle_bench.cpp, bench/live_settle_bench.cpp): one
// marketplace ("shop", EUR, 10% commission, 7% affiliate share, 2.9% + 0.25 fee borne by the
// seller, hold_from = sale, 14 days), N payees each with bank details, and M/2 sales made on
// 2026-01-05, each naming a seller and an affiliate among the payees: M holds, every one matured
// by the cut-off of the 2026-01-26 run. Every payee ends up with about M/N holds and enough to be
// paid. The store is built once, with durable=false and batches of 10000 events, and kept in
// $TALLY_BENCH_CACHE (default $TMPDIR/tally-bench-cache) as a golden copy.
//
// Sizes: TALLY_BENCH_BIG=1 for 10^6 payees and 10^7 holds (default 10^4 and 10^5), or
// TALLY_SETTLE_PAYEES / TALLY_SETTLE_HOLDS.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "ledger/ledger.h"
#include "settlement/config.h"

namespace tally::bench {

[[noreturn]] void die(const std::string& what);

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0);

uint64_t env_u64(const char* name, uint64_t dflt);
uint64_t payee_count();
uint64_t hold_count();

// The marketplace's config as TOML (with the tokens "bench-poster", "bench-finance" and
// "bench-auditor", for a server), and loaded.
const char* config_text();
const Config& config();
inline constexpr const char* kPayDate = "2026-01-26";
std::string payee(uint64_t i);  // "p0000042"

// Ledger options for the store in `dir`: the marketplace tables, a large map, and a clock after
// the pay date's cut-off.
LedgerOptions options(const std::string& dir, bool durable);
std::unique_ptr<Ledger> open_ledger(LedgerOptions o);

// The golden store for (payees, holds), built on first use; its directory.
std::string golden_store(uint64_t payees, uint64_t holds);

// A fresh directory, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  std::string sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};
// A copy of the golden store's data file in work/d; its directory.
std::string fresh_copy(const std::filesystem::path& golden, const TempDir& work);

// RssAnon of a process in MiB (/proc/PID/status; "self" for this one).
double rss_anon_mib(const std::string& pid = "self");

}  // namespace tally::bench
