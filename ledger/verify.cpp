// Snapshot::verify (contract in ledger/ledger.h): the store checked against its own journal, in
// named steps. The first discrepancy is reported with its location; so is any damage the walk
// runs into (a page LMDB cannot find, a record that does not decode): verify's job is to report
// damage, so it is the one reader that turns store failures into a FAILED report rather than
// letting them unwind.
#include <unordered_map>
#include <vector>

#include "ledger/codec.h"
#include "ledger/snapshot.h"

namespace tally {

namespace {

class Verifier {
 public:
  Verifier(MDB_txn* txn, const TxnReader& rd,
           const std::function<void(uint64_t, uint64_t)>& progress)
      : txn_(txn), rd_(rd), dbs_(rd.dbs()), names_(txn, rd), progress_(progress) {}

  VerifyReport run() {
    try {
      total_ = rd_.meta_u64(txn_, kMetaLastSeq);
      MDB_stat st;
      check(mdb_stat(txn_, dbs_.books, &st), "stat");
      running_.assign(st.ms_entries + 1, Running{});  // book ids run from 1, one per book row
      if (journal() && meta() && books() && index_counts()) {
        if (progress_) progress_(rep_.entries, total_);
        rep_.head = head_;
      }
    } catch (const StoreError& e) {
      fail("store: " + where_ + (where_.empty() ? "" : ": ") + e.what());
    } catch (const StoreCorruption& e) {
      fail("store: " + where_ + (where_.empty() ? "" : ": ") + e.what());
    }
    return rep_;
  }

 private:
  bool fail(std::string problem) {
    rep_.ok = false;
    rep_.problem = std::move(problem);
    return false;
  }

  // Every entry in seq order: no gap, decodes, links to the previous hash, hashes to what it
  // records, balances, and every posting row holds the delta and running balance the journal
  // gives; the id index points back at it.
  bool journal() {
    where_ = "entries";
    uint64_t expect_seq = 1;
    rd_.scan(txn_, dbs_.entries, {}, [&](std::string_view k, std::string_view v) {
      where_ = "entry seq " + std::to_string(k.size() == 8 ? get_be64(k.data()) : 0);
      if (k.size() != 8 || get_be64(k.data()) != expect_seq)
        return fail(where_ + ": expected seq " + std::to_string(expect_seq) +
                    " (a gap or a stray key)");
      if (!entry(v, expect_seq)) return false;
      ++expect_seq;
      if (progress_ && rep_.entries % 4096 == 0) progress_(rep_.entries, total_);
      return true;
    });
    return rep_.ok;
  }

  bool entry(std::string_view v, uint64_t seq) {
    EntryView ev;
    std::string problem;
    if (!decode_entry_view(v, names_, ev, &problem)) return fail(where_ + ": " + problem);
    where_ += " (id \"" + ev.entry.id + "\")";
    if (ev.seq != seq) return fail(where_ + ": record says seq " + std::to_string(ev.seq));
    if (ev.prev_hash != head_)
      return fail(where_ + ": previous hash " + to_hex(ev.prev_hash) + " != chain " +
                  to_hex(head_));
    Digest h = store::chain_hash(head_, ev.entry, ev.seq, ev.commit_ns);
    if (h != ev.hash)
      return fail(where_ + ": content hash " + to_hex(h) + " != recorded " + to_hex(ev.hash));
    Entry copy = ev.entry;
    if (auto r = validate_entry_shape(copy); !r) return fail(where_ + ": " + r.error().message);
    EntryRecord raw;
    if (!store::decode_entry(v, raw)) return fail(where_ + ": cannot decode the entry record");
    for (size_t i = 0; i < ev.entry.postings.size(); ++i)
      if (!posting(ev, raw.postings[i].book_id, i)) return false;
    auto idv = rd_.raw_get(txn_, dbs_.ids, ev.entry.id);
    IdValue iv;
    if (!idv || !store::pod_read(*idv, iv) || iv.seq != ev.seq)
      return fail(where_ + ": the id index does not point at this entry");
    head_ = ev.hash;
    ++rep_.entries;
    return true;
  }

