// The ledger: an LMDB store in a data directory, one writer thread with group commit, and
// read snapshots that never block the writer (SPEC section 2; layout in docs/design.md).
//
// Writing: callers build a Batch of WriteOps (open an account, post an entry, or an op of a
// higher layer such as a marketplace event) and submit it. The writer thread takes every batch
// waiting, applies all of them in one LMDB write transaction, commits once (fsync), and only then
// reports each item's result. Items `linked` to the next commit or fail together.
//
// Reading: snapshot() opens an LMDB read transaction: a consistent view as of the last commit.
//
// Thread safety: Ledger's public methods may be called from any thread concurrently. A Snapshot
// belongs to one thread at a time. WriteTxn exists only on the writer thread, inside
// WriteOp::apply.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/batch.h"
#include "ledger/entry.h"
#include "ledger/limits.h"
#include "ledger/money.h"
#include "ledger/replication.h"
#include "ledger/status.h"
#include "ledger/time.h"

namespace tally {

inline constexpr uint32_t kSchemaVersion = 1;

// One commit group's timing, reported to LedgerOptions::on_commit (metrics).
struct CommitTiming {
  uint64_t items = 0;    // the group's items (WriteOp::weight)
  int64_t group_ns = 0;  // taken off the queue to durable (steady clock)
  int64_t fsync_ns = 0;  // mdb_txn_commit alone (LMDB's fsyncs)
};

// What the store holds and uses (metrics). Read without a transaction.
struct StoreUsage {
  uint64_t map_bytes = 0;     // the map's size (address space)
  uint64_t used_bytes = 0;    // pages in use (last page number + 1) * page size
  uint64_t readers = 0;       // reader slots held by a live read transaction (any process)
  uint64_t queued_items = 0;  // items submitted and not yet taken by the writer
};

struct LedgerOptions {
  std::string dir;  // created if missing
  // The map at open (address space, not disk): this much on top of what an existing store has.
  size_t map_size_bytes = limits::map_bytes_initial;
  size_t map_size_max_bytes = limits::map_bytes_max;  // growth stops here: store_full
  size_t batch_items_max = limits::batch_items_max;   // per submitted batch; more: batch_too_large
  size_t group_items_max = limits::group_items_max;   // items (WriteOp::weight) per transaction
  unsigned readers_max = limits::readers_max;         // snapshots open at once; more: busy
  std::vector<std::string> extra_tables;              // named tables for higher layers
  Clock clock = system_now_ns;                        // commit times (injectable for tests)
  bool durable = true;  // fsync every commit. false (MDB_NOSYNC) only for benchmarks that say so.
  // Called on the writer thread after each durable commit group; must be quick and not throw.
  std::function<void(const CommitTiming&)> on_commit;
  // Replication (ledger/replication.h). replication_log: each transaction also stores its
  // changes in the replog table, which keeps the last replog_txns_kept of them.
  bool replication_log = false;
  uint64_t replog_txns_kept = limits::replog_txns_kept;
  // A synchronous leader: a committed group's results are held until release_through() passes
  // its transaction (a standby has it durably). Needs replication_log.
  bool hold_until_replicated = false;
  // Asked (any thread, must be quick) right before committed results go out: false (a leader
  // whose lease is not certainly alive) answers them not_leader instead, committed here but not
  // acknowledged. Empty: always true.
  std::function<bool()> may_acknowledge;
};

// --- results ------------------------------------------------------------------------------

struct IdRecord {
  uint64_t seq = 0;
  TimeNs commit_ns = 0;
  Digest digest{};  // digest of the request that used the id
};

struct Committed {
  uint64_t seq = 0;
  TimeNs commit_ns = 0;
};

using TableId = unsigned int;

class WriteTxn;
class Snapshot;

// Read access to the tables of higher layers (LedgerOptions::extra_tables), in a read snapshot or
// inside the writer's transaction: a higher layer's readers take this and work in both.
class TableReader {
 public:
  virtual ~TableReader() = default;
  virtual std::optional<std::string> get(TableId table, std::string_view key) = 0;
  // Visits keys >= `from` in order while visit returns true; the views live for the call only.
  virtual void scan(
      TableId table, std::string_view from,
      const std::function<bool(std::string_view key, std::string_view value)>& visit) = 0;
};

// One item of a batch. apply() runs on the writer thread inside the write transaction.
// Contract: run every rejection check before changing anything; on rejection return an error
// result having changed nothing; otherwise apply completely. apply() may run more than once for
// the same op (the writer retries a group after growing a full map), so it must not consume the
// op's own state. It must not catch exceptions (store failures unwind to the writer).
class WriteOp {
 public:
  virtual ~WriteOp() = default;
  virtual ItemResult apply(WriteTxn& txn) = 0;
  // How many ordinary items this op's writes are worth, for group_items_max and the queue's
  // back-pressure: 1 for an entry or an event; a settlement chunk counts its payees.
  virtual size_t weight() const { return 1; }
  bool linked = false;  // this item and the next commit or fail together
};

using Batch = std::vector<std::unique_ptr<WriteOp>>;

// Built-in ops.
// Opens `account`, or, when it exists with the same kind and no_overdraft flag, adds currencies
// it lacks (ok). A different kind or flag: account_exists. Opening a closed account:
// account_closed.
std::unique_ptr<WriteOp> make_open_account(Account account);
// Posts an entry (validated in full; duplicate / id_conflict by id and content).
std::unique_ptr<WriteOp> make_post_entry(Entry entry);
// Closes an account: no new postings. Idempotent.
std::unique_ptr<WriteOp> make_close_account(std::string name);
// Closes the period through `end_exclusive` (start of the day after the closed date, UTC):
// snapshots every balance by business time and refuses later entries dated before it.
std::unique_ptr<WriteOp> make_close_period(TimeNs end_exclusive);
// Declares an asset (code, exponent); persisted. Re-declaring identically is ok.
std::unique_ptr<WriteOp> make_declare_asset(std::string code, int exponent);

// A prepared entry: validated against the books, ready to apply without further failure.
struct PreparedEntry {
  Entry entry;
  Digest request_digest{};
  struct Book {
    uint64_t book_id;
    AccountKind kind;
    i128 delta;  // on the account's normal side
  };
  std::vector<Book> books;  // one per posting, in posting order
};

// --- the writer's transaction ---------------------------------------------------------------

class WriteTxn : public TableReader {
 public:
  // The commit time every entry of this transaction gets.
  virtual TimeNs commit_ns() const = 0;

