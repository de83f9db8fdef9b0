// The auditor's reads of the marketplace layer: `tally marketplace NAME [--next N] [--from DATE]`,
// `tally payee MARKETPLACE PAYEE`, `tally accounts [PREFIX] [--after X] [--limit N]` (docs/cli.md).
// `tally runs [MARKETPLACE]` is in finance_commands.cpp.
#include <charconv>

#include "cli/command_context.h"
#include "ledger/json_writer.h"

namespace tally {

namespace {

// A count option: digits only, at most `max`; *code set to a usage error otherwise.
std::optional<uint32_t> count_option(Ctx& c, const Parsed& p, const std::string& name, uint32_t max,
                                     int* code) {
  auto v = p.value(name);
  if (!v) return std::nullopt;
  uint32_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (v->empty() || ec != std::errc() || end != v->data() + v->size() || n == 0 || n > max) {
    *code = usage_error(c, name + " expects a count 1.." + std::to_string(max) + ", not " + *v);
    return std::nullopt;
  }
  return n;
}

void money_list(JsonWriter& w, std::string_view key, const std::vector<CurrencyTotal>& v) {
  w.key(key).begin_array();
  for (const auto& m : v)
    w.begin_object()
        .field("currency", m.currency.code())
        .field("amount", format_amount(m.balance, m.currency))
        .end_object();
  w.end_array();
}

std::string money_text(const std::vector<CurrencyTotal>& v) {
  std::string out;
  for (const auto& m : v) out += (out.empty() ? "" : ", ") + money(m.balance, m.currency);
  return out.empty() ? "-" : out;
}

void reserve_json(JsonWriter& w, std::string_view key, const std::optional<ReserveView>& r) {
  w.key(key);
  if (!r) {
    w.null();
    return;
  }
  w.begin_object().field("rate", r->rate).key("days").unsigned_number(r->days).end_object();
}

}  // namespace

int cmd_marketplace(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {"--next", "--from"}, {}, p); !e.empty())
    return usage_error(c, e);
  if (p.positional.size() != 1) return usage_error(c, "expects one MARKETPLACE");
  int code = kExitOk;
  MarketplaceQuery q;
  q.name = p.positional[0];
  q.from = p.value("--from");
  q.next = count_option(c, p, "--next", pay_dates_max, &code).value_or(0);
  if (code != kExitOk) return code;
  if (int rc = open_backend(c, false); rc != kExitOk) return rc;
  auto r = c.backend->marketplace(q);
  if (!r.ok()) return report(c, r);
  const MarketplaceResult& m = r.value();
  if (c.g.json) {
    JsonWriter w;
    w.begin_object().field("marketplace", m.name).key("currencies").begin_array();
    for (const auto& cur : m.currencies) w.string(cur.code());
    w.end_array().field("timezone", m.timezone).field("rounding", m.rounding);
    w.key("commission_rate").begin_object();
    for (const auto& n : m.commission) w.field(n.name, n.rate);
    w.end_object().key("affiliate_rate");
    if (m.affiliate_rate)
      w.string(*m.affiliate_rate);
    else
      w.null();
    w.field("fee_rate", m.fee_rate);
    money_list(w, "fee_fixed", m.fee_fixed);
    w.field("fee_payer", m.fee_payer)
        .key("hold_days")
        .unsigned_number(m.hold_days)
        .field("hold_from", m.hold_from);
    w.key("schedule").begin_object().field("form", m.schedule.form);
    if (m.schedule.form == "every_days")
      w.key("every_days").unsigned_number(m.schedule.every_days).field("anchor", m.schedule.anchor);
    if (m.schedule.form == "weekly") {
      w.key("weekly").begin_array();
      for (const auto& d : m.schedule.weekdays) w.string(d);
      w.end_array();
    }
    if (m.schedule.form == "monthly_days") {
      w.key("monthly_days").begin_array();
      for (uint32_t d : m.schedule.month_days) w.unsigned_number(d);
      w.end_array();
    }
    w.end_object();
    money_list(w, "minimum_payout", m.minimum_payout);
    w.key("holidays").begin_array();
    for (const auto& d : m.holidays) w.string(d);
    w.end_array();
    w.key("payout_account")
        .begin_object()
        .field("name", m.payout_account_name)
        .field("iban", m.payout_account_iban)
        .field("bic", m.payout_account_bic)
        .end_object();
    w.key("earning").begin_array();
    for (const auto& e : m.earning) {
      w.begin_object().field("rule", e.name).field("rate", e.rate);
      money_list(w, "minimum", e.minimum);
      w.end_object();
    }
    w.end_array();
    reserve_json(w, "reserve", m.reserve);
    money_list(w, "minimum_balance", m.minimum_balance);
    w.key("payout_tax");
    if (m.payout_tax) {
      w.begin_object()
          .field("rate", m.payout_tax->rate)
          .field("account", m.payout_tax->account)
          .field("rounding", m.payout_tax->rounding)
          .key("currency");
      if (m.payout_tax->currency.empty())
        w.null();
      else
        w.string(m.payout_tax->currency);
      w.end_object();
    } else {
      w.null();
    }
    w.key("ach");
    if (m.ach)
      w.begin_object()
          .field("company_name", m.ach->company_name)
          .field("company_id", m.ach->company_id)
          .field("odfi_routing", m.ach->odfi_routing)
          .field("immediate_destination", m.ach->immediate_destination)
          .field("immediate_destination_name", m.ach->immediate_destination_name)
          .field("immediate_origin", m.ach->immediate_origin)
          .field("immediate_origin_name", m.ach->immediate_origin_name)
          .field("entry_description", m.ach->entry_description)
          .end_object();
    else
      w.null();
    w.key("co_dispersion");
    if (m.co_dispersion)
      w.begin_object()
          .field("company_nit", m.co_dispersion->company_nit)
          .field("company_name", m.co_dispersion->company_name)
          .field("bank_code", m.co_dispersion->bank_code)
          .field("account_type", m.co_dispersion->account_type)
          .field("account", m.co_dispersion->account)
          .end_object();
    else
      w.null();
    w.field("from", m.from).key("pay_dates").begin_array();
    for (const auto& d : m.pay_dates)
      w.begin_object()
          .field("pay_date", d.date)
          .field("scheduled", d.scheduled)
          .field("cutoff", format_rfc3339(d.cutoff))
          .end_object();
    w.end_array().end_object();
    c.out << w.str() << "\n";
    return kExitOk;
  }
  std::string currencies, commission, schedule, holidays, earning;
  for (const auto& cur : m.currencies)
    currencies += (currencies.empty() ? "" : ", ") + std::string(cur.code());
  for (const auto& n : m.commission)
    commission += (commission.empty() ? "" : ", ") + n.name + " " + n.rate;
  schedule = m.schedule.form;
  if (m.schedule.form == "every_days")
    schedule += " " + std::to_string(m.schedule.every_days) + " from " + m.schedule.anchor;
  for (const auto& d : m.schedule.weekdays) schedule += " " + d;
  for (uint32_t d : m.schedule.month_days)
    schedule += " " + (d == MonthlySchedule::last_day ? std::string("last") : std::to_string(d));
  for (const auto& d : m.holidays) holidays += (holidays.empty() ? "" : ", ") + d;
  for (const auto& e : m.earning)
    earning +=
        (earning.empty() ? "" : "; ") + e.name + " " + e.rate + " min " + money_text(e.minimum);
  Table t({false, false});
  t.row({"marketplace", m.name});
  t.row({"currencies", currencies});
  t.row({"timezone", m.timezone});
  t.row({"rounding", m.rounding});
  t.row({"commission", commission});
  t.row({"affiliate rate", m.affiliate_rate.value_or("none")});
  t.row({"fee", m.fee_rate + " + " + money_text(m.fee_fixed) + " (paid by " + m.fee_payer + ")"});
  t.row({"hold", std::to_string(m.hold_days) + " days from " + m.hold_from});
  t.row({"schedule", schedule});
  t.row({"minimum payout", money_text(m.minimum_payout)});
  t.row({"holidays", holidays.empty() ? "-" : holidays});
  t.row({"payout account",
         m.payout_account_name + " " + m.payout_account_iban + " " + m.payout_account_bic});
  t.row({"earning", earning.empty() ? "-" : earning});
  t.row({"reserve", m.reserve
                        ? m.reserve->rate + " for " + std::to_string(m.reserve->days) + " days"
                        : "none"});
  t.row({"minimum balance", money_text(m.minimum_balance)});
  t.row({"payout tax",
         m.payout_tax
             ? m.payout_tax->rate + " to " + m.payout_tax->account + " (" +
                   (m.payout_tax->currency.empty() ? "every currency" : m.payout_tax->currency) +
                   ", " + m.payout_tax->rounding + ")"
             : "none"});
  t.row({"ach", m.ach ? m.ach->company_name + " " + m.ach->company_id : "none"});
  t.row({"co dispersion", m.co_dispersion
                              ? m.co_dispersion->company_name + " " + m.co_dispersion->company_nit
                              : "none"});
  t.print(c.out);
  c.out << "pay dates from " << m.from << ":\n";
  Table d({false, false, false});
  d.row({"PAY DATE", "SCHEDULED", "CUTOFF"});
  for (const auto& x : m.pay_dates) d.row({x.date, x.scheduled, format_rfc3339(x.cutoff)});
  d.print(c.out);
  return kExitOk;
}

