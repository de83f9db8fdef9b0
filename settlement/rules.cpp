// Marketplace events to ledger entries. Every op follows one shape: check the id, run every
// rejection check against the books, then write (accounts on first use, the entry, holds, the
// sale record) inside a savepoint when accounts must be opened first. docs/accounting.md has a
// worked example of each entry.
#include "settlement/rules.h"

#include <algorithm>

#include "ledger/codec.h"
#include "settlement/breakdown.h"
#include "settlement/chart.h"
#include "settlement/entry_builder.h"
#include "settlement/hold_rows.h"
#include "settlement/payout_lifecycle.h"

namespace tally {

namespace {

using tables::Hold;
using tables::HoldValue;
using tables::kNoRelease;
using tables::SaleValue;

using AccountSpec = ChartAccount;

class EventOp final : public WriteOp {
 public:
  EventOp(const Rules& rules, Event ev)
      : rules_(rules),
        h_(rules.tables()),
        ev_(std::move(ev)),
        digest_(sha256("event", canonical_event_bytes(ev_))) {}

  ItemResult apply(WriteTxn& t) override {
    const EventHeader& hd = ev_.header;
    if (auto r = validate_client_id(hd.id, "id"); !r) return fail(r.error());
    // Every event's meta, whatever its type (a sale's also goes into its entry).
    if (auto r = validate_meta(hd.meta, "meta"); !r) return fail(r.error());
    if (auto dup = t.check_id(hd.id, digest_)) {
      // The same content: the original's seq, commit time and breakdown.
      if (dup->status == ItemStatus::duplicate) dup->detail = original_detail(t, h_, ev_);
      return *dup;
    }
    if (auto v = t.get(h_.events, hd.id)) {
      if (*v == std::string_view(reinterpret_cast<const char*>(digest_.data()), digest_.size())) {
        ItemResult r;
        r.status = ItemStatus::duplicate;
        r.id = hd.id;
        return r;
      }
      return fail(reject(Code::id_conflict,
                         "id: \"" + hd.id + "\" was already used with different content"));
    }
    mk_ = rules_.config().marketplace(hd.marketplace);
    if (!mk_)
      return fail(
          reject(Code::unknown_marketplace,
                 "marketplace: \"" + hd.marketplace.substr(0, 64) + "\" is not configured"));
    return std::visit([&](const auto& body) { return on(t, body); }, ev_.body);
  }

 private:
  ItemResult fail(Rejection r) const { return ItemResult::error(std::move(r), ev_.header.id); }

  static Result<bool> check_segment(std::string_view v, std::string_view field) {
    bool ok = !v.empty() && v.size() <= 64 && v.find(':') == std::string_view::npos;
    if (ok) ok = validate_account_name(v, field).ok();
    if (!ok)
      return reject(Code::bad_request, std::string(field) + ": \"" + std::string(v.substr(0, 64)) +
                                           "\" must be 1..64 bytes of [a-z0-9][a-z0-9_.-]*");
    return true;
  }

  Result<Currency> mk_currency(std::string_view code, std::string_view field) const {
    auto c = mk_->currency(code);
    if (!c)
      return reject(Code::currency_not_allowed, std::string(field) + ": marketplace " + mk_->name +
                                                    " does not take \"" +
                                                    std::string(code.substr(0, 16)) + "\"");
    return *c;
  }

  static Result<Amount> positive(std::string_view text, const Currency& c, std::string_view field) {
    auto a = parse_amount(text, c, field);
    if (!a) return a.error();
    if (!a->is_positive())
      return reject(Code::bad_amount,
                    std::string(field) + ": " + format_amount(*a, c) + " must be > 0");
    return *a;
  }

