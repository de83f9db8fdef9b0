// Wire forms of the payout lifecycle's values (contract in rpc/wire.h).
#include "rpc/wire.h"
#include "rpc/wire_values.h"

namespace tally::wire {

::tally::wire::PayoutFormat to_wire(tally::PayoutFormat f) {
  switch (f) {
    case tally::PayoutFormat::csv:
      return PayoutFormat::CSV;
    case tally::PayoutFormat::pain001:
      return PayoutFormat::PAIN001;
    case tally::PayoutFormat::nacha:
      return PayoutFormat::NACHA;
    case tally::PayoutFormat::co_dispersion:
      return PayoutFormat::CO_DISPERSION;
  }
  TALLY_ASSERT(false, "payout format " + std::to_string(static_cast<int>(f)));
}

Result<tally::PayoutFormat> from_wire(::tally::wire::PayoutFormat f, std::string_view field) {
  switch (f) {
    case PayoutFormat::CSV:
      return tally::PayoutFormat::csv;
    case PayoutFormat::PAIN001:
      return tally::PayoutFormat::pain001;
    case PayoutFormat::NACHA:
      return tally::PayoutFormat::nacha;
    case PayoutFormat::CO_DISPERSION:
      return tally::PayoutFormat::co_dispersion;
  }
  return reject(Code::bad_request, std::string(field) + ": unknown payout format");
}

void encode(PayoutFileInfo::Builder b, const tally::PayoutFileResult& v) {
  b.setRun(text_of(v.run));
  b.setFile(text_of(v.file));
  b.setFormat(to_wire(v.format));
  b.setSha256(text_of(v.sha256));
  b.setBytes(v.bytes.size());
  b.setPayouts(v.payouts);
  b.setSent(v.sent);
  b.setAlreadyRecorded(v.already_recorded);
  b.initRecorded().setNs(v.recorded_ns);
}

Result<PayoutFileTrailer> decode(PayoutFileInfo::Reader r) {
  PayoutFileTrailer t;
  auto f = from_wire(r.getFormat(), "format");
  if (!f) return f.error();
  t.info.run = text(r.getRun());
  t.info.file = text(r.getFile());
  t.info.format = *f;
  t.info.sha256 = text(r.getSha256());
  t.info.payouts = r.getPayouts();
  t.info.sent = r.getSent();
  t.info.already_recorded = r.getAlreadyRecorded();
  if (!r.hasRecorded()) return reject(Code::bad_time, "recorded: missing");
  auto at = get_time(r.getRecorded().getNs(), "recorded");
  if (!at) return at.error();
  t.info.recorded_ns = *at;
  t.size = r.getBytes();
  return t;
}

namespace {

void encode_line(PayoutStatusLine::Builder b, const tally::PayoutStatusLine& v) {
  b.setPayout(text_of(v.payout));
  b.setRun(text_of(v.run));
  b.setPayee(text_of(v.payee));
  set_money(b.initAmount(), v.currency, v.amount);
  set_money(b.initTax(), v.currency, v.tax);
  b.setState(text_of(v.state));
  b.setFile(text_of(v.file));
  if (!v.file.empty()) b.initSent().setNs(v.sent_ns);
  b.setTrace(text_of(v.trace));
  b.setResultEntry(text_of(v.result_entry));
  b.setReturnEntry(text_of(v.return_entry));
  b.setReasonCode(text_of(v.reason_code));
  b.setReason(text_of(v.reason));
}

Result<tally::PayoutStatusLine> decode_line(PayoutStatusLine::Reader r, std::string_view field) {
  tally::PayoutStatusLine v;
  v.payout = text(r.getPayout());
  v.run = text(r.getRun());
  v.payee = text(r.getPayee());
  auto amount = get_money(r.getAmount(), std::string(field) + ".amount");
  if (!amount) return amount.error();
  auto tax = get_money(r.getTax(), std::string(field) + ".tax");
  if (!tax) return tax.error();
  if (!(tax->currency == amount->currency))
    return reject(Code::bad_currency, std::string(field) + ".tax: not the payout's currency");
  v.currency = amount->currency;
  v.amount = amount->balance;
  v.tax = tax->balance;
  v.state = text(r.getState());
  v.file = text(r.getFile());
  if (r.hasSent()) {
    auto at = get_time(r.getSent().getNs(), std::string(field) + ".sent");
    if (!at) return at.error();
    v.sent_ns = *at;
  }
  v.trace = text(r.getTrace());
  v.result_entry = text(r.getResultEntry());
  v.return_entry = text(r.getReturnEntry());
  v.reason_code = text(r.getReasonCode());
  v.reason = text(r.getReason());
  return v;
}

template <class Builder>
void encode_lines(Builder list, const std::vector<tally::PayoutStatusLine>& v) {
  for (size_t i = 0; i < v.size(); ++i) encode_line(list[static_cast<unsigned>(i)], v[i]);
}

template <class Reader>
Result<std::vector<tally::PayoutStatusLine>> decode_lines(Reader list) {
  std::vector<tally::PayoutStatusLine> out;
  for (unsigned i = 0; i < list.size(); ++i) {
    auto l = decode_line(list[i], at("payouts", i));
    if (!l) return l.error();
    out.push_back(std::move(*l));
  }
  return out;
}

}  // namespace

void encode(RunPayouts::Builder b, const tally::RunPayoutsResult& v) {
  b.setRun(text_of(v.run));
  encode_lines(b.initPayouts(static_cast<unsigned>(v.payouts.size())), v.payouts);
}

Result<tally::RunPayoutsResult> decode(RunPayouts::Reader r) {
  tally::RunPayoutsResult v;
  v.run = text(r.getRun());
  auto lines = decode_lines(r.getPayouts());
  if (!lines) return lines.error();
  v.payouts = std::move(*lines);
  return v;
}

void encode(PayoutQuery::Builder b, const tally::PayoutQuery& q) {
  b.setMarketplace(text_of(q.marketplace));
  b.setState(text_of(q.state.value_or("")));
  b.setAfter(text_of(q.after));
  b.setLimit(q.limit);
}

tally::PayoutQuery decode(PayoutQuery::Reader r) {
  tally::PayoutQuery q;
  q.marketplace = text(r.getMarketplace());
  std::string state = text(r.getState());
  if (!state.empty()) q.state = std::move(state);
  q.after = text(r.getAfter());
  q.limit = r.getLimit();
  return q;
}

void encode(PayoutPage::Builder b, const tally::PayoutPageResult& v) {
  b.setMarketplace(text_of(v.marketplace));
  encode_lines(b.initPayouts(static_cast<unsigned>(v.payouts.size())), v.payouts);
  b.setNext(text_of(v.next));
}

Result<tally::PayoutPageResult> decode(PayoutPage::Reader r) {
  tally::PayoutPageResult v;
  v.marketplace = text(r.getMarketplace());
  auto lines = decode_lines(r.getPayouts());
  if (!lines) return lines.error();
  v.payouts = std::move(*lines);
  v.next = text(r.getNext());
  return v;
}

void encode(ReportImport::Builder b, const tally::ImportReportResult& v) {
  b.setFormat(text_of(v.format));
  b.setMessageId(text_of(v.message_id));
  b.setDryRun(v.dry_run);
  b.setApplied(v.applied);
  auto lines = b.initLines(static_cast<unsigned>(v.lines.size()));
  for (size_t i = 0; i < v.lines.size(); ++i) {
    const tally::ReportLine& l = v.lines[i];
    auto x = lines[static_cast<unsigned>(i)];
    x.setLocation(text_of(l.location));
    x.setLine(l.line);
    x.setReferenceKind(text_of(l.reference_kind));
    x.setReference(text_of(l.reference));
    x.setOutcome(text_of(l.outcome));
    x.setReason(text_of(l.reason));
    x.setStatus(text_of(l.status));
    x.setMessage(text_of(l.message));
    auto ps = x.initPayouts(static_cast<unsigned>(l.payouts.size()));
    for (size_t j = 0; j < l.payouts.size(); ++j) {
      const tally::ReportPayoutLine& p = l.payouts[j];
      auto y = ps[static_cast<unsigned>(j)];
      y.setPayout(text_of(p.payout));
      y.setBefore(text_of(p.before));
      y.setAfter(text_of(p.after));
      y.setStatus(text_of(p.status));
      y.setEntry(text_of(p.entry));
      y.setMessage(text_of(p.message));
    }
  }
  auto ignored = b.initIgnored(static_cast<unsigned>(v.ignored.size()));
  for (size_t i = 0; i < v.ignored.size(); ++i)
    ignored.set(static_cast<unsigned>(i), text_of(v.ignored[i]));
  b.setMatched(v.matched);
  b.setAlreadyApplied(v.already_applied);
  b.setUnmatched(v.unmatched);
  b.setContradictory(v.contradictory);
  b.setMismatched(v.mismatched);
  b.setInformational(v.informational);
  b.setPayoutsMoved(v.payouts_moved);
}

tally::ImportReportResult decode(ReportImport::Reader r) {
  tally::ImportReportResult v;
  v.format = text(r.getFormat());
  v.message_id = text(r.getMessageId());
  v.dry_run = r.getDryRun();
  v.applied = r.getApplied();
  for (auto x : r.getLines()) {
    tally::ReportLine l;
    l.location = text(x.getLocation());
    l.line = x.getLine();
    l.reference_kind = text(x.getReferenceKind());
    l.reference = text(x.getReference());
    l.outcome = text(x.getOutcome());
    l.reason = text(x.getReason());
    l.status = text(x.getStatus());
    l.message = text(x.getMessage());
    for (auto y : x.getPayouts())
      l.payouts.push_back({text(y.getPayout()), text(y.getBefore()), text(y.getAfter()),
                           text(y.getStatus()), text(y.getEntry()), text(y.getMessage())});
    v.lines.push_back(std::move(l));
  }
  for (auto i : r.getIgnored()) v.ignored.push_back(text(i));
  v.matched = r.getMatched();
  v.already_applied = r.getAlreadyApplied();
  v.unmatched = r.getUnmatched();
  v.contradictory = r.getContradictory();
  v.mismatched = r.getMismatched();
  v.informational = r.getInformational();
  v.payouts_moved = r.getPayoutsMoved();
  return v;
}

}  // namespace tally::wire
