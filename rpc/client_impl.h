// The RPC client's connection and I/O thread (Client::Impl, behind rpc/client.h), with the
// capabilities the client serves back (text sinks, progress, run rows). Internal to rpc/:
// included by rpc/client.cpp and rpc/client_finance.cpp only.
//
// Thread safety: Client::Impl's loop runs on its own I/O thread; callers hand it work through
// its queue (client.h states what a Client may be used from).
// GCC 12 reports false "maybe-uninitialized" positives inside kj::_::ExceptionOr<T> for promises
// of std::vector/std::string-holding values (the value is only read when it was set).
#pragma once
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "rpc/client.h"

#include <capnp/rpc-twoparty.h>
#include <capnp/rpc.h>
#include <kj/async-io.h>
#include <kj/debug.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "ledger/entry.h"
#include "ops/tls.h"
#include "rpc/tally.capnp.h"
#include "rpc/wire.h"

namespace tally {

namespace client_detail {

using VatId = capnp::rpc::twoparty::VatId;

constexpr const char* kConnectTag = "[connect] ";
// A batch answered not_leader, to be tried at the next address (Impl::send_post).
constexpr const char* kNotLeaderTag = "[not_leader] ";

inline uint64_t mono_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

inline bool has(const kj::Exception& e, const char* s) {
  return strstr(e.getDescription().cStr(), s) != nullptr;
}

inline Failure failure_of(const kj::Exception& e, const std::string& address) {
  std::string d = e.getDescription().cStr();
  if (has(e, "unknown token"))
    return Failure{Failure::Kind::not_allowed, "the server refused the token (unknown token)"};
  if (auto p = d.find(kConnectTag); p != std::string::npos)
    return Failure{Failure::Kind::cannot_connect,
                   "cannot connect to " + address + ": " + d.substr(p + strlen(kConnectTag))};
  if (e.getType() == kj::Exception::Type::DISCONNECTED)
    return Failure{Failure::Kind::disconnected, "connection to " + address + " lost: " + d};
  return Failure{Failure::Kind::server_error, "server error: " + d};
}

// Work the I/O thread hands to the calling thread (sink chunks, progress), and the end.
class CallerQueue {
 public:
  void push(std::function<void()> f) {
    std::lock_guard lock(m_);
    events_.push_back(std::move(f));
    cv_.notify_all();
  }
  void finish() {
    std::lock_guard lock(m_);
    done_ = true;
    cv_.notify_all();
  }
  void run_until_done() {
    for (;;) {
      std::unique_lock lock(m_);
      cv_.wait(lock, [&] { return done_ || !events_.empty(); });
      if (!events_.empty()) {
        auto f = std::move(events_.front());
        events_.pop_front();
        lock.unlock();
        f();
        continue;
      }
      return;
    }
  }
  // After the call ended: runs events that still arrive until `enough` holds (true), or none
  // came for `idle` (false). For streams whose last messages reach the receiver after the
  // call's return (Cap'n Proto delivers a streaming call only once the one before completed).
  bool run_until(const std::function<bool()>& enough, std::chrono::milliseconds idle) {
    for (;;) {
      if (enough()) return true;
      std::unique_lock lock(m_);
      if (!cv_.wait_for(lock, idle, [&] { return !events_.empty(); })) return false;
      auto f = std::move(events_.front());
      events_.pop_front();
      lock.unlock();
      f();
    }
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> events_;
  bool done_ = false;
};

struct Conn {
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<capnp::TwoPartyVatNetwork> network;
  kj::Own<capnp::RpcSystem<VatId>> rpc;
  kj::Maybe<wire::Poster::Client> poster;
  kj::Maybe<wire::Auditor::Client> auditor;
  kj::Maybe<wire::Finance::Client> finance;
  kj::Maybe<wire::Replica::Client> replica;
  RoleSet roles;
  ~Conn() {
    // Capabilities before the RPC system, the RPC system before its network and stream.
    poster = nullptr;
    auditor = nullptr;
    finance = nullptr;
    replica = nullptr;
    rpc = nullptr;
    network = nullptr;
  }
};

inline Failure role_missing(std::string_view role) {
  return Failure{Failure::Kind::not_allowed,
                 "not allowed: the token has no " + std::string(role) + " role"};
}

// What a streamed call's sink took (its byte count and SHA-256), to compare with the server's
// trailer once the call is over. Used by one thread at a time.
struct Received {
  uint64_t bytes = 0;
  Sha256Stream sha;
  bool stopped = false;  // the sink returned false: it takes nothing more
  void add(std::string_view chunk) {
    bytes += chunk.size();
    sha.add(chunk);
  }
};

// The streamed output is whole: the bytes received are the bytes the server says it sent, and
// their SHA-256 is the same. Otherwise a Failure naming the difference.
inline std::optional<Failure> trailer_mismatch(std::string_view what, uint64_t sent_bytes,
                                               capnp::Data::Reader sent_sha, Received& got) {
  Digest mine = got.sha.digest();
  if (got.bytes != sent_bytes)
    return Failure{Failure::Kind::server_error,
                   std::string(what) + " arrived incomplete: received " +
                       std::to_string(got.bytes) + " bytes, the server sent " +
                       std::to_string(sent_bytes)};
  if (sent_sha.size() != mine.size() || !std::equal(mine.begin(), mine.end(), sent_sha.begin()))
    return Failure{Failure::Kind::server_error,
                   std::string(what) + " arrived damaged: its SHA-256 differs from the server's (" +
                       std::to_string(got.bytes) + " bytes)"};
  return std::nullopt;
}

// Hands a client's TextSink chunks to the calling thread's sink, in order. Each write returns
// once the caller's sink has taken its chunk, so the server (which answers the streamed call only
// after every write returned) cannot answer before the sink has it all. `got` is touched on the
// calling thread only.
class SinkImpl final : public wire::TextSink::Server {
 public:
  SinkImpl(std::shared_ptr<CallerQueue> q, const TextSink* sink, std::shared_ptr<Received> got)
      : q_(std::move(q)), sink_(sink), got_(std::move(got)) {}
  kj::Promise<void> write(WriteContext ctx) override {
    auto d = ctx.getParams().getChunk();
    std::string chunk(reinterpret_cast<const char*>(d.begin()), d.size());
    auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
    auto f =
        std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<void>>>(kj::mv(paf.fulfiller));
    const TextSink* sink = sink_;
    q_->push([sink, got = got_, chunk = std::move(chunk), f] {
      if (!got->stopped && (*sink)(chunk)) {
        got->add(chunk);
        (*f)->fulfill();
      } else {
        got->stopped = true;
        (*f)->reject(KJ_EXCEPTION(FAILED, "the client stopped reading the export"));
      }
    });
    return kj::mv(paf.promise);
  }