  bool posting(const EntryView& ev, uint64_t book_id, size_t i) {
    const Posting& p = ev.entry.postings[i];
    const BookInfo& info = names_.get(book_id);
    i128 delta = posting_increases(p.side, info.kind) ? p.amount.minor() : -p.amount.minor();
    auto& [bal, count] = running(book_id);
    if (__builtin_add_overflow(bal, delta, &bal))
      return fail(where_ + ": balance of " + p.account + " overflows");
    ++count;
    auto pv = rd_.raw_get(txn_, dbs_.postings,
                          store::posting_key(book_id, ev.seq, static_cast<uint16_t>(i)));
    PostingRecord pr;
    if (!pv || !store::pod_read(*pv, pr))
      return fail(where_ + ": posting " + std::to_string(i) + " on " + p.account + " is missing");
    if (pr.delta != delta || pr.balance_after != bal || pr.at != ev.entry.at ||
        pr.commit_ns != ev.commit_ns)
      return fail(where_ + ": posting " + std::to_string(i) + " on " + p.account + " " +
                  std::string(p.currency.code()) + " records balance " +
                  format_amount(Amount::from_minor(pr.balance_after), p.currency) +
                  ", journal gives " + format_amount(Amount::from_minor(bal), p.currency));
    ++rep_.postings;
    return true;
  }

  // The meta records agree with the journal: last seq and head hash.
  bool meta() {
    where_ = "meta";
    if (rep_.entries != total_)
      return fail("meta: last_seq " + std::to_string(total_) + " but the journal holds " +
                  std::to_string(rep_.entries) + " entries");
    Digest recorded = rd_.meta_head(txn_);
    if (head_ != recorded)
      return fail("meta: head hash " + to_hex(recorded) + " != journal chain " + to_hex(head_));
    return true;
  }

  // Every book's stored balance and posting count are the journal's.
  bool books() {
    where_ = "books";
    rd_.scan(txn_, dbs_.books, {}, [&](std::string_view k, std::string_view v) {
      if (k.size() != 8) return fail("books: a key of " + std::to_string(k.size()) + " bytes");
      uint64_t book_id = get_be64(k.data());
      where_ = "book " + std::to_string(book_id);
      BookRecord b;
      if (!store::pod_read(v, b))
        return fail("book " + std::to_string(book_id) + ": cannot decode");
      auto [bal, count] = running(book_id);
      if (b.balance != bal || b.postings != count) {
        const BookInfo& info = names_.get(book_id);
        return fail("account " + info.name + " " + std::string(info.currency.code()) +
                    ": stored balance " +
                    format_amount(Amount::from_minor(b.balance), info.currency) + " (" +
                    std::to_string(b.postings) + " postings), journal gives " +
                    format_amount(Amount::from_minor(bal), info.currency) + " (" +
                    std::to_string(count) + " postings)");
      }
      return true;
    });
    return rep_.ok;
  }

  // The posting and id indexes hold nothing the journal does not.
  bool index_counts() {
    where_ = "indexes";
    MDB_stat st;
    check(mdb_stat(txn_, dbs_.postings, &st), "stat");
    if (st.ms_entries != rep_.postings)
      return fail("postings: the index holds " + std::to_string(st.ms_entries) +
                  " postings, journal " + std::to_string(rep_.postings));
    check(mdb_stat(txn_, dbs_.ids, &st), "stat");
    if (st.ms_entries != rep_.entries)
      return fail("ids: the index holds " + std::to_string(st.ms_entries) + " ids, journal " +
                  std::to_string(rep_.entries));
    return true;
  }

  MDB_txn* txn_;
  const TxnReader& rd_;
  const Dbs& dbs_;
  BookNames names_;
  const std::function<void(uint64_t, uint64_t)>& progress_;
  VerifyReport rep_;
  uint64_t total_ = 0;
  Digest head_{};
  std::string where_;  // what is being read, for a store failure's report
  // The journal's balance and posting count of each book so far: by book id in a flat array
  // sized to the books table (ids are dense from 1), and any id past it (a damaged store's) in a
  // map. About 32 bytes a book.
  struct Running {
    i128 balance = 0;
    uint64_t postings = 0;
  };
  Running& running(uint64_t book_id) {
    return book_id < running_.size() ? running_[book_id] : stray_[book_id];
  }
  std::vector<Running> running_;
  std::unordered_map<uint64_t, Running> stray_;
};

}  // namespace

VerifyReport verify_store(MDB_txn* txn, const TxnReader& reader,
                          const std::function<void(uint64_t, uint64_t)>& progress) {
  return Verifier(txn, reader, progress).run();
}

}  // namespace tally