  virtual std::optional<Account> account(std::string_view name) = 0;
  virtual std::optional<Currency> currency(std::string_view code) = 0;
  // Current normal-side balance, including this transaction's earlier items. Zero for an
  // account or currency never posted to.
  virtual Amount balance(std::string_view account, const Currency& c) = 0;
  virtual std::optional<IdRecord> find_id(std::string_view id) = 0;

  // Idempotency: nullopt when `id` is new; otherwise the result to report (duplicate when the
  // recorded digest equals `digest`, else an id_conflict error).
  std::optional<ItemResult> check_id(std::string_view id, const Digest& digest);

  // Every check on an entry: its shape, that every account exists, is open and holds the
  // currency, no no_overdraft balance goes below zero (counting postings earlier in the entry,
  // batch and transaction), not inside a closed period, no balance overflows.
  virtual Result<PreparedEntry> prepare_entry(Entry entry, const Digest& request_digest) = 0;
  // Applies a prepared entry: journal record, hash chain, postings with running balances, the
  // id index. Cannot be rejected.
  virtual Committed apply_entry(const PreparedEntry& prepared) = 0;

  // Opens (or extends) an account inside this transaction; same rules as make_open_account.
  // true when something changed. The next three likewise, with the rules of the built-in op of
  // the same name (below).
  virtual Result<bool> open_account(const Account& account) = 0;
  virtual Result<bool> close_account(std::string_view name) = 0;
  virtual Result<bool> close_period(TimeNs end_exclusive) = 0;
  virtual Result<bool> declare_asset(std::string_view code, int exponent) = 0;

  // Savepoints (LMDB nested transactions) for an op that must write before its last check can
  // run (e.g. open accounts, then prepare an entry on them): begin_savepoint(), then
  // end_savepoint(true) to keep what was written or end_savepoint(false) to undo it. They nest.
  virtual void begin_savepoint() = 0;
  virtual void end_savepoint(bool keep) = 0;