 private:
  std::shared_ptr<CallerQueue> q_;
  const TextSink* sink_;
  std::shared_ptr<Received> got_;
};

// Relays progress to the calling thread; the stage, when the server names one, too.
class ProgressImpl final : public wire::Progress::Server {
 public:
  ProgressImpl(std::shared_ptr<CallerQueue> q, StagedProgressFn fn)
      : q_(std::move(q)), fn_(std::move(fn)) {}
  kj::Promise<void> update(UpdateContext ctx) override {
    uint64_t done = ctx.getParams().getDone(), total = ctx.getParams().getTotal();
    std::string stage = wire::text(ctx.getParams().getStage());
    q_->push([fn = fn_, done, total, stage = std::move(stage)] { fn(done, total, stage); });
    return kj::READY_NOW;
  }

 private:
  std::shared_ptr<CallerQueue> q_;
  StagedProgressFn fn_;
};

// Collects a run's rows as they arrive (on the I/O thread).
class RunRowsImpl final : public wire::RunRows::Server {
 public:
  explicit RunRowsImpl(std::shared_ptr<RunRowsResult> into) : into_(std::move(into)) {}
  kj::Promise<void> rows(RowsContext ctx) override {
    auto part = wire::decode_rows(ctx.getParams());
    if (!part)
      return KJ_EXCEPTION(FAILED, "malformed run rows from the server: " + part.error().message);
    auto move_all = [](auto& into, auto& from) {
      into.insert(into.end(), std::make_move_iterator(from.begin()),
                  std::make_move_iterator(from.end()));
    };
    move_all(into_->released, part->released);
    move_all(into_->payouts, part->payouts);
    move_all(into_->carried, part->carried);
    move_all(into_->reserved, part->reserved);
    move_all(into_->reserve_released, part->reserve_released);
    return kj::READY_NOW;
  }

