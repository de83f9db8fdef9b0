// The RPC client's reads of the marketplace layer (contract in rpc/client.h): Auditor
// marketplace, payee, accounts and runs.
#include "rpc/client_impl.h"
#include "rpc/wire_market.h"

namespace tally {

namespace {

// An Auditor read: `send(auditor)` makes and sends the request; its reply's error or result.
template <class T, class Send>
Reply<T> auditor_call(Client::Impl& impl, Send send) {
  return impl.call<T>([&impl, send](std::shared_ptr<CallerQueue>) {
    return impl.auditor_read<T>([send](wire::Auditor::Client& a) {
      return send(a).then([](auto resp) -> Reply<T> {
        if (resp.hasError()) return wire::decode_error(resp.getError());
        auto r = wire::decode(resp.getResult());
        if (!r) return malformed<T>(r.error());
        return std::move(*r);
      });
    });
  });
}

}  // namespace

Reply<MarketplaceResult> Client::marketplace(const MarketplaceQuery& q) {
  return auditor_call<MarketplaceResult>(*impl_, [q](wire::Auditor::Client& a) {
    auto req = a.marketplaceRequest();
    req.setName(wire::text_of(q.name));
    if (q.from) req.setFrom(wire::text_of(*q.from));
    req.setNext(q.next);
    return req.send();
  });
}

Reply<PayeeResult> Client::payee(const std::string& marketplace, const std::string& payee) {
  return auditor_call<PayeeResult>(*impl_, [marketplace, payee](wire::Auditor::Client& a) {
    auto req = a.payeeRequest();
    req.setMarketplace(wire::text_of(marketplace));
    req.setPayee(wire::text_of(payee));
    return req.send();
  });
}

Reply<AccountsPage> Client::accounts(const AccountsQuery& q) {
  return auditor_call<AccountsPage>(*impl_, [q](wire::Auditor::Client& a) {
    auto req = a.accountsRequest();
    req.setPrefix(wire::text_of(q.prefix));
    req.setAfter(wire::text_of(q.after));
    req.setLimit(q.limit);
    return req.send();
  });
}

Reply<std::vector<RunSummary>> Client::runs_all(const std::optional<std::string>& marketplace) {
  return auditor_call<std::vector<RunSummary>>(*impl_, [marketplace](wire::Auditor::Client& a) {
    auto req = a.runsRequest();
    if (marketplace) req.setMarketplace(wire::text_of(*marketplace));
    return req.send();
  });
}

}  // namespace tally