  // Opens what is missing (inside a savepoint when anything is), prepares the entry, and
  // applies it together with `extra` writes. Any rejection undoes the savepoint: nothing changed.
  template <class Extra>
  ItemResult post(WriteTxn& t, const std::vector<AccountSpec>& specs, Entry entry, Extra extra,
                  std::string detail = {}) {
    auto need = check_chart_accounts(t, *mk_, specs);
    if (!need) return fail(need.error());
    if (*need) {
      t.begin_savepoint();
      open_chart_accounts(t, *mk_, specs);
    }
    auto prepared = t.prepare_entry(std::move(entry), digest_);
    if (!prepared) {
      if (*need) t.end_savepoint(false);
      return fail(prepared.error());
    }
    Committed c = t.apply_entry(*prepared);
    extra();
    if (*need) t.end_savepoint(true);
    ItemResult r;
    r.id = ev_.header.id;
    r.seq = c.seq;
    r.commit_ns = c.commit_ns;
    r.detail = std::move(detail);
    return r;
  }

  void record_event(WriteTxn& t) {
    t.put(h_.events, ev_.header.id,
          std::string_view(reinterpret_cast<const char*>(digest_.data()), digest_.size()));
  }

  ItemResult ok_no_entry(std::string detail = {}) const {
    ItemResult r;
    r.id = ev_.header.id;
    r.detail = std::move(detail);
    return r;
  }

  // This marketplace's holds and reserves.
  HoldRows rows() const { return HoldRows(h_, mk_->name); }

  TimeNs release_from(TimeNs start) const {
    return start + static_cast<TimeNs>(mk_->hold_days) * kNsPerDay;
  }

  std::vector<AccountSpec> payee_accounts(const std::string& payee) const {
    return payee_chart_accounts(*mk_, payee);
  }

  // --- sale -----------------------------------------------------------------------------------
  ItemResult on(WriteTxn& t, const SaleEvent& s) {
    if (auto r = check_segment(s.seller, "seller"); !r) return fail(r.error());
    auto c = mk_currency(s.currency, "currency");
    if (!c) return fail(c.error());
    auto a = positive(s.amount, *c, "amount");
    if (!a) return fail(a.error());
    auto rate = mk_->commission_rate.find(s.category);
    if (rate == mk_->commission_rate.end()) {
      std::string known;
      for (const auto& [k, v] : mk_->commission_rate) known += (known.empty() ? "" : ", ") + k;
      return fail(reject(Code::bad_request,
                         "category: \"" + s.category.substr(0, 64) + "\" is not one of " + known));
    }
    if (s.affiliate) {
      if (auto r = check_segment(*s.affiliate, "affiliate"); !r) return fail(r.error());
      // One hold per (payee, sale): a seller cannot also take the affiliate share of its own sale.
      if (*s.affiliate == s.seller)
        return fail(reject(
            Code::bad_request,
            "affiliate: \"" + s.seller + "\" is the seller; a seller cannot be its own affiliate"));
      if (!mk_->affiliate_rate)
        return fail(reject(Code::bad_request,
                           "affiliate: marketplace " + mk_->name + " has no affiliate_rate"));
    }
    const i128 amount = a->minor();
    auto overflow = [&](const char* what) {
      return fail(reject(Code::overflow, std::string("amount: the ") + what + " overflows"));
    };
    auto C = apply_rate(*a, rate->second, mk_->rounding);
    if (!C) return overflow("commission");
    Amount A;
    if (s.affiliate) {
      auto x = apply_rate(*a, *mk_->affiliate_rate, mk_->rounding);
      if (!x) return overflow("affiliate share");
      A = *x;
    }
    if (A > *C)
      return fail(reject(Code::affiliate_exceeds_commission,
                         "affiliate: share " + format_amount(A, *c) + " exceeds the commission " +
                             format_amount(*C, *c)));
    auto F0 = apply_rate(*a, mk_->fee_rate, mk_->rounding);
    if (!F0) return overflow("fee");
    auto F = checked_add(*F0, mk_->fee_fixed_for(c->code()));
    if (!F) return overflow("fee");
    const bool fee_on_payee = mk_->fee_payer == FeePayer::payee;
    const i128 seller = amount - C->minor() - (fee_on_payee ? F->minor() : 0);
    if (seller < 0 || F->minor() > amount)
      return fail(reject(Code::fees_exceed_amount,
                         "amount: " + format_amount(*a, *c) + " does not cover commission " +
                             format_amount(*C, *c) + " and bank fee " + format_amount(*F, *c)));
    const std::string& mk = mk_->name;
    std::vector<AccountSpec> specs = {{tables::cash(mk), AccountKind::asset, 0},
                                      {tables::bank_fees(mk), AccountKind::expense, 0},
                                      {tables::commission(mk), AccountKind::revenue, 0}};
    if (fee_on_payee) specs.push_back({tables::fee_recharge(mk), AccountKind::revenue, 0});
    for (auto& x : payee_accounts(s.seller)) specs.push_back(x);
    if (s.affiliate)
      for (auto& x : payee_accounts(*s.affiliate)) specs.push_back(x);

    EntryBuilder b(ev_.header, "sale");
    b.add(tables::cash(mk), *c, Side::debit, amount - F->minor());
    b.add(tables::bank_fees(mk), *c, Side::debit, F->minor());
    b.add(tables::pending(mk, s.seller), *c, Side::credit, seller);
    if (fee_on_payee) b.add(tables::fee_recharge(mk), *c, Side::credit, F->minor());
    b.add(tables::commission(mk), *c, Side::credit, C->minor() - A.minor());
    if (s.affiliate) b.add(tables::pending(mk, *s.affiliate), *c, Side::credit, A.minor());

    TimeNs release = mk_->hold_from == HoldFrom::sale ? release_from(ev_.header.at) : kNoRelease;
    SaleValue sv;
    sv.marketplace = mk, sv.seller = s.seller, sv.affiliate = s.affiliate.value_or("");
    sv.currency = std::string(c->code());
    sv.amount = amount, sv.commission = C->minor(), sv.affiliate_share = A.minor();
    sv.fee = F->minor(), sv.fee_on_payee = fee_on_payee, sv.at = ev_.header.at;
    std::string detail = sale_detail(sv, *c);
    return post(
        t, specs, std::move(b.entry()),
        [&] {
          rows().put_hold(t, s.seller, *c, ev_.header.id, seller, release, ev_.header.at);
          if (s.affiliate)
            rows().put_hold(t, *s.affiliate, *c, ev_.header.id, A.minor(), release, ev_.header.at);
          t.put(h_.sales, ev_.header.id, tables::encode_sale(sv));
        },
        std::move(detail));
  }

