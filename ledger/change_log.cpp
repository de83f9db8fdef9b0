// The replication log's records (contract in ledger/change_log.h and ledger/replication.h).
#include "ledger/change_log.h"

#include <cstring>
#include <vector>

#include "ledger/codec.h"

namespace tally {

namespace {

constexpr uint8_t kOpPut = 1;
constexpr uint8_t kOpDel = 2;

struct Change {
  uint8_t op;
  MDB_dbi db;
  std::string_view key, value;
};

Status diverged(uint64_t txn, const std::string& what) {
  return Status::corruption("replica diverged at txn " + std::to_string(txn) + ": " + what);
}

}  // namespace

std::string replog_key(uint64_t txn) {
  std::string k;
  put_be64(k, txn);
  return k;
}

void ChangeLog::add(uint8_t op, MDB_dbi db, std::string_view key, std::string_view value) {
  const int table = dbs_.replicated_index(db);
  TALLY_ASSERT(table >= 0, "a write to a table that is not replicated");
  TALLY_ASSERT(key.size() <= limits::table_key_bytes_max);
  TALLY_ASSERT(value.size() <= UINT32_MAX);
  ReplogChange c{op, static_cast<uint8_t>(table), static_cast<uint16_t>(key.size()),
                 static_cast<uint32_t>(value.size())};
  body_.append(reinterpret_cast<const char*>(&c), sizeof c);
  body_.append(key);
  body_.append(value);
  ++changes_;
}

void ChangeLog::put(MDB_dbi db, std::string_view key, std::string_view value) {
  add(kOpPut, db, key, value);
}
void ChangeLog::del(MDB_dbi db, std::string_view key) {
  add(kOpDel, db, key, {});
}

std::string ChangeLog::row(uint64_t txn, TimeNs commit_ns, uint64_t last_seq,
                           const Digest& head) const {
  ReplogHeader h{};
  h.magic = kReplogMagic;
  h.changes = changes_;
  h.txn = txn;
  h.commit_ns = commit_ns;
  h.last_seq = last_seq;
  std::memcpy(h.head, head.data(), sizeof h.head);
  std::string out(reinterpret_cast<const char*>(&h), sizeof h);
  out += body_;
  return out;
}

bool decode_change_set_header(std::string_view row, ChangeSetHeader& out) {
  ReplogHeader h;
  if (row.size() < sizeof h) return false;
  std::memcpy(&h, row.data(), sizeof h);
  if (h.magic != kReplogMagic) return false;
  out.txn = h.txn;
  out.commit_ns = h.commit_ns;
  out.last_seq = h.last_seq;
  std::memcpy(out.head.data(), h.head, sizeof h.head);
  out.changes = h.changes;
  return true;
}

void store_replog_row(MDB_txn* txn, const Dbs& dbs, uint64_t txn_no, std::string_view row,
                      uint64_t kept) {
  std::string key = replog_key(txn_no);
  MDB_val k = to_val(key), v = to_val(row);
  check(mdb_put(txn, dbs.replog, &k, &v, MDB_APPEND), "replog put");
  if (kept > 0 && txn_no > kept) {
    std::string old = replog_key(txn_no - kept);
    MDB_val ok = to_val(old);
    int rc = mdb_del(txn, dbs.replog, &ok, nullptr);
    if (rc != MDB_NOTFOUND) check(rc, "replog trim");
  }
}

Status apply_change_set(MDB_txn* txn, const TxnReader& rd, const ChangeSet& set, uint64_t kept) {
  const Dbs& dbs = rd.dbs();
  ChangeSetHeader h;
  if (!decode_change_set_header(set.row, h) || h.txn != set.txn)
    return diverged(set.txn, "the change set's header does not decode");
  const uint64_t last_txn = rd.meta_u64(txn, kMetaTxn);
  if (h.txn != last_txn + 1)
    return diverged(h.txn, "this store's last txn is " + std::to_string(last_txn) +
                               ", so the next must be " + std::to_string(last_txn + 1));
  // Every check on the row's shape before any change.
  std::vector<Change> changes;
  changes.reserve(h.changes);
  std::string_view rest = std::string_view(set.row).substr(sizeof(ReplogHeader));
  for (uint32_t i = 0; i < h.changes; ++i) {
    ReplogChange c;
    if (rest.size() < sizeof c) return diverged(h.txn, "change " + std::to_string(i) + " is cut");
    std::memcpy(&c, rest.data(), sizeof c);
    rest.remove_prefix(sizeof c);
    if ((c.op != kOpPut && c.op != kOpDel) || c.table >= dbs.replicated.size() ||
        c.key_bytes == 0 || c.key_bytes > limits::table_key_bytes_max ||
        (c.op == kOpDel && c.value_bytes != 0) || rest.size() < size_t(c.key_bytes) + c.value_bytes)
      return diverged(h.txn, "change " + std::to_string(i) + " does not decode (op " +
                                 std::to_string(c.op) + ", table " + std::to_string(c.table) + ")");
    changes.push_back(Change{c.op, dbs.replicated[c.table], rest.substr(0, c.key_bytes),
                             rest.substr(c.key_bytes, c.value_bytes)});
    rest.remove_prefix(size_t(c.key_bytes) + c.value_bytes);
  }
  if (!rest.empty()) return diverged(h.txn, "bytes after the last change");

  const uint64_t seq_before = rd.meta_u64(txn, kMetaLastSeq);
  Digest head = rd.meta_head(txn);
  for (const Change& c : changes) {
    MDB_val k = to_val(c.key), v = to_val(c.value);
    if (c.op == kOpPut) {
      check(mdb_put(txn, c.db, &k, &v, 0), "replicated put");
    } else {
      int rc = mdb_del(txn, c.db, &k, nullptr);
      if (rc != MDB_NOTFOUND) check(rc, "replicated delete");
    }
  }
  // What the row says it did, against what the store now holds.
  if (rd.meta_u64(txn, kMetaTxn) != h.txn)
    return diverged(h.txn, "the change set does not move the meta's txn to its own");
  const uint64_t seq_after = rd.meta_u64(txn, kMetaLastSeq);
  if (seq_after != h.last_seq || seq_after < seq_before)
    return diverged(h.txn, "last seq " + std::to_string(seq_after) + " after it, header says " +
                               std::to_string(h.last_seq));
  BookNames names(txn, rd);
  for (uint64_t seq = seq_before + 1; seq <= seq_after; ++seq) {
    const std::string where = "entry seq " + std::to_string(seq);
    auto raw = rd.raw_get(txn, dbs.entries, store::seq_key(seq));
    if (!raw) return diverged(h.txn, where + " is missing");
    EntryView ev;
    std::string problem;
    if (!decode_entry_view(*raw, names, ev, &problem))
      return diverged(h.txn, where + ": " + problem);
    if (ev.seq != seq || ev.prev_hash != head)
      return diverged(h.txn, where + ": does not follow the chain head " + to_hex(head));
    if (store::chain_hash(head, ev.entry, ev.seq, ev.commit_ns) != ev.hash)
      return diverged(h.txn, where + ": its hash does not cover its content");
    Entry copy = ev.entry;
    if (auto r = validate_entry_shape(copy); !r)
      return diverged(h.txn, where + ": " + r.error().message);
    head = ev.hash;
  }
  if (head != h.head || rd.meta_head(txn) != h.head)
    return diverged(h.txn, "the chain head after it is not the header's " + to_hex(h.head));
  store_replog_row(txn, dbs, h.txn, set.row, kept);
  return Status::OK();
}

}  // namespace tally
