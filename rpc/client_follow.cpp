// The change stream's client side (contract in rpc/client.h, Client::follow).
#include "rpc/client_impl.h"

namespace tally {

namespace {

// What the caller's thread knows of the stream so far.
struct FollowState {
  const std::function<bool(const EntryView&)>* on_entry = nullptr;
  uint64_t next = 1;  // the seq expected next
  Digest last_hash{};
  bool have_hash = false;  // last_hash is the hash of entry next - 1
  uint64_t received = 0;
  uint64_t max_entries = 0;
  bool stopped = false;  // on_entry returned false, or max_entries arrived
  std::string broken;    // a gap, a repeat or a chain that does not link
  std::shared_ptr<CallerQueue> queue;
};

// How long the tail of a stream that ended may take to reach the caller.
constexpr std::chrono::milliseconds kFollowTailIdle{30000};

// Relays each message of entries to the calling thread, which checks and hands them over.
class EntrySinkImpl final : public wire::EntrySink::Server {
 public:
  EntrySinkImpl(std::shared_ptr<CallerQueue> q, std::shared_ptr<FollowState> st)
      : q_(std::move(q)), st_(std::move(st)) {}
  kj::Promise<void> entries(EntriesContext ctx) override {
    std::vector<EntryView> batch;
    for (auto e : ctx.getParams().getEntries()) {
      auto v = wire::decode(e);
      if (!v)
        return KJ_EXCEPTION(
            FAILED, "change stream: an entry that does not decode: ", v.error().message.c_str());
      batch.push_back(std::move(*v));
    }
    auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
    auto f =
        std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<void>>>(kj::mv(paf.fulfiller));
    q_->push([st = st_, batch = std::move(batch), f] {
      for (const auto& v : batch) {
        if (st->stopped || !st->broken.empty()) break;
        if (v.seq != st->next) {
          st->broken = "change stream: expected seq " + std::to_string(st->next) + ", got " +
                       std::to_string(v.seq);
        } else if (st->have_hash && v.prev_hash != st->last_hash) {
          st->broken = "change stream: entry " + std::to_string(v.seq) +
                       " does not link to the one before it";
        } else {
          st->next = v.seq + 1;
          st->last_hash = v.hash;
          st->have_hash = true;
          ++st->received;
          if (!(*st->on_entry)(v) || (st->max_entries != 0 && st->received >= st->max_entries))
            st->stopped = true;
        }
      }
      if (st->stopped || !st->broken.empty())
        (*f)->reject(KJ_EXCEPTION(FAILED, "the client stopped following"));
      else
        (*f)->fulfill();
    });
    return kj::mv(paf.promise);
  }

 private:
  std::shared_ptr<CallerQueue> q_;
  std::shared_ptr<FollowState> st_;
};

}  // namespace

Reply<uint64_t> Client::follow(uint64_t from_seq, uint64_t max_entries,
                               const std::function<bool(const EntryView&)>& on_entry,
                               uint64_t* last_seq) {
  Impl& impl = *impl_;
  auto st = std::make_shared<FollowState>();
  st->on_entry = &on_entry;
  st->next = from_seq == 0 ? 1 : from_seq;
  st->max_entries = max_entries;
  auto r = impl.call<uint64_t>([&impl, st, max_entries](std::shared_ptr<CallerQueue> q) {
    return impl.ensure().then(
        [st, q, max_entries](std::shared_ptr<Conn> c) -> kj::Promise<Reply<uint64_t>> {
          KJ_IF_MAYBE (a, c->auditor) {
            st->queue = q;
            auto req = a->followRequest();
            req.setFromSeq(st->next);
            req.setMaxEntries(max_entries);
            req.setSink(kj::heap<EntrySinkImpl>(q, st));
            return req.send()
                .then([](auto resp) -> Reply<uint64_t> {
                  if (resp.hasError()) return wire::decode_error(resp.getError());
                  return resp.getLastSeq();
                })
                .attach(kj::mv(c));
          }
          return Reply<uint64_t>(role_missing("auditor"));
        });
  });
  // The call's return may overtake its last messages (each is delivered once the one before was
  // taken): wait for them when the server says more were sent than arrived.
  if (r.ok() && st->queue && st->next - 1 < r.value() && !st->stopped && st->broken.empty()) {
    const uint64_t last = r.value();
    if (!st->queue->run_until(
            [&] { return st->next - 1 >= last || st->stopped || !st->broken.empty(); },
            kFollowTailIdle))
      r = Failure{Failure::Kind::disconnected,
                  "change stream: ended before entry " + std::to_string(last) + " arrived"};
  }
  // Every event has run on this thread: st is ours alone now.
  if (last_seq != nullptr) *last_seq = st->next - 1;
  if (!st->broken.empty()) return Failure{Failure::Kind::server_error, st->broken};
  if (st->stopped) return st->next - 1;
  return r;
}

}  // namespace tally
