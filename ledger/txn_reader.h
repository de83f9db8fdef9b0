// Reads shared by the writer's transaction and read snapshots: the store's tables (Dbs), its meta
// keys, and TxnReader, which reads records out of an LMDB transaction and decodes them (a record
// that does not decode is a StoreError MDB_CORRUPTED). Private to ledger/.
//
// Thread safety: TxnReader holds no state of its own beyond references fixed at construction; it
// may be used by any thread with a transaction that thread may use.
#pragma once

#include <lmdb.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/store_records.h"

namespace tally {

using store::AccountRecord;
using store::BookRecord;
using store::check;
using store::EntryRecord;
using store::IdValue;
using store::lmdb_status;
using store::PostingRecord;
using store::StoreError;
using store::to_sv;
using store::to_val;

constexpr std::string_view kMetaVersion = "schema_version";
constexpr std::string_view kMetaLastSeq = "last_seq";
constexpr std::string_view kMetaHead = "head_hash";
constexpr std::string_view kMetaLastCommit = "last_commit_ns";
constexpr std::string_view kMetaNextAccount = "next_account_id";
constexpr std::string_view kMetaNextBook = "next_book_id";
constexpr std::string_view kMetaClosedEnd = "closed_end_ns";
constexpr std::string_view kMetaTxn = "last_txn";  // write transactions committed (replication)
// Kept outside the replication log, each node's own: the last replog row's SHA-256 and the
// highest leader term written or applied (ledger/change_log.h).
constexpr std::string_view kMetaReplogHead = "replog_head";
constexpr std::string_view kMetaReplogTerm = "replog_term";

struct Dbs {
  MDB_dbi meta, accounts, account_names, books, entries, ids, postings, commits, snapshots, assets;
  std::map<std::string, MDB_dbi, std::less<>> extra;
  MDB_dbi replog;  // the replication log (ledger/replication.h); itself not replicated
  // The tables a change set may name, by index: the ledger's in the order above, then the extra
  // tables in name order (the same on every node with the same tables).
  std::vector<MDB_dbi> replicated;
  // The index of `db` in `replicated`; -1 when it is not replicated.
  int replicated_index(MDB_dbi db) const {
    for (size_t i = 0; i < replicated.size(); ++i)
      if (replicated[i] == db) return static_cast<int>(i);
    return -1;
  }
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

  const Dbs& dbs() const { return dbs_; }

  const Dbs& dbs_;
  const CurrencyTable& builtins_;
};

// An account name, currency and kind for a book id, cached: entries store book ids, people and
// the hash chain want names.
struct BookInfo {
  std::string name;  // empty when the book is unknown
  Currency currency;
  AccountKind kind = AccountKind::asset;
};
class BookNames {
 public:
  BookNames(MDB_txn* txn, const TxnReader& rd) : txn_(txn), rd_(rd) {}
  // The book's name, currency and kind (an empty name when there is no such book). The reference
  // is valid until the next get: at most limits::book_names_cached_max are kept.
  const BookInfo& get(uint64_t book_id);

 private:
  MDB_txn* txn_;
  const TxnReader& rd_;
  std::unordered_map<uint64_t, BookInfo> cache_;
};

// An entry record as an EntryView (postings with account names). False, with the problem, when
// the record does not decode or names an unknown book.
bool decode_entry_view(std::string_view raw, BookNames& names, EntryView& out,
                       std::string* problem);

}  // namespace tally
