#include "service/service.h"

#include <future>
#include <type_traits>

#include "settlement/tables.h"

namespace tally {

namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

std::string roles_phrase(const RoleSet& roles) {
  if (roles.empty()) return "a token with no role";
  if (roles.size() == 1) {
    Role r = *roles.begin();
    std::string name(role_name(r));
    return (r == Role::auditor ? "an " : "a ") + name + " token";
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

}  // namespace

bool role_may_post(const PostBody& body, const RoleSet& roles) {
  if (const Event* e = std::get_if<Event>(&body)) {
    if (std::holds_alternative<PayeeDetailsEvent>(e->body) ||
        std::holds_alternative<PayoutResultEvent>(e->body) ||
        std::holds_alternative<PayeeTermsEvent>(e->body))
      return roles.count(Role::finance) > 0;
    if (std::holds_alternative<PayeeHoldEvent>(e->body))
      return roles.count(Role::poster) > 0 || roles.count(Role::finance) > 0;
  }
  return roles.count(Role::poster) > 0;
}

std::string_view post_type_name(const PostBody& body) {
  return std::visit(Overloaded{
                        [](const OpenItem&) -> std::string_view { return "open"; },
                        [](const Entry&) -> std::string_view { return "entry"; },
                        [](const Event& e) { return event_type_name(e.body); },
                        [](const CloseAccountItem&) -> std::string_view { return "close"; },
                        [](const DeclareAssetItem&) -> std::string_view { return "asset"; },
                    },
                    body);
}

std::string post_item_id(const PostBody& body) {
  return std::visit(Overloaded{
                        [](const OpenItem& o) { return o.account.name; },
                        [](const Entry& e) { return e.id; },
                        [](const Event& e) { return e.header.id; },
                        [](const CloseAccountItem& c) { return c.account; },
                        [](const DeclareAssetItem& a) { return a.code; },
                    },
                    body);
}

SettleOptions Service::settle_options() const {
  SettleOptions o;
  o.chunk_payees = options_.settle_chunk_payees;
  if (options_.log) o.log = [this](const std::string& line) { log(line); };
  o.progress = options_.run_progress;
  return o;
}

void Service::report_run(bool dry_run, bool ok, int64_t elapsed_ns) const {
  if (!dry_run && options_.run_done) options_.run_done(ok, elapsed_ns);
}

void Service::log(const std::string& line) const {
  if (!options_.log) return;
  std::lock_guard lock(log_mu_);
  options_.log(line);
}

Status Service::open(ServiceOptions options, std::unique_ptr<Service>* out) {
  std::unique_ptr<Service> s(new Service());
  s->options_ = std::move(options);
  LedgerOptions lo = s->options_.ledger;
  lo.dir = s->options_.data_dir;
  for (auto& t : tables::all()) lo.extra_tables.push_back(t);
  Status st = Ledger::open(std::move(lo), &s->ledger_);
  if (!st.ok()) return st;
  // Rules keeps a reference to the config: options_ lives as long as the Service.
  s->rules_ = std::make_unique<Rules>(s->options_.config, *s->ledger_);
  s->settlement_ = std::make_unique<Settlement>(*s->rules_);
  *out = std::move(s);
  return Status::OK();
}

Service::~Service() {
  // Rules' ops reference the ledger and the config; the ledger's destructor drains queued
  // batches, so it goes first while rules_ and options_ are still alive.
  ledger_.reset();
  settlement_.reset();
  rules_.reset();
}

std::unique_ptr<WriteOp> Service::make_op(PostItem item) const {
  std::unique_ptr<WriteOp> op = std::visit(
      Overloaded{
          [](OpenItem& o) { return make_open_account(std::move(o.account)); },
          [](Entry& e) { return make_post_entry(std::move(e)); },
          [this](Event& e) { return rules_->event_op(std::move(e)); },
          [](CloseAccountItem& c) { return make_close_account(std::move(c.account)); },
          [](DeclareAssetItem& a) { return make_declare_asset(std::move(a.code), a.exponent); },
      },
      item.body);
  op->linked = item.linked;
  return op;
}

void Service::post(std::vector<PostItem> items, const RoleSet& roles, Ledger::Done done) {
  const size_t n = items.size();
  std::vector<std::string> ids(n);
  std::vector<BatchItem> info(n);
  for (size_t i = 0; i < n; ++i) {
    PostItem& item = items[i];
    if (!item.refused) ids[i] = post_item_id(item.body);
    if (!item.refused && !role_may_post(item.body, roles))
      item.refused = ItemResult::error(
          reject(Code::not_allowed, "not_allowed: " + roles_phrase(roles) + " may not post " +
                                        std::string(post_type_name(item.body))),
          ids[i]);
    if (item.refused && item.refused->id.empty()) item.refused->id = ids[i];
  }
  for (size_t i = 0; i < n; ++i)
    info[i] = BatchItem{ids[i], items[i].linked, items[i].refused ? &*items[i].refused : nullptr};
  Triage triage = triage_batch(info);
  Batch batch;
  for (size_t k : triage.apply) batch.push_back(make_op(std::move(items[k])));
  std::vector<std::string> sent_ids;
  for (size_t k : triage.apply) sent_ids.push_back(ids[k]);

  auto finish = [triage = std::move(triage), sent_ids = std::move(sent_ids),
                 done = std::move(done)](std::vector<ItemResult> from_writer) mutable {
    // The ledger answers every item; a short answer would be a ledger bug, reported per item
    // rather than as a crash of the server.
    from_writer.resize(sent_ids.size(),
                       ItemResult::error(reject(Code::internal, "internal: no result")));
    for (size_t b = 0; b < sent_ids.size(); ++b)
      if (from_writer[b].id.empty()) from_writer[b].id = sent_ids[b];
    done(stitch_results(std::move(triage), std::move(from_writer)));
  };
  if (batch.empty()) {
    finish({});
    return;
  }
  ledger_->submit(std::move(batch), std::move(finish));
}

std::vector<ItemResult> Service::post_and_wait(std::vector<PostItem> items, const RoleSet& roles) {
  std::promise<std::vector<ItemResult>> p;
  auto f = p.get_future();
  post(std::move(items), roles, [&p](std::vector<ItemResult> r) { p.set_value(std::move(r)); });
  return f.get();
}

Result<ClosePeriodResult> Service::close_period(const std::string& date) {
  auto day = parse_date_utc(date, "date");
  if (!day) return day.error();
  ClosePeriodResult out;
  out.through = date;
  out.end_exclusive = *day + kNsPerDay;
  Batch b;
  b.push_back(make_close_period(out.end_exclusive));
  auto r = ledger_->submit_and_wait(std::move(b));
  TALLY_ASSERT(r.size() == 1, "one result per item");
  if (!r[0].ok()) return Rejection{r[0].code, r[0].message};
  out.result = std::move(r[0]);
  return out;
}

PostItem Service::hold_item(const HoldRequest& req) const {
  Event ev;
  std::optional<Rejection> refused;
  TimeNs t = 0;
  if (req.at) {
    auto parsed = parse_rfc3339(*req.at, "at");
    if (parsed)
      t = *parsed;
    else
      refused = parsed.error();
  } else if (!req.id.empty()) {
    refused = reject(Code::bad_time,
                     "at: required with an explicit id (RFC 3339, e.g. 2026-01-05T10:00:00Z), so "
                     "that a retry is the same event");
  } else {
    t = ledger_->options().clock();
  }
  ev.header.id = req.id.empty()
                     ? "hold:" + req.marketplace + ":" + req.payee + ":" + std::to_string(t)
                     : req.id;
  ev.header.at = t;
  ev.header.marketplace = req.marketplace;
  ev.body = PayeeHoldEvent{req.payee, req.on, req.reason};
  PostItem item;
  std::string id = ev.header.id;
  item.body = std::move(ev);
  if (refused) item.refused = ItemResult::error(std::move(*refused), std::move(id));
  return item;
}

}  // namespace tally
