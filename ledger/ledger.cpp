// The ledger store and its writer. Layout and commit protocol: docs/design.md, "The store".
#include "ledger/ledger.h"

#include <lmdb.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "ledger/store_records.h"

namespace tally {

using store::AccountRecord;
using store::BookRecord;
using store::check;
using store::EntryRecord;
using store::IdValue;
using store::PostingRecord;
using store::StoreError;
using store::to_sv;
using store::to_val;

// ------------------------------------------------------------------------------------------
// Record codecs

namespace store {

std::string encode_account(const AccountRecord& r) {
  Encoder e;
  e.u64(r.account_id);
  e.u8(static_cast<uint8_t>(r.kind));
  e.u8(r.flags);
  e.u16(static_cast<uint16_t>(r.books.size()));
  for (const auto& b : r.books) {
    e.raw(b.currency.padded_code().data(), Currency::kCodeBytesMax);
    e.u8(static_cast<uint8_t>(b.currency.exponent()));
    e.u64(b.book_id);
  }
  return e.take();
}

bool decode_account(std::string_view s, AccountRecord& r) {
  Decoder d(s);
  r.account_id = d.u64();
  uint8_t kind = d.u8();
  r.flags = d.u8();
  uint16_t n = d.u16();
  if (!d.ok() || kind < 1 || kind > 5) return false;
  r.kind = static_cast<AccountKind>(kind);
  r.books.clear();
  for (uint16_t i = 0; i < n; ++i) {
    auto code = d.bytes(Currency::kCodeBytesMax);
    int exp = d.u8();
    uint64_t book = d.u64();
    if (!d.ok()) return false;
    auto c = Currency::make(std::string_view(code.data(), strnlen(code.data(), code.size())), exp);
    if (!c) return false;
    r.books.push_back({*c, book});
  }
  return d.done();
}

std::string encode_entry(const EntryRecord& r) {
  Encoder e;
  e.u64(r.seq);
  e.i64(r.at);
  e.i64(r.commit_ns);
  e.raw(r.prev.data(), 32);
  e.raw(r.hash.data(), 32);
  e.str(r.id);
  e.str(r.kind);
  e.u32(static_cast<uint32_t>(r.meta.size()));
  for (const auto& [k, v] : r.meta) e.str(k), e.str(v);
  e.u32(static_cast<uint32_t>(r.postings.size()));
  for (const auto& p : r.postings) {
    e.u64(p.book_id);
    e.u8(static_cast<uint8_t>(p.side));
    e.i128(p.amount);
  }
  return e.take();
}

bool decode_entry(std::string_view s, EntryRecord& r) {
  Decoder d(s);
  r.seq = d.u64();
  r.at = d.i64();
  r.commit_ns = d.i64();
  auto prev = d.bytes(32), hash = d.bytes(32);
  if (!d.ok()) return false;
  std::memcpy(r.prev.data(), prev.data(), 32);
  std::memcpy(r.hash.data(), hash.data(), 32);
  r.id = d.str();
  r.kind = d.str();
  uint32_t nm = d.u32();
  if (!d.ok() || nm > kMetaBytesMax) return false;
  r.meta.clear();
  for (uint32_t i = 0; i < nm; ++i) {
    std::string k(d.str());
    std::string v(d.str());
    r.meta.emplace_back(std::move(k), std::move(v));
  }
  uint32_t np = d.u32();
  if (!d.ok() || np > kPostingsPerEntryMax) return false;
  r.postings.clear();
  for (uint32_t i = 0; i < np; ++i) {
    StoredPosting p;
    p.book_id = d.u64();
    uint8_t side = d.u8();
    p.amount = d.i128();
    if (side != 1 && side != 2) return false;
    p.side = static_cast<Side>(side);
    r.postings.push_back(p);
  }
  return d.done();
}

Digest chain_hash(const Digest& prev, const Entry& entry, uint64_t seq, int64_t commit_ns) {
  std::string body = canonical_entry_bytes(entry);
  Encoder e;
  e.u64(seq);
  e.i64(commit_ns);
  body += e.out();
  return sha256(std::string_view(reinterpret_cast<const char*>(prev.data()), prev.size()), body);
}

}  // namespace store

// ------------------------------------------------------------------------------------------
// WriteTxn's non-virtual helper

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

std::vector<ItemResult> Ledger::submit_and_wait(Batch batch) {
  std::promise<std::vector<ItemResult>> p;
  auto f = p.get_future();
  submit(std::move(batch), [&p](std::vector<ItemResult> r) { p.set_value(std::move(r)); });
  return f.get();
}

namespace {

constexpr std::string_view kMetaVersion = "schema_version";
constexpr std::string_view kMetaLastSeq = "last_seq";
constexpr std::string_view kMetaHead = "head_hash";
constexpr std::string_view kMetaLastCommit = "last_commit_ns";
constexpr std::string_view kMetaNextAccount = "next_account_id";
constexpr std::string_view kMetaNextBook = "next_book_id";
constexpr std::string_view kMetaClosedEnd = "closed_end_ns";

struct Dbs {
  MDB_dbi meta, accounts, account_names, books, entries, ids, postings, commits, snapshots, assets;
  std::map<std::string, MDB_dbi, std::less<>> extra;
};

// Reads shared by the write and read transactions.
class TxnReader {
 public:
  TxnReader(const Dbs& dbs, const CurrencyTable& builtins) : dbs_(dbs), builtins_(builtins) {}

