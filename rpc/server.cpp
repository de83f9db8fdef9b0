// The Cap'n Proto RPC server (contract in rpc/server.h).
// GCC 12 reports false "maybe-uninitialized" positives inside kj::_::ExceptionOr<T> for promises
// of std::vector/std::string-holding values (the value is only read when it was set).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "rpc/server.h"

#include <capnp/rpc-twoparty.h>
#include <capnp/rpc.h>
#include <capnp/serialize.h>
#include <kj/async-unix.h>
#include <kj/debug.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <ostream>
#include <set>
#include <thread>

#include "service/export.h"
#include "service/reads.h"
#include "service/settlement_ops.h"
#include "rpc/tally.capnp.h"
#include "rpc/wire.h"

namespace tally {

namespace {

using VatId = capnp::rpc::twoparty::VatId;

// --- tokens
// ---------------------------------------------------------------------------------------

// Equal-length digests compared without an early exit, so the time taken says nothing about
// how much of a token matched.
bool digest_equal(const Digest& a, const Digest& b) {
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = static_cast<uint8_t>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

class TokenTable {
 public:
  explicit TokenTable(const Config& config) {
    for (const auto& g : config.tokens)
      rows_.push_back(Row{sha256(g.token), RoleSet(g.roles.begin(), g.roles.end())});
  }
  // Every row is compared, whatever matched.
  std::optional<RoleSet> find(std::string_view token) const {
    Digest d = sha256(token);
    std::optional<RoleSet> found;
    for (const auto& r : rows_)
      if (digest_equal(d, r.digest)) found = r.roles;
    return found;
  }

 private:
  struct Row {
    Digest digest;
    RoleSet roles;
  };
  std::vector<Row> rows_;
};

// --- work off the event loop --------------------------------------------------------------------

// What a worker thread (verify, export) hands to the event loop: text chunks and progress, with
// back-pressure. The worker never waits on the event loop itself, only on this channel, which
// the loop side or cancel() releases: so the loop's thread can always join a worker.
class Channel {
 public:
  static constexpr size_t kChunkBytes = 64 * 1024;
  static constexpr size_t kQueueBytesMax = 1024 * 1024;

  // Worker side. False when the reader went away.
  bool push(std::string chunk) {
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return cancelled_ || queued_bytes_ < kQueueBytesMax; });
    if (cancelled_) return false;
    queued_bytes_ += chunk.size();
    chunks_.push_back(std::move(chunk));
    wake_locked();
    return true;
  }
  void progress(uint64_t done, uint64_t total, std::string stage = {}) {
    std::lock_guard lock(m_);
    progress_ = {done, total, std::move(stage)};
    has_progress_ = true;
    wake_locked();
  }
  void finish() {
    std::lock_guard lock(m_);
    finished_ = true;
    wake_locked();
  }
  bool cancelled() {
    std::lock_guard lock(m_);
    return cancelled_;
  }
  void cancel() {
    std::lock_guard lock(m_);
    cancelled_ = true;
    cv_.notify_all();
  }

  // Loop side: the next thing to do, or a promise that resolves when there may be one.
  struct Progress {
    uint64_t done = 0, total = 0;
    std::string stage;
  };
  struct Next {
    std::optional<std::string> chunk;
    std::optional<Progress> progress;
    bool finished = false;
  };
  Next take() {
    std::lock_guard lock(m_);
    Next n;
    if (has_progress_) {
      n.progress = progress_;
      has_progress_ = false;
    }
    if (!chunks_.empty()) {
      n.chunk = std::move(chunks_.front());
      chunks_.pop_front();
      queued_bytes_ -= n.chunk->size();
      cv_.notify_all();
    }
    n.finished = finished_ && chunks_.empty() && !n.chunk;
    return n;
  }
  kj::Promise<void> when_ready() {
    std::lock_guard lock(m_);
    if (finished_ || has_progress_ || !chunks_.empty()) return kj::READY_NOW;
    auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
    waiter_ = kj::mv(paf.fulfiller);
    return kj::mv(paf.promise);
  }

