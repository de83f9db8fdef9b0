// The ledger's built-in write ops and WriteTxn's non-virtual helper (contracts in
// ledger/ledger.h).
#include <algorithm>

#include "ledger/ledger.h"

namespace tally {

std::optional<ItemResult> WriteTxn::check_id(std::string_view id, const Digest& digest) {
  auto rec = find_id(id);
  if (!rec) return std::nullopt;
  if (rec->digest != digest) {
    return ItemResult::error(
        reject(Code::id_conflict, "id: \"" + std::string(id) +
                                      "\" was already used with different content (seq " +
                                      std::to_string(rec->seq) + ")"),
        std::string(id));
  }
  ItemResult r;
  r.status = ItemStatus::duplicate;
  r.id = std::string(id);
  r.seq = rec->seq;
  r.commit_ns = rec->commit_ns;
  return r;
}

namespace {

Digest request_digest(std::string_view type, std::string_view canonical) {
  return sha256(type, canonical);
}

class PostEntryOp final : public WriteOp {
 public:
  explicit PostEntryOp(Entry e) : entry_(std::move(e)) {
    std::sort(entry_.meta.begin(), entry_.meta.end());
    digest_ = request_digest("entry", canonical_entry_bytes(entry_));
  }
  ItemResult apply(WriteTxn& txn) override {
    if (auto r = validate_client_id(entry_.id, "id"); !r)
      return ItemResult::error(r.error(), entry_.id);
    if (auto dup = txn.check_id(entry_.id, digest_)) return *dup;
    auto prepared = txn.prepare_entry(entry_, digest_);
    if (!prepared) return ItemResult::error(prepared.error(), entry_.id);
    Committed c = txn.apply_entry(*prepared);
    ItemResult r;
    r.id = entry_.id;
    r.seq = c.seq;
    r.commit_ns = c.commit_ns;
    return r;
  }

 private:
  Entry entry_;
  Digest digest_;
};

template <class F>
class LambdaOp final : public WriteOp {
 public:
  explicit LambdaOp(F f) : f_(std::move(f)) {}
  ItemResult apply(WriteTxn& txn) override { return f_(txn); }

 private:
  F f_;
};
template <class F>
std::unique_ptr<WriteOp> lambda_op(F f) {
  return std::make_unique<LambdaOp<F>>(std::move(f));
}

ItemResult from_bool(Result<bool> r, std::string id = {}) {
  if (!r) return ItemResult::error(r.error(), std::move(id));
  ItemResult x;
  x.id = std::move(id);
  x.status = *r ? ItemStatus::ok : ItemStatus::duplicate;
  return x;
}

}  // namespace

std::unique_ptr<WriteOp> make_open_account(Account account) {
  return lambda_op([a = std::move(account)](WriteTxn& t) { return from_bool(t.open_account(a)); });
}
std::unique_ptr<WriteOp> make_post_entry(Entry entry) {
  return std::make_unique<PostEntryOp>(std::move(entry));
}
std::unique_ptr<WriteOp> make_close_account(std::string name) {
  return lambda_op([n = std::move(name)](WriteTxn& t) { return from_bool(t.close_account(n)); });
}
std::unique_ptr<WriteOp> make_close_period(TimeNs end_exclusive) {
  return lambda_op(
      [end_exclusive](WriteTxn& t) { return from_bool(t.close_period(end_exclusive)); });
}
std::unique_ptr<WriteOp> make_declare_asset(std::string code, int exponent) {
  return lambda_op([c = std::move(code), exponent](WriteTxn& t) {
    return from_bool(t.declare_asset(c, exponent));
  });
}

}  // namespace tally