  // Generic tables for higher layers (get and scan: TableReader; a scanned range must not be
  // modified during the visit). Keys at most 511 bytes (LMDB's limit).
  virtual void put(TableId table, std::string_view key, std::string_view value) = 0;
  virtual void del(TableId table, std::string_view key) = 0;
  // Visits keys >= `from` in order until `decide` returns Sweep::stop (or the table ends),
  // deleting each row for which it returns Sweep::erase. The deletion goes through the visiting
  // cursor, so a range emptied row by row costs one search, not one per row. Returns the number
  // of rows deleted. `decide` must not touch the table itself.
  enum class Sweep { keep, erase, stop };
  virtual uint64_t sweep(
      TableId table, std::string_view from,
      const std::function<Sweep(std::string_view key, std::string_view value)>& decide) = 0;
};

// --- reading --------------------------------------------------------------------------------

struct BalanceRow {
  std::string account;
  Currency currency;
  Amount balance;
};
struct CurrencyTotal {
  Currency currency;
  Amount balance;
  // The sum of balances that each fit 128 bits may not: then `balance` is zero and this is set
  // (only reachable with balances near 10^38 minor units, but outside input may get there).
  bool overflow = false;
};
struct Balances {
  std::vector<BalanceRow> accounts;   // name order, then currency order
  std::vector<CurrencyTotal> totals;  // per currency, code order (sum of normal-side balances)
};
struct TrialBalanceRow {
  Currency currency;
  Amount debits;          // sum of debit balances
  Amount credits;         // sum of credit balances
  bool overflow = false;  // a column does not fit 128 bits: debits and credits are zero
};

struct EntryView {
  Entry entry;
  uint64_t seq = 0;
  TimeNs commit_ns = 0;
  Digest prev_hash{};
  Digest hash{};
};

struct StatementQuery {
  std::string account;
  std::optional<TimeNs> from, to;  // inclusive from, exclusive to
  bool by_business_time = false;   // filter on `at` instead of commit time
  size_t limit = 100;              // 1..10000
  std::string after;               // opaque cursor from a previous page
};
struct StatementLine {
  uint64_t seq = 0;
  std::string entry_id;
  std::string kind;
  TimeNs at = 0;
  TimeNs commit_ns = 0;
  Currency currency;
  Side side = Side::debit;
  Amount amount;         // > 0
  Amount balance_after;  // normal-side running balance
};
struct Statement {
  std::vector<StatementLine> lines;
  std::string next;  // cursor for the next page; empty when there is no more
};

struct VerifyReport {
  bool ok = true;
  uint64_t entries = 0;
  uint64_t postings = 0;
  std::string problem;  // the first discrepancy, with its location
  Digest head{};
};

class Snapshot : public TableReader {
 public:
  virtual uint64_t last_seq() = 0;
  virtual TimeNs last_commit_ns() = 0;
  virtual std::optional<TimeNs> closed_through() = 0;
  virtual std::optional<Account> account(std::string_view name) = 0;
  // When the account was opened: the commit time of its open (the earliest of its books'). nullopt
  // when it was never opened, or when any of its books was written before tally recorded open
  // times (then it is unknown, and a read never reports the account as not yet opened).
  virtual std::optional<TimeNs> account_opened_ns(std::string_view name) = 0;
  // Accounts equal to or under `prefix` (empty: all), in name order.
  virtual std::vector<Account> accounts(std::string_view prefix) = 0;
  // The names of the accounts whose names start with `prefix` (bytewise: "shop" finds "shop2"),
  // in name order, without decoding their records; stops when visit returns false. The view
  // lives for the call only. For walks over many accounts (a settlement run's payees).
  virtual void account_names(std::string_view prefix,
                             const std::function<bool(std::string_view name)>& visit) = 0;
  // As account_names, but only the names that sort strictly after `after` (empty: from the
  // first): one seek to the cursor, so a page costs its own names, not the names before it. A
  // cursor that names no account (deleted, or between two names) starts at the next name.
  virtual void account_names_after(std::string_view prefix, std::string_view after,
                                   const std::function<bool(std::string_view name)>& visit) = 0;
  virtual std::optional<Currency> currency(std::string_view code) = 0;
  // Normal-side balance as recorded at commit time `as_of` (default: now). Two B-tree seeks.
  // unknown_account, currency_not_allowed.
  virtual Result<Amount> balance(std::string_view account, std::string_view currency,
                                 std::optional<TimeNs> as_of = {}) = 0;
  // Balance by business time at the end of a closed period (from its snapshot). bad_date when
  // `end_exclusive` is not the end of a closed period.
  virtual Result<Amount> period_balance(std::string_view account, std::string_view currency,
                                        TimeNs end_exclusive) = 0;
  // The accounts equal to or under `prefix` with each book's normal-side balance as of `as_of`,
  // and the totals. As of a time before an account was opened (account_opened_ns) the account is
  // not listed: it was not part of the books then (its balance then was nothing, not 0.00). An
  // account whose open time is unknown is listed, as before open times were recorded.
  virtual Balances balances(std::string_view prefix, std::optional<TimeNs> as_of = {}) = 0;
  virtual std::vector<TrialBalanceRow> trial_balance(std::optional<TimeNs> as_of = {}) = 0;
  virtual Result<Statement> statement(const StatementQuery& q) = 0;
  virtual std::optional<EntryView> entry(std::string_view id) = 0;
  virtual std::optional<EntryView> entry_at(uint64_t seq) = 0;
  // Visits entries in commit order from `from_seq` while visit returns true.
  virtual void entries(uint64_t from_seq, const std::function<bool(const EntryView&)>& visit) = 0;
  // Write transactions committed in this store's life (replication's position; 0 for a new store).
  virtual uint64_t last_txn() = 0;
  // The oldest transaction the replication log still holds (0: the log is empty).
  virtual uint64_t first_logged_txn() = 0;
  // The highest leader term this store has written or applied (0: none, or no election). With
  // last_txn, a failover candidate's position: a higher term wins over a longer log.
  virtual int64_t last_term() = 0;
  // Visits the replication log's change sets from transaction `from_txn` in order while visit
  // returns true. The row's view lives for the call only.
  virtual void change_sets(
      uint64_t from_txn, const std::function<bool(uint64_t txn, std::string_view row)>& visit) = 0;
  // Recomputes the hash chain, every running balance, every book's balance and the id index
  // from the journal; reports the first discrepancy. progress(done, total) is called now and then.
  virtual VerifyReport verify(const std::function<void(uint64_t, uint64_t)>& progress = {}) = 0;
  // get and scan of higher layers' tables: TableReader.
};

class Ledger {
 public:
  // Opens (creating if needed) the store in options.dir. A store written with another schema
  // version is refused (version_mismatch), never misread.
  static Status open(LedgerOptions options, std::unique_ptr<Ledger>* out);
  virtual ~Ledger() = default;  // drains queued batches, commits them, stops the writer