 private:
  void wake_locked() {
    KJ_IF_MAYBE (w, waiter_) {
      (*w)->fulfill();
      waiter_ = nullptr;
    }
  }
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::string> chunks_;
  size_t queued_bytes_ = 0;
  Progress progress_;
  bool has_progress_ = false;
  bool finished_ = false;
  bool cancelled_ = false;
  kj::Maybe<kj::Own<kj::CrossThreadPromiseFulfiller<void>>> waiter_;
};

// Collects sink output into chunks of about Channel::kChunkBytes.
class ChunkingSink {
 public:
  explicit ChunkingSink(Channel& ch) : ch_(ch) {}
  bool write(std::string_view s) {
    buf_.append(s);
    if (buf_.size() < Channel::kChunkBytes) return !ch_.cancelled();
    return flush();
  }
  bool flush() {
    if (buf_.empty()) return true;
    bool ok = ch_.push(std::move(buf_));
    buf_.clear();
    return ok;
  }

 private:
  Channel& ch_;
  std::string buf_;
};

}  // namespace

// --- the server
// -----------------------------------------------------------------------------------

class Connection;

class RpcServerImpl : private kj::TaskSet::ErrorHandler {
 public:
  RpcServerImpl(Service& service, ServerOptions options, kj::AsyncIoContext& io)
      : service_(service),
        options_(std::move(options)),
        io_(io),
        tokens_(service.config()),
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
  bool draining() const { return draining_; }
  std::optional<RoleSet> login(std::string_view token) {
    auto r = tokens_.find(token);
    if (!r) ++stats_.logins_refused;
    return r;
  }
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

 private:
  void taskFailed(kj::Exception&& e) override {
    KJ_LOG(WARNING, "tally serve: connection task failed", e.getDescription());
  }
  kj::Promise<void> accept_loop();
  kj::Promise<void> acquire_long_slot();
  void release_long_slot();
  kj::Promise<void> pump(std::shared_ptr<Channel> ch, kj::Maybe<Sender> send,
                         kj::Maybe<wire::Progress::Client> progress);
  kj::Promise<void> drain(uint64_t deadline_ms);

  Service& service_;
  ServerOptions options_;
  kj::AsyncIoContext& io_;
  TokenTable tokens_;
  kj::Own<kj::ConnectionReceiver> listener_;
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

namespace {
// Chunks of text to a client's TextSink.
// (A capability client does not copy; a Sender does: it holds the client by shared_ptr.)
RpcServerImpl::Sender text_sender(wire::TextSink::Client client) {
  auto sink = std::make_shared<wire::TextSink::Client>(kj::mv(client));
  return [sink](std::string chunk) -> kj::Promise<void> {
    auto req = sink->writeRequest();
    req.setChunk(
        capnp::Data::Reader(reinterpret_cast<const kj::byte*>(chunk.data()), chunk.size()));
    return req.send();
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
    return req.send().ignoreResult();
  };
}
}  // namespace

namespace {

template <class Ctx>
kj::Promise<void> answer_currency(Service& service, Ctx ctx) {
  auto code = ctx.getParams().getCode();
  if (auto c = service.ledger().find_currency(std::string_view(code.begin(), code.size())))
    wire::set_currency(ctx.getResults().initCurrency(), *c);
  return kj::READY_NOW;
}

class PosterImpl final : public wire::Poster::Server {
 public:
  explicit PosterImpl(RpcServerImpl& s) : s_(s) {}
  kj::Promise<void> post(PostContext ctx) override { return s_.post(ctx, RoleSet{Role::poster}); }
  kj::Promise<void> currency(CurrencyContext ctx) override {
    return answer_currency(s_.service(), ctx);
  }

 private:
  RpcServerImpl& s_;
};

std::optional<TimeNs> opt_instant(bool has, wire::Instant::Reader r) {
  if (!has) return std::nullopt;
  return r.getNs();
}

template <class Results>
void set_error(Results results, const Rejection& r) {
  wire::encode_error(results.initError(), r);
}

class AuditorImpl final : public wire::Auditor::Server {
 public:
  explicit AuditorImpl(RpcServerImpl& s) : s_(s) {}

  kj::Promise<void> currency(CurrencyContext ctx) override {
    return answer_currency(s_.service(), ctx);
  }

