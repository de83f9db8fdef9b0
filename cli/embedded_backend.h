// The Backend of `tally --data DIR`: a Service over a data directory in this process, with every
// role (whoever can read the directory owns the books). Gives the same results as a server
// would, because both call Service.
//
// Thread safety: one thread at a time (Backend's contract).
#pragma once

#include <memory>
#include <string>

#include "cli/backend.h"
#include "service/service.h"

namespace tally {

struct EmbeddedOptions {
  std::string data_dir;
  Config config;                  // marketplaces (tokens are ignored: every role is granted)
  bool create_if_missing = true;  // false: a missing data directory is cannot_connect
  LedgerOptions ledger;           // dir and extra_tables are filled in
};

class EmbeddedBackend : public Backend {
 public:
  // Opens the data directory. Failure::cannot_connect when it is missing (and may not be
  // created) or the store cannot be opened (the Status's message says why).
  static Reply<std::unique_ptr<EmbeddedBackend>> open(EmbeddedOptions options);
  ~EmbeddedBackend() override;

  Service& service() { return *service_; }

  std::string describe() const override;
  // Splits items into batches of at most the ledger's batch_items_max (never splitting a linked
  // chain) and submits them all before waiting, so they share group commits.
  PostOutcome post(std::vector<PostItem> items, const ProgressFn& progress = {}) override;
  std::optional<Currency> find_currency(std::string_view code) override;
  Reply<BalanceResult> balance(const BalanceQuery& q) override;
  Reply<BalancesResult> balances(const std::string& prefix, std::optional<TimeNs> as_of) override;
  Reply<StatementResult> statement(const StatementQuery& q) override;
  Reply<EntryView> entry(const std::string& id) override;
  Reply<TrialBalanceResult> trial_balance(std::optional<TimeNs> as_of) override;
  Reply<VerifyReport> verify(const ProgressFn& progress = {}) override;
  Reply<ExportSummary> export_journal(ExportFormat format, const TextSink& sink) override;
  Reply<ServerInfo> server_info() override { return builtin_server_info(); }
  Reply<ClosePeriodResult> close_period(const std::string& date) override;
  Reply<ItemResult> hold(const HoldRequest& req) override;
  Reply<RunResult> settle(const SettleRequest& req, const StagedProgressFn& progress) override;
  Reply<std::vector<RunSummary>> runs(const std::string& marketplace) override;
  Reply<PayoutFileResult> payout_file(const std::string& run, PayoutFormat format) override;
  Reply<ImportReportResult> import_report(const ImportReportRequest& req) override;
  Reply<RunPayoutsResult> run_payouts(const std::string& run) override;
  Reply<PayoutPageResult> payouts_by_state(const PayoutQuery& q) override;
  Reply<MarketplaceResult> marketplace(const MarketplaceQuery& q) override;
  Reply<PayeeResult> payee(const std::string& marketplace, const std::string& payee) override;
  Reply<AccountsPage> accounts(const AccountsQuery& q) override;
  Reply<std::vector<RunSummary>> runs_all(const std::optional<std::string>& marketplace) override;

 private:
  explicit EmbeddedBackend(std::unique_ptr<Service> s) : service_(std::move(s)) {}
  TimeNs now() const;
  std::unique_ptr<Service> service_;
  std::string data_dir_;
};

// Every role: what the embedded backend posts with.
RoleSet all_roles();

}  // namespace tally
