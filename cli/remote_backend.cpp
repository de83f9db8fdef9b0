// The Backend of `tally --connect ADDR` over the RPC Client (rpc/client.h, rpc/backend.h).
#include <map>
#include <variant>

#include "cli/remote_backend.h"
#include "ledger/batch.h"
#include "rpc/client.h"

namespace tally {

namespace {

// Only finance may post it (payee_details, payout_result, payee_terms): asked of role_may_post
// (service/service.h), the one place roles per item type are decided.
bool finance_only(const PostBody& b) {
  return role_may_post(b, RoleSet{Role::finance}) && !role_may_post(b, RoleSet{Role::poster});
}

std::string roles_phrase(const RoleSet& roles) {
  if (roles.empty()) return "a token with no role";
  if (roles.size() == 1) {
    Role r = *roles.begin();
    return std::string(r == Role::auditor ? "an " : "a ") + std::string(role_name(r)) + " token";
  }
  std::string s = "a token with roles ";
  bool first = true;
  for (Role r : roles) {
    if (!first) s += ", ";
    first = false;
    s += role_name(r);
  }
  return s;
}

class RemoteBackend final : public Backend {
 public:
  RemoteBackend(std::unique_ptr<Client> client, size_t batch_items, size_t window)
      : client_(std::move(client)),
        batch_items_(std::max<size_t>(1, batch_items)),
        window_(std::max<size_t>(1, window)) {}

  std::string describe() const override { return "server " + client_->address(); }

  PostOutcome post(std::vector<PostItem> items, const ProgressFn& progress) override {
    const RoleSet& roles = client_->roles();
    const bool poster = roles.count(Role::poster), finance = roles.count(Role::finance);
    const size_t n = items.size();
    PostOutcome out;
    // Chains (an item linked to the next belongs with it) go whole to one capability: finance's
    // when a chain holds an event only finance may post, else the poster's; the other one when
    // the token lacks that role (the server then answers not_allowed per item, with the same
    // words as for any refused item). A token with neither gets not_allowed here.
    enum class Via : uint8_t { none, poster, finance };
    struct Span {
      size_t begin, end;  // items [begin, end)
      Via via;
    };
    std::vector<Span> spans;
    std::unique_ptr<bool[]> linked(new bool[n]);
    for (size_t k = 0; k < n; ++k) linked[k] = items[k].linked;
    for (const Chain& ch : linked_chains(std::span<const bool>(linked.get(), n))) {
      bool wants_finance = false;
      for (size_t k = ch.first; k <= ch.last; ++k) wants_finance |= finance_only(items[k].body);
      Via via = wants_finance ? (finance  ? Via::finance
                                 : poster ? Via::poster
                                          : Via::none)
                              : (poster    ? Via::poster
                                 : finance ? Via::finance
                                           : Via::none);
      // Consecutive chains for the same capability share a batch up to batch_items_.
      if (!spans.empty() && spans.back().via == via && via != Via::none &&
          (ch.last + 1 - spans.back().begin) <= batch_items_)
        spans.back().end = ch.last + 1;
      else
        spans.push_back(Span{ch.first, ch.last + 1, via});
    }

    std::vector<Client::PostBatch> batches;
    for (const auto& s : spans) {
      if (s.via == Via::none) continue;
      Client::PostBatch b;
      b.via = s.via == Via::finance ? PostVia::finance : PostVia::poster;
      for (size_t k = s.begin; k < s.end; ++k) b.items.push_back(std::move(items[k]));
      batches.push_back(std::move(b));
    }
    auto r = client_->post_pipelined(std::move(batches), window_, progress);

    size_t next_batch = 0;
    for (const auto& s : spans) {
      if (s.via == Via::none) {
        for (size_t k = s.begin; k < s.end; ++k)
          out.results.push_back(ItemResult::error(
              reject(Code::not_allowed, "not_allowed: " + roles_phrase(roles) + " may not post " +
                                            std::string(post_type_name(items[k].body))),
              post_item_id(items[k].body)));
        continue;
      }
      if (next_batch >= r.batches.size()) break;  // this batch's outcome is unknown
      for (auto& res : r.batches[next_batch].results) out.results.push_back(std::move(res));
      ++next_batch;
    }
    if (r.failure) out.failure = r.failure;
    return out;
  }

