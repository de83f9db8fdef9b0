#include "cli/embedded_backend.h"

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include "ledger/batch.h"

#include "cli/json_items.h"
#include "service/export.h"
#include "service/payout_ops.h"
#include "service/reads.h"
#include "service/settlement_ops.h"

namespace tally {

RoleSet all_roles() {
  return RoleSet{Role::poster, Role::auditor, Role::finance};
}

Reply<std::unique_ptr<EmbeddedBackend>> EmbeddedBackend::open(EmbeddedOptions options) {
  std::error_code ec;
  if (!options.create_if_missing && !std::filesystem::is_directory(options.data_dir, ec))
    return Failure{Failure::Kind::cannot_connect,
                   "no data directory at " + options.data_dir + " (tally post creates one)"};
  ServiceOptions so;
  so.data_dir = options.data_dir;
  so.config = std::move(options.config);
  so.ledger = std::move(options.ledger);
  std::unique_ptr<Service> service;
  Status st = Service::open(std::move(so), &service);
  if (!st.ok())
    return Failure{Failure::Kind::cannot_connect,
                   "cannot open the data directory " + options.data_dir + ": " + st.to_string()};
  std::unique_ptr<EmbeddedBackend> b(new EmbeddedBackend(std::move(service)));
  b->data_dir_ = options.data_dir;
  return b;
}

EmbeddedBackend::~EmbeddedBackend() = default;

std::string EmbeddedBackend::describe() const {
  return "data directory " + data_dir_;
}

TimeNs EmbeddedBackend::now() const {
  return service_->ledger().options().clock();
}

PostOutcome EmbeddedBackend::post(std::vector<PostItem> items, const ProgressFn& progress) {
  const size_t n = items.size();
  const size_t max = std::max<size_t>(1, service_->ledger().options().batch_items_max);
  // Batches of whole chains, at most `max` items (a chain that alone exceeds the limit stays
  // whole: the ledger refuses it with batch_too_large, item by item): [starts[b], starts[b+1]).
  std::unique_ptr<bool[]> linked(new bool[n]);
  for (size_t k = 0; k < n; ++k) linked[k] = items[k].linked;
  const auto chains = linked_chains(std::span<const bool>(linked.get(), n));
  std::vector<size_t> starts;
  for (const Chain& b : pack_chains(chains, max)) starts.push_back(b.first);
  starts.push_back(n);

  PostOutcome out;
  out.results.resize(n);
  std::mutex mu;
  std::condition_variable cv;
  size_t pending = starts.size() - 1;
  uint64_t done_items = 0;
  for (size_t b = 0; b + 1 < starts.size(); ++b) {
    size_t from = starts[b], to = starts[b + 1];
    std::vector<PostItem> chunk(std::make_move_iterator(items.begin() + from),
                                std::make_move_iterator(items.begin() + to));
    // Submitting every batch before waiting lets the writer put them in one group commit.
    service_->post(std::move(chunk), all_roles(), [&, from](std::vector<ItemResult> r) {
      std::lock_guard lock(mu);
      for (size_t k = 0; k < r.size(); ++k) out.results[from + k] = std::move(r[k]);
      done_items += r.size();
      --pending;
      cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  uint64_t reported = 0;
  while (pending > 0) {
    cv.wait(lock);
    if (progress && done_items != reported) {
      reported = done_items;
      uint64_t d = done_items;
      lock.unlock();
      progress(d, n);
      lock.lock();
    }
  }
  if (progress && reported != n) progress(n, n);
  return out;
}

std::optional<Currency> EmbeddedBackend::find_currency(std::string_view code) {
  return service_->ledger().find_currency(code);
}

// Reads go through rpc/reads.h, as the server's do, so both transports give the same results and
// messages.
Reply<BalanceResult> EmbeddedBackend::balance(const BalanceQuery& q) {
  auto r = read_balance(*service_->snapshot(), q);
  if (!r.ok()) return r.error();
  return std::move(r.value());
}

Reply<BalancesResult> EmbeddedBackend::balances(const std::string& prefix,
                                                std::optional<TimeNs> as_of) {
  auto r = read_balances(*service_->snapshot(), prefix, as_of);
  if (!r.ok()) return r.error();
  return std::move(r.value());
}

Reply<StatementResult> EmbeddedBackend::statement(const StatementQuery& q) {
  auto r = read_statement(*service_->snapshot(), q);
  if (!r.ok()) return r.error();
  return std::move(r.value());
}

Reply<EntryView> EmbeddedBackend::entry(const std::string& id) {
  auto r = read_entry(*service_->snapshot(), id);
  if (!r.ok()) return r.error();
  return std::move(r.value());
}

Reply<TrialBalanceResult> EmbeddedBackend::trial_balance(std::optional<TimeNs> as_of) {
  auto r = read_trial_balance(*service_->snapshot(), as_of);
  if (!r.ok()) return r.error();
  return std::move(r.value());
}

Reply<VerifyReport> EmbeddedBackend::verify(const ProgressFn& progress) {
  auto snap = service_->snapshot();
  return snap->verify(progress);
}

Reply<ExportSummary> EmbeddedBackend::export_journal(ExportFormat format, const TextSink& sink) {
  auto snap = service_->snapshot();
  return tally::export_journal(*snap, format, sink);
}

Reply<ClosePeriodResult> EmbeddedBackend::close_period(const std::string& date) {
  auto r = service_->close_period(date);
  if (!r) return r.error();
  return std::move(*r);
}

Reply<ItemResult> EmbeddedBackend::hold(const HoldRequest& req) {
  std::vector<PostItem> items;
  items.push_back(service_->hold_item(req));
  auto r = service_->post_and_wait(std::move(items), all_roles());
  TALLY_ASSERT(r.size() == 1, "one result per item");
  if (!r[0].ok()) return reject(r[0].code, r[0].message);
  return std::move(r[0]);
}

Reply<RunResult> EmbeddedBackend::settle(const SettleRequest& req,
                                         const StagedProgressFn& progress) {
  auto r = settle_op(*service_, req, progress);
  if (!r.ok()) return r.error();
  return std::move(r.value());
}

Reply<std::vector<RunSummary>> EmbeddedBackend::runs(const std::string& marketplace) {
  auto r = runs_op(*service_, marketplace);
  if (!r.ok()) return r.error();
  return std::move(r.value());
}

Reply<PayoutFileResult> EmbeddedBackend::payout_file(const std::string& run, PayoutFormat format) {
  auto r = payout_file_op(*service_, run, format);
  if (!r.ok()) return r.error();
  return std::move(r.value());
}

Reply<ImportReportResult> EmbeddedBackend::import_report(const ImportReportRequest& req) {
  auto r = import_report_op(*service_, req);
  if (!r.ok()) return r.error();
  return std::move(r.value());
}

Reply<RunPayoutsResult> EmbeddedBackend::run_payouts(const std::string& run) {
  auto r = run_payouts_op(*service_, run);
  if (!r.ok()) return r.error();
  return std::move(r.value());
}

Reply<PayoutPageResult> EmbeddedBackend::payouts_by_state(const PayoutQuery& q) {
  auto r = payouts_by_state_op(*service_, q);
  if (!r.ok()) return r.error();
  return std::move(r.value());
}

// One shape for the marketplace layer's reads: the op's value or its rejection.
template <class T>
Reply<T> reply_of(Result<T> r) {
  if (!r.ok()) return r.error();
  return std::move(r.value());
}

Reply<MarketplaceResult> EmbeddedBackend::marketplace(const MarketplaceQuery& q) {
  return reply_of(marketplace_op(*service_, q));
}

Reply<PayeeResult> EmbeddedBackend::payee(const std::string& marketplace,
                                          const std::string& payee) {
  return reply_of(payee_op(*service_, marketplace, payee));
}

Reply<AccountsPage> EmbeddedBackend::accounts(const AccountsQuery& q) {
  return reply_of(accounts_op(*service_, q));
}

Reply<std::vector<RunSummary>> EmbeddedBackend::runs_all(
    const std::optional<std::string>& marketplace) {
  return reply_of(all_runs_op(*service_, marketplace));
}

}  // namespace tally
