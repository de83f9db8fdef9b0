// The Cap'n Proto RPC server (contract in rpc/server.h): listening, connections, posting, long
// reads off the loop, shutdown; the capabilities are in rpc/capabilities.cpp.
#include "rpc/server_impl.h"

#include <arpa/inet.h>
#include <capnp/rpc.h>
#include <capnp/serialize.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "rpc/capabilities.h"

namespace tally {

using VatId = capnp::rpc::twoparty::VatId;

// Chunks of text to a client's TextSink, counted and hashed as they go out (the trailer).
// (A capability client does not copy; a Sender does: it holds the client by shared_ptr.)
RpcServerImpl::Sender text_sender(wire::TextSink::Client client, std::shared_ptr<SentText> sent) {
  auto sink = std::make_shared<wire::TextSink::Client>(kj::mv(client));
  return [sink, sent](std::string chunk) -> kj::Promise<void> {
    sent->bytes += chunk.size();
    sent->sha.add(chunk);
    auto req = sink->writeRequest();
    req.setChunk(
        capnp::Data::Reader(reinterpret_cast<const kj::byte*>(chunk.data()), chunk.size()));
    return req.send().ignoreResult();
  };
}
// A run's rows, encoded on the worker as a RunRows.rows params message, to the client's RunRows.
RpcServerImpl::Sender rows_sender(wire::RunRows::Client client) {
  auto sink = std::make_shared<wire::RunRows::Client>(kj::mv(client));
  return [sink](std::string chunk) -> kj::Promise<void> {
    kj::ArrayPtr<const capnp::word> words(reinterpret_cast<const capnp::word*>(chunk.data()),
                                          chunk.size() / sizeof(capnp::word));
    capnp::FlatArrayMessageReader message(words);
    auto rows = message.getRoot<wire::RunRows::RowsParams>();
    auto req = sink->rowsRequest();
    req.setReleased(rows.getReleased());
    req.setPayouts(rows.getPayouts());
    req.setCarried(rows.getCarried());
    req.setReserved(rows.getReserved());
    req.setReserveReleased(rows.getReserveReleased());
    return req.send().ignoreResult();
  };
}

kj::Exception store_exception(const StoreFailure& e) {
  const Status& s = e.status;
  if (s.kind() == Status::Kind::busy)
    return KJ_EXCEPTION(OVERLOADED, "unavailable: ", s.message().c_str());
  if (s.kind() == Status::Kind::store_full)
    return KJ_EXCEPTION(FAILED, "store_full: ", s.message().c_str());
  return KJ_EXCEPTION(FAILED, "internal: ", s.to_string().c_str());
}

class Connection;

// The accepted stream as the connection's network reads it: before a login succeeds it lets
// through at most ServerLimits::unauthenticated_bytes_max bytes (more fails the read, which
// closes the connection); while the replies queued to the peer exceed
// ServerLimits::reply_queued_bytes_max it reads nothing (the peer's next calls wait in the
// kernel, not in the server's memory).
class GuardedStream final : public kj::AsyncIoStream {
 public:
  GuardedStream(kj::Own<kj::AsyncIoStream> inner, Connection& c) : inner_(kj::mv(inner)), c_(c) {}

  kj::Promise<size_t> tryRead(void* buffer, size_t min_bytes, size_t max_bytes) override;
  kj::Promise<void> write(const void* buffer, size_t size) override {
    return inner_->write(buffer, size);
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    return inner_->write(pieces);
  }
  kj::Promise<void> whenWriteDisconnected() override { return inner_->whenWriteDisconnected(); }
  void shutdownWrite() override { inner_->shutdownWrite(); }
  void abortRead() override { inner_->abortRead(); }
  void getsockopt(int level, int option, void* value, uint* length) override {
    inner_->getsockopt(level, option, value, length);
  }
  void setsockopt(int level, int option, const void* value, uint length) override {
    inner_->setsockopt(level, option, value, length);
  }
  void getsockname(struct sockaddr* addr, uint* length) override {
    inner_->getsockname(addr, length);
  }
  void getpeername(struct sockaddr* addr, uint* length) override {
    inner_->getpeername(addr, length);
  }
  uint64_t bytes_read() const { return read_; }

