// `tally serve` (contract in rpc/server.h): the service, the runs a crash left in progress, the
// server (and the metrics endpoint) on this thread's loop until a signal.
#include <kj/async-unix.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <ostream>
#include <thread>

#include "ledger/limits.h"
#include "ops/metrics_http.h"
#include "rpc/failover.h"
#include "rpc/server.h"
#include "rpc/standby.h"
#include "service/settlement_ops.h"
#include "settlement/market_verify.h"

namespace tally {

namespace {

// How often the store's gauges (map, pages, readers, queue, journal length) are sampled.
constexpr uint64_t kStoreSampleMs = 1000;

void sample_store(Service& service, ServerMetrics& m) {
  const StoreUsage u = service.ledger().usage();
  m.lmdb_map_bytes.set(static_cast<int64_t>(u.map_bytes));
  m.lmdb_used_bytes.set(static_cast<int64_t>(u.used_bytes));
  m.lmdb_readers.set(static_cast<int64_t>(u.readers));
  m.queue_items.set(static_cast<int64_t>(u.queued_items));
  try {
    m.journal_entries.set(static_cast<int64_t>(service.snapshot()->last_seq()));
  } catch (const StoreFailure&) {
    // No reader slot free (or damage, which reads report): keep the last value.
  }
}

kj::Promise<void> sample_loop(kj::Timer& timer, Service& service, ServerMetrics& m) {
  sample_store(service, m);
  return timer.afterDelay(kStoreSampleMs * kj::MILLISECONDS).then([&timer, &service, &m] {
    return sample_loop(timer, service, m);
  });
}

// Thrown from the journal verify's progress callback to stop it at shutdown.
struct StopCheck {};

// The books' health at start, off the loop (docs/operations.md, "Checks at start"): the
// marketplace tables' invariants (O(holds + reserves + payouts)), then the journal's full verify
// (O(entries): the hash chain, running balances, books, id index). A failure is logged at error
// level naming the check and its first problem; the server serves either way (operators decide).
void check_books_at_start(Service& service, JsonLog& log, const std::atomic<bool>& stopping) {
  try {
    {
      auto snap = service.snapshot();
      auto m = verify_marketplace_tables(*snap, service.rules().tables(), service.config());
      if (!m.ok) {
        log.error("books fail verify at start", {{"check", "marketplace"}, {"problem", m.problem}});
        return;
      }
    }
    if (stopping.load()) return;
    auto snap = service.snapshot();
    auto r = snap->verify([&stopping](uint64_t, uint64_t) {
      if (stopping.load()) throw StopCheck{};
    });
    if (!r.ok) {
      log.error("books fail verify at start", {{"check", "journal"}, {"problem", r.problem}});
      return;
    }
    log.info("books verified at start", {{"entries", std::to_string(r.entries)}});
  } catch (const StopCheck&) {
    log.info("check at start stopped by shutdown");
  } catch (const StoreFailure& e) {
    log.error("books fail verify at start",
              {{"check", "store"}, {"problem", e.status.to_string()}});
  }
}

// Sets a diverged store aside (renamed beside itself, kept for a person to read) so the node can
// rejoin empty; false (logged) when the rename fails.
bool set_store_aside(const std::string& data_dir, JsonLog& log) {
  std::string dir = data_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const std::string aside = dir + ".diverged-" + std::to_string(system_now_ns() / 1000000000);
  std::error_code ec;
  std::filesystem::rename(dir, aside, ec);
  if (ec) {
    log.error("cannot set the diverged store aside",
              {{"data", dir}, {"to", aside}, {"error", ec.message()}});
    return false;
  }
  log.error("store diverged from the leader's: set aside, rejoining empty",
            {{"data", dir}, {"set_aside", aside}});
  return true;
}

// One life of the server on one store: until a signal, or a failover node's divergence
// (kServeRejoin).
int serve_once(const ServeOptions& o, JsonLog& log) {
  MetricsRegistry registry;
  ServerMetrics metrics(registry);

  ServiceOptions so;
  so.data_dir = o.data_dir;
  if (!o.config_file.empty()) {
    CurrencyTable currencies;
    auto cfg = load_config_file(o.config_file, currencies);
    if (!cfg) {
      log.error("config does not load", {{"error", cfg.error().message}});
      return 2;  // a config that does not load is a usage error, as for every command (docs/cli.md)
    }
    so.config = std::move(*cfg);
  }
  if (so.config.tokens.empty()) log.warn("no [tokens] configured; every login will be refused");
  so.settle_chunk_payees = o.settle_chunk_payees;
  so.log = [&log](const std::string& line) { log.info(line); };
  const bool standby = !o.standby_of.empty();
  const bool elected = !o.etcd.empty();
  // Whom this server serves as: a failover node is a standby until etcd makes it leader.
  ServingRole role(standby ? o.standby_of : elected ? "no leader elected yet" : "");
  std::atomic<Failover*> failover_ptr{nullptr};
  if (elected)
    so.ledger.may_acknowledge = [&failover_ptr] {
      Failover* f = failover_ptr.load();
      return f != nullptr && f->may_acknowledge();
    };
  // Every server that may lead keeps the log a standby follows; a standby keeps it too, so it can
  // be followed once it leads.
  so.ledger.replication_log = o.replication_log || o.sync_standbys > 0 || standby || elected;
  so.ledger.hold_until_replicated = o.sync_standbys > 0;
  so.ledger.on_commit = [&metrics](const CommitTiming& t) {
    metrics.commit_seconds.observe(t.group_ns);
    metrics.fsync_seconds.observe(t.fsync_ns);
    metrics.commit_group_items.observe(static_cast<int64_t>(t.items));
  };
  so.run_progress = [&metrics](const RunProgress& p) {
    metrics.run_payees_done.set(static_cast<int64_t>(p.payees_done));
    metrics.run_payees_planned.set(static_cast<int64_t>(p.payees_total));
  };
  so.run_done = [&metrics](bool ok, int64_t ns) {
    (ok ? metrics.runs_ok : metrics.runs_error).inc();
    metrics.run_seconds.observe(ns);
  };
  std::unique_ptr<Service> service;
  Status s = Service::open(std::move(so), &service);
  if (!s.ok()) {
    log.error("cannot open the store", {{"data", o.data_dir}, {"error", s.to_string()}});
    return 3;
  }

  // Runs a crash left in progress are completed before anything else of theirs can run (a run
  // of another pay date of the marketplace waits for it), on a thread of their own while the
  // server serves; a shutdown stops them between chunks, still resumable.
  std::atomic<bool> stopping{false};
  std::unique_ptr<Failover> failover;
  if (elected) {
    FailoverOptions fo;
    for (size_t from = 0;;) {
      size_t comma = o.etcd.find(',', from);
      fo.etcd_endpoints.push_back(
          o.etcd.substr(from, comma == std::string::npos ? comma : comma - from));
      if (comma == std::string::npos) break;
      from = comma + 1;
    }
    fo.cluster = o.cluster;
    fo.advertise = o.advertise;
    fo.token = o.token;
    fo.tls_ca_file = o.tls_ca_file;
    fo.ttl_seconds = static_cast<int64_t>(o.lease_ttl_s);
    failover = std::make_unique<Failover>(service->ledger(), fo, role, log, &metrics);
    failover_ptr.store(failover.get());
  }
  std::thread resume([&service, &stopping, standby, &failover] {
    if (standby) return;  // the leader completes its runs; their chunks arrive as change sets
    // A failover node completes them once it leads.
    while (failover && !failover->leading() && !stopping.load())
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (const auto& [mk, date] : service->settlement().runs_in_progress()) {
      if (stopping.load()) return;
      SettleOptions so = service->settle_options();
      so.stop = &stopping;
      const auto started = std::chrono::steady_clock::now();
      auto r = service->settlement().settle(mk, date, so);
      if (!r && r.error().code == Code::interrupted) continue;
      service->report_run(false, r.ok(),
                          std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::steady_clock::now() - started)
                              .count());
      if (!r)
        service->log("run " + mk + ":" + date +
                     " could not be completed at start: " + r.error().message);
    }
  });

