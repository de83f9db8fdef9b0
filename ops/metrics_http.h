// `--metrics ADDR`: serves the registry's Prometheus text at GET /metrics with kj::HttpServer on
// the caller's event loop (SPEC section 9). Any other path is 404, any other method on /metrics
// 405. Rendering is cheap (a walk over atomics under the registry's mutex), so it runs on the
// event loop; it never waits on the ledger.
//
// The endpoint has no authentication: bind it to a loopback or internal address.
//
// Thread safety: a MetricsServer lives on the thread whose event loop it was started on. The
// registry may be updated from any thread meanwhile.
#pragma once

#include <kj/async-io.h>
#include <kj/compat/http.h>

#include <string>

#include "ops/metrics.h"
#include "ops/ops_result.h"

namespace tally {

class MetricsServer {
 public:
  // Binds `address` ("127.0.0.1:9464"; port 0 picks a free one; "*:9464" for every interface)
  // and serves until destroyed. A bad address or a port in use is Kind::io. `timer`, `network`
  // and `registry` must outlive the server.
  static kj::Promise<OpsResult<kj::Own<MetricsServer>>> listen(kj::Timer& timer,
                                                               kj::Network& network,
                                                               std::string address,
                                                               const MetricsRegistry& registry);
  ~MetricsServer();

  uint port() const;
  uint64_t requests_served() const { return requests_; }

  // Public for kj::heap; use listen().
  struct Impl;
  explicit MetricsServer(kj::Own<Impl> impl);

 private:
  kj::Own<Impl> impl_;
  uint64_t requests_ = 0;
  friend struct Impl;
};

}  // namespace tally
