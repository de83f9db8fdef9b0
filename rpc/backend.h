// What the `tally` client commands need from tally, whatever the transport: EmbeddedBackend
// (rpc/embedded_backend.h) works on a data directory in this process with every role; the RPC
// client (make_remote_backend, implemented in rpc/client*.cpp) speaks Cap'n Proto to a server
// with the roles its token grants. The CLI formats the results, so both give the same output.
//
// Outcomes: a value; a business Rejection (the CLI exits 1); or a Failure (cannot connect, not
// allowed, connection lost, store failure: the CLI exits 3).
//
// Thread safety: a Backend is used by one thread at a time (the CLI's). Callbacks it is given
// run on that thread, inside the call.
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "rpc/results.h"
#include "rpc/service.h"

namespace tally {

// progress(done, total): called now and then during long work (total 0 when unknown).
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;
// Receives exported text in order; return false to stop early (e.g. the output failed).
using TextSink = std::function<bool(std::string_view chunk)>;

class Backend {
 public:
  virtual ~Backend() = default;

  // Where this backend points, for messages ("data directory /srv/tally", "tcp 10.0.0.1:7100").
  virtual std::string describe() const = 0;

  // --- poster (and finance, for the events only finance may post) ---
  // Posts items in order; results[i] is items[i]'s. How items travel is the backend's business
  // (the RPC client splits them into batches and pipelines them); a linked chain is never split
  // across batches. Items the role may not post get not_allowed results (not a Failure).
  // progress(done, total) counts items whose results arrived.
  virtual PostOutcome post(std::vector<PostItem> items, const ProgressFn& progress = {}) = 0;

  // The currency with this code (a built-in or an asset declared on the ledger): `tally post`
  // parses entry amounts with its exponent before sending. The default knows the built-ins
  // only; a backend that can see declared assets overrides it (EmbeddedBackend does; the RPC
  // client may ask the server once per unknown code and cache the answer).
  virtual std::optional<Currency> find_currency(std::string_view code);

  // --- auditor (read only) ---
  // unknown_account; currency_not_allowed / bad_currency for a currency the account lacks.
  virtual Reply<BalanceResult> balance(const BalanceQuery& q) = 0;
  // Every account equal to or under `prefix` ("" for all) and totals per currency.
  virtual Reply<BalancesResult> balances(const std::string& prefix,
                                         std::optional<TimeNs> as_of) = 0;
  // unknown_account; bad_request for a bad cursor or limit.
  virtual Reply<StatementResult> statement(const StatementQuery& q) = 0;
  // unknown_entry.
  virtual Reply<EntryView> entry(const std::string& id) = 0;
  virtual Reply<TrialBalanceResult> trial_balance(std::optional<TimeNs> as_of) = 0;
  // The report says whether the books are whole; a discrepancy is report.ok == false, not a
  // Rejection.
  virtual Reply<VerifyReport> verify(const ProgressFn& progress = {}) = 0;
  // Streams the whole journal in `format` (rpc/export.h) into `sink`, as of one snapshot.
  virtual Reply<ExportSummary> export_journal(ExportFormat format, const TextSink& sink) = 0;

  // --- finance ---
  // Closes the books through `date` (YYYY-MM-DD, inclusive, UTC). bad_date.
  virtual Reply<ClosePeriodResult> close_period(const std::string& date) = 0;
  // Runs, previews, resumes or replays a settlement run (Settlement::settle), with its rows.
  // progress(done, total, stage) reports planning and committed chunks.
  virtual Reply<RunResult> settle(const SettleRequest& req,
                                  const StagedProgressFn& progress = {}) = 0;
  // Runs of a marketplace (complete and in progress), by pay date.
  virtual Reply<std::vector<RunSummary>> runs(const std::string& marketplace) = 0;
  // A run's payout file as text (CSV header per SPEC section 5, or pain.001.001.03 XML).
  virtual Reply<std::string> payouts(const std::string& run, PayoutFormat format) = 0;
  // Puts a payee on hold or takes it off (a payee_hold event).
  virtual Reply<ItemResult> hold(const HoldRequest& req) = 0;
};

// --- hooks the RPC work implements (rpc/client*.cpp, rpc/server*.cpp) ---------------------------
//
// Until the RPC client and server land, rpc/remote_stub.cpp defines these three so the build
// links; whoever implements them deletes remote_stub.cpp in the same commit. (A weak default
// would not do: a static library member is only linked in to resolve an undefined symbol, so a
// strong definition in another member would be silently ignored.)

// Connects to a server at `address` and logs in with `token`. Failure::cannot_connect when the
// server is unreachable, Failure::not_allowed when the token is refused.
Reply<std::unique_ptr<Backend>> make_remote_backend(const std::string& address,
                                                    const std::string& token);

// The global options every command sees (parsed by the CLI before the command).
struct CliGlobals {
  std::string data_dir;     // --data
  std::string config_file;  // --config
  std::string connect;      // --connect or TALLY_CONNECT
  std::string token;        // --token or TALLY_TOKEN
  bool json = false;        // --json
};

// `tally serve [...]` and `tally demo [...]`: `args` are the arguments after the subcommand
// name. Return the process exit code (SPEC section 5).
int run_serve_command(const CliGlobals& globals, std::span<const std::string> args,
                      std::istream& in, std::ostream& out, std::ostream& err);
int run_demo_command(const CliGlobals& globals, std::span<const std::string> args, std::istream& in,
                     std::ostream& out, std::ostream& err);

}  // namespace tally
