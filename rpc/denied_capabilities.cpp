// The refusing capabilities (contract in rpc/denied_capabilities.h).
#include "rpc/denied_capabilities.h"

#include <string>
#include <utility>

#include "rpc/backup_stream.h"
#include "rpc/server_impl.h"

namespace tally {

Rejection role_refused(std::string_view role) {
  return reject(Code::not_allowed, "not allowed: the token has no " + std::string(role) +
                                       " role (check the roles login granted)");
}

Rejection not_leader(const RpcServerImpl& s) {
  return reject(Code::not_leader,
                "this server is a standby of " + s.standby_of() + ": send writes to the leader");
}

namespace {

template <class Ctx>
kj::Promise<void> refuse(Ctx ctx, std::string_view role) {
  wire::encode_error(ctx.getResults().initError(), role_refused(role));
  return kj::READY_NOW;
}
template <class Ctx>
kj::Promise<void> refuse(Ctx ctx, const Rejection& why) {
  wire::encode_error(ctx.getResults().initError(), why);
  return kj::READY_NOW;
}

template <class Ctx>
kj::Promise<void> refuse_post(Ctx ctx, const Rejection& why) {
  auto items = ctx.getParams().getItems();
  auto out = ctx.getResults().initResults(items.size());
  for (unsigned i = 0; i < items.size(); ++i) {
    auto item = items[i];
    std::string id = item.isEntry()   ? wire::text(item.getEntry().getId())
                     : item.isEvent() ? wire::text(item.getEvent().getId())
                                      : std::string();
    wire::encode_result(out[i], ItemResult::error(why, std::move(id)));
  }
  return kj::READY_NOW;
}

// A poster capability that refuses every call with `why` (the role is missing, or this server
// is a standby).
class DeniedPoster final : public wire::Poster::Server {
 public:
  explicit DeniedPoster(Rejection why = role_refused("poster")) : why_(std::move(why)) {}
  kj::Promise<void> post(PostContext ctx) override { return refuse_post(ctx, why_); }
  kj::Promise<void> currency(CurrencyContext ctx) override { return refuse(ctx, why_); }
  kj::Promise<void> server(ServerContext ctx) override { return refuse(ctx, why_); }

 private:
  Rejection why_;
};

class DeniedAuditor final : public wire::Auditor::Server {
 public:
  kj::Promise<void> balance(BalanceContext ctx) override { return refuse(ctx, kRole); }
  kj::Promise<void> balances(BalancesContext ctx) override { return refuse(ctx, kRole); }
  kj::Promise<void> statement(StatementContext ctx) override { return refuse(ctx, kRole); }
  kj::Promise<void> entry(EntryContext ctx) override { return refuse(ctx, kRole); }
  kj::Promise<void> trialBalance(TrialBalanceContext ctx) override { return refuse(ctx, kRole); }
  kj::Promise<void> verify(VerifyContext ctx) override { return refuse(ctx, kRole); }
  kj::Promise<void> exportJournal(ExportJournalContext ctx) override { return refuse(ctx, kRole); }
  kj::Promise<void> currency(CurrencyContext ctx) override { return refuse(ctx, kRole); }
  kj::Promise<void> follow(FollowContext ctx) override { return refuse(ctx, kRole); }
  kj::Promise<void> runPayouts(RunPayoutsContext ctx) override { return refuse(ctx, kRole); }
  kj::Promise<void> payoutsByState(PayoutsByStateContext ctx) override {
    return refuse(ctx, kRole);
  }
  kj::Promise<void> server(ServerContext ctx) override { return refuse(ctx, kRole); }
  kj::Promise<void> marketplace(MarketplaceContext ctx) override { return refuse(ctx, kRole); }
  kj::Promise<void> payee(PayeeContext ctx) override { return refuse(ctx, kRole); }
  kj::Promise<void> accounts(AccountsContext ctx) override { return refuse(ctx, kRole); }
  kj::Promise<void> runs(RunsContext ctx) override { return refuse(ctx, kRole); }

 private:
  static constexpr const char* kRole = "auditor";
};

class DeniedFinance final : public wire::Finance::Server {
 public:
  // With `backups`, backup is served from that server's store (a standby's finance role).
  explicit DeniedFinance(Rejection why = role_refused("finance"), RpcServerImpl* backups = nullptr)
      : why_(std::move(why)), backups_(backups) {}
  kj::Promise<void> post(PostContext ctx) override { return refuse_post(ctx, why_); }
  kj::Promise<void> closePeriod(ClosePeriodContext ctx) override { return refuse(ctx, why_); }
  kj::Promise<void> settle(SettleContext ctx) override { return refuse(ctx, why_); }
  kj::Promise<void> runs(RunsContext ctx) override { return refuse(ctx, why_); }
  kj::Promise<void> payouts(PayoutsContext ctx) override { return refuse(ctx, why_); }
  kj::Promise<void> backup(BackupContext ctx) override {
    if (backups_ != nullptr) return answer_backup(*backups_, ctx);
    return refuse(ctx, why_);
  }
  kj::Promise<void> hold(HoldContext ctx) override { return refuse(ctx, why_); }
  kj::Promise<void> currency(CurrencyContext ctx) override { return refuse(ctx, why_); }
  kj::Promise<void> payoutFile(PayoutFileContext ctx) override { return refuse(ctx, why_); }
  kj::Promise<void> importReport(ImportReportContext ctx) override { return refuse(ctx, why_); }
  kj::Promise<void> server(ServerContext ctx) override { return refuse(ctx, why_); }

 private:
  Rejection why_;
  RpcServerImpl* backups_;
};

class DeniedReplica final : public wire::Replica::Server {
 public:
  kj::Promise<void> follow(FollowContext ctx) override { return refuse(ctx, "replica"); }
  kj::Promise<void> server(ServerContext ctx) override { return refuse(ctx, "replica"); }
};

}  // namespace

kj::Own<wire::Poster::Server> denied_poster(Rejection why) {
  return kj::heap<DeniedPoster>(std::move(why));
}
kj::Own<wire::Auditor::Server> denied_auditor() {
  return kj::heap<DeniedAuditor>();
}
kj::Own<wire::Finance::Server> denied_finance(Rejection why) {
  return kj::heap<DeniedFinance>(std::move(why));
}
kj::Own<wire::Finance::Server> standby_finance(RpcServerImpl& s) {
  return kj::heap<DeniedFinance>(not_leader(s), &s);
}
kj::Own<wire::Replica::Server> denied_replica() {
  return kj::heap<DeniedReplica>();
}

}  // namespace tally