  std::optional<std::string_view> raw_get(MDB_txn* t, MDB_dbi db, std::string_view key) const {
    MDB_val k = to_val(key), v;
    int rc = mdb_get(t, db, &k, &v);
    if (rc == MDB_NOTFOUND) return std::nullopt;
    check(rc, "mdb_get");
    return to_sv(v);
  }
  std::optional<AccountRecord> account_record(MDB_txn* t, std::string_view name) const {
    auto v = raw_get(t, dbs_.accounts, name);
    if (!v) return std::nullopt;
    AccountRecord r;
    if (!store::decode_account(*v, r)) throw StoreError(MDB_CORRUPTED, "account record");
    return r;
  }
  static Account to_account(std::string_view name, const AccountRecord& r) {
    Account a;
    a.name = std::string(name);
    a.kind = r.kind;
    a.flags = r.flags;
    for (const auto& b : r.books) a.currencies.push_back(b.currency);
    return a;
  }
  std::optional<BookRecord> book(MDB_txn* t, uint64_t book_id) const {
    auto v = raw_get(t, dbs_.books, store::book_key(book_id));
    if (!v) return std::nullopt;
    BookRecord b;
    if (!store::pod_read(*v, b)) throw StoreError(MDB_CORRUPTED, "book record");
    return b;
  }
  std::optional<Currency> currency(MDB_txn* t, std::string_view code) const {
    if (auto c = builtins_.find(code)) return c;
    if (code.empty() || code.size() > Currency::kCodeBytesMax) return std::nullopt;
    auto v = raw_get(t, dbs_.assets, code);
    if (!v || v->size() != 1) return std::nullopt;
    return Currency::make(code, static_cast<uint8_t>((*v)[0]));
  }
  uint64_t meta_u64(MDB_txn* t, std::string_view key) const {
    auto v = raw_get(t, dbs_.meta, key);
    uint64_t x = 0;
    if (v && !store::pod_read(*v, x)) throw StoreError(MDB_CORRUPTED, "meta");
    return x;
  }
  int64_t meta_i64(MDB_txn* t, std::string_view key, int64_t dflt) const {
    auto v = raw_get(t, dbs_.meta, key);
    int64_t x = dflt;
    if (v && !store::pod_read(*v, x)) throw StoreError(MDB_CORRUPTED, "meta");
    return x;
  }
  Digest meta_head(MDB_txn* t) const {
    Digest d{};
    auto v = raw_get(t, dbs_.meta, kMetaHead);
    if (v && !store::pod_read(*v, d)) throw StoreError(MDB_CORRUPTED, "meta head");
    return d;
  }
  // Last seq committed at or before `as_of` (0 if none).
  uint64_t seq_as_of(MDB_txn* t, TimeNs as_of) const {
    MDB_cursor* c;
    check(mdb_cursor_open(t, dbs_.commits, &c), "cursor");
    std::string key = store::time_key(as_of == INT64_MAX ? as_of : as_of + 1);
    MDB_val k = to_val(key), v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND)
      rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    else if (rc == MDB_SUCCESS)
      rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
    uint64_t seq = 0;
    if (rc == MDB_SUCCESS) {
      if (!store::pod_read(to_sv(v), seq)) {
        mdb_cursor_close(c);
        throw StoreError(MDB_CORRUPTED, "commit record");
      }
    } else if (rc != MDB_NOTFOUND) {
      mdb_cursor_close(c);
      check(rc, "commits seek");
    }
    mdb_cursor_close(c);
    return seq;
  }
  // Running balance of `book_id` after the last posting with seq <= max_seq.
  i128 book_balance_at(MDB_txn* t, uint64_t book_id, uint64_t max_seq) const {
    MDB_cursor* c;
    check(mdb_cursor_open(t, dbs_.postings, &c), "cursor");
    TALLY_ASSERT(max_seq < UINT64_MAX);
    std::string key = store::posting_key(book_id, max_seq + 1, 0);
    MDB_val k = to_val(key), v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND)
      rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    else if (rc == MDB_SUCCESS)
      rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
    i128 bal = 0;
    if (rc == MDB_SUCCESS) {
      auto ks = to_sv(k);
      if (ks.size() == store::kPostingKeyBytes && get_be64(ks.data()) == book_id &&
          get_be64(ks.data() + 8) <= max_seq) {
        PostingRecord p;
        if (!store::pod_read(to_sv(v), p)) {
          mdb_cursor_close(c);
          throw StoreError(MDB_CORRUPTED, "posting record");
        }
        bal = p.balance_after;
      }
    } else if (rc != MDB_NOTFOUND) {
      mdb_cursor_close(c);
      check(rc, "postings seek");
    }
    mdb_cursor_close(c);
    return bal;
  }
  void scan(MDB_txn* t, MDB_dbi db, std::string_view from,
            const std::function<bool(std::string_view, std::string_view)>& visit) const {
    walk(t, db, from, [&](std::string_view k, std::string_view v) {
      return visit(k, v) ? WriteTxn::Sweep::keep : WriteTxn::Sweep::stop;
    });
  }
  // One cursor over keys >= `from` in order; `step` says go on (keep), delete the row through
  // the cursor and go on (erase: write transactions only), or stop. Returns the rows erased.
  uint64_t walk(
      MDB_txn* t, MDB_dbi db, std::string_view from,
      const std::function<WriteTxn::Sweep(std::string_view, std::string_view)>& step) const {
    MDB_cursor* c;
    check(mdb_cursor_open(t, db, &c), "cursor");
    struct Closer {
      MDB_cursor* c;
      ~Closer() { mdb_cursor_close(c); }
    } closer{c};
    MDB_val k = to_val(from), v;
    int rc = from.empty() ? mdb_cursor_get(c, &k, &v, MDB_FIRST)
                          : mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    uint64_t erased = 0;
    while (rc == MDB_SUCCESS) {
      WriteTxn::Sweep s = step(to_sv(k), to_sv(v));
      if (s == WriteTxn::Sweep::stop) return erased;
      if (s == WriteTxn::Sweep::erase) {
        check(mdb_cursor_del(c, 0), "cursor delete");
        ++erased;
      }
      // After mdb_cursor_del the cursor already rests on the row that followed the deleted
      // one, and MDB_NEXT returns that row rather than skipping it (LMDB's C_DEL flag); the
      // sweep test pins this across page boundaries.
      rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    if (rc != MDB_NOTFOUND) check(rc, "cursor walk");
    return erased;
  }

  const Dbs& dbs_;
  const CurrencyTable& builtins_;
};

// ------------------------------------------------------------------------------------------
// The write transaction

class WriteTxnImpl final : public WriteTxn {
 public:
  struct State {
    uint64_t last_seq = 0;
    Digest head{};
    uint64_t next_account_id = 1;
    uint64_t next_book_id = 1;
    TimeNs closed_end = INT64_MIN;
    bool posted = false;
  };

  WriteTxnImpl(MDB_txn* txn, const TxnReader& rd, TimeNs commit_ns)
      : txn_(txn), rd_(rd), dbs_(rd.dbs_), commit_ns_(commit_ns) {
    st_.last_seq = rd_.meta_u64(txn, kMetaLastSeq);
    st_.head = rd_.meta_head(txn);
    st_.next_account_id = std::max<uint64_t>(1, rd_.meta_u64(txn, kMetaNextAccount));
    st_.next_book_id = std::max<uint64_t>(1, rd_.meta_u64(txn, kMetaNextBook));
    st_.closed_end = rd_.meta_i64(txn, kMetaClosedEnd, INT64_MIN);
  }

  // Nested transactions for linked chains: begin() switches to a child, end() commits or
  // aborts it (restoring the in-memory state).
  void begin_savepoint() override { begin_nested(); }
  void end_savepoint(bool keep) override { end_nested(keep); }
  void begin_nested() {
    MDB_txn* child;
    check(mdb_txn_begin(mdb_txn_env(txn_), txn_, 0, &child), "nested begin");
    saved_.push_back({txn_, st_, book_undo_.size(), account_undo_.size()});
    txn_ = child;
  }
  void end_nested(bool commit) {
    TALLY_ASSERT(!saved_.empty());
    Saved saved = saved_.back();
    saved_.pop_back();
    if (commit) {
      MDB_txn* child = txn_;
      txn_ = parent_of(saved);
      check(mdb_txn_commit(child), "nested commit");
      // The undo records stay while an enclosing savepoint may still undo them.
      if (saved_.empty()) book_undo_.clear(), account_undo_.clear();
    } else {
      mdb_txn_abort(txn_);
      txn_ = parent_of(saved);
      st_ = saved.state;
      while (book_undo_.size() > saved.book_undo) {
        auto& [id, before] = book_undo_.back();
        if (before)
          books_[id] = *before;
        else
          books_.erase(id);
        book_undo_.pop_back();
      }
      while (account_undo_.size() > saved.account_undo) {
        auto& [name, before] = account_undo_.back();
        auto it = accounts_.find(name);
        if (before)
          it->second = std::move(*before);
        else
          accounts_.erase(it);
        account_undo_.pop_back();
      }
    }
  }
  // Writes the book rows this transaction changed, once each, in book order.
  void flush_books() {
    std::vector<uint64_t> ids;
    ids.reserve(books_.size());
    for (const auto& [id, b] : books_) ids.push_back(id);
    std::sort(ids.begin(), ids.end());
    for (uint64_t id : ids) put_raw(dbs_.books, store::book_key(id), store::pod_bytes(books_[id]));
    books_.clear();
    book_undo_.clear();
  }
  void write_meta() {
    TALLY_ASSERT(saved_.empty(), "a savepoint is still open at the commit");
    flush_books();
    put_pod(dbs_.meta, kMetaLastSeq, st_.last_seq);
    put_raw(dbs_.meta, kMetaHead, store::pod_bytes(st_.head));
    put_pod(dbs_.meta, kMetaNextAccount, st_.next_account_id);
    put_pod(dbs_.meta, kMetaNextBook, st_.next_book_id);
    put_pod(dbs_.meta, kMetaClosedEnd, st_.closed_end);
    if (st_.posted) {
      put_pod(dbs_.meta, kMetaLastCommit, commit_ns_);
      // One commits record per transaction: the as-of index.
      put_raw(dbs_.commits, store::time_key(commit_ns_), store::pod_bytes(st_.last_seq));
    }
  }
  MDB_txn* txn() const { return txn_; }
  const State& state() const { return st_; }

  TimeNs commit_ns() const override { return commit_ns_; }

