// A C++ client for tally's Cap'n Proto RPC (rpc/tally.capnp): what the `tally --connect` CLI
// and other services link.
//
// The Client owns one connection, run by an I/O thread of its own (with its own kj event loop),
// so it needs nothing from its caller's threads and works beside a caller's own event loop.
// Posting survives disconnects: a call that breaks is sent again, the same items, on a new
// connection (with backoff, up to ClientOptions::max_attempts). Ids make that safe: an item that
// had committed before the break reports `duplicate` with its original seq. Reads are retried
// the same way (they change nothing).
//
// Outcomes follow rpc/results.h: a value, a business Rejection, or a Failure (cannot_connect,
// not_allowed for a refused token or a role the token lacks, disconnected when retries ran
// out, server_error).
//
// Thread safety: every method may be called from any thread, concurrently. Callbacks (progress,
// export sinks) run on the calling thread, inside the call. A Client must not be destroyed while
// one of its calls runs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "service/market_reads.h"
#include "service/results.h"
#include "service/server_info.h"
#include "service/service.h"

namespace tally {

struct ClientOptions {
  // "host:port" (default port 7878), "tls:host:port" or "unix:/path"; or several, comma-separated
  // (a leader and its standbys): connect takes the first that answers, a lost connection or a
  // batch answered not_leader moves to the next, retried with the same ids.
  std::string address;
  std::string token;
  // For a "tls:" address: the CAs to trust (PEM; empty: the system trust store), and the name
  // the server's certificate must carry (empty: the address's host). ops/tls.h.
  std::string tls_ca_file;
  std::string tls_server_name;
  int max_attempts = 10;                          // per call, the first included, across reconnects
  uint64_t retry_delay_ms = 20;                   // first backoff; doubles per attempt, at most 1 s
  uint64_t reply_words_max = uint64_t(64) << 20;  // largest reply accepted, in words (512 MiB)
};

// Which capability a post goes through (rpc/tally.capnp): the poster's or the finance one's.
enum class PostVia : uint8_t { poster, finance };

// A batch's results and how long the call took, from first send to reply (retries included).
struct BatchOutcome {
  std::vector<ItemResult> results;
  uint64_t latency_ns = 0;
  uint32_t attempts = 1;
};

class Client {
 public:
  // Connects and logs in, once (no retry: a server that is not there is cannot_connect at once).
  // Sets SIGPIPE to be ignored, process-wide: a server that leaves makes writes fail (and the
  // call retry), not the process.
  static Reply<std::unique_ptr<Client>> connect(ClientOptions options);
  ~Client();

  const RoleSet& roles() const { return roles_; }
  const std::string& address() const;

  // One batch, one call (split nothing), retried across disconnects.
  Reply<BatchOutcome> post(std::vector<PostItem> items, PostVia via = PostVia::poster);
  // Batches pipelined: up to `window` calls in flight at once on the one connection (the server
  // commits them in the order sent), results in batch order. On a Failure the outcome holds the
  // batches that completed before the first one that failed.
  struct PostBatch {
    std::vector<PostItem> items;
    PostVia via = PostVia::poster;
  };
  struct Pipelined {
    std::vector<BatchOutcome> batches;
    std::optional<Failure> failure;
  };
  // progress(done_items, total_items) runs on the calling thread as batches complete.
  Pipelined post_pipelined(std::vector<PostBatch> batches, size_t window,
                           const ProgressFn& progress = {});