 private:
  kj::Own<kj::AsyncIoStream> inner_;
  Connection& c_;
  uint64_t read_ = 0;  // before login; no longer counted after
};

// One accepted connection: its own network with the server's limits, and its own RPC system;
// it closes when the peer leaves, when it has not logged in within the login timeout, when it
// was idle past the idle timeout, or when asked to (ConnectionInfo::close).
class Connection {
 public:
  Connection(RpcServerImpl& server, kj::Own<kj::AsyncIoStream> stream, std::string peer)
      : server_(server),
        info_(std::make_shared<ConnectionInfo>()),
        stream_(kj::heap<GuardedStream>(kj::mv(stream), *this)),
        network_(*stream_, capnp::rpc::twoparty::Side::SERVER, reader_options(server.limits())),
        rpc_(capnp::makeRpcServer(network_, make_bootstrap(server, info_))) {
    info_->peer = std::move(peer);
    info_->last_call = server_.timer().now();
    connected_at_ = info_->last_call;
    auto paf = kj::newPromiseAndFulfiller<void>();
    info_->close = kj::mv(paf.fulfiller);
    close_asked_ = kj::mv(paf.promise);
    rpc_.setFlowLimit(server.limits().call_words_in_flight_max);
    server_.connections_.insert(this);
    if (auto* m = server_.metrics()) m->connections_open.add(1);
  }
  ~Connection() {
    server_.remove(this);
    if (auto* m = server_.metrics()) m->connections_open.add(-1);
    for (Role r : info_->roles) server_.role_gauge(r, -1);
  }

  // Resolves once the connection is to be destroyed: the peer left or a timeout closed it.
  kj::Promise<void> run() {
    auto asked = kj::mv(close_asked_).then([this] { closing("login_failures_max"); });
    auto closing = watch().exclusiveJoin(kj::mv(asked)).then([this] { return flush(20); });
    return network_.onDisconnect().exclusiveJoin(kj::mv(closing));
  }
  size_t queued() { return network_.getCurrentQueueCount(); }
  size_t queued_bytes() { return network_.getCurrentQueueSize(); }
  void close() { stream_->shutdownWrite(); }
  bool logged_in() const { return info_->logged_in(); }
  RpcServerImpl& server() { return server_; }
  const ConnectionInfo& info() const { return *info_; }

  // Logs why the connection is closed (once).
  void closing(std::string_view reason) {
    if (closed_logged_) return;
    closed_logged_ = true;
    server_.log(LogLevel::warn, "connection closed",
                {{"peer", info_->peer}, {"reason", std::string(reason)}});
  }

 private:
  static capnp::ReaderOptions reader_options(const ServerLimits& l) {
    capnp::ReaderOptions o;
    o.traversalLimitInWords = l.message_words_max;
    o.nestingLimit = l.message_nesting_max;
    return o;
  }
  // Resolves when a timeout closes the connection: the login timeout until a login succeeded,
  // then the idle timeout (a call in progress is never idle).
  kj::Promise<void> watch() {
    const ServerLimits& l = server_.limits();
    kj::Timer& timer = server_.timer();
    const kj::TimePoint now = timer.now();
    if (!logged_in()) {
      if (l.login_timeout_ms == 0)
        return timer.afterDelay(1 * kj::SECONDS).then([this] { return watch(); });
      const kj::TimePoint deadline = connected_at_ + l.login_timeout_ms * kj::MILLISECONDS;
      if (now >= deadline) {
        closing("login_timeout");
        return kj::READY_NOW;
      }
      // Woken now and then to move on to the idle timeout once a login succeeded.
      return timer.atTime(std::min(deadline, now + 100 * kj::MILLISECONDS)).then([this] {
        return watch();
      });
    }
    if (l.idle_timeout_ms == 0) return kj::NEVER_DONE;
    const kj::Duration idle = l.idle_timeout_ms * kj::MILLISECONDS;
    if (info_->calls > 0) return timer.afterDelay(idle).then([this] { return watch(); });
    const kj::TimePoint deadline = info_->last_call + idle;
    if (now >= deadline) {
      closing("idle_timeout");
      return kj::READY_NOW;
    }
    return timer.atTime(deadline).then([this] { return watch(); });
  }
  // Gives the replies already queued a moment to go out (at most `ticks` * 10 ms), then resolves.
  kj::Promise<void> flush(int ticks) {
    return server_.timer().afterDelay(10 * kj::MILLISECONDS).then([this, ticks] {
      if (queued() == 0 || ticks <= 1) return kj::Promise<void>(kj::READY_NOW);
      return flush(ticks - 1);
    });
  }

