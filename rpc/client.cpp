// The RPC client (contract in rpc/client.h).
// GCC 12 reports false "maybe-uninitialized" positives inside kj::_::ExceptionOr<T> for promises
// of std::vector/std::string-holding values (the value is only read when it was set).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "rpc/client.h"

#include <capnp/rpc-twoparty.h>
#include <capnp/rpc.h>
#include <kj/async-io.h>
#include <kj/debug.h>

#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "rpc/tally.capnp.h"
#include "rpc/wire.h"

namespace tally {

namespace {

using VatId = capnp::rpc::twoparty::VatId;

constexpr const char* kConnectTag = "[connect] ";

uint64_t mono_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

bool has(const kj::Exception& e, const char* s) {
  return strstr(e.getDescription().cStr(), s) != nullptr;
}

Failure failure_of(const kj::Exception& e, const std::string& address) {
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
  RoleSet roles;
  ~Conn() {
    // Capabilities before the RPC system, the RPC system before its network and stream.
    poster = nullptr;
    auditor = nullptr;
    finance = nullptr;
    rpc = nullptr;
    network = nullptr;
  }
};

Failure role_missing(std::string_view role) {
  return Failure{Failure::Kind::not_allowed,
                 "not allowed: the token has no " + std::string(role) + " role"};
}

// Sends a client's TextSink chunks to the calling thread's sink, one at a time.
class SinkImpl final : public wire::TextSink::Server {
 public:
  SinkImpl(std::shared_ptr<CallerQueue> q, const TextSink* sink) : q_(std::move(q)), sink_(sink) {}
  kj::Promise<void> write(WriteContext ctx) override {
    auto d = ctx.getParams().getChunk();
    std::string chunk(reinterpret_cast<const char*>(d.begin()), d.size());
    auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
    auto f =
        std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<void>>>(kj::mv(paf.fulfiller));
    const TextSink* sink = sink_;
    q_->push([sink, chunk = std::move(chunk), f] {
      if ((*sink)(chunk))
        (*f)->fulfill();
      else
        (*f)->reject(KJ_EXCEPTION(FAILED, "the client stopped reading the export"));
    });
    return kj::mv(paf.promise);
  }

 private:
  std::shared_ptr<CallerQueue> q_;
  const TextSink* sink_;
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
    return kj::READY_NOW;
  }

 private:
  std::shared_ptr<RunRowsResult> into_;
};

template <class T>
Reply<T> malformed(const Rejection& r) {
  return Failure{Failure::Kind::server_error, "malformed reply from the server: " + r.message};
}

}  // namespace

// --- the I/O thread -----------------------------------------------------------------------------

class Client::Impl : private kj::TaskSet::ErrorHandler {
 public:
  explicit Impl(ClientOptions o) : opts(std::move(o)) {}
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
              result.emplace(failure_of(e, opts.address));
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