 private:
  std::shared_ptr<RunRowsResult> into_;
};

template <class T>
Reply<T> malformed(const Rejection& r) {
  return Failure{Failure::Kind::server_error, "malformed reply from the server: " + r.message};
}

}  // namespace client_detail

using namespace client_detail;  // NOLINT: the client's own files only

// --- the I/O thread -----------------------------------------------------------------------------

class Client::Impl : private kj::TaskSet::ErrorHandler {
 public:
  explicit Impl(ClientOptions o) : opts(std::move(o)) {
    // A list of addresses (a leader and its standbys): comma-separated.
    size_t from = 0;
    for (;;) {
      size_t comma = opts.address.find(',', from);
      std::string a = opts.address.substr(from, comma == std::string::npos ? comma : comma - from);
      if (!a.empty()) addrs.push_back(std::move(a));
      if (comma == std::string::npos) break;
      from = comma + 1;
    }
    if (addrs.empty()) addrs.push_back(opts.address);
  }
  // The address connected to (or tried) now; the next after a failure or a not_leader answer.
  std::vector<std::string> addrs;
  std::atomic<size_t> current{0};
  const std::string& addr() const { return addrs[current.load() % addrs.size()]; }
  void next_address() { current.store((current.load() + 1) % addrs.size()); }
  ~Impl() {
    if (thread.joinable()) {
      stop->fulfill();
      thread.join();
    }
  }

  ClientOptions opts;
  std::thread thread;
  kj::Own<const kj::Executor> executor;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> stop;
  std::atomic<uint64_t> connections{0};

  // Loop-thread state.
  kj::AsyncIoContext* io = nullptr;
  kj::TaskSet* tasks = nullptr;
  std::shared_ptr<Conn> conn;
  kj::Own<kj::TlsContext> tls;  // for a "tls:" address, made at the first connect
  kj::Maybe<kj::ForkedPromise<void>> connecting;
  kj::Maybe<kj::Exception> connect_error;

  void start() {
    std::mutex m;
    std::condition_variable cv;
    bool ready = false;
    thread = std::thread([&, this] {
      auto aio = kj::setupAsyncIo();
      kj::TaskSet ts(*this);
      auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
      io = &aio;
      tasks = &ts;
      {
        // Notify with the lock held: `m` and `cv` live on start()'s stack, and start() may return
        // (destroying them) as soon as it sees `ready`, which it can only do after this unlock.
        // Notifying after the unlock raced with that: a caller that checked `ready` before
        // waiting returned at once, and this thread then notified a destroyed condition
        // variable, which hung it inside glibc and every call of the client with it (seen once
        // in a 15-minute soak: bench/server_rss.sh 900 4, the auditor's CLI stuck at connect).
        std::lock_guard lock(m);
        executor = kj::getCurrentThreadExecutor().addRef();
        stop = kj::mv(paf.fulfiller);
        ready = true;
        cv.notify_all();
      }
      paf.promise.wait(aio.waitScope);
      connecting = nullptr;
      conn.reset();
      tls = nullptr;
      tasks = nullptr;
      io = nullptr;
    });
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return ready; });
  }

  // Runs `begin` on the I/O thread and the events it queues on the calling thread, until done.
  template <class T>
  Reply<T> call(std::function<kj::Promise<Reply<T>>(std::shared_ptr<CallerQueue>)> begin) {
    auto q = std::make_shared<CallerQueue>();
    std::optional<Reply<T>> result;
    std::mutex m;
    executor->executeSync([&] {
      tasks->add(begin(q).then(
          [&, q](Reply<T> r) {
            {
              std::lock_guard lock(m);
              result.emplace(std::move(r));
            }
            q->finish();
          },
          [&, q](kj::Exception&& e) {
            {
              std::lock_guard lock(m);
              result.emplace(failure_of(e, addr()));
            }
            q->finish();
          }));
    });
    q->run_until_done();
    std::lock_guard lock(m);
    return std::move(*result);
  }

  kj::Promise<std::shared_ptr<Conn>> ensure() {
    if (conn) return conn;
    if (connecting == nullptr) {
      connect_error = nullptr;
      connecting = open()
                       .then(
                           [this](std::shared_ptr<Conn> c) {
                             conn = std::move(c);
                             ++connections;
                           },
                           [this](kj::Exception&& e) { connect_error = kj::mv(e); })
                       .fork();
    }
    KJ_IF_MAYBE (f, connecting) {
      return f->addBranch().then([this]() -> kj::Promise<std::shared_ptr<Conn>> {
        connecting = nullptr;
        if (conn) return conn;
        KJ_IF_MAYBE (e, connect_error) {
          return kj::cp(*e);
        }
        return KJ_EXCEPTION(DISCONNECTED, "[connect] connection lost while logging in");
      });
    }
    KJ_UNREACHABLE;
  }