  std::optional<Account> account(std::string_view name) override {
    const AccountRecord* r = account_record(name);
    if (!r) return std::nullopt;
    return TxnReader::to_account(name, *r);
  }
  std::optional<Currency> currency(std::string_view code) override {
    return rd_.currency(txn_, code);
  }
  Amount balance(std::string_view account, const Currency& c) override {
    const AccountRecord* r = account_record(account);
    if (!r) return Amount();
    for (const auto& b : r->books) {
      if (b.currency.code() == c.code()) {
        auto book = this->book(b.book_id);
        TALLY_ASSERT(book.has_value(), "book " + std::to_string(b.book_id));
        return Amount::from_minor(book->balance);
      }
    }
    return Amount();
  }
  std::optional<IdRecord> find_id(std::string_view id) override {
    auto v = rd_.raw_get(txn_, dbs_.ids, id);
    if (!v) return std::nullopt;
    IdValue iv;
    if (!store::pod_read(*v, iv)) throw StoreError(MDB_CORRUPTED, "id record");
    return IdRecord{iv.seq, iv.commit_ns, iv.digest};
  }

  Result<PreparedEntry> prepare_entry(Entry entry, const Digest& request_digest) override {
    if (auto r = validate_entry_shape(entry); !r) return r.error();
    if (entry.at < st_.closed_end)
      return reject(Code::period_closed, "at: " + format_rfc3339(entry.at) +
                                             " is inside a closed period (closed before " +
                                             format_rfc3339(st_.closed_end) + ")");
    PreparedEntry p;
    p.request_digest = request_digest;
    p.books.reserve(entry.postings.size());
    struct Pending {
      uint64_t book_id;
      i128 balance;  // after this entry's postings so far
      bool no_overdraft;
      size_t posting;
    };
    std::vector<Pending> pending;  // one per book, in first-posting order
    for (size_t i = 0; i < entry.postings.size(); ++i) {
      const Posting& ps = entry.postings[i];
      auto field = [i] { return "postings[" + std::to_string(i) + "]"; };  // for messages only
      const AccountRecord* rec = account_record(ps.account);
      if (!rec)
        return reject(Code::unknown_account,
                      field() + ".account: \"" + ps.account + "\" was never opened");
      const AccountRecord& acc = *rec;
      if (acc.flags & kClosed)
        return reject(Code::account_closed, field() + ".account: \"" + ps.account + "\" is closed");
      const store::AccountCurrency* ac = nullptr;
      for (const auto& b : acc.books)
        if (b.currency.code() == ps.currency.code()) ac = &b;
      if (!ac)
        return reject(Code::currency_not_allowed, field() + ".currency: \"" + ps.account +
                                                      "\" does not hold " +
                                                      std::string(ps.currency.code()));
      if (ac->currency.exponent() != ps.currency.exponent())
        return reject(Code::bad_currency, field() + ".currency: exponent mismatch for " +
                                              std::string(ps.currency.code()));
      i128 delta = posting_increases(ps.side, acc.kind) ? ps.amount.minor() : -ps.amount.minor();
      auto pit = std::find_if(pending.begin(), pending.end(),
                              [&](const Pending& x) { return x.book_id == ac->book_id; });
      if (pit == pending.end()) {
        auto book = this->book(ac->book_id);
        TALLY_ASSERT(book.has_value(), "book " + std::to_string(ac->book_id) + " of " + ps.account);
        pending.push_back(Pending{ac->book_id, book->balance, bool(acc.flags & kNoOverdraft), i});
        pit = pending.end() - 1;
      }
      i128 next;
      if (__builtin_add_overflow(pit->balance, delta, &next))
        return reject(Code::overflow,
                      field() + ".amount: the balance of \"" + ps.account + "\" would overflow");
      pit->balance = next;
      pit->posting = i;
      p.books.push_back({ac->book_id, acc.kind, delta});
    }
    // Overdraft is judged on the entry's net effect per book: an entry may move money through a
    // no_overdraft account as long as the account ends the entry at or above zero.
    // The first book (in book order) that would go below zero is the one reported.
    std::sort(pending.begin(), pending.end(),
              [](const Pending& a, const Pending& b) { return a.book_id < b.book_id; });
    for (const Pending& pend : pending) {
      if (pend.no_overdraft && pend.balance < 0) {
        const Posting& ps = entry.postings[pend.posting];
        auto cur = this->book(pend.book_id);
        return reject(
            Code::overdraft,
            "postings[" + std::to_string(pend.posting) + "]: \"" + ps.account +
                "\" is no_overdraft; its " + std::string(ps.currency.code()) + " balance " +
                format_amount(Amount::from_minor(cur->balance), ps.currency) + " would become " +
                format_amount(Amount::from_minor(pend.balance), ps.currency));
      }
    }
    p.entry = std::move(entry);
    return p;
  }

  Committed apply_entry(const PreparedEntry& p) override {
    TALLY_ASSERT(p.books.size() == p.entry.postings.size());
    const uint64_t seq = ++st_.last_seq;
    EntryRecord rec;
    rec.seq = seq;
    rec.at = p.entry.at;
    rec.commit_ns = commit_ns_;
    rec.prev = st_.head;
    rec.hash = store::chain_hash(st_.head, p.entry, seq, commit_ns_);
    rec.id = p.entry.id;
    rec.kind = p.entry.kind;
    rec.meta = p.entry.meta;
    for (size_t i = 0; i < p.books.size(); ++i) {
      const auto& b = p.books[i];
      auto book = this->book(b.book_id);
      TALLY_ASSERT(book.has_value(), "book " + std::to_string(b.book_id));
      i128 next;
      TALLY_ASSERT(!__builtin_add_overflow(book->balance, b.delta, &next),
                   "prepare_entry checked overflow");
      book->balance = next;
      book->postings += 1;
      book->last_seq = seq;
      PostingRecord pr{b.delta, next, p.entry.at, commit_ns_};
      put_raw(dbs_.postings, store::posting_key(b.book_id, seq, static_cast<uint16_t>(i)),
              store::pod_bytes(pr));
      set_book(b.book_id, *book);
      rec.postings.push_back(
          {b.book_id, p.entry.postings[i].side, p.entry.postings[i].amount.minor()});
    }
    put_raw(dbs_.entries, store::seq_key(seq), store::encode_entry(rec), MDB_APPEND);
    IdValue iv{seq, commit_ns_, p.request_digest};
    put_raw(dbs_.ids, p.entry.id, store::pod_bytes(iv), MDB_NOOVERWRITE);
    st_.head = rec.hash;
    st_.posted = true;
    return Committed{seq, commit_ns_};
  }

  Result<bool> open_account(const Account& a) override {
    if (auto r = validate_account_name(a.name, "account"); !r) return r.error();
    if (a.currencies.empty())
      return reject(Code::bad_request, "currencies: an account holds at least one currency");
    if (a.currencies.size() > kCurrenciesPerAccountMax)
      return reject(Code::bad_request, "currencies: at most 64 per account");
    for (size_t i = 0; i < a.currencies.size(); ++i) {
      auto c = rd_.currency(txn_, a.currencies[i].code());
      if (!c || *c != a.currencies[i])
        return reject(Code::bad_currency, "currencies[" + std::to_string(i) +
                                              "]: unknown currency \"" +
                                              std::string(a.currencies[i].code()) + "\"");
    }
    std::optional<AccountRecord> existing;
    if (const AccountRecord* r = account_record(a.name)) existing = *r;
    AccountRecord rec;
    if (existing) {
      rec = *existing;
      if (rec.kind != a.kind || (rec.flags & kNoOverdraft) != (a.flags & kNoOverdraft))
        return reject(Code::account_exists,
                      "account: \"" + a.name + "\" exists as " + std::string(kind_name(rec.kind)) +
                          ((rec.flags & kNoOverdraft) ? " no_overdraft" : "") +
                          "; open it with the same kind and flags");
      if (rec.flags & kClosed)
        return reject(Code::account_closed, "account: \"" + a.name + "\" is closed");
    } else {
      rec.account_id = st_.next_account_id++;
      rec.kind = a.kind;
      rec.flags = a.flags & kNoOverdraft;
    }
    bool changed = !existing;
    for (const auto& c : a.currencies) {
      bool have = std::any_of(rec.books.begin(), rec.books.end(),
                              [&](const auto& b) { return b.currency.code() == c.code(); });
      if (have) continue;
      if (rec.books.size() >= kCurrenciesPerAccountMax)
        return reject(Code::bad_request, "currencies: at most 64 per account");
      uint64_t book_id = st_.next_book_id++;
      BookRecord b{};
      b.account_id = rec.account_id;
      b.code = c.padded_code();
      b.exponent = static_cast<uint8_t>(c.exponent());
      b.kind = static_cast<uint8_t>(rec.kind);
      put_raw(dbs_.books, store::book_key(book_id), store::pod_bytes(b), MDB_NOOVERWRITE);
      rec.books.push_back({c, book_id});
      changed = true;
    }
    if (!changed) return false;
    std::sort(rec.books.begin(), rec.books.end(),
              [](const auto& x, const auto& y) { return x.currency < y.currency; });
    put_raw(dbs_.accounts, a.name, store::encode_account(rec));
    if (!existing) put_raw(dbs_.account_names, store::book_key(rec.account_id), a.name);
    set_account(a.name, std::move(rec));
    return true;
  }

