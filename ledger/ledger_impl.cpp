// The ledger and its writer thread (contract in ledger/ledger.h; the commit protocol in
// docs/design.md, "The writer's commit protocol"), LevelDB's db_impl.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <thread>

#include "ledger/change_log.h"
#include "ledger/snapshot.h"
#include "ledger/store_map.h"
#include "ledger/write_txn.h"

namespace tally {

std::vector<ItemResult> Ledger::submit_and_wait(Batch batch) {
  std::promise<std::vector<ItemResult>> p;
  auto f = p.get_future();
  submit(std::move(batch), [&p](std::vector<ItemResult> r) { p.set_value(std::move(r)); });
  return f.get();
}

namespace {

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
    {
      std::lock_guard lk(held_mu_);
      held_stopping_ = true;
    }
    held_cv_.notify_all();
    if (releaser_.joinable()) releaser_.join();
    if (env_) mdb_env_close(env_);
    if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the directory's lock
  }

  Status init() {
    ::mkdir(opt_.dir.c_str(), 0755);
    struct stat st;
    if (::stat(opt_.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return Status::io_error("data directory " + opt_.dir + " cannot be created");
    if (Status l = lock_dir(); !l.ok()) return l;
    int rc = mdb_env_create(&env_);
    if (rc) return lmdb_status(rc, "mdb_env_create");
    mdb_env_set_maxdbs(env_, limits::tables_max);
    mdb_env_set_maxreaders(env_, opt_.readers_max);
    mdb_env_set_mapsize(env_, opt_.map_size_bytes);
    unsigned flags = MDB_NOTLS | (opt_.durable ? 0 : MDB_NOSYNC);
    rc = mdb_env_open(env_, opt_.dir.c_str(), flags, 0644);
    if (rc) return lmdb_status(rc, "opening the store in " + opt_.dir);
    map_.open_map(env_, opt_.map_size_bytes, opt_.map_size_max_bytes);

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
    if (!rc) rc = open_db("replog", &dbs_.replog);
    for (const auto& name : opt_.extra_tables) {
      if (rc) break;
      MDB_dbi dbi;
      rc = open_db(("x." + name).c_str(), &dbi);
      dbs_.extra[name] = dbi;
    }
    dbs_.replicated = {dbs_.meta, dbs_.accounts, dbs_.account_names, dbs_.books,     dbs_.entries,
                       dbs_.ids,  dbs_.postings, dbs_.commits,       dbs_.snapshots, dbs_.assets};
    for (const auto& [name, dbi] : dbs_.extra) dbs_.replicated.push_back(dbi);
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
    if (!rc) {
      try {
        last_txn_ = reader_.meta_u64(txn, kMetaTxn);
      } catch (const StoreError& e) {
        rc = e.rc;
      }
    }
    if (rc) {
      mdb_txn_abort(txn);
      return lmdb_status(rc, "meta");
    }
    rc = mdb_txn_commit(txn);
    if (rc) return lmdb_status(rc, "commit");
    writer_ = std::thread([this] { writer_loop(); });
    if (opt_.hold_until_replicated) releaser_ = std::thread([this] { releaser_loop(); });
    return Status::OK();
  }

  // One process writes a store: its writer keeps write-back caches of books and accounts that
  // a second writer would make stale. The lock is an flock on DIR/tally.lock, held while the
  // ledger is open and released by the kernel when the process dies (no stale lock after a
  // crash). The file holds the holder's pid, for the message.
  Status lock_dir() {
    const std::string path = opt_.dir + "/tally.lock";
    lock_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) return Status::io_error("cannot open " + path + ": " + std::strerror(errno));
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      char pid[32] = {};
      ssize_t n = ::pread(lock_fd_, pid, sizeof pid - 1, 0);
      std::string holder = n > 0 ? std::string(pid, static_cast<size_t>(n)) : "";
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
      ::close(lock_fd_);
      lock_fd_ = -1;
      if (err == EWOULDBLOCK)
        return Status::busy("data directory " + opt_.dir + " is in use by another tally process" +
                            (holder.empty() ? "" : " (pid " + holder + ")") +
                            ": stop it, or reach it with --connect");
      return Status::io_error("cannot lock " + path + ": " + std::strerror(err));
    }
    std::string me = std::to_string(::getpid()) + "\n";
    if (::ftruncate(lock_fd_, 0) != 0 ||
        ::pwrite(lock_fd_, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
      // The pid is only for the message; the lock holds without it.
    }
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
    space_cv_.wait(lk, [&] { return queued_items_ < limits::queued_items_max || queue_.empty(); });
    queued_items_ += weight;
    queue_.push_back({std::move(batch), std::move(done), weight, {}, {}});
    lk.unlock();
    cv_.notify_one();
  }

  std::unique_ptr<Snapshot> snapshot() override {  // throws StoreFailure (ledger.h)
    std::shared_lock lock = map_.read_lock();
    MDB_txn* txn;
    int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
    if (rc == MDB_READERS_FULL)
      throw StoreFailure(Status::busy("store: all " + std::to_string(opt_.readers_max) +
                                      " reader slots are taken; try again"));
    check(rc, "read transaction");
    return make_snapshot(txn, reader_, std::move(lock));
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
  StoreUsage usage() const override {
    StoreUsage u;
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(env_, &info) == MDB_SUCCESS && mdb_env_stat(env_, &st) == MDB_SUCCESS) {
      u.map_bytes = info.me_mapsize;
      u.used_bytes = (static_cast<uint64_t>(info.me_last_pgno) + 1) * st.ms_psize;
      // Slots held by a live read transaction: mdb_reader_list prints a header line, then one
      // line per such slot (or "(no active readers)").
      struct Count {
        uint64_t lines = 0;
        bool none = false;
      } count;
      mdb_reader_list(
          env_,
          [](const char* msg, void* ctx) {
            auto* c = static_cast<Count*>(ctx);
            ++c->lines;
            if (std::strncmp(msg, "(no active", 10) == 0) c->none = true;
            return 0;
          },
          &count);
      u.readers = count.none || count.lines == 0 ? 0 : count.lines - 1;
    }
    std::lock_guard lk(mu_);
    u.queued_items = queued_items_;
    return u;
  }

  uint64_t last_txn() const override { return last_txn_.load(); }

  Status replicate(std::vector<ChangeSet> sets) override {
    std::promise<Status> p;
    auto f = p.get_future();
    {
      std::unique_lock lk(mu_);
      Pending r;
      r.sets = std::move(sets);
      r.replicated = [&p](Status s) { p.set_value(std::move(s)); };
      queue_.push_back(std::move(r));
    }
    cv_.notify_one();
    return f.get();
  }

  Status copy_store(int fd) override {
    std::shared_lock lock = map_.read_lock();
    const int rc = mdb_env_copyfd2(env_, fd, MDB_CP_COMPACT);
    if (rc == MDB_SUCCESS) return Status::OK();
    if (rc == MDB_READERS_FULL)
      return Status::busy("store: all " + std::to_string(opt_.readers_max) +
                          " reader slots are taken; try again");
    return Status::io_error(std::string("copying the store: ") + mdb_strerror(rc));
  }
  void set_term(int64_t term) override {
    int64_t cur = term_.load();
    while (term > cur && !term_.compare_exchange_weak(cur, term)) {
    }
  }

  void release_through(uint64_t txn) override {
    {
      std::lock_guard lk(held_mu_);
      if (txn <= released_through_) return;
      released_through_ = txn;
    }
    held_cv_.notify_all();
  }

 private:
  struct Pending {
    Batch batch;
    Done done;
    size_t weight = 0;  // sum of its ops' weight()
    // Or a standby's change sets (replicate()), applied alone in their own transaction.
    std::vector<ChangeSet> sets;
    std::function<void(Status)> replicated;
  };
  // A synchronous leader's committed results, waiting for a standby (hold_until_replicated).
  struct Held {
    uint64_t txn;
    std::vector<Pending> group;
    std::vector<std::vector<ItemResult>> results;
    bool released = false;  // a standby has it (set when taken off held_)
  };

  void writer_loop() {
    for (;;) {
      std::vector<Pending> group;
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        if (queue_.front().replicated) {
          Pending r = std::move(queue_.front());
          queue_.pop_front();
          lk.unlock();
          r.replicated(run_replicated(r.sets));
          continue;
        }
        size_t items = 0;
        while (!queue_.empty() && !queue_.front().replicated &&
               (group.empty() || items + queue_.front().weight <= opt_.group_items_max)) {
          items += queue_.front().weight;
          group.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        queued_items_ -= items;
      }
      space_cv_.notify_all();
      const auto taken = std::chrono::steady_clock::now();
      last_fsync_ns_ = -1;
      auto results = run_group(group);
      if (opt_.on_commit && last_fsync_ns_ >= 0) {  // the group committed
        CommitTiming t;
        for (const auto& p : group) t.items += p.weight;
        t.group_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now() - taken)
                         .count();
        t.fsync_ns = last_fsync_ns_;
        opt_.on_commit(t);
      }
      if (opt_.hold_until_replicated && last_fsync_ns_ >= 0) {
        {
          std::lock_guard lk(held_mu_);
          held_.push_back(Held{last_txn_.load(), std::move(group), std::move(results), false});
        }
        held_cv_.notify_all();
        continue;
      }
      if (last_fsync_ns_ >= 0) fence(results);
      for (size_t i = 0; i < group.size(); ++i) group[i].done(std::move(results[i]));
    }
  }