  RpcServerImpl& server_;
  std::shared_ptr<ConnectionInfo> info_;
  kj::Own<GuardedStream> stream_;
  capnp::TwoPartyVatNetwork network_;
  capnp::RpcSystem<VatId> rpc_;
  kj::TimePoint connected_at_ = kj::origin<kj::TimePoint>();
  kj::Promise<void> close_asked_ = nullptr;
  bool closed_logged_ = false;
};

kj::Promise<size_t> GuardedStream::tryRead(void* buffer, size_t min_bytes, size_t max_bytes) {
  const ServerLimits& l = c_.server().limits();
  if (c_.queued_bytes() > l.reply_queued_bytes_max) {
    // The peer does not read its replies: read no more calls until they drain.
    return c_.server()
        .timer()
        .afterDelay(10 * kj::MILLISECONDS)
        .then(
            [this, buffer, min_bytes, max_bytes] { return tryRead(buffer, min_bytes, max_bytes); });
  }
  if (c_.logged_in()) return inner_->tryRead(buffer, min_bytes, max_bytes);
  if (read_ + min_bytes > l.unauthenticated_bytes_max) {
    c_.closing("unauthenticated_bytes_max");
    return KJ_EXCEPTION(DISCONNECTED, "more than unauthenticated_bytes_max before a login");
  }
  const size_t allowed = std::min<uint64_t>(max_bytes, l.unauthenticated_bytes_max - read_);
  return inner_->tryRead(buffer, min_bytes, allowed).then([this](size_t n) {
    read_ += n;
    return n;
  });
}

RpcServerImpl::~RpcServerImpl() noexcept(false) {
  accepting_ = nullptr;
  listener_ = nullptr;
  for (auto& w : workers_) w.channel->cancel();
  for (auto& w : workers_)
    if (w.thread.joinable()) w.thread.join();
  if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
}

namespace {

// Removes a unix socket file nobody listens on (left by a server that died), so a restart
// serves at once. A socket someone answers on is left alone: the bind then fails.
void remove_stale_socket(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    ::close(fd);
    return;
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  int err = errno;
  ::close(fd);
  if (!live && err == ECONNREFUSED) ::unlink(path.c_str());
}

// The peer of an accepted stream as "host:port" ("[v6]:port"), "unix" for a unix socket.
std::string peer_of(kj::AsyncIoStream& stream) {
  sockaddr_storage ss{};
  uint len = sizeof ss;
  try {
    stream.getpeername(reinterpret_cast<sockaddr*>(&ss), &len);
  } catch (const kj::Exception&) {
    return "unknown";
  }
  char host[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    return std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
  }
  if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(a->sin6_port));
  }
  if (ss.ss_family == AF_UNIX) return "unix";
  return "unknown";
}

}  // namespace

std::optional<RoleSet> RpcServerImpl::login(std::string_view token, ConnectionInfo& connection) {
  auto r = tokens_.find(token);
  if (!r) {
    ++stats_.logins_refused;
    const unsigned failures = ++connection.login_failures;
    if (options_.metrics != nullptr) options_.metrics->logins_refused.inc();
    log(LogLevel::warn, "login refused",
        {{"peer", connection.peer},
         {"code", "unknown_token"},
         {"failures", std::to_string(failures)},
         {"delay_ms", std::to_string(login_delay_ms(failures))},
         {"closing", failures >= limits::login_failures_max ? "true" : "false"}});
    return r;
  }
  for (Role role : *r)
    if (connection.roles.insert(role).second) role_gauge(role, 1);
  return r;
}

void RpcServerImpl::role_gauge(Role role, int64_t delta) {
  if (options_.metrics == nullptr) return;
  switch (role) {
    case Role::poster:
      options_.metrics->connections_poster.add(delta);
      break;
    case Role::auditor:
      options_.metrics->connections_auditor.add(delta);
      break;
    case Role::finance:
      options_.metrics->connections_finance.add(delta);
      break;
    case Role::replica:
      options_.metrics->connections_replica.add(delta);
      break;
  }
}

