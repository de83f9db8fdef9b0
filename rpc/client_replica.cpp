// A standby's side of the replication stream (contract in rpc/client.h, Client::follow_changes).
#include "rpc/client_impl.h"

namespace tally {

namespace {

struct ReplicaState {
  const std::function<std::optional<uint64_t>(std::vector<ChangeSet>&)>* on_sets = nullptr;
  uint64_t next = 1;  // the txn expected next
  bool stopped = false;
  std::string broken;
};

// Relays each message to the calling thread, which applies it; the apply's return carries the
// standby's acknowledgement back to the leader.
class ChangeSinkImpl final : public wire::ChangeSink::Server {
 public:
  ChangeSinkImpl(std::shared_ptr<CallerQueue> q, std::shared_ptr<ReplicaState> st)
      : q_(std::move(q)), st_(std::move(st)) {}
  kj::Promise<void> apply(ApplyContext ctx) override {
    std::vector<ChangeSet> sets;
    for (auto s : ctx.getParams().getSets()) {
      auto row = s.getRow();
      sets.push_back(ChangeSet{s.getTxn(), std::string(row.asChars().begin(), row.size())});
    }
    auto paf = kj::newPromiseAndCrossThreadFulfiller<uint64_t>();
    auto f =
        std::make_shared<kj::Own<kj::CrossThreadPromiseFulfiller<uint64_t>>>(kj::mv(paf.fulfiller));
    q_->push([st = st_, sets = std::move(sets), f]() mutable {
      for (const ChangeSet& s : sets)
        if (st->broken.empty() && s.txn != st->next + (&s - sets.data()))
          st->broken = "replication stream: expected txn " +
                       std::to_string(st->next + (&s - sets.data())) + ", got " +
                       std::to_string(s.txn);
      std::optional<uint64_t> durable;
      if (st->broken.empty() && !st->stopped) {
        const uint64_t n = sets.size();
        durable = (*st->on_sets)(sets);
        if (durable) st->next += n;
      }
      if (!durable) {
        st->stopped = true;
        (*f)->reject(KJ_EXCEPTION(FAILED, "the standby stopped following"));
      } else {
        (*f)->fulfill(kj::cp(*durable));
      }
    });
    return paf.promise.then(
        [ctx](uint64_t durable) mutable { ctx.getResults().setDurableTxn(durable); });
  }

 private:
  std::shared_ptr<CallerQueue> q_;
  std::shared_ptr<ReplicaState> st_;
};

}  // namespace

Reply<uint64_t> Client::follow_changes(
    uint64_t from_txn,
    const std::function<std::optional<uint64_t>(std::vector<ChangeSet>&)>& on_sets) {
  Impl& impl = *impl_;
  auto st = std::make_shared<ReplicaState>();
  st->on_sets = &on_sets;
  st->next = from_txn == 0 ? 1 : from_txn;
  auto r = impl.call<uint64_t>([&impl, st](std::shared_ptr<CallerQueue> q) {
    return impl.ensure().then([st, q](std::shared_ptr<Conn> c) -> kj::Promise<Reply<uint64_t>> {
      KJ_IF_MAYBE (rep, c->replica) {
        auto req = rep->followRequest();
        req.setFromTxn(st->next);
        req.setSink(kj::heap<ChangeSinkImpl>(q, st));
        return req.send()
            .then([](auto resp) -> Reply<uint64_t> {
              if (resp.hasError()) return wire::decode_error(resp.getError());
              return resp.getLastTxn();
            })
            .attach(kj::mv(c));
      }
      return Reply<uint64_t>(role_missing("replica"));
    });
  });
  // Every event has run on this thread: st is ours alone now.
  if (!st->broken.empty()) return Failure{Failure::Kind::server_error, st->broken};
  if (st->stopped) return st->next - 1;
  return r;
}

}  // namespace tally