  Result<SaleValue> find_sale(WriteTxn& t, const std::string& id) const {
    auto v = t.get(h_.sales, id);
    SaleValue sv;
    if (!v)
      return reject(Code::unknown_sale,
                    "sale: \"" + id.substr(0, 128) + "\" is not a recorded sale");
    if (!tables::decode_sale(*v, sv)) throw StoreCorruption("sale " + id);
    if (sv.marketplace != mk_->name)
      return reject(Code::unknown_sale,
                    "sale: \"" + id + "\" belongs to marketplace " + sv.marketplace);
    return sv;
  }

  // --- delivered ------------------------------------------------------------------------------
  ItemResult on(WriteTxn& t, const DeliveredEvent& d) {
    auto sale = find_sale(t, d.sale);
    if (!sale) return fail(sale.error());
    if (sale->delivered != kNoRelease) {
      // A second delivery of the same sale changes nothing: the first one started the hold.
      record_event(t);
      return ok_no_entry("{\"changed\":false}");
    }
    if (mk_->hold_from == HoldFrom::delivery) {
      TimeNs release = release_from(ev_.header.at);
      std::vector<std::string> parties = {sale->seller};
      if (!sale->affiliate.empty()) parties.push_back(sale->affiliate);
      for (const auto& p : parties) {
        auto hv = rows().get_hold(t, p, sale->currency, d.sale);
        if (!hv || hv->release != kNoRelease) continue;
        rows().set_hold_release(t, p, sale->currency, d.sale, *hv, release);
      }
    }
    sale->delivered = ev_.header.at;
    t.put(h_.sales, d.sale, tables::encode_sale(*sale));
    record_event(t);
    return ok_no_entry("{\"changed\":true}");
  }

