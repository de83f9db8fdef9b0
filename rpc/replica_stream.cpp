// The leader's side of replication (contract in rpc/replica_stream.h).
#include "rpc/replica_stream.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "rpc/server_impl.h"

namespace tally {

uint64_t StandbyAcks::add() {
  const uint64_t id = next_id_++;
  acks_.emplace(id, 0);
  gauges();
  return id;
}

void StandbyAcks::ack(uint64_t id, uint64_t txn) {
  auto it = acks_.find(id);
  if (it == acks_.end() || txn <= it->second) return;
  it->second = txn;
  release();
  gauges();
}

void StandbyAcks::remove(uint64_t id) {
  if (acks_.erase(id) > 0) gauges();
}

void StandbyAcks::gauges() {
  if (metrics_ == nullptr) return;
  metrics_->replication_standbys.set(static_cast<int64_t>(acks_.size()));
  const uint64_t last = ledger_.last_txn(), acked = highest_ack();
  metrics_->replication_lag_txns.set(static_cast<int64_t>(last > acked ? last - acked : 0));
}

uint64_t StandbyAcks::highest_ack() const {
  uint64_t h = 0;
  for (const auto& [id, txn] : acks_) h = std::max(h, txn);
  return h;
}

// The N-th highest ack: every transaction up to it is durable on N standbys.
void StandbyAcks::release() {
  if (sync_ == 0 || acks_.size() < sync_) return;
  std::vector<uint64_t> txns;
  for (const auto& [id, txn] : acks_) txns.push_back(txn);
  std::sort(txns.begin(), txns.end(), std::greater<>());
  ledger_.release_through(txns[sync_ - 1]);
}

namespace {

struct Stream {
  Stream(RpcServerImpl& s, uint64_t from, wire::ChangeSink::Client k)
      : server(s), next(from), sink(kj::mv(k)), id(s.standby_acks().add()) {}
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() { server.standby_acks().remove(id); }
  RpcServerImpl& server;
  uint64_t next;  // the next txn to send
  wire::ChangeSink::Client sink;
  uint64_t id;  // in the server's StandbyAcks while the stream lives
  uint64_t idle_polls = 0;
};

// Change sets from s.next, up to replica_message_bytes_max (at least one), on one snapshot.
std::vector<ChangeSet> read_from(Stream& s) {
  std::vector<ChangeSet> out;
  try {
    auto snap = s.server.service().snapshot();
    if (snap->last_txn() < s.next) return out;
    uint64_t bytes = 0;
    snap->change_sets(s.next, [&](uint64_t txn, std::string_view row) {
      if (txn != s.next + out.size()) return false;  // trimmed under us: the caller sees the gap
      if (!out.empty() && bytes + row.size() > replica_message_bytes_max) return false;
      bytes += row.size();
      out.push_back(ChangeSet{txn, std::string(row)});
      return true;
    });
  } catch (const StoreFailure& e) {
    throw store_exception(e);
  }
  return out;
}

kj::Promise<uint64_t> step(std::shared_ptr<Stream> s) {
  if (s->server.draining())
    return KJ_EXCEPTION(DISCONNECTED, "server is shutting down; resume from txn ", s->next);
  auto sets = read_from(*s);
  if (sets.empty() && ++s->idle_polls * replica_poll_ms < replica_heartbeat_ms)
    return s->server.timer().afterDelay(replica_poll_ms * kj::MILLISECONDS).then([s] {
      return step(s);
    });
  s->idle_polls = 0;
  auto req = s->sink.applyRequest();
  auto list = req.initSets(static_cast<unsigned>(sets.size()));
  for (size_t i = 0; i < sets.size(); ++i) {
    auto b = list[static_cast<unsigned>(i)];
    b.setTxn(sets[i].txn);
    b.setRow(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(sets[i].row.data()),
                                 sets[i].row.size()));
  }
  if (!sets.empty()) s->next = sets.back().txn + 1;
  const uint64_t sent_through = s->next - 1;
  return req.send().then([s, sent_through](auto&& resp) -> kj::Promise<uint64_t> {
    const uint64_t durable = resp.getDurableTxn();
    if (durable > sent_through)
      return KJ_EXCEPTION(FAILED, "the standby says it holds txn ", durable,
                          " but was sent only up to ", sent_through);
    s->server.standby_acks().ack(s->id, durable);
    return step(s);
  });
}

}  // namespace

kj::Promise<FollowChangesResult> follow_changes(RpcServerImpl& server, uint64_t from_txn,
                                                wire::ChangeSink::Client sink) {
  if (!server.service().ledger().options().replication_log)
    return FollowChangesResult{
        "this server keeps no replication log: start it with --replication-log (or "
        "--sync-standbys)",
        0};
  if (from_txn == 0) from_txn = 1;
  uint64_t last = 0, first = 0;
  try {
    auto snap = server.service().snapshot();
    last = snap->last_txn();
    first = snap->first_logged_txn();
  } catch (const StoreFailure& e) {
    return store_exception(e);
  }
  if (from_txn > last + 1)
    return FollowChangesResult{"fromTxn: the standby is at txn " + std::to_string(from_txn - 1) +
                                   ", " + kStandbyAheadText + "'s " + std::to_string(last) +
                                   ": it does not follow this store",
                               0};
  if (from_txn <= last && (first == 0 || from_txn < first))
    return FollowChangesResult{
        "fromTxn: this server's replication log " +
            (first == 0 ? std::string("holds no transaction before ") + std::to_string(last + 1)
                        : "starts at txn " + std::to_string(first)) +
            ": seed the standby from a newer backup of this server (tally backup, tally restore)",
        0};
  auto s = std::make_shared<Stream>(server, from_txn, kj::mv(sink));
  // An ack of the txn before the first sent: a standby that is already caught up counts at once.
  server.standby_acks().ack(s->id, from_txn - 1);
  return step(s).then([](uint64_t last_txn) { return FollowChangesResult{"", last_txn}; });
}

}  // namespace tally