  kj::Promise<void> balance(BalanceContext ctx) override {
    auto p = ctx.getParams();
    BalanceQuery q;
    q.account = wire::text(p.getAccount());
    if (p.hasCurrency()) q.currency = wire::text(p.getCurrency());
    q.as_of = opt_instant(p.hasAsOf(), p.getAsOf());
    auto snap = s_.service().snapshot();
    auto r = read_balance(*snap, q);
    if (!r)
      set_error(ctx.getResults(), r.error());
    else
      wire::encode(ctx.getResults().initResult(), *r);
    return kj::READY_NOW;
  }

  kj::Promise<void> balances(BalancesContext ctx) override {
    auto p = ctx.getParams();
    std::string prefix = wire::text(p.getPrefix());
    auto as_of = opt_instant(p.hasAsOf(), p.getAsOf());
    return s_
        .off_loop<BalancesResult>(
            [&svc = s_.service(), prefix, as_of](ChunkingSink&, Channel&) {
              auto snap = svc.snapshot();
              return read_balances(*snap, prefix, as_of);
            },
            nullptr, nullptr)
        .then([ctx](BalancesResult r) mutable { wire::encode(ctx.getResults().initResult(), r); });
  }

  kj::Promise<void> statement(StatementContext ctx) override {
    auto q = wire::decode(ctx.getParams().getQuery());
    auto snap = s_.service().snapshot();
    auto r = read_statement(*snap, q);
    if (!r)
      set_error(ctx.getResults(), r.error());
    else
      wire::encode(ctx.getResults().initResult(), *r);
    return kj::READY_NOW;
  }

  kj::Promise<void> entry(EntryContext ctx) override {
    auto snap = s_.service().snapshot();
    auto r = read_entry(*snap, wire::text(ctx.getParams().getId()));
    if (!r)
      set_error(ctx.getResults(), r.error());
    else
      wire::encode(ctx.getResults().initResult(), *r);
    return kj::READY_NOW;
  }

  kj::Promise<void> trialBalance(TrialBalanceContext ctx) override {
    auto p = ctx.getParams();
    auto as_of = opt_instant(p.hasAsOf(), p.getAsOf());
    return s_
        .off_loop<TrialBalanceResult>(
            [&svc = s_.service(), as_of](ChunkingSink&, Channel&) {
              auto snap = svc.snapshot();
              return read_trial_balance(*snap, as_of);
            },
            nullptr, nullptr)
        .then([ctx](TrialBalanceResult r) mutable {
          wire::encode(ctx.getResults().initResult(), r);
        });
  }

  kj::Promise<void> verify(VerifyContext ctx) override {
    auto p = ctx.getParams();
    kj::Maybe<wire::Progress::Client> progress;
    if (p.hasProgress()) progress = p.getProgress();
    return s_
        .off_loop<VerifyReport>(
            [&svc = s_.service()](ChunkingSink&, Channel& ch) {
              auto snap = svc.snapshot();
              return snap->verify(
                  [&ch](uint64_t done, uint64_t total) { ch.progress(done, total); });
            },
            nullptr, kj::mv(progress))
        .then([ctx](VerifyReport r) mutable { wire::encode(ctx.getResults().initResult(), r); });
  }

  kj::Promise<void> exportJournal(ExportJournalContext ctx) override {
    auto p = ctx.getParams();
    ExportFormat format;
    switch (p.getFormat()) {
      case wire::ExportFormat::HLEDGER:
        format = ExportFormat::hledger;
        break;
      case wire::ExportFormat::CSV:
        format = ExportFormat::csv;
        break;
      default:
        set_error(ctx.getResults(), reject(Code::bad_request, "format: unknown export format"));
        return kj::READY_NOW;
    }
    if (!p.hasSink()) {
      set_error(ctx.getResults(), reject(Code::bad_request, "sink: missing"));
      return kj::READY_NOW;
    }
    return s_
        .off_loop<ExportSummary>(
            [&svc = s_.service(), format](ChunkingSink& sink, Channel&) {
              auto snap = svc.snapshot();
              auto summary = export_journal(*snap, format,
                                            [&sink](std::string_view s) { return sink.write(s); });
              sink.flush();
              return summary;
            },
            text_sender(p.getSink()), nullptr)
        .then([ctx](ExportSummary r) mutable { wire::encode(ctx.getResults().initResult(), r); });
  }

