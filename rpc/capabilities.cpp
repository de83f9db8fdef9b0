// The role capabilities (contract in rpc/capabilities.h).
#include "rpc/capabilities.h"

#include <capnp/serialize.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "rpc/auditor_capability.h"
#include "rpc/backup_stream.h"
#include "rpc/capability_helpers.h"
#include "rpc/counted_calls.h"
#include "rpc/denied_capabilities.h"
#include "rpc/replica_stream.h"
#include "rpc/server_impl.h"
#include "service/payout_ops.h"
#include "service/reads.h"
#include "service/server_info.h"
#include "service/settlement_ops.h"

namespace tally {

namespace {

using capability::answer_currency;
using capability::answer_server;
using capability::set_error;

class PosterImpl final : public wire::Poster::Server {
 public:
  explicit PosterImpl(RpcServerImpl& s) : s_(s) {}
  kj::Promise<void> post(PostContext ctx) override { return s_.post(ctx, RoleSet{Role::poster}); }
  kj::Promise<void> currency(CurrencyContext ctx) override {
    return answer_currency(s_.service(), ctx);
  }
  kj::Promise<void> server(ServerContext ctx) override { return answer_server(s_, ctx); }

 private:
  RpcServerImpl& s_;
};

class FinanceImpl final : public wire::Finance::Server {
 public:
  explicit FinanceImpl(RpcServerImpl& s) : s_(s) {}

  kj::Promise<void> server(ServerContext ctx) override { return answer_server(s_, ctx); }
  kj::Promise<void> backup(BackupContext ctx) override { return answer_backup(s_, ctx); }

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
    auto fmt = wire::from_wire(p.getFormat(), "format");
    if (!fmt) {
      set_error(ctx.getResults(), fmt.error());
      return kj::READY_NOW;
    }
    const PayoutFormat format = *fmt;
    if (!p.hasSink()) {
      set_error(ctx.getResults(), reject(Code::bad_request, "sink: missing"));
      return kj::READY_NOW;
    }
    std::string run = wire::text(p.getRun());
    auto sent = std::make_shared<SentText>();
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
            text_sender(p.getSink(), sent), nullptr)
        .then([ctx, sent](Result<uint64_t> r) mutable {
          if (!r) {
            set_error(ctx.getResults(), r.error());
            return;
          }
          // The trailer is what went out (the file's size unless the sink stopped it).
          auto digest = sent->sha.digest();
          ctx.getResults().setBytes(sent->bytes);
          ctx.getResults().setSha256(capnp::Data::Reader(digest.data(), digest.size()));
        });
  }

  // payouts with the file's record in the reply (its trailer: size and SHA-256).
  kj::Promise<void> payoutFile(PayoutFileContext ctx) override {
    if (s_.draining()) return KJ_EXCEPTION(DISCONNECTED, "server is shutting down");
    auto p = ctx.getParams();
    auto fmt = wire::from_wire(p.getFormat(), "format");
    if (!fmt) {
      set_error(ctx.getResults(), fmt.error());
      return kj::READY_NOW;
    }
    if (!p.hasSink()) {
      set_error(ctx.getResults(), reject(Code::bad_request, "sink: missing"));
      return kj::READY_NOW;
    }
    std::string run = wire::text(p.getRun());
    const PayoutFormat format = *fmt;
    auto sent = std::make_shared<SentText>();
    return s_
        .off_loop<Result<PayoutFileResult>>(
            [&svc = s_.service(), run, format](ChunkingSink& sink,
                                               Channel&) -> Result<PayoutFileResult> {
              auto file = payout_file_op(svc, run, format);
              if (!file) return file.error();
              std::string_view rest = file->bytes;
              while (!rest.empty()) {
                auto n = std::min(rest.size(), Channel::kChunkBytes);
                if (!sink.write(rest.substr(0, n))) break;
                rest.remove_prefix(n);
              }
              sink.flush();
              return file;
            },
            text_sender(p.getSink(), sent), nullptr)
        .then([ctx, sent](Result<PayoutFileResult> r) mutable {
          if (!r) {
            set_error(ctx.getResults(), r.error());
            return;
          }
          // The trailer is what went out (the file's size and digest unless the sink stopped
          // it), as for payouts and exportJournal.
          auto out = ctx.getResults().initResult();
          wire::encode(out, *r);
          out.setBytes(sent->bytes);
          out.setSha256(wire::text_of(to_hex(sent->sha.digest())));
        });
  }

  // A bank report in: parsed, judged and applied in one write transaction (off the loop).
  kj::Promise<void> importReport(ImportReportContext ctx) override {
    if (s_.draining()) return KJ_EXCEPTION(DISCONNECTED, "server is shutting down");
    auto p = ctx.getParams();
    ImportReportRequest req;
    auto data = p.getReport();
    req.bytes.assign(reinterpret_cast<const char*>(data.begin()), data.size());
    req.dry_run = p.getDryRun();
    return s_
        .off_loop<Result<ImportReportResult>>(
            [&svc = s_.service(), req = std::move(req)](ChunkingSink&, Channel&) {
              return import_report_op(svc, req);
            },
            nullptr, nullptr)
        .then([ctx](Result<ImportReportResult> r) mutable {
          if (!r)
            set_error(ctx.getResults(), r.error());
          else
            wire::encode(ctx.getResults().initResult(), *r);
        });
  }

