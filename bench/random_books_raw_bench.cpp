// random_books_raw_bench: `tally benchmark`'s workload (TigerBeetle's: two-posting entries between
// random accounts, batches of 8,189, one commit and its fsync per batch) as plain LMDB puts, to
// tell how much of tally's rate the store layout allows before tally does any work of its own.
//
// Per entry it makes the puts tally's writer makes (ledger/write_txn.cpp apply_entry): one
// posting row per posting (48 bytes), the entry record (the size encode_entry gives for the
// benchmark's entries), the id (16 hex digits, sequential, MDB_NOOVERWRITE); per commit each
// touched book row once in book order (64 bytes), the 6 meta records and a commits row. No reads,
// no validation, no hashing, no encoding. Default LMDB sync (two fsyncs per commit, as tally).
//
// --layout picks the postings key:
//   book  (book, seq, index): tally's, one B-tree seek per as-of balance; a posting lands after
//         its book's last one, so a batch dirties a leaf page per book it touches;
//   seq   (seq, index), appended (MDB_APPEND): what an append-only posting log would cost; it
//         cannot answer an as-of balance in one seek (SPEC section 6), so it is a ceiling, not a
//         design on offer.
// --sorted puts a commit's posting rows in key order at its end instead of entry by entry.
//
// Usage: random_books_raw_bench [--layout book|seq] [--sorted] [--accounts N] [--entries M]
//                               [--batch B] [--seed S] [--data DIR]
// Prints entries/s, seconds in commits, the store's size and the bytes the kernel counted as
// written (/proc/self/io write_bytes: page-cache accounting, see docs/performance.md).
//
// Errors: any failure ends the process with exit 1 and a message (a benchmark has no caller).
#include <lmdb.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "random_books_raw_bench: %s\n", what.c_str());
  std::exit(1);
}

void check(int rc, const char* what) {
  if (rc != MDB_SUCCESS) die(std::string(what) + ": " + mdb_strerror(rc));
}

void put_be64(std::string& k, uint64_t v) {
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>(v >> (8 * i)));
}

std::string be64(uint64_t v) {
  std::string k;
  put_be64(k, v);
  return k;
}

void put(MDB_txn* t, MDB_dbi db, const std::string& key, const std::string& val,
         unsigned flags = 0) {
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v{val.size(), const_cast<char*>(val.data())};
  check(mdb_put(t, db, &k, &v, flags), "mdb_put");
}

uint64_t kernel_write_bytes() {
  std::ifstream io("/proc/self/io");
  std::string k;
  uint64_t v = 0;
  while (io >> k >> v)
    if (k == "write_bytes:") return v;
  return 0;
}