  std::thread check([&service, &log, &stopping] { check_books_at_start(*service, log, stopping); });

  // A standby follows its leader on a thread of its own; when it must stop (diverged), the server
  // stops too (exit 4): serving reads of books that no longer follow the leader would mislead.
  StandbyStatus standby_status;
  std::atomic<bool> standby_failed{false};
  std::atomic<int> failover_code{0};
  std::thread follower;
  if (failover)
    follower = std::thread([&failover, &stopping, &failover_code] {
      const int c = failover->run(stopping);
      if (c != 0) {
        failover_code.store(c);
        ::kill(::getpid(), SIGTERM);  // the event loop's thread takes it and drains
      }
    });
  if (standby) {
    StandbyOptions sbo;
    sbo.leader = o.standby_of;
    sbo.token = o.token;
    sbo.tls_ca_file = o.tls_ca_file;
    follower =
        std::thread([&service, sbo, &stopping, &standby_status, &log, &metrics, &standby_failed] {
          if (run_standby(service->ledger(), sbo, stopping, standby_status, log, &metrics) !=
              StandbyEnd::stopped) {
            standby_failed.store(true);
            ::kill(::getpid(), SIGTERM);  // the event loop's thread takes it and drains
          }
        });
  }

  int code = 0;
  {
    auto io = kj::setupAsyncIo();
    auto& timer = io.provider->getTimer();
    ServerOptions opts;
    opts.limits = o.limits;
    if (!o.listen.empty()) opts.listen = o.listen;
    opts.tls = o.tls;
    opts.metrics = &metrics;
    opts.log = &log;
    opts.sync_standbys = o.sync_standbys;
    opts.role = &role;
    opts.lease_ttl_s = elected ? o.lease_ttl_s : 0;
    RpcServer server(*service, opts, io);
    kj::Own<MetricsServer> metrics_server;
    kj::Promise<void> sampling = nullptr;
    if (!o.metrics_listen.empty()) {
      auto m = MetricsServer::listen(timer, io.provider->getNetwork(), o.metrics_listen, registry)
                   .wait(io.waitScope);
      if (!m.ok()) {
        log.error("cannot serve metrics",
                  {{"address", o.metrics_listen}, {"error", m.error().message}});
        code = 3;
      } else {
        metrics_server = kj::mv(*m);
        std::string host = o.metrics_listen.substr(0, o.metrics_listen.rfind(':'));
        log.info("metrics listening",
                 {{"address", host + ":" + std::to_string(metrics_server->port())}});
        sampling = sample_loop(timer, *service, metrics).eagerlyEvaluate(nullptr);
      }
    }
    kj::Maybe<std::string> bound;
    if (code == 0) {
      try {
        bound = server.listen().wait(io.waitScope);
      } catch (const kj::Exception& e) {
        log.error("cannot listen",
                  {{"address", opts.listen}, {"error", e.getDescription().cStr()}});
        code = 3;
      }
    }
    KJ_IF_MAYBE (b, bound) {
      log.info("listening", {{"address", *b},
                             {"role", elected   ? "elected through etcd as " + o.advertise
                                      : standby ? "standby of " + o.standby_of
                                                : "leader"},
                             {"sync_standbys", std::to_string(o.sync_standbys)}});
      auto& port = io.unixEventPort;
      auto sig = port.onSignal(SIGTERM).exclusiveJoin(port.onSignal(SIGINT)).wait(io.waitScope);
      log.info("draining", {{"signal", std::to_string(sig.si_signo)}});
      server.shutdown(30000).wait(io.waitScope);
    }
  }
  stopping.store(true);
  resume.join();
  check.join();
  if (follower.joinable()) follower.join();
  if (standby_failed.load()) code = 4;
  if (failover_code.load() != 0) code = failover_code.load();
  failover_ptr.store(nullptr);
  service.reset();  // the ledger drains anything still queued and closes the store
  return code;
}

}  // namespace

int serve_main(const ServeOptions& o, std::ostream& err) {
  if (o.data_dir.empty()) {
    err << "tally serve: --data DIR is required\n";
    return 2;
  }
  JsonLog log(err, o.log_level);
  // Signals are captured before any thread exists (the ledger's writer), so only the event
  // loop's thread receives them.
  kj::UnixEventPort::captureSignal(SIGTERM);
  kj::UnixEventPort::captureSignal(SIGINT);
  ::signal(SIGPIPE, SIG_IGN);
  for (unsigned rejoins = 0;; ++rejoins) {
    const int code = serve_once(o, log);
    if (code == 0) log.info("stopped");
    if (code != kServeRejoin) return code;
    // A deposed leader's unacknowledged tail (docs/operations.md "Failover"): set the store
    // aside and follow the leader from an empty one, a bounded number of times per process.
    if (rejoins + 1 >= limits::serve_rejoins_max) {
      log.error("diverged again after rejoining: stopped", {{"rejoins", std::to_string(rejoins)}});
      return 4;
    }
    if (!set_store_aside(o.data_dir, log)) return 4;
  }
}

}  // namespace tally
