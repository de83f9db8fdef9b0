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
        std::holds_alternative<PayoutResultEvent>(e->body))
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
  return o;
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
  // Results decided here (role refusals and the chains they sink), by original index.
  std::vector<std::optional<ItemResult>> decided(n);
  std::vector<std::string> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = post_item_id(items[i].body);

  size_t i = 0;
  while (i < n) {
    size_t j = i;  // the chain is i..j: every item but the last is linked to the next
    while (j + 1 < n && items[j].linked) ++j;
    size_t refused = SIZE_MAX;
    for (size_t k = i; k <= j; ++k) {
      if (!role_may_post(items[k].body, roles)) {
        decided[k] = ItemResult::error(
            reject(Code::not_allowed, "not_allowed: " + roles_phrase(roles) + " may not post " +
                                          std::string(post_type_name(items[k].body))),
            ids[k]);
        if (refused == SIZE_MAX) refused = k;
      }
    }
    if (refused != SIZE_MAX) {
      for (size_t k = i; k <= j; ++k) {
        if (decided[k]) continue;
        decided[k] =
            ItemResult::error(reject(Code::linked_failed,
                                     "linked: another item of this linked chain (" + ids[refused] +
                                         ", " + std::string(post_type_name(items[refused].body)) +
                                         ") is not allowed; nothing of the chain was committed"),
                              ids[k]);
      }
    }
    i = j + 1;
  }

  Batch batch;
  std::vector<size_t> sent;  // sent[b] = original index of batch item b
  for (size_t k = 0; k < n; ++k) {
    if (decided[k]) continue;
    sent.push_back(k);
    batch.push_back(make_op(std::move(items[k])));
  }

  auto merge = [decided = std::move(decided), ids = std::move(ids), sent,
                done = std::move(done)](std::vector<ItemResult> from_writer) mutable {
    std::vector<ItemResult> out(decided.size());
    for (size_t k = 0; k < decided.size(); ++k)
      if (decided[k]) out[k] = std::move(*decided[k]);
    for (size_t b = 0; b < sent.size(); ++b) {
      size_t k = sent[b];
      if (b < from_writer.size()) {
        out[k] = std::move(from_writer[b]);
      } else {
        // The ledger answers every item; a short answer is a ledger bug, reported per item
        // rather than as a crash of the server.
        out[k] = ItemResult::error(reject(Code::internal, "internal: no result for this item"));
      }
      if (out[k].id.empty()) out[k].id = ids[k];
    }
    done(std::move(out));
  };

  if (batch.empty()) {
    merge({});
    return;
  }
  ledger_->submit(std::move(batch), std::move(merge));
}

std::vector<ItemResult> Service::post_and_wait(std::vector<PostItem> items, const RoleSet& roles) {
  std::promise<std::vector<ItemResult>> p;
  auto f = p.get_future();
  post(std::move(items), roles, [&p](std::vector<ItemResult> r) { p.set_value(std::move(r)); });
  return f.get();
}

ItemResult Service::close_period(TimeNs end_exclusive) {
  Batch b;
  b.push_back(make_close_period(end_exclusive));
  auto r = ledger_->submit_and_wait(std::move(b));
  TALLY_ASSERT(r.size() == 1, "one result per item");
  return std::move(r[0]);
}

}  // namespace tally
