#include "bench/golden_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>

#include "settlement/example_shop.h"
#include "settlement/rules.h"
#include "settlement/tables.h"

namespace tally::bench {

namespace fs = std::filesystem;

void die(const std::string& what) {
  std::fprintf(stderr, "bench: %s\n", what.c_str());
  std::abort();
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

uint64_t env_u64(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : dflt;
}
namespace {
bool big() {
  const char* v = std::getenv("TALLY_BENCH_BIG");
  return v && std::string_view(v) == "1";
}
fs::path cache_root() {
  if (const char* v = std::getenv("TALLY_BENCH_CACHE")) return v;
  return fs::temp_directory_path() / "tally-bench-cache";
}
// prefix + decimal n. (Not `"o" + std::to_string(n)`: g++ 12 -O2 gives a false -Wrestrict
// warning on it, which -Werror turns into an error.)
std::string tag(const char* prefix, uint64_t n) {
  char b[48];
  std::snprintf(b, sizeof b, "%s%llu", prefix, static_cast<unsigned long long>(n));
  return b;
}
constexpr const char* kIban = "FR7630006000011234567890189";
const TimeNs kJan5 = TimeNs(1'767'607'200) * kNsPerSecond;   // 2026-01-05T10:00:00Z
const TimeNs kClock = TimeNs(1'780'000'000) * kNsPerSecond;  // 2026-05-28
}  // namespace

uint64_t payee_count() {
  return env_u64("TALLY_SETTLE_PAYEES", big() ? 1'000'000 : 10'000);
}
uint64_t hold_count() {
  return env_u64("TALLY_SETTLE_HOLDS", big() ? 10'000'000 : 100'000);
}

const char* config_text() {
  static const std::string text = example_shop_toml({.hold_from = "sale"}) + R"toml(
[tokens]
"bench-poster" = ["poster"]
"bench-finance" = ["finance"]
"bench-auditor" = ["auditor"]
)toml";
  return text.c_str();
}

const Config& config() {
  static const Config c = [] {
    auto c = load_config(config_text(), CurrencyTable());
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
  o.map_size_bytes = size_t(1) << 36;  // address space only: no growth during a run
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

namespace {
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
}  // namespace

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

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "tally-bench-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) die("mkdtemp");
  path_ = tmpl;
}
TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string fresh_copy(const fs::path& golden, const TempDir& work) {
  std::string dir = work.sub("d");
  fs::create_directories(dir);
  fs::path file = fs::path(dir) / "data.mdb";
  fs::copy_file(golden / "data.mdb", file);
  // On disk before anyone measures: otherwise the first durable commit on the copy (its fsync)
  // waits for the copy's gigabytes of dirty pages, and the kernel's write-back of them runs
  // under whatever is timed next.
  int fd = ::open(file.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) die("fsync of the copy");
  ::close(fd);
  return dir;
}

double rss_anon_mib(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("RssAnon:", 0) == 0) return std::stod(line.substr(8)) / 1024.0;  // kB
  return 0;
}

}  // namespace tally::bench
