// The writer's transaction (contract in ledger/write_txn.h and ledger/ledger.h's WriteTxn).
#include "ledger/write_txn.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <unordered_map>
#include <vector>

#include "ledger/change_log.h"
#include "ledger/codec.h"

namespace tally {

namespace {

class WriteTxnImpl final : public WriterTxn {
 public:
  struct State {
    uint64_t last_seq = 0;
    Digest head{};
    uint64_t next_account_id = 1;
    uint64_t next_book_id = 1;
    TimeNs closed_end = INT64_MIN;
    bool posted = false;
  };
  // The state as the transaction found it (what write_meta compares with).
  uint64_t next_book_id_at_begin_ = 1;

  WriteTxnImpl(MDB_txn* txn, const TxnReader& rd, TimeNs commit_ns, const ReplogOptions& replog)
      : txn_(txn), rd_(rd), dbs_(rd.dbs_), commit_ns_(commit_ns), replog_(replog) {
    if (replog_.enabled) log_.emplace(dbs_);
    txn_no_ = rd_.meta_u64(txn, kMetaTxn) + 1;
    st_.last_seq = rd_.meta_u64(txn, kMetaLastSeq);
    st_.head = rd_.meta_head(txn);
    st_.next_account_id = std::max<uint64_t>(1, rd_.meta_u64(txn, kMetaNextAccount));
    st_.next_book_id = std::max<uint64_t>(1, rd_.meta_u64(txn, kMetaNextBook));
    st_.closed_end = rd_.meta_i64(txn, kMetaClosedEnd, INT64_MIN);
    next_book_id_at_begin_ = st_.next_book_id;
  }

