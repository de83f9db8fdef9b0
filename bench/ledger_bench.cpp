// Ledger benchmarks for SPEC section 6 (results and verdicts: docs/performance.md).
//
// Commands (docs/performance.md has them with their figures):
//   build/release/bench/ledger_bench --benchmark_filter='PostVsRaw|SalesVsRaw'
//   TALLY_BENCH_BIG=1 build/release/bench/ledger_bench --benchmark_filter='AsOf|Restart'
//
// - BM_PostVsRawLmdb/B/P: durable posting through the writer (submit_and_wait of a batch of B
//   entries of P postings: one LMDB write transaction, default sync) interleaved, iteration by
//   iteration, with a raw LMDB loop doing exactly the puts the ledger does per commit (counted
//   from ledger/ledger.cpp: per entry the entry record, the id index and, per posting, one posting
//   record and one book update; per transaction 5 meta records, last_commit_ns and one commits
//   record), with the same key and value sizes, into its own store on the same filesystem
//   (bench/raw_lmdb_store.h).
//   Counters: ledger and raw entries/s and their ratio (target: ledger >= 50% of raw).
// - BM_SalesVsRawLmdb: durable sale events (Rules::event_op, 6 postings each: seller and
//   affiliate pending, fee borne by the seller) in batches of 1000, interleaved with a raw loop
//   doing the 18 puts a sale does (14 of its entry, 2 holds, the sale record, the marketplace
//   version) + 7 per transaction. The in-process rate compared with PostgreSQL
//   in bench/pg_baseline/.
// - BM_BalanceAsOf/N: Snapshot::balance(account, currency, as_of) on a store of N postings
//   (random account of 1000, random as_of between the first and last commit), page cache warm.
//   N = 10^5 by default; 10^6 and 10^7 with TALLY_BENCH_BIG=1. Stores are built once with
//   durable=false and kept in $TALLY_BENCH_CACHE (default $TMPDIR/tally-bench-cache).
//   BM_BalanceAsOfOneAccount: the same with one account (its pages stay in the CPU caches), a
//   diagnostic that separates the seeks from the cache misses. Counter postings_depth: the depth
//   of the postings B-tree (mdb_stat), the number of pages the seek touches.
// - BM_Restart/E/cold: a child process posts durably to a store of E entries and is killed with
//   SIGKILL mid-stream; then Ledger::open + snapshot + the first balance read are timed (cold=1:
//   the store's pages are first evicted from the page cache with posix_fadvise). Counter
//   first_post_ms: the first durable single-entry post after the restart. E = 10^5 by default;
//   10^6 and 10^7 with TALLY_BENCH_BIG=1.
//
// Temporary stores go to $TMPDIR (default /tmp: the same filesystem as the repository here).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/raw_lmdb_store.h"
#include "ledger/ledger.h"
#include "settlement/config.h"
#include "settlement/example_shop.h"
#include "settlement/rules.h"
#include "settlement/tables.h"

namespace {

using namespace tally;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using bench::RawStore;

// --- helpers ----------------------------------------------------------------------------------

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "ledger_bench: %s\n", what.c_str());
  std::abort();
}

bool big() {
  const char* v = std::getenv("TALLY_BENCH_BIG");
  return v && std::string_view(v) == "1";
}

