// Helpers the role capabilities share (rpc/capabilities.cpp, rpc/auditor_capability.cpp): the
// answers every role gives (currency, server), a short read on a snapshot, a result's error.
// Loop thread only (they run inside calls).
#pragma once

#include <string_view>
#include <utility>

#include "rpc/server_impl.h"
#include "service/server_info.h"

namespace tally::capability {

template <class Ctx>
kj::Promise<void> answer_currency(Service& service, Ctx ctx) {
  auto code = ctx.getParams().getCode();
  if (auto c = service.ledger().find_currency(std::string_view(code.begin(), code.size())))
    wire::set_currency(ctx.getResults().initCurrency(), *c);
  return kj::READY_NOW;
}

// The server's version and limits as this server applies them (its options override the
// built-in ones).
template <class Ctx>
kj::Promise<void> answer_server(RpcServerImpl& s, Ctx ctx) {
  ServerInfo i = builtin_server_info();
  const ServerLimits& l = s.limits();
  i.batch_items_max = l.batch_items_max;
  i.message_words_max = l.message_words_max;
  i.connections_max = l.connections_max;
  i.long_reads_max = l.long_reads_max;
  i.stream_calls_in_flight_max = SendWindow::kCallsInFlightMax;
  i.login_timeout_ms = l.login_timeout_ms;
  i.idle_timeout_ms = l.idle_timeout_ms;
  i.unauthenticated_bytes_max = l.unauthenticated_bytes_max;
  i.calls_in_flight_max = l.calls_in_flight_max;
  i.reply_queued_bytes_max = l.reply_queued_bytes_max;
  i.call_words_in_flight_max = l.call_words_in_flight_max;
  i.lease_ttl_s = s.lease_ttl_s();
  wire::encode(ctx.getResults().initResult(), i);
  return kj::READY_NOW;
}

// A short read on the loop's thread: a snapshot, `read` on it. A store that fails under it (no
// free reader slot, a damaged page) is the call's error, never the server's end.
template <class F>
auto on_snapshot(RpcServerImpl& s, F&& read) -> decltype(read(std::declval<Snapshot&>())) {
  try {
    auto snap = s.service().snapshot();
    return read(*snap);
  } catch (const StoreFailure& e) {
    throw store_exception(e);
  }
}

template <class Results>
void set_error(Results results, const Rejection& r) {
  wire::encode_error(results.initError(), r);
}

}  // namespace tally::capability