  // Nested transactions for linked chains: begin() switches to a child, end() commits or
  // aborts it (restoring the in-memory state).
  void begin_savepoint() override { begin_nested(); }
  void end_savepoint(bool keep) override { end_nested(keep); }
  void begin_nested() {
    flush_postings();  // what the savepoint may undo is then only what it buffers itself
    MDB_txn* child;
    check(mdb_txn_begin(mdb_txn_env(txn_), txn_, 0, &child), "nested begin");
    saved_.push_back({txn_, st_, book_undo_.size(), account_undo_.size(),
                      log_ ? log_->mark() : ChangeLog::Mark{}});
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
      if (log_) log_->truncate(saved.log);
      postings_.clear();  // all buffered since the savepoint began (begin_nested flushed)
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
  // Writes the posting rows buffered since the last flush, in key order. A batch's postings land
  // on books all over the postings table; put in key order, each leaf page is found, copied and
  // filled once, in page order, instead of once per posting in arrival order (measured in
  // docs/performance.md, "tally beside TigerBeetle"). Keys are unique: (book, seq, index).
  void flush_postings() {
    std::sort(postings_.begin(), postings_.end(),
              [](const PendingPosting& a, const PendingPosting& b) { return a.key < b.key; });
    for (const PendingPosting& p : postings_)
      put_raw(dbs_.postings, std::string_view(p.key.data(), p.key.size()), store::pod_bytes(p.row));
    postings_.clear();
  }
  void write_meta() override {
    TALLY_ASSERT(saved_.empty(), "a savepoint is still open at the commit");
    flush_postings();
    flush_books();
    put_pod(dbs_.meta, kMetaLastSeq, st_.last_seq);
    put_raw(dbs_.meta, kMetaHead, store::pod_bytes(st_.head));
    put_pod(dbs_.meta, kMetaNextAccount, st_.next_account_id);
    put_pod(dbs_.meta, kMetaNextBook, st_.next_book_id);
    put_pod(dbs_.meta, kMetaClosedEnd, st_.closed_end);
    // The last commit time is that of the last transaction that posted or opened books: a read
    // "as of now" reports it, so an account opened after the last entry is opened as of it.
    if (st_.posted || st_.next_book_id != next_book_id_at_begin_)
      put_pod(dbs_.meta, kMetaLastCommit, commit_ns_);
    if (st_.posted) {
      // One commits record per transaction: the as-of index.
      put_raw(dbs_.commits, store::time_key(commit_ns_), store::pod_bytes(st_.last_seq));
    }
    // Last: the transaction's number, then its replog row (which holds every change above).
    put_pod(dbs_.meta, kMetaTxn, txn_no_);
    if (log_)
      store_replog_row(txn_, rd_, txn_no_,
                       log_->row(txn_no_, commit_ns_, st_.last_seq, st_.head, replog_.term,
                                 replog_head(txn_, rd_)),
                       replog_.txns_kept, replog_.term);
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
        if (!book) throw StoreError(MDB_CORRUPTED, "book " + std::to_string(b.book_id));
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
        if (!book)
          throw StoreError(MDB_CORRUPTED,
                           "book " + std::to_string(ac->book_id) + " of " + ps.account);
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
      // prepare_entry read this book in this transaction: it is there.
      TALLY_ASSERT(book.has_value(), "book " + std::to_string(b.book_id));
      i128 next;
      TALLY_ASSERT(!__builtin_add_overflow(book->balance, b.delta, &next),
                   "prepare_entry checked overflow");
      book->balance = next;
      book->postings += 1;
      book->last_seq = seq;
      const std::string key = store::posting_key(b.book_id, seq, static_cast<uint16_t>(i));
      TALLY_ASSERT(key.size() == store::kPostingKeyBytes);
      PendingPosting& pp = postings_.emplace_back();
      std::memcpy(pp.key.data(), key.data(), store::kPostingKeyBytes);
      pp.row = PostingRecord{b.delta, next, p.entry.at, commit_ns_};
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
    if (a.currencies.size() > limits::currencies_per_account_max)
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
      if (rec.books.size() >= limits::currencies_per_account_max)
        return reject(Code::bad_request, "currencies: at most 64 per account");
      uint64_t book_id = st_.next_book_id++;
      BookRecord b{};
      b.account_id = rec.account_id;
      b.code = c.padded_code();
      b.exponent = static_cast<uint8_t>(c.exponent());
      b.kind = static_cast<uint8_t>(rec.kind);
      b.opened_ns = commit_ns_;
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

  Result<bool> close_account(std::string_view name) override {
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

  Result<bool> close_period(TimeNs end) override {
    if (end == st_.closed_end) return false;
    flush_books();     // it reads the books table
    flush_postings();  // and the postings table
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

  Result<bool> declare_asset(std::string_view code, int exponent) override {
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
    if (rc == MDB_NOTFOUND) return;
    check(rc, "mdb_del");
    if (log_) log_->del(table, key);
  }
  void scan(TableId table, std::string_view from,
            const std::function<bool(std::string_view, std::string_view)>& visit) override {
    rd_.scan(txn_, table, from, visit);
  }
  uint64_t sweep(TableId table, std::string_view from,
                 const std::function<Sweep(std::string_view, std::string_view)>& decide) override {
    if (!log_) return rd_.walk(txn_, table, from, decide);
    return rd_.walk(txn_, table, from, [&](std::string_view k, std::string_view v) {
      Sweep s = decide(k, v);
      if (s == Sweep::erase) log_->del(table, k);
      return s;
    });
  }

 private:
  struct Saved {
    MDB_txn* parent;
    State state;
    size_t book_undo, account_undo;  // the undo logs' sizes when the savepoint began
    ChangeLog::Mark log;             // the change log's, likewise
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
    if (log_) log_->put(db, key, value);
  }
  template <class T>
  void put_pod(MDB_dbi db, std::string_view key, const T& t) {
    put_raw(db, key, store::pod_bytes(t));
  }

  MDB_txn* txn_;
  const TxnReader& rd_;
  const Dbs& dbs_;
  TimeNs commit_ns_;
  ReplogOptions replog_;
  std::optional<ChangeLog> log_;  // when the store keeps a replication log
  uint64_t txn_no_ = 0;           // this transaction's number (meta last_txn + 1)
  State st_;
  std::vector<Saved> saved_;
  std::unordered_map<uint64_t, BookRecord> books_;  // changed in this transaction
  // Posting rows not yet put (flush_postings): those of the innermost level of savepoints.
  struct PendingPosting {
    std::array<char, store::kPostingKeyBytes> key;
    PostingRecord row;
  };
  std::vector<PendingPosting> postings_;
  std::vector<std::pair<uint64_t, std::optional<BookRecord>>> book_undo_;
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, AccountRecord, NameHash, std::equal_to<>> accounts_;
  std::vector<std::pair<std::string, std::optional<AccountRecord>>> account_undo_;
};

}  // namespace

std::unique_ptr<WriterTxn> make_writer_txn(MDB_txn* txn, const TxnReader& reader, TimeNs commit_ns,
                                           const ReplogOptions& replog) {
  return std::make_unique<WriteTxnImpl>(txn, reader, commit_ns, replog);
}

}  // namespace tally
