// `tally benchmark` (cli/benchmark.h): options, the run (setup, posting, queries, checks) and its
// report. The workload is cli/benchmark_workload.h, the server child cli/benchmark_server.h.
#include "cli/benchmark.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <optional>
#include <ostream>
#include <thread>
#include <vector>

#include "cli/backend.h"
#include "cli/benchmark_server.h"
#include "cli/benchmark_workload.h"
#include "cli/embedded_backend.h"
#include "cli/remote_backend.h"
#include "ledger/limits.h"

namespace tally {

namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

struct BenchOptions {
  WorkloadOptions workload;
  uint64_t entries = 10'000'000;
  uint64_t batch = 8189;
  uint64_t queries = 10'000;
  uint64_t rate = 0;  // entries offered per second; 0: as fast as accepted
  bool in_process = false;
  bool verify = false;
  std::string tally_bin;  // the server's binary; empty: this program
};

constexpr std::string_view kUsage =
    "usage: tally benchmark [--accounts N] [--entries M] [--batch B] "
    "[--id-order sequential|random] [--queries Q] [--seed S] [--amount-mean MINOR] "
    "[--rate ENTRIES_PER_S] [--in-process] [--verify] [--tally PATH] [--data DIR]\n"
    "       tally --connect ADDR --token T benchmark [...]   (a running server)\n";

uint64_t ns_since(SteadyClock::time_point t0) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - t0).count());
}

// v / unit with two decimals, integers only: "52.31".
std::string fixed2(uint64_t v, uint64_t unit) {
  const uint64_t hundredths = static_cast<uint64_t>(static_cast<unsigned __int128>(v) * 100 / unit);
  std::string frac = std::to_string(hundredths % 100);
  if (frac.size() < 2) frac.insert(0, "0");
  return std::to_string(hundredths / 100) + "." + frac;
}
std::string mib(uint64_t bytes) {
  return fixed2(bytes, uint64_t(1) << 20) + " MiB";
}

// The K-th percentile (nearest rank below) of sorted values.
uint64_t percentile(const std::vector<uint64_t>& sorted, uint64_t k) {
  if (sorted.empty()) return 0;
  return sorted[(sorted.size() - 1) * k / 100];
}

void print_percentiles(std::ostream& out, std::string_view what, std::vector<uint64_t> ns,
                       uint64_t unit_ns, std::string_view unit) {
  std::sort(ns.begin(), ns.end());
  for (uint64_t k : {1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 100})
    out << what << " latency p" << k << " = " << fixed2(percentile(ns, k), unit_ns) << " " << unit
        << "\n";
}

uint64_t dir_bytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec))
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  return total;
}

// Peaks of anonymous memory, sampled after each batch (VmHWM covers all of RSS, map included).
struct AnonPeaks {
  uint64_t self = 0, server = 0;
  void sample(pid_t server_pid) {
    if (auto m = proc_memory()) self = std::max(self, m->anon_bytes);
    if (server_pid > 0)
      if (auto m = proc_memory(server_pid)) server = std::max(server, m->anon_bytes);
  }
};

void print_memory(std::ostream& out, std::string_view who, pid_t pid, uint64_t anon_peak) {
  auto m = proc_memory(pid);
  if (!m) {
    out << who << " rss = unknown\n";
    return;
  }
  out << who << " rss = " << mib(m->rss_bytes) << " (peak " << mib(m->peak_rss_bytes) << "; now "
      << mib(m->anon_bytes) << " anonymous + " << mib(m->file_bytes)
      << " file-backed (the store's map, the program); anonymous peak " << mib(anon_peak) << ")\n";
}