fs::path cache_root() {
  if (const char* v = std::getenv("TALLY_BENCH_CACHE")) return v;
  return fs::temp_directory_path() / "tally-bench-cache";
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "tally-bench-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) die("mkdtemp");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

// prefix + decimal n. (Not `"o" + std::to_string(n)`: g++ 12 -O2 gives a false -Wrestrict
// warning on it, which -Werror turns into an error.)
std::string tag(const char* prefix, uint64_t n) {
  char b[48];
  std::snprintf(b, sizeof b, "%s%llu", prefix, static_cast<unsigned long long>(n));
  return b;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

const Currency& usd() {
  static const Currency c = *CurrencyTable().find("USD");
  return c;
}

std::unique_ptr<Ledger> open_ledger(LedgerOptions o) {
  std::unique_ptr<Ledger> l;
  Status s = Ledger::open(std::move(o), &l);
  if (!s.ok()) die("open: " + s.message());
  return l;
}

void expect_ok(const std::vector<ItemResult>& rs) {
  for (const auto& r : rs)
    if (!r.ok()) die("item " + r.id + ": " + r.message);
}

// The ledger benchmarks' chart: kAccounts asset accounts in USD.
constexpr int kAccounts = 1000;
std::string account_name(int i) {
  char b[32];
  std::snprintf(b, sizeof b, "bench:acct:%04d", i);
  return b;
}
void open_accounts(Ledger& l) {
  Batch b;
  for (int i = 0; i < kAccounts; ++i)
    b.push_back(make_open_account(Account{account_name(i), AccountKind::asset, 0, {usd()}}));
  expect_ok(l.submit_and_wait(std::move(b)));
}

std::string entry_id(uint64_t n) {
  char b[32];
  std::snprintf(b, sizeof b, "e%012llu", static_cast<unsigned long long>(n));
  return b;
}
constexpr std::string_view kKind = "transfer";

// Entry n: P postings on distinct accounts, one debit balancing P-1 credits.
Entry make_entry(uint64_t n, int postings, TimeNs at) {
  Entry e;
  e.id = entry_id(n);
  e.at = at;
  e.kind = std::string(kKind);
  const i128 unit = 100 + static_cast<i128>(n % 9900);
  int first = static_cast<int>((n * static_cast<uint64_t>(postings)) % kAccounts);
  e.postings.push_back({account_name(first), usd(), Side::debit,
                        Amount::from_minor(unit * static_cast<i128>(postings - 1))});
  for (int j = 1; j < postings; ++j)
    e.postings.push_back(
        {account_name((first + j) % kAccounts), usd(), Side::credit, Amount::from_minor(unit)});
  return e;
}

const TimeNs kAt = TimeNs(1'767'607'200) * kNsPerSecond;  // 2026-01-05T10:00:00Z

// --- BM_PostVsRawLmdb
// -----------------------------------------------------------------------------

void BM_PostVsRawLmdb(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const int postings = static_cast<int>(state.range(1));
  TempDir tmp;
  LedgerOptions o;
  o.dir = tmp.sub("ledger");
  auto ledger = open_ledger(o);
  open_accounts(*ledger);
  RawStore raw(tmp.sub("raw"), kAccounts, kKind);
  uint64_t n = 0, raw_n = 0;
  double ledger_s = 0, raw_s = 0;
  uint64_t commits0 = ledger->commits();
  bool raw_first = false;
  for (auto _ : state) {
    Batch b;
    b.reserve(static_cast<size_t>(batch));
    for (int i = 0; i < batch; ++i) b.push_back(make_post_entry(make_entry(++n, postings, kAt)));
    std::vector<std::string> ids;
    ids.reserve(static_cast<size_t>(batch));
    for (int i = 0; i < batch; ++i) ids.push_back(entry_id(++raw_n));
    auto run_raw = [&] {
      auto t0 = Clock::now();
      MDB_txn* t = raw.begin();
      for (int i = 0; i < batch; ++i) raw.entry_puts(t, ids[static_cast<size_t>(i)], postings);
      raw.meta_and_commit(t);
      raw_s += seconds_since(t0);
    };
    if (raw_first) run_raw();
    auto t0 = Clock::now();
    auto rs = ledger->submit_and_wait(std::move(b));
    double dt = seconds_since(t0);
    ledger_s += dt;
    if (!raw_first) run_raw();
    raw_first = !raw_first;
    expect_ok(rs);
    state.SetIterationTime(dt);
  }
  if (ledger->commits() - commits0 != static_cast<uint64_t>(state.iterations()))
    die("expected one commit per batch");
  const double entries = static_cast<double>(state.iterations()) * batch;
  state.counters["ledger_entries/s"] = entries / ledger_s;
  state.counters["raw_entries/s"] = entries / raw_s;
  state.counters["ratio_ledger_raw"] = raw_s / ledger_s;
  state.counters["puts/commit"] = raw.puts_per_commit();
}
BENCHMARK(BM_PostVsRawLmdb)
    ->ArgNames({"batch", "postings"})
    ->ArgsProduct({{1, 10, 100, 1000, 8000}, {2, 4}})
    ->UseManualTime()
    ->MinTime(1.0)
    ->Unit(benchmark::kMillisecond);

// --- BM_SalesVsRawLmdb -------------------------------------------------------------------------

const std::string kShopConfig = example_shop_toml({.hold_from = "sale"});

constexpr int kSellers = 10000, kAffiliates = 1000;
std::string seller_name(uint64_t i) {
  return tag("s", i % kSellers);
}
std::string affiliate_name(uint64_t i) {
  return tag("a", i % kAffiliates);
}
std::string sale_amount(uint64_t i) {
  return format_amount(Amount::from_minor(1000 + static_cast<i128>((i * 7919) % 49000)), 2);
}
Event sale_event(uint64_t i) {
  return Event{EventHeader{tag("o", i), kAt, "shop", {}},
               SaleEvent{seller_name(i), sale_amount(i), "EUR", "product", affiliate_name(i * 31)}};
}

void BM_SalesVsRawLmdb(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  auto config = load_config(kShopConfig, CurrencyTable());
  if (!config.ok()) die("config: " + config.error().message);
  TempDir tmp;
  LedgerOptions o;
  o.dir = tmp.sub("ledger");
  o.extra_tables = tables::all();
  auto ledger = open_ledger(o);
  Rules rules(*config, *ledger);
  RawStore raw(tmp.sub("raw"), kAccounts, kKind);
  // Warm-up, not timed: every seller's and affiliate's accounts opened (first use opens them).
  uint64_t n = 0;
  while (n < kSellers) {
    Batch b;
    for (int i = 0; i < 5000; ++i) b.push_back(rules.event_op(sale_event(n++)));
    expect_ok(ledger->submit_and_wait(std::move(b)));
  }
  uint64_t raw_n = n;
  double ledger_s = 0, raw_s = 0;
  bool raw_first = false;
  for (auto _ : state) {
    Batch b;
    b.reserve(static_cast<size_t>(batch));
    for (int i = 0; i < batch; ++i) b.push_back(rules.event_op(sale_event(n++)));
    auto run_raw = [&] {
      std::vector<std::string> ids, sellers, affiliates;
      for (int i = 0; i < batch; ++i, ++raw_n) {
        ids.push_back(tag("o", raw_n));
        sellers.push_back(seller_name(raw_n));
        affiliates.push_back(affiliate_name(raw_n * 31));
      }
      auto t0 = Clock::now();
      MDB_txn* t = raw.begin();
      for (size_t i = 0; i < ids.size(); ++i) {
        raw.entry_puts(t, ids[i], 6);
        raw.sale_extra_puts(t, ids[i], sellers[i], affiliates[i]);
      }
      raw.meta_and_commit(t);
      raw_s += seconds_since(t0);
    };
    if (raw_first) run_raw();
    auto t0 = Clock::now();
    auto rs = ledger->submit_and_wait(std::move(b));
    double dt = seconds_since(t0);
    ledger_s += dt;
    if (!raw_first) run_raw();
    raw_first = !raw_first;
    expect_ok(rs);
    state.SetIterationTime(dt);
  }
  const double sales = static_cast<double>(state.iterations()) * batch;
  state.counters["ledger_sales/s"] = sales / ledger_s;
  state.counters["raw_sales/s"] = sales / raw_s;
  state.counters["ratio_ledger_raw"] = raw_s / ledger_s;
  state.counters["puts/commit"] = raw.puts_per_commit();
}
BENCHMARK(BM_SalesVsRawLmdb)
    ->ArgNames({"batch"})
    ->Arg(1000)
    ->UseManualTime()
    ->MinTime(2.0)
    ->Unit(benchmark::kMillisecond);

// --- cached stores for as-of and restart -------------------------------------------------------

// A store of `entries` 2-posting entries over kAccounts accounts, built once with durable=false in
// batches of 5000 entries (about one commit each) and kept in the cache directory.
std::string cached_store(const std::string& name, uint64_t entries) {
  fs::path dir = cache_root() / name;
  fs::path done = dir / "complete";
  if (fs::exists(done)) return dir.string();
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  uint64_t commits = 0;
  auto t0 = Clock::now();
  std::fprintf(stderr, "building %s (%llu entries)...\n", dir.c_str(),
               static_cast<unsigned long long>(entries));
  {
    LedgerOptions o;
    o.dir = dir.string();
    o.durable = false;
    auto ledger = open_ledger(o);
    open_accounts(*ledger);
    // Two batches in flight: the next one is built while the writer applies this one.
    std::mutex mu;
    std::condition_variable cv;
    int in_flight = 0;
    std::atomic<bool> failed{false};
    constexpr uint64_t kBatch = 5000;
    for (uint64_t n = 0; n < entries;) {
      Batch b;
      for (uint64_t i = 0; i < kBatch && n < entries; ++i)
        b.push_back(make_post_entry(make_entry(++n, 2, kAt)));
      std::unique_lock lk(mu);
      cv.wait(lk, [&] { return in_flight < 2; });
      ++in_flight;
      lk.unlock();
      ledger->submit(std::move(b), [&](std::vector<ItemResult> rs) {
        for (auto& r : rs)
          if (!r.ok()) failed = true;
        std::lock_guard g(mu);
        --in_flight;
        cv.notify_all();
      });
    }
    std::unique_lock lk(mu);
    cv.wait(lk, [&] { return in_flight == 0; });
    if (failed) die("building " + dir.string());
    commits = ledger->commits();
  }
  std::ofstream(done) << entries << " " << commits << "\n";
  std::fprintf(stderr, "built %s in %.1f s\n", dir.c_str(), seconds_since(t0));
  return dir.string();
}

// Write transactions that built a cached store (the size of its commits index).
uint64_t store_commits(const std::string& dir) {
  uint64_t entries = 0, commits = 0;
  std::ifstream(fs::path(dir) / "complete") >> entries >> commits;
  return commits;
}

// --- BM_BalanceAsOf -----------------------------------------------------------------------------

// The depth of table `name`'s B-tree in the store at `dir`: the pages a seek in it touches. Read
// through a read-only environment of its own, so call it with no Ledger open on `dir` (LMDB
// forbids opening one store twice in a process).
double table_depth(const std::string& dir, const char* name) {
  MDB_env* env = nullptr;
  MDB_txn* t = nullptr;
  MDB_dbi dbi;
  MDB_stat st;
  if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 64) ||
      mdb_env_open(env, dir.c_str(), MDB_RDONLY, 0644) ||
      mdb_txn_begin(env, nullptr, MDB_RDONLY, &t) || mdb_dbi_open(t, name, 0, &dbi) ||
      mdb_stat(t, dbi, &st))
    die("mdb_stat " + dir + " " + name);
  mdb_txn_abort(t);
  mdb_env_close(env);
  return static_cast<double>(st.ms_depth);
}

void BM_BalanceAsOf(benchmark::State& state) {
  const uint64_t postings = static_cast<uint64_t>(state.range(0));
  std::string dir = cached_store("asof-" + std::to_string(postings), postings / 2);
  const double depth = table_depth(dir, "postings");
  LedgerOptions o;
  o.dir = dir;
  auto ledger = open_ledger(o);
  auto snap = ledger->snapshot();
  const TimeNs first = snap->entry_at(1)->commit_ns, last = snap->last_commit_ns();
  if (snap->last_seq() < postings / 2) die("store " + dir + " is short");
  std::mt19937_64 rng(42);
  std::vector<std::pair<std::string, TimeNs>> queries(1 << 16);
  for (auto& [a, t] : queries) {
    a = account_name(static_cast<int>(rng() % kAccounts));
    t = first + static_cast<TimeNs>(rng() % static_cast<uint64_t>(last - first + 1));
  }
  // Warm the page cache: this measures the seeks, not the disk.
  for (auto& [a, t] : queries) benchmark::DoNotOptimize(snap->balance(a, "USD", t));
  size_t i = 0;
  for (auto _ : state) {
    auto& [a, t] = queries[i++ & (queries.size() - 1)];
    auto b = snap->balance(a, "USD", t);
    benchmark::DoNotOptimize(b);
  }
  state.counters["postings"] = static_cast<double>(postings);
  state.counters["commits"] = static_cast<double>(store_commits(dir));
  state.counters["postings_depth"] = depth;
}

// Diagnostic: the same seeks with the working set one account's postings (random as_of), so the
// pages stay in the CPU caches: tells the cost of the seeks from the cost of cache misses.
void BM_BalanceAsOfOneAccount(benchmark::State& state) {
  const uint64_t postings = static_cast<uint64_t>(state.range(0));
  std::string dir = cached_store("asof-" + std::to_string(postings), postings / 2);
  LedgerOptions o;
  o.dir = dir;
  auto ledger = open_ledger(o);
  auto snap = ledger->snapshot();
  const TimeNs first = snap->entry_at(1)->commit_ns, last = snap->last_commit_ns();
  std::mt19937_64 rng(7);
  std::vector<TimeNs> times(1 << 16);
  for (auto& t : times)
    t = first + static_cast<TimeNs>(rng() % static_cast<uint64_t>(last - first + 1));
  const std::string account = account_name(7);
  for (TimeNs t : times) benchmark::DoNotOptimize(snap->balance(account, "USD", t));
  size_t i = 0;
  for (auto _ : state) {
    auto b = snap->balance(account, "USD", times[i++ & (times.size() - 1)]);
    benchmark::DoNotOptimize(b);
  }
  state.counters["postings"] = static_cast<double>(postings);
}

void AsOfArgs(benchmark::internal::Benchmark* b) {
  b->ArgName("postings")->Arg(100'000);
  if (big()) b->Arg(1'000'000)->Arg(10'000'000);
}
BENCHMARK(BM_BalanceAsOf)->Apply(AsOfArgs)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_BalanceAsOfOneAccount)->Apply(AsOfArgs)->Unit(benchmark::kNanosecond);

// --- BM_Restart ----------------------------------------------------------------------------------

// A child posts durable single-entry batches to `dir` until killed.
pid_t start_poster(const std::string& dir, uint64_t first_id) {
  int fds[2];
  if (pipe(fds) != 0) die("pipe");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    close(fds[0]);
    LedgerOptions o;
    o.dir = dir;
    std::unique_ptr<Ledger> l;
    if (!Ledger::open(o, &l).ok()) _exit(2);
    for (uint64_t n = first_id;; ++n) {
      Batch b;
      b.push_back(make_post_entry(make_entry(n, 2, kAt)));
      if (!l->submit_and_wait(std::move(b))[0].ok()) _exit(3);
      if (n == first_id + 20) {
        char c = 1;
        if (write(fds[1], &c, 1) != 1) _exit(4);
      }
    }
  }
  close(fds[1]);
  char c;
  if (read(fds[0], &c, 1) != 1) die("poster child failed");
  close(fds[0]);
  return pid;
}

