// The marketplace layer's Auditor reads (contract in rpc/auditor_reads.h).
#include "rpc/auditor_reads.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "rpc/wire_market.h"
#include "service/market_reads.h"

namespace tally {

namespace {

// `read` off the loop (it takes a snapshot of its own), then its result or error into `ctx`.
template <class T, class Ctx, class Read, class Encode>
kj::Promise<void> answer(RpcServerImpl& s, Ctx ctx, Read read, Encode encode) {
  return s
      .off_loop<Result<T>>([&svc = s.service(), read = std::move(read)](
                               ChunkingSink&, Channel&) { return read(svc); },
                           nullptr, nullptr)
      .then([ctx, encode = std::move(encode)](Result<T> r) mutable {
        if (!r)
          wire::encode_error(ctx.getResults().initError(), r.error());
        else
          encode(ctx.getResults(), *r);
      });
}

}  // namespace

kj::Promise<void> answer_marketplace(
    RpcServerImpl& s,
    capnp::CallContext<wire::Auditor::MarketplaceParams, wire::Auditor::MarketplaceResults> ctx) {
  auto p = ctx.getParams();
  MarketplaceQuery q;
  q.name = wire::text(p.getName());
  if (p.hasFrom()) q.from = wire::text(p.getFrom());
  q.next = p.getNext();
  return answer<MarketplaceResult>(
      s, ctx, [q](Service& svc) { return marketplace_op(svc, q); },
      [](auto res, const MarketplaceResult& r) { wire::encode(res.initResult(), r); });
}

kj::Promise<void> answer_payee(
    RpcServerImpl& s,
    capnp::CallContext<wire::Auditor::PayeeParams, wire::Auditor::PayeeResults> ctx) {
  auto p = ctx.getParams();
  std::string mk = wire::text(p.getMarketplace()), payee = wire::text(p.getPayee());
  return answer<PayeeResult>(
      s, ctx, [mk, payee](Service& svc) { return payee_op(svc, mk, payee); },
      [](auto res, const PayeeResult& r) { wire::encode(res.initResult(), r); });
}

kj::Promise<void> answer_accounts(
    RpcServerImpl& s,
    capnp::CallContext<wire::Auditor::AccountsParams, wire::Auditor::AccountsResults> ctx) {
  auto p = ctx.getParams();
  AccountsQuery q{wire::text(p.getPrefix()), wire::text(p.getAfter()), p.getLimit()};
  return answer<AccountsPage>(
      s, ctx, [q](Service& svc) { return accounts_op(svc, q); },
      [](auto res, const AccountsPage& r) { wire::encode(res.initResult(), r); });
}

kj::Promise<void> answer_runs(
    RpcServerImpl& s,
    capnp::CallContext<wire::Auditor::RunsParams, wire::Auditor::RunsResults> ctx) {
  auto p = ctx.getParams();
  std::optional<std::string> mk;
  if (p.hasMarketplace()) mk = wire::text(p.getMarketplace());
  return answer<std::vector<RunSummary>>(
      s, ctx, [mk](Service& svc) { return all_runs_op(svc, mk); },
      [mk](auto res, const std::vector<RunSummary>& r) { wire::encode(res.initResult(), mk, r); });
}

}  // namespace tally
