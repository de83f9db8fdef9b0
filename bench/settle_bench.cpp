// Settlement benchmarks for SPEC section 6: "10^6 payees with 10^7 matured holds in under 10 s;
// 2 threads at least 1.7x one" (results and verdicts: docs/performance.md).
//
// Commands (docs/performance.md has them with their figures):
//   build/release/bench/settle_bench                    # 10^4 payees, 10^5 holds
//   TALLY_BENCH_BIG=1 build/release/bench/settle_bench  # 10^6 payees, 10^7 holds
//   TALLY_SETTLE_PAYEES=100000 TALLY_SETTLE_HOLDS=1000000 build/release/bench/settle_bench
//
// The books: one marketplace ("shop", EUR, 10% commission, 7% affiliate share, 2.9% + 0.25 fee
// borne by the seller, hold_from = sale, 14 days), N payees each with bank details, and M/2 sales
// made on 2026-01-05, each naming a seller and an affiliate among the payees: M holds, every one
// matured by the cut-off of the 2026-01-26 run (the ledger's clock is set after it). Every payee
// ends up with about M/N holds and enough to be paid. The store is built once, with
// durable=false and batches of 10000 events, and kept in $TALLY_BENCH_CACHE (default
// $TMPDIR/tally-bench-cache) as a golden copy.
//
// - BM_SettleDryRun/threads:T: Settlement::settle(dry_run) with T threads on the open golden
//   store: the planning, where the parallelism is. Each benchmark warms with one untimed run.
//   threads:2 runs before threads:1 on purpose. Planning allocates heavily, and its cost depends
//   on the heap the process's earlier runs left behind: a 2-thread run after 1-thread runs in
//   the same process needs ~30% less CPU and no page faults (0.28 s instead of 0.55 s at 10^5
//   payees), which made "1 then 2" report 2.3-2.9x speedups. A 1-thread run after 2-thread runs
//   costs what it costs in a process of its own, so "2 then 1" compares like with like (as do
//   separate processes, alternated: docs/performance.md).
// - BM_SettleRun/threads:T: the real run (durable, one fsync) on a fresh copy of the golden
//   store; the copy and open are not timed.
// - BM_SettleRawFloor/chunk:C: plain LMDB doing only the writes of the real run's commit, on a
//   fresh copy (the floor under the commit; its comment below says what it leaves out).
// Counters: wall_s per run, and user_s / sys_s, the CPU time of the whole process per run.
//   TALLY_SETTLE_NOSYNC=1 runs it with durable=false, to tell the fsync from the rest.
#include <benchmark/benchmark.h>
#include <tbb/global_control.h>

#include <lmdb.h>
#include <malloc.h>
#include <sys/resource.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ledger/codec.h"
#include "ledger/ledger.h"
#include "ledger/store_records.h"
#include "settlement/config.h"
#include "settlement/rules.h"
#include "settlement/run.h"
#include "settlement/tables.h"

namespace {

using namespace tally;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "settle_bench: %s\n", what.c_str());
  std::abort();
}

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

// CPU time of the whole process (every thread), user and system, in seconds.
struct Cpu {
  double user = 0, sys = 0;
  static Cpu now() {
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    auto s = [](const timeval& tv) {
      return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
    };
    return Cpu{s(ru.ru_utime), s(ru.ru_stime)};
  }
  Cpu operator-(const Cpu& o) const { return Cpu{user - o.user, sys - o.sys}; }
  Cpu& operator+=(const Cpu& o) {
    user += o.user, sys += o.sys;
    return *this;
  }
};

