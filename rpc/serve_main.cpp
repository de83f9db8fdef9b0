// `tally serve` (contract in rpc/server.h): the service, the runs a crash left in progress, the
// server on this thread's loop until a signal.
#include <kj/async-unix.h>
#include <signal.h>

#include <atomic>
#include <ostream>
#include <thread>

#include "rpc/server.h"
#include "service/settlement_ops.h"

namespace tally {

int serve_main(const std::string& data_dir, const std::string& config_file,
               const std::string& listen, uint64_t settle_chunk_payees, std::ostream& err) {
  if (data_dir.empty()) {
    err << "tally serve: --data DIR is required\n";
    return 2;
  }
  // Signals are captured before any thread exists (the ledger's writer), so only the event
  // loop's thread receives them.
  kj::UnixEventPort::captureSignal(SIGTERM);
  kj::UnixEventPort::captureSignal(SIGINT);
  ::signal(SIGPIPE, SIG_IGN);

  ServiceOptions so;
  so.data_dir = data_dir;
  if (!config_file.empty()) {
    CurrencyTable currencies;
    auto cfg = load_config_file(config_file, currencies);
    if (!cfg) {
      err << "tally serve: " << cfg.error().message << "\n";
      return 2;  // a config that does not load is a usage error, as for every command (docs/cli.md)
    }
    so.config = std::move(*cfg);
  }
  if (so.config.tokens.empty())
    err << "tally serve: warning: no [tokens] configured; every login will be refused\n";
  so.settle_chunk_payees = settle_chunk_payees;
  so.log = [&err](const std::string& line) { err << "tally: " << line << "\n" << std::flush; };
  std::unique_ptr<Service> service;
  Status s = Service::open(std::move(so), &service);
  if (!s.ok()) {
    err << "tally serve: " << s.to_string() << "\n";
    return 3;
  }

  // Runs a crash left in progress are completed before anything else of theirs can run (a run
  // of another pay date of the marketplace waits for it), on a thread of their own while the
  // server serves; a shutdown stops them between chunks, still resumable.
  std::atomic<bool> stopping{false};
  std::thread resume([&service, &stopping] {
    for (const auto& [mk, date] : service->settlement().runs_in_progress()) {
      if (stopping.load()) return;
      SettleOptions o = service->settle_options();
      o.stop = &stopping;
      auto r = service->settlement().settle(mk, date, o);
      if (!r && r.error().code != Code::interrupted)
        service->log("run " + mk + ":" + date +
                     " could not be completed at start: " + r.error().message);
    }
  });

  int code = 0;
  {
    auto io = kj::setupAsyncIo();
    ServerOptions opts;
    if (!listen.empty()) opts.listen = listen;
    RpcServer server(*service, opts, io);
    kj::Maybe<std::string> bound;
    try {
      bound = server.listen().wait(io.waitScope);
    } catch (const kj::Exception& e) {
      err << "tally serve: cannot listen on " << opts.listen << ": " << e.getDescription().cStr()
          << "\n";
      code = 3;
    }
    KJ_IF_MAYBE (b, bound) {
      err << "tally: listening on " << *b << "\n" << std::flush;
      auto& port = io.unixEventPort;
      auto sig = port.onSignal(SIGTERM).exclusiveJoin(port.onSignal(SIGINT)).wait(io.waitScope);
      err << "tally: signal " << sig.si_signo << ", draining\n" << std::flush;
      server.shutdown(30000).wait(io.waitScope);
    }
  }
  stopping.store(true);
  resume.join();
  service.reset();  // the ledger drains anything still queued and closes the store
  if (code == 0) err << "tally: stopped\n";
  return code;
}

}  // namespace tally
