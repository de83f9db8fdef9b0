// On-disk records and keys of the ledger store (layout documented in docs/design.md). Internal to
// ledger/: higher layers use ledger.h.
#pragma once

#include <lmdb.h>

#include <array>
#include <cstddef>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

#include "ledger/codec.h"
#include "ledger/entry.h"

namespace tally::store {

// An LMDB failure: a StoreFailure (ledger/status.h) that keeps LMDB's code, so that the writer
// can tell a full map (grow it and retry) from the rest (report it on every item).
Status lmdb_status(int rc, const std::string& what);
struct StoreError : StoreFailure {
  StoreError(int code, std::string w)
      : StoreFailure(lmdb_status(code, w)), rc(code), where(std::move(w)) {}
  int rc;
  std::string where;
};

inline void check(int rc, const char* where) {
  if (rc != MDB_SUCCESS) throw StoreError(rc, where);
}
inline MDB_val to_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
inline std::string_view to_sv(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

// books: key be64(book_id) -> BookRecord. One per (account, currency).
struct BookRecord {
  uint64_t account_id;
  std::array<char, 12> code;
  uint8_t exponent;
  uint8_t kind;  // AccountKind
  uint8_t reserved[2];
  // Commit time of the transaction that opened the book (its account, or the currency added to
  // it later). These 8 bytes were reserved and always written as zero, so a book written before
  // tally recorded open times reads 0: opened at an unknown time (no store migration needed).
  int64_t opened_ns;
  i128 balance;  // normal-side balance after the last posting
  uint64_t postings;
  uint64_t last_seq;
};
static_assert(sizeof(BookRecord) == 64, "BookRecord is stored as is");
static_assert(offsetof(BookRecord, opened_ns) == 24 && offsetof(BookRecord, balance) == 32,
              "BookRecord's layout is the stored one: opened_ns took 8 of the reserved bytes");
static_assert(std::is_trivially_copyable_v<BookRecord>);

// postings: key be64(book_id) be64(seq) be16(index) -> PostingRecord.
struct PostingRecord {
  i128 delta;          // change of the normal-side balance (signed)
  i128 balance_after;  // running balance after this posting
  int64_t at;          // business time of the entry
  int64_t commit_ns;   // commit time of the entry
};
static_assert(sizeof(PostingRecord) == 48, "PostingRecord is stored as is");
inline constexpr size_t kPostingKeyBytes = 18;

template <class T>
std::string_view pod_bytes(const T& t) {
  return std::string_view(reinterpret_cast<const char*>(&t), sizeof(T));
}
template <class T>
bool pod_read(std::string_view s, T& out) {
  if (s.size() != sizeof(T)) return false;
  std::memcpy(&out, s.data(), sizeof(T));
  return true;
}

inline std::string book_key(uint64_t book_id) {
  std::string k;
  put_be64(k, book_id);
  return k;
}
inline std::string posting_key(uint64_t book_id, uint64_t seq, uint16_t index) {
  std::string k;
  k.reserve(kPostingKeyBytes);
  put_be64(k, book_id);
  put_be64(k, seq);
  put_be16(k, index);
  return k;
}
inline std::string seq_key(uint64_t seq) {
  std::string k;
  put_be64(k, seq);
  return k;
}
inline std::string time_key(int64_t t) {
  std::string k;
  put_be64_signed(k, t);
  return k;
}

// accounts: key name -> AccountRecord (encoded).
struct AccountCurrency {
  Currency currency;
  uint64_t book_id;
};
struct AccountRecord {
  uint64_t account_id = 0;
  AccountKind kind = AccountKind::asset;
  uint8_t flags = 0;
  std::vector<AccountCurrency> books;  // sorted by currency code
};
std::string encode_account(const AccountRecord& r);
bool decode_account(std::string_view s, AccountRecord& r);

// entries: key be64(seq) -> EntryRecord (encoded).
struct StoredPosting {
  uint64_t book_id;
  Side side;
  i128 amount;
};
struct EntryRecord {
  uint64_t seq = 0;
  int64_t at = 0;
  int64_t commit_ns = 0;
  Digest prev{};
  Digest hash{};
  std::string id, kind;
  std::vector<std::pair<std::string, std::string>> meta;
  std::vector<StoredPosting> postings;
};
std::string encode_entry(const EntryRecord& r);
bool decode_entry(std::string_view s, EntryRecord& r);

// ids: key id -> IdValue.
struct IdValue {
  uint64_t seq;
  int64_t commit_ns;
  Digest digest;
};
static_assert(sizeof(IdValue) == 48);

// The hash chain: hash = SHA-256(prev || canonical entry bytes || seq || commit_ns).
Digest chain_hash(const Digest& prev, const Entry& entry, uint64_t seq, int64_t commit_ns);

}  // namespace tally::store
