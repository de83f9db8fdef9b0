#include "bench/raw_lmdb_store.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <utility>

namespace tally::bench {

namespace {

// As ledger_bench's own die: this file is part of ledger_bench only (bench/CMakeLists.txt).
[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "ledger_bench: %s\n", what.c_str());
  std::abort();
}

void lmdb_check(int rc, const char* what) {
  if (rc != MDB_SUCCESS) die(std::string(what) + ": " + mdb_strerror(rc));
}

void put_be64(std::string& k, uint64_t v) {
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>(v >> (8 * i)));
}

}  // namespace

RawStore::RawStore(const std::string& dir, int accounts, std::string_view kind)
    : accounts_(accounts), kind_(kind) {
  std::filesystem::create_directories(dir);
  lmdb_check(mdb_env_create(&env_), "env_create");
  mdb_env_set_maxdbs(env_, 16);
  lmdb_check(mdb_env_set_mapsize(env_, size_t(1) << 32), "mapsize");
  lmdb_check(mdb_env_open(env_, dir.c_str(), MDB_NOTLS, 0644), "env_open");
  MDB_txn* t;
  lmdb_check(mdb_txn_begin(env_, nullptr, 0, &t), "begin");
  for (auto [name, dbi] : {std::pair{"meta", &meta_},
                           {"entries", &entries_},
                           {"ids", &ids_},
                           {"postings", &postings_},
                           {"books", &books_},
                           {"commits", &commits_},
                           {"holds", &holds_},
                           {"sales", &sales_}})
    lmdb_check(mdb_dbi_open(t, name, MDB_CREATE, dbi), "dbi_open");
  std::string v(64, '\0');
  for (int i = 1; i <= 2 * accounts_; ++i) put(t, books_, book_key(i), v);
  lmdb_check(mdb_txn_commit(t), "commit");
  setup_puts_ = puts_;
}

RawStore::~RawStore() {
  mdb_env_close(env_);
}

std::string RawStore::book_key(uint64_t book) {
  std::string k;
  put_be64(k, book);
  return k;
}

void RawStore::put(MDB_txn* t, MDB_dbi db, std::string_view key, std::string_view val,
                   unsigned flags) {
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v{val.size(), const_cast<char*>(val.data())};
  lmdb_check(mdb_put(t, db, &k, &v, flags), "put");
  ++puts_;
}

double RawStore::puts_per_commit() const {
  return commit_ ? static_cast<double>(puts_ - setup_puts_) / static_cast<double>(commit_) : 0;
}

MDB_txn* RawStore::begin() {
  MDB_txn* t;
  lmdb_check(mdb_txn_begin(env_, nullptr, 0, &t), "begin");
  return t;
}

void RawStore::meta_and_commit(MDB_txn* t) {
  static const std::string v8(8, 'm'), v32(32, 'h'), v64(64, 'b');
  for (uint64_t book : dirty_books_) put(t, books_, book_key(book), v64);
  dirty_books_.clear();
  put(t, meta_, "last_seq", v8);
  put(t, meta_, "head_hash", v32);
  put(t, meta_, "next_account_id", v8);
  put(t, meta_, "next_book_id", v8);
  put(t, meta_, "closed_end_ns", v8);
  put(t, meta_, "last_commit_ns", v8);
  std::string ck;
  put_be64(ck, ++commit_);
  put(t, commits_, ck, v8);
  lmdb_check(mdb_txn_commit(t), "commit");
}

void RawStore::entry_puts(MDB_txn* t, const std::string& id, int postings) {
  static const std::string v48(48, 'p');
  const uint64_t s = ++seq_;
  for (int i = 0; i < postings; ++i) {
    uint64_t book = 1 + (s * static_cast<uint64_t>(postings) + static_cast<uint64_t>(i)) %
                            static_cast<uint64_t>(accounts_);
    std::string pk;
    pk.reserve(18);
    put_be64(pk, book);
    put_be64(pk, s);
    pk.push_back('\0');
    pk.push_back(static_cast<char>(i));
    put(t, postings_, pk, v48);
    dirty_books_.insert(book);
  }
  std::string ek;
  put_be64(ek, s);
  std::string rec(104 + id.size() + kind_.size() + 25 * static_cast<size_t>(postings), 'e');
  put(t, entries_, ek, rec, MDB_APPEND);
  put(t, ids_, id, v48, MDB_NOOVERWRITE);
}

void RawStore::sale_extra_puts(MDB_txn* t, const std::string& id, const std::string& seller,
                               const std::string& affiliate) {
  static const std::string v48(48, 'h'), sale(140, 's');
  for (const std::string* p : {&seller, &affiliate}) {
    std::string hk = "shop";
    hk += '\0', hk += *p, hk += '\0', hk += "EUR", hk += '\0', hk += id;
    put(t, holds_, hk, v48);
  }
  put(t, sales_, id, sale);
}

}  // namespace tally::bench