uint64_t env_u64(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : dflt;
}
bool big() {
  const char* v = std::getenv("TALLY_BENCH_BIG");
  return v && std::string_view(v) == "1";
}
uint64_t payee_count() {
  return env_u64("TALLY_SETTLE_PAYEES", big() ? 1'000'000 : 10'000);
}
uint64_t hold_count() {
  return env_u64("TALLY_SETTLE_HOLDS", big() ? 10'000'000 : 100'000);
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

constexpr const char* kConfig = R"toml(
[marketplaces.shop]
currencies = ["EUR"]
timezone = "Europe/Paris"
rounding = "half_even"
commission_rate = { product = "10%", service = "20%" }
affiliate_rate = "7%"
fee_rate = "2.9%"
fee_fixed = "0.25"
fee_payer = "payee"
hold_days = 14
hold_from = "sale"
schedule = { every_days = 7, anchor = "2026-01-05" }
minimum_payout = "10.00"
holidays = []
payout_account = { name = "Shop SAS", iban = "FR7630006000011234567890189", bic = "AGRIFRPPXXX" }
)toml";
constexpr const char* kIban = "FR7630006000011234567890189";
constexpr const char* kPayDate = "2026-01-26";
const TimeNs kJan5 = TimeNs(1'767'607'200) * kNsPerSecond;   // 2026-01-05T10:00:00Z
const TimeNs kClock = TimeNs(1'780'000'000) * kNsPerSecond;  // 2026-05-28

const Config& config() {
  static const Config c = [] {
    auto c = load_config(kConfig, CurrencyTable());
    if (!c.ok()) die("config: " + c.error().message);
    return std::move(*c);
  }();
  return c;
}

std::string payee(uint64_t i) {
  char b[32];
  std::snprintf(b, sizeof b, "p%07llu", static_cast<unsigned long long>(i));
  return b;
}

LedgerOptions options(const std::string& dir, bool durable) {
  LedgerOptions o;
  o.dir = dir;
  o.durable = durable;
  // A map large enough up front (address space only): a run rewrites a large part of the store
  // in one transaction, and growing the map during a run fails (docs/performance.md).
  o.map_size_bytes = size_t(1) << 36;
  o.extra_tables = tables::all();
  o.clock = [] { return kClock; };
  return o;
}

std::unique_ptr<Ledger> open_ledger(LedgerOptions o) {
  std::unique_ptr<Ledger> l;
  Status s = Ledger::open(std::move(o), &l);
  if (!s.ok()) die("open: " + s.message());
  return l;
}

// Submits batches with two in flight: the next batch is built while the writer applies one.
class Pipeline {
 public:
  explicit Pipeline(Ledger& l) : l_(l) {}
  void submit(Batch b) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return in_flight_ < 2; });
    ++in_flight_;
    lk.unlock();
    l_.submit(std::move(b), [this](std::vector<ItemResult> rs) {
      std::lock_guard g(mu_);
      for (auto& r : rs)
        if (!r.ok() && error_.empty()) error_ = r.id + ": " + r.message;
      --in_flight_;
      cv_.notify_all();
    });
  }
  void drain() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return in_flight_ == 0; });
    if (!error_.empty()) die("setup: " + error_);
  }

 private:
  Ledger& l_;
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
  std::string error_;
};