void evict(const std::string& dir) {
  for (const char* f : {"data.mdb", "lock.mdb"}) {
    int fd = ::open((dir + "/" + f).c_str(), O_RDONLY);
    if (fd < 0) continue;
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

void BM_Restart(benchmark::State& state) {
  const uint64_t entries = static_cast<uint64_t>(state.range(0));
  const bool cold = state.range(1) != 0;
  std::string dir = cached_store("entries-" + std::to_string(entries), entries);
  uint64_t next_id = 0;
  {
    LedgerOptions o;
    o.dir = dir;
    next_id = open_ledger(o)->snapshot()->last_seq() + 1'000'000'000ull;
  }
  double first_post_s = 0;
  uint64_t seq = 0;
  for (auto _ : state) {
    pid_t pid = start_poster(dir, next_id);
    next_id += 100'000;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    if (cold) evict(dir);
    auto t0 = Clock::now();
    LedgerOptions o;
    o.dir = dir;
    auto ledger = open_ledger(o);
    auto snap = ledger->snapshot();
    auto bal = snap->balance(account_name(7), "USD");
    double dt = seconds_since(t0);
    if (!bal.ok()) die("balance after restart");
    seq = snap->last_seq();
    snap.reset();
    auto t1 = Clock::now();
    Batch b;
    b.push_back(make_post_entry(make_entry(next_id++, 2, kAt)));
    expect_ok(ledger->submit_and_wait(std::move(b)));
    first_post_s += seconds_since(t1);
    ledger.reset();
    state.SetIterationTime(dt);
  }
  state.counters["entries"] = static_cast<double>(seq);
  state.counters["first_post_ms"] = 1e3 * first_post_s / static_cast<double>(state.iterations());
}

void RestartArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"entries", "cold"});
  std::vector<int64_t> sizes = {100'000};
  if (big()) sizes = {1'000'000, 10'000'000};
  for (int64_t n : sizes) b->Args({n, 0})->Args({n, 1});
}
BENCHMARK(BM_Restart)
    ->Apply(RestartArgs)
    ->UseManualTime()
    ->Iterations(10)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
