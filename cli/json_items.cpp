#include "cli/json_items.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <initializer_list>

#include "cli/json_fields.h"
#include "ledger/limits.h"
#include "settlement/events.h"

namespace tally {

std::string post_result_line(uint64_t line, const ItemResult& r) {
  JsonWriter w;
  w.begin_object().key("line").unsigned_number(line).key("id");
  if (r.id.empty()) {
    w.null();
  } else {
    w.string(r.id);
  }
  switch (r.status) {
    case ItemStatus::ok:
      w.field("status", "ok");
      break;
    case ItemStatus::duplicate:
      w.field("status", "duplicate");
      break;
    case ItemStatus::error:
      w.field("status", "error");
      break;
  }
  w.field("code", code_name(r.code)).field("message", r.message);
  if (r.ok() && r.seq != 0) {
    w.key("seq").unsigned_number(r.seq);
    if (r.commit_ns != 0) w.field("committed", format_rfc3339(r.commit_ns));
  }
  if (!r.detail.empty()) w.key("detail").raw(r.detail);
  w.end_object();
  return w.take();
}

bool blank_line(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

// ---------------------------------------------------------------------------------------------
// Reading

namespace {

using json_fields::array_field;
using json_fields::bad;
using json_fields::element;
using json_fields::element_type;
using json_fields::id_field;
using json_fields::meta_field;
using json_fields::Obj;
using json_fields::shown_key;
using json_fields::sub_object;
using json_fields::time_field;
using json_fields::type_word;

const std::array<std::string_view, 10> kEventTypes = {
    "sale",         "delivered",  "refund",        "chargeback",    "earning",
    "pass_through", "payee_hold", "payee_details", "payout_result", "payee_terms"};

// payee_terms' body: JSON types only; every value is checked by the rules (Rules::event_op), the
// one owner of each field's validation, with the same field names (reserve.rate, reserve.days,
// minimum_balance.EUR).
Result<PayeeTermsEvent> payee_terms_body(const Obj& o) {
  PayeeTermsEvent t;
  TALLY_TRY(payee, o.string("payee"));
  t.payee = std::move(payee);
  if (auto re = o.get("reserve")) {
    simdjson::dom::object ro;
    if (re->get(ro) != simdjson::SUCCESS)
      return bad(o.path("reserve"),
                 std::string("must be an object, not ") + std::string(type_word(re->type())));
    Obj r(ro, o.path("reserve") + ".");
    TALLY_TRY(ok, r.check({"rate", "days"}));
    (void)ok;
    TALLY_TRY(rate, r.string("rate"));
    TALLY_TRY(de, r.required("days"));
    int64_t days = 0;
    if ((de.type() != element_type::INT64 && de.type() != element_type::UINT64) ||
        de.get(days) != simdjson::SUCCESS)
      return bad(r.path("days"),
                 std::string("must be an integer, not ") + std::string(type_word(de.type())));
    t.reserve = PayeeTermsEvent::Reserve{std::move(rate), days};
  }
  if (auto me = o.get("minimum_balance")) {
    simdjson::dom::object mo;
    if (me->get(mo) != simdjson::SUCCESS)
      return bad(o.path("minimum_balance"),
                 std::string("must be an object of amounts by currency, not ") +
                     std::string(type_word(me->type())));
    for (auto field : mo) {
      std::string code(field.key);
      TALLY_TRY(amount, Obj::amount_of(field.value, o.path("minimum_balance.") + shown_key(code)));
      t.minimum_balance.emplace_back(std::move(code), std::move(amount));
    }
  }
  return t;
}

}  // namespace

struct LineParser::Impl {
  CurrencyLookup currencies;
  simdjson::dom::parser parser;

  Result<Currency> currency(const element& e, const std::string& path) const {
    TALLY_TRY(code, Obj::as_string(e, path));
    if (!valid_currency_code(code))
      return reject(Code::bad_currency, path + ": malformed currency code " + json_string(code));
    auto c = currencies(code);
    if (!c) return reject(Code::bad_currency, path + ": unknown currency " + json_string(code));
    return *c;
  }

  Result<PostItem> open(const Obj& o) {
    TALLY_TRY(ok, o.check({"type", "account", "kind", "currencies", "flags", "linked"}));
    (void)ok;
    PostItem item;
    OpenItem open;
    TALLY_TRY(name, o.string("account"));
    open.account.name = std::move(name);
    TALLY_TRY(kind, o.string("kind"));
    auto k = parse_account_kind(kind);
    if (!k)
      return bad(o.path("kind"),
                 "must be asset, liability, equity, revenue or expense, not " + json_string(kind));
    open.account.kind = *k;
    TALLY_TRY(cs, array_field(o, "currencies"));
    size_t i = 0;
    for (element c : cs) {
      std::string p = o.path("currencies[" + std::to_string(i++) + "]");
      TALLY_TRY(cur, currency(c, p));
      for (auto& have : open.account.currencies)
        if (have.code() == cur.code())
          return bad(p, "duplicate currency " + json_string(cur.code()));
      open.account.currencies.push_back(cur);
    }
    if (open.account.currencies.empty()) return bad(o.path("currencies"), "must not be empty");
    std::sort(open.account.currencies.begin(), open.account.currencies.end());
    if (auto f = o.get("flags")) {
      simdjson::dom::array fa;
      if (f->get(fa) != simdjson::SUCCESS)
        return bad(o.path("flags"),
                   std::string("must be an array, not ") + std::string(type_word(f->type())));
      i = 0;
      for (element fe : fa) {
        std::string p = o.path("flags[" + std::to_string(i++) + "]");
        TALLY_TRY(flag, Obj::as_string(fe, p));
        if (flag != "no_overdraft")
          return bad(p, "unknown flag " + json_string(flag) + " (the only flag is no_overdraft)");
        open.account.flags |= kNoOverdraft;
      }
    }
    TALLY_TRY(linked, o.boolean("linked", false));
    item.linked = linked;
    item.body = std::move(open);
    return item;
  }

  Result<PostItem> entry(const Obj& o) {
    TALLY_TRY(ok, o.check({"type", "id", "at", "kind", "meta", "postings", "linked"}));
    (void)ok;
    Entry e;
    TALLY_TRY(id, id_field(o));
    e.id = std::move(id);
    TALLY_TRY(at, time_field(o, "at"));
    e.at = at;
    TALLY_TRY(kind, o.string("kind"));
    e.kind = std::move(kind);
    TALLY_TRY(meta, meta_field(o));
    e.meta = std::move(meta);
    TALLY_TRY(ps, array_field(o, "postings"));
    size_t i = 0;
    for (element pe : ps) {
      std::string prefix = o.path("postings[" + std::to_string(i++) + "]");
      simdjson::dom::object po;
      if (pe.get(po) != simdjson::SUCCESS)
        return bad(prefix,
                   std::string("must be an object, not ") + std::string(type_word(pe.type())));
      Obj p(po, prefix + ".");
      TALLY_TRY(pok, p.check({"account", "currency", "side", "amount"}));
      (void)pok;
      Posting posting;
      TALLY_TRY(account, p.string("account"));
      posting.account = std::move(account);
      TALLY_TRY(ce, p.required("currency"));
      TALLY_TRY(cur, currency(ce, p.path("currency")));
      posting.currency = cur;
      TALLY_TRY(side, p.string("side"));
      if (side == "debit") {
        posting.side = Side::debit;
      } else if (side == "credit") {
        posting.side = Side::credit;
      } else {
        return bad(p.path("side"), "must be \"debit\" or \"credit\", not " + json_string(side));
      }
      TALLY_TRY(text, p.amount_text("amount"));
      TALLY_TRY(amount, parse_amount(text, cur, p.path("amount")));
      posting.amount = amount;
      e.postings.push_back(std::move(posting));
    }
    TALLY_TRY(linked, o.boolean("linked", false));
    PostItem item;
    item.linked = linked;
    item.body = std::move(e);
    return item;
  }

  Result<PostItem> close(const Obj& o) {
    TALLY_TRY(ok, o.check({"type", "account", "linked"}));
    (void)ok;
    TALLY_TRY(name, o.string("account"));
    TALLY_TRY(linked, o.boolean("linked", false));
    PostItem item;
    item.linked = linked;
    item.body = CloseAccountItem{std::move(name)};
    return item;
  }

  Result<PostItem> asset(const Obj& o) {
    TALLY_TRY(ok, o.check({"type", "code", "exponent", "linked"}));
    (void)ok;
    TALLY_TRY(code, o.string("code"));
    TALLY_TRY(ee, o.required("exponent"));
    int64_t exponent = 0;
    if (ee.type() != element_type::INT64 && ee.type() != element_type::UINT64)
      return bad(o.path("exponent"),
                 std::string("must be an integer 0..18, not ") + std::string(type_word(ee.type())));
    if (ee.get(exponent) != simdjson::SUCCESS || exponent < 0 || exponent > Currency::kExponentMax)
      return reject(Code::bad_currency, o.path("exponent") + ": must be an integer 0..18");
    if (!valid_currency_code(code))
      return reject(Code::bad_currency,
                    o.path("code") + ": must match [A-Z][A-Z0-9]{2,11}, not " + json_string(code));
    TALLY_TRY(linked, o.boolean("linked", false));
    PostItem item;
    item.linked = linked;
    item.body = DeclareAssetItem{std::move(code), static_cast<int>(exponent)};
    return item;
  }

  Result<PostItem> event(const Obj& o, std::string_view type) {
    // Header fields every event has, then the body's.
    std::vector<std::string_view> allowed = {"type", "id", "at", "marketplace", "meta", "linked"};
    auto body_fields = [&]() -> std::vector<std::string_view> {
      if (type == "sale") return {"seller", "amount", "currency", "category", "affiliate"};
      if (type == "delivered") return {"sale"};
      if (type == "refund") return {"sale", "amount"};
      if (type == "chargeback") return {"sale", "amount", "fee"};
      if (type == "earning") return {"payee", "basis", "currency", "rule"};
      if (type == "pass_through") return {"payer", "vendor", "amount", "currency"};
      if (type == "payee_hold") return {"payee", "on", "reason"};
      if (type == "payee_details") return {"payee", "name", "account", "bic", "ach", "co"};
      if (type == "payee_terms") return {"payee", "reserve", "minimum_balance"};
      return {"payout", "status", "reason", "reason_code"};  // payout_result
    }();
    allowed.insert(allowed.end(), body_fields.begin(), body_fields.end());
    TALLY_TRY(ok, o.check(allowed));
    (void)ok;

    Event ev;
    TALLY_TRY(id, id_field(o));
    ev.header.id = std::move(id);
    TALLY_TRY(at, time_field(o, "at"));
    ev.header.at = at;
    TALLY_TRY(mk, o.string("marketplace"));
    ev.header.marketplace = std::move(mk);
    TALLY_TRY(meta, meta_field(o));
    ev.header.meta = std::move(meta);

    if (type == "sale") {
      SaleEvent s;
      TALLY_TRY(seller, o.string("seller"));
      TALLY_TRY(amount, o.amount_text("amount"));
      TALLY_TRY(cur, o.string("currency"));
      TALLY_TRY(category, o.string("category"));
      TALLY_TRY(affiliate, o.optional_string("affiliate"));
      s.seller = std::move(seller);
      s.amount = std::move(amount);
      s.currency = std::move(cur);
      s.category = std::move(category);
      s.affiliate = std::move(affiliate);
      ev.body = std::move(s);
    } else if (type == "delivered") {
      TALLY_TRY(sale, o.string("sale"));
      ev.body = DeliveredEvent{std::move(sale)};
    } else if (type == "refund") {
      TALLY_TRY(sale, o.string("sale"));
      TALLY_TRY(amount, o.amount_text("amount"));
      ev.body = RefundEvent{std::move(sale), std::move(amount)};
    } else if (type == "chargeback") {
      TALLY_TRY(sale, o.string("sale"));
      TALLY_TRY(amount, o.amount_text("amount"));
      TALLY_TRY(fee, o.optional_amount_text("fee"));
      ev.body = ChargebackEvent{std::move(sale), std::move(amount), std::move(fee)};
    } else if (type == "earning") {
      EarningEvent s;
      TALLY_TRY(payee, o.string("payee"));
      TALLY_TRY(basis, o.amount_text("basis"));
      TALLY_TRY(cur, o.string("currency"));
      TALLY_TRY(rule, o.string("rule"));
      s.payee = std::move(payee);
      s.basis = std::move(basis);
      s.currency = std::move(cur);
      s.rule = std::move(rule);
      ev.body = std::move(s);
    } else if (type == "pass_through") {
      PassThroughEvent s;
      TALLY_TRY(payer, o.string("payer"));
      TALLY_TRY(vendor, o.string("vendor"));
      TALLY_TRY(amount, o.amount_text("amount"));
      TALLY_TRY(cur, o.string("currency"));
      s.payer = std::move(payer);
      s.vendor = std::move(vendor);
      s.amount = std::move(amount);
      s.currency = std::move(cur);
      ev.body = std::move(s);
    } else if (type == "payee_hold") {
      PayeeHoldEvent s;
      TALLY_TRY(payee, o.string("payee"));
      TALLY_TRY(on, o.boolean("on", std::nullopt));
      TALLY_TRY(reason, o.string("reason"));
      s.payee = std::move(payee);
      s.on = on;
      s.reason = std::move(reason);
      ev.body = std::move(s);
    } else if (type == "payee_details") {
      PayeeDetailsEvent s;
      TALLY_TRY(payee, o.string("payee"));
      TALLY_TRY(name, o.string("name"));
      TALLY_TRY(account, o.string("account"));
      TALLY_TRY(bic, o.optional_string("bic"));
      s.payee = std::move(payee);
      s.name = std::move(name);
      s.account = std::move(account);
      s.bic = bic.value_or("");
      // The rails' details (SPEC section 8): objects of strings, every field required.
      TALLY_TRY(ach, sub_object(o, "ach", {"routing", "account", "account_type", "receiver_kind"}));
      if (ach) s.ach = PayeeAchFields{(*ach)[0], (*ach)[1], (*ach)[2], (*ach)[3]};
      TALLY_TRY(co, sub_object(o, "co",
                               {"bank_code", "account_type", "account_number", "document_type",
                                "document_number"}));
      if (co) s.co = PayeeCoFields{(*co)[0], (*co)[1], (*co)[2], (*co)[3], (*co)[4]};
      ev.body = std::move(s);
    } else if (type == "payee_terms") {
      TALLY_TRY(terms, payee_terms_body(o));
      ev.body = std::move(terms);
    } else {
      PayoutResultEvent s;
      TALLY_TRY(payout, o.string("payout"));
      TALLY_TRY(status, o.string("status"));
      TALLY_TRY(reason, o.optional_string("reason"));
      TALLY_TRY(reason_code, o.optional_string("reason_code"));
      auto st = parse_payout_result_status(status);
      if (!st)
        return bad(o.path("status"),
                   "must be \"paid\", \"failed\" or \"returned\", not " + json_string(status));
      ev.body = PayoutResultEvent::of(std::move(payout), *st, reason.value_or(""),
                                      reason_code.value_or(""));
    }
    TALLY_TRY(linked, o.boolean("linked", false));
    PostItem item;
    item.linked = linked;
    item.body = std::move(ev);
    return item;
  }
};

LineParser::LineParser(CurrencyLookup currencies) : impl_(std::make_unique<Impl>()) {
  impl_->currencies = std::move(currencies);
}

LineParser::~LineParser() = default;

Result<PostItem> LineParser::parse(std::string_view line, LineInfo* info) {
  if (info) *info = LineInfo{};
  if (line.size() > limits::json_line_bytes_max)
    return bad("line", "longer than " + std::to_string(limits::json_line_bytes_max) + " bytes");
  element root;
  auto err = impl_->parser.parse(line.data(), line.size()).get(root);
  if (err != simdjson::SUCCESS)
    return bad("line", std::string("malformed JSON: ") + simdjson::error_message(err));
  simdjson::dom::object obj;
  if (root.get(obj) != simdjson::SUCCESS)
    return bad("line",
               std::string("must be a JSON object, not ") + std::string(type_word(root.type())));
  Obj o(obj, "");
  // The id the result line reports and the linked flag, read before anything else can fail.
  std::string_view type_hint;
  if (auto te = o.get("type"); te && te->get(type_hint) != simdjson::SUCCESS) type_hint = {};
  if (info) {
    std::string_view id_key = "id";
    if (type_hint == "open" || type_hint == "close") id_key = "account";
    if (type_hint == "asset") id_key = "code";
    if (auto ie = o.get(id_key)) {
      std::string_view s;
      // Cut to the id limit, as the wire cuts the ids it echoes (rpc/wire.h echoed_id): an
      // oversized id is refused and never reported back whole.
      if (ie->get(s) == simdjson::SUCCESS)
        info->id = std::string(s.substr(0, limits::entry_id_bytes_max));
    }
    if (auto le = o.get("linked")) {
      bool b = false;
      if (le->get(b) == simdjson::SUCCESS) info->linked = b;
    }
  }
  TALLY_TRY(type, o.string("type"));

  Result<PostItem> r = [&]() -> Result<PostItem> {
    if (type == "open") return impl_->open(o);
    if (type == "entry") return impl_->entry(o);
    if (type == "close") return impl_->close(o);
    if (type == "asset") return impl_->asset(o);
    if (std::find(kEventTypes.begin(), kEventTypes.end(), type) != kEventTypes.end())
      return impl_->event(o, type);
    return bad("type", "unknown type " + json_string(type) +
                           " (expected open, entry, close, asset, sale, delivered, refund, "
                           "chargeback, earning, pass_through, payee_hold, payee_details, "
                           "payout_result or payee_terms)");
  }();
  return r;
}

}  // namespace tally
