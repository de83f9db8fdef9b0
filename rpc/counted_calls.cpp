// Call counting (contract in rpc/counted_calls.h).
#include "rpc/counted_calls.h"

#include <utility>

#include "rpc/server_impl.h"

namespace tally {

namespace {

// Counts a capability's calls in progress on its connection and stamps the last one's start and
// end (the idle timeout), then hands the call to the capability it wraps.
class CountedCalls final : public capnp::Capability::Server {
 public:
  CountedCalls(kj::Own<capnp::Capability::Server> inner, std::shared_ptr<ConnectionInfo> c,
               kj::Timer& timer, size_t calls_max)
      : inner_(kj::mv(inner)), c_(std::move(c)), timer_(timer), calls_max_(calls_max) {}
  DispatchCallResult dispatchCall(
      uint64_t interface_id, uint16_t method_id,
      capnp::CallContext<capnp::AnyPointer, capnp::AnyPointer> context) override {
    // One connection may not make the server hold more than calls_max_ calls (and their
    // replies): one more is refused at once, with an error the client may retry on.
    if (c_->calls >= calls_max_)
      return {KJ_EXCEPTION(OVERLOADED, "unavailable: calls_in_flight_max (",
                           static_cast<uint64_t>(calls_max_),
                           ") calls already in progress on this connection; retry"),
              false};
    ++c_->calls;
    c_->last_call = timer_.now();
    auto r = inner_->dispatchCall(interface_id, method_id, context);
    return {r.promise.attach(kj::defer([c = c_, &timer = timer_] {
              --c->calls;
              c->last_call = timer.now();
            })),
            r.isStreaming};
  }

 private:
  kj::Own<capnp::Capability::Server> inner_;
  std::shared_ptr<ConnectionInfo> c_;
  kj::Timer& timer_;
  size_t calls_max_;
};

}  // namespace

capnp::Capability::Client counted_calls(kj::Own<capnp::Capability::Server> inner,
                                        std::shared_ptr<ConnectionInfo> connection,
                                        kj::Timer& timer, size_t calls_max) {
  return capnp::Capability::Client(
      kj::heap<CountedCalls>(kj::mv(inner), std::move(connection), timer, calls_max));
}

}  // namespace tally