namespace {

void holds_json(JsonWriter& w, std::string_view key, const std::vector<PayeeHoldView>& v) {
  w.key(key).begin_array();
  for (const auto& h : v) {
    w.begin_object()
        .field("origin", h.origin)
        .field("currency", h.currency.code())
        .field("original", format_amount(h.original, h.currency))
        .field("remaining", format_amount(h.remaining, h.currency))
        .key("release");
    if (h.release)
      w.string(format_rfc3339(*h.release));
    else
      w.null();
    w.field("created", format_rfc3339(h.created)).end_object();
  }
  w.end_array();
}

void holds_table(Ctx& c, std::string_view title, const std::vector<PayeeHoldView>& v) {
  if (v.empty()) return;
  Table t({false, true, true, false});
  t.row({std::string(title), "ORIGINAL", "REMAINING", "RELEASE"});
  for (const auto& h : v)
    t.row({h.origin, money(h.original, h.currency), money(h.remaining, h.currency),
           h.release ? format_rfc3339(*h.release) : "on delivery"});
  t.print(c.out);
}

}  // namespace

int cmd_payee(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {}, {}, p); !e.empty()) return usage_error(c, e);
  std::string mk, payee;
  if (p.positional.size() == 2) {
    mk = p.positional[0];
    payee = p.positional[1];
  } else if (p.positional.size() == 1 && p.positional[0].find(':') != std::string::npos) {
    // M:P, as `tally hold` names a payee (SPEC section 5).
    mk = p.positional[0].substr(0, p.positional[0].find(':'));
    payee = p.positional[0].substr(p.positional[0].find(':') + 1);
  } else {
    return usage_error(c, "expects MARKETPLACE PAYEE (or MARKETPLACE:PAYEE)");
  }
  if (int rc = open_backend(c, false); rc != kExitOk) return rc;
  auto r = c.backend->payee(mk, payee);
  if (!r.ok()) return report(c, r);
  const PayeeResult& v = r.value();
  if (c.g.json) {
    JsonWriter w;
    w.begin_object().field("marketplace", v.marketplace).field("payee", v.payee);
    w.key("hold").begin_object().key("on").boolean(v.on_hold).field("reason", v.hold_reason);
    w.key("since");
    if (v.hold_since)
      w.string(format_rfc3339(*v.hold_since));
    else
      w.null();
    w.end_object();
    w.key("details").begin_array();
    for (const auto& d : v.details) {
      w.begin_object()
          .field("at", format_rfc3339(d.at))
          .field("id", d.event_id)
          .field("name", d.name)
          .field("account", d.account)
          .field("bic", d.bic);
      if (d.ach)
        w.key("ach")
            .begin_object()
            .field("routing", d.ach->routing)
            .field("account", d.ach->account)
            .field("account_type", d.ach->account_type)
            .field("receiver_kind", d.ach->receiver_kind)
            .end_object();
      if (d.co)
        w.key("co")
            .begin_object()
            .field("bank_code", d.co->bank_code)
            .field("account_type", d.co->account_type)
            .field("account_number", d.co->account_number)
            .field("document_type", d.co->document_type)
            .field("document_number", d.co->document_number)
            .end_object();
      w.end_object();
    }
    w.end_array();
    holds_json(w, "holds", v.holds);
    holds_json(w, "reserves", v.reserves);
    w.key("terms").begin_array();
    for (const auto& t : v.terms) {
      w.begin_object().field("at", format_rfc3339(t.at)).field("id", t.event_id);
      reserve_json(w, "reserve", t.reserve);
      money_list(w, "minimum_balance", t.minimum_balance);
      w.end_object();
    }
    w.end_array().end_object();
    c.out << w.str() << "\n";
    return kExitOk;
  }
  c.out << v.marketplace << ":" << v.payee << ": "
        << (v.on_hold ? "on hold (" + v.hold_reason + ")" : std::string("not on hold"));
  if (v.hold_since) c.out << " since " << format_rfc3339(*v.hold_since);
  c.out << "\n";
  if (v.details.empty()) c.out << "no payee details\n";
  for (const auto& d : v.details) {
    c.out << "details " << format_rfc3339(d.at) << " " << d.event_id << ": " << d.name << " "
          << d.account << (d.bic.empty() ? "" : " " + d.bic);
    if (d.ach) c.out << " ach " << d.ach->routing << " " << d.ach->account;
    if (d.co) c.out << " co " << d.co->bank_code << " " << d.co->account_number;
    c.out << "\n";
  }
  holds_table(c, "HOLD", v.holds);
  holds_table(c, "RESERVE", v.reserves);
  for (const auto& t : v.terms) {
    c.out << "terms " << format_rfc3339(t.at) << " " << t.event_id << ": reserve "
          << (t.reserve ? t.reserve->rate + " for " + std::to_string(t.reserve->days) + " days"
                        : std::string("(the marketplace's)"))
          << ", minimum balance " << money_text(t.minimum_balance) << "\n";
  }
  return kExitOk;
}