struct Options {
  std::string layout = "book";
  bool sorted = false;
  uint64_t accounts = 10000, entries = 1000000, batch = 8189, seed = 42;
  std::string data;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    auto number = [&]() -> uint64_t {
      std::string v = value();
      char* end = nullptr;
      uint64_t n = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end || n == 0) die(a + ": a positive integer, not \"" + v + "\"");
      return n;
    };
    if (a == "--layout") {
      o.layout = value();
      if (o.layout != "book" && o.layout != "seq") die("--layout: book or seq");
    } else if (a == "--sorted") {
      o.sorted = true;
    } else if (a == "--accounts") {
      o.accounts = number();
    } else if (a == "--entries") {
      o.entries = number();
    } else if (a == "--batch") {
      o.batch = number();
    } else if (a == "--seed") {
      o.seed = number();
    } else if (a == "--data") {
      o.data = value();
    } else {
      die("unknown option " + a);
    }
  }
  if (o.accounts < 2) die("--accounts: at least 2");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const std::string dir =
      o.data.empty() ? (std::filesystem::temp_directory_path() / "tally-raw-books").string()
                     : o.data;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  MDB_env* env;
  check(mdb_env_create(&env), "mdb_env_create");
  mdb_env_set_maxdbs(env, 8);
  check(mdb_env_set_mapsize(env, size_t(64) << 30), "mdb_env_set_mapsize");
  check(mdb_env_open(env, dir.c_str(), MDB_NOTLS, 0644), "mdb_env_open");
  MDB_txn* t;
  check(mdb_txn_begin(env, nullptr, 0, &t), "begin");
  MDB_dbi meta, entries, ids, postings, books, commits;
  for (auto [name, dbi] : {std::pair{"meta", &meta},
                           {"entries", &entries},
                           {"ids", &ids},
                           {"postings", &postings},
                           {"books", &books},
                           {"commits", &commits}})
    check(mdb_dbi_open(t, name, MDB_CREATE, dbi), "mdb_dbi_open");
  const std::string v8(8, 'm'), v32(32, 'h'), v48(48, 'p'), v64(64, 'b');
  for (uint64_t b = 1; b <= o.accounts; ++b) put(t, books, be64(b), v64);
  check(mdb_txn_commit(t), "commit");

  // The benchmark's entry record: 104 bytes + id (16) + kind ("transfer") + 25 per posting.
  const std::string record(104 + 16 + 8 + 2 * 25, 'e');
  std::mt19937_64 rng(o.seed);
  std::vector<std::pair<std::string, uint64_t>> rows;  // a commit's posting keys, when --sorted
  std::set<uint64_t> touched;
  const uint64_t written_before = kernel_write_bytes();
  double commit_s = 0;
  const auto start = std::chrono::steady_clock::now();
  uint64_t seq = 0, commit_no = 0;
  while (seq < o.entries) {
    check(mdb_txn_begin(env, nullptr, 0, &t), "begin");
    const uint64_t n = std::min(o.batch, o.entries - seq);
    for (uint64_t i = 0; i < n; ++i) {
      ++seq;
      const uint64_t debit = 1 + rng() % o.accounts;
      uint64_t credit = 1 + rng() % (o.accounts - 1);
      if (credit >= debit) ++credit;
      rng();  // the amount's draw, as the benchmark makes it
      const uint64_t book_of[2] = {debit, credit};
      for (uint16_t p = 0; p < 2; ++p) {
        std::string key;
        key.reserve(18);
        if (o.layout == "book") put_be64(key, book_of[p]);
        put_be64(key, seq);
        key.push_back('\0');
        key.push_back(static_cast<char>(p));
        touched.insert(book_of[p]);
        if (o.sorted)
          rows.emplace_back(std::move(key), 0);
        else
          put(t, postings, key, v48, o.layout == "seq" ? MDB_APPEND : 0);
      }
      put(t, entries, be64(seq), record, MDB_APPEND);
      char id[24];
      std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(seq));
      put(t, ids, id, v48, MDB_NOOVERWRITE);
    }
    if (o.sorted) {
      std::sort(rows.begin(), rows.end());
      for (const auto& r : rows) put(t, postings, r.first, v48, o.layout == "seq" ? MDB_APPEND : 0);
      rows.clear();
    }
    for (uint64_t b : touched) put(t, books, be64(b), v64);
    touched.clear();
    for (const char* k : {"last_seq", "next_account_id", "next_book_id", "closed_end_ns",
                          "last_commit_ns", "last_txn"})
      put(t, meta, k, v8);
    put(t, meta, "head_hash", v32);
    put(t, commits, be64(++commit_no), v8);
    const auto c0 = std::chrono::steady_clock::now();
    check(mdb_txn_commit(t), "commit");
    commit_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const uint64_t written = kernel_write_bytes() - written_before;
  mdb_env_close(env);
  const auto size = std::filesystem::file_size(std::filesystem::path(dir) / "data.mdb");
  std::printf("layout = %s%s, %llu accounts, %llu entries, batches of %llu\n", o.layout.c_str(),
              o.sorted ? " (sorted puts)" : "", static_cast<unsigned long long>(o.accounts),
              static_cast<unsigned long long>(o.entries), static_cast<unsigned long long>(o.batch));
  std::printf("load accepted = %.0f entries/s (%llu commits in %.2f s, %.2f s in mdb_txn_commit)\n",
              static_cast<double>(o.entries) / s, static_cast<unsigned long long>(commit_no), s,
              commit_s);
  std::printf("store = %.1f MiB, kernel-counted writes = %.0f bytes per entry\n",
              static_cast<double>(size) / (1 << 20),
              static_cast<double>(written) / static_cast<double>(o.entries));
  if (o.data.empty()) std::filesystem::remove_all(dir);
  return 0;
}