  // A plain or TLS stream to the server; a failure is a kConnectTag'ged DISCONNECTED exception.
  kj::Promise<kj::Own<kj::AsyncIoStream>> open_stream() {
    const std::string address = addr();
    if (address.rfind("tls:", 0) != 0)
      return io->provider->getNetwork()
          .parseAddress(address, 7878)
          .then([](kj::Own<kj::NetworkAddress> a) { return a->connect().attach(kj::mv(a)); });
    if (!tls) {
      auto ctx = make_tls_client_context({opts.tls_ca_file});
      if (!ctx.ok()) return KJ_EXCEPTION(FAILED, ctx.error().message.c_str());
      tls = kj::mv(*ctx);
    }
    return tls_connect(*tls, io->provider->getNetwork(), io->provider->getTimer(),
                       address.substr(4), opts.tls_server_name)
        .then([](OpsResult<kj::Own<kj::AsyncIoStream>> r) -> kj::Own<kj::AsyncIoStream> {
          if (!r.ok()) KJ_FAIL_REQUIRE("tls", r.error().message.c_str());
          return kj::mv(*r);
        });
  }

  kj::Promise<std::shared_ptr<Conn>> open() {
    return open_stream().then(
        [this](kj::Own<kj::AsyncIoStream> stream) {
          auto c = std::make_shared<Conn>();
          c->stream = kj::mv(stream);
          capnp::ReaderOptions ro;
          ro.traversalLimitInWords = opts.reply_words_max;
          c->network = kj::heap<capnp::TwoPartyVatNetwork>(*c->stream,
                                                           capnp::rpc::twoparty::Side::CLIENT, ro);
          c->rpc = kj::heap<capnp::RpcSystem<VatId>>(capnp::makeRpcClient(*c->network));
          capnp::word scratch[4];
          memset(scratch, 0, sizeof(scratch));
          capnp::MallocMessageBuilder message(scratch);
          auto vat = message.getRoot<VatId>();
          vat.setSide(capnp::rpc::twoparty::Side::SERVER);
          auto tally = c->rpc->bootstrap(vat).castAs<wire::Tally>();
          auto req = tally.loginRequest();
          req.setToken(wire::text_of(opts.token));
          return req.send().then([c](capnp::Response<wire::Tally::LoginResults> r)
                                     -> kj::Promise<std::shared_ptr<Conn>> {
            if (r.hasError()) return KJ_EXCEPTION(FAILED, "unknown token");
            auto roles = r.getRoles();
            for (auto role : roles) {
              switch (role) {
                case wire::Role::POSTER:
                  c->roles.insert(Role::poster);
                  break;
                case wire::Role::AUDITOR:
                  c->roles.insert(Role::auditor);
                  break;
                case wire::Role::FINANCE:
                  c->roles.insert(Role::finance);
                  break;
                case wire::Role::REPLICA:
                  c->roles.insert(Role::replica);
                  break;
              }
            }
            if (c->roles.count(Role::poster)) c->poster = r.getPoster();
            if (c->roles.count(Role::auditor)) c->auditor = r.getAuditor();
            if (c->roles.count(Role::finance)) c->finance = r.getFinance();
            if (c->roles.count(Role::replica)) c->replica = r.getReplica();
            return c;
          });
        },
        [](kj::Exception&& e) -> kj::Promise<std::shared_ptr<Conn>> {
          auto d = kj::str(kConnectTag, e.getDescription());
          return kj::Exception(kj::Exception::Type::DISCONNECTED, __FILE__, __LINE__, kj::mv(d));
        });
  }

  static bool retryable(const kj::Exception& e) {
    if (has(e, "unknown token")) return false;
    if (has(e, kNotLeaderTag)) return true;
    return e.getType() == kj::Exception::Type::DISCONNECTED ||
           e.getType() == kj::Exception::Type::OVERLOADED;
  }

