// Read snapshots (contract in ledger/ledger.h's Snapshot).
#include "ledger/snapshot.h"

#include <algorithm>
#include <cstring>

#include "ledger/change_log.h"
#include "ledger/codec.h"

namespace tally {

namespace {

class SnapshotImpl final : public Snapshot {
 public:
  SnapshotImpl(MDB_txn* txn, const TxnReader& rd, std::shared_lock<std::shared_timed_mutex> lock)
      : txn_(txn), rd_(rd), dbs_(rd.dbs()), lock_(std::move(lock)) {}
  ~SnapshotImpl() override { mdb_txn_abort(txn_); }

  uint64_t last_seq() override { return rd_.meta_u64(txn_, kMetaLastSeq); }
  uint64_t last_txn() override { return rd_.meta_u64(txn_, kMetaTxn); }
  uint64_t first_logged_txn() override {
    uint64_t first = 0;
    rd_.scan(txn_, dbs_.replog, {}, [&](std::string_view k, std::string_view) {
      if (k.size() != 8) throw StoreError(MDB_CORRUPTED, "replog key");
      first = get_be64(k.data());
      return false;
    });
    return first;
  }
  int64_t last_term() override { return replog_term(txn_, rd_); }
  void change_sets(uint64_t from_txn,
                   const std::function<bool(uint64_t, std::string_view)>& visit) override {
    std::string from;
    put_be64(from, from_txn);
    rd_.scan(txn_, dbs_.replog, from, [&](std::string_view k, std::string_view v) {
      if (k.size() != 8) throw StoreError(MDB_CORRUPTED, "replog key");
      return visit(get_be64(k.data()), v);
    });
  }
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
  std::optional<TimeNs> account_opened_ns(std::string_view name) override {
    auto r = rd_.account_record(txn_, name);
    if (!r) return std::nullopt;
    return opened_ns(*r);
  }
  // The earliest of the account's books' open times; nullopt when any is unknown (0: written
  // before open times were recorded) or the account has no book.
  std::optional<TimeNs> opened_ns(const AccountRecord& r) {
    if (r.books.empty()) return std::nullopt;
    std::optional<TimeNs> first;
    for (const auto& b : r.books) {
      auto rec = rd_.book(txn_, b.book_id);
      if (!rec) throw StoreError(MDB_CORRUPTED, "the book of an account record");
      if (rec->opened_ns == 0) return std::nullopt;  // written before open times were recorded
      if (!first || rec->opened_ns < *first) first = rec->opened_ns;
    }
    return first;
  }
  // The account was opened after commit time `as_of` (never when its open time is unknown).
  bool opened_after(const AccountRecord& r, TimeNs as_of) {
    auto opened = opened_ns(r);
    return opened && as_of < *opened;
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
  void account_names_after(std::string_view prefix, std::string_view after,
                           const std::function<bool(std::string_view)>& visit) override {
    // Keys >= after + '\0' are exactly the keys > after; the prefix bounds the range below.
    std::string from(after);
    if (!after.empty()) from.push_back('\0');
    if (from < prefix) from = prefix;
    rd_.scan(txn_, dbs_.accounts, from, [&](std::string_view k, std::string_view) {
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
      if (!b) throw StoreError(MDB_CORRUPTED, "book " + std::to_string(book_id));
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
      if (as_of && opened_after(r, *as_of)) return true;  // not part of the books then
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
      if (k.size() != 8 || !store::pod_read(v, b)) throw StoreError(MDB_CORRUPTED, "book record");
      const uint64_t book_id = get_be64(k.data());
      i128 bal = book_balance(book_id, max_seq);
      auto c =
          Currency::make(std::string_view(b.code.data(), strnlen(b.code.data(), 12)), b.exponent);
      if (!c) throw StoreError(MDB_CORRUPTED, "the currency of book " + std::to_string(book_id));
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
        if (!ev)
          throw StoreError(MDB_CORRUPTED,
                           "a posting without its entry, seq " + std::to_string(seq));
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

  std::optional<EntryView> entry_at(uint64_t seq) override {
    auto v = rd_.raw_get(txn_, dbs_.entries, store::seq_key(seq));
    if (!v) return std::nullopt;
    EntryView out;
    std::string problem;
    if (!decode_entry_view(*v, names_, out, &problem)) throw StoreError(MDB_CORRUPTED, problem);
    return out;
  }

  void entries(uint64_t from_seq, const std::function<bool(const EntryView&)>& visit) override {
    rd_.scan(txn_, dbs_.entries, store::seq_key(from_seq),
             [&](std::string_view, std::string_view v) {
               EntryView ev;
               std::string problem;
               if (!decode_entry_view(v, names_, ev, &problem))
                 throw StoreError(MDB_CORRUPTED, problem);
               return visit(ev);
             });
  }

  VerifyReport verify(const std::function<void(uint64_t, uint64_t)>& progress) override {
    return verify_store(txn_, rd_, progress);
  }

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
  MDB_txn* txn_;
  const TxnReader& rd_;
  const Dbs& dbs_;
  std::shared_lock<std::shared_timed_mutex> lock_;
  BookNames names_{txn_, rd_};
};

}  // namespace

std::unique_ptr<Snapshot> make_snapshot(MDB_txn* txn, const TxnReader& reader,
                                        std::shared_lock<std::shared_timed_mutex> lock) {
  return std::make_unique<SnapshotImpl>(txn, reader, std::move(lock));
}

}  // namespace tally