  // --- refund and chargeback ------------------------------------------------------------------
  // The refund split is the allocation of the cumulative refunded amount minus the allocation of
  // what was refunded before, so any sequence of partial refunds adding up to the sale reverses
  // every part exactly.
  ItemResult refund(WriteTxn& t, const std::string& sale_id, const std::string& amount_text,
                    const std::optional<std::string>& fee_text, const char* kind) {
    auto sale = find_sale(t, sale_id);
    if (!sale) return fail(sale.error());
    auto c = mk_currency(sale->currency, "sale");
    if (!c) return fail(c.error());
    auto r = positive(amount_text, *c, "amount");
    if (!r) return fail(r.error());
    Amount fee;
    if (fee_text) {
      auto f = positive(*fee_text, *c, "fee");
      if (!f) return fail(f.error());
      fee = *f;
    }
    i128 total;
    if (__builtin_add_overflow(sale->refunded, r->minor(), &total) || total > sale->amount)
      return fail(reject(Code::refund_exceeds_sale,
                         "amount: refunds of \"" + sale_id + "\" would total more than its " +
                             format_amount(Amount::from_minor(sale->amount), *c) + " (" +
                             format_amount(Amount::from_minor(sale->refunded), *c) +
                             " refunded before)"));
    const std::array<i128, 3> share = refund_split(*sale, total, r->minor());

    const std::string& mk = mk_->name;
    EntryBuilder b(ev_.header, kind);
    b.add(tables::cash(mk), *c, Side::credit, r->minor());
    b.add(tables::commission(mk), *c, Side::debit, share[1]);
    // A payee's share comes first out of what a reserve kept back of this sale, then out of the
    // sale's hold (pending), the rest out of available (docs/accounting.md, "Reserves").
    struct Party {
      std::string payee;
      i128 share;
      std::optional<HoldValue> hold, reserve;
      i128 from_reserve = 0, from_pending = 0;
    };
    std::vector<Party> parties = {{sale->seller, share[0], {}, {}}};
    if (!sale->affiliate.empty()) parties.push_back({sale->affiliate, share[2], {}, {}});
    std::vector<AccountSpec> specs = {{tables::cash(mk), AccountKind::asset, 0},
                                      {tables::commission(mk), AccountKind::revenue, 0}};
    for (auto& p : parties) {
      p.reserve = rows().get_reserve(t, p.payee, sale->currency, sale_id);
      p.from_reserve = p.reserve ? std::min(p.share, p.reserve->remaining) : 0;
      p.hold = rows().get_hold(t, p.payee, sale->currency, sale_id);
      p.from_pending = p.hold ? std::min(p.share - p.from_reserve, p.hold->remaining) : 0;
      b.add(tables::reserve(mk, p.payee), *c, Side::debit, p.from_reserve);
      b.add(tables::pending(mk, p.payee), *c, Side::debit, p.from_pending);
      b.add(tables::available(mk, p.payee), *c, Side::debit,
            p.share - p.from_reserve - p.from_pending);
      for (auto& x : payee_accounts(p.payee)) specs.push_back(x);
      if (p.from_reserve > 0)
        specs.push_back({tables::reserve(mk, p.payee), AccountKind::liability, kNoOverdraft});
    }
    if (fee.is_positive()) {
      // The network takes its fee from the platform's cash; the platform recharges it to the
      // seller.
      b.add(tables::bank_fees(mk), *c, Side::debit, fee.minor());
      b.add(tables::cash(mk), *c, Side::credit, fee.minor());
      b.add(tables::available(mk, sale->seller), *c, Side::debit, fee.minor());
      b.add(tables::fee_recharge(mk), *c, Side::credit, fee.minor());
      specs.push_back({tables::bank_fees(mk), AccountKind::expense, 0});
      specs.push_back({tables::fee_recharge(mk), AccountKind::revenue, 0});
    }
    std::string detail = refund_detail(share, total, *c);
    return post(
        t, specs, std::move(b.entry()),
        [&] {
          for (auto& p : parties) {
            if (p.hold && p.from_pending > 0)
              rows().set_hold_remaining(t, p.payee, sale->currency, sale_id, *p.hold,
                                        p.hold->remaining - p.from_pending);
            if (p.reserve && p.from_reserve > 0)
              rows().set_reserve_remaining(t, p.payee, sale->currency, sale_id, *p.reserve,
                                           p.reserve->remaining - p.from_reserve);
          }
          sale->refunded = total;
          t.put(h_.sales, sale_id, tables::encode_sale(*sale));
          put_breakdown(t, h_, ev_.header.id, tables::BreakdownKind::refund, total, r->minor());
        },
        std::move(detail));
  }
  ItemResult on(WriteTxn& t, const RefundEvent& r) {
    return refund(t, r.sale, r.amount, {}, "refund");
  }
  ItemResult on(WriteTxn& t, const ChargebackEvent& r) {
    return refund(t, r.sale, r.amount, r.fee, "chargeback");
  }

