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
  b.setOpenedNs(v.opened_ns.value_or(0));
  b.setNotYetOpened(v.not_yet_opened);
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
  if (r.getOpenedNs() != 0) v.opened_ns = r.getOpenedNs();
  v.not_yet_opened = r.getNotYetOpened();
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
    e.setCurrency(text_of(rows[i].currency.code()));
    e.setBalance(text_of(format_amount(rows[i].balance, rows[i].currency)));
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
    auto m = money_from_text(e.getCurrency(), e.getBalance(), at("accounts", i));
    if (!m) return m.error();
    v.balances.accounts.push_back(tally::BalanceRow{text(e.getAccount()), m->currency, m->balance});
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
  if (q.from) b.setFrom(text_of(format_rfc3339(*q.from)));
  if (q.to) b.setTo(text_of(format_rfc3339(*q.to)));
  b.setByBusinessTime(q.by_business_time);
  b.setLimit(static_cast<uint32_t>(std::min<size_t>(q.limit, UINT32_MAX)));
  b.setAfter(text_of(q.after));
}

Result<tally::StatementQuery> decode(StatementQuery::Reader r) {
  tally::StatementQuery q;
  q.account = text(r.getAccount());
  auto from = get_opt_time_text(r.hasFrom(), r.getFrom(), "from");
  if (!from) return from.error();
  q.from = *from;
  auto to = get_opt_time_text(r.hasTo(), r.getTo(), "to");
  if (!to) return to.error();
  q.to = *to;
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
    e.setCurrency(text_of(x.currency.code()));
    e.setSide(side_to_wire(x.side));
    e.setAmount(text_of(format_amount(x.amount, x.currency)));
    e.setBalanceAfter(text_of(format_amount(x.balance_after, x.currency)));
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
    auto m = money_from_text(e.getCurrency(), e.getAmount(), at("lines", i));
    if (!m) return m.error();
    x.currency = m->currency;
    x.amount = m->balance;
    auto s = side_from_wire(e.getSide(), at("lines", i) + ".side");
    if (!s) return s.error();
    x.side = *s;
    auto after = amount_in(x.currency, e.getBalanceAfter(), at("lines", i) + ".balanceAfter");
    if (!after) return after.error();
    x.balance_after = *after;
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
  auto when = parse_rfc3339(std::string_view(er.getAt().begin(), er.getAt().size()), "entry.at");
  if (!when) return when.error();
  v.entry.at = *when;
  v.entry.kind = text(er.getKind());
  auto meta = decode_meta(er.getMeta(), "entry.meta");
  if (!meta) return meta.error();
  v.entry.meta = std::move(*meta);
  auto ps = er.getPostings();
  for (size_t i = 0; i < ps.size(); ++i) {
    auto p = ps[static_cast<unsigned>(i)];
    auto m = money_from_text(p.getCurrency(), p.getAmount(), at("postings", i));
    if (!m) return m.error();
    auto s = side_from_wire(p.getSide(), at("postings", i) + ".side");
    if (!s) return s.error();
    v.entry.postings.push_back(tally::Posting{text(p.getAccount()), m->currency, *s, m->balance});
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
    const auto& c = v.currencies[i].currency;
    e.setCurrency(text_of(c.code()));
    e.setDebits(text_of(format_amount(v.currencies[i].debits, c)));
    e.setCredits(text_of(format_amount(v.currencies[i].credits, c)));
  }
}

Result<tally::TrialBalanceResult> decode(TrialBalance::Reader r) {
  tally::TrialBalanceResult v;
  v.as_of = r.getAsOf();
  auto l = r.getCurrencies();
  for (size_t i = 0; i < l.size(); ++i) {
    auto e = l[static_cast<unsigned>(i)];
    auto m = money_from_text(e.getCurrency(), e.getDebits(), at("currencies", i));
    if (!m) return m.error();
    auto credits = amount_in(m->currency, e.getCredits(), at("currencies", i) + ".credits");
    if (!credits) return credits.error();
    v.currencies.push_back(tally::TrialBalanceRow{m->currency, m->balance, *credits});
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

void encode(ServerInfo::Builder b, const tally::ServerInfo& v) {
  b.setVersion(text_of(v.version));
  b.setBatchItemsMax(v.batch_items_max);
  b.setIdBytesMax(v.id_bytes_max);
  b.setPostingsPerEntryMax(v.postings_per_entry_max);
  b.setMetaBytesMax(v.meta_bytes_max);
  b.setMessageWordsMax(v.message_words_max);
  b.setConnectionsMax(v.connections_max);
  b.setLongReadsMax(v.long_reads_max);
  b.setStreamCallsInFlightMax(v.stream_calls_in_flight_max);
  b.setLoginTimeoutMs(v.login_timeout_ms);
  b.setIdleTimeoutMs(v.idle_timeout_ms);
  b.setUnauthenticatedBytesMax(v.unauthenticated_bytes_max);
  b.setCallsInFlightMax(v.calls_in_flight_max);
  b.setReplyQueuedBytesMax(v.reply_queued_bytes_max);
  b.setCallWordsInFlightMax(v.call_words_in_flight_max);
  b.setLeaseTtlS(v.lease_ttl_s);
}

tally::ServerInfo decode(ServerInfo::Reader r) {
  tally::ServerInfo v;
  v.version = text(r.getVersion());
  v.batch_items_max = r.getBatchItemsMax();
  v.id_bytes_max = r.getIdBytesMax();
  v.postings_per_entry_max = r.getPostingsPerEntryMax();
  v.meta_bytes_max = r.getMetaBytesMax();
  v.message_words_max = r.getMessageWordsMax();
  v.connections_max = r.getConnectionsMax();
  v.long_reads_max = r.getLongReadsMax();
  v.stream_calls_in_flight_max = r.getStreamCallsInFlightMax();
  v.login_timeout_ms = r.getLoginTimeoutMs();
  v.idle_timeout_ms = r.getIdleTimeoutMs();
  v.unauthenticated_bytes_max = r.getUnauthenticatedBytesMax();
  v.calls_in_flight_max = r.getCallsInFlightMax();
  v.reply_queued_bytes_max = r.getReplyQueuedBytesMax();
  v.call_words_in_flight_max = r.getCallWordsInFlightMax();
  v.lease_ttl_s = r.getLeaseTtlS();
  return v;
}

void encode(ExportSummary::Builder b, const tally::ExportSummary& v) {
  b.setEntries(v.entries);
  b.setPostings(v.postings);
  b.setLastSeq(v.last_seq);
  b.setBytes(v.bytes);
  b.setSha256(capnp::Data::Reader(v.sha256.data(), v.sha256.size()));
}

tally::ExportSummary decode(ExportSummary::Reader r) {
  tally::ExportSummary v{r.getEntries(), r.getPostings(), r.getLastSeq(), r.getBytes(), {}};
  auto d = r.getSha256();
  if (d.size() == v.sha256.size()) std::copy(d.begin(), d.end(), v.sha256.begin());
  return v;
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
