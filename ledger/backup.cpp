// Online backup (contract in ledger/backup.h).
#include "ledger/backup.h"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger/limits.h"
#include "ledger/txn_reader.h"

namespace tally {

namespace {

// Map-resized retries: a writer in another process may grow the map while we copy.
constexpr int kMapResizedRetriesMax = 8;

struct Env {
  MDB_env* env = nullptr;
  ~Env() {
    if (env) mdb_env_close(env);
  }
};

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Status fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::io_error("cannot open " + path + " to sync it");
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::io_error("cannot sync " + path);
  return Status::OK();
}

}  // namespace

Status read_journal_head(const std::string& dir, JournalHead* head) {
  Env e;
  int rc = mdb_env_create(&e.env);
  if (rc) return lmdb_status(rc, "mdb_env_create");
  mdb_env_set_maxdbs(e.env, limits::tables_max);
  rc = mdb_env_open(e.env, dir.c_str(), MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS, 0644);
  if (rc) return lmdb_status(rc, "opening the store in " + dir);
  MDB_txn* txn = nullptr;
  rc = mdb_txn_begin(e.env, nullptr, MDB_RDONLY, &txn);
  if (rc) return lmdb_status(rc, "read transaction on " + dir);
  Dbs dbs{};
  rc = mdb_dbi_open(txn, "meta", 0, &dbs.meta);
  if (rc) {
    mdb_txn_abort(txn);
    return rc == MDB_NOTFOUND ? Status::corruption("no tally store in " + dir)
                              : lmdb_status(rc, "meta table of " + dir);
  }
  CurrencyTable builtins;
  TxnReader rd(dbs, builtins);
  try {
    head->seq = rd.meta_u64(txn, kMetaLastSeq);
    head->hash = rd.meta_head(txn);
    head->commit_ns = rd.meta_i64(txn, kMetaLastCommit, 0);
  } catch (const StoreError& err) {
    mdb_txn_abort(txn);
    return lmdb_status(err.rc, err.where + " of " + dir);
  }
  mdb_txn_abort(txn);
  return Status::OK();
}

Status backup_store(const std::string& data_dir, const std::string& dest_dir, JournalHead* head) {
  if (!exists(data_dir + "/data.mdb")) return Status::io_error("no store in " + data_dir);
  ::mkdir(dest_dir.c_str(), 0755);
  struct stat st;
  if (::stat(dest_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status::io_error("backup directory " + dest_dir + " cannot be created");
  if (exists(dest_dir + "/data.mdb"))
    return Status::io_error(dest_dir +
                            " already holds a store (data.mdb); give an empty "
                            "directory");
  Env e;
  int rc = mdb_env_create(&e.env);
  if (rc) return lmdb_status(rc, "mdb_env_create");
  mdb_env_set_maxdbs(e.env, limits::tables_max);
  // Read-only, sharing the live store's lock file: our read transaction is a reader like any.
  rc = mdb_env_open(e.env, data_dir.c_str(), MDB_RDONLY | MDB_NOTLS, 0644);
  if (rc) return lmdb_status(rc, "opening the store in " + data_dir);
  for (int attempt = 0;; ++attempt) {
    rc = mdb_env_copy2(e.env, dest_dir.c_str(), MDB_CP_COMPACT);
    if (rc != MDB_MAP_RESIZED || attempt >= kMapResizedRetriesMax) break;
    ::unlink((dest_dir + "/data.mdb").c_str());
    mdb_env_set_mapsize(e.env, 0);  // adopt the size the writer grew the map to
  }
  if (rc) {
    ::unlink((dest_dir + "/data.mdb").c_str());
    return lmdb_status(rc, "copying " + data_dir + " to " + dest_dir);
  }
  Status s = fsync_path(dest_dir + "/data.mdb");
  if (s.ok()) s = fsync_path(dest_dir);
  if (!s.ok()) return s;
  return read_journal_head(dest_dir, head);
}

}  // namespace tally
