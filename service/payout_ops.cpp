#include "service/payout_ops.h"

#include "settlement/bank_report.h"
#include "settlement/payout_export.h"
#include "settlement/payout_lifecycle.h"
#include "settlement/report_import.h"

namespace tally {

namespace {

constexpr uint64_t kPayoutPageDefault = 1000;

PayoutFileFormat file_format_of(PayoutFormat f) {
  switch (f) {
    case PayoutFormat::csv:
      return PayoutFileFormat::csv;
    case PayoutFormat::pain001:
      return PayoutFileFormat::pain001;
    case PayoutFormat::nacha:
      return PayoutFileFormat::nacha;
    case PayoutFormat::co_dispersion:
      return PayoutFileFormat::co_dispersion;
  }
  TALLY_ASSERT(false, "payout format " + std::to_string(static_cast<int>(f)));
}

// The currency of a stored payout: its marketplace's (configured), else a built-in. A code
// neither knows is a record tally could not have written: the store is damaged.
Currency payout_currency(const Config& config, const tables::PayoutValue& v) {
  if (const MarketplaceConfig* mk = config.marketplace(v.marketplace))
    for (const Currency& c : mk->currencies)
      if (c.code() == v.currency) return c;
  if (auto c = CurrencyTable().find(v.currency)) return *c;
  throw StoreCorruption("payout of " + v.marketplace + " in unknown currency " + v.currency);
}

PayoutStatusLine status_line(const Config& config, const PayoutStatusRow& row) {
  const tables::PayoutValue& v = row.record;
  PayoutStatusLine l;
  l.payout = row.payout;
  l.run = v.run;
  l.payee = v.payee;
  l.currency = payout_currency(config, v);
  l.amount = Amount::from_minor(v.amount);
  l.tax = Amount::from_minor(v.tax);
  l.state = std::string(payout_state_name(v.state));
  l.file = v.file;
  l.sent_ns = v.sent_ns;
  l.trace = v.trace;
  l.result_entry = v.result_event;
  l.return_entry = v.return_event;
  l.reason_code = v.reason_code;
  l.reason = v.reason;
  return l;
}

}  // namespace

Result<PayoutFileResult> payout_file_op(Service& service, const std::string& run,
                                        PayoutFormat format) {
  auto r = export_payout_file(service.rules(), run, file_format_of(format));
  if (!r) return r.error();
  PayoutFileResult out;
  out.run = r->run;
  out.file = r->file_id;
  out.format = format;
  out.bytes = std::move(r->bytes);
  out.sha256 = to_hex(r->sha256);
  out.payouts = r->payouts.size();
  out.sent = r->sent;
  out.already_recorded = r->already_recorded;
  out.recorded_ns = r->recorded_ns;
  return out;
}

Result<RunPayoutsResult> run_payouts_op(Service& service, const std::string& run) {
  auto snap = service.snapshot();
  auto rows = run_payouts(*snap, service.rules().tables(), run);
  if (!rows) return rows.error();
  RunPayoutsResult out;
  out.run = run;
  for (const PayoutStatusRow& row : *rows)
    out.payouts.push_back(status_line(service.config(), row));
  return out;
}

Result<PayoutPageResult> payouts_by_state_op(Service& service, const PayoutQuery& q) {
  std::optional<tables::PayoutState> state;
  if (q.state) {
    state = parse_payout_state(*q.state);
    if (!state)
      return reject(Code::bad_request,
                    "state: must be instructed, sent, paid, failed or returned, not \"" +
                        q.state->substr(0, 32) + "\"");
  }
  if (q.limit > payout_page_limit_max)
    return reject(Code::bad_request, "limit: 1.." + std::to_string(payout_page_limit_max));
  auto snap = service.snapshot();
  auto page = payouts_by_state(*snap, service.rules().tables(), service.config(), q.marketplace,
                               state, q.after, q.limit ? q.limit : kPayoutPageDefault);
  if (!page) return page.error();
  PayoutPageResult out;
  out.marketplace = q.marketplace;
  out.next = page->next;
  for (const PayoutStatusRow& row : page->payouts)
    out.payouts.push_back(status_line(service.config(), row));
  return out;
}

Result<ImportReportResult> import_report_op(Service& service, const ImportReportRequest& req) {
  if (req.bytes.size() > bank_report_bytes_max)
    return reject(Code::bad_request,
                  "report: larger than " + std::to_string(bank_report_bytes_max) + " bytes");
  auto report = parse_bank_report(req.bytes);
  if (!report) return report.error();
  ReportImportOptions o;
  o.dry_run = req.dry_run;
  auto r = import_bank_report(service.rules(), *report, o);
  if (!r) return r.error();
  ImportReportResult out;
  out.format = std::string(report_format_name(r->format));
  out.message_id = r->message_id;
  out.dry_run = r->dry_run;
  out.applied = r->applied;
  out.ignored = r->ignored;
  out.matched = r->matched;
  out.already_applied = r->already_applied;
  out.unmatched = r->unmatched;
  out.contradictory = r->contradictory;
  out.mismatched = r->mismatched;
  out.informational = r->informational;
  out.payouts_moved = r->payouts_moved;
  for (const ReportLineResult& l : r->lines) {
    ReportLine x;
    x.location = l.location;
    x.line = l.line;
    x.reference_kind = std::string(reference_kind_name(l.reference_kind));
    x.reference = l.reference;
    x.outcome = std::string(report_outcome_name(l.outcome));
    x.reason = l.reason;
    x.status = std::string(report_line_status_name(l.status));
    x.message = l.message;
    for (const ReportPayoutResult& p : l.payouts)
      x.payouts.push_back({p.payout, std::string(payout_state_name(p.before)),
                           std::string(payout_state_name(p.after)),
                           std::string(report_line_status_name(p.status)), p.entry_id, p.message});
    out.lines.push_back(std::move(x));
  }
  return out;
}

}  // namespace tally
