// RPC load generator (SPEC section 6, "Posting ... over RPC"; results in docs/performance.md,
// section "RPC posting").
//
//   build/rpc/bench/loadgen_bench                      # the grid, short runs
//   TALLY_LOADGEN_SCALE=4 build/rpc/bench/loadgen_bench --benchmark_filter=Sales
//
// An in-process server (ServerThread, its own event loop) over a durable store (fsync on every
// commit) in $TMPDIR, on a unix socket; N clients, each a tally::Client with its own connection
// and I/O thread, post pipelined batches (a window of calls per client, 4 unless said) through the
// poster capability. Every configuration starts from an empty store.
//
// - BM_Entries/B/N: entries of 2 postings, B per batch, N clients.
// - BM_Sales/B/N: `sale` events of the shop marketplace (6 postings each: fee borne by the
//   seller, affiliate share; 10,000 sellers and 1,000 affiliates, as ledger_bench and
//   bench/pg_baseline), B per batch, N clients.
//
// TALLY_LOADGEN_WINDOW=W: W calls in flight per client instead of 4.
//
// - BM_EntriesInProcess/B/N, BM_SalesInProcess/B/N: the same items through Service::post in
//   this process (no RPC, no encoding), with the same batches in flight: RPC's cost is the ratio.
//
// Counters: entries_per_s (items committed per second of wall time, all clients together) and
// p50_ms / p99_ms / p999_ms: per batch, from the client sending the call to the client holding
// its results, which the server sends only after the batch's commit is durable. Every item's
// result is checked (ok), so an error can never count as throughput. Integers only.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rpc/client.h"
#include "rpc/server.h"
#include "service/service.h"
#include "settlement/example_shop.h"