  // Built-ins locally; any other code asked of the server once, the answer (either way) cached.
  std::optional<Currency> find_currency(std::string_view code) override {
    if (auto c = builtins_.find(code)) return c;
    std::string key(code);
    if (auto it = asked_.find(key); it != asked_.end()) return it->second;
    auto r = client_->find_currency(key);
    if (!r.ok()) return std::nullopt;  // a lost server shows at the post that follows
    asked_.emplace(key, r.value());
    return r.value();
  }

  Reply<BalanceResult> balance(const BalanceQuery& q) override { return client_->balance(q); }
  Reply<BalancesResult> balances(const std::string& prefix, std::optional<TimeNs> as_of) override {
    return client_->balances(prefix, as_of);
  }
  Reply<StatementResult> statement(const StatementQuery& q) override {
    return client_->statement(q);
  }
  Reply<EntryView> entry(const std::string& id) override { return client_->entry(id); }
  Reply<TrialBalanceResult> trial_balance(std::optional<TimeNs> as_of) override {
    return client_->trial_balance(as_of);
  }
  Reply<VerifyReport> verify(const ProgressFn& progress) override {
    return client_->verify(progress);
  }
  Reply<ExportSummary> export_journal(ExportFormat format, const TextSink& sink) override {
    return client_->export_journal(format, sink);
  }
  Reply<ServerInfo> server_info() override { return client_->server_info(); }
  Reply<ClosePeriodResult> close_period(const std::string& date) override {
    return client_->close_period(date);
  }
  Reply<ItemResult> hold(const HoldRequest& req) override { return client_->hold(req); }
  Reply<RunResult> settle(const SettleRequest& req, const StagedProgressFn& progress) override {
    return client_->settle(req, progress);
  }
  Reply<std::vector<RunSummary>> runs(const std::string& marketplace) override {
    return client_->runs(marketplace);
  }
  Reply<PayoutFileResult> payout_file(const std::string& run, PayoutFormat format) override {
    return client_->payout_file(run, format);
  }
  Reply<ImportReportResult> import_report(const ImportReportRequest& req) override {
    return client_->import_report(req);
  }
  Reply<RunPayoutsResult> run_payouts(const std::string& run) override {
    return client_->run_payouts(run);
  }
  Reply<PayoutPageResult> payouts_by_state(const PayoutQuery& q) override {
    return client_->payouts_by_state(q);
  }
  Reply<MarketplaceResult> marketplace(const MarketplaceQuery& q) override {
    return client_->marketplace(q);
  }
  Reply<PayeeResult> payee(const std::string& marketplace, const std::string& payee) override {
    return client_->payee(marketplace, payee);
  }
  Reply<AccountsPage> accounts(const AccountsQuery& q) override { return client_->accounts(q); }
  Reply<std::vector<RunSummary>> runs_all(const std::optional<std::string>& marketplace) override {
    // The auditor's read when the token has that role; a finance-only token still lists one
    // marketplace's runs through Finance.runs (what `tally runs M` always did).
    if (!client_->roles().count(Role::auditor) && marketplace &&
        client_->roles().count(Role::finance))
      return client_->runs(*marketplace);
    return client_->runs_all(marketplace);
  }

 private:
  std::unique_ptr<Client> client_;
  const CurrencyTable builtins_;
  std::map<std::string, std::optional<Currency>> asked_;
  size_t batch_items_;
  size_t window_;
};

}  // namespace

Reply<std::unique_ptr<Backend>> make_remote_backend(const ClientOptions& options,
                                                    size_t batch_items, size_t window) {
  auto c = Client::connect(options);
  if (c.failed()) return c.failure();
  if (c.rejected()) return c.rejection();
  return std::unique_ptr<Backend>(
      std::make_unique<RemoteBackend>(std::move(c.value()), batch_items, window));
}

Reply<std::unique_ptr<Backend>> make_remote_backend(const std::string& address,
                                                    const std::string& token) {
  ClientOptions o;
  o.address = address;
  o.token = token;
  return make_remote_backend(o);
}

}  // namespace tally
