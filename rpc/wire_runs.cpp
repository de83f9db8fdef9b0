// Settlement runs, their rows and summaries on the wire (contract in rpc/wire.h).
#include "rpc/wire.h"
#include "rpc/wire_values.h"

namespace tally::wire {

namespace {
using CarryReason = ::tally::wire::CarryReason;
CarryReason carry_to_wire(tally::CarryReason c) {
  switch (c) {
    case tally::CarryReason::below_minimum:
      return CarryReason::BELOW_MINIMUM;
    case tally::CarryReason::negative:
      return CarryReason::NEGATIVE;
    case tally::CarryReason::on_hold:
      return CarryReason::ON_HOLD;
    case tally::CarryReason::no_details:
      return CarryReason::NO_DETAILS;
    case tally::CarryReason::account_closed:
      return CarryReason::ACCOUNT_CLOSED;
  }
  return CarryReason::BELOW_MINIMUM;
}
Result<tally::CarryReason> carry_from_wire(CarryReason c) {
  switch (c) {
    case CarryReason::BELOW_MINIMUM:
      return tally::CarryReason::below_minimum;
    case CarryReason::NEGATIVE:
      return tally::CarryReason::negative;
    case CarryReason::ON_HOLD:
      return tally::CarryReason::on_hold;
    case CarryReason::NO_DETAILS:
      return tally::CarryReason::no_details;
    case CarryReason::ACCOUNT_CLOSED:
      return tally::CarryReason::account_closed;
  }
  return reject(Code::bad_request, "carried.reason: unknown carry reason");
}

void encode_totals(capnp::List<CurrencyAmount>::Builder l, const std::vector<CurrencyTotal>& v) {
  for (size_t i = 0; i < v.size(); ++i)
    set_money(l[static_cast<unsigned>(i)], v[i].currency, v[i].balance);
}
Result<std::vector<CurrencyTotal>> decode_totals(capnp::List<CurrencyAmount>::Reader l,
                                                 std::string_view field) {
  std::vector<CurrencyTotal> out;
  for (size_t i = 0; i < l.size(); ++i) {
    auto m = get_money(l[static_cast<unsigned>(i)], at(field, i));
    if (!m) return m.error();
    out.push_back(*m);
  }
  return out;
}
}  // namespace

namespace {
void encode_released(capnp::List<ReleasedLine>::Builder l,
                     const std::vector<tally::ReleasedLine>& v) {
  for (size_t i = 0; i < v.size(); ++i) {
    auto e = l[static_cast<unsigned>(i)];
    e.setPayee(text_of(v[i].payee));
    set_money(e.initAmount(), v[i].currency, v[i].amount);
  }
}
Result<bool> decode_released(capnp::List<ReleasedLine>::Reader l, std::string_view field,
                             std::vector<tally::ReleasedLine>& out) {
  for (size_t i = 0; i < l.size(); ++i) {
    auto e = l[static_cast<unsigned>(i)];
    auto m = get_money(e.getAmount(), at(field, i));
    if (!m) return m.error();
    out.push_back(tally::ReleasedLine{text(e.getPayee()), m->currency, m->balance});
  }
  return true;
}
// An optional amount in a payout line's currency: null (a server before the field) is zero.
Result<Amount> optional_money(bool has, CurrencyAmount::Reader r, const tally::Currency& c,
                              const std::string& field) {
  if (!has) return Amount();
  auto m = get_money(r, field);
  if (!m) return m.error();
  if (m->currency.code() != c.code())
    return reject(Code::bad_request, field + ": currency " + std::string(m->currency.code()) +
                                         ", the payout's is " + std::string(c.code()));
  return m->balance;
}
// Optional decimal text in a total's currency: empty (a server before the field) is zero.
Result<Amount> optional_amount(const tally::Currency& c, capnp::Text::Reader t,
                               const std::string& field) {
  if (t.size() == 0) return Amount();
  return amount_in(c, t, field);
}

// Rows of a run: in a Run or in a RunRows.rows call (the same five lists).
template <class B>
void encode_rows_into(B b, const tally::RunRowsResult& v) {
  encode_released(b.initReleased(static_cast<unsigned>(v.released.size())), v.released);
  encode_released(b.initReserved(static_cast<unsigned>(v.reserved.size())), v.reserved);
  encode_released(b.initReserveReleased(static_cast<unsigned>(v.reserve_released.size())),
                  v.reserve_released);
  auto pay = b.initPayouts(static_cast<unsigned>(v.payouts.size()));
  for (size_t i = 0; i < v.payouts.size(); ++i) {
    auto e = pay[static_cast<unsigned>(i)];
    e.setPayout(text_of(v.payouts[i].payout));
    e.setPayee(text_of(v.payouts[i].payee));
    set_money(e.initAmount(), v.payouts[i].currency, v.payouts[i].amount);
    set_money(e.initTax(), v.payouts[i].currency, v.payouts[i].tax);
    set_money(e.initKept(), v.payouts[i].currency, v.payouts[i].kept);
  }
  auto car = b.initCarried(static_cast<unsigned>(v.carried.size()));
  for (size_t i = 0; i < v.carried.size(); ++i) {
    auto e = car[static_cast<unsigned>(i)];
    e.setPayee(text_of(v.carried[i].payee));
    set_money(e.initBalance(), v.carried[i].currency, v.carried[i].balance);
    e.setReason(carry_to_wire(v.carried[i].reason));
  }
}

template <class R>
Result<bool> decode_rows_from(R r, tally::RunRowsResult& v) {
  if (auto ok = decode_released(r.getReleased(), "released", v.released); !ok) return ok;
  if (auto ok = decode_released(r.getReserved(), "reserved", v.reserved); !ok) return ok;
  if (auto ok = decode_released(r.getReserveReleased(), "reserveReleased", v.reserve_released); !ok)
    return ok;
  auto pay = r.getPayouts();
  for (size_t i = 0; i < pay.size(); ++i) {
    auto e = pay[static_cast<unsigned>(i)];
    const std::string field = at("payouts", i);
    auto m = get_money(e.getAmount(), field);
    if (!m) return m.error();
    auto tax = optional_money(e.hasTax(), e.getTax(), m->currency, field + ".tax");
    if (!tax) return tax.error();
    auto kept = optional_money(e.hasKept(), e.getKept(), m->currency, field + ".kept");
    if (!kept) return kept.error();
    v.payouts.push_back(PayoutLineResult{text(e.getPayout()), text(e.getPayee()), m->currency,
                                         m->balance, *tax, *kept});
  }
  auto car = r.getCarried();
  for (size_t i = 0; i < car.size(); ++i) {
    auto e = car[static_cast<unsigned>(i)];
    auto m = get_money(e.getBalance(), at("carried", i));
    if (!m) return m.error();
    auto reason = carry_from_wire(e.getReason());
    if (!reason) return reason.error();
    v.carried.push_back(tally::CarriedLine{text(e.getPayee()), m->currency, m->balance, *reason});
  }
  return true;
}

RunState state_to_wire(tally::RunStateResult s) {
  return s == tally::RunStateResult::complete ? RunState::COMPLETE : RunState::IN_PROGRESS;
}
Result<tally::RunStateResult> state_from_wire(RunState s) {
  switch (s) {
    case RunState::COMPLETE:
      return tally::RunStateResult::complete;
    case RunState::IN_PROGRESS:
      return tally::RunStateResult::in_progress;
  }
  return reject(Code::bad_request, "state: unknown run state");
}
}  // namespace

void encode(Run::Builder b, const tally::RunResult& v) {
  b.setRun(text_of(v.run));
  b.setMarketplace(text_of(v.marketplace));
  b.setPayDate(text_of(v.pay_date));
  b.setCutoff(v.cutoff);
  b.setDryRun(v.dry_run);
  b.setExisting(v.existing);
  encode_rows_into(b, v);
  encode_totals(b.initPaidTotals(static_cast<unsigned>(v.paid_totals.size())), v.paid_totals);
  b.setState(state_to_wire(v.state));
  b.setChunks(v.chunks);
  b.setPayees(v.payees);
  b.setRows(v.rows);
  auto tl = b.initTotals(static_cast<unsigned>(v.totals.size()));
  for (size_t i = 0; i < v.totals.size(); ++i) {
    auto e = tl[static_cast<unsigned>(i)];
    const auto& t = v.totals[i];
    e.setCurrency(text_of(t.currency.code()));
    e.setReleased(text_of(format_amount(t.released, t.currency)));
    e.setPaid(text_of(format_amount(t.paid, t.currency)));
    e.setCarried(text_of(format_amount(t.carried, t.currency)));
    e.setPayeesPaid(t.payees_paid);
    e.setPayeesCarried(t.payees_carried);
    e.setReserved(text_of(format_amount(t.reserved, t.currency)));
    e.setReserveReleased(text_of(format_amount(t.reserve_released, t.currency)));
    e.setTax(text_of(format_amount(t.tax, t.currency)));
    e.setKept(text_of(format_amount(t.kept, t.currency)));
  }
}

Result<tally::RunResult> decode(Run::Reader r) {
  tally::RunResult v;
  v.run = text(r.getRun());
  v.marketplace = text(r.getMarketplace());
  v.pay_date = text(r.getPayDate());
  v.cutoff = r.getCutoff();
  v.dry_run = r.getDryRun();
  v.existing = r.getExisting();
  if (auto rows = decode_rows_from(r, v); !rows) return rows.error();
  auto totals = decode_totals(r.getPaidTotals(), "paidTotals");
  if (!totals) return totals.error();
  v.paid_totals = std::move(*totals);
  auto state = state_from_wire(r.getState());
  if (!state) return state.error();
  v.state = *state;
  v.chunks = r.getChunks();
  v.payees = r.getPayees();
  v.rows = r.getRows();
  auto tl = r.getTotals();
  for (size_t i = 0; i < tl.size(); ++i) {
    auto e = tl[static_cast<unsigned>(i)];
    std::string field = at("totals", i);
    auto m = money_from_text(e.getCurrency(), e.getReleased(), field);
    if (!m) return m.error();
    auto paid = amount_in(m->currency, e.getPaid(), field + ".paid");
    if (!paid) return paid.error();
    auto carried = amount_in(m->currency, e.getCarried(), field + ".carried");
    if (!carried) return carried.error();
    tally::RunTotalLine t{m->currency, m->balance,        *paid,
                          *carried,    e.getPayeesPaid(), e.getPayeesCarried()};
    auto reserved = optional_amount(m->currency, e.getReserved(), field + ".reserved");
    if (!reserved) return reserved.error();
    auto back = optional_amount(m->currency, e.getReserveReleased(), field + ".reserveReleased");
    if (!back) return back.error();
    auto tax = optional_amount(m->currency, e.getTax(), field + ".tax");
    if (!tax) return tax.error();
    auto kept = optional_amount(m->currency, e.getKept(), field + ".kept");
    if (!kept) return kept.error();
    t.reserved = *reserved;
    t.reserve_released = *back;
    t.tax = *tax;
    t.kept = *kept;
    v.totals.push_back(t);
  }
  return v;
}

void encode_rows(RunRows::RowsParams::Builder b, const tally::RunRowsResult& v) {
  encode_rows_into(b, v);
}

Result<tally::RunRowsResult> decode_rows(RunRows::RowsParams::Reader r) {
  tally::RunRowsResult v;
  if (auto rows = decode_rows_from(r, v); !rows) return rows.error();
  return v;
}

void encode(RunSummary::Builder b, const tally::RunSummary& v) {
  b.setRun(text_of(v.run));
  b.setPayDate(text_of(v.pay_date));
  b.setCutoff(v.cutoff);
  b.setCommittedNs(v.committed_ns);
  b.setPayeesPaid(v.payees_paid);
  b.setPayeesCarried(v.payees_carried);
  encode_totals(b.initPaidTotals(static_cast<unsigned>(v.paid_totals.size())), v.paid_totals);
  b.setState(state_to_wire(v.state));
  b.setChunks(v.chunks);
  b.setPayees(v.payees);
  b.setMarketplace(text_of(v.marketplace));
}

Result<tally::RunSummary> decode(RunSummary::Reader r) {
  tally::RunSummary v;
  v.run = text(r.getRun());
  v.marketplace = text(r.getMarketplace());
  v.pay_date = text(r.getPayDate());
  v.cutoff = r.getCutoff();
  v.committed_ns = r.getCommittedNs();
  v.payees_paid = r.getPayeesPaid();
  v.payees_carried = r.getPayeesCarried();
  auto totals = decode_totals(r.getPaidTotals(), "paidTotals");
  if (!totals) return totals.error();
  v.paid_totals = std::move(*totals);
  auto state = state_from_wire(r.getState());
  if (!state) return state.error();
  v.state = *state;
  v.chunks = r.getChunks();
  v.payees = r.getPayees();
  return v;
}

}  // namespace tally::wire