  Result<bool> close_account(std::string_view name) {
    const AccountRecord* found = account_record(name);
    if (!found)
      return reject(Code::unknown_account,
                    "account: \"" + std::string(name) + "\" was never opened");
    if (found->flags & kClosed) return false;
    AccountRecord rec = *found;
    rec.flags |= kClosed;
    put_raw(dbs_.accounts, name, store::encode_account(rec));
    set_account(name, std::move(rec));
    return true;
  }

  Result<bool> close_period(TimeNs end) {
    if (end == st_.closed_end) return false;
    flush_books();  // it reads the books table
    if (end < st_.closed_end)
      return reject(Code::bad_date, "through: the books are already closed before " +
                                        format_rfc3339(st_.closed_end));
    if (end > commit_ns_) return reject(Code::bad_date, "through: the period has not ended yet");
    // Business-time balance of every book at `end`: scan its postings.
    std::vector<std::pair<uint64_t, i128>> snap;
    rd_.scan(txn_, dbs_.books, {}, [&](std::string_view k, std::string_view) {
      uint64_t book_id = get_be64(k.data());
      i128 sum = 0;
      rd_.scan(txn_, dbs_.postings, store::posting_key(book_id, 0, 0),
               [&](std::string_view pk, std::string_view pv) {
                 if (get_be64(pk.data()) != book_id) return false;
                 PostingRecord pr;
                 if (!store::pod_read(pv, pr)) throw StoreError(MDB_CORRUPTED, "posting");
                 if (pr.at < end) sum += pr.delta;  // bounded by the checked running balances
                 return true;
               });
      snap.emplace_back(book_id, sum);
      return true;
    });
    for (const auto& [book_id, sum] : snap) {
      std::string key = store::time_key(end);
      put_be64(key, book_id);
      put_raw(dbs_.snapshots, key, store::pod_bytes(sum));
    }
    st_.closed_end = end;
    return true;
  }

  Result<bool> declare_asset(std::string_view code, int exponent) {
    auto c = Currency::make(code, exponent);
    if (!c)
      return reject(Code::bad_currency, "code: \"" + std::string(code).substr(0, 40) +
                                            "\" with exponent " + std::to_string(exponent) +
                                            " is not a valid asset ([A-Z][A-Z0-9]{2,11}, 0..18)");
    if (auto have = rd_.currency(txn_, code)) {
      if (have->exponent() == exponent) return false;
      return reject(Code::bad_currency, "code: " + std::string(code) + " exists with exponent " +
                                            std::to_string(have->exponent()));
    }
    char e = static_cast<char>(exponent);
    put_raw(dbs_.assets, code, std::string_view(&e, 1));
    return true;
  }

  std::optional<std::string> get(TableId table, std::string_view key) override {
    auto v = rd_.raw_get(txn_, table, key);
    if (!v) return std::nullopt;
    return std::string(*v);
  }
  void put(TableId table, std::string_view key, std::string_view value) override {
    put_raw(table, key, value);
  }
  void del(TableId table, std::string_view key) override {
    MDB_val k = to_val(key);
    int rc = mdb_del(txn_, table, &k, nullptr);
    if (rc != MDB_NOTFOUND) check(rc, "mdb_del");
  }
  void scan(TableId table, std::string_view from,
            const std::function<bool(std::string_view, std::string_view)>& visit) override {
    rd_.scan(txn_, table, from, visit);
  }
  uint64_t sweep(TableId table, std::string_view from,
                 const std::function<Sweep(std::string_view, std::string_view)>& decide) override {
    return rd_.walk(txn_, table, from, decide);
  }

 private:
  struct Saved {
    MDB_txn* parent;
    State state;
    size_t book_undo, account_undo;  // the undo logs' sizes when the savepoint began
  };
  static MDB_txn* parent_of(const Saved& s) { return s.parent; }

  // Books go through a write-back cache: read once, changed in memory, written once per
  // transaction (flush_books). The in-transit account of a settlement run is posted to by every
  // payee of a chunk, a marketplace's cash account by every sale of a group.
  std::optional<BookRecord> book(uint64_t id) {
    if (auto it = books_.find(id); it != books_.end()) return it->second;
    return rd_.book(txn_, id);
  }
  void set_book(uint64_t id, const BookRecord& b) {
    auto it = books_.find(id);
    if (!saved_.empty())  // a savepoint may undo this
      book_undo_.emplace_back(
          id, it == books_.end() ? std::nullopt : std::optional<BookRecord>(it->second));
    if (it == books_.end())
      books_.emplace(id, b);
    else
      it->second = b;
  }

  // Account records are read once per transaction and kept decoded (a sale's marketplace
  // accounts, a payee's accounts that a settlement chunk reads twice); opening and closing
  // accounts write the store and this cache alike, with an undo log like the books'.
  const AccountRecord* account_record(std::string_view name) {
    if (auto it = accounts_.find(name); it != accounts_.end()) return &it->second;
    auto r = rd_.account_record(txn_, name);
    if (!r) return nullptr;
    return &accounts_.emplace(std::string(name), std::move(*r)).first->second;
  }
  void set_account(std::string_view name, AccountRecord rec) {
    auto it = accounts_.find(name);
    if (!saved_.empty())
      account_undo_.emplace_back(std::string(name), it == accounts_.end()
                                                        ? std::nullopt
                                                        : std::optional<AccountRecord>(it->second));
    if (it == accounts_.end())
      accounts_.emplace(std::string(name), std::move(rec));
    else
      it->second = std::move(rec);
  }

  void put_raw(MDB_dbi db, std::string_view key, std::string_view value, unsigned flags = 0) {
    MDB_val k = to_val(key), v = to_val(value);
    check(mdb_put(txn_, db, &k, &v, flags), "mdb_put");
  }
  template <class T>
  void put_pod(MDB_dbi db, std::string_view key, const T& t) {
    put_raw(db, key, store::pod_bytes(t));
  }

  MDB_txn* txn_;
  const TxnReader& rd_;
  const Dbs& dbs_;
  TimeNs commit_ns_;
  State st_;
  std::vector<Saved> saved_;
  std::unordered_map<uint64_t, BookRecord> books_;  // changed in this transaction
  std::vector<std::pair<uint64_t, std::optional<BookRecord>>> book_undo_;
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, AccountRecord, NameHash, std::equal_to<>> accounts_;
  std::vector<std::pair<std::string, std::optional<AccountRecord>>> account_undo_;
};

// ------------------------------------------------------------------------------------------
// Built-in ops

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
  ItemResult apply(WriteTxn& txn) override { return f_(static_cast<WriteTxnImpl&>(txn)); }

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
  return lambda_op(
      [a = std::move(account)](WriteTxnImpl& t) { return from_bool(t.open_account(a)); });
}
std::unique_ptr<WriteOp> make_post_entry(Entry entry) {
  return std::make_unique<PostEntryOp>(std::move(entry));
}
std::unique_ptr<WriteOp> make_close_account(std::string name) {
  return lambda_op(
      [n = std::move(name)](WriteTxnImpl& t) { return from_bool(t.close_account(n)); });
}
std::unique_ptr<WriteOp> make_close_period(TimeNs end_exclusive) {
  return lambda_op(
      [end_exclusive](WriteTxnImpl& t) { return from_bool(t.close_period(end_exclusive)); });
}
std::unique_ptr<WriteOp> make_declare_asset(std::string code, int exponent) {
  return lambda_op([c = std::move(code), exponent](WriteTxnImpl& t) {
    return from_bool(t.declare_asset(c, exponent));
  });
}