 private:
  RpcServerImpl& s_;
};

class FinanceImpl final : public wire::Finance::Server {
 public:
  explicit FinanceImpl(RpcServerImpl& s) : s_(s) {}

  kj::Promise<void> currency(CurrencyContext ctx) override {
    return answer_currency(s_.service(), ctx);
  }

  kj::Promise<void> post(PostContext ctx) override { return s_.post(ctx, RoleSet{Role::finance}); }

  kj::Promise<void> closePeriod(ClosePeriodContext ctx) override {
    if (s_.draining()) return KJ_EXCEPTION(DISCONNECTED, "server is shutting down");
    std::string date = wire::text(ctx.getParams().getDate());
    // close_period waits for the commit: run it off the loop.
    return s_
        .off_loop<Result<ClosePeriodResult>>(
            [&svc = s_.service(), date](ChunkingSink&, Channel&) { return svc.close_period(date); },
            nullptr, nullptr)
        .then([ctx](Result<ClosePeriodResult> r) mutable {
          if (!r)
            set_error(ctx.getResults(), r.error());
          else
            wire::encode(ctx.getResults().initResult(), *r);
        });
  }

  // Settlement runs on a thread of its own (planning is parallel, each chunk waits for its
  // commit). Its rows go to the caller's RunRows sink as the chunks commit; a caller that goes
  // away does not stop the run.
  kj::Promise<void> settle(SettleContext ctx) override {
    if (s_.draining()) return KJ_EXCEPTION(DISCONNECTED, "server is shutting down");
    auto p = ctx.getParams();
    SettleRequest req{wire::text(p.getMarketplace()), wire::text(p.getPayDate()), p.getDryRun()};
    kj::Maybe<wire::Progress::Client> progress;
    if (p.hasProgress()) progress = p.getProgress();
    kj::Maybe<RpcServerImpl::Sender> rows;
    if (p.hasRows()) rows = rows_sender(p.getRows());
    const bool want_rows = p.hasRows();
    return s_
        .off_loop<Result<RunResult>>(
            [&svc = s_.service(), req, want_rows](ChunkingSink&, Channel& ch) {
              std::function<void(RunRowsResult &&)> sink;
              if (want_rows)
                sink = [&ch](RunRowsResult&& part) {
                  capnp::MallocMessageBuilder m;
                  wire::encode_rows(m.initRoot<wire::RunRows::RowsParams>(), part);
                  auto words = capnp::messageToFlatArray(m);
                  auto bytes = words.asBytes();
                  ch.push(std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size()));
                };
              return settle_op(
                  svc, req,
                  [&ch](uint64_t done, uint64_t total, const std::string& stage) {
                    ch.progress(done, total, stage);
                  },
                  sink);
            },
            kj::mv(rows), kj::mv(progress))
        .then([ctx](Result<RunResult> r) mutable {
          if (!r)
            set_error(ctx.getResults(), r.error());
          else
            wire::encode(ctx.getResults().initResult(), *r);
        });
  }

  kj::Promise<void> runs(RunsContext ctx) override {
    std::string marketplace = wire::text(ctx.getParams().getMarketplace());
    return s_
        .off_loop<Result<std::vector<RunSummary>>>(
            [&svc = s_.service(), marketplace](ChunkingSink&, Channel&) {
              return runs_op(svc, marketplace);
            },
            nullptr, nullptr)
        .then([ctx](Result<std::vector<RunSummary>> r) mutable {
          if (!r) {
            set_error(ctx.getResults(), r.error());
            return;
          }
          auto l = ctx.getResults().initRuns(static_cast<unsigned>(r->size()));
          for (size_t i = 0; i < r->size(); ++i) wire::encode(l[static_cast<unsigned>(i)], (*r)[i]);
        });
  }

