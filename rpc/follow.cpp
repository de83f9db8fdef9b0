// The change stream (contract in rpc/follow.h).
#include "rpc/follow.h"

#include <memory>
#include <vector>

#include "rpc/server_impl.h"

namespace tally {

namespace {

struct Follow {
  RpcServerImpl& server;
  uint64_t next;  // the next seq to send
  uint64_t left;  // entries still to send; UINT64_MAX: unbounded
  wire::EntrySink::Client sink;
  uint64_t idle_polls = 0;  // polls since the last message
};

// Up to `n` entries from f.next, read on one snapshot; empty when caught up.
std::vector<EntryView> read_from(Follow& f, uint64_t n) {
  std::vector<EntryView> out;
  try {
    auto snap = f.server.service().snapshot();
    if (snap->last_seq() < f.next) return out;
    snap->entries(f.next, [&](const EntryView& v) {
      out.push_back(v);
      return out.size() < n;
    });
  } catch (const StoreFailure& e) {
    throw store_exception(e);
  }
  return out;
}

kj::Promise<uint64_t> step(std::shared_ptr<Follow> f) {
  if (f->server.draining())
    return KJ_EXCEPTION(DISCONNECTED, "server is shutting down; resume from seq ", f->next);
  if (f->left == 0) return f->next - 1;
  auto batch = read_from(*f, std::min(f->left, follow_entries_per_message_max));
  if (batch.empty() && ++f->idle_polls * follow_poll_ms < follow_heartbeat_ms) {
    return f->server.timer().afterDelay(follow_poll_ms * kj::MILLISECONDS).then([f] {
      return step(f);
    });
  }
  // Entries, or an empty heartbeat: a reader that stopped (or went away) fails it, which ends
  // the call even when nothing is committed.
  f->idle_polls = 0;
  auto req = f->sink.entriesRequest();
  auto list = req.initEntries(static_cast<unsigned>(batch.size()));
  for (size_t i = 0; i < batch.size(); ++i) wire::encode(list[static_cast<unsigned>(i)], batch[i]);
  if (!batch.empty()) f->next = batch.back().seq + 1;
  if (f->left != UINT64_MAX) f->left -= batch.size();
  return req.send().then([f](auto&&) { return step(f); });
}

}  // namespace

kj::Promise<uint64_t> follow_entries(RpcServerImpl& server, uint64_t from_seq, uint64_t max_entries,
                                     wire::EntrySink::Client sink) {
  auto f =
      std::make_shared<Follow>(Follow{server, from_seq == 0 ? 1 : from_seq,
                                      max_entries == 0 ? UINT64_MAX : max_entries, kj::mv(sink)});
  return step(f);
}

}  // namespace tally
