// Settlement benchmarks for SPEC section 6: "10^6 payees with 10^7 matured holds in at most
// 15 s; the run's commit within 1.25x of raw LMDB making the same writes; planning on 2 threads
// at least 1.7x one" (results and verdicts: docs/performance.md, "Settlement"). Posting during a
// run, through a real server: bench/live_settle_bench.cpp.
//
// Commands (docs/performance.md has them with their figures):
//   build/release/bench/settle_bench                    # 10^4 payees, 10^5 holds
//   TALLY_BENCH_BIG=1 build/release/bench/settle_bench  # 10^6 payees, 10^7 holds
//   TALLY_SETTLE_PAYEES=100000 TALLY_SETTLE_HOLDS=1000000 build/release/bench/settle_bench
//
// The books: bench/golden_store.h.
//
// - BM_SettleDryRun/threads:T: Settlement::settle(dry_run) with T threads on the open golden
//   store: the planning, where the parallelism is. Each benchmark warms with one untimed run.
//   threads:2 runs before threads:1 on purpose. Planning allocates heavily, and its cost depends
//   on the heap the process's earlier runs left behind: a 2-thread run after 1-thread runs in
//   the same process needs ~30% less CPU and no page faults (0.28 s instead of 0.55 s at 10^5
//   payees), which made "1 then 2" report 2.3-2.9x speedups. A 1-thread run after 2-thread runs
//   costs what it costs in a process of its own, so "2 then 1" compares like with like (as do
//   separate processes, alternated: docs/performance.md).
// - BM_SettleRun/threads:T/chunk:C: the real run (durable, one fsync per chunk of C payees) on a
//   fresh copy of the golden store; the copy and open are not timed. commit_s: the time its
//   chunks took from being handed to the writer until durable, summed (SettlementRun::
//   commit_wait_ns): the part to hold against the raw floor.
// - BM_SettleRawFloor/chunk:C: plain LMDB doing only the writes of the real run's commits, on a
//   fresh copy (the floor under the commit; its comment below says what it leaves out).
// Counters: wall_s per run, and user_s / sys_s, the CPU time of the whole process per run.
//   TALLY_SETTLE_NOSYNC=1 runs it with durable=false, to tell the fsync from the rest.
#include <benchmark/benchmark.h>
#include <tbb/global_control.h>

#include <lmdb.h>
#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bench/golden_store.h"
#include "ledger/codec.h"
#include "ledger/ledger.h"
#include "ledger/store_records.h"
#include "settlement/payee_settlement.h"
#include "settlement/rules.h"
#include "settlement/run.h"
#include "settlement/run_journal.h"
#include "settlement/tables.h"

