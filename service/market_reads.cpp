// The marketplace layer's reads (contract in service/market_reads.h).
#include "service/market_reads.h"

#include <date/tz.h>

#include <chrono>
#include <utility>

#include "service/settlement_ops.h"
#include "settlement/tables.h"

namespace tally {

namespace {

Rejection unknown_marketplace(const std::string& name) {
  return reject(Code::unknown_marketplace,
                "marketplace: \"" + name + "\" is not in the server's config");
}

std::vector<CurrencyTotal> per_currency(const MarketplaceConfig& m, const AmountByCurrency& a) {
  std::vector<CurrencyTotal> out;
  for (const auto& c : m.currencies) out.push_back(CurrencyTotal{c, amount_for(a, c.code())});
  return out;
}

ScheduleView schedule_view(const Schedule& s) {
  ScheduleView v;
  v.form = std::string(schedule_form_name(s));
  if (auto* e = std::get_if<EveryDaysSchedule>(&s)) {
    v.every_days = static_cast<uint32_t>(e->every_days);
    v.anchor = format_date(e->anchor);
  } else if (auto* w = std::get_if<WeeklySchedule>(&s)) {
    for (auto d : w->days) v.weekdays.emplace_back(weekday_name(d));
  } else if (auto* m = std::get_if<MonthlySchedule>(&s)) {
    for (int d : m->days) v.month_days.push_back(static_cast<uint32_t>(d));
  }
  return v;
}

// Today in the marketplace's zone, by the ledger's clock.
Date today_in(const MarketplaceConfig& m, TimeNs now) {
  auto t = date::sys_time<std::chrono::nanoseconds>(std::chrono::nanoseconds(now));
  if (!m.zone) return std::chrono::floor<date::days>(t);
  auto local = date::make_zoned(m.zone, t).get_local_time();
  return Date(std::chrono::floor<date::days>(local).time_since_epoch());
}

}  // namespace

Result<MarketplaceResult> marketplace_op(Service& service, const MarketplaceQuery& query) {
  const MarketplaceConfig* m = service.config().marketplace(query.name);
  if (!m) return unknown_marketplace(query.name);
  const uint32_t n = query.next == 0 ? pay_dates_default : query.next;
  if (n > pay_dates_max)
    return reject(Code::bad_request, "next: " + std::to_string(query.next) +
                                         " pay dates; at most " + std::to_string(pay_dates_max));
  Date from;
  if (query.from) {
    auto d = parse_date(*query.from, "from");
    if (!d) return d.error();
    from = *d;
  } else {
    from = today_in(*m, service.ledger().options().clock());
  }

  MarketplaceResult r;
  r.name = m->name;
  r.currencies = m->currencies;
  r.timezone = m->timezone;
  r.rounding = std::string(rounding_name(m->rounding));
  for (const auto& [category, rate] : m->commission_rate)
    r.commission.push_back(NamedRate{category, rate.to_string()});
  if (m->affiliate_rate) r.affiliate_rate = m->affiliate_rate->to_string();
  r.fee_rate = m->fee_rate.to_string();
  r.fee_fixed = per_currency(*m, m->fee_fixed);
  r.fee_payer = std::string(fee_payer_name(m->fee_payer));
  r.hold_days = static_cast<uint32_t>(m->hold_days);
  r.hold_from = std::string(hold_from_name(m->hold_from));
  r.schedule = schedule_view(m->schedule);
  r.minimum_payout = per_currency(*m, m->minimum_payout);
  for (Date d : m->holidays) r.holidays.push_back(format_date(d));
  r.payout_account_name = m->payout_account.name;
  r.payout_account_iban = m->payout_account.iban;
  r.payout_account_bic = m->payout_account.bic;
  for (const auto& [name, rule] : m->earning)
    r.earning.push_back(
        EarningRuleView{name, rule.rate.to_string(), per_currency(*m, rule.minimum)});
  if (m->reserve)
    r.reserve = ReserveView{m->reserve->rate.to_string(), static_cast<uint32_t>(m->reserve->days)};
  r.minimum_balance = per_currency(*m, m->minimum_balance);
  if (m->payout_tax)
    r.payout_tax = PayoutTaxView{
        m->payout_tax->rate.to_string(), m->payout_tax->account,
        std::string(rounding_name(m->payout_tax->rounding)),
        m->payout_tax->currency ? std::string(m->payout_tax->currency->code()) : std::string()};
  r.ach = m->ach;
  if (m->co_dispersion) {
    const auto& co = *m->co_dispersion;
    r.co_dispersion =
        CoDispersionView{co.nit_text(), co.company_name, co.bank_code,
                         std::string(co_account_type_name(co.account_type)), co.account};
  }

  // The settlement calendar's own pay dates and cut-offs (one owner: settlement/config.h).
  r.from = format_date(from);
  for (const PayDate& p : next_pay_dates(*m, from, n)) {
    auto cut = cutoff(*m, p.date);
    if (!cut) return cut.error();
    r.pay_dates.push_back(PayDateView{format_date(p.date), format_date(p.scheduled), *cut});
  }
  return r;
}

namespace {

ReserveView reserve_view(const tables::TermsReserve& t) {
  return ReserveView{Rate::from_numerator(t.rate_numerator).to_string(),
                     static_cast<uint32_t>(t.days)};
}

PayeeHoldView hold_view(const MarketplaceConfig& m, const tables::Hold& h) {
  PayeeHoldView v;
  v.origin = h.origin;
  // A hold's currency is one of the marketplace's (the rules check it when they post it).
  auto c = m.currency(h.currency);
  v.currency = c ? *c : Currency();
  v.original = Amount::from_minor(h.value.original);
  v.remaining = Amount::from_minor(h.value.remaining);
  if (h.value.release != tables::kNoRelease) v.release = h.value.release;
  v.created = h.value.created;
  return v;
}

}  // namespace

Result<PayeeResult> payee_op(Service& service, const std::string& marketplace,
                             const std::string& payee) {
  const MarketplaceConfig* m = service.config().marketplace(marketplace);
  if (!m) return unknown_marketplace(marketplace);
  // A payee is an account segment (M:payees:P:...): anything else names no payee.
  if (auto ok = validate_account_name(payee, "payee"); !ok) return ok.error();
  if (payee.find(':') != std::string::npos)
    return reject(Code::bad_account_name, "payee: one account segment, without ':'");

  auto snap = service.snapshot();
  const auto h = tables::Handles::of(service.ledger());
  PayeeResult r;
  r.marketplace = marketplace;
  r.payee = payee;
  if (auto st = tables::payee_state(*snap, h, marketplace, payee)) {
    r.on_hold = st->on_hold;
    r.hold_reason = st->reason;
    r.hold_since = st->since;
  }
  const std::string prefix = tables::payee_key(marketplace, payee) + '\0';
  snap->scan(h.payee_details, prefix, [&](std::string_view k, std::string_view v) {
    if (k.substr(0, prefix.size()) != prefix) return false;
    tables::PayeeDetailsValue d;
    if (!tables::decode_payee_details(v, d))
      throw StoreCorruption("payee details of " + marketplace + ":" + payee);
    PayeeDetailsView x{d.at, d.event_id, d.name, d.account, d.bic, std::nullopt, std::nullopt};
    if (d.ach)
      x.ach = PayeeAchFields{d.ach->routing, d.ach->account,
                             std::string(ach_account_type_name(d.ach->account_type)),
                             std::string(ach_receiver_kind_name(d.ach->receiver_kind))};
    if (d.co)
      x.co = PayeeCoFields{d.co->bank_code, std::string(co_account_type_name(d.co->account_type)),
                           d.co->account_number,
                           std::string(co_document_type_name(d.co->document_type)),
                           d.co->document_number};
    r.details.push_back(std::move(x));
    return true;
  });
  snap->scan(h.payee_terms, prefix, [&](std::string_view k, std::string_view v) {
    if (k.substr(0, prefix.size()) != prefix) return false;
    tables::PayeeTermsValue t;
    if (!tables::decode_payee_terms(v, t))
      throw StoreCorruption("payee terms of " + marketplace + ":" + payee);
    PayeeTermsView x;
    x.at = t.at;
    x.event_id = t.event_id;
    if (t.reserve) x.reserve = reserve_view(*t.reserve);
    for (const auto& [code, minor] : t.minimum_balance)
      if (auto c = m->currency(code))
        x.minimum_balance.push_back(CurrencyTotal{*c, Amount::from_minor(minor)});
    r.terms.push_back(std::move(x));
    return true;
  });
  for (const auto& hold : tables::payee_holds(*snap, h, marketplace, payee))
    r.holds.push_back(hold_view(*m, hold));
  for (const auto& res : tables::payee_reserves(*snap, h, marketplace, payee))
    r.reserves.push_back(hold_view(*m, res));

  const bool known = r.hold_since || !r.details.empty() || !r.terms.empty() || !r.holds.empty() ||
                     !r.reserves.empty() ||
                     !snap->accounts(marketplace + ":payees:" + payee).empty();
  if (!known)
    return reject(Code::unknown_payee,
                  "payee: \"" + payee + "\" is unknown in marketplace \"" + marketplace + "\"");
  return r;
}

Result<AccountsPage> accounts_op(Service& service, const AccountsQuery& query) {
  if (!query.prefix.empty())
    if (auto ok = validate_account_name(query.prefix, "prefix"); !ok) return ok.error();
  if (!query.after.empty())
    if (auto ok = validate_account_name(query.after, "after"); !ok) return ok.error();
  if (query.limit > accounts_page_max)
    return reject(Code::bad_request, "limit: " + std::to_string(query.limit) + "; at most " +
                                         std::to_string(accounts_page_max));
  const uint32_t limit = query.limit == 0 ? accounts_page_default : query.limit;
  auto snap = service.snapshot();
  AccountsPage page;
  page.prefix = query.prefix;
  std::vector<std::string> names;
  bool more = false;
  // Names only (no record decoded) up to the page, then the page's records.
  // One seek to the cursor (a cursor that names no account starts at the next name).
  snap->account_names_after(query.prefix, query.after, [&](std::string_view name) {
    if (!account_under(name, query.prefix)) return true;  // "shop" scans "shop2" too
    if (names.size() == limit) {
      more = true;
      return false;
    }
    names.emplace_back(name);
    return true;
  });
  for (const auto& name : names) {
    auto a = snap->account(name);
    if (a) page.accounts.push_back(std::move(*a));
  }
  if (more && !names.empty()) page.next = names.back();
  return page;
}

Result<std::vector<RunSummary>> all_runs_op(Service& service,
                                            const std::optional<std::string>& marketplace) {
  std::vector<RunSummary> out;
  if (marketplace) {
    if (!service.config().marketplace(*marketplace)) return unknown_marketplace(*marketplace);
    return runs_op(service, *marketplace);
  }
  for (const auto& [name, m] : service.config().marketplaces) {
    auto r = runs_op(service, name);
    if (!r) return r.error();
    for (auto& s : *r) out.push_back(std::move(s));
  }
  return out;
}

}  // namespace tally