namespace tally {
namespace {

const std::string kConfig =
    example_shop_toml({.hold_from = "sale", .commission_rate = R"({ product = "10%" })"}) + R"toml(
[tokens]
"bench-poster" = ["poster"]
)toml";

constexpr TimeNs kAt = 1'767'607'200'000'000'000;  // 2026-01-05T10:00:00Z

int64_t env_positive(const char* name, int64_t dflt) {
  const char* s = std::getenv(name);
  int64_t v = s ? std::atoll(s) : dflt;
  return v > 0 ? v : dflt;
}
int64_t scale() {
  return env_positive("TALLY_LOADGEN_SCALE", 1);
}
// Calls in flight per client (TALLY_LOADGEN_WINDOW, default 4). With 1, one client's batches
// never share a commit: one batch of 1000 sales is one commit, as in the raw LMDB loop.
size_t window() {
  return static_cast<size_t>(env_positive("TALLY_LOADGEN_WINDOW", 4));
}

// Batches per run: enough to fill every client's window a few times, short by default.
size_t batches_for(size_t batch) {
  size_t base = batch == 1 ? 400 : batch <= 100 ? 160 : 48;
  return base * static_cast<size_t>(scale());
}

struct Store {
  std::string dir;
  std::unique_ptr<Service> service;
  std::unique_ptr<ServerThread> server;
  ~Store() {
    server.reset();
    service.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

std::unique_ptr<Store> open_store() {
  auto st = std::make_unique<Store>();
  std::string tmpl = (std::filesystem::temp_directory_path() / "tally-loadgen-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return nullptr;
  st->dir = tmpl;
  CurrencyTable currencies;
  auto cfg = load_config(kConfig, currencies);
  if (!cfg) return nullptr;
  ServiceOptions so;
  so.data_dir = st->dir + "/data";
  so.config = std::move(*cfg);
  so.ledger.batch_items_max = 10000;
  if (!Service::open(std::move(so), &st->service).ok()) return nullptr;
  ServerOptions o;
  o.listen = "unix:" + st->dir + "/tally.sock";
  auto t = ServerThread::start(*st->service, o);
  if (!t) return nullptr;
  st->server = std::move(*t);
  return st;
}

PostItem open_item(std::string name, AccountKind kind) {
  OpenItem o;
  o.account.name = std::move(name);
  o.account.kind = kind;
  o.account.currencies.push_back(*CurrencyTable().find("EUR"));
  return PostItem{std::move(o)};
}

PostItem make_entry(const std::string& id, size_t client) {
  static const Currency eur = *CurrencyTable().find("EUR");
  Entry e;
  e.id = id;
  e.at = kAt;
  e.kind = "transfer";
  Amount a = Amount::from_minor(1234);
  e.postings.push_back(Posting{"bank:c" + std::to_string(client), eur, Side::debit, a});
  e.postings.push_back(Posting{"wallet:c" + std::to_string(client), eur, Side::credit, a});
  return PostItem{std::move(e)};
}

// Sale k = n * 16 + client (at most 16 clients): the sales of ledger_bench's BM_SalesVsRawLmdb
// and of bench/pg_baseline (10,000 sellers, 1,000 affiliates, 10.00 to 499.99 EUR), so the three
// post the same books.
PostItem make_sale(const std::string& id, size_t client, size_t n) {
  const size_t k = n * 16 + client;
  Event e;
  e.header.id = id;
  e.header.at = kAt;
  e.header.marketplace = "shop";
  e.body =
      SaleEvent{"s" + std::to_string(k % 10000),
                format_amount(Amount::from_minor(1000 + static_cast<i128>((k * 7919) % 49000)), 2),
                "EUR", "product", "a" + std::to_string((k * 31) % 1000)};
  return PostItem{std::move(e)};
}

uint64_t percentile(std::vector<uint64_t>& v, uint64_t per_mille) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>((v.size() - 1) * per_mille / 1000);
  return v[i];
}

void run(benchmark::State& state, bool sales) {
  const size_t calls_in_flight = window();  // read once, not on every wake-up
  const size_t batch = static_cast<size_t>(state.range(0));
  const size_t clients = static_cast<size_t>(state.range(1));
  for (auto _ : state) {
    state.PauseTiming();
    auto store = open_store();
    if (!store) {
      state.SkipWithError("cannot open a store and server");
      return;
    }
    ClientOptions co;
    co.address = store->server->address();
    co.token = "bench-poster";
    std::vector<std::unique_ptr<Client>> cs;
    for (size_t c = 0; c < clients; ++c) {
      auto r = Client::connect(co);
      if (!r.ok()) {
        state.SkipWithError("cannot connect");
        return;
      }
      cs.push_back(std::move(r.value()));
    }
    if (!sales) {
      std::vector<PostItem> opens;
      for (size_t c = 0; c < clients; ++c) {
        opens.push_back(open_item("bank:c" + std::to_string(c), AccountKind::asset));
        opens.push_back(open_item("wallet:c" + std::to_string(c), AccountKind::liability));
      }
      auto r = cs[0]->post(std::move(opens));
      if (!r.ok()) {
        state.SkipWithError("cannot open accounts");
        return;
      }
    }
    const size_t total_batches = std::max(batches_for(batch), clients * 2);
    const size_t per_client = total_batches / clients;
    std::vector<std::vector<Client::PostBatch>> work(clients);
    for (size_t c = 0; c < clients; ++c) {
      for (size_t b = 0; b < per_client; ++b) {
        Client::PostBatch pb;
        for (size_t i = 0; i < batch; ++i) {
          size_t n = b * batch + i;
          std::string id = "c" + std::to_string(c) + "-" + std::to_string(n);
          pb.items.push_back(sales ? make_sale(id, c, n) : make_entry(id, c));
        }
        work[c].push_back(std::move(pb));
      }
    }
    std::vector<std::vector<uint64_t>> latencies(clients);
    std::atomic<uint64_t> committed{0}, errors{0};
    std::barrier start(static_cast<std::ptrdiff_t>(clients + 1));
    std::vector<std::thread> threads;
    for (size_t c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        start.arrive_and_wait();
        auto r = cs[c]->post_pipelined(std::move(work[c]), calls_in_flight);
        if (r.failure) ++errors;
        for (auto& b : r.batches) {
          latencies[c].push_back(b.latency_ns);
          for (auto& x : b.results) {
            if (x.status == ItemStatus::ok)
              ++committed;
            else
              ++errors;
          }
        }
      });
    }
    state.ResumeTiming();
    auto t0 = std::chrono::steady_clock::now();
    start.arrive_and_wait();
    for (auto& t : threads) t.join();
    auto t1 = std::chrono::steady_clock::now();
    state.PauseTiming();
    if (errors.load() != 0) {
      state.SkipWithError("some items failed");
      return;
    }
    std::vector<uint64_t> all;
    for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    const uint64_t ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    // Rates and milliseconds as integers (thousandths for the latencies).
    state.counters["entries_per_s"] = benchmark::Counter(
        static_cast<double>(committed.load() * 1'000'000'000ull / std::max<uint64_t>(ns, 1)));
    state.counters["p50_us"] = benchmark::Counter(static_cast<double>(percentile(all, 500) / 1000));
    state.counters["p99_us"] = benchmark::Counter(static_cast<double>(percentile(all, 990) / 1000));
    state.counters["p999_us"] =
        benchmark::Counter(static_cast<double>(percentile(all, 999) / 1000));
    state.counters["items"] = benchmark::Counter(static_cast<double>(committed.load()));
    state.counters["commits"] =
        benchmark::Counter(static_cast<double>(store->service->ledger().commits()));
    cs.clear();
    store.reset();
    state.ResumeTiming();
  }
}

// The same items through Service::post in this process (no RPC), with the same number of
// batches in flight (window 4 per client), for the ratio RPC / in-process.
void run_in_process(benchmark::State& state, bool sales) {
  const size_t calls_in_flight = window();  // read once, not on every wake-up
  const size_t batch = static_cast<size_t>(state.range(0));
  const size_t clients = static_cast<size_t>(state.range(1));
  for (auto _ : state) {
    state.PauseTiming();
    auto store = open_store();
    if (!store) {
      state.SkipWithError("cannot open a store");
      return;
    }
    Service& svc = *store->service;
    const RoleSet roles{Role::poster};
    if (!sales) {
      std::vector<PostItem> opens;
      for (size_t c = 0; c < clients; ++c) {
        opens.push_back(open_item("bank:c" + std::to_string(c), AccountKind::asset));
        opens.push_back(open_item("wallet:c" + std::to_string(c), AccountKind::liability));
      }
      svc.post_and_wait(std::move(opens), roles);
    }
    const size_t per_client = std::max(batches_for(batch), clients * 2) / clients;
    std::vector<std::vector<std::vector<PostItem>>> work(clients);
    for (size_t c = 0; c < clients; ++c)
      for (size_t b = 0; b < per_client; ++b) {
        std::vector<PostItem> items;
        for (size_t i = 0; i < batch; ++i) {
          size_t n = b * batch + i;
          std::string id = "c" + std::to_string(c) + "-" + std::to_string(n);
          items.push_back(sales ? make_sale(id, c, n) : make_entry(id, c));
        }
        work[c].push_back(std::move(items));
      }
    std::atomic<uint64_t> committed{0}, errors{0};
    std::vector<std::thread> threads;
    std::barrier start(static_cast<std::ptrdiff_t>(clients + 1));
    for (size_t c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        start.arrive_and_wait();
        std::mutex m;
        std::condition_variable cv;
        size_t in_flight = 0;
        for (auto& items : work[c]) {
          {
            std::unique_lock lock(m);
            cv.wait(lock, [&] { return in_flight < calls_in_flight; });
            ++in_flight;
          }
          svc.post(std::move(items), roles, [&](std::vector<ItemResult> r) {
            for (auto& x : r) (x.status == ItemStatus::ok ? committed : errors)++;
            std::lock_guard lock(m);
            --in_flight;
            cv.notify_all();
          });
        }
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return in_flight == 0; });
      });
    }
    state.ResumeTiming();
    auto t0 = std::chrono::steady_clock::now();
    start.arrive_and_wait();
    for (auto& t : threads) t.join();
    auto t1 = std::chrono::steady_clock::now();
    state.PauseTiming();
    if (errors.load() != 0) {
      state.SkipWithError("some items failed");
      return;
    }
    const uint64_t ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count());
    state.counters["entries_per_s"] = benchmark::Counter(
        static_cast<double>(committed.load() * 1'000'000'000ull / std::max<uint64_t>(ns, 1)));
    state.counters["items"] = benchmark::Counter(static_cast<double>(committed.load()));
    store.reset();
    state.ResumeTiming();
  }
}

void BM_Entries(benchmark::State& state) {
  run(state, false);
}
void BM_EntriesInProcess(benchmark::State& state) {
  run_in_process(state, false);
}
void BM_SalesInProcess(benchmark::State& state) {
  run_in_process(state, true);
}
void BM_Sales(benchmark::State& state) {
  run(state, true);
}

BENCHMARK(BM_Entries)
    ->ArgsProduct({{1, 100, 1000}, {1, 4, 16}})
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Sales)
    ->ArgsProduct({{1000}, {1, 4, 16}})
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EntriesInProcess)
    ->ArgsProduct({{1, 100, 1000}, {1, 16}})
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SalesInProcess)
    ->ArgsProduct({{1000}, {1, 16}})
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace tally

BENCHMARK_MAIN();