  // --- earning --------------------------------------------------------------------------------
  ItemResult on(WriteTxn& t, const EarningEvent& e) {
    if (auto r = check_segment(e.payee, "payee"); !r) return fail(r.error());
    auto rule = mk_->earning.find(e.rule);
    if (rule == mk_->earning.end())
      return fail(reject(Code::unknown_rule, "rule: marketplace " + mk_->name +
                                                 " has no earning rule \"" + e.rule.substr(0, 64) +
                                                 "\""));
    auto c = mk_currency(e.currency, "currency");
    if (!c) return fail(c.error());
    auto basis = parse_amount(e.basis, *c, "basis");
    if (!basis) return fail(basis.error());
    if (basis->is_negative())
      return fail(
          reject(Code::bad_amount, "basis: " + format_amount(*basis, *c) + " must be >= 0"));
    auto earned = apply_rate(*basis, rule->second.rate, mk_->rounding);
    if (!earned) return fail(reject(Code::overflow, "basis: the earning overflows"));
    Amount minimum = rule->second.minimum_for(c->code());
    Amount pay = earning_paid(*earned, minimum);
    if (!pay.is_positive())
      return fail(reject(Code::bad_amount, "basis: the earning computes to " +
                                               format_amount(pay, *c) +
                                               " and the rule has no minimum"));
    const std::string& mk = mk_->name;
    std::vector<AccountSpec> specs = {{tables::payee_earnings(mk), AccountKind::expense, 0}};
    for (auto& x : payee_accounts(e.payee)) specs.push_back(x);
    EntryBuilder b(ev_.header, "earning");
    b.add(tables::payee_earnings(mk), *c, Side::debit, pay.minor());
    b.add(tables::pending(mk, e.payee), *c, Side::credit, pay.minor());
    std::string detail = earning_detail(*earned, minimum, *c);
    // Earnings have no delivery: their hold always counts from the event.
    return post(
        t, specs, std::move(b.entry()),
        [&] {
          rows().put_hold(t, e.payee, *c, ev_.header.id, pay.minor(), release_from(ev_.header.at),
                          ev_.header.at);
          put_breakdown(t, h_, ev_.header.id, tables::BreakdownKind::earning, earned->minor(),
                        minimum.minor());
        },
        std::move(detail));
  }

  // --- pass-through ---------------------------------------------------------------------------
  ItemResult on(WriteTxn& t, const PassThroughEvent& p) {
    if (auto r = check_segment(p.payer, "payer"); !r) return fail(r.error());
    if (auto r = check_segment(p.vendor, "vendor"); !r) return fail(r.error());
    auto c = mk_currency(p.currency, "currency");
    if (!c) return fail(c.error());
    auto a = positive(p.amount, *c, "amount");
    if (!a) return fail(a.error());
    const std::string& mk = mk_->name;
    std::vector<AccountSpec> specs = payee_accounts(p.payer);
    specs.push_back({tables::payable(mk, p.vendor), AccountKind::liability, 0});
    EntryBuilder b(ev_.header, "pass_through");
    b.add(tables::available(mk, p.payer), *c, Side::debit, a->minor());
    b.add(tables::payable(mk, p.vendor), *c, Side::credit, a->minor());
    return post(t, specs, std::move(b.entry()), [] {});
  }