  Reply<BalanceResult> balance(const BalanceQuery& q);
  Reply<BalancesResult> balances(const std::string& prefix, std::optional<TimeNs> as_of);
  Reply<StatementResult> statement(const StatementQuery& q);
  Reply<EntryView> entry(const std::string& id);
  Reply<TrialBalanceResult> trial_balance(std::optional<TimeNs> as_of);
  Reply<VerifyReport> verify(const ProgressFn& progress = {});
  Reply<ExportSummary> export_journal(ExportFormat format, const TextSink& sink);
  Reply<ClosePeriodResult> close_period(const std::string& date);
  // A run with its rows (the server streams them; they are collected here), and its progress.
  // Retried across disconnects: a run is idempotent per (marketplace, pay date), and a retry of a
  // run cut off part way completes it.
  Reply<RunResult> settle(const SettleRequest& req, const StagedProgressFn& progress = {});
  Reply<std::vector<RunSummary>> runs(const std::string& marketplace);
  // An online backup of the server's store (Finance.backup): the store file (data.mdb) streamed
  // to `sink` in order; returns the bytes the sink took once they are all the server sent, with
  // the same SHA-256 (else a server_error Failure). Not retried: part of the file may already
  // have reached the sink.
  Reply<uint64_t> backup(const TextSink& sink);
  // The run's payout file, whole (Finance.payouts: the file only).
  Reply<std::string> payouts(const std::string& run, PayoutFormat format);
  // The run's payout file made, recorded and (bank formats) sent (Finance.payoutFile), with its
  // record. The bytes are checked against the trailer (size and SHA-256): a short or altered
  // stream is a server_error Failure, never a smaller file. Retried across disconnects: the
  // export is idempotent (the same file again changes nothing).
  Reply<PayoutFileResult> payout_file(const std::string& run, PayoutFormat format);
  // A bank report in (Finance.importReport). Retried across disconnects: a report's lines are
  // applied once (a repeat is already_applied).
  Reply<ImportReportResult> import_report(const ImportReportRequest& req);
  // Auditor reads of the payout lifecycle (Auditor.runPayouts, Auditor.payoutsByState).
  Reply<RunPayoutsResult> run_payouts(const std::string& run);
  Reply<PayoutPageResult> payouts_by_state(const PayoutQuery& q);
  // The marketplace layer's reads (Auditor.marketplace, payee, accounts, runs;
  // service/market_reads.h has their contracts). runs_all(nullopt): every marketplace's runs.
  Reply<MarketplaceResult> marketplace(const MarketplaceQuery& q);
  Reply<PayeeResult> payee(const std::string& marketplace, const std::string& payee);
  Reply<AccountsPage> accounts(const AccountsQuery& q);
  Reply<std::vector<RunSummary>> runs_all(const std::optional<std::string>& marketplace);
  // A payee_hold event through the finance capability (Finance.hold).
  Reply<ItemResult> hold(const HoldRequest& req);
  // The server ledger's currency with this code (built-in or declared); nullopt when unknown.
  // Asked through whichever capability the token has.
  Reply<std::optional<Currency>> find_currency(const std::string& code);

  // The server's version and limits (ServerInfo), through whichever capability the token has.
  Reply<ServerInfo> server_info();

  // Connections made since connect() (1 + reconnects), for tests and metrics.
  uint64_t connections() const;

  // The change stream (Auditor.follow, rpc/follow.h): the journal's entries from `from_seq` in
  // commit order to `on_entry` (on the calling thread), then each new commit as it happens, until
  // `on_entry` returns false or `max_entries` (0: no bound) arrived. Every entry is checked to
  // follow the one before it (seq + 1, prev_hash = its hash): a gap or a repeat is a
  // server_error Failure. Not retried: after a Failure, follow again from the last seq received
  // + 1 (what `*last_seq` holds, from_seq - 1 when nothing arrived). Returns the last seq received.
  Reply<uint64_t> follow(uint64_t from_seq, uint64_t max_entries,
                         const std::function<bool(const EntryView&)>& on_entry,
                         uint64_t* last_seq = nullptr);

  // A standby's stream (role replica; rpc/replica_stream.h): the leader's change sets from
  // `from_txn`, in order, to `on_sets` on the calling thread, which applies them durably and
  // returns the last txn it holds (the acknowledgement), or nullopt to stop. Also called with no
  // sets for the leader's heartbeats (about every second), so a caller can stop while idle. Sets
  // are checked to be consecutive (a gap is a server_error Failure). Not retried. Returns the
  // last txn received (from_txn - 1 when none) once on_sets stopped; a Rejection when the
  // leader cannot stream from from_txn.
  Reply<uint64_t> follow_changes(
      uint64_t from_txn,
      const std::function<std::optional<uint64_t>(std::vector<ChangeSet>& sets)>& on_sets);

  class Impl;

 private:
  Client() = default;
  std::unique_ptr<Impl> impl_;
  RoleSet roles_;
};

}  // namespace tally
