// The auditor role's capability (contract in rpc/auditor_capability.h).
#include "rpc/auditor_capability.h"

#include <string>
#include <utility>
#include <vector>

#include "rpc/auditor_reads.h"
#include "rpc/capability_helpers.h"
#include "rpc/follow.h"
#include "rpc/server_impl.h"
#include "service/export.h"
#include "service/payout_ops.h"
#include "service/reads.h"

namespace tally {

namespace {

using capability::answer_currency;
using capability::answer_server;
using capability::on_snapshot;
using capability::set_error;

class AuditorImpl final : public wire::Auditor::Server {
 public:
  explicit AuditorImpl(RpcServerImpl& s) : s_(s) {}

  kj::Promise<void> server(ServerContext ctx) override { return answer_server(s_, ctx); }
  // The marketplace layer's reads: rpc/auditor_reads.h.
  kj::Promise<void> marketplace(MarketplaceContext ctx) override {
    return answer_marketplace(s_, ctx);
  }
  kj::Promise<void> payee(PayeeContext ctx) override { return answer_payee(s_, ctx); }
  kj::Promise<void> accounts(AccountsContext ctx) override { return answer_accounts(s_, ctx); }
  kj::Promise<void> runs(RunsContext ctx) override { return answer_runs(s_, ctx); }
  // The change stream: rpc/follow.h.
  kj::Promise<void> follow(FollowContext ctx) override {
    if (s_.draining()) return KJ_EXCEPTION(DISCONNECTED, "server is shutting down");
    auto p = ctx.getParams();
    if (!p.hasSink()) {
      set_error(ctx.getResults(), reject(Code::bad_request, "sink: required"));
      return kj::READY_NOW;
    }
    return follow_entries(s_, p.getFromSeq(), p.getMaxEntries(), p.getSink())
        .then([ctx](uint64_t last) mutable { ctx.getResults().setLastSeq(last); });
  }

  kj::Promise<void> currency(CurrencyContext ctx) override {
    return answer_currency(s_.service(), ctx);
  }

  kj::Promise<void> balance(BalanceContext ctx) override {
    auto p = ctx.getParams();
    BalanceQuery q;
    q.account = wire::text(p.getAccount());
    if (p.hasCurrency()) q.currency = wire::text(p.getCurrency());
    auto as_of = wire::get_opt_time_text(p.hasAsOf(), p.getAsOf(), "asOf");
    if (!as_of) {
      set_error(ctx.getResults(), as_of.error());
      return kj::READY_NOW;
    }
    q.as_of = *as_of;
    auto r = on_snapshot(s_, [&](Snapshot& snap) { return read_balance(snap, q); });
    if (!r)
      set_error(ctx.getResults(), r.error());
    else
      wire::encode(ctx.getResults().initResult(), *r);
    return kj::READY_NOW;
  }

  kj::Promise<void> balances(BalancesContext ctx) override {
    auto p = ctx.getParams();
    std::string prefix = wire::text(p.getPrefix());
    auto when = wire::get_opt_time_text(p.hasAsOf(), p.getAsOf(), "asOf");
    if (!when) {
      set_error(ctx.getResults(), when.error());
      return kj::READY_NOW;
    }
    auto as_of = *when;
    return s_
        .off_loop<Result<BalancesResult>>(
            [&svc = s_.service(), prefix, as_of](ChunkingSink&, Channel&) {
              auto snap = svc.snapshot();
              return read_balances(*snap, prefix, as_of);
            },
            nullptr, nullptr)
        .then([ctx](Result<BalancesResult> r) mutable {
          if (!r)
            set_error(ctx.getResults(), r.error());
          else
            wire::encode(ctx.getResults().initResult(), *r);
        });
  }

  kj::Promise<void> statement(StatementContext ctx) override {
    auto query = wire::decode(ctx.getParams().getQuery());
    if (!query) {
      set_error(ctx.getResults(), query.error());
      return kj::READY_NOW;
    }
    auto& q = *query;
    auto r = on_snapshot(s_, [&](Snapshot& snap) { return read_statement(snap, q); });
    if (!r)
      set_error(ctx.getResults(), r.error());
    else
      wire::encode(ctx.getResults().initResult(), *r);
    return kj::READY_NOW;
  }

  kj::Promise<void> entry(EntryContext ctx) override {
    std::string id = wire::text(ctx.getParams().getId());
    auto r = on_snapshot(s_, [&](Snapshot& snap) { return read_entry(snap, id); });
    if (!r)
      set_error(ctx.getResults(), r.error());
    else
      wire::encode(ctx.getResults().initResult(), *r);
    return kj::READY_NOW;
  }

  // The payout lifecycle's reads (service/payout_ops.h): a scan of payout records, off the loop.
  kj::Promise<void> runPayouts(RunPayoutsContext ctx) override {
    std::string run = wire::text(ctx.getParams().getRun());
    return s_
        .off_loop<Result<RunPayoutsResult>>(
            [&svc = s_.service(), run](ChunkingSink&, Channel&) {
              return run_payouts_op(svc, run);
            },
            nullptr, nullptr)
        .then([ctx](Result<RunPayoutsResult> r) mutable {
          if (!r)
            set_error(ctx.getResults(), r.error());
          else
            wire::encode(ctx.getResults().initResult(), *r);
        });
  }

  kj::Promise<void> payoutsByState(PayoutsByStateContext ctx) override {
    PayoutQuery q = wire::decode(ctx.getParams().getQuery());
    return s_
        .off_loop<Result<PayoutPageResult>>(
            [&svc = s_.service(), q](ChunkingSink&, Channel&) {
              return payouts_by_state_op(svc, q);
            },
            nullptr, nullptr)
        .then([ctx](Result<PayoutPageResult> r) mutable {
          if (!r)
            set_error(ctx.getResults(), r.error());
          else
            wire::encode(ctx.getResults().initResult(), *r);
        });
  }

  kj::Promise<void> trialBalance(TrialBalanceContext ctx) override {
    auto p = ctx.getParams();
    auto when = wire::get_opt_time_text(p.hasAsOf(), p.getAsOf(), "asOf");
    if (!when) {
      set_error(ctx.getResults(), when.error());
      return kj::READY_NOW;
    }
    auto as_of = *when;
    return s_
        .off_loop<Result<TrialBalanceResult>>(
            [&svc = s_.service(), as_of](ChunkingSink&, Channel&) {
              auto snap = svc.snapshot();
              return read_trial_balance(*snap, as_of);
            },
            nullptr, nullptr)
        .then([ctx](Result<TrialBalanceResult> r) mutable {
          if (!r)
            set_error(ctx.getResults(), r.error());
          else
            wire::encode(ctx.getResults().initResult(), *r);
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
    auto sent = std::make_shared<SentText>();
    return s_
        .off_loop<ExportSummary>(
            [&svc = s_.service(), format](ChunkingSink& sink, Channel&) {
              auto snap = svc.snapshot();
              auto summary = export_journal(*snap, format,
                                            [&sink](std::string_view s) { return sink.write(s); });
              sink.flush();
              return summary;
            },
            text_sender(p.getSink(), sent), nullptr)
        .then([ctx, sent](ExportSummary r) mutable {
          r.bytes = sent->bytes;
          r.sha256 = sent->sha.digest();
          wire::encode(ctx.getResults().initResult(), r);
        });
  }

 private:
  RpcServerImpl& s_;
};

}  // namespace

kj::Own<wire::Auditor::Server> make_auditor(RpcServerImpl& server) {
  return kj::heap<AuditorImpl>(server);
}

}  // namespace tally