  // --- payee hold and details -----------------------------------------------------------------
  ItemResult on(WriteTxn& t, const PayeeHoldEvent& p) {
    if (auto r = check_segment(p.payee, "payee"); !r) return fail(r.error());
    if (p.reason.size() > limits::reason_bytes_max)
      return fail(reject(Code::bad_request,
                         "reason: at most " + std::to_string(limits::reason_bytes_max) + " bytes"));
    if (p.on && p.reason.empty())
      return fail(reject(Code::bad_request, "reason: required to put a payee on hold"));
    tables::PayeeValue v{p.on, p.reason, ev_.header.at};
    t.put(h_.payees, tables::payee_key(mk_->name, p.payee), tables::encode_payee(v));
    record_event(t);
    return ok_no_entry();
  }

  ItemResult on(WriteTxn& t, const PayeeDetailsEvent& p) {
    if (auto r = check_segment(p.payee, "payee"); !r) return fail(r.error());
    auto n = bank_text_length(p.name);
    if (!n || *n == 0 || *n > 140)
      return fail(
          reject(Code::bad_request, "name: 1..140 characters of text without control characters"));
    auto acct = bank_text_length(p.account);
    if (!acct || *acct == 0 || *acct > 34 || p.account.find(' ') != std::string::npos)
      return fail(
          reject(Code::bad_request,
                 "account: 1..34 characters without spaces (an IBAN or another account id)"));
    if (looks_like_iban(p.account) && !iban_checksum_ok(p.account))
      return fail(
          reject(Code::bad_request, "account: \"" + p.account + "\" fails the IBAN checksum"));
    if (!p.bic.empty() && !valid_bic(p.bic))
      return fail(reject(Code::bad_request, "bic: \"" + p.bic.substr(0, 16) + "\" is not a BIC"));
    tables::PayeeDetailsValue v{p.name, p.account, p.bic, ev_.header.at, ev_.header.id};
    if (p.ach) {
      auto ach = parse_payee_ach(*p.ach);
      if (!ach) return fail(ach.error());
      v.ach = std::move(*ach);
    }
    if (p.co) {
      auto co = parse_payee_co(*p.co);
      if (!co) return fail(co.error());
      v.co = std::move(*co);
    }
    t.put(h_.payee_details,
          tables::payee_details_key(mk_->name, p.payee, ev_.header.at, ev_.header.id),
          tables::encode_payee_details(v));
    record_event(t);
    return ok_no_entry();
  }

  // --- payee terms ----------------------------------------------------------------------------
  ItemResult on(WriteTxn& t, const PayeeTermsEvent& p) {
    if (auto r = check_segment(p.payee, "payee"); !r) return fail(r.error());
    tables::PayeeTermsValue v;
    v.at = ev_.header.at;
    v.event_id = ev_.header.id;
    if (p.reserve) {
      auto rate = Rate::parse(p.reserve->rate, "reserve.rate");
      if (!rate) return fail(rate.error());
      if (rate->numerator() > Rate::kDenominator)
        return fail(
            reject(Code::bad_rate, "reserve.rate: " + rate->to_string() + " is above 100%"));
      if (p.reserve->days < 1 || p.reserve->days > Reserve::reserve_days_max)
        return fail(reject(Code::bad_request, "reserve.days: " + std::to_string(p.reserve->days) +
                                                  " is not 1.." +
                                                  std::to_string(Reserve::reserve_days_max)));
      v.reserve = tables::TermsReserve{rate->numerator(), static_cast<int32_t>(p.reserve->days)};
    }
    for (const auto& [code, text] : p.minimum_balance) {
      std::string field = "minimum_balance." + code.substr(0, 16);
      auto c = mk_currency(code, field);
      if (!c) return fail(c.error());
      auto a = parse_amount(text, *c, field);
      if (!a) return fail(a.error());
      if (a->is_negative())
        return fail(reject(Code::bad_amount, field + ": " + format_amount(*a, *c) + " is below 0"));
      for (const auto& [seen, _] : v.minimum_balance)
        if (seen == code) return fail(reject(Code::bad_request, field + ": given twice"));
      v.minimum_balance.emplace_back(code, a->minor());
    }
    std::sort(v.minimum_balance.begin(), v.minimum_balance.end());
    t.put(h_.payee_terms, tables::payee_terms_key(mk_->name, p.payee, ev_.header.at, ev_.header.id),
          tables::encode_payee_terms(v));
    record_event(t);
    return ok_no_entry();
  }