namespace {

// ------------------------------------------------------------------------------------------
// Snapshots

class SnapshotImpl final : public Snapshot {
 public:
  SnapshotImpl(MDB_txn* txn, const TxnReader& rd, std::shared_lock<std::shared_timed_mutex> lock)
      : txn_(txn), rd_(rd), dbs_(rd.dbs_), lock_(std::move(lock)) {}
  ~SnapshotImpl() override { mdb_txn_abort(txn_); }

  uint64_t last_seq() override { return rd_.meta_u64(txn_, kMetaLastSeq); }
  TimeNs last_commit_ns() override { return rd_.meta_i64(txn_, kMetaLastCommit, 0); }
  std::optional<TimeNs> closed_through() override {
    TimeNs t = rd_.meta_i64(txn_, kMetaClosedEnd, INT64_MIN);
    if (t == INT64_MIN) return std::nullopt;
    return t;
  }
  std::optional<Account> account(std::string_view name) override {
    auto r = rd_.account_record(txn_, name);
    if (!r) return std::nullopt;
    return TxnReader::to_account(name, *r);
  }
  std::vector<Account> accounts(std::string_view prefix) override {
    std::vector<Account> out;
    rd_.scan(txn_, dbs_.accounts, prefix, [&](std::string_view k, std::string_view v) {
      if (k.substr(0, prefix.size()) != prefix) return false;
      if (!account_under(k, prefix)) return true;  // "shop2" sorts after "shop" but isn't under it
      AccountRecord r;
      if (!store::decode_account(v, r)) throw StoreError(MDB_CORRUPTED, "account record");
      out.push_back(TxnReader::to_account(k, r));
      return true;
    });
    return out;
  }
  void account_names(std::string_view prefix,
                     const std::function<bool(std::string_view)>& visit) override {
    rd_.scan(txn_, dbs_.accounts, prefix, [&](std::string_view k, std::string_view) {
      return k.substr(0, prefix.size()) == prefix && visit(k);
    });
  }
  std::optional<Currency> currency(std::string_view code) override {
    return rd_.currency(txn_, code);
  }

  Result<uint64_t> book_of(std::string_view account, std::string_view currency, Currency* c) {
    auto r = rd_.account_record(txn_, account);
    if (!r)
      return reject(Code::unknown_account,
                    "account: \"" + std::string(account) + "\" was never opened");
    for (const auto& b : r->books) {
      if (b.currency.code() == currency) {
        if (c) *c = b.currency;
        return b.book_id;
      }
    }
    return reject(Code::currency_not_allowed, "currency: \"" + std::string(account) +
                                                  "\" does not hold " + std::string(currency));
  }
  i128 book_balance(uint64_t book_id, std::optional<uint64_t> max_seq) {
    if (!max_seq) {
      auto b = rd_.book(txn_, book_id);
      TALLY_ASSERT(b.has_value(), "book " + std::to_string(book_id));
      return b->balance;
    }
    return rd_.book_balance_at(txn_, book_id, *max_seq);
  }
  std::optional<uint64_t> max_seq_for(std::optional<TimeNs> as_of) {
    if (!as_of) return std::nullopt;
    return rd_.seq_as_of(txn_, *as_of);
  }

  Result<Amount> balance(std::string_view account, std::string_view currency,
                         std::optional<TimeNs> as_of) override {
    auto book = book_of(account, currency, nullptr);
    if (!book) return book.error();
    return Amount::from_minor(book_balance(*book, max_seq_for(as_of)));
  }

  Result<Amount> period_balance(std::string_view account, std::string_view currency,
                                TimeNs end) override {
    auto book = book_of(account, currency, nullptr);
    if (!book) return book.error();
    std::string key = store::time_key(end);
    put_be64(key, *book);
    auto v = rd_.raw_get(txn_, dbs_.snapshots, key);
    if (!v) {
      // A book opened after the close has no snapshot row: it held nothing then.
      std::string probe = store::time_key(end);
      bool closed = false;
      rd_.scan(txn_, dbs_.snapshots, probe, [&](std::string_view k, std::string_view) {
        closed = k.substr(0, 8) == probe;
        return false;
      });
      if (!closed && rd_.meta_i64(txn_, kMetaClosedEnd, INT64_MIN) != end)
        return reject(Code::bad_date, "through: no closed period ends at " + format_rfc3339(end));
      return Amount();
    }
    i128 bal;
    if (!store::pod_read(*v, bal)) throw StoreError(MDB_CORRUPTED, "snapshot");
    return Amount::from_minor(bal);
  }

  Balances balances(std::string_view prefix, std::optional<TimeNs> as_of) override {
    Balances out;
    auto max_seq = max_seq_for(as_of);
    std::map<Currency, std::pair<i128, bool>> totals;  // sum, overflowed
    rd_.scan(txn_, dbs_.accounts, prefix, [&](std::string_view k, std::string_view v) {
      if (k.substr(0, prefix.size()) != prefix) return false;
      if (!account_under(k, prefix)) return true;
      AccountRecord r;
      if (!store::decode_account(v, r)) throw StoreError(MDB_CORRUPTED, "account record");
      for (const auto& b : r.books) {
        i128 bal = book_balance(b.book_id, max_seq);
        out.accounts.push_back({std::string(k), b.currency, Amount::from_minor(bal)});
        auto& [t, over] = totals[b.currency];
        if (!over && __builtin_add_overflow(t, bal, &t)) over = true;
      }
      return true;
    });
    for (const auto& [c, t] : totals)
      out.totals.push_back({c, Amount::from_minor(t.second ? 0 : t.first), t.second});
    return out;
  }

  std::vector<TrialBalanceRow> trial_balance(std::optional<TimeNs> as_of) override {
    auto max_seq = max_seq_for(as_of);
    struct Sums {
      i128 debits = 0, credits = 0;
      bool overflow = false;
    };
    std::map<Currency, Sums> sums;
    rd_.scan(txn_, dbs_.books, {}, [&](std::string_view k, std::string_view v) {
      BookRecord b;
      if (!store::pod_read(v, b)) throw StoreError(MDB_CORRUPTED, "book record");
      i128 bal = book_balance(get_be64(k.data()), max_seq);
      auto c =
          Currency::make(std::string_view(b.code.data(), strnlen(b.code.data(), 12)), b.exponent);
      TALLY_ASSERT(c.has_value(), "book currency");
      Sums& s = sums[*c];
      bool debit = debit_normal(static_cast<AccountKind>(b.kind)) == (bal >= 0);
      // |bal| fits: a balance is never the minimum i128 (each delta and running sum is checked
      // and postings are > 0, so a balance stays within +-(2^127 - 1)).
      i128 mag = bal >= 0 ? bal : -bal;
      i128& col = debit ? s.debits : s.credits;
      if (!s.overflow && __builtin_add_overflow(col, mag, &col)) s.overflow = true;
      return true;
    });
    std::vector<TrialBalanceRow> out;
    for (const auto& [c, s] : sums)
      out.push_back({c, Amount::from_minor(s.overflow ? 0 : s.debits),
                     Amount::from_minor(s.overflow ? 0 : s.credits), s.overflow});
    return out;
  }

