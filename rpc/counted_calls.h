// The wrapper around every capability a connection holds (its bootstrap and the role
// capabilities login grants): counts the connection's calls in progress and stamps the last
// one's start and end in its ConnectionInfo (the idle timeout, rpc/server_impl.h), then hands the
// call to the capability it wraps. A call beyond `calls_max` in progress on the connection is
// refused at once with an OVERLOADED exception the client may retry on ("unavailable:
// calls_in_flight_max ...").
//
// Thread safety: created and called on the server's event loop only.
#pragma once

#include <capnp/capability.h>
#include <kj/memory.h>
#include <kj/timer.h>

#include <cstddef>
#include <memory>

namespace tally {

struct ConnectionInfo;

// `inner` wrapped; `timer` (the loop's) must outlive the result. Cast the result to the
// interface `inner` implements (castAs<Iface>()).
capnp::Capability::Client counted_calls(kj::Own<capnp::Capability::Server> inner,
                                        std::shared_ptr<ConnectionInfo> connection,
                                        kj::Timer& timer, size_t calls_max);

}  // namespace tally
