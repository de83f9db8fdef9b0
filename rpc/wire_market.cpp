// The marketplace layer's reads on the wire (contract in rpc/wire_market.h).
#include "rpc/wire_market.h"

#include "rpc/wire_values.h"

namespace tally::wire {

namespace {

void encode_money(capnp::List<CurrencyAmount>::Builder l, const std::vector<CurrencyTotal>& v) {
  for (size_t i = 0; i < v.size(); ++i)
    set_money(l[static_cast<unsigned>(i)], v[i].currency, v[i].balance);
}
Result<std::vector<CurrencyTotal>> decode_money(capnp::List<CurrencyAmount>::Reader l,
                                                std::string_view field) {
  std::vector<CurrencyTotal> out;
  for (size_t i = 0; i < l.size(); ++i) {
    auto m = get_money(l[static_cast<unsigned>(i)], at(field, i));
    if (!m) return m.error();
    out.push_back(*m);
  }
  return out;
}
template <class L>
void encode_texts(L l, const std::vector<std::string>& v) {
  for (size_t i = 0; i < v.size(); ++i) l.set(static_cast<unsigned>(i), text_of(v[i]));
}
std::vector<std::string> decode_texts(capnp::List<capnp::Text>::Reader l) {
  std::vector<std::string> out;
  for (auto t : l) out.push_back(text(t));
  return out;
}

void encode_reserve(ReserveInfo::Builder b, const ReserveView& v) {
  b.setRate(text_of(v.rate));
  b.setDays(v.days);
}
ReserveView decode_reserve(ReserveInfo::Reader r) {
  return ReserveView{text(r.getRate()), r.getDays()};
}

void encode_hold(PayeeHoldInfo::Builder b, const PayeeHoldView& v) {
  b.setOrigin(text_of(v.origin));
  b.setCurrency(text_of(v.currency.code()));
  b.setOriginal(text_of(format_amount(v.original, v.currency)));
  b.setRemaining(text_of(format_amount(v.remaining, v.currency)));
  b.setReleaseKnown(v.release.has_value());
  b.setRelease(v.release.value_or(0));
  b.setCreated(v.created);
}
Result<PayeeHoldView> decode_hold(PayeeHoldInfo::Reader r, std::string_view field) {
  PayeeHoldView v;
  v.origin = text(r.getOrigin());
  auto original =
      money_from_text(r.getCurrency(), r.getOriginal(), std::string(field) + ".original");
  if (!original) return original.error();
  v.currency = original->currency;
  v.original = original->balance;
  auto remaining = amount_in(v.currency, r.getRemaining(), std::string(field) + ".remaining");
  if (!remaining) return remaining.error();
  v.remaining = *remaining;
  if (r.getReleaseKnown()) v.release = r.getRelease();
  v.created = r.getCreated();
  return v;
}

}  // namespace

void encode(MarketplaceInfo::Builder b, const tally::MarketplaceResult& v) {
  b.setName(text_of(v.name));
  auto cl = b.initCurrencies(static_cast<unsigned>(v.currencies.size()));
  for (size_t i = 0; i < v.currencies.size(); ++i)
    set_currency(cl[static_cast<unsigned>(i)], v.currencies[i]);
  b.setTimezone(text_of(v.timezone));
  b.setRounding(text_of(v.rounding));
  auto com = b.initCommission(static_cast<unsigned>(v.commission.size()));
  for (size_t i = 0; i < v.commission.size(); ++i) {
    com[static_cast<unsigned>(i)].setName(text_of(v.commission[i].name));
    com[static_cast<unsigned>(i)].setRate(text_of(v.commission[i].rate));
  }
  if (v.affiliate_rate) b.setAffiliateRate(text_of(*v.affiliate_rate));
  b.setFeeRate(text_of(v.fee_rate));
  encode_money(b.initFeeFixed(static_cast<unsigned>(v.fee_fixed.size())), v.fee_fixed);
  b.setFeePayer(text_of(v.fee_payer));
  b.setHoldDays(v.hold_days);
  b.setHoldFrom(text_of(v.hold_from));
  auto s = b.initSchedule();
  s.setForm(text_of(v.schedule.form));
  s.setEveryDays(v.schedule.every_days);
  s.setAnchor(text_of(v.schedule.anchor));
  encode_texts(s.initWeekdays(static_cast<unsigned>(v.schedule.weekdays.size())),
               v.schedule.weekdays);
  auto md = s.initMonthDays(static_cast<unsigned>(v.schedule.month_days.size()));
  for (size_t i = 0; i < v.schedule.month_days.size(); ++i)
    md.set(static_cast<unsigned>(i), v.schedule.month_days[i]);
  encode_money(b.initMinimumPayout(static_cast<unsigned>(v.minimum_payout.size())),
               v.minimum_payout);
  encode_texts(b.initHolidays(static_cast<unsigned>(v.holidays.size())), v.holidays);
  b.setPayoutAccountName(text_of(v.payout_account_name));
  b.setPayoutAccountIban(text_of(v.payout_account_iban));
  b.setPayoutAccountBic(text_of(v.payout_account_bic));
  auto el = b.initEarning(static_cast<unsigned>(v.earning.size()));
  for (size_t i = 0; i < v.earning.size(); ++i) {
    auto e = el[static_cast<unsigned>(i)];
    e.setName(text_of(v.earning[i].name));
    e.setRate(text_of(v.earning[i].rate));
    encode_money(e.initMinimum(static_cast<unsigned>(v.earning[i].minimum.size())),
                 v.earning[i].minimum);
  }
  if (v.reserve) encode_reserve(b.initReserve(), *v.reserve);
  encode_money(b.initMinimumBalance(static_cast<unsigned>(v.minimum_balance.size())),
               v.minimum_balance);
  if (v.payout_tax) {
    auto t = b.initPayoutTax();
    t.setRate(text_of(v.payout_tax->rate));
    t.setAccount(text_of(v.payout_tax->account));
    t.setRounding(text_of(v.payout_tax->rounding));
    t.setCurrency(text_of(v.payout_tax->currency));
  }
  if (v.ach) {
    auto a = b.initAch();
    a.setCompanyName(text_of(v.ach->company_name));
    a.setCompanyId(text_of(v.ach->company_id));
    a.setOdfiRouting(text_of(v.ach->odfi_routing));
    a.setImmediateDestination(text_of(v.ach->immediate_destination));
    a.setImmediateDestinationName(text_of(v.ach->immediate_destination_name));
    a.setImmediateOrigin(text_of(v.ach->immediate_origin));
    a.setImmediateOriginName(text_of(v.ach->immediate_origin_name));
    a.setEntryDescription(text_of(v.ach->entry_description));
  }
  if (v.co_dispersion) {
    auto c = b.initCoDispersion();
    c.setCompanyNit(text_of(v.co_dispersion->company_nit));
    c.setCompanyName(text_of(v.co_dispersion->company_name));
    c.setBankCode(text_of(v.co_dispersion->bank_code));
    c.setAccountType(text_of(v.co_dispersion->account_type));
    c.setAccount(text_of(v.co_dispersion->account));
  }
  b.setFrom(text_of(v.from));
  auto pl = b.initPayDates(static_cast<unsigned>(v.pay_dates.size()));
  for (size_t i = 0; i < v.pay_dates.size(); ++i) {
    auto p = pl[static_cast<unsigned>(i)];
    p.setDate(text_of(v.pay_dates[i].date));
    p.setScheduled(text_of(v.pay_dates[i].scheduled));
    p.setCutoff(v.pay_dates[i].cutoff);
  }
}

Result<tally::MarketplaceResult> decode(MarketplaceInfo::Reader r) {
  tally::MarketplaceResult v;
  v.name = text(r.getName());
  auto cl = r.getCurrencies();
  for (size_t i = 0; i < cl.size(); ++i) {
    auto c = get_currency(cl[static_cast<unsigned>(i)], at("currencies", i));
    if (!c) return c.error();
    v.currencies.push_back(*c);
  }
  v.timezone = text(r.getTimezone());
  v.rounding = text(r.getRounding());
  for (auto c : r.getCommission())
    v.commission.push_back(tally::NamedRate{text(c.getName()), text(c.getRate())});
  v.affiliate_rate = opt_text(r.hasAffiliateRate(), r.getAffiliateRate());
  v.fee_rate = text(r.getFeeRate());
  auto ff = decode_money(r.getFeeFixed(), "feeFixed");
  if (!ff) return ff.error();
  v.fee_fixed = std::move(*ff);
  v.fee_payer = text(r.getFeePayer());
  v.hold_days = r.getHoldDays();
  v.hold_from = text(r.getHoldFrom());
  auto s = r.getSchedule();
  v.schedule.form = text(s.getForm());
  v.schedule.every_days = s.getEveryDays();
  v.schedule.anchor = text(s.getAnchor());
  v.schedule.weekdays = decode_texts(s.getWeekdays());
  for (auto d : s.getMonthDays()) v.schedule.month_days.push_back(d);
  auto mp = decode_money(r.getMinimumPayout(), "minimumPayout");
  if (!mp) return mp.error();
  v.minimum_payout = std::move(*mp);
  v.holidays = decode_texts(r.getHolidays());
  v.payout_account_name = text(r.getPayoutAccountName());
  v.payout_account_iban = text(r.getPayoutAccountIban());
  v.payout_account_bic = text(r.getPayoutAccountBic());
  auto el = r.getEarning();
  for (size_t i = 0; i < el.size(); ++i) {
    auto e = el[static_cast<unsigned>(i)];
    auto min = decode_money(e.getMinimum(), at("earning", i) + ".minimum");
    if (!min) return min.error();
    v.earning.push_back(EarningRuleView{text(e.getName()), text(e.getRate()), std::move(*min)});
  }
  if (r.hasReserve()) v.reserve = decode_reserve(r.getReserve());
  auto mb = decode_money(r.getMinimumBalance(), "minimumBalance");
  if (!mb) return mb.error();
  v.minimum_balance = std::move(*mb);
  if (r.hasPayoutTax()) {
    auto t = r.getPayoutTax();
    v.payout_tax = PayoutTaxView{text(t.getRate()), text(t.getAccount()), text(t.getRounding()),
                                 text(t.getCurrency())};
  }
  if (r.hasAch()) {
    auto a = r.getAch();
    AchOriginator o;
    o.company_name = text(a.getCompanyName());
    o.company_id = text(a.getCompanyId());
    o.odfi_routing = text(a.getOdfiRouting());
    o.immediate_destination = text(a.getImmediateDestination());
    o.immediate_destination_name = text(a.getImmediateDestinationName());
    o.immediate_origin = text(a.getImmediateOrigin());
    o.immediate_origin_name = text(a.getImmediateOriginName());
    o.entry_description = text(a.getEntryDescription());
    v.ach = std::move(o);
  }
  if (r.hasCoDispersion()) {
    auto c = r.getCoDispersion();
    v.co_dispersion =
        CoDispersionView{text(c.getCompanyNit()), text(c.getCompanyName()), text(c.getBankCode()),
                         text(c.getAccountType()), text(c.getAccount())};
  }
  v.from = text(r.getFrom());
  for (auto p : r.getPayDates())
    v.pay_dates.push_back(PayDateView{text(p.getDate()), text(p.getScheduled()), p.getCutoff()});
  return v;
}

void encode(PayeeInfo::Builder b, const tally::PayeeResult& v) {
  b.setMarketplace(text_of(v.marketplace));
  b.setPayee(text_of(v.payee));
  b.setOnHold(v.on_hold);
  b.setHoldReason(text_of(v.hold_reason));
  b.setHoldKnown(v.hold_since.has_value());
  b.setHoldSince(v.hold_since.value_or(0));
  auto dl = b.initDetails(static_cast<unsigned>(v.details.size()));
  for (size_t i = 0; i < v.details.size(); ++i) {
    auto d = dl[static_cast<unsigned>(i)];
    const auto& x = v.details[i];
    d.setAt(x.at);
    d.setEventId(text_of(x.event_id));
    d.setName(text_of(x.name));
    d.setAccount(text_of(x.account));
    d.setBic(text_of(x.bic));
    if (x.ach) {
      auto a = d.initAch();
      a.setRouting(text_of(x.ach->routing));
      a.setAccount(text_of(x.ach->account));
      a.setAccountType(text_of(x.ach->account_type));
      a.setReceiverKind(text_of(x.ach->receiver_kind));
    }
    if (x.co) {
      auto c = d.initCo();
      c.setBankCode(text_of(x.co->bank_code));
      c.setAccountType(text_of(x.co->account_type));
      c.setAccountNumber(text_of(x.co->account_number));
      c.setDocumentType(text_of(x.co->document_type));
      c.setDocumentNumber(text_of(x.co->document_number));
    }
  }
  auto hl = b.initHolds(static_cast<unsigned>(v.holds.size()));
  for (size_t i = 0; i < v.holds.size(); ++i) encode_hold(hl[static_cast<unsigned>(i)], v.holds[i]);
  auto rl = b.initReserves(static_cast<unsigned>(v.reserves.size()));
  for (size_t i = 0; i < v.reserves.size(); ++i)
    encode_hold(rl[static_cast<unsigned>(i)], v.reserves[i]);
  auto tl = b.initTerms(static_cast<unsigned>(v.terms.size()));
  for (size_t i = 0; i < v.terms.size(); ++i) {
    auto t = tl[static_cast<unsigned>(i)];
    const auto& x = v.terms[i];
    t.setAt(x.at);
    t.setEventId(text_of(x.event_id));
    if (x.reserve) encode_reserve(t.initReserve(), *x.reserve);
    encode_money(t.initMinimumBalance(static_cast<unsigned>(x.minimum_balance.size())),
                 x.minimum_balance);
  }
}

Result<tally::PayeeResult> decode(PayeeInfo::Reader r) {
  tally::PayeeResult v;
  v.marketplace = text(r.getMarketplace());
  v.payee = text(r.getPayee());
  v.on_hold = r.getOnHold();
  v.hold_reason = text(r.getHoldReason());
  if (r.getHoldKnown()) v.hold_since = r.getHoldSince();
  for (auto d : r.getDetails()) {
    PayeeDetailsView x;
    x.at = d.getAt();
    x.event_id = text(d.getEventId());
    x.name = text(d.getName());
    x.account = text(d.getAccount());
    x.bic = text(d.getBic());
    if (d.hasAch()) {
      auto a = d.getAch();
      x.ach = PayeeAchFields{text(a.getRouting()), text(a.getAccount()), text(a.getAccountType()),
                             text(a.getReceiverKind())};
    }
    if (d.hasCo()) {
      auto c = d.getCo();
      x.co =
          PayeeCoFields{text(c.getBankCode()), text(c.getAccountType()), text(c.getAccountNumber()),
                        text(c.getDocumentType()), text(c.getDocumentNumber())};
    }
    v.details.push_back(std::move(x));
  }
  auto hl = r.getHolds();
  for (size_t i = 0; i < hl.size(); ++i) {
    auto h = decode_hold(hl[static_cast<unsigned>(i)], at("holds", i));
    if (!h) return h.error();
    v.holds.push_back(std::move(*h));
  }
  auto rl = r.getReserves();
  for (size_t i = 0; i < rl.size(); ++i) {
    auto h = decode_hold(rl[static_cast<unsigned>(i)], at("reserves", i));
    if (!h) return h.error();
    v.reserves.push_back(std::move(*h));
  }
  auto tl = r.getTerms();
  for (size_t i = 0; i < tl.size(); ++i) {
    auto t = tl[static_cast<unsigned>(i)];
    PayeeTermsView x;
    x.at = t.getAt();
    x.event_id = text(t.getEventId());
    if (t.hasReserve()) x.reserve = decode_reserve(t.getReserve());
    auto mb = decode_money(t.getMinimumBalance(), at("terms", i) + ".minimumBalance");
    if (!mb) return mb.error();
    x.minimum_balance = std::move(*mb);
    v.terms.push_back(std::move(x));
  }
  return v;
}

void encode(AccountPage::Builder b, const tally::AccountsPage& v) {
  b.setPrefix(text_of(v.prefix));
  b.setNext(text_of(v.next));
  auto l = b.initAccounts(static_cast<unsigned>(v.accounts.size()));
  for (size_t i = 0; i < v.accounts.size(); ++i) {
    auto e = l[static_cast<unsigned>(i)];
    const Account& a = v.accounts[i];
    e.setAccount(text_of(a.name));
    e.setKind(kind_to_wire(a.kind));
    e.setNoOverdraft(a.no_overdraft());
    e.setClosed(a.closed());
    auto cl = e.initCurrencies(static_cast<unsigned>(a.currencies.size()));
    for (size_t j = 0; j < a.currencies.size(); ++j)
      set_currency(cl[static_cast<unsigned>(j)], a.currencies[j]);
  }
}

Result<tally::AccountsPage> decode(AccountPage::Reader r) {
  tally::AccountsPage v;
  v.prefix = text(r.getPrefix());
  v.next = text(r.getNext());
  auto l = r.getAccounts();
  for (size_t i = 0; i < l.size(); ++i) {
    auto e = l[static_cast<unsigned>(i)];
    Account a;
    a.name = text(e.getAccount());
    auto k = kind_from_wire(e.getKind(), at("accounts", i) + ".kind");
    if (!k) return k.error();
    a.kind = *k;
    a.flags = static_cast<uint8_t>((e.getNoOverdraft() ? kNoOverdraft : 0) |
                                   (e.getClosed() ? kClosed : 0));
    auto cl = e.getCurrencies();
    for (size_t j = 0; j < cl.size(); ++j) {
      auto c = get_currency(cl[static_cast<unsigned>(j)], at(at("accounts", i) + ".currencies", j));
      if (!c) return c.error();
      a.currencies.push_back(*c);
    }
    v.accounts.push_back(std::move(a));
  }
  return v;
}

void encode(RunList::Builder b, const std::optional<std::string>& marketplace,
            const std::vector<tally::RunSummary>& runs) {
  if (marketplace) b.setMarketplace(text_of(*marketplace));
  auto l = b.initRuns(static_cast<unsigned>(runs.size()));
  for (size_t i = 0; i < runs.size(); ++i) encode(l[static_cast<unsigned>(i)], runs[i]);
}

Result<std::vector<tally::RunSummary>> decode(RunList::Reader r) {
  std::vector<tally::RunSummary> out;
  auto l = r.getRuns();
  for (size_t i = 0; i < l.size(); ++i) {
    auto x = decode(l[static_cast<unsigned>(i)]);
    if (!x) return x.error();
    out.push_back(std::move(*x));
  }
  return out;
}

}  // namespace tally::wire