kj::Promise<std::string> RpcServerImpl::listen() {
  std::string addr = options_.listen;
  std::string path;
  if (addr.rfind("unix:", 0) == 0) {
    path = addr.substr(5);
    remove_stale_socket(path);
  }
  if (addr.rfind("tls:", 0) == 0) {
    addr = addr.substr(4);
    auto ctx = make_tls_server_context(options_.tls);
    if (!ctx.ok()) return KJ_EXCEPTION(FAILED, "tls: ", ctx.error().message.c_str());
    tls_ = kj::mv(*ctx);
  }
  return io_.provider->getNetwork()
      .parseAddress(addr, kDefaultPort)
      .then([this, addr, path](kj::Own<kj::NetworkAddress> a) {
        listener_ = a->listen();
        // Ours to remove at shutdown only once bound: a failed bind leaves another's alone.
        unix_path_ = path;
        std::string bound = addr;
        if (path.empty()) {
          std::string host = addr.substr(0, addr.rfind(':'));
          if (addr.find(':') == std::string::npos) host = addr;
          bound = (tls_ ? "tls:" : "") + host + ":" + std::to_string(listener_->getPort());
        }
        accepting_ = accept_loop().eagerlyEvaluate([](kj::Exception&& e) {
          KJ_LOG(ERROR, "tally serve: accept failed", e.getDescription());
        });
        return bound;
      });
}

kj::Promise<void> RpcServerImpl::accept_loop() {
  return listener_->accept().then([this](kj::Own<kj::AsyncIoStream> stream) {
    std::string peer = peer_of(*stream);
    if (draining_ || connections_.size() >= options_.limits.connections_max) {
      ++stats_.connections_refused;  // the stream closes as it goes out of scope
      log(LogLevel::warn, "connection refused",
          {{"peer", peer}, {"reason", draining_ ? "draining" : "connections_max"}});
    } else if (tls_) {
      // The handshake (bounded) happens off the accept loop; a peer that fails it is logged.
      tasks_.add(tls_accept(*tls_, io_.provider->getTimer(), kj::mv(stream))
                     .then([this, peer](OpsResult<kj::Own<kj::AsyncIoStream>> r) mutable {
                       if (!r.ok()) {
                         log(LogLevel::warn, "tls handshake failed",
                             {{"peer", peer}, {"error", r.error().message}});
                         return;
                       }
                       if (draining_) return;
                       start_connection(kj::mv(*r), std::move(peer));
                     }));
    } else {
      start_connection(kj::mv(stream), std::move(peer));
    }
    return accept_loop();
  });
}

void RpcServerImpl::start_connection(kj::Own<kj::AsyncIoStream> stream, std::string peer) {
  ++stats_.connections_accepted;
  auto c = kj::heap<Connection>(*this, kj::mv(stream), std::move(peer));
  auto done = c->run();
  tasks_.add(done.attach(kj::mv(c)).catch_([](kj::Exception&&) {}));
}

kj::Promise<std::vector<ItemResult>> RpcServerImpl::submit(std::vector<PostItem> items,
                                                           const RoleSet& roles) {
  // The writer thread fulfils this once the batch is durable; the loop goes on meanwhile.
  auto paf = kj::newPromiseAndCrossThreadFulfiller<std::vector<ItemResult>>();
  auto fulfiller =
      std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<std::vector<ItemResult>>>>(
          kj::mv(paf.fulfiller));
  ++in_flight_;
  ServerMetrics* m = options_.metrics;
  const auto arrived = std::chrono::steady_clock::now();
  service_.post(std::move(items), roles, [fulfiller, m, arrived](std::vector<ItemResult> r) {
    if (m != nullptr) {  // counted on the writer thread: relaxed atomics
      for (const auto& x : r) {
        if (x.status == ItemStatus::ok)
          m->posted_ok.inc();
        else if (x.status == ItemStatus::duplicate)
          m->posted_duplicate.inc();
        else
          m->posted_error.inc();
      }
      m->post_seconds.observe(std::chrono::steady_clock::now() - arrived);
    }
    (*fulfiller)->fulfill(kj::mv(r));
  });
  // A full store is the operator's to fix: it is logged (once a batch) besides each item's
  // store_full result.
  return paf.promise
      .then([this](std::vector<ItemResult> r) {
        for (const auto& x : r)
          if (x.code == Code::store_full) {
            log(LogLevel::error, "store full", {{"error", x.message}});
            break;
          }
        return r;
      })
      .attach(kj::defer([this] { --in_flight_; }));
}