  kj::Promise<std::shared_ptr<Conn>> open() {
    return io->provider->getNetwork()
        .parseAddress(opts.address, 7878)
        .then([](kj::Own<kj::NetworkAddress> a) { return a->connect().attach(kj::mv(a)); })
        .then(
            [this](kj::Own<kj::AsyncIoStream> stream) {
              auto c = std::make_shared<Conn>();
              c->stream = kj::mv(stream);
              capnp::ReaderOptions ro;
              ro.traversalLimitInWords = opts.reply_words_max;
              c->network = kj::heap<capnp::TwoPartyVatNetwork>(
                  *c->stream, capnp::rpc::twoparty::Side::CLIENT, ro);
              c->rpc = kj::heap<capnp::RpcSystem<VatId>>(capnp::makeRpcClient(*c->network));
              capnp::word scratch[4];
              memset(scratch, 0, sizeof(scratch));
              capnp::MallocMessageBuilder message(scratch);
              auto vat = message.getRoot<VatId>();
              vat.setSide(capnp::rpc::twoparty::Side::SERVER);
              auto tally = c->rpc->bootstrap(vat).castAs<wire::Tally>();
              auto req = tally.loginRequest();
              req.setToken(wire::text_of(opts.token));
              return req.send().then([c](capnp::Response<wire::Tally::LoginResults> r) {
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
                  }
                }
                if (c->roles.count(Role::poster)) c->poster = r.getPoster();
                if (c->roles.count(Role::auditor)) c->auditor = r.getAuditor();
                if (c->roles.count(Role::finance)) c->finance = r.getFinance();
                return c;
              });
            },
            [](kj::Exception&& e) -> kj::Promise<std::shared_ptr<Conn>> {
              auto d = kj::str(kConnectTag, e.getDescription());
              return kj::Exception(kj::Exception::Type::DISCONNECTED, __FILE__, __LINE__,
                                   kj::mv(d));
            });
  }

  static bool retryable(const kj::Exception& e) {
    if (has(e, "unknown token")) return false;
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
            if (e.getType() == kj::Exception::Type::DISCONNECTED && conn == c) conn.reset();
            return kj::mv(e);
          });
        })
        .catch_([this, fn, attempt, attempts](kj::Exception&& e) -> kj::Promise<T> {
          if (!retryable(e) || attempt >= opts.max_attempts) return kj::mv(e);
          uint64_t delay =
              std::min<uint64_t>(opts.retry_delay_ms << std::min(attempt - 1, 20), 1000);
          return io->provider->getTimer()
              .afterDelay(delay * kj::MILLISECONDS)
              .then([this, fn, attempt, attempts] { return retry<T>(fn, attempt + 1, attempts); });
        });
  }

  template <class Cap>
  static kj::Promise<std::vector<ItemResult>> send_post(
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
        [items, via, missing](Conn& c) -> kj::Promise<std::vector<ItemResult>> {
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

// --- Client -------------------------------------------------------------------------------------

Reply<std::unique_ptr<Client>> Client::connect(ClientOptions options) {
  ::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<Client> c(new Client());
  c->impl_ = std::make_unique<Impl>(std::move(options));
  c->impl_->start();
  Impl& impl = *c->impl_;
  auto r = impl.call<RoleSet>([&impl](std::shared_ptr<CallerQueue>) {
    return impl.ensure().then(
        [](std::shared_ptr<Conn> conn) { return Reply<RoleSet>(conn->roles); });
  });
  if (r.failed()) return r.failure();
  c->roles_ = r.value();
  return c;
}

Client::~Client() = default;

const std::string& Client::address() const {
  return impl_->opts.address;
}

uint64_t Client::connections() const {
  return impl_->connections.load();
}

Reply<BatchOutcome> Client::post(std::vector<PostItem> items, PostVia via) {
  auto shared = std::make_shared<std::vector<PostItem>>(std::move(items));
  Impl& impl = *impl_;
  return impl.call<BatchOutcome>(
      [&impl, shared, via](std::shared_ptr<CallerQueue>) { return impl.post_batch(shared, via); });
}

Client::Pipelined Client::post_pipelined(std::vector<PostBatch> batches, size_t window,
                                         const ProgressFn& progress) {
  struct State {
    std::vector<std::shared_ptr<std::vector<PostItem>>> batches;
    std::vector<PostVia> vias;
    std::vector<std::optional<BatchOutcome>> out;
    size_t next = 0;
    uint64_t total_items = 0, done_items = 0;
    std::optional<std::pair<size_t, Failure>> failure;  // first failing batch index
  };
  auto st = std::make_shared<State>();
  for (auto& b : batches) {
    st->total_items += b.items.size();
    st->vias.push_back(b.via);
    st->batches.push_back(std::make_shared<std::vector<PostItem>>(std::move(b.items)));
  }
  st->out.resize(st->batches.size());
  Impl& impl = *impl_;
  const ProgressFn* prog = progress ? &progress : nullptr;
  auto r = impl.call<bool>([&impl, st, window, prog](std::shared_ptr<CallerQueue> q) {
    // Each lane posts one batch at a time, then takes the next; `window` lanes run at once.
    auto lane = std::make_shared<std::function<kj::Promise<void>()>>();
    auto* next_lane = lane.get();  // alive until the joined promise completes (attached below)
    *lane = [&impl, st, prog, q, next_lane]() -> kj::Promise<void> {
      if (st->failure || st->next >= st->batches.size()) return kj::READY_NOW;
      size_t i = st->next++;
      return impl.post_batch(st->batches[i], st->vias[i])
          .then([st, i, prog, q, next_lane](Reply<BatchOutcome> r) {
            if (r.ok()) {
              st->done_items += st->batches[i]->size();
              st->out[i] = std::move(r.value());
              if (prog) {
                uint64_t d = st->done_items, t = st->total_items;
                q->push([prog, d, t] { (*prog)(d, t); });
              }
            } else if (!st->failure || st->failure->first > i) {
              st->failure.emplace(
                  i, r.failed() ? r.failure()
                                : Failure{Failure::Kind::server_error, r.rejection().message});
            }
            return (*next_lane)();
          });
    };
    size_t lanes = std::max<size_t>(1, std::min(window, st->batches.size()));
    auto promises = kj::heapArrayBuilder<kj::Promise<void>>(lanes);
    for (size_t k = 0; k < lanes; ++k) promises.add((*lane)());
    return kj::joinPromises(promises.finish())
        .then([]() { return Reply<bool>(true); })
        .attach(kj::mv(lane));
  });
  Pipelined res;
  size_t limit = st->failure ? st->failure->first : st->batches.size();
  for (size_t i = 0; i < limit && st->out[i]; ++i) res.batches.push_back(std::move(*st->out[i]));
  if (st->failure)
    res.failure = st->failure->second;
  else if (r.failed())
    res.failure = r.failure();
  return res;
}

namespace {
void set_instant(wire::Instant::Builder b, TimeNs t) {
  b.setNs(t);
}
}  // namespace

Reply<BalanceResult> Client::balance(const BalanceQuery& q) {
  Impl& impl = *impl_;
  return impl.call<BalanceResult>([&impl, q](std::shared_ptr<CallerQueue>) {
    return impl.auditor_read<BalanceResult>([q](wire::Auditor::Client& a) {
      auto req = a.balanceRequest();
      req.setAccount(wire::text_of(q.account));
      if (q.currency) req.setCurrency(wire::text_of(*q.currency));
      if (q.as_of) set_instant(req.initAsOf(), *q.as_of);
      return req.send().then([](auto resp) -> Reply<BalanceResult> {
        if (resp.hasError()) return wire::decode_error(resp.getError());
        auto r = wire::decode(resp.getResult());
        if (!r) return malformed<BalanceResult>(r.error());
        return std::move(*r);
      });
    });
  });
}

Reply<BalancesResult> Client::balances(const std::string& prefix, std::optional<TimeNs> as_of) {
  Impl& impl = *impl_;
  return impl.call<BalancesResult>([&impl, prefix, as_of](std::shared_ptr<CallerQueue>) {
    return impl.auditor_read<BalancesResult>([prefix, as_of](wire::Auditor::Client& a) {
      auto req = a.balancesRequest();
      req.setPrefix(wire::text_of(prefix));
      if (as_of) set_instant(req.initAsOf(), *as_of);
      return req.send().then([](auto resp) -> Reply<BalancesResult> {
        if (resp.hasError()) return wire::decode_error(resp.getError());
        auto r = wire::decode(resp.getResult());
        if (!r) return malformed<BalancesResult>(r.error());
        return std::move(*r);
      });
    });
  });
}

Reply<StatementResult> Client::statement(const StatementQuery& q) {
  Impl& impl = *impl_;
  return impl.call<StatementResult>([&impl, q](std::shared_ptr<CallerQueue>) {
    return impl.auditor_read<StatementResult>([q](wire::Auditor::Client& a) {
      auto req = a.statementRequest();
      wire::encode(req.initQuery(), q);
      return req.send().then([](auto resp) -> Reply<StatementResult> {
        if (resp.hasError()) return wire::decode_error(resp.getError());
        auto r = wire::decode(resp.getResult());
        if (!r) return malformed<StatementResult>(r.error());
        return std::move(*r);
      });
    });
  });
}

Reply<EntryView> Client::entry(const std::string& id) {
  Impl& impl = *impl_;
  return impl.call<EntryView>([&impl, id](std::shared_ptr<CallerQueue>) {
    return impl.auditor_read<EntryView>([id](wire::Auditor::Client& a) {
      auto req = a.entryRequest();
      req.setId(wire::text_of(id));
      return req.send().then([](auto resp) -> Reply<EntryView> {
        if (resp.hasError()) return wire::decode_error(resp.getError());
        auto r = wire::decode(resp.getResult());
        if (!r) return malformed<EntryView>(r.error());
        return std::move(*r);
      });
    });
  });
}

Reply<TrialBalanceResult> Client::trial_balance(std::optional<TimeNs> as_of) {
  Impl& impl = *impl_;
  return impl.call<TrialBalanceResult>([&impl, as_of](std::shared_ptr<CallerQueue>) {
    return impl.auditor_read<TrialBalanceResult>([as_of](wire::Auditor::Client& a) {
      auto req = a.trialBalanceRequest();
      if (as_of) set_instant(req.initAsOf(), *as_of);
      return req.send().then([](auto resp) -> Reply<TrialBalanceResult> {
        if (resp.hasError()) return wire::decode_error(resp.getError());
        auto r = wire::decode(resp.getResult());
        if (!r) return malformed<TrialBalanceResult>(r.error());
        return std::move(*r);
      });
    });
  });
}

Reply<VerifyReport> Client::verify(const ProgressFn& progress) {
  Impl& impl = *impl_;
  StagedProgressFn staged;
  if (progress)
    staged = [&progress](uint64_t done, uint64_t total, const std::string&) {
      progress(done, total);
    };
  return impl.call<VerifyReport>([&impl, staged](std::shared_ptr<CallerQueue> q) {
    return impl.auditor_read<VerifyReport>([staged, q](wire::Auditor::Client& a) {
      auto req = a.verifyRequest();
      if (staged) req.setProgress(kj::heap<ProgressImpl>(q, staged));
      return req.send().then([](auto resp) -> Reply<VerifyReport> {
        if (resp.hasError()) return wire::decode_error(resp.getError());
        return wire::decode(resp.getResult());
      });
    });
  });
}

Reply<ExportSummary> Client::export_journal(ExportFormat format, const TextSink& sink) {
  Impl& impl = *impl_;
  const TextSink* s = &sink;
  // Not retried: part of the text may already have reached the sink.
  return impl.call<ExportSummary>([&impl, format, s](std::shared_ptr<CallerQueue> q) {
    return impl.ensure().then(
        [format, s, q](std::shared_ptr<Conn> c) -> kj::Promise<Reply<ExportSummary>> {
          KJ_IF_MAYBE (a, c->auditor) {
            auto req = a->exportJournalRequest();
            req.setFormat(format == ExportFormat::hledger ? wire::ExportFormat::HLEDGER
                                                          : wire::ExportFormat::CSV);
            req.setSink(kj::heap<SinkImpl>(q, s));
            return req.send()
                .then([](auto resp) -> Reply<ExportSummary> {
                  if (resp.hasError()) return wire::decode_error(resp.getError());
                  return wire::decode(resp.getResult());
                })
                .attach(kj::mv(c));
          }
          return Reply<ExportSummary>(role_missing("auditor"));
        });
  });
}

Reply<ClosePeriodResult> Client::close_period(const std::string& date) {
  Impl& impl = *impl_;
  return impl.call<ClosePeriodResult>([&impl, date](std::shared_ptr<CallerQueue>) {
    std::function<kj::Promise<Reply<ClosePeriodResult>>(Conn&)> fn =
        [date](Conn& c) -> kj::Promise<Reply<ClosePeriodResult>> {
      KJ_IF_MAYBE (f, c.finance) {
        auto req = f->closePeriodRequest();
        req.setDate(wire::text_of(date));
        return req.send().then([](auto resp) -> Reply<ClosePeriodResult> {
          if (resp.hasError()) return wire::decode_error(resp.getError());
          return wire::decode(resp.getResult());
        });
      }
      return Reply<ClosePeriodResult>(role_missing("finance"));
    };
    return impl.retry<Reply<ClosePeriodResult>>(fn);
  });
}

namespace {
// Finance calls with retries; decode turns the response into the reply.
template <class T, class Send>
std::function<kj::Promise<Reply<T>>(Conn&)> finance_call(Send send) {
  return [send](Conn& c) -> kj::Promise<Reply<T>> {
    KJ_IF_MAYBE (f, c.finance) {
      return send(*f);
    }
    return Reply<T>(role_missing("finance"));
  };
}

// Collects a TextSink's chunks into one string (on the I/O thread).
class StringSink final : public wire::TextSink::Server {
 public:
  explicit StringSink(std::shared_ptr<std::string> out) : out_(std::move(out)) {}
  kj::Promise<void> write(WriteContext ctx) override {
    auto d = ctx.getParams().getChunk();
    out_->append(reinterpret_cast<const char*>(d.begin()), d.size());
    return kj::READY_NOW;
  }

 private:
  std::shared_ptr<std::string> out_;
};
}  // namespace

Reply<RunResult> Client::settle(const SettleRequest& sr, const StagedProgressFn& progress) {
  Impl& impl = *impl_;
  // A settlement run is idempotent per (marketplace, pay date): retrying is safe, and a retry of a
  // run cut off part way completes it. Each attempt gets the run's rows from the start.
  StagedProgressFn staged;
  if (progress)
    staged = [&progress](uint64_t done, uint64_t total, const std::string& stage) {
      progress(done, total, stage);
    };
  return impl.call<RunResult>([&impl, sr, staged](std::shared_ptr<CallerQueue> q) {
    return impl.retry<Reply<RunResult>>(
        finance_call<RunResult>([sr, staged, q](wire::Finance::Client& f) {
          auto rows = std::make_shared<RunRowsResult>();
          auto req = f.settleRequest();
          req.setMarketplace(wire::text_of(sr.marketplace));
          req.setPayDate(wire::text_of(sr.pay_date));
          req.setDryRun(sr.dry_run);
          req.setRows(kj::heap<RunRowsImpl>(rows));
          if (staged) req.setProgress(kj::heap<ProgressImpl>(q, staged));
          return req.send().then([rows](auto resp) -> Reply<RunResult> {
            if (resp.hasError()) return wire::decode_error(resp.getError());
            auto r = wire::decode(resp.getResult());
            if (!r) return malformed<RunResult>(r.error());
            if (rows->size() != r->rows)
              return Failure{Failure::Kind::server_error,
                             "the run's rows arrived short: " + std::to_string(rows->size()) +
                                 " of " + std::to_string(r->rows)};
            static_cast<RunRowsResult&>(*r) = std::move(*rows);
            return std::move(*r);
          });
        }));
  });
}

Reply<std::vector<RunSummary>> Client::runs(const std::string& marketplace) {
  using V = std::vector<RunSummary>;
  Impl& impl = *impl_;
  return impl.call<V>([&impl, marketplace](std::shared_ptr<CallerQueue>) {
    return impl.retry<Reply<V>>(finance_call<V>([marketplace](wire::Finance::Client& f) {
      auto req = f.runsRequest();
      req.setMarketplace(wire::text_of(marketplace));
      return req.send().then([](auto resp) -> Reply<V> {
        if (resp.hasError()) return wire::decode_error(resp.getError());
        V out;
        for (auto r : resp.getRuns()) {
          auto x = wire::decode(r);
          if (!x) return malformed<V>(x.error());
          out.push_back(std::move(*x));
        }
        return out;
      });
    }));
  });
}

Reply<std::string> Client::payouts(const std::string& run, PayoutFormat format) {
  Impl& impl = *impl_;
  return impl.call<std::string>([&impl, run, format](std::shared_ptr<CallerQueue>) {
    return impl.retry<Reply<std::string>>(
        finance_call<std::string>([run, format](wire::Finance::Client& f) {
          auto text = std::make_shared<std::string>();
          auto req = f.payoutsRequest();
          req.setRun(wire::text_of(run));
          req.setFormat(format == PayoutFormat::csv ? wire::PayoutFormat::CSV
                                                    : wire::PayoutFormat::PAIN001);
          req.setSink(kj::heap<StringSink>(text));
          return req.send().then([text](auto resp) -> Reply<std::string> {
            if (resp.hasError()) return wire::decode_error(resp.getError());
            if (resp.getBytes() != text->size())
              return Failure{Failure::Kind::server_error, "payout file arrived incomplete"};
            return std::move(*text);
          });
        }));
  });
}

Reply<ItemResult> Client::hold(const HoldRequest& hr) {
  Impl& impl = *impl_;
  return impl.call<ItemResult>([&impl, hr](std::shared_ptr<CallerQueue>) {
    std::function<kj::Promise<Reply<ItemResult>>(Conn&)> fn =
        [hr](Conn& c) -> kj::Promise<Reply<ItemResult>> {
      KJ_IF_MAYBE (f, c.finance) {
        auto req = f->holdRequest();
        req.setMarketplace(wire::text_of(hr.marketplace));
        req.setPayee(wire::text_of(hr.payee));
        req.setOn(hr.on);
        req.setReason(wire::text_of(hr.reason));
        req.setId(wire::text_of(hr.id));
        return req.send().then([](auto resp) -> Reply<ItemResult> {
          if (resp.hasError()) return wire::decode_error(resp.getError());
          return wire::decode_result(resp.getResult());
        });
      }
      return Reply<ItemResult>(role_missing("finance"));
    };
    return impl.retry<Reply<ItemResult>>(fn);
  });
}

Reply<std::optional<Currency>> Client::find_currency(const std::string& code) {
  using R = Reply<std::optional<Currency>>;
  Impl& impl = *impl_;
  return impl.call<std::optional<Currency>>([&impl, code](std::shared_ptr<CallerQueue>) {
    std::function<kj::Promise<R>(Conn&)> fn = [code](Conn& c) -> kj::Promise<R> {
      auto decode = [](auto resp) -> R {
        if (!resp.hasCurrency()) return std::optional<Currency>();
        auto cur = wire::get_currency(resp.getCurrency(), "currency");
        if (!cur) return malformed<std::optional<Currency>>(cur.error());
        return std::optional<Currency>(*cur);
      };
      KJ_IF_MAYBE (p, c.poster) {
        auto req = p->currencyRequest();
        req.setCode(wire::text_of(code));
        return req.send().then(decode);
      }
      KJ_IF_MAYBE (a, c.auditor) {
        auto req = a->currencyRequest();
        req.setCode(wire::text_of(code));
        return req.send().then(decode);
      }
      KJ_IF_MAYBE (f, c.finance) {
        auto req = f->currencyRequest();
        req.setCode(wire::text_of(code));
        return req.send().then(decode);
      }
      return R(role_missing("poster, auditor or finance"));
    };
    return impl.retry<R>(fn);
  });
}

}  // namespace tally