  // The file streams to the client's sink like an export.
  kj::Promise<void> payouts(PayoutsContext ctx) override {
    auto p = ctx.getParams();
    PayoutFormat format;
    switch (p.getFormat()) {
      case wire::PayoutFormat::CSV:
        format = PayoutFormat::csv;
        break;
      case wire::PayoutFormat::PAIN001:
        format = PayoutFormat::pain001;
        break;
      default:
        set_error(ctx.getResults(), reject(Code::bad_request, "format: unknown payout format"));
        return kj::READY_NOW;
    }
    if (!p.hasSink()) {
      set_error(ctx.getResults(), reject(Code::bad_request, "sink: missing"));
      return kj::READY_NOW;
    }
    std::string run = wire::text(p.getRun());
    return s_
        .off_loop<Result<uint64_t>>(
            [&svc = s_.service(), run, format](ChunkingSink& sink, Channel&) -> Result<uint64_t> {
              auto file = payouts_op(svc, run, format);
              if (!file) return file.error();
              std::string_view rest = *file;
              while (!rest.empty()) {
                auto n = std::min(rest.size(), Channel::kChunkBytes);
                if (!sink.write(rest.substr(0, n))) break;
                rest.remove_prefix(n);
              }
              sink.flush();
              return uint64_t{file->size()};
            },
            text_sender(p.getSink()), nullptr)
        .then([ctx](Result<uint64_t> r) mutable {
          if (!r)
            set_error(ctx.getResults(), r.error());
          else
            ctx.getResults().setBytes(*r);
        });
  }

  // A payee_hold event (Service::hold_item), posted with the finance role.
  kj::Promise<void> hold(HoldContext ctx) override {
    if (s_.draining()) return KJ_EXCEPTION(DISCONNECTED, "server is shutting down");
    auto p = ctx.getParams();
    HoldRequest req{wire::text(p.getMarketplace()), wire::text(p.getPayee()), p.getOn(),
                    wire::text(p.getReason()), wire::text(p.getId())};
    std::vector<PostItem> items;
    items.push_back(s_.service().hold_item(req));
    return s_.submit(std::move(items), RoleSet{Role::finance})
        .then([ctx](std::vector<ItemResult> r) mutable {
          if (r.size() != 1) {
            set_error(ctx.getResults(), reject(Code::internal, "hold: no result"));
          } else if (!r[0].ok()) {
            set_error(ctx.getResults(), Rejection{r[0].code, r[0].message});
          } else {
            wire::encode_result(ctx.getResults().initResult(), r[0]);
          }
        });
  }

 private:
  RpcServerImpl& s_;
};

class TallyImpl final : public wire::Tally::Server {
 public:
  explicit TallyImpl(RpcServerImpl& s) : s_(s) {}
  kj::Promise<void> login(LoginContext ctx) override {
    auto roles = s_.login(
        std::string_view(ctx.getParams().getToken().cStr(), ctx.getParams().getToken().size()));
    // The token never appears in a message or a log.
    if (!roles) return KJ_EXCEPTION(FAILED, "unknown token");
    auto res = ctx.getResults();
    auto list = res.initRoles(static_cast<unsigned>(roles->size()));
    unsigned i = 0;
    for (Role r : *roles) {
      switch (r) {
        case Role::poster:
          res.setPoster(kj::heap<PosterImpl>(s_));
          list.set(i++, wire::Role::POSTER);
          break;
        case Role::auditor:
          res.setAuditor(kj::heap<AuditorImpl>(s_));
          list.set(i++, wire::Role::AUDITOR);
          break;
        case Role::finance:
          res.setFinance(kj::heap<FinanceImpl>(s_));
          list.set(i++, wire::Role::FINANCE);
          break;
      }
    }
    return kj::READY_NOW;
  }

 private:
  RpcServerImpl& s_;
};

}  // namespace

// One accepted connection: its own network with the server's limits, and its own RPC system.
class Connection {
 public:
  Connection(RpcServerImpl& server, kj::Own<kj::AsyncIoStream> stream)
      : server_(server),
        stream_(kj::mv(stream)),
        network_(*stream_, capnp::rpc::twoparty::Side::SERVER, reader_options(server.limits())),
        rpc_(capnp::makeRpcServer(network_,
                                  capnp::Capability::Client(kj::heap<TallyImpl>(server)))) {
    rpc_.setFlowLimit(server.limits().call_words_in_flight_max);
    server_.connections_.insert(this);
  }
  ~Connection() { server_.remove(this); }