  Result<Statement> statement(const StatementQuery& q) override {
    auto rec = rd_.account_record(txn_, q.account);
    if (!rec)
      return reject(Code::unknown_account, "account: \"" + q.account + "\" was never opened");
    if (q.limit < 1 || q.limit > 10000) return reject(Code::bad_request, "limit: must be 1..10000");
    uint64_t seq_lo = 0, seq_hi = UINT64_MAX;
    if (!q.by_business_time) {
      if (q.from) seq_lo = rd_.seq_as_of(txn_, *q.from - 1) + 1;
      if (q.to) seq_hi = rd_.seq_as_of(txn_, *q.to - 1);
    }
    std::string start;
    if (!q.after.empty()) {
      if (q.after.size() != 2 * store::kPostingKeyBytes)
        return reject(Code::bad_request, "after: not a statement cursor");
      for (size_t i = 0; i < q.after.size(); i += 2) {
        auto hex = [](char c) -> int {
          return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        };
        int hi = hex(q.after[i]), lo = hex(q.after[i + 1]);
        if (hi < 0 || lo < 0) return reject(Code::bad_request, "after: not a statement cursor");
        start.push_back(static_cast<char>(hi * 16 + lo));
      }
      bool ours = std::any_of(rec->books.begin(), rec->books.end(),
                              [&](const auto& b) { return b.book_id == get_be64(start.data()); });
      if (!ours) return reject(Code::bad_request, "after: the cursor belongs to another account");
      start.push_back('\0');  // strictly after the cursor's key
    }
    Statement out;
    std::string last_key;
    bool more = false;
    for (const auto& b : rec->books) {
      std::string from = store::posting_key(b.book_id, seq_lo == 0 ? 0 : seq_lo, 0);
      if (!start.empty()) {
        if (get_be64(start.data()) > b.book_id) continue;
        if (get_be64(start.data()) == b.book_id) from = std::max(from, start);
      }
      rd_.scan(txn_, dbs_.postings, from, [&](std::string_view k, std::string_view v) {
        if (get_be64(k.data()) != b.book_id) return false;
        uint64_t seq = get_be64(k.data() + 8);
        if (seq > seq_hi) return false;
        PostingRecord pr;
        if (!store::pod_read(v, pr)) throw StoreError(MDB_CORRUPTED, "posting");
        if (q.by_business_time && ((q.from && pr.at < *q.from) || (q.to && pr.at >= *q.to)))
          return true;
        if (out.lines.size() == q.limit) {
          more = true;
          return false;
        }
        StatementLine l;
        l.seq = seq;
        l.at = pr.at;
        l.commit_ns = pr.commit_ns;
        l.currency = b.currency;
        bool increase = pr.delta > 0;
        l.side = increase == debit_normal(rec->kind) ? Side::debit : Side::credit;
        l.amount = Amount::from_minor(pr.delta > 0 ? pr.delta : -pr.delta);
        l.balance_after = Amount::from_minor(pr.balance_after);
        auto ev = entry_at(seq);
        TALLY_ASSERT(ev.has_value(), "posting without entry, seq " + std::to_string(seq));
        l.entry_id = ev->entry.id;
        l.kind = ev->entry.kind;
        out.lines.push_back(std::move(l));
        last_key = std::string(k);
        return true;
      });
      if (more) break;
    }
    if (more) {
      static constexpr char kHex[] = "0123456789abcdef";
      for (unsigned char c : last_key) out.next += kHex[c >> 4], out.next += kHex[c & 15];
    }
    return out;
  }

  std::optional<EntryView> entry(std::string_view id) override {
    auto v = rd_.raw_get(txn_, dbs_.ids, id);
    if (!v) return std::nullopt;
    IdValue iv;
    if (!store::pod_read(*v, iv)) throw StoreError(MDB_CORRUPTED, "id record");
    return entry_at(iv.seq);
  }

  bool decode_view(std::string_view raw, EntryView& out, std::string* problem) {
    EntryRecord r;
    if (!store::decode_entry(raw, r)) {
      if (problem) *problem = "cannot decode the entry record";
      return false;
    }
    out.seq = r.seq;
    out.commit_ns = r.commit_ns;
    out.prev_hash = r.prev;
    out.hash = r.hash;
    out.entry.id = std::move(r.id);
    out.entry.kind = std::move(r.kind);
    out.entry.at = r.at;
    out.entry.meta = std::move(r.meta);
    out.entry.postings.clear();
    for (const auto& p : r.postings) {
      auto& info = book_info(p.book_id);
      if (info.name.empty()) {
        if (problem) *problem = "posting names unknown book " + std::to_string(p.book_id);
        return false;
      }
      out.entry.postings.push_back(
          {info.name, info.currency, p.side, Amount::from_minor(p.amount)});
    }
    return true;
  }

  std::optional<EntryView> entry_at(uint64_t seq) override {
    auto v = rd_.raw_get(txn_, dbs_.entries, store::seq_key(seq));
    if (!v) return std::nullopt;
    EntryView out;
    std::string problem;
    if (!decode_view(*v, out, &problem)) throw StoreError(MDB_CORRUPTED, problem);
    return out;
  }

  void entries(uint64_t from_seq, const std::function<bool(const EntryView&)>& visit) override {
    rd_.scan(txn_, dbs_.entries, store::seq_key(from_seq),
             [&](std::string_view, std::string_view v) {
               EntryView ev;
               std::string problem;
               if (!decode_view(v, ev, &problem)) throw StoreError(MDB_CORRUPTED, problem);
               return visit(ev);
             });
  }

  VerifyReport verify(const std::function<void(uint64_t, uint64_t)>& progress) override;

  std::optional<std::string> get(TableId table, std::string_view key) override {
    auto v = rd_.raw_get(txn_, table, key);
    if (!v) return std::nullopt;
    return std::string(*v);
  }
  void scan(TableId table, std::string_view from,
            const std::function<bool(std::string_view, std::string_view)>& visit) override {
    rd_.scan(txn_, table, from, visit);
  }

 private:
  struct BookInfo {
    std::string name;
    Currency currency;
    AccountKind kind = AccountKind::asset;
  };
  // Book id -> account name and currency, cached for the snapshot's life.
  const BookInfo& book_info(uint64_t book_id) {
    auto it = books_.find(book_id);
    if (it != books_.end()) return it->second;
    BookInfo info;
    if (auto b = rd_.book(txn_, book_id)) {
      auto name = rd_.raw_get(txn_, dbs_.account_names, store::book_key(b->account_id));
      auto c = Currency::make(std::string_view(b->code.data(), strnlen(b->code.data(), 12)),
                              b->exponent);
      if (name && c) {
        info.name = std::string(*name);
        info.currency = *c;
        info.kind = static_cast<AccountKind>(b->kind);
      }
    }
    return books_.emplace(book_id, std::move(info)).first->second;
  }

