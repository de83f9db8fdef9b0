// The auditor's reads on the wire (contract in rpc/wire.h).
#include "rpc/wire.h"
#include "rpc/wire_values.h"

namespace tally::wire {

// --- reads --------------------------------------------------------------------------------------

void encode_error(Error::Builder b, const Rejection& r) {
  b.setCode(to_wire(r.code));
  b.setMessage(text_of(r.message));
}

Rejection decode_error(Error::Reader r) {
  Code c = from_wire(r.getCode());
  if (c == Code::ok) c = Code::internal;
  return Rejection{c, text(r.getMessage())};
}

void encode(BalanceResult::Builder b, const tally::BalanceResult& v) {
  b.setAccount(text_of(v.account));
  b.setKind(kind_to_wire(v.kind));
  b.setNoOverdraft(v.flags & kNoOverdraft);
  b.setClosed(v.flags & kClosed);
  b.setAsOf(v.as_of);
  auto l = b.initBalances(static_cast<unsigned>(v.balances.size()));
  for (size_t i = 0; i < v.balances.size(); ++i)
    set_money(l[static_cast<unsigned>(i)], v.balances[i].currency, v.balances[i].balance);
}

Result<tally::BalanceResult> decode(BalanceResult::Reader r) {
  tally::BalanceResult v;
  v.account = text(r.getAccount());
  auto k = kind_from_wire(r.getKind(), "kind");
  if (!k) return k.error();
  v.kind = *k;
  v.flags =
      static_cast<uint8_t>((r.getNoOverdraft() ? kNoOverdraft : 0) | (r.getClosed() ? kClosed : 0));
  v.as_of = r.getAsOf();
  auto l = r.getBalances();
  for (size_t i = 0; i < l.size(); ++i) {
    auto m = get_money(l[static_cast<unsigned>(i)], at("balances", i));
    if (!m) return m.error();
    v.balances.push_back(*m);
  }
  return v;
}

void encode(BalancesResult::Builder b, const tally::BalancesResult& v) {
  b.setPrefix(text_of(v.prefix));
  b.setAsOf(v.as_of);
  const auto& rows = v.balances.accounts;
  auto l = b.initAccounts(static_cast<unsigned>(rows.size()));
  for (size_t i = 0; i < rows.size(); ++i) {
    auto e = l[static_cast<unsigned>(i)];
    e.setAccount(text_of(rows[i].account));
    set_currency(e.initCurrency(), rows[i].currency);
    set_amount(e.initBalance(), rows[i].balance);
  }
  const auto& totals = v.balances.totals;
  auto t = b.initTotals(static_cast<unsigned>(totals.size()));
  for (size_t i = 0; i < totals.size(); ++i)
    set_money(t[static_cast<unsigned>(i)], totals[i].currency, totals[i].balance);
}

Result<tally::BalancesResult> decode(BalancesResult::Reader r) {
  tally::BalancesResult v;
  v.prefix = text(r.getPrefix());
  v.as_of = r.getAsOf();
  auto l = r.getAccounts();
  v.balances.accounts.reserve(l.size());
  for (size_t i = 0; i < l.size(); ++i) {
    auto e = l[static_cast<unsigned>(i)];
    auto c = get_currency(e.getCurrency(), at("accounts", i) + ".currency");
    if (!c) return c.error();
    v.balances.accounts.push_back(
        tally::BalanceRow{text(e.getAccount()), *c, get_amount(e.getBalance())});
  }
  auto t = r.getTotals();
  for (size_t i = 0; i < t.size(); ++i) {
    auto m = get_money(t[static_cast<unsigned>(i)], at("totals", i));
    if (!m) return m.error();
    v.balances.totals.push_back(*m);
  }
  return v;
}

void encode(StatementQuery::Builder b, const tally::StatementQuery& q) {
  b.setAccount(text_of(q.account));
  if (q.from) b.initFrom().setNs(*q.from);
  if (q.to) b.initTo().setNs(*q.to);
  b.setByBusinessTime(q.by_business_time);
  b.setLimit(static_cast<uint32_t>(std::min<size_t>(q.limit, UINT32_MAX)));
  b.setAfter(text_of(q.after));
}

tally::StatementQuery decode(StatementQuery::Reader r) {
  tally::StatementQuery q;
  q.account = text(r.getAccount());
  if (r.hasFrom()) q.from = r.getFrom().getNs();
  if (r.hasTo()) q.to = r.getTo().getNs();
  q.by_business_time = r.getByBusinessTime();
  q.limit = r.getLimit();
  q.after = text(r.getAfter());
  return q;
}

void encode(StatementResult::Builder b, const tally::StatementResult& v) {
  b.setAccount(text_of(v.account));
  b.setKind(kind_to_wire(v.kind));
  const auto& lines = v.statement.lines;
  auto l = b.initLines(static_cast<unsigned>(lines.size()));
  for (size_t i = 0; i < lines.size(); ++i) {
    auto e = l[static_cast<unsigned>(i)];
    const auto& x = lines[i];
    e.setSeq(x.seq);
    e.setEntryId(text_of(x.entry_id));
    e.setKind(text_of(x.kind));
    e.setAt(x.at);
    e.setCommitNs(x.commit_ns);
    set_currency(e.initCurrency(), x.currency);
    e.setSide(side_to_wire(x.side));
    set_amount(e.initAmount(), x.amount);
    set_amount(e.initBalanceAfter(), x.balance_after);
  }
  b.setNext(text_of(v.statement.next));
}

Result<tally::StatementResult> decode(StatementResult::Reader r) {
  tally::StatementResult v;
  v.account = text(r.getAccount());
  auto k = kind_from_wire(r.getKind(), "kind");
  if (!k) return k.error();
  v.kind = *k;
  auto l = r.getLines();
  v.statement.lines.reserve(l.size());
  for (size_t i = 0; i < l.size(); ++i) {
    auto e = l[static_cast<unsigned>(i)];
    tally::StatementLine x;
    x.seq = e.getSeq();
    x.entry_id = text(e.getEntryId());
    x.kind = text(e.getKind());
    x.at = e.getAt();
    x.commit_ns = e.getCommitNs();
    auto c = get_currency(e.getCurrency(), at("lines", i) + ".currency");
    if (!c) return c.error();
    x.currency = *c;
    auto s = side_from_wire(e.getSide(), at("lines", i) + ".side");
    if (!s) return s.error();
    x.side = *s;
    x.amount = get_amount(e.getAmount());
    x.balance_after = get_amount(e.getBalanceAfter());
    v.statement.lines.push_back(std::move(x));
  }
  v.statement.next = text(r.getNext());
  return v;
}

void encode(EntryView::Builder b, const tally::EntryView& v) {
  encode(b.initEntry(), v.entry);
  b.setSeq(v.seq);
  b.setCommitNs(v.commit_ns);
  b.setPrevHash(data_of(v.prev_hash));
  b.setHash(data_of(v.hash));
}

Result<tally::EntryView> decode(EntryView::Reader r) {
  // Stored entries may carry any time the ledger accepted; read the raw value back.
  tally::EntryView v;
  auto er = r.getEntry();
  v.entry.id = text(er.getId());
  v.entry.at = er.getAt();
  v.entry.kind = text(er.getKind());
  v.entry.meta = decode_meta(er.getMeta());
  auto ps = er.getPostings();
  for (size_t i = 0; i < ps.size(); ++i) {
    auto p = ps[static_cast<unsigned>(i)];
    auto c = get_currency(p.getCurrency(), at("postings", i) + ".currency");
    if (!c) return c.error();
    auto s = side_from_wire(p.getSide(), at("postings", i) + ".side");
    if (!s) return s.error();
    v.entry.postings.push_back(
        tally::Posting{text(p.getAccount()), *c, *s, get_amount(p.getAmount())});
  }
  v.seq = r.getSeq();
  v.commit_ns = r.getCommitNs();
  v.prev_hash = get_digest(r.getPrevHash());
  v.hash = get_digest(r.getHash());
  return v;
}

void encode(TrialBalance::Builder b, const tally::TrialBalanceResult& v) {
  b.setAsOf(v.as_of);
  auto l = b.initCurrencies(static_cast<unsigned>(v.currencies.size()));
  for (size_t i = 0; i < v.currencies.size(); ++i) {
    auto e = l[static_cast<unsigned>(i)];
    set_currency(e.initCurrency(), v.currencies[i].currency);
    set_amount(e.initDebits(), v.currencies[i].debits);
    set_amount(e.initCredits(), v.currencies[i].credits);
  }
}

Result<tally::TrialBalanceResult> decode(TrialBalance::Reader r) {
  tally::TrialBalanceResult v;
  v.as_of = r.getAsOf();
  auto l = r.getCurrencies();
  for (size_t i = 0; i < l.size(); ++i) {
    auto e = l[static_cast<unsigned>(i)];
    auto c = get_currency(e.getCurrency(), at("currencies", i) + ".currency");
    if (!c) return c.error();
    v.currencies.push_back(
        tally::TrialBalanceRow{*c, get_amount(e.getDebits()), get_amount(e.getCredits())});
  }
  return v;
}

void encode(VerifyReport::Builder b, const tally::VerifyReport& v) {
  b.setOk(v.ok);
  b.setEntries(v.entries);
  b.setPostings(v.postings);
  b.setProblem(text_of(v.problem));
  b.setHead(data_of(v.head));
}

tally::VerifyReport decode(VerifyReport::Reader r) {
  tally::VerifyReport v;
  v.ok = r.getOk();
  v.entries = r.getEntries();
  v.postings = r.getPostings();
  v.problem = text(r.getProblem());
  v.head = get_digest(r.getHead());
  return v;
}

void encode(ExportSummary::Builder b, const tally::ExportSummary& v) {
  b.setEntries(v.entries);
  b.setPostings(v.postings);
  b.setLastSeq(v.last_seq);
}

tally::ExportSummary decode(ExportSummary::Reader r) {
  return tally::ExportSummary{r.getEntries(), r.getPostings(), r.getLastSeq()};
}

void encode(ClosePeriodResult::Builder b, const tally::ClosePeriodResult& v) {
  b.setThrough(text_of(v.through));
  b.setEndExclusive(v.end_exclusive);
  encode_result(b.initResult(), v.result);
}

tally::ClosePeriodResult decode(ClosePeriodResult::Reader r) {
  return tally::ClosePeriodResult{text(r.getThrough()), r.getEndExclusive(),
                                  decode_result(r.getResult())};
}

}  // namespace tally::wire
