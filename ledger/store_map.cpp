#include "ledger/store_map.h"

#include <algorithm>
#include <chrono>

#include "ledger/limits.h"

namespace tally {

void StoreMap::open_map(MDB_env* env, size_t asked_bytes, size_t max_bytes) {
  MDB_envinfo info;
  mdb_env_info(env, &info);
  size_bytes_ = info.me_mapsize;  // an existing store may be larger than asked
  MDB_stat st;
  mdb_env_stat(env, &st);
  const size_t used_bytes = (info.me_last_pgno + 1) * size_t(st.ms_psize);
  if (size_bytes_ < used_bytes + asked_bytes && size_bytes_ < max_bytes) {
    const size_t want = std::min(used_bytes + asked_bytes, max_bytes);
    if (mdb_env_set_mapsize(env, want) == MDB_SUCCESS) size_bytes_ = want;
  }
}

bool StoreMap::grow(MDB_env* env, size_t max_bytes) {
  if (size_bytes_ >= max_bytes) return false;
  std::lock_guard gate(gate_);
  waiting_.store(true, std::memory_order_release);
  std::unique_lock lock(mu_, std::defer_lock);
  const bool locked = lock.try_lock_for(std::chrono::milliseconds(limits::map_grow_wait_ms));
  waiting_.store(false, std::memory_order_release);
  if (!locked) return false;
  const size_t next = std::min(size_bytes_ * 2, max_bytes);
  if (mdb_env_set_mapsize(env, next) != MDB_SUCCESS) return false;
  size_bytes_ = next;
  return true;
}

// A reader waits at most half the growth's own wait: one that waits behind a growth which in
// turn waits for a reader of the same work (a planning thread's snapshot, held until its
// sibling's comes) goes ahead, and the growth gets its moment when that work is done.
std::shared_lock<std::shared_timed_mutex> StoreMap::read_lock() {
  if (waiting_.load(std::memory_order_acquire) &&
      gate_.try_lock_for(std::chrono::milliseconds(limits::map_grow_wait_ms / 2)))
    gate_.unlock();
  return std::shared_lock(mu_);
}

}  // namespace tally
