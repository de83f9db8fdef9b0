// The server's state on its event loop (RpcServerImpl, behind rpc/server.h's RpcServer): the
// listener and connections, posting through the service, the slots for long reads and the
// worker threads they run on. The role capabilities (rpc/capabilities.h) call into it. Internal
// to rpc/.
//
// Thread safety: lives on one thread's kj event loop and is used only there; the worker threads
// it starts touch only their Channel.
#pragma once
// GCC 12 reports false "maybe-uninitialized" positives inside kj::_::ExceptionOr<T> for promises
// of std::vector/std::string-holding values (the value is only read when it was set).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/debug.h>

#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ledger/entry.h"
#include "rpc/replica_stream.h"
#include "rpc/server.h"
#include "rpc/server_channel.h"
#include "rpc/tally.capnp.h"
#include "rpc/token_table.h"
#include "rpc/wire.h"

namespace tally {

class Connection;

// What the server knows of one connection: who it is, what it logged in as, and what its
// timeouts watch. Shared (std::shared_ptr) by the connection and the capabilities it handed
// out, which may outlive it by a turn of the loop.
struct ConnectionInfo {
  std::string peer;    // "10.0.0.7:51234", "[::1]:51234", "unix"
  RoleSet roles;       // granted by its logins so far
  uint64_t calls = 0;  // calls in progress (a follow, an export: until they return)
  kj::TimePoint last_call = kj::origin<kj::TimePoint>();  // the last call started or returned
  unsigned login_failures = 0;                            // refused logins so far
  // Fulfilled to close the connection (its queued replies get a moment to go out first).
  kj::Own<kj::PromiseFulfiller<void>> close;
  bool logged_in() const { return !roles.empty(); }
};

// How long a connection's refused login waits before it answers: 0 for the first
// limits::login_failures_free, then doubling up to limits::login_failure_delay_ms_max.
uint64_t login_delay_ms(unsigned failures);

class RpcServerImpl : private kj::TaskSet::ErrorHandler {
 public:
  RpcServerImpl(Service& service, ServerOptions options, kj::AsyncIoContext& io)
      : service_(service),
        options_(std::move(options)),
        io_(io),
        tokens_(service.config()),
        acks_(service.ledger(), options_.sync_standbys, options_.metrics),
        tasks_(*this) {}
  ~RpcServerImpl() noexcept(false);

  kj::Promise<std::string> listen();
  kj::Promise<void> shutdown(uint64_t grace_ms);
  ServerStats stats() const {
    ServerStats s = stats_;
    s.connections_open = connections_.size();
    s.batches_in_flight = in_flight_;
    return s;
  }

  // Used by the capabilities.
  Service& service() { return service_; }
  const ServerLimits& limits() const { return options_.limits; }
  uint64_t lease_ttl_s() const { return options_.lease_ttl_s; }  // 0: not elected through etcd
  // A standby (--standby-of): writes are refused with not_leader; its leader's address.
  bool standby() const { return options_.role != nullptr && !options_.role->standby_of().empty(); }
  std::string standby_of() const {
    return options_.role != nullptr ? options_.role->standby_of() : std::string();
  }
  StandbyAcks& standby_acks() { return acks_; }
  bool draining() const { return draining_; }
  // The roles `token` grants, counted on `connection`; a refused login is counted and logged
  // with the peer (never the token).
  // A refused login also counts in connection.login_failures; the log line names the failures
  // so far and the delay before the answer (login_delay_ms).
  std::optional<RoleSet> login(std::string_view token, ConnectionInfo& connection);
  ServerMetrics* metrics() { return options_.metrics; }
  kj::Timer& timer() { return io_.provider->getTimer(); }
  template <class Ctx>
  kj::Promise<void> post(Ctx ctx, const RoleSet& roles);
  // Posts decoded items (Service::post); resolves once they are durable.
  kj::Promise<std::vector<ItemResult>> submit(std::vector<PostItem> items, const RoleSet& roles);
  // Sends one chunk a worker produced to the client (a TextSink write, a RunRows call).
  using Sender = std::function<kj::Promise<void>(std::string chunk)>;
  // Runs `work` on a thread of its own (at most limits().long_reads_max at once), relaying the
  // chunks it produces through `send` and its progress to `progress`; resolves to work's result.
  template <class T>
  kj::Promise<T> off_loop(std::function<T(ChunkingSink&, Channel&)> work, kj::Maybe<Sender> send,
                          kj::Maybe<wire::Progress::Client> progress);