// Parses the options; an empty string, or what is wrong.
std::string parse(std::span<const std::string> args, BenchOptions& o) {
  auto number = [](const std::string& text, uint64_t min, uint64_t max, uint64_t& into) {
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max) return false;
    into = v;
    return true;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i], value;
    if (name == "--in-process") {
      o.in_process = true;
      continue;
    }
    if (name == "--verify") {
      o.verify = true;
      continue;
    }
    if (auto eq = name.find('='); name.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return name + " needs a value (or is unknown)";
    }
    constexpr uint64_t kMax = uint64_t(1) << 40;
    bool ok = true;
    if (name == "--accounts")
      ok = number(value, 2, 100'000'000, o.workload.accounts);
    else if (name == "--entries")
      ok = number(value, 0, kMax, o.entries);
    else if (name == "--batch")
      ok = number(value, 1, limits::batch_items_max, o.batch);
    else if (name == "--queries")
      ok = number(value, 0, kMax, o.queries);
    else if (name == "--seed")
      ok = number(value, 0, UINT64_MAX, o.workload.seed);
    else if (name == "--amount-mean")
      ok = number(value, 1, uint64_t(1) << 40, o.workload.amount_mean_minor);
    else if (name == "--rate")
      ok = number(value, 1, kMax, o.rate);
    else if (name == "--tally")
      o.tally_bin = value;
    else if (name == "--id-order") {
      if (value == "sequential")
        o.workload.id_order = IdOrder::sequential;
      else if (value == "random")
        o.workload.id_order = IdOrder::random;
      else
        return "--id-order: sequential or random";
    } else {
      return "unknown option " + name;
    }
    if (!ok) return name + ": a number in range, not " + value;
  }
  return {};
}

// Counts a batch's results: ok ones (and duplicates, when `duplicates_ok`) to `ok`, the first
// other one into `first_error`.
void tally_results(const PostOutcome& r, uint64_t& ok, std::string& first_error,
                   bool duplicates_ok = false) {
  for (const auto& x : r.results) {
    if (x.status == ItemStatus::ok || (duplicates_ok && x.status == ItemStatus::duplicate))
      ++ok;
    else if (first_error.empty())
      first_error = x.id + ": " + std::string(code_name(x.code)) + " " + x.message;
  }
}

// The writer's time, in process (LedgerOptions::on_commit): whole commit groups, and
// mdb_txn_commit alone (LMDB writing the dirty pages and its two fsyncs).
struct WriterTimes {
  std::atomic<uint64_t> groups{0}, group_ns{0}, commit_ns{0};
};

}  // namespace

