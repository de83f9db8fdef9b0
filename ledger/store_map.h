// The store's map: LMDB's address-space window onto the data file, its size, its growth, and
// the lock that keeps a growth from moving the map under a reader (docs/design.md, "The store").
//
// LMDB resizes the map only with no transaction open in the process. Readers take the shared
// side of a lock (read_lock) for as long as they read; a growth takes the exclusive side,
// waiting at most limits::map_grow_wait_ms for readers to leave. The lock itself prefers
// readers, so a growth that is waiting raises a flag that makes new readers wait behind it, for
// at most half that time.
//
// Thread safety: read_lock may be called from any thread; open_map and grow from one thread at a
// time (the ledger's opener, then its writer), with no write transaction open.
#pragma once

#include <lmdb.h>

#include <atomic>
#include <cstddef>
#include <mutex>
#include <shared_mutex>

namespace tally {

class StoreMap {
 public:
  // After mdb_env_open: `asked_bytes` of room on top of what the store holds (an existing store
  // larger than the map asked for would otherwise open with a map of exactly its size: full, so
  // its first write would have to grow it, and a reader held from the start, such as the server's
  // verify at start, would keep it from growing), at most `max_bytes`. Nothing is open yet, so
  // the resize cannot wait.
  void open_map(MDB_env* env, size_t asked_bytes, size_t max_bytes);

  // Doubles the map, at most to `max_bytes`, once the readers open now have left: false when it
  // is already that large, when a reader stays past limits::map_grow_wait_ms, or when LMDB
  // refuses (the caller then fails the batch with store_full).
  bool grow(MDB_env* env, size_t max_bytes);

  // The shared side, for a read transaction's whole life: the map does not move under it.
  std::shared_lock<std::shared_timed_mutex> read_lock();

 private:
  size_t size_bytes_ = 0;       // the map now (set by the opener, then the writer)
  std::shared_timed_mutex mu_;  // readers shared; growth exclusive
  std::timed_mutex gate_;       // held by a growth while it waits for readers to leave
  std::atomic<bool> waiting_{false};
};

}  // namespace tally