  // A committed group's results when this server may no longer acknowledge (may_acknowledge):
  // each ok item answers not_leader; it is committed here, and a retry by id on the leader is
  // safe either way.
  void fence(std::vector<std::vector<ItemResult>>& results) const {
    if (!opt_.may_acknowledge || opt_.may_acknowledge()) return;
    for (auto& batch : results)
      for (auto& r : batch)
        if (r.ok())
          r = ItemResult::error(reject(Code::not_leader,
                                       "this server lost its leadership before acknowledging; "
                                       "retry with the same id on the leader"),
                                r.id);
  }

  // Hands a synchronous leader's held results to their callers once release_through() passed
  // their transaction. At close, results still held are not acknowledged: the items are
  // committed here but no standby is known to have them, so they answer `interrupted` (a retry
  // with the same ids answers duplicate wherever they are).
  void releaser_loop() {
    for (;;) {
      std::vector<Held> ready;
      bool stop;
      {
        std::unique_lock lk(held_mu_);
        held_cv_.wait(lk, [&] {
          return held_stopping_ || (!held_.empty() && held_.front().txn <= released_through_);
        });
        while (!held_.empty() && (held_stopping_ || held_.front().txn <= released_through_)) {
          held_.front().released = held_.front().txn <= released_through_;
          ready.push_back(std::move(held_.front()));
          held_.pop_front();
        }
        stop = held_stopping_;
      }
      for (Held& h : ready) {
        if (h.released) fence(h.results);
        for (size_t i = 0; i < h.group.size(); ++i) {
          if (!h.released)
            for (auto& r : h.results[i])
              if (r.ok())
                r = ItemResult::error(
                    reject(Code::interrupted,
                           "committed on this server, which stopped before a standby confirmed it; "
                           "retry with the same id"));
          h.group[i].done(std::move(h.results[i]));
        }
      }
      if (stop) return;
    }
  }

