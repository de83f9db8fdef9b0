// What the `tally` client commands need from tally, whatever the transport: EmbeddedBackend
// (cli/embedded_backend.h) works on a data directory in this process with every role; the remote
// backend (cli/remote_backend.h) speaks Cap'n Proto to a server through the RPC client with the
// roles its token grants. The CLI formats the results, so both give the same output.
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

#include "service/market_reads.h"
#include "service/results.h"
#include "service/server_info.h"
#include "service/service.h"

namespace tally {

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
  // The version and limits: the server's over RPC, this build's on a data directory.
  virtual Reply<ServerInfo> server_info() = 0;
  // A run's payouts with their lifecycle states (unknown_run).
  virtual Reply<RunPayoutsResult> run_payouts(const std::string& run) = 0;
  // A marketplace's payouts across runs, by state, a page at a time (unknown_marketplace,
  // bad_request for a bad state or limit).
  virtual Reply<PayoutPageResult> payouts_by_state(const PayoutQuery& q) = 0;
  // The marketplace layer's reads (service/market_reads.h has their contracts): a marketplace's
  // config and next pay dates, a payee, accounts a page at a time, runs of one marketplace or of
  // all (nullopt), with their state.
  virtual Reply<MarketplaceResult> marketplace(const MarketplaceQuery& q) = 0;
  virtual Reply<PayeeResult> payee(const std::string& marketplace, const std::string& payee) = 0;
  virtual Reply<AccountsPage> accounts(const AccountsQuery& q) = 0;
  virtual Reply<std::vector<RunSummary>> runs_all(
      const std::optional<std::string>& marketplace) = 0;

  // --- finance ---
  // Closes the books through `date` (YYYY-MM-DD, inclusive, UTC). bad_date.
  virtual Reply<ClosePeriodResult> close_period(const std::string& date) = 0;
  // Runs, previews, resumes or replays a settlement run (Settlement::settle), with its rows.
  // progress(done, total, stage) reports planning and committed chunks.
  virtual Reply<RunResult> settle(const SettleRequest& req,
                                  const StagedProgressFn& progress = {}) = 0;
  // Runs of a marketplace (complete and in progress), by pay date.
  virtual Reply<std::vector<RunSummary>> runs(const std::string& marketplace) = 0;
  // Makes a run's payout file (CSV header per SPEC section 5, pain.001.001.03 XML, NACHA, the
  // Colombian dispersion CSV), records it and, for the bank formats, moves its payouts from
  // instructed to sent (service/payout_ops.h). The same file again changes nothing.
  virtual Reply<PayoutFileResult> payout_file(const std::string& run, PayoutFormat format) = 0;
  // Finance: a bank report in (pain.002, camt.054, NACHA returns): lines matched to payouts and
  // their transitions applied, all or nothing (service/payout_ops.h).
  virtual Reply<ImportReportResult> import_report(const ImportReportRequest& req) = 0;
  // Puts a payee on hold or takes it off (a payee_hold event).
  virtual Reply<ItemResult> hold(const HoldRequest& req) = 0;
};

}  // namespace tally