  MDB_txn* txn_;
  const TxnReader& rd_;
  const Dbs& dbs_;
  std::shared_lock<std::shared_timed_mutex> lock_;
  std::unordered_map<uint64_t, BookInfo> books_;
};

VerifyReport SnapshotImpl::verify(const std::function<void(uint64_t, uint64_t)>& progress) {
  VerifyReport rep;
  const uint64_t total = last_seq();
  Digest head{};
  uint64_t expect_seq = 1;
  std::unordered_map<uint64_t, std::pair<i128, uint64_t>> running;  // book -> balance, postings
  auto fail = [&](std::string problem) {
    rep.ok = false;
    rep.problem = std::move(problem);
  };
  rd_.scan(txn_, dbs_.entries, {}, [&](std::string_view k, std::string_view v) {
    std::string where = "entry seq " + std::to_string(k.size() == 8 ? get_be64(k.data()) : 0);
    if (k.size() != 8 || get_be64(k.data()) != expect_seq) {
      fail(where + ": expected seq " + std::to_string(expect_seq) + " (a gap or a stray key)");
      return false;
    }
    EntryView ev;
    std::string problem;
    if (!decode_view(v, ev, &problem)) {
      fail(where + ": " + problem);
      return false;
    }
    where += " (id \"" + ev.entry.id + "\")";
    if (ev.seq != expect_seq) {
      fail(where + ": record says seq " + std::to_string(ev.seq));
      return false;
    }
    if (ev.prev_hash != head) {
      fail(where + ": previous hash " + to_hex(ev.prev_hash) + " != chain " + to_hex(head));
      return false;
    }
    Digest h = store::chain_hash(head, ev.entry, ev.seq, ev.commit_ns);
    if (h != ev.hash) {
      fail(where + ": content hash " + to_hex(h) + " != recorded " + to_hex(ev.hash));
      return false;
    }
    Entry copy = ev.entry;
    if (auto r = validate_entry_shape(copy); !r) {
      fail(where + ": " + r.error().message);
      return false;
    }
    EntryRecord raw;
    TALLY_ASSERT(store::decode_entry(v, raw), "decoded once already");
    for (size_t i = 0; i < ev.entry.postings.size(); ++i) {
      const Posting& p = ev.entry.postings[i];
      uint64_t book_id = raw.postings[i].book_id;
      const BookInfo& info = book_info(book_id);
      i128 delta = posting_increases(p.side, info.kind) ? p.amount.minor() : -p.amount.minor();
      auto& [bal, count] = running[book_id];
      if (__builtin_add_overflow(bal, delta, &bal)) {
        fail(where + ": balance of " + p.account + " overflows");
        return false;
      }
      ++count;
      auto pv = rd_.raw_get(txn_, dbs_.postings,
                            store::posting_key(book_id, ev.seq, static_cast<uint16_t>(i)));
      PostingRecord pr;
      if (!pv || !store::pod_read(*pv, pr)) {
        fail(where + ": posting " + std::to_string(i) + " on " + p.account + " is missing");
        return false;
      }
      if (pr.delta != delta || pr.balance_after != bal || pr.at != ev.entry.at ||
          pr.commit_ns != ev.commit_ns) {
        fail(where + ": posting " + std::to_string(i) + " on " + p.account + " " +
             std::string(p.currency.code()) + " records balance " +
             format_amount(Amount::from_minor(pr.balance_after), p.currency) + ", journal gives " +
             format_amount(Amount::from_minor(bal), p.currency));
        return false;
      }
      ++rep.postings;
    }
    auto idv = rd_.raw_get(txn_, dbs_.ids, ev.entry.id);
    IdValue iv;
    if (!idv || !store::pod_read(*idv, iv) || iv.seq != ev.seq) {
      fail(where + ": the id index does not point at this entry");
      return false;
    }
    head = ev.hash;
    ++rep.entries;
    ++expect_seq;
    if (progress && rep.entries % 4096 == 0) progress(rep.entries, total);
    return true;
  });
  if (!rep.ok) return rep;
  if (rep.entries != total) {
    fail("meta: last_seq " + std::to_string(total) + " but the journal holds " +
         std::to_string(rep.entries) + " entries");
    return rep;
  }
  if (head != rd_.meta_head(txn_)) {
    fail("meta: head hash " + to_hex(rd_.meta_head(txn_)) + " != journal chain " + to_hex(head));
    return rep;
  }
  rd_.scan(txn_, dbs_.books, {}, [&](std::string_view k, std::string_view v) {
    uint64_t book_id = get_be64(k.data());
    BookRecord b;
    if (!store::pod_read(v, b)) {
      fail("book " + std::to_string(book_id) + ": cannot decode");
      return false;
    }
    auto [bal, count] = running[book_id];
    if (b.balance != bal || b.postings != count) {
      const BookInfo& info = book_info(book_id);
      fail("account " + info.name + " " + std::string(info.currency.code()) + ": stored balance " +
           format_amount(Amount::from_minor(b.balance), info.currency) + " (" +
           std::to_string(b.postings) + " postings), journal gives " +
           format_amount(Amount::from_minor(bal), info.currency) + " (" + std::to_string(count) +
           " postings)");
      return false;
    }
    return true;
  });
  if (!rep.ok) return rep;
  MDB_stat st;
  check(mdb_stat(txn_, dbs_.postings, &st), "stat");
  if (st.ms_entries != rep.postings) {
    fail("postings: the index holds " + std::to_string(st.ms_entries) + " postings, journal " +
         std::to_string(rep.postings));
    return rep;
  }
  check(mdb_stat(txn_, dbs_.ids, &st), "stat");
  if (st.ms_entries != rep.entries) {
    fail("ids: the index holds " + std::to_string(st.ms_entries) + " ids, journal " +
         std::to_string(rep.entries));
    return rep;
  }
  if (progress) progress(rep.entries, total);
  rep.head = head;
  return rep;
}

// ------------------------------------------------------------------------------------------
// The ledger and its writer thread

class LedgerImpl final : public Ledger {
 public:
  explicit LedgerImpl(LedgerOptions o) : opt_(std::move(o)), reader_(dbs_, builtins_) {}