namespace {

using namespace tally;
using namespace tally::bench;
namespace fs = std::filesystem;

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

struct Books {
  std::unique_ptr<Ledger> ledger;
  std::unique_ptr<Rules> rules;
  std::unique_ptr<Settlement> settlement;
  explicit Books(LedgerOptions o)
      : ledger(open_ledger(std::move(o))),
        rules(std::make_unique<Rules>(config(), *ledger)),
        settlement(std::make_unique<Settlement>(*rules)) {}
};

SettlementRun settle(Settlement& s, bool dry, int threads, uint64_t chunk_payees = 0) {
  SettleOptions o;
  o.dry_run = dry;
  o.threads = threads;
  o.chunk_payees = chunk_payees;
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

// RssAnon of this process in MiB, after handing the heap's free memory back to the system
// (malloc_trim), so that what it shows is memory still in use.
double rss_in_use_mib() {
  malloc_trim(0);
  return rss_anon_mib();
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
    auto t0 = bench::Clock::now();
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

void BM_SettleRun(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const uint64_t chunk = static_cast<uint64_t>(state.range(1));
  const uint64_t payees = payee_count(), holds = hold_count();
  const fs::path golden = golden_store(payees, holds);
  // TALLY_SETTLE_NOSYNC=1: the same run with durable=false (to tell the fsync from the rest).
  const bool nosync = env_u64("TALLY_SETTLE_NOSYNC", 0) == 1;
  double wall = 0, commit = 0, rss_before = 0, rss_after = 0, rss_closed = 0;
  Cpu cpu;
  for (auto _ : state) {
    TempDir work;
    const std::string dir = fresh_copy(golden, work);
    std::optional<Books> books(std::in_place, options(dir, !nosync));
    rss_before += rss_in_use_mib();
    Cpu c0 = Cpu::now();
    auto t0 = bench::Clock::now();
    auto r = settle(*books->settlement, false, threads, chunk);
    double dt = seconds_since(t0);
    cpu += Cpu::now() - c0;
    wall += dt;
    commit += static_cast<double>(r.commit_wait_ns) * 1e-9;
    check_run(r, payees, holds);
    r = SettlementRun{};
    rss_after += rss_in_use_mib();  // the ledger still open, the run's result freed
    books.reset();
    rss_closed += rss_in_use_mib();
    state.SetIterationTime(dt);
  }
  counters(state, payees, holds, wall, cpu);
  // What the process keeps after a run: before it, after it with the ledger open, and after the
  // ledger is closed (LMDB keeps the buffers of the pages its largest write transaction dirtied
  // until it is closed: a chunk's, now).
  const double n = static_cast<double>(state.iterations());
  state.counters["commit_s"] = commit / n;
  state.counters["rss_anon_before_mib"] = rss_before / n;
  state.counters["rss_anon_after_mib"] = rss_after / n;
  state.counters["rss_anon_closed_mib"] = rss_closed / n;
}
// TALLY_SETTLE_RUN_ITERS (default 2): iterations per repetition, each on a fresh copy.
// TALLY_SETTLE_CHUNK: the chunk size (default the run's default).
BENCHMARK(BM_SettleRun)
    ->ArgNames({"threads", "chunk"})
    ->Args({2, static_cast<int64_t>(env_u64("TALLY_SETTLE_CHUNK",
                                            limits::settle_chunk_payees_default))})
    ->Args({1, static_cast<int64_t>(env_u64("TALLY_SETTLE_CHUNK",
                                            limits::settle_chunk_payees_default))})
    ->UseManualTime()
    ->Iterations(static_cast<benchmark::IterationCount>(env_u64("TALLY_SETTLE_RUN_ITERS", 2)))
    ->Unit(benchmark::kMillisecond);

// BM_SettleRawFloor/chunk:C: the floor under the real run's commits. On a fresh copy of the
// golden store, plain LMDB makes the writes a run with chunks of C payees makes, and nothing
// else. Per payee: its one entry (the entry record with its four postings, the id row, a posting
// row per posting, with the real book ids, the next sequence numbers and the records' real
// sizes), the deletion of its due holds through one cursor, its payout record. Per chunk: each
// book row it changed, once (the payees' pending and available, the in-transit account), in book
// order as the ledger writes them; the chunk's rows and the run record; then one durable commit.
// No reads, no validation, no hashing (which errs toward a lower floor). The payees and amounts
// come from an untimed dry run. TALLY_FLOOR_SKIP (below) leaves out parts of it, to tell their
// shares; TALLY_FLOOR_WRITEMAP=1 makes the same writes with MDB_WRITEMAP (pages written in place:
// no copies of dirty pages). Earlier versions of this benchmark also priced layouts the store
// does not use (a posting delta table, hold watermarks, sorted puts): docs/performance.md has
// their figures and the commit that measured them.
void BM_SettleRawFloor(benchmark::State& state) {
  const uint64_t chunk = static_cast<uint64_t>(state.range(0));
  const uint64_t payees = payee_count(), holds = hold_count();
  const fs::path golden = golden_store(payees, holds);
  // TALLY_FLOOR_SKIP: a comma-separated list of the parts to leave out (holds, postings, books,
  // entries, ids, payouts, journal), to tell each one's share of the floor.
  const std::string skip = std::getenv("TALLY_FLOOR_SKIP") ? std::getenv("TALLY_FLOOR_SKIP") : "";
  auto skipped = [&](const char* part) {
    return ("," + skip + ",").find("," + std::string(part) + ",") != std::string::npos;
  };
  const bool skip_holds = skipped("holds"), skip_postings = skipped("postings"),
             skip_books = skipped("books"), skip_entries = skipped("entries"),
             skip_ids = skipped("ids"), skip_payouts = skipped("payouts"),
             skip_journal = skipped("journal");
  auto ck = [](int rc, const char* what) {
    if (rc != MDB_SUCCESS) die(std::string(what) + ": " + mdb_strerror(rc));
  };
  double wall = 0, rss_open = 0, rss_closed = 0;
  Cpu cpu;
  for (auto _ : state) {
    TempDir work;
    const std::string dir = fresh_copy(golden, work);
    SettlementRun plan;
    uint64_t last_seq = 0;
    {
      Books books(options(dir, false));
      plan = settle(*books.settlement, true, 2, chunk);
      last_seq = books.ledger->snapshot()->last_seq();
    }
    check_run(plan, payees, holds);
    MDB_env* env;
    ck(mdb_env_create(&env), "env_create");
    mdb_env_set_maxdbs(env, 64);
    ck(mdb_env_set_mapsize(env, fs::file_size(fs::path(dir) / "data.mdb") + (size_t(8) << 30)),
       "mapsize");
    const unsigned map_flags = env_u64("TALLY_FLOOR_WRITEMAP", 0) == 1 ? MDB_WRITEMAP : 0;
    ck(mdb_env_open(env, dir.c_str(), MDB_NOTLS | map_flags, 0644), "env_open");
    MDB_txn* t;
    ck(mdb_txn_begin(env, nullptr, 0, &t), "begin");
    MDB_dbi accounts, books_db, postings, entries, ids, holds_db, payouts, runs, run_chunks;
    ck(mdb_dbi_open(t, "accounts", 0, &accounts), "accounts");
    ck(mdb_dbi_open(t, "books", 0, &books_db), "books");
    ck(mdb_dbi_open(t, "postings", 0, &postings), "postings");
    ck(mdb_dbi_open(t, "entries", 0, &entries), "entries");
    ck(mdb_dbi_open(t, "ids", 0, &ids), "ids");
    auto extra = [&](const char* name, MDB_dbi* dbi) {
      ck(mdb_dbi_open(t, (std::string("x.") + name).c_str(), MDB_CREATE, dbi), name);
    };
    extra(tables::kHolds, &holds_db);
    extra(tables::kPayouts, &payouts);
    extra(tables::kRuns, &runs);
    extra(tables::kRunChunks, &run_chunks);
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
    RunRecord record;  // the run record, as a chunk leaves it (its size grows little)
    record.run = plan.run, record.marketplace = "shop", record.pay_date = plan.pay_date;
    record.currencies = plan.currencies, record.totals = plan.totals;
    record.last_payee = plan.payouts.back().payee;
    const std::string record_value = encode_run_record(record);
    Cpu c0 = Cpu::now();
    auto t0 = bench::Clock::now();
    auto put = [&](MDB_dbi db, std::string_view key, std::string_view val, unsigned flags) {
      MDB_val k{key.size(), const_cast<char*>(key.data())};
      MDB_val v{val.size(), const_cast<char*>(val.data())};
      ck(mdb_put(t, db, &k, &v, flags), "put");
    };
    uint64_t seq = last_seq, holds_deleted = 0, chunk_no = 0;
    std::vector<uint64_t> dirty_books;
    RunRows chunk_rows;
    ck(mdb_txn_begin(env, nullptr, 0, &t), "begin");
    for (size_t i = 0; i < plan.payouts.size(); ++i) {
      const RunPayout& p = plan.payouts[i];
      if (plan.released[i].payee != p.payee) die("released and paid payees differ");
      auto [pending_book, available_book] = book_ids[i];
      store::EntryRecord rec;
      rec.seq = ++seq;
      rec.id = run_entry_id(plan.run, p.payee);
      rec.kind = "settlement";
      rec.meta = {{"run", plan.run}};
      i128 released = plan.released[i].amount.minor(), paid = p.amount.minor();
      rec.postings = {{pending_book, Side::debit, released},
                      {available_book, Side::credit, released},
                      {available_book, Side::debit, paid},
                      {transit_book, Side::credit, paid}};
      if (!skip_postings)
        for (uint16_t j = 0; j < 4; ++j)
          put(postings, store::posting_key(rec.postings[j].book_id, rec.seq, j), posting_value, 0);
      dirty_books.push_back(pending_book);
      dirty_books.push_back(available_book);
      if (!skip_entries)
        put(entries, store::seq_key(rec.seq), store::encode_entry(rec), MDB_APPEND);
      if (!skip_ids) put(ids, rec.id, id_value, MDB_NOOVERWRITE);
      if (skip_holds) {
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
      chunk_rows.released.push_back(plan.released[i]);
      chunk_rows.payouts.push_back(p);
      chunk_rows.lines.push_back(plan.lines[i]);
      const bool chunk_ends = (i + 1) % chunk == 0 || i + 1 == plan.payouts.size();
      if (!chunk_ends) continue;
      if (!skip_books) {
        dirty_books.push_back(transit_book);
        std::sort(dirty_books.begin(), dirty_books.end());
        dirty_books.erase(std::unique(dirty_books.begin(), dirty_books.end()), dirty_books.end());
        for (uint64_t b : dirty_books) put(books_db, store::book_key(b), book_value, 0);
      }
      dirty_books.clear();
      if (!skip_journal) {
        put(run_chunks, tables::run_chunk_key("shop", plan.pay_date, chunk_no),
            encode_run_rows(chunk_rows), 0);
        put(runs, tables::run_key("shop", plan.pay_date), record_value, 0);
      }
      chunk_rows = RunRows();
      ++chunk_no;
      ck(mdb_txn_commit(t), "commit");
      if (i + 1 < plan.payouts.size()) ck(mdb_txn_begin(env, nullptr, 0, &t), "begin");
    }
    double dt = seconds_since(t0);
    cpu += Cpu::now() - c0;
    wall += dt;
    rss_open += rss_in_use_mib();  // plain LMDB, after the commits, the environment still open
    mdb_env_close(env);
    rss_closed += rss_in_use_mib();
    if (holds_deleted != holds)
      die("the raw floor deleted " + std::to_string(holds_deleted) + " holds");
    state.SetIterationTime(dt);
  }
  counters(state, payees, holds, wall, cpu);
  const double n = static_cast<double>(state.iterations());
  state.counters["rss_anon_open_mib"] = rss_open / n;
  state.counters["rss_anon_closed_mib"] = rss_closed / n;
}
BENCHMARK(BM_SettleRawFloor)
    ->ArgName("chunk")
    ->Arg(static_cast<int64_t>(env_u64("TALLY_SETTLE_CHUNK", limits::settle_chunk_payees_default)))
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
