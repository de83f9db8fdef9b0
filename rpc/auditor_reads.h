// The Auditor methods of the marketplace layer's reads (Auditor @12..@15: marketplace, payee,
// accounts, runs), over service/market_reads.h. AuditorImpl (rpc/capabilities.cpp) forwards to
// these; each runs its read off the loop (a snapshot each) and answers `error` or `result`.
//
// Thread safety: on the server's loop thread, as every capability method.
#pragma once

#include "rpc/server_impl.h"

namespace tally {

kj::Promise<void> answer_marketplace(
    RpcServerImpl& s,
    capnp::CallContext<wire::Auditor::MarketplaceParams, wire::Auditor::MarketplaceResults> ctx);
kj::Promise<void> answer_payee(
    RpcServerImpl& s,
    capnp::CallContext<wire::Auditor::PayeeParams, wire::Auditor::PayeeResults> ctx);
kj::Promise<void> answer_accounts(
    RpcServerImpl& s,
    capnp::CallContext<wire::Auditor::AccountsParams, wire::Auditor::AccountsResults> ctx);
kj::Promise<void> answer_runs(
    RpcServerImpl& s,
    capnp::CallContext<wire::Auditor::RunsParams, wire::Auditor::RunsResults> ctx);

}  // namespace tally