  void remove(Connection* c) { connections_.erase(c); }
  void log(LogLevel level, std::string_view msg, const LogFields& fields) {
    if (options_.log != nullptr) options_.log->log(level, msg, fields);
  }

 private:
  void taskFailed(kj::Exception&& e) override {
    KJ_LOG(WARNING, "tally serve: connection task failed", e.getDescription());
  }
  kj::Promise<void> accept_loop();
  void start_connection(kj::Own<kj::AsyncIoStream> stream, std::string peer);
  void role_gauge(Role role, int64_t delta);
  kj::Promise<void> acquire_long_slot();
  void release_long_slot();
  // Relays ch's chunks through `send` and its progress to `progress` (null: dropped), with at
  // most SendWindow::kCallsInFlightMax calls unacknowledged; resolves once every call returned.
  kj::Promise<void> pump(std::shared_ptr<Channel> ch, std::shared_ptr<SendWindow> window,
                         kj::Maybe<Sender> send, std::shared_ptr<wire::Progress::Client> progress);
  kj::Promise<void> drain(uint64_t deadline_ms);

  Service& service_;
  ServerOptions options_;
  kj::AsyncIoContext& io_;
  TokenTable tokens_;
  StandbyAcks acks_;
  kj::Own<kj::ConnectionReceiver> listener_;
  kj::Own<kj::TlsContext> tls_;  // for a "tls:" address
  kj::Promise<void> accepting_ = nullptr;
  std::string unix_path_;  // to remove at shutdown
  std::set<Connection*> connections_;
  ServerStats stats_;
  uint64_t in_flight_ = 0;
  bool draining_ = false;
  size_t long_running_ = 0;
  std::deque<kj::Own<kj::PromiseFulfiller<void>>> long_waiters_;
  struct Worker {
    std::thread thread;
    std::shared_ptr<Channel> channel;
  };
  std::list<Worker> workers_;
  // Declared last, so destroyed first: its tasks own the Connections, whose destructors still
  // use connections_.
  kj::TaskSet tasks_;
  friend class Connection;
};

// What went to a TextSink: the streamed call's trailer (its byte count and SHA-256), which the
// client compares with what it received.
struct SentText {
  uint64_t bytes = 0;
  Sha256Stream sha;
};

// Chunks of text to a client's TextSink, added to `sent` as they go out.
RpcServerImpl::Sender text_sender(wire::TextSink::Client client, std::shared_ptr<SentText> sent);
// A run's rows, encoded on the worker as a RunRows.rows params message, to the client's RunRows.
RpcServerImpl::Sender rows_sender(wire::RunRows::Client client);

// The answer to a store that failed under a call (StoreFailure): a kj exception the client sees
// as the call's failure, OVERLOADED when no reader slot was free (retry), FAILED otherwise,
// its description naming the failure ("store_full: ...", "unavailable: ...", "internal: ...").
kj::Exception store_exception(const StoreFailure& e);

template <class Ctx>
kj::Promise<void> RpcServerImpl::post(Ctx ctx, const RoleSet& roles) {
  if (draining_) return KJ_EXCEPTION(DISCONNECTED, "server is shutting down");
  auto items = ctx.getParams().getItems();
  const size_t n = items.size();
  if (n > options_.limits.batch_items_max) {
    auto out = ctx.getResults().initResults(static_cast<unsigned>(n));
    std::string msg = "batch: " + std::to_string(n) + " items, at most " +
                      std::to_string(options_.limits.batch_items_max) + " per call";
    for (unsigned i = 0; i < n; ++i) {
      auto item = items[i];
      std::string id = item.isEntry()   ? wire::text(item.getEntry().getId())
                       : item.isEvent() ? wire::text(item.getEvent().getId())
                                        : std::string();
      wire::encode_result(out[i], ItemResult::error(reject(Code::batch_too_large, msg),
                                                    std::string(wire::echoed_id(id))));
    }
    return kj::READY_NOW;
  }

  // Decode every item; one that cannot be read is refused, and sinks its linked chain like any
  // refused item (Service::post, ledger/batch.h).
  std::vector<PostItem> batch(n);
  // Money is looked up as JSON input is: the ledger's currencies, and assets this batch declares
  // before it uses them (the ledger then checks the declaration committed first).
  std::vector<tally::Currency> declared;
  for (auto item : items)
    if (item.isAsset()) {
      auto a = item.getAsset();
      auto c = tally::Currency::make(std::string_view(a.getCode().begin(), a.getCode().size()),
                                     a.getExponent());
      if (c) declared.push_back(*c);
    }
  wire::FindCurrency find = [this, &declared](std::string_view code) {
    auto c = service_.ledger().find_currency(code);
    if (c) return c;
    for (const auto& d : declared)
      if (d.code() == code) return std::optional<tally::Currency>(d);
    return std::optional<tally::Currency>();
  };
  for (size_t i = 0; i < n; ++i) {
    auto item = items[static_cast<unsigned>(i)];
    auto r = wire::decode_item(item, find);
    if (r) {
      batch[i] = std::move(*r);
    } else {
      std::string id = item.isEntry()   ? wire::text(item.getEntry().getId())
                       : item.isEvent() ? wire::text(item.getEvent().getId())
                                        : std::string();
      batch[i].linked = item.getLinked();
      batch[i].refused = ItemResult::error(r.error(), std::move(id));
    }
  }
  ctx.releaseParams();
  return submit(std::move(batch), roles).then([ctx](std::vector<ItemResult> r) mutable {
    auto out = ctx.getResults().initResults(static_cast<unsigned>(r.size()));
    for (size_t i = 0; i < r.size(); ++i) wire::encode_result(out[static_cast<unsigned>(i)], r[i]);
  });
}

template <class T>
kj::Promise<T> RpcServerImpl::off_loop(std::function<T(ChunkingSink&, Channel&)> work,
                                       kj::Maybe<Sender> sink,
                                       kj::Maybe<wire::Progress::Client> progress) {
  if (draining_) return KJ_EXCEPTION(DISCONNECTED, "server is shutting down");
  return acquire_long_slot().then([this, work = kj::mv(work), sink = kj::mv(sink),
                                   progress = kj::mv(progress)]() mutable -> kj::Promise<T> {
    auto ch = std::make_shared<Channel>();
    auto paf = kj::newPromiseAndCrossThreadFulfiller<T>();
    auto fulfiller =
        std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<T>>>(kj::mv(paf.fulfiller));
    auto it = workers_.insert(workers_.end(), Worker{{}, ch});
    it->thread = std::thread([ch, fulfiller, work = kj::mv(work)]() mutable {
      ChunkingSink s(*ch);
      std::optional<T> value;
      // A store failure unwinds to here and becomes the call's error; anything else is ours
      // (a bug), still reported on the call rather than taking the server down.
      kj::Maybe<kj::Exception> failed;
      KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                     try {
                       value = work(s, *ch);
                     } catch (const StoreFailure& f) {
                       failed = store_exception(f);
                     }
                   })) {
        failed = kj::mv(*e);
      }
      if (failed == nullptr && !value) failed = KJ_EXCEPTION(FAILED, "internal: no result");
      ch->finish();
      KJ_IF_MAYBE (f, failed) {
        (*fulfiller)->reject(kj::mv(*f));
      } else {
        (*fulfiller)->fulfill(kj::mv(*value));
      }
    });
    std::shared_ptr<wire::Progress::Client> to;
    KJ_IF_MAYBE (p, progress) {
      to = std::make_shared<wire::Progress::Client>(kj::mv(*p));
    }
    auto relayed = pump(ch, std::make_shared<SendWindow>(), kj::mv(sink), kj::mv(to));
    // The result counts once the relayed output has gone out (and failed if it could not).
    return relayed.then([p = kj::mv(paf.promise)]() mutable { return kj::mv(p); })
        .attach(kj::defer([this, it, ch] {
          ch->cancel();
          if (it->thread.joinable()) it->thread.join();
          workers_.erase(it);
          release_long_slot();
        }));
  });
}

}  // namespace tally
