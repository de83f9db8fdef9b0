// GCC 12 reports false "maybe-uninitialized" positives inside kj::_::ExceptionOr<T> for promises
// of OpsResult<T> (a std::variant; the value is only read when it was set), as in rpc/server.cpp.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "ops/metrics_http.h"

namespace tally {

struct MetricsServer::Impl final : public kj::HttpService {
  Impl(kj::Timer& timer, const MetricsRegistry& registry, kj::Own<kj::ConnectionReceiver> port)
      : registry(registry),
        table(kj::heap<kj::HttpHeaderTable>()),
        receiver(kj::mv(port)),
        port(receiver->getPort()),
        server(kj::heap<kj::HttpServer>(timer, *table, *this)) {}

  kj::Promise<void> request(kj::HttpMethod method, kj::StringPtr url, const kj::HttpHeaders&,
                            kj::AsyncInputStream&, Response& response) override {
    kj::HttpHeaders headers(*table);
    if (url != "/metrics" && !url.startsWith("/metrics?"))
      return response.sendError(404, "Not Found", headers);
    if (method != kj::HttpMethod::GET && method != kj::HttpMethod::HEAD) {
      headers.add("Allow", "GET, HEAD");
      return response.sendError(405, "Method Not Allowed", headers);
    }
    if (owner != nullptr) ++owner->requests_;
    auto body = kj::heap<std::string>(registry.render());
    headers.set(
        kj::HttpHeaderId::CONTENT_TYPE,
        kj::StringPtr(MetricsRegistry::kContentType.data(), MetricsRegistry::kContentType.size()));
    auto stream = response.send(200, "OK", headers, body->size());
    if (method == kj::HttpMethod::HEAD) return kj::READY_NOW;
    auto write = stream->write(body->data(), body->size());
    return write.attach(kj::mv(stream), kj::mv(body));
  }

  const MetricsRegistry& registry;
  kj::Own<kj::HttpHeaderTable> table;
  kj::Own<kj::ConnectionReceiver> receiver;
  uint port;
  kj::Own<kj::HttpServer> server;
  kj::Promise<void> listening = nullptr;
  MetricsServer* owner = nullptr;
};

MetricsServer::MetricsServer(kj::Own<Impl> impl) : impl_(kj::mv(impl)) {
  impl_->owner = this;
}

MetricsServer::~MetricsServer() = default;

uint MetricsServer::port() const {
  return impl_->port;
}

kj::Promise<OpsResult<kj::Own<MetricsServer>>> MetricsServer::listen(
    kj::Timer& timer, kj::Network& network, std::string address, const MetricsRegistry& registry) {
  using R = OpsResult<kj::Own<MetricsServer>>;
  return kj::evalNow([&] { return network.parseAddress(address.c_str()); })
      .then(
          [&timer, &registry](kj::Own<kj::NetworkAddress> addr) -> R {
            kj::Own<kj::ConnectionReceiver> port;
            KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] { port = addr->listen(); })) {
              return OpsError::io(std::string("metrics: cannot listen: ") +
                                  e->getDescription().cStr());
            }
            auto impl = kj::heap<Impl>(timer, registry, kj::mv(port));
            Impl& i = *impl;
            auto server = kj::heap<MetricsServer>(kj::mv(impl));
            i.listening = i.server->listenHttp(*i.receiver).eagerlyEvaluate(nullptr);
            return R(kj::mv(server));
          },
          [address](kj::Exception&& e) -> R {
            return OpsError::io("metrics: bad address \"" + address +
                                "\": " + e.getDescription().cStr());
          });
}

}  // namespace tally