  ~LedgerImpl() override {
    {
      std::lock_guard lk(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (writer_.joinable()) writer_.join();
    if (env_) mdb_env_close(env_);
  }

  Status init() {
    ::mkdir(opt_.dir.c_str(), 0755);
    struct stat st;
    if (::stat(opt_.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return Status::io_error("data directory " + opt_.dir + " cannot be created");
    int rc = mdb_env_create(&env_);
    if (rc) return lmdb_status(rc, "mdb_env_create");
    mdb_env_set_maxdbs(env_, 64);
    mdb_env_set_maxreaders(env_, 1024);
    map_size_ = opt_.map_size_bytes;
    mdb_env_set_mapsize(env_, map_size_);
    unsigned flags = MDB_NOTLS | (opt_.durable ? 0 : MDB_NOSYNC);
    rc = mdb_env_open(env_, opt_.dir.c_str(), flags, 0644);
    if (rc) return lmdb_status(rc, "opening the store in " + opt_.dir);
    MDB_envinfo info;
    mdb_env_info(env_, &info);
    map_size_ = info.me_mapsize;  // an existing store may be larger than asked

    MDB_txn* txn;
    rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    if (rc) return lmdb_status(rc, "begin");
    auto open_db = [&](const char* name, MDB_dbi* dbi) {
      return mdb_dbi_open(txn, name, MDB_CREATE, dbi);
    };
    rc = open_db("meta", &dbs_.meta);
    if (!rc) rc = open_db("accounts", &dbs_.accounts);
    if (!rc) rc = open_db("account_names", &dbs_.account_names);
    if (!rc) rc = open_db("books", &dbs_.books);
    if (!rc) rc = open_db("entries", &dbs_.entries);
    if (!rc) rc = open_db("ids", &dbs_.ids);
    if (!rc) rc = open_db("postings", &dbs_.postings);
    if (!rc) rc = open_db("commits", &dbs_.commits);
    if (!rc) rc = open_db("snapshots", &dbs_.snapshots);
    if (!rc) rc = open_db("assets", &dbs_.assets);
    for (const auto& name : opt_.extra_tables) {
      if (rc) break;
      MDB_dbi dbi;
      rc = open_db(("x." + name).c_str(), &dbi);
      dbs_.extra[name] = dbi;
    }
    if (rc) {
      mdb_txn_abort(txn);
      return lmdb_status(rc, "opening tables");
    }
    MDB_val k = to_val(kMetaVersion), v;
    rc = mdb_get(txn, dbs_.meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
      uint32_t ver = kSchemaVersion;
      MDB_val val{sizeof ver, &ver};
      rc = mdb_put(txn, dbs_.meta, &k, &val, 0);
    } else if (rc == MDB_SUCCESS) {
      uint32_t ver = 0;
      if (v.mv_size != sizeof ver) {
        mdb_txn_abort(txn);
        return Status::corruption("store in " + opt_.dir + ": unreadable schema version");
      }
      std::memcpy(&ver, v.mv_data, sizeof ver);
      if (ver != kSchemaVersion) {
        mdb_txn_abort(txn);
        return Status::version_mismatch("store in " + opt_.dir + " has schema version " +
                                        std::to_string(ver) + "; this tally reads version " +
                                        std::to_string(kSchemaVersion));
      }
    }
    if (rc) {
      mdb_txn_abort(txn);
      return lmdb_status(rc, "schema version");
    }
    rc = mdb_txn_commit(txn);
    if (rc) return lmdb_status(rc, "commit");
    writer_ = std::thread([this] { writer_loop(); });
    return Status::OK();
  }

  void submit(Batch batch, Done done) override {
    if (batch.empty() || batch.size() > opt_.batch_items_max) {
      std::vector<ItemResult> r(batch.size());
      Rejection why =
          reject(batch.empty() ? Code::bad_request : Code::batch_too_large,
                 batch.empty() ? "batch: empty"
                               : "batch: " + std::to_string(batch.size()) + " items, at most " +
                                     std::to_string(opt_.batch_items_max));
      for (auto& x : r) x = ItemResult::error(why);
      done(std::move(r));
      return;
    }
    size_t weight = 0;
    for (const auto& op : batch) weight += op->weight();
    std::unique_lock lk(mu_);
    // Back-pressure: bound the memory queued behind the writer.
    space_cv_.wait(lk, [&] { return queued_items_ < kQueuedItemsMax || queue_.empty(); });
    queued_items_ += weight;
    queue_.push_back({std::move(batch), std::move(done), weight});
    lk.unlock();
    cv_.notify_one();
  }

  std::unique_ptr<Snapshot> snapshot() override {
    std::shared_lock lock(map_mu_);
    MDB_txn* txn;
    int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
    TALLY_ASSERT(rc == 0, std::string("read txn: ") + mdb_strerror(rc));
    return std::make_unique<SnapshotImpl>(txn, reader_, std::move(lock));
  }
  TableId table(std::string_view name) const override {
    auto it = dbs_.extra.find(name);
    TALLY_ASSERT(it != dbs_.extra.end(), "table " + std::string(name) + " not in extra_tables");
    return it->second;
  }
  std::optional<Currency> find_currency(std::string_view code) const override {
    if (auto c = builtins_.find(code)) return c;
    auto s = const_cast<LedgerImpl*>(this)->snapshot();
    return s->currency(code);
  }
  const LedgerOptions& options() const override { return opt_; }
  uint64_t commits() const override { return commits_.load(); }

 private:
  static constexpr size_t kQueuedItemsMax = 200000;

  struct Pending {
    Batch batch;
    Done done;
    size_t weight = 0;  // sum of its ops' weight()
  };

  static Status lmdb_status(int rc, const std::string& what) {
    std::string m = what + ": " + mdb_strerror(rc);
    if (rc == MDB_MAP_FULL || rc == ENOSPC) return Status::store_full(m);
    if (rc == MDB_VERSION_MISMATCH || rc == MDB_INVALID) return Status::version_mismatch(m);
    if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND) return Status::corruption(m);
    return Status::io_error(m);
  }

  void writer_loop() {
    for (;;) {
      std::vector<Pending> group;
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        size_t items = 0;
        while (!queue_.empty() &&
               (group.empty() || items + queue_.front().weight <= opt_.group_items_max)) {
          items += queue_.front().weight;
          group.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        queued_items_ -= items;
      }
      space_cv_.notify_all();
      auto results = run_group(group);
      for (size_t i = 0; i < group.size(); ++i) group[i].done(std::move(results[i]));
    }
  }

  // Applies a group of batches in one transaction and commits it. Retries after growing a full
  // map; reports any other store failure on every item of the group.
  std::vector<std::vector<ItemResult>> run_group(std::vector<Pending>& group) {
    for (;;) {
      std::vector<std::vector<ItemResult>> results(group.size());
      MDB_txn* txn = nullptr;
      int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
      if (rc != MDB_SUCCESS) return fail_group(group, rc, "begin");
      bool committed = false;
      try {
        TimeNs last = reader_.meta_i64(txn, kMetaLastCommit, 0);
        TimeNs now = opt_.clock();
        WriteTxnImpl wt(txn, reader_, std::max(now, last + 1));
        for (size_t b = 0; b < group.size(); ++b) apply_batch(wt, group[b].batch, results[b]);
        wt.write_meta();
        committed = true;  // mdb_txn_commit frees the txn whatever it returns
        check(mdb_txn_commit(txn), "commit");
        commits_.fetch_add(1);
        return results;
      } catch (const StoreError& e) {
        if (!committed) mdb_txn_abort(txn);
        if (e.rc == MDB_MAP_FULL && grow_map()) continue;
        return fail_group(group, e.rc, e.where);
      } catch (const StoreCorruption& e) {  // a higher layer's record did not decode
        if (!committed) mdb_txn_abort(txn);
        return fail_group(group, MDB_CORRUPTED, e.what());
      }
    }
  }

  void apply_batch(WriteTxnImpl& wt, Batch& batch, std::vector<ItemResult>& out) {
    out.resize(batch.size());
    size_t i = 0;
    while (i < batch.size()) {
      size_t j = i;
      while (j + 1 < batch.size() && batch[j]->linked) ++j;
      if (i == j) {
        out[i] = batch[i]->apply(wt);
      } else {
        // A linked chain i..j: a nested transaction, so a failure undoes the chain's earlier items.
        wt.begin_nested();
        size_t failed = SIZE_MAX;
        for (size_t k = i; k <= j; ++k) {
          out[k] = batch[k]->apply(wt);
          if (!out[k].ok()) {
            failed = k;
            break;
          }
        }
        wt.end_nested(failed == SIZE_MAX);
        if (failed != SIZE_MAX) {
          for (size_t k = i; k <= j; ++k) {
            if (k == failed) continue;
            std::string id = out[k].id;
            out[k] = ItemResult::error(
                reject(Code::linked_failed, "linked: item " + std::to_string(failed) +
                                                " of this linked chain failed (" +
                                                std::string(code_name(out[failed].code)) +
                                                "); nothing of the chain was committed"),
                id);
          }
        }
      }
      i = j + 1;
    }
  }

  std::vector<std::vector<ItemResult>> fail_group(std::vector<Pending>& group, int rc,
                                                  const std::string& where) {
    Code code = (rc == MDB_MAP_FULL || rc == ENOSPC) ? Code::store_full : Code::internal;
    Rejection why = reject(code, "store: " + where + ": " + mdb_strerror(rc) +
                                     "; nothing of this batch was committed");
    std::vector<std::vector<ItemResult>> results(group.size());
    for (size_t b = 0; b < group.size(); ++b)
      for (size_t i = 0; i < group[b].batch.size(); ++i)
        results[b].push_back(ItemResult::error(why));
    return results;
  }

  // Doubles the map, waiting (bounded) for readers to leave: LMDB resizes only with no
  // transaction open in this process.
  bool grow_map() {
    if (map_size_ >= opt_.map_size_max_bytes) return false;
    std::unique_lock lock(map_mu_, std::defer_lock);
    if (!lock.try_lock_for(std::chrono::seconds(5))) return false;
    size_t next = std::min(map_size_ * 2, opt_.map_size_max_bytes);
    if (mdb_env_set_mapsize(env_, next) != MDB_SUCCESS) return false;
    map_size_ = next;
    return true;
  }

  LedgerOptions opt_;
  CurrencyTable builtins_;
  Dbs dbs_{};
  TxnReader reader_;
  MDB_env* env_ = nullptr;
  size_t map_size_ = 0;
  std::shared_timed_mutex map_mu_;  // readers shared; map growth exclusive

  std::mutex mu_;
  std::condition_variable cv_, space_cv_;
  std::deque<Pending> queue_;
  size_t queued_items_ = 0;
  bool stopping_ = false;
  std::atomic<uint64_t> commits_{0};
  std::thread writer_;
};

}  // namespace

Status Ledger::open(LedgerOptions options, std::unique_ptr<Ledger>* out) {
  auto l = std::make_unique<LedgerImpl>(std::move(options));
  Status s = l->init();
  if (!s.ok()) return s;
  *out = std::move(l);
  return Status::OK();
}

}  // namespace tally
