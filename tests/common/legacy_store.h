// Test only: makes a store look as if it had been written before tally recorded open times.
// Production code has no way to write a book's open time as 0; this edits the store file directly
// (with the store closed), as an old version of tally left it: every book's `opened_ns` is 0, the
// bytes that were reserved and always zero then (ledger/store_records.h).
#pragma once

#include <gtest/gtest.h>
#include <lmdb.h>

#include <cstring>
#include <string>
#include <vector>

#include "ledger/store_records.h"

namespace tally::testing {

// Zeroes the open time of every book in the store at `dir` (no Ledger may have it open). Returns
// how many books it changed.
inline size_t forget_open_times(const std::string& dir) {
  MDB_env* env = nullptr;
  EXPECT_EQ(mdb_env_create(&env), 0);
  mdb_env_set_maxdbs(env, 64);
  EXPECT_EQ(mdb_env_open(env, dir.c_str(), 0, 0644), 0) << dir;
  MDB_txn* txn = nullptr;
  EXPECT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi books;
  EXPECT_EQ(mdb_dbi_open(txn, "books", 0, &books), 0);
  std::vector<std::pair<std::string, store::BookRecord>> rows;
  MDB_cursor* c = nullptr;
  EXPECT_EQ(mdb_cursor_open(txn, books, &c), 0);
  MDB_val k, v;
  for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    store::BookRecord b;
    EXPECT_TRUE(store::pod_read(store::to_sv(v), b));
    b.opened_ns = 0;
    rows.emplace_back(std::string(store::to_sv(k)), b);
  }
  mdb_cursor_close(c);
  for (auto& [key, b] : rows) {
    MDB_val kv = store::to_val(key);
    MDB_val vv{sizeof b, &b};
    EXPECT_EQ(mdb_put(txn, books, &kv, &vv, 0), 0);
  }
  EXPECT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
  return rows.size();
}

}  // namespace tally::testing