  // --- payout result --------------------------------------------------------------------------
  // The payout lifecycle's transitions (settlement/payout_lifecycle.h): the entry is the event's.
  ItemResult on(WriteTxn& t, const PayoutResultEvent& p) {
    auto pv = load_payout(t, h_, p.payout);
    if (!pv)
      return fail(reject(Code::unknown_payout,
                         "payout: \"" + p.payout.substr(0, 128) + "\" is not a payout"));
    if (pv->marketplace != mk_->name)
      return fail(reject(Code::unknown_payout,
                         "payout: \"" + p.payout + "\" belongs to marketplace " + pv->marketplace));
    if (p.reason.size() > limits::reason_bytes_max)
      return fail(reject(Code::bad_request,
                         "reason: at most " + std::to_string(limits::reason_bytes_max) + " bytes"));
    if (p.reason_code.size() > 35 || !printable_no_space(p.reason_code))
      return fail(reject(Code::bad_request,
                         "reason_code: 0..35 printable ASCII characters without spaces"));
    const PayoutResultStatus status = p.status();
    const std::string what = std::string(payout_result_status_name(status));
    switch (transition_verdict(pv->state, status)) {
      case TransitionVerdict::already_applied: {
        // The payout already has this result: a duplicate, reported with the entry that gave it.
        record_event(t);
        ItemResult r;
        r.status = ItemStatus::duplicate;
        r.id = ev_.header.id;
        const std::string& by =
            status == PayoutResultStatus::returned ? pv->return_event : pv->result_event;
        if (auto rec = t.find_id(by)) r.seq = rec->seq, r.commit_ns = rec->commit_ns;
        r.message = "payout \"" + p.payout + "\" is already " +
                    std::string(payout_state_name(pv->state)) + " (by \"" + by + "\")";
        return r;
      }
      case TransitionVerdict::contradictory:
        return fail(reject(Code::payout_already_settled,
                           "payout: \"" + p.payout + "\": " + what + " after " +
                               std::string(payout_state_name(pv->state)) + " (by \"" +
                               (pv->return_event.empty() ? pv->result_event : pv->return_event) +
                               "\") is refused: a payout settles once"));
      case TransitionVerdict::apply:
        break;
    }
    PayoutTransition tr{p.payout,      status,        p.reason_code,   p.reason,
                        ev_.header.id, ev_.header.at, ev_.header.meta, digest_};
    auto done = apply_payout_transition(t, h_, *mk_, std::move(*pv), tr);
    if (!done) return fail(done.error());
    ItemResult r;
    r.id = ev_.header.id;
    r.seq = done->seq;
    r.commit_ns = done->commit_ns;
    return r;
  }

  static bool printable_no_space(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
  }

  const Rules& rules_;
  const tables::Handles& h_;
  Event ev_;
  Digest digest_;
  const MarketplaceConfig* mk_ = nullptr;
};

}  // namespace

Rules::Rules(const Config& config, Ledger& ledger)
    : config_(config), ledger_(ledger), handles_(tables::Handles::of(ledger)) {}

std::unique_ptr<WriteOp> Rules::event_op(Event event) const {
  return std::make_unique<EventOp>(*this, std::move(event));
}

std::unique_ptr<WriteOp> Rules::payee_terms_op(EventHeader header, PayeeTermsEvent terms) const {
  return event_op(Event{std::move(header), std::move(terms)});
}

}  // namespace tally