  kj::Promise<void> run() { return network_.onDisconnect(); }
  size_t queued() { return network_.getCurrentQueueCount(); }
  void close() { stream_->shutdownWrite(); }

 private:
  static capnp::ReaderOptions reader_options(const ServerLimits& l) {
    capnp::ReaderOptions o;
    o.traversalLimitInWords = l.message_words_max;
    o.nestingLimit = l.message_nesting_max;
    return o;
  }
  RpcServerImpl& server_;
  kj::Own<kj::AsyncIoStream> stream_;
  capnp::TwoPartyVatNetwork network_;
  capnp::RpcSystem<VatId> rpc_;
};

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

}  // namespace

kj::Promise<std::string> RpcServerImpl::listen() {
  std::string addr = options_.listen;
  std::string path;
  if (addr.rfind("unix:", 0) == 0) {
    path = addr.substr(5);
    remove_stale_socket(path);
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
          bound = host + ":" + std::to_string(listener_->getPort());
        }
        accepting_ = accept_loop().eagerlyEvaluate([](kj::Exception&& e) {
          KJ_LOG(ERROR, "tally serve: accept failed", e.getDescription());
        });
        return bound;
      });
}

kj::Promise<void> RpcServerImpl::accept_loop() {
  return listener_->accept().then([this](kj::Own<kj::AsyncIoStream> stream) {
    if (draining_ || connections_.size() >= options_.limits.connections_max) {
      ++stats_.connections_refused;  // the stream closes as it goes out of scope
    } else {
      ++stats_.connections_accepted;
      auto c = kj::heap<Connection>(*this, kj::mv(stream));
      auto done = c->run();
      tasks_.add(done.attach(kj::mv(c)).catch_([](kj::Exception&&) {}));
    }
    return accept_loop();
  });
}