int cmd_accounts(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {"--after", "--limit"}, {}, p); !e.empty())
    return usage_error(c, e);
  if (p.positional.size() > 1) return usage_error(c, "expects at most one PREFIX");
  int code = kExitOk;
  AccountsQuery q;
  q.prefix = p.positional.empty() ? "" : p.positional[0];
  q.after = p.value("--after").value_or("");
  q.limit = count_option(c, p, "--limit", accounts_page_max, &code).value_or(0);
  if (code != kExitOk) return code;
  if (int rc = open_backend(c, false); rc != kExitOk) return rc;
  auto r = c.backend->accounts(q);
  if (!r.ok()) return report(c, r);
  const AccountsPage& page = r.value();
  if (c.g.json) {
    JsonWriter w;
    w.begin_object().field("prefix", page.prefix).key("accounts").begin_array();
    for (const auto& a : page.accounts) {
      w.begin_object().field("account", a.name).field("kind", kind_name(a.kind));
      w.key("flags").begin_array();
      if (a.no_overdraft()) w.string("no_overdraft");
      w.end_array().key("currencies").begin_array();
      for (const auto& cur : a.currencies) w.string(cur.code());
      w.end_array().field("state", a.closed() ? "closed" : "open").end_object();
    }
    w.end_array().field("next", page.next).end_object();
    c.out << w.str() << "\n";
    return kExitOk;
  }
  Table t({false, false, false, false, false});
  t.row({"ACCOUNT", "KIND", "CURRENCIES", "FLAGS", "STATE"});
  for (const auto& a : page.accounts) {
    std::string codes;
    for (const auto& cur : a.currencies)
      codes += (codes.empty() ? "" : ",") + std::string(cur.code());
    t.row({a.name, std::string(kind_name(a.kind)), codes, a.no_overdraft() ? "no_overdraft" : "-",
           a.closed() ? "closed" : "open"});
  }
  t.print(c.out);
  if (!page.next.empty()) c.out << "more: --after " << page.next << "\n";
  return kExitOk;
}

}  // namespace tally