  // A payee_hold event (Service::hold_item), posted with the finance role.
  kj::Promise<void> hold(HoldContext ctx) override {
    if (s_.draining()) return KJ_EXCEPTION(DISCONNECTED, "server is shutting down");
    auto p = ctx.getParams();
    HoldRequest req{wire::text(p.getMarketplace()), wire::text(p.getPayee()), p.getOn(),
                    wire::text(p.getReason()), wire::text(p.getId())};
    if (p.hasAt()) req.at = wire::text(p.getAt());
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

// Role replica: a standby follows this server's replication log (rpc/replica_stream.h).
class ReplicaImpl final : public wire::Replica::Server {
 public:
  explicit ReplicaImpl(RpcServerImpl& s) : s_(s) {}
  kj::Promise<void> follow(FollowContext ctx) override {
    auto p = ctx.getParams();
    return follow_changes(s_, p.getFromTxn(), p.getSink())
        .then([ctx](FollowChangesResult r) mutable {
          if (!r.error.empty()) set_error(ctx.getResults(), reject(Code::bad_request, r.error));
          ctx.getResults().setLastTxn(r.last_txn);
        });
  }
  kj::Promise<void> server(ServerContext ctx) override { return answer_server(s_, ctx); }

 private:
  RpcServerImpl& s_;
};

template <class Iface>
typename Iface::Client counted(kj::Own<typename Iface::Server> server, RpcServerImpl& s,
                               const std::shared_ptr<ConnectionInfo>& c) {
  capnp::Capability::Client client =
      counted_calls(kj::mv(server), c, s.timer(), s.limits().calls_in_flight_max);
  return client.castAs<Iface>();
}

class TallyImpl final : public wire::Tally::Server {
 public:
  TallyImpl(RpcServerImpl& s, std::shared_ptr<ConnectionInfo> c) : s_(s), c_(std::move(c)) {}
  kj::Promise<void> login(LoginContext ctx) override {
    // Past the last refused login allowed, the connection is closing: no further attempt.
    if (c_->login_failures >= limits::login_failures_max)
      return KJ_EXCEPTION(DISCONNECTED, "too many refused logins on this connection");
    auto roles = s_.login(
        std::string_view(ctx.getParams().getToken().cStr(), ctx.getParams().getToken().size()),
        *c_);
    auto res = ctx.getResults();
    // The token never appears in a message or a log.
    if (!roles) {
      set_error(
          res, reject(Code::unknown_token, "unknown token: the server's config grants it no role"));
      // Repeated failures on one connection answer later and later (the loop's timer, never a
      // sleep), and the last one allowed closes the connection once its answer went out.
      const unsigned failures = c_->login_failures;
      const uint64_t delay = login_delay_ms(failures);
      kj::Promise<void> wait = kj::READY_NOW;
      if (delay > 0) wait = s_.timer().afterDelay(delay * kj::MILLISECONDS);
      return wait.then([c = c_, failures] {
        if (failures >= limits::login_failures_max && c->close.get() != nullptr)
          c->close->fulfill();
      });
    }
    auto list = res.initRoles(static_cast<unsigned>(roles->size()));
    unsigned i = 0;
    for (Role r : *roles) {
      switch (r) {
        case Role::poster:
          list.set(i++, wire::Role::POSTER);
          break;
        case Role::auditor:
          list.set(i++, wire::Role::AUDITOR);
          break;
        case Role::finance:
          list.set(i++, wire::Role::FINANCE);
          break;
        case Role::replica:
          list.set(i++, wire::Role::REPLICA);
          break;
      }
    }
    if (roles->count(Role::poster) && s_.standby())
      res.setPoster(denied_poster(not_leader(s_)));
    else if (roles->count(Role::poster))
      res.setPoster(counted<wire::Poster>(kj::heap<PosterImpl>(s_), s_, c_));
    else
      res.setPoster(denied_poster());
    if (roles->count(Role::auditor))
      res.setAuditor(counted<wire::Auditor>(make_auditor(s_), s_, c_));
    else
      res.setAuditor(denied_auditor());
    if (roles->count(Role::finance) && s_.standby())
      res.setFinance(counted<wire::Finance>(standby_finance(s_), s_, c_));
    else if (roles->count(Role::finance))
      res.setFinance(counted<wire::Finance>(kj::heap<FinanceImpl>(s_), s_, c_));
    else
      res.setFinance(denied_finance());
    if (roles->count(Role::replica))
      res.setReplica(counted<wire::Replica>(kj::heap<ReplicaImpl>(s_), s_, c_));
    else
      res.setReplica(denied_replica());
    return kj::READY_NOW;
  }

 private:
  RpcServerImpl& s_;
  std::shared_ptr<ConnectionInfo> c_;
};

}  // namespace

uint64_t login_delay_ms(unsigned failures) {
  if (failures <= limits::login_failures_free) return 0;
  const unsigned doublings = failures - limits::login_failures_free - 1;
  uint64_t d = limits::login_failure_delay_ms_first;
  for (unsigned i = 0; i < doublings && d < limits::login_failure_delay_ms_max; ++i) d *= 2;
  return std::min(d, limits::login_failure_delay_ms_max);
}

capnp::Capability::Client make_bootstrap(RpcServerImpl& server,
                                         std::shared_ptr<ConnectionInfo> connection) {
  return counted_calls(kj::heap<TallyImpl>(server, connection), connection, server.timer(),
                       server.limits().calls_in_flight_max);
}

}  // namespace tally