template <class Ctx>
kj::Promise<void> RpcServerImpl::post(Ctx ctx, const RoleSet& roles) {
  if (draining_) return KJ_EXCEPTION(DISCONNECTED, "server is shutting down");
  auto items = ctx.getParams().getItems();
  const size_t n = items.size();
  if (n > options_.limits.batch_items_max) {
    auto out = ctx.getResults().initResults(static_cast<unsigned>(n));
    std::string msg = "batch: " + std::to_string(n) + " items, at most " +
                      std::to_string(options_.limits.batch_items_max) + " per call";
    for (unsigned i = 0; i < n; ++i)
      wire::encode_result(out[i], ItemResult::error(reject(Code::batch_too_large, msg)));
    return kj::READY_NOW;
  }

  // Decode every item; one that cannot be read is refused, and sinks its linked chain like any
  // refused item (Service::post, ledger/batch.h).
  std::vector<PostItem> batch(n);
  for (size_t i = 0; i < n; ++i) {
    auto item = items[static_cast<unsigned>(i)];
    auto r = wire::decode_item(item);
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

kj::Promise<std::vector<ItemResult>> RpcServerImpl::submit(std::vector<PostItem> items,
                                                           const RoleSet& roles) {
  // The writer thread fulfils this once the batch is durable; the loop goes on meanwhile.
  auto paf = kj::newPromiseAndCrossThreadFulfiller<std::vector<ItemResult>>();
  auto fulfiller =
      std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<std::vector<ItemResult>>>>(
          kj::mv(paf.fulfiller));
  ++in_flight_;
  service_.post(std::move(items), roles,
                [fulfiller](std::vector<ItemResult> r) { (*fulfiller)->fulfill(kj::mv(r)); });
  return paf.promise.attach(kj::defer([this] { --in_flight_; }));
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

kj::Promise<void> RpcServerImpl::pump(std::shared_ptr<Channel> ch, kj::Maybe<Sender> send,
                                      kj::Maybe<wire::Progress::Client> progress) {
  auto next = ch->take();
  kj::Promise<void> step = kj::READY_NOW;
  if (next.progress) {
    KJ_IF_MAYBE (p, progress) {
      auto req = p->updateRequest();
      req.setDone(next.progress->done);
      req.setTotal(next.progress->total);
      req.setStage(wire::text_of(next.progress->stage));
      step = req.send();
    }
  }
  if (next.chunk) {
    KJ_IF_MAYBE (s, send) {
      step = step.then(
          [s = *s, chunk = std::move(*next.chunk)]() mutable { return s(std::move(chunk)); });
    }
  }
  if (next.finished) return step;
  bool got = next.chunk || next.progress;
  return step.then([this, ch, got, send = kj::mv(send), progress = kj::mv(progress)]() mutable {
    kj::Promise<void> wait = got ? kj::Promise<void>(kj::READY_NOW) : ch->when_ready();
    return wait.then([this, ch, send = kj::mv(send), progress = kj::mv(progress)]() mutable {
      return pump(ch, kj::mv(send), kj::mv(progress));
    });
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
      // A store failure unwinds to here and becomes the call's error.
      KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] { value = work(s, *ch); })) {
        ch->finish();
        (*fulfiller)->reject(kj::mv(*e));
      } else {
        ch->finish();
        (*fulfiller)->fulfill(kj::mv(*value));
      }
    });
    auto relayed = pump(ch, kj::mv(sink), kj::mv(progress));
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

struct ServerThread::State {
  std::mutex m;
  std::condition_variable cv;
  bool ready = false;
  std::string address;
  std::optional<Rejection> error;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> stop;
  ServerStats stats;
  RpcServer* server = nullptr;  // while serving, with the loop's executor
  kj::Own<const kj::Executor> executor;
  std::thread thread;
};

Result<std::unique_ptr<ServerThread>> ServerThread::start(Service& service, ServerOptions options) {
  // A peer that leaves mid-reply must not kill the process: writes report EPIPE instead.
  ::signal(SIGPIPE, SIG_IGN);
  auto st = std::make_shared<State>();
  st->thread = std::thread([st, &service, options = std::move(options)]() mutable {
    auto io = kj::setupAsyncIo();
    // The stop signal: the owner's thread fulfils it (ServerThread::stop).
    auto stop = kj::newPromiseAndCrossThreadFulfiller<void>();
    RpcServer server(service, std::move(options), io);
    auto listened = server.listen().then(
        [](std::string a) -> kj::Maybe<std::string> { return kj::mv(a); },
        [st](kj::Exception&& e) -> kj::Maybe<std::string> {
          std::lock_guard lock(st->m);
          st->error = reject(Code::internal, "listen: " + std::string(e.getDescription().cStr()));
          return nullptr;
        });
    auto addr = listened.wait(io.waitScope);
    {
      std::lock_guard lock(st->m);
      KJ_IF_MAYBE (a, addr) {
        st->address = *a;
      }
      st->stop = kj::mv(stop.fulfiller);
      st->server = &server;
      st->executor = kj::getCurrentThreadExecutor().addRef();
      st->ready = true;
    }
    st->cv.notify_all();
    if (addr == nullptr) return;
    stop.promise.wait(io.waitScope);
    server.shutdown(30000).wait(io.waitScope);
    std::lock_guard lock(st->m);
    st->stats = server.stats();
    st->server = nullptr;
  });
  {
    std::unique_lock lock(st->m);
    st->cv.wait(lock, [&] { return st->ready; });
    if (st->error) {
      Rejection e = *st->error;
      lock.unlock();
      st->thread.join();
      return e;
    }
  }
  std::unique_ptr<ServerThread> t(new ServerThread());
  t->address_ = st->address;
  t->state_ = st;
  return t;
}

ServerThread::~ServerThread() {
  stop();
}

void ServerThread::stop() {
  if (!state_ || !state_->thread.joinable()) return;
  state_->stop->fulfill();
  state_->thread.join();
}

ServerStats ServerThread::stats() const {
  std::unique_lock lock(state_->m);
  if (state_->server == nullptr) return state_->stats;
  RpcServer* server = state_->server;
  auto executor = state_->executor->addRef();
  lock.unlock();
  // Runs on the server's loop; the server lives until its thread stops, which only stop() (on
  // this same owner thread) causes.
  return executor->executeSync([server] { return server->stats(); });
}

// --- tally serve --------------------------------------------------------------------------------

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
      return 3;
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