// The golden store for (payees, holds), built once.
std::string golden_store(uint64_t payees, uint64_t holds) {
  fs::path dir = cache_root() / ("settle-" + std::to_string(payees) + "-" + std::to_string(holds));
  fs::path done = dir / "complete";
  if (fs::exists(done)) return dir.string();
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  std::fprintf(stderr, "building %s (%llu payees, %llu holds)...\n", dir.c_str(),
               static_cast<unsigned long long>(payees), static_cast<unsigned long long>(holds));
  auto t0 = Clock::now();
  {
    auto ledger = open_ledger(options(dir.string(), false));
    Rules rules(config(), *ledger);
    Pipeline pipe(*ledger);
    constexpr uint64_t kBatch = 10000;
    Batch b;
    auto flush = [&](bool force) {
      if (b.size() >= kBatch || (force && !b.empty())) {
        pipe.submit(std::move(b));
        b = Batch();
      }
    };
    for (uint64_t p = 0; p < payees; ++p) {
      b.push_back(rules.event_op(
          Event{EventHeader{"pd-" + payee(p), kJan5 - kNsPerDay, "shop", {}},
                PayeeDetailsEvent{payee(p), "Payee " + payee(p), kIban, "AGRIFRPPXXX"}}));
      flush(false);
    }
    flush(true);
    const uint64_t sales = holds / 2;
    for (uint64_t i = 0; i < sales; ++i) {
      uint64_t seller = i % payees;
      uint64_t affiliate = (seller + 1 + (i / payees) % (payees - 1)) % payees;
      i128 cents = 2000 + static_cast<i128>((i * 7919) % 50000);
      b.push_back(rules.event_op(Event{
          EventHeader{
              tag("o", i), kJan5 + static_cast<TimeNs>(i % 5) * 3600 * kNsPerSecond, "shop", {}},
          SaleEvent{payee(seller), format_amount(Amount::from_minor(cents), 2), "EUR", "product",
                    payee(affiliate)}}));
      flush(false);
      if (i % 1'000'000 == 999'999)
        std::fprintf(stderr, "  %llu sales, %.0f s\n", static_cast<unsigned long long>(i + 1),
                     seconds_since(t0));
    }
    flush(true);
    pipe.drain();
  }
  std::ofstream(done) << payees << " " << holds << "\n";
  std::fprintf(stderr, "built %s in %.1f s (%llu MiB)\n", dir.c_str(), seconds_since(t0),
               static_cast<unsigned long long>(fs::file_size(dir / "data.mdb") >> 20));
  return dir.string();
}

struct Books {
  std::unique_ptr<Ledger> ledger;
  std::unique_ptr<Rules> rules;
  std::unique_ptr<Settlement> settlement;
  explicit Books(LedgerOptions o)
      : ledger(open_ledger(std::move(o))),
        rules(std::make_unique<Rules>(config(), *ledger)),
        settlement(std::make_unique<Settlement>(*rules)) {}
};

SettlementRun settle(Settlement& s, bool dry, int threads) {
  SettleOptions o;
  o.dry_run = dry;
  o.threads = threads;
  auto r = s.settle("shop", kPayDate, o);
  if (!r.ok()) die("settle: " + r.error().message);
  if (r->replayed) die("settle: the run was already committed");
  return std::move(*r);
}

void check_run(const SettlementRun& r, uint64_t payees, uint64_t holds) {
  // Every payee has matured holds and, with these amounts, is paid.
  if (r.released.size() != payees || r.payouts.size() != payees)
    die("run released " + std::to_string(r.released.size()) + " and paid " +
        std::to_string(r.payouts.size()) + " of " + std::to_string(payees) + " payees (" +
        std::to_string(holds) + " holds)");
}

void counters(benchmark::State& state, uint64_t payees, uint64_t holds, double wall,
              const Cpu& cpu) {
  const double n = static_cast<double>(state.iterations());
  state.counters["payees"] = static_cast<double>(payees);
  state.counters["holds"] = static_cast<double>(holds);
  state.counters["wall_s"] = wall / n;
  state.counters["user_s"] = cpu.user / n;
  state.counters["sys_s"] = cpu.sys / n;
}

// A fresh copy of the golden store in `work` (not timed by the callers); returns its directory.
std::string fresh_copy(const fs::path& golden, const TempDir& work) {
  std::string dir = work.sub("d");
  fs::create_directories(dir);
  fs::copy_file(golden / "data.mdb", fs::path(dir) / "data.mdb");
  return dir;
}

void BM_SettleDryRun(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const uint64_t payees = payee_count(), holds = hold_count();
  Books books(options(golden_store(payees, holds), false));
  check_run(settle(*books.settlement, true, threads), payees, holds);  // warms the page cache
  double wall = 0;
  Cpu cpu;
  for (auto _ : state) {
    Cpu c0 = Cpu::now();
    auto t0 = Clock::now();
    auto r = settle(*books.settlement, true, threads);
    double dt = seconds_since(t0);
    cpu += Cpu::now() - c0;
    wall += dt;
    benchmark::DoNotOptimize(r);
    state.SetIterationTime(dt);
  }
  counters(state, payees, holds, wall, cpu);
}
// threads:2 first: a 2-thread run after 1-thread runs in the same process is flattered (above).
BENCHMARK(BM_SettleDryRun)
    ->ArgName("threads")
    ->Arg(2)
    ->Arg(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// RssAnon of this process in MiB (/proc/self/status), after handing the heap's free memory back
// to the system (malloc_trim), so that what it shows is memory still in use.
double rss_anon_mib() {
  malloc_trim(0);
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("RssAnon:", 0) == 0) return std::stod(line.substr(8)) / 1024.0;  // kB
  return 0;
}

void BM_SettleRun(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const uint64_t payees = payee_count(), holds = hold_count();
  const fs::path golden = golden_store(payees, holds);
  // TALLY_SETTLE_NOSYNC=1: the same run with durable=false (to tell the fsync from the rest).
  const bool nosync = env_u64("TALLY_SETTLE_NOSYNC", 0) == 1;
  double wall = 0, rss_before = 0, rss_after = 0, rss_closed = 0;
  Cpu cpu;
  for (auto _ : state) {
    TempDir work;
    const std::string dir = fresh_copy(golden, work);
    std::optional<Books> books(std::in_place, options(dir, !nosync));
    rss_before += rss_anon_mib();
    Cpu c0 = Cpu::now();
    auto t0 = Clock::now();
    auto r = settle(*books->settlement, false, threads);
    double dt = seconds_since(t0);
    cpu += Cpu::now() - c0;
    wall += dt;
    check_run(r, payees, holds);
    r = SettlementRun{};
    rss_after += rss_anon_mib();  // the ledger still open, the run's result freed
    books.reset();
    rss_closed += rss_anon_mib();
    state.SetIterationTime(dt);
  }
  counters(state, payees, holds, wall, cpu);
  // What the process keeps after a run: before it, after it with the ledger open, and after the
  // ledger is closed (LMDB keeps the pages a write transaction dirtied until it is closed).
  const double n = static_cast<double>(state.iterations());
  state.counters["rss_anon_before_mib"] = rss_before / n;
  state.counters["rss_anon_after_mib"] = rss_after / n;
  state.counters["rss_anon_closed_mib"] = rss_closed / n;
}
// TALLY_SETTLE_RUN_ITERS (default 2): iterations per repetition, each on a fresh copy.
BENCHMARK(BM_SettleRun)
    ->ArgName("threads")
    ->Arg(2)
    ->Arg(1)
    ->UseManualTime()
    ->Iterations(static_cast<benchmark::IterationCount>(env_u64("TALLY_SETTLE_RUN_ITERS", 2)))
    ->Unit(benchmark::kMillisecond);

// BM_SettleRawFloor/chunk:C: the floor under the real run's commit. On a fresh copy of the
// golden store, plain LMDB does the writes the run's commit does, and nothing else: per payee
// two entries (entry record, id row, and per posting a posting row and a book row, with the
// real book ids, the next sequence numbers and the records' real sizes), the deletion of the
// payee's holds through one cursor, and its payout record; then one durable commit. No reads,
// no validation, no hashing, no run record (which errs toward a lower floor). C = 0: all in one
// transaction, as the run does; C > 0: a commit every C payees, to show what chunked commits
// would buy. The payees and amounts come from an untimed dry run. TALLY_FLOOR_SKIP (below) leaves
// out parts of it, to tell their shares; TALLY_FLOOR_WRITEMAP, TALLY_FLOOR_SORTED,
// TALLY_FLOOR_DELTA and TALLY_FLOOR_WATERMARK (each explained where it is read) price other ways
// of making the same writes, which the store does not use (docs/performance.md, "Settlement").
// Extra counters: commit_s, the durable commit's share; with TALLY_FLOOR_SORTED, sort_s (the
// buffer's sorting and freeing) and apply_s (its sorted puts).
void BM_SettleRawFloor(benchmark::State& state) {
  const uint64_t chunk = static_cast<uint64_t>(state.range(0));
  const uint64_t payees = payee_count(), holds = hold_count();
  const fs::path golden = golden_store(payees, holds);
  // TALLY_FLOOR_SKIP: a comma-separated list of the parts to leave out (holds, postings, books,
  // entries, ids, payouts), to tell each one's share of the floor.
  const std::string skip = std::getenv("TALLY_FLOOR_SKIP") ? std::getenv("TALLY_FLOOR_SKIP") : "";
  auto skipped = [&](const char* part) {
    return ("," + skip + ",").find("," + std::string(part) + ",") != std::string::npos;
  };
  const bool skip_holds = skipped("holds"), skip_postings = skipped("postings"),
             skip_books = skipped("books"), skip_entries = skipped("entries"),
             skip_ids = skipped("ids"), skip_payouts = skipped("payouts");
  auto ck = [](int rc, const char* what) {
    if (rc != MDB_SUCCESS) die(std::string(what) + ": " + mdb_strerror(rc));
  };
  // Phase times (counters below): the sorted mode's sort and free, its puts, the last commit;
  // RssAnon with the environment open after the commit, and after it is closed.
  double wall = 0, sort_s = 0, apply_s = 0, commit_s = 0, rss_open = 0, rss_closed = 0;
  Cpu cpu;
  for (auto _ : state) {
    TempDir work;
    const std::string dir = fresh_copy(golden, work);
    SettlementRun plan;
    uint64_t last_seq = 0;
    {
      Books books(options(dir, false));
      plan = settle(*books.settlement, true, 2);
      last_seq = books.ledger->snapshot()->last_seq();
    }
    check_run(plan, payees, holds);
    MDB_env* env;
    ck(mdb_env_create(&env), "env_create");
    mdb_env_set_maxdbs(env, 64);
    ck(mdb_env_set_mapsize(env, fs::file_size(fs::path(dir) / "data.mdb") + (size_t(8) << 30)),
       "mapsize");
    // TALLY_FLOOR_WRITEMAP=1: the same writes with MDB_WRITEMAP (pages written in place in the
    // map: no copies of dirty pages, no spilling), to tell what LMDB's dirty-page copies cost.
    const unsigned map_flags = env_u64("TALLY_FLOOR_WRITEMAP", 0) == 1 ? MDB_WRITEMAP : 0;
    ck(mdb_env_open(env, dir.c_str(), MDB_NOTLS | map_flags, 0644), "env_open");
    MDB_txn* t;
    ck(mdb_txn_begin(env, nullptr, 0, &t), "begin");
    MDB_dbi accounts, books_db, postings, entries, ids, holds_db, payouts;
    ck(mdb_dbi_open(t, "accounts", 0, &accounts), "accounts");
    ck(mdb_dbi_open(t, "books", 0, &books_db), "books");
    ck(mdb_dbi_open(t, "postings", 0, &postings), "postings");
    ck(mdb_dbi_open(t, "entries", 0, &entries), "entries");
    ck(mdb_dbi_open(t, "ids", 0, &ids), "ids");
    ck(mdb_dbi_open(t, (std::string("x.") + tables::kHolds).c_str(), 0, &holds_db), "holds");
    ck(mdb_dbi_open(t, (std::string("x.") + tables::kPayouts).c_str(), 0, &payouts), "payouts");
    // Two layouts the store does not have, to price a redesign (docs/performance.md):
    // TALLY_FLOOR_DELTA=1 writes the run's posting rows to a table of their own, empty before
    // the run (a recent-postings delta that a later merge would fold into the history index);
    // TALLY_FLOOR_WATERMARK=1 marks each payee's holds consumed with one row per payee (the time
    // up to which they are released) instead of deleting them.
    const bool delta = env_u64("TALLY_FLOOR_DELTA", 0) == 1;
    const bool watermark = env_u64("TALLY_FLOOR_WATERMARK", 0) == 1;
    MDB_dbi delta_db = 0, watermark_db = 0;
    ck(mdb_dbi_open(t, "x.floor_delta", MDB_CREATE, &delta_db), "delta");
    ck(mdb_dbi_open(t, "x.floor_watermark", MDB_CREATE, &watermark_db), "watermark");
    if (delta) postings = delta_db;
    // The payees' book ids, read before the clock starts.
    auto book_of = [&](const std::string& account) {
      MDB_val k{account.size(), const_cast<char*>(account.data())}, v;
      ck(mdb_get(t, accounts, &k, &v), "account");
      store::AccountRecord rec;
      if (!store::decode_account(store::to_sv(v), rec) || rec.books.size() != 1) die("account");
      return rec.books[0].book_id;
    };
    std::vector<std::pair<uint64_t, uint64_t>> book_ids;  // pending, available per payee
    book_ids.reserve(plan.payouts.size());
    for (auto& p : plan.payouts)
      book_ids.emplace_back(book_of(tables::pending("shop", p.payee)),
                            book_of(tables::available("shop", p.payee)));
    uint64_t max_book = 0;
    {
      MDB_cursor* c;
      ck(mdb_cursor_open(t, books_db, &c), "cursor");
      MDB_val k, v;
      if (mdb_cursor_get(c, &k, &v, MDB_LAST) == MDB_SUCCESS)
        max_book = get_be64(static_cast<const char*>(k.mv_data));  // key: be64(book id)
      mdb_cursor_close(c);
    }
    const uint64_t transit_book = max_book + 1;  // the run opens marketplace:in_transit
    ck(mdb_txn_commit(t), "commit setup");

    const std::string book_value(sizeof(store::BookRecord), 'b');
    const std::string posting_value(sizeof(store::PostingRecord), 'p');
    const std::string id_value(sizeof(store::IdValue), 'i');
    Cpu c0 = Cpu::now();
    auto t0 = Clock::now();
    ck(mdb_txn_begin(env, nullptr, 0, &t), "begin");
    // TALLY_FLOOR_SORTED=1: the puts are buffered per table, and each table's are applied at the
    // end in key order through one cursor (a book row once, with its last value), which is what
    // a write-back buffer in the ledger would do; the holds are swept as before.
    const bool sorted = env_u64("TALLY_FLOOR_SORTED", 0) == 1;
    std::map<MDB_dbi, std::vector<std::pair<std::string, std::string>>> buffered;
    auto put = [&](MDB_dbi db, std::string_view key, std::string_view val, unsigned flags) {
      if (sorted) {
        buffered[db].emplace_back(key, val);
        return;
      }
      MDB_val k{key.size(), const_cast<char*>(key.data())};
      MDB_val v{val.size(), const_cast<char*>(val.data())};
      ck(mdb_put(t, db, &k, &v, flags), "put");
    };
    auto flush = [&] {
      for (auto& [db, rows] : buffered) {
        auto f0 = Clock::now();
        std::stable_sort(rows.begin(), rows.end(),
                         [](auto& a, auto& b) { return a.first < b.first; });
        sort_s += seconds_since(f0);
        f0 = Clock::now();
        MDB_cursor* c;
        ck(mdb_cursor_open(t, db, &c), "cursor");
        for (size_t r = 0; r < rows.size(); ++r) {
          if (r + 1 < rows.size() && rows[r + 1].first == rows[r].first) continue;  // last wins
          MDB_val k{rows[r].first.size(), rows[r].first.data()};
          MDB_val v{rows[r].second.size(), rows[r].second.data()};
          ck(mdb_cursor_put(c, &k, &v, 0), "cursor put");
        }
        mdb_cursor_close(c);
        apply_s += seconds_since(f0);
      }
      auto f0 = Clock::now();
      buffered.clear();
      sort_s += seconds_since(f0);  // freeing the buffer is the buffer's cost too
    };
    uint64_t seq = last_seq, holds_deleted = 0;
    for (size_t i = 0; i < plan.payouts.size(); ++i) {
      const RunPayout& p = plan.payouts[i];
      if (plan.released[i].payee != p.payee) die("released and paid payees differ");
      auto [pending_book, available_book] = book_ids[i];
      for (const char* kind : {"release", "payout"}) {
        store::EntryRecord rec;
        rec.seq = ++seq;
        rec.id = std::string(1, kSystemIdPrefix) + plan.run + ":" + kind + ":" + p.payee;
        rec.kind = kind;
        rec.meta = {{"run", plan.run}};
        bool release = kind[0] == 'r';
        uint64_t debit = release ? pending_book : available_book;
        uint64_t credit = release ? available_book : transit_book;
        i128 amount = release ? plan.released[i].amount.minor() : p.amount.minor();
        rec.postings = {{debit, Side::debit, amount}, {credit, Side::credit, amount}};
        for (uint16_t j = 0; j < 2; ++j) {
          if (!skip_postings)
            put(postings, store::posting_key(rec.postings[j].book_id, rec.seq, j), posting_value,
                0);
          if (!skip_books) put(books_db, store::book_key(rec.postings[j].book_id), book_value, 0);
        }
        if (!skip_entries)
          put(entries, store::seq_key(rec.seq), store::encode_entry(rec), MDB_APPEND);
        if (!skip_ids) put(ids, rec.id, id_value, MDB_NOOVERWRITE);
      }
      if (watermark) {
        std::string prefix = tables::hold_key("shop", p.payee, "EUR", "");
        put(watermark_db, prefix, std::string(8, 'w'), 0);
        holds_deleted = holds;
      } else if (skip_holds) {
        holds_deleted = holds;
      } else {
        std::string prefix = tables::hold_key("shop", p.payee, "EUR", "");
        MDB_cursor* c;
        ck(mdb_cursor_open(t, holds_db, &c), "cursor");
        MDB_val k{prefix.size(), prefix.data()}, v;
        int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        while (rc == MDB_SUCCESS && store::to_sv(k).substr(0, prefix.size()) == prefix) {
          ck(mdb_cursor_del(c, 0), "del");
          ++holds_deleted;
          rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
        }
        mdb_cursor_close(c);
      }
      tables::PayoutValue pv{
          "shop", p.payee, "EUR", plan.run, p.amount.minor(), tables::PayoutState::instructed, ""};
      if (!skip_payouts) put(payouts, p.payout, tables::encode_payout(pv), 0);
      if (chunk > 0 && (i + 1) % chunk == 0) {
        flush();
        ck(mdb_txn_commit(t), "commit");
        ck(mdb_txn_begin(env, nullptr, 0, &t), "begin");
      }
    }
    flush();
    auto c0_commit = Clock::now();
    ck(mdb_txn_commit(t), "commit");
    commit_s += seconds_since(c0_commit);
    double dt = seconds_since(t0);
    cpu += Cpu::now() - c0;
    wall += dt;
    buffered = {};
    rss_open += rss_anon_mib();  // plain LMDB, after the commit, the environment still open
    mdb_env_close(env);
    rss_closed += rss_anon_mib();
    if (holds_deleted != holds)
      die("the raw floor deleted " + std::to_string(holds_deleted) + " holds");
    state.SetIterationTime(dt);
  }
  counters(state, payees, holds, wall, cpu);
  const double n = static_cast<double>(state.iterations());
  state.counters["commit_s"] = commit_s / n;  // the last commit (the only one when C = 0)
  state.counters["rss_anon_open_mib"] = rss_open / n;
  state.counters["rss_anon_closed_mib"] = rss_closed / n;
  if (env_u64("TALLY_FLOOR_SORTED", 0) == 1)
    state.counters["sort_s"] = sort_s / n, state.counters["apply_s"] = apply_s / n;
}
BENCHMARK(BM_SettleRawFloor)
    ->ArgName("chunk")
    ->Arg(0)
    ->Arg(10000)
    ->UseManualTime()
    ->Iterations(static_cast<benchmark::IterationCount>(env_u64("TALLY_SETTLE_RUN_ITERS", 2)))
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  // Two threads must be available to task_arena(2) whatever oneTBB detects.
  tbb::global_control allow(tbb::global_control::max_allowed_parallelism, 2);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