  // A standby's change sets in one transaction (replicate()).
  Status run_replicated(const std::vector<ChangeSet>& sets) {
    for (;;) {
      MDB_txn* txn = nullptr;
      int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
      if (rc != MDB_SUCCESS) return lmdb_status(rc, "begin");
      try {
        for (const ChangeSet& s : sets) {
          Status st = apply_change_set(txn, reader_, s, opt_.replog_txns_kept);
          if (!st.ok()) {
            mdb_txn_abort(txn);
            return st;
          }
        }
        const uint64_t txn_no = reader_.meta_u64(txn, kMetaTxn);
        rc = mdb_txn_commit(txn);
        if (rc != MDB_SUCCESS) return lmdb_status(rc, "commit");
        if (!sets.empty()) last_txn_.store(txn_no);
        commits_.fetch_add(1);
        return Status::OK();
      } catch (const StoreError& e) {
        mdb_txn_abort(txn);
        if (e.rc == MDB_MAP_FULL && map_.grow(env_, opt_.map_size_max_bytes)) continue;
        return lmdb_status(e.rc, e.where);
      }
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
        auto wt = make_writer_txn(
            txn, reader_, std::max(now, last + 1),
            ReplogOptions{opt_.replication_log, opt_.replog_txns_kept, term_.load()});
        for (size_t b = 0; b < group.size(); ++b) apply_batch(*wt, group[b].batch, results[b]);
        wt->write_meta();
        committed = true;  // mdb_txn_commit frees the txn whatever it returns
        const auto fsync_start = std::chrono::steady_clock::now();
        check(mdb_txn_commit(txn), "commit");
        last_fsync_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::steady_clock::now() - fsync_start)
                             .count();
        commits_.fetch_add(1);
        last_txn_.fetch_add(1);
        return results;
      } catch (const StoreError& e) {
        if (!committed) mdb_txn_abort(txn);
        if (e.rc == MDB_MAP_FULL && map_.grow(env_, opt_.map_size_max_bytes)) continue;
        if (e.rc == EIO && disk_full())
          return fail_group(group, Status::store_full(e.where +
                                                      ": no space left on the data directory's "
                                                      "filesystem (LMDB: " +
                                                      mdb_strerror(e.rc) + ")"));
        return fail_group(group, e.rc, e.where);
      } catch (const StoreFailure& e) {  // e.g. a higher layer's record did not decode
        if (!committed) mdb_txn_abort(txn);
        return fail_group(group, e.status);
      }
    }
  }

  // The batch's chains (ledger/batch.h) in order: an item alone is applied as it is; a chain of
  // several inside a savepoint (an LMDB nested transaction), so that a failure undoes the chain's
  // earlier items; a chain left open at the batch's end is not applied.
  void apply_batch(WriterTxn& wt, Batch& batch, std::vector<ItemResult>& out) {
    out.resize(batch.size());
    std::unique_ptr<bool[]> linked(new bool[batch.size()]);
    for (size_t i = 0; i < batch.size(); ++i) linked[i] = batch[i]->linked;
    const std::span<const bool> flags(linked.get(), batch.size());
    const std::vector<Chain> chains = linked_chains(flags);
    for (size_t c = 0; c < chains.size(); ++c) {
      const auto [first, last] = chains[c];
      if (c + 1 == chains.size() && chain_open(flags)) {
        for (size_t k = first; k < last; ++k)
          out[k] =
              linked_failed_result("item " + std::to_string(last), Code::linked_chain_open, {});
        out[last] = chain_open_result({});
        break;
      }
      if (first == last) {
        out[first] = batch[first]->apply(wt);
        continue;
      }
      wt.begin_savepoint();
      size_t failed = SIZE_MAX;
      for (size_t k = first; k <= last && failed == SIZE_MAX; ++k) {
        out[k] = batch[k]->apply(wt);
        if (!out[k].ok()) failed = k;
      }
      wt.end_savepoint(failed == SIZE_MAX);
      if (failed == SIZE_MAX) continue;
      for (size_t k = first; k <= last; ++k)
        if (k != failed)
          out[k] =
              linked_failed_result("item " + std::to_string(failed), out[failed].code, out[k].id);
    }
  }

  std::vector<std::vector<ItemResult>> fail_group(std::vector<Pending>& group, int rc,
                                                  const std::string& where) {
    return fail_group(group, lmdb_status(rc, where));
  }
  std::vector<std::vector<ItemResult>> fail_group(std::vector<Pending>& group, const Status& s) {
    Code code = s.kind() == Status::Kind::store_full ? Code::store_full : Code::internal;
    Rejection why = reject(code, "store: " + s.message() + "; nothing of this batch was committed");
    std::vector<std::vector<ItemResult>> results(group.size());
    for (size_t b = 0; b < group.size(); ++b)
      for (size_t i = 0; i < group[b].batch.size(); ++i)
        results[b].push_back(ItemResult::error(why));
    return results;
  }

  // True when the data directory's filesystem has less than limits::disk_free_bytes_full free
  // (for this process's user): LMDB turns a write cut short by a full disk into EIO.
  bool disk_full() const {
    struct statvfs fs {};
    if (::statvfs(opt_.dir.c_str(), &fs) != 0) return false;
    return uint64_t(fs.f_bavail) * uint64_t(fs.f_frsize) < limits::disk_free_bytes_full;
  }

  LedgerOptions opt_;
  CurrencyTable builtins_;
  Dbs dbs_{};
  TxnReader reader_;
  MDB_env* env_ = nullptr;
  int lock_fd_ = -1;  // flock on DIR/tally.lock while open
  StoreMap map_;      // its size, growth and readers' lock

  mutable std::mutex mu_;
  std::condition_variable cv_, space_cv_;
  int64_t last_fsync_ns_ = -1;  // the writer's last mdb_txn_commit; -1: the group failed
  std::deque<Pending> queue_;
  size_t queued_items_ = 0;
  bool stopping_ = false;
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> last_txn_{0};  // meta last_txn as committed
  std::atomic<int64_t> term_{0};       // set_term
  std::thread writer_;

  std::mutex held_mu_;
  std::condition_variable held_cv_;
  std::deque<Held> held_;  // in txn order
  uint64_t released_through_ = 0;
  bool held_stopping_ = false;
  std::thread releaser_;  // only with hold_until_replicated
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