kj::Promise<void> RpcServerImpl::acquire_long_slot() {
  if (long_running_ < options_.limits.long_reads_max) {
    ++long_running_;
    return kj::READY_NOW;
  }
  auto paf = kj::newPromiseAndFulfiller<void>();
  long_waiters_.push_back(kj::mv(paf.fulfiller));
  return kj::mv(paf.promise);
}

void RpcServerImpl::release_long_slot() {
  while (!long_waiters_.empty()) {
    auto f = kj::mv(long_waiters_.front());
    long_waiters_.pop_front();
    if (f->isWaiting()) {
      f->fulfill();  // the slot passes to the waiter
      return;
    }
  }
  --long_running_;
}

kj::Promise<void> RpcServerImpl::pump(std::shared_ptr<Channel> ch,
                                      std::shared_ptr<SendWindow> window, kj::Maybe<Sender> send,
                                      std::shared_ptr<wire::Progress::Client> progress) {
  auto next = ch->take();
  kj::Promise<void> step = kj::READY_NOW;
  if (next.progress && progress) {
    step = window->room().then([window, progress, pr = std::move(*next.progress)] {
      auto req = progress->updateRequest();
      req.setDone(pr.done);
      req.setTotal(pr.total);
      req.setStage(wire::text_of(pr.stage));
      window->add(req.send().ignoreResult());
    });
  }
  if (next.chunk) {
    KJ_IF_MAYBE (s, send) {
      step = step.then([window] { return window->room(); })
                 .then([window, s = *s, chunk = std::move(*next.chunk)]() mutable {
                   window->add(s(std::move(chunk)));
                 });
    }
  }
  // The call answers only once every write and update it sent has returned.
  if (next.finished) return step.then([window] { return SendWindow::drain(window); });
  bool got = next.chunk || next.progress;
  return step.then([this, ch, window, got, send = kj::mv(send), progress]() mutable {
    kj::Promise<void> wait = got ? kj::Promise<void>(kj::READY_NOW) : ch->when_ready();
    return wait.then([this, ch, window, send = kj::mv(send), progress]() mutable {
      return pump(ch, window, kj::mv(send), progress);
    });
  });
}

kj::Promise<void> RpcServerImpl::drain(uint64_t deadline_ms) {
  bool idle = in_flight_ == 0 && workers_.empty();
  if (idle) {
    for (auto* c : connections_)
      if (c->queued() > 0) idle = false;
  }
  uint64_t now_ms = static_cast<uint64_t>(
      (io_.provider->getTimer().now() - kj::origin<kj::TimePoint>()) / kj::MILLISECONDS);
  if (idle || now_ms >= deadline_ms) return kj::READY_NOW;
  return io_.provider->getTimer().afterDelay(5 * kj::MILLISECONDS).then([this, deadline_ms] {
    return drain(deadline_ms);
  });
}

kj::Promise<void> RpcServerImpl::shutdown(uint64_t grace_ms) {
  draining_ = true;
  accepting_ = nullptr;
  listener_ = nullptr;
  if (!unix_path_.empty()) {
    ::unlink(unix_path_.c_str());
    unix_path_.clear();
  }
  uint64_t now_ms = static_cast<uint64_t>(
      (io_.provider->getTimer().now() - kj::origin<kj::TimePoint>()) / kj::MILLISECONDS);
  return drain(now_ms + grace_ms).then([this] {
    for (auto* c : connections_) c->close();
  });
}

// --- public wrappers ----------------------------------------------------------------------------

RpcServer::RpcServer(Service& service, ServerOptions options, kj::AsyncIoContext& io)
    : impl_(kj::heap<RpcServerImpl>(service, std::move(options), io)) {}
RpcServer::~RpcServer() = default;
kj::Promise<std::string> RpcServer::listen() {
  return impl_->listen();
}
kj::Promise<void> RpcServer::shutdown(uint64_t grace_ms) {
  return impl_->shutdown(grace_ms);
}
ServerStats RpcServer::stats() const {
  return impl_->stats();
}

}  // namespace tally