int run_benchmark_command(const CliGlobals& globals, std::span<const std::string> args,
                          std::ostream& out, std::ostream& err) {
  BenchOptions o;
  if (std::string why = parse(args, o); !why.empty()) {
    err << "tally benchmark: " << why << "\n" << kUsage;
    return 2;
  }
  // --connect: a running server (a leader with standbys, say) instead of a child of our own.
  const bool connected = !globals.connect.empty();
  if (connected) {
    std::string why;
    if (globals.token.empty())
      why = "--connect needs --token (or TALLY_TOKEN): a token with the poster and auditor roles";
    else if (o.in_process)
      why = "--in-process and --connect: post in this process or to a running server, not both";
    else if (!o.tally_bin.empty())
      why = "--tally is the server it starts; with --connect it starts none";
    else if (!globals.data_dir.empty())
      why = "--data is the store of the server it starts; with --connect it starts none";
    if (!why.empty()) {
      err << "tally benchmark: " << why << "\n" << kUsage;
      return 2;
    }
  }
  // The work directory: the socket, the server's config and log, and (without --data) the data.
  std::string tmpl = (fs::temp_directory_path() / "tally-benchmark-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) {
    err << "tally benchmark: cannot create a temporary directory\n";
    return 3;
  }
  const std::string work = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{work};
  std::string data = globals.data_dir;
  if (data.empty()) {
    data = work + "/data";
  } else {
    std::error_code ec;
    if (fs::exists(data, ec) && !fs::is_empty(data, ec)) {
      err << "tally benchmark: --data " << data << " is not empty (it formats a fresh store)\n";
      return 2;
    }
  }
  if (o.tally_bin.empty() && !o.in_process && !connected) {
    std::error_code ec;
    o.tally_bin = fs::read_symlink("/proc/self/exe", ec).string();
    if (ec) {
      err << "tally benchmark: cannot find this program to run the server (give --tally PATH)\n";
      return 3;
    }
  }

  std::unique_ptr<BenchServer> server;
  std::unique_ptr<Backend> backend;
  auto writer = std::make_shared<WriterTimes>();
  if (o.in_process) {
    EmbeddedOptions eo;
    eo.data_dir = data;
    eo.ledger.on_commit = [writer](const CommitTiming& t) {
      writer->groups += 1;
      writer->group_ns += static_cast<uint64_t>(std::max<int64_t>(t.group_ns, 0));
      writer->commit_ns += static_cast<uint64_t>(std::max<int64_t>(t.fsync_ns, 0));
    };
    auto b = EmbeddedBackend::open(std::move(eo));
    if (!b.ok()) {
      err << "tally benchmark: " << b.failure().message << "\n";
      return 3;
    }
    backend = std::move(b.value());
  } else {
    ClientOptions co;
    if (connected) {
      co.address = globals.connect;
      co.token = globals.token;
      co.tls_ca_file = globals.tls_ca;
      co.tls_server_name = globals.tls_name;
    } else {
      std::string why;
      server = BenchServer::start(o.tally_bin, data, work, &why);
      if (!server) {
        err << "tally benchmark: " << why << "\n";
        return 3;
      }
      co.address = server->address();
      co.token = BenchServer::kToken;
    }
    // One call per batch (batch_items = the batch), one call in flight.
    auto b = make_remote_backend(co, static_cast<size_t>(o.batch), 1);
    if (!b.ok()) {
      err << "tally benchmark: " << b.failure().message << "\n";
      return 3;
    }
    backend = std::move(b.value());
  }
  const pid_t server_pid = server ? server->pid() : 0;

  out << "tally benchmark: " << o.workload.accounts << " accounts, " << o.entries
      << " entries of 2 postings, batches of " << o.batch << ", "
      << (o.workload.id_order == IdOrder::sequential ? "sequential" : "random") << " ids, seed "
      << o.workload.seed << ", amounts exponential with mean " << o.workload.amount_mean_minor
      << " minor units (USD), durable\n"
      << "posting " << (o.in_process ? "in process" : "over RPC to " + backend->describe());
  if (connected)
    out << " (a running server)\n";
  else
    out << ", data directory " << data << (globals.data_dir.empty() ? " (temporary)" : "") << "\n";

  Workload w(o.workload);
  // Accounts: open items in batches, as the entries.
  const auto setup0 = SteadyClock::now();
  for (uint64_t from = 0; from < o.workload.accounts; from += o.batch) {
    const uint64_t to = std::min(o.workload.accounts, from + o.batch);
    auto r = backend->post(w.opens(from, to));
    uint64_t ok = 0;
    std::string first_error;
    // A running server may hold the accounts from an earlier run: the same definitions.
    tally_results(r, ok, first_error, connected);
    if (r.failure) {
      err << "tally benchmark: opening accounts: " << r.failure->message << "\n";
      return 3;
    }
    if (ok != to - from) {
      err << "tally benchmark: opening accounts: " << first_error << "\n";
      return 1;
    }
  }
  out << "accounts opened = " << o.workload.accounts << " in "
      << fixed2(ns_since(setup0), 1'000'000'000) << " s\n";

  // Entries: one batch in flight; the batch's latency is the post call, request to durable reply.
  std::vector<uint64_t> batch_ns;
  batch_ns.reserve(static_cast<size_t>((o.entries + o.batch - 1) / o.batch));
  uint64_t posted = 0, generate_ns = 0;
  std::string first_error;
  AnonPeaks peaks;
  const pid_t writer_pid = server ? server_pid : 0;  // the process whose writer commits
  // A running server's writes are not this process's to count.
  const bool count_writes = !connected;
  const uint64_t written0 = proc_write_bytes(writer_pid).value_or(0);
  const uint64_t groups0 = writer->groups, group_ns0 = writer->group_ns,
                 commit_ns0 = writer->commit_ns;
  const uint64_t report_every = std::max<uint64_t>(o.entries / 10, 1);
  uint64_t next_report = report_every;
  const auto t0 = SteadyClock::now();
  for (uint64_t n = 0; n < o.entries;) {
    const auto g0 = SteadyClock::now();
    const uint64_t count = std::min(o.batch, o.entries - n);
    std::vector<PostItem> items;
    items.reserve(static_cast<size_t>(count));
    for (uint64_t k = 0; k < count; ++k) items.push_back(w.next_entry(n + k));
    generate_ns += ns_since(g0);
    if (o.rate) {
      // Batch starts paced to offer `rate` entries a second from t0 (a late batch goes at once).
      const auto due = t0 + std::chrono::nanoseconds(static_cast<int64_t>(
                                static_cast<unsigned __int128>(n) * 1'000'000'000 / o.rate));
      std::this_thread::sleep_until(due);
    }
    const auto b0 = SteadyClock::now();
    auto r = backend->post(std::move(items));
    batch_ns.push_back(ns_since(b0));
    tally_results(r, posted, first_error);
    if (r.failure) {
      err << "tally benchmark: posting: " << r.failure->message << "\n";
      return 3;
    }
    n += count;
    peaks.sample(server_pid);
    if (n >= next_report && n < o.entries) {
      err << "tally benchmark: " << n << " of " << o.entries << " entries, "
          << n * 1'000'000'000 / std::max<uint64_t>(ns_since(t0), 1) << " tx/s so far\n";
      next_report += report_every;
    }
  }
  const uint64_t load_ns = std::max<uint64_t>(ns_since(t0), 1);
  out << batch_ns.size() << " batches in " << fixed2(load_ns, 1'000'000'000) << " s\n";
  if (o.rate) out << "load offered = " << o.rate << " tx/s\n";
  out << "load accepted = "
      << static_cast<uint64_t>(static_cast<unsigned __int128>(posted) * 1'000'000'000 / load_ns)
      << " tx/s\n";
  out << "client generation = " << fixed2(generate_ns, 1'000'000'000)
      << " s of that (building the items)\n";
  print_percentiles(out, "batch", batch_ns, 1'000'000, "ms");
  if (auto w1 = proc_write_bytes(writer_pid); count_writes && w1 && !batch_ns.empty())
    out << "storage writes = " << mib(*w1 - written0) << " ("
        << (*w1 - written0) / batch_ns.size() / 1024 << " KiB per batch, "
        << (*w1 - written0) / std::max<uint64_t>(posted, 1) << " bytes per entry)\n";
  if (o.in_process && writer->groups > groups0)
    out << "writer = " << writer->groups - groups0 << " commits, "
        << fixed2(writer->group_ns - group_ns0, 1'000'000'000) << " s committing, of which "
        << fixed2(writer->commit_ns - commit_ns0, 1'000'000'000)
        << " s in mdb_txn_commit (dirty pages written, fsync)\n";

  // Queries: the balance of a random account, one at a time.
  std::vector<uint64_t> query_ns;
  query_ns.reserve(static_cast<size_t>(o.queries));
  uint64_t queries_ok = 0;
  const auto q0 = SteadyClock::now();
  for (uint64_t q = 0; q < o.queries; ++q) {
    BalanceQuery bq;
    bq.account = Workload::account_name(w.random_account());
    bq.currency = std::string(w.currency().code());
    const auto s0 = SteadyClock::now();
    auto r = backend->balance(bq);
    query_ns.push_back(ns_since(s0));
    if (r.failed()) {
      err << "tally benchmark: query: " << r.failure().message << "\n";
      return 3;
    }
    queries_ok += r.ok();
  }
  if (o.queries) {
    out << o.queries << " queries in " << fixed2(ns_since(q0), 1'000'000'000) << " s\n";
    print_percentiles(out, "query", query_ns, 1'000, "us");
  }

  bool books_ok = true;
  if (o.verify) {
    auto v = backend->verify();
    auto tb = backend->trial_balance(std::nullopt);
    if (v.failed() || tb.failed()) {
      err << "tally benchmark: verify: "
          << (v.failed() ? v.failure().message : tb.failure().message) << "\n";
      return 3;
    }
    books_ok = v.ok() && v->ok && tb.ok();
    if (tb.ok())
      for (const auto& row : tb->currencies) books_ok &= row.debits == row.credits;
    out << "verify = " << (books_ok ? "ok" : "FAILED") << " ("
        << (v.ok() ? std::to_string(v->entries) + " entries, " + std::to_string(v->postings) +
                         " postings" + (v->ok ? "" : "; " + v->problem)
                   : v.rejection().message)
        << ")\n";
  }

  out << "entries posted = " << posted << " of " << o.entries << "\n";
  if (o.queries) out << "queries answered = " << queries_ok << " of " << o.queries << "\n";
  print_memory(out, "client", 0, peaks.self);
  if (server) print_memory(out, "server", server_pid, peaks.server);
  backend.reset();
  if (server && !server->stop()) err << "tally benchmark: the server did not exit cleanly\n";
  if (!connected) out << "store size = " << mib(dir_bytes(data)) << "\n";
  if (!first_error.empty()) err << "tally benchmark: first failed entry: " << first_error << "\n";
  return posted == o.entries && queries_ok == o.queries && books_ok ? 0 : 1;
}

}  // namespace tally
