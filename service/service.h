// The operations of tally, independent of transport: the CLI's embedded mode (`--data DIR`)
// calls them directly, the RPC server calls them on behalf of a role capability, so both give
// the same results. Role checks on posted items live here (one place for both transports).
//
// Thread safety: every method may be called from any thread concurrently.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "ledger/ledger.h"
#include "service/results.h"
#include "settlement/config.h"
#include "settlement/events.h"
#include "settlement/rules.h"
#include "settlement/run.h"

namespace tally {

// The items `tally post` sends (one JSON line each).
struct OpenItem {
  Account account;
};
struct CloseAccountItem {
  std::string account;
};
struct DeclareAssetItem {
  std::string code;
  int exponent = 0;
};
using PostBody = std::variant<OpenItem, Entry, Event, CloseAccountItem, DeclareAssetItem>;
struct PostItem {
  PostBody body;
  bool linked = false;  // commits or fails together with the next item (ledger/batch.h)
  // Set when the item could not be read (a line of `tally post`, an RPC item that does not
  // decode): its result, whatever `body` holds. It still sinks the chain it belongs to.
  std::optional<ItemResult> refused = std::nullopt;
};

using RoleSet = std::set<Role>;

// SPEC section 5: payee_details, payout_result and payee_terms need finance; payee_hold poster or
// finance; every other event, entry, open and close needs poster. The one place roles per item
// type are decided.
bool role_may_post(const PostBody& body, const RoleSet& roles);
std::string_view post_type_name(const PostBody& body);  // "open", "entry", "sale", ...
// The id an item's result carries: the entry or event id, the account name (open, close), the
// asset code (asset).
std::string post_item_id(const PostBody& body);

struct ServiceOptions {
  std::string data_dir;
  Config config;                     // marketplaces and tokens
  LedgerOptions ledger;              // dir and extra_tables are filled in by Service::open
  uint64_t settle_chunk_payees = 0;  // payees per chunk of a settlement run; 0: the default
  // Where the service logs what an operator wants to know (a run's start, chunks and end), a
  // line at a time without a newline; called from any thread, one call at a time. May be empty.
  std::function<void(const std::string&)> log;
  // Every run of this service (not a preview) reports its progress here and, when it ends, its
  // outcome and duration (metrics). From the running thread; may be empty.
  std::function<void(const RunProgress&)> run_progress;
  std::function<void(bool ok, int64_t elapsed_ns)> run_done;
};

class Service {
 public:
  // Opens the ledger in options.data_dir with the marketplace tables.
  static Status open(ServiceOptions options, std::unique_ptr<Service>* out);
  ~Service();

  Ledger& ledger() { return *ledger_; }
  const Config& config() const { return options_.config; }
  const Rules& rules() const { return *rules_; }
  // Settlement runs of the configured marketplaces (settle, runs, stored runs).
  Settlement& settlement() { return *settlement_; }
  // The options every run of this service starts from: chunk size and log.
  SettleOptions settle_options() const;
  // Reports a run's end to ServiceOptions::run_done (a preview is not reported).
  void report_run(bool dry_run, bool ok, int64_t elapsed_ns) const;
  // Logs a line (ServiceOptions::log), if anyone listens.
  void log(const std::string& line) const;

  // Posts items as one batch; items `roles` may not post get not_allowed, and they and the
  // items refused before (PostItem::refused) sink their linked chains, as a chain left open does
  // (ledger/batch.h): none of those go to the writer. `done` runs once the batch is durable, on
  // the writer thread; when no item goes to the writer, on the calling thread before post()
  // returns. Results come in item order; a result's id is post_item_id of its item when the op
  // set none.
  void post(std::vector<PostItem> items, const RoleSet& roles, Ledger::Done done);
  // post() and wait for the results.
  std::vector<ItemResult> post_and_wait(std::vector<PostItem> items, const RoleSet& roles);

  // Closes the books through `date` (YYYY-MM-DD, inclusive, UTC: make_close_period at the start
  // of the next day); waits until durable. bad_date, or the ledger's refusal. The caller checks
  // the finance role (it is not a posted item).
  Result<ClosePeriodResult> close_period(const std::string& date);
  // The payee_hold event of `tally hold M:P --on|--off --reason R [--id ID --at T]` (a finance or
  // poster action): business time `request.at` (RFC 3339), or now (the ledger's clock) when it is
  // absent, and, unless the request names one, an id from the marketplace, the payee and that
  // time. An explicit id needs an explicit `at` (else a retry would be another event: id_conflict
  // instead of duplicate): without it, or with a malformed one, the item comes back refused
  // (PostItem::refused: bad_time naming `at`). Post it like any item.
  PostItem hold_item(const HoldRequest& request) const;

  std::unique_ptr<Snapshot> snapshot() { return ledger_->snapshot(); }

 private:
  Service() = default;
  std::unique_ptr<WriteOp> make_op(PostItem item) const;
  ServiceOptions options_;
  mutable std::mutex log_mu_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<Rules> rules_;
  std::unique_ptr<Settlement> settlement_;
};

}  // namespace tally