  using Done = std::function<void(std::vector<ItemResult>)>;
  // Queues a batch. `done` runs on the writer thread once the batch's transaction is durable
  // (or at once, for a batch refused whole: empty, or over batch_items_max). Never blocks on
  // the commit; may block briefly when the queue is full (back-pressure).
  virtual void submit(Batch batch, Done done) = 0;
  // submit() and wait for the results.
  std::vector<ItemResult> submit_and_wait(Batch batch);

  // A read snapshot of the last commit. Throws StoreFailure (ledger/status.h): busy when all
  // options().readers_max reader slots are taken, or the store's failure.
  virtual std::unique_ptr<Snapshot> snapshot() = 0;
  virtual TableId table(std::string_view name) const = 0;  // one of options.extra_tables
  virtual std::optional<Currency> find_currency(std::string_view code) const = 0;
  virtual const LedgerOptions& options() const = 0;
  // Commits counted since open (for tests and metrics).
  virtual uint64_t commits() const = 0;
  // The store's size and use and the writer's queue, from any thread (metrics).
  virtual StoreUsage usage() const = 0;

  // --- replication (ledger/replication.h) ---
  // The number of the last write transaction committed, from any thread.
  virtual uint64_t last_txn() const = 0;
  // A standby's write: checks and applies a leader's change sets, in order, in one transaction
  // on the writer thread, durably, and returns once they are durable (or the first failure,
  // having kept none of them: corruption "replica diverged ..." when a set does not follow or
  // does not check; the store's failure otherwise). Thread-safe; blocks the caller.
  virtual Status replicate(std::vector<ChangeSet> sets) = 0;
  // With hold_until_replicated: releases the results of every transaction up to `txn` (their
  // `done` runs on the ledger's releaser thread). Any thread; a lower txn than before is ignored.
  virtual void release_through(uint64_t txn) = 0;
  // The leader's term, stamped in every later transaction's replog row (0: no election). Only
  // grows; any thread.
  virtual void set_term(int64_t term) = 0;

  // --- online backup (ledger/backup.h) ---
  // Writes a compacted copy of the store (LMDB's mdb_env_copyfd2 with MDB_CP_COMPACT: one read
  // transaction's consistent view, free pages left out) to `fd`, which it does not close, while
  // writes go on. Holds a read transaction (and the map's shared lock, as a snapshot does) for the
  // copy's duration. busy when no reader slot is free; io_error when writing to `fd` fails (a
  // reader that went away: EPIPE). Any thread; blocks the caller.
  virtual Status copy_store(int fd) = 0;
};

}  // namespace tally
