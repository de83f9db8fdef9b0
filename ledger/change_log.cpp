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

std::string ChangeLog::row(uint64_t txn, TimeNs commit_ns, uint64_t last_seq, const Digest& head,
                           int64_t term, const Digest& prev) const {
  ReplogHeader h{};
  h.magic = kReplogMagic;
  h.changes = changes_;
  h.txn = txn;
  h.commit_ns = commit_ns;
  h.last_seq = last_seq;
  h.term = term;
  std::memcpy(h.head, head.data(), sizeof h.head);
  std::memcpy(h.prev, prev.data(), sizeof h.prev);
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
  out.term = h.term;
  std::memcpy(out.head.data(), h.head, sizeof h.head);
  std::memcpy(out.prev.data(), h.prev, sizeof h.prev);
  out.changes = h.changes;
  return true;
}

Digest replog_head(MDB_txn* txn, const TxnReader& rd) {
  Digest d{};
  auto v = rd.raw_get(txn, rd.dbs().meta, kMetaReplogHead);
  if (v && !store::pod_read(*v, d)) throw StoreError(MDB_CORRUPTED, "meta replog head");
  return d;
}

int64_t replog_term(MDB_txn* txn, const TxnReader& rd) {
  return rd.meta_i64(txn, kMetaReplogTerm, 0);
}

void store_replog_row(MDB_txn* txn, const TxnReader& rd, uint64_t txn_no, std::string_view row,
                      uint64_t kept, int64_t term) {
  const Dbs& dbs = rd.dbs();
  // Outside the log (direct puts): each node computes them from the rows it holds.
  const Digest head = sha256(row);
  MDB_val hk = to_val(kMetaReplogHead), hv = to_val(store::pod_bytes(head));
  check(mdb_put(txn, dbs.meta, &hk, &hv, 0), "replog head");
  if (term > replog_term(txn, rd)) {
    MDB_val tk = to_val(kMetaReplogTerm), tv = to_val(store::pod_bytes(term));
    check(mdb_put(txn, dbs.meta, &tk, &tv, 0), "replog term");
  }
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
  if (h.prev != replog_head(txn, rd))
    return diverged(h.txn,
                    "it follows a transaction this store does not hold (its previous "
                    "row's hash differs): this store took another path");
  if (h.term < replog_term(txn, rd))
    return diverged(h.txn, "it comes from term " + std::to_string(h.term) + ", older than term " +
                               std::to_string(replog_term(txn, rd)) +
                               " already applied: a deposed leader");
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
  store_replog_row(txn, rd, h.txn, set.row, kept, h.term);
  return Status::OK();
}

}  // namespace tally