  // Runs fn on a live connection; a call that breaks is made again on a new one.
  template <class T>
  kj::Promise<T> retry(std::function<kj::Promise<T>(Conn&)> fn, int attempt = 1,
                       std::shared_ptr<uint32_t> attempts = nullptr) {
    if (attempts) *attempts = static_cast<uint32_t>(attempt);
    return ensure()
        .then([this, fn](std::shared_ptr<Conn> c) {
          return fn(*c).catch_([this, c](kj::Exception&& e) -> kj::Promise<T> {
            if ((e.getType() == kj::Exception::Type::DISCONNECTED || has(e, kNotLeaderTag)) &&
                conn == c)
              conn.reset();
            return kj::mv(e);
          });
        })
        .catch_([this, fn, attempt, attempts](kj::Exception&& e) -> kj::Promise<T> {
          if (!retryable(e) || attempt >= opts.max_attempts) return kj::mv(e);
          // With several addresses, the next try goes to the next one (the leader may have moved).
          if (addrs.size() > 1) next_address();
          uint64_t delay =
              std::min<uint64_t>(opts.retry_delay_ms << std::min(attempt - 1, 20), 1000);
          return io->provider->getTimer()
              .afterDelay(delay * kj::MILLISECONDS)
              .then([this, fn, attempt, attempts] { return retry<T>(fn, attempt + 1, attempts); });
        });
  }

  // With several addresses, a batch answered not_leader (a standby, or a leader that lost its
  // lease) goes to the next address: not applied there, or applied and then a duplicate by id.
  template <class Cap>
  kj::Promise<std::vector<ItemResult>> send_post(Cap& cap,
                                                 std::shared_ptr<std::vector<PostItem>> items) {
    const bool others = addrs.size() > 1;
    return send_post_once(cap, items)
        .then([others](std::vector<ItemResult> r) -> kj::Promise<std::vector<ItemResult>> {
          if (others)
            for (const auto& x : r)
              if (x.code == Code::not_leader)
                return KJ_EXCEPTION(DISCONNECTED, kNotLeaderTag, x.message.c_str());
          return r;
        });
  }
  template <class Cap>
  static kj::Promise<std::vector<ItemResult>> send_post_once(
      Cap& cap, std::shared_ptr<std::vector<PostItem>> items) {
    auto req = cap.postRequest();
    auto l = req.initItems(static_cast<unsigned>(items->size()));
    for (size_t i = 0; i < items->size(); ++i)
      wire::encode_item(l[static_cast<unsigned>(i)], (*items)[i]);
    size_t n = items->size();
    return req.send().then([n](auto resp) -> kj::Promise<std::vector<ItemResult>> {
      auto rs = resp.getResults();
      if (rs.size() != n)
        return KJ_EXCEPTION(FAILED, "malformed reply from the server: wrong number of results");
      std::vector<ItemResult> out;
      out.reserve(n);
      for (auto r : rs) out.push_back(wire::decode_result(r));
      return out;
    });
  }

  // One batch with retries; a missing role is a Failure.
  kj::Promise<Reply<BatchOutcome>> post_batch(std::shared_ptr<std::vector<PostItem>> items,
                                              PostVia via) {
    uint64_t t0 = mono_ns();
    auto attempts = std::make_shared<uint32_t>(1);
    auto missing = std::make_shared<std::optional<Failure>>();
    std::function<kj::Promise<std::vector<ItemResult>>(Conn&)> fn =
        [this, items, via, missing](Conn& c) -> kj::Promise<std::vector<ItemResult>> {
      if (via == PostVia::poster) {
        KJ_IF_MAYBE (p, c.poster) {
          return send_post(*p, items);
        }
        *missing = role_missing("poster");
      } else {
        KJ_IF_MAYBE (f, c.finance) {
          return send_post(*f, items);
        }
        *missing = role_missing("finance");
      }
      return std::vector<ItemResult>{};
    };
    return retry<std::vector<ItemResult>>(fn, 1, attempts)
        .then([t0, attempts, missing](std::vector<ItemResult> r) -> Reply<BatchOutcome> {
          if (*missing) return **missing;
          return BatchOutcome{std::move(r), mono_ns() - t0, *attempts};
        });
  }

  // A read on the auditor capability, retried; decode turns the response into the reply.
  template <class T, class Send>
  kj::Promise<Reply<T>> auditor_read(Send send) {
    std::function<kj::Promise<Reply<T>>(Conn&)> fn = [send](Conn& c) -> kj::Promise<Reply<T>> {
      KJ_IF_MAYBE (a, c.auditor) {
        return send(*a);
      }
      return Reply<T>(role_missing("auditor"));
    };
    return retry<Reply<T>>(fn);
  }

 private:
  void taskFailed(kj::Exception&& e) override {
    KJ_LOG(ERROR, "tally client: task failed", e.getDescription());
  }
};

}  // namespace tally
