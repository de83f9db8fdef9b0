// The payout lifecycle's commands (docs/cli.md): `tally payouts RUN --format F [--out FILE]`
// (finance: make, record and send a run's payout file), `tally payouts RUN` (each payout's
// state), `tally payouts --marketplace M [--state S]` (payouts by state across runs) and
// `tally import-report FILE|-` (finance: a bank report in).
#include <charconv>
#include <fstream>
#include <iterator>
#include <sstream>

#include "cli/command_context.h"
#include "ledger/json_writer.h"

namespace tally {

namespace {

void payout_json(JsonWriter& w, const PayoutStatusLine& l) {
  w.begin_object()
      .field("payout", l.payout)
      .field("run", l.run)
      .field("payee", l.payee)
      .field("currency", l.currency.code())
      .field("amount", format_amount(l.amount, l.currency))
      .field("tax", format_amount(l.tax, l.currency))
      .field("state", l.state);
  if (!l.file.empty()) w.field("file", l.file).field("sent", format_rfc3339(l.sent_ns));
  if (!l.trace.empty()) w.field("trace", l.trace);
  if (!l.result_entry.empty()) w.field("result_entry", l.result_entry);
  if (!l.return_entry.empty()) w.field("return_entry", l.return_entry);
  if (!l.reason_code.empty()) w.field("reason_code", l.reason_code);
  if (!l.reason.empty()) w.field("reason", l.reason);
  w.end_object();
}

// The text table of payouts: one row each, the bank's reason where there is one.
void print_payouts(std::ostream& out, const std::vector<PayoutStatusLine>& payouts) {
  Table t({false, false, true, false, false, false});
  t.row({"PAYOUT", "PAYEE", "AMOUNT", "STATE", "FILE", "REASON"});
  for (const auto& l : payouts) {
    std::string file = l.file;
    if (!l.trace.empty()) file += " trace " + l.trace;
    std::string reason = l.reason_code;
    if (!l.reason.empty()) reason += (reason.empty() ? "" : " ") + l.reason;
    t.row({l.payout, l.payee, money(l.amount, l.currency), l.state, file, reason});
  }
  t.print(out);
}

int payout_file(Ctx& c, const std::string& run, const std::string& name,
                const std::optional<std::string>& out_path) {
  auto fmt = parse_payout_format(name);
  if (!fmt)
    return usage_error(c, "--format must be csv, pain001, nacha or co-dispersion, not " + name);
  if (int rc = open_backend(c, false); rc != kExitOk) return rc;
  auto r = c.backend->payout_file(run, *fmt);
  if (!r.ok()) return report(c, r);
  const PayoutFileResult& f = r.value();
  if (!out_path) {  // the file itself on stdout, as before
    c.out << f.bytes;
    return kExitOk;
  }
  {
    std::ofstream file(*out_path, std::ios::binary | std::ios::trunc);
    file << f.bytes;
    file.close();
    if (!file) {
      // The file was recorded (and its payouts sent) all the same: exporting it again gives
      // the same bytes.
      print_error(c, "io_error",
                  "--out: cannot write " + *out_path + "; " + f.file +
                      " is recorded: run the command again to write the same file");
      return kExitUnavailable;
    }
  }
  if (c.g.json) {
    JsonWriter w;
    w.begin_object()
        .field("run", f.run)
        .field("file", f.file)
        .field("format", payout_format_name(f.format))
        .field("sha256", f.sha256)
        .field("path", *out_path)
        .key("bytes")
        .unsigned_number(f.bytes.size())
        .key("payouts")
        .unsigned_number(f.payouts)
        .key("sent")
        .unsigned_number(f.sent)
        .key("already_recorded")
        .boolean(f.already_recorded)
        .field("recorded", format_rfc3339(f.recorded_ns))
        .end_object();
    c.out << w.str() << "\n";
  } else {
    c.out << (f.already_recorded ? "already recorded " : "recorded ") << f.file << " (" << f.payouts
          << (f.payouts == 1 ? " payout, " : " payouts, ") << f.bytes.size() << " bytes, sha256 "
          << f.sha256 << ") in " << *out_path << "\n";
    if (f.sent) c.out << f.sent << (f.sent == 1 ? " payout" : " payouts") << " now sent\n";
  }
  return kExitOk;
}

int run_payouts(Ctx& c, const std::string& run) {
  if (int rc = open_backend(c, false); rc != kExitOk) return rc;
  auto r = c.backend->run_payouts(run);
  if (!r.ok()) return report(c, r);
  if (c.g.json) {
    JsonWriter w;
    w.begin_object().field("run", r->run).key("payouts").begin_array();
    for (const auto& l : r->payouts) payout_json(w, l);
    w.end_array().end_object();
    c.out << w.str() << "\n";
    return kExitOk;
  }
  c.out << "run " << r->run << ": " << r->payouts.size()
        << (r->payouts.size() == 1 ? " payout\n" : " payouts\n");
  if (!r->payouts.empty()) print_payouts(c.out, r->payouts);
  return kExitOk;
}

int payouts_by_state(Ctx& c, const Parsed& p) {
  PayoutQuery q;
  q.marketplace = *p.value("--marketplace");
  q.state = p.value("--state");
  q.after = p.value("--after").value_or("");
  if (auto limit = p.value("--limit")) {
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), n);
    if (ec != std::errc() || end != limit->data() + limit->size() || n == 0)
      return usage_error(c, "--limit must be a positive integer, not " + *limit);
    q.limit = n;
  }
  if (int rc = open_backend(c, false); rc != kExitOk) return rc;
  auto r = c.backend->payouts_by_state(q);
  if (!r.ok()) return report(c, r);
  if (c.g.json) {
    JsonWriter w;
    w.begin_object().field("marketplace", r->marketplace);
    if (q.state) w.field("state", *q.state);
    w.key("payouts").begin_array();
    for (const auto& l : r->payouts) payout_json(w, l);
    w.end_array();
    if (r->next.empty()) {
      w.key("next").null();
    } else {
      w.field("next", r->next);
    }
    w.end_object();
    c.out << w.str() << "\n";
    return kExitOk;
  }
  if (!r->payouts.empty()) print_payouts(c.out, r->payouts);
  if (r->payouts.empty()) c.out << "no payouts" << (q.state ? " " + *q.state : "") << "\n";
  if (!r->next.empty()) c.out << "more: --after " << r->next << "\n";
  return kExitOk;
}

// Line `n` (1-based) of `text`, without its line ending, cut at 160 bytes.
std::string line_of(const std::string& text, uint64_t n) {
  size_t begin = 0;
  for (uint64_t k = 1; k < n; ++k) {
    begin = text.find('\n', begin);
    if (begin == std::string::npos) return {};
    ++begin;
  }
  size_t end = text.find('\n', begin);
  std::string line = text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  size_t lead = line.find_first_not_of(" \t");
  line = lead == std::string::npos ? std::string() : line.substr(lead);
  if (line.size() > 160) line = line.substr(0, 157) + "...";
  return line;
}

bool line_is_trouble(const ReportLine& l) {
  return l.status == "unmatched" || l.status == "contradictory" || l.status == "mismatched";
}

}  // namespace

int cmd_payouts(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(
          args, {"--format", "--out", "--marketplace", "--state", "--limit", "--after"}, {}, p);
      !e.empty())
    return usage_error(c, e);
  auto format = p.value("--format");
  if (p.has("--marketplace")) {
    if (!p.positional.empty() || format || p.has("--out"))
      return usage_error(c,
                         "--marketplace lists payouts across runs: give no RUN, --format or --out");
    return payouts_by_state(c, p);
  }
  if (p.has("--state") || p.has("--limit") || p.has("--after"))
    return usage_error(c, "--state, --limit and --after go with --marketplace M");
  if (p.positional.size() != 1) return usage_error(c, "expects one RUN (or --marketplace M)");
  if (format) return payout_file(c, p.positional[0], *format, p.value("--out"));
  if (p.has("--out")) return usage_error(c, "--out goes with --format");
  return run_payouts(c, p.positional[0]);
}

int cmd_import_report(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {}, {"--dry-run"}, p); !e.empty()) return usage_error(c, e);
  if (p.positional.size() != 1) return usage_error(c, "expects one FILE (or - for stdin)");
  ImportReportRequest req;
  req.dry_run = p.flags.count("--dry-run") > 0;
  const std::string& path = p.positional[0];
  if (path == "-") {
    req.bytes.assign(std::istreambuf_iterator<char>(c.in), std::istreambuf_iterator<char>());
  } else {
    std::ifstream f(path, std::ios::binary);
    if (!f) return usage_error(c, "cannot read " + path);
    req.bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    if (f.bad()) return usage_error(c, "cannot read " + path);
  }
  if (int rc = open_backend(c, false); rc != kExitOk) return rc;
  auto r = c.backend->import_report(req);
  if (!r.ok()) return report(c, r);
  const ImportReportResult& x = r.value();
  bool trouble = false;
  for (const auto& l : x.lines) trouble |= line_is_trouble(l);
  if (c.g.json) {
    JsonWriter w;
    w.begin_object()
        .field("format", x.format)
        .field("message_id", x.message_id)
        .key("dry_run")
        .boolean(x.dry_run)
        .key("applied")
        .boolean(x.applied);
    w.key("counts")
        .begin_object()
        .key("matched")
        .unsigned_number(x.matched)
        .key("already_applied")
        .unsigned_number(x.already_applied)
        .key("unmatched")
        .unsigned_number(x.unmatched)
        .key("contradictory")
        .unsigned_number(x.contradictory)
        .key("mismatched")
        .unsigned_number(x.mismatched)
        .key("informational")
        .unsigned_number(x.informational)
        .key("payouts_moved")
        .unsigned_number(x.payouts_moved)
        .end_object();
    w.key("lines").begin_array();
    for (const auto& l : x.lines) {
      w.begin_object()
          .key("line")
          .unsigned_number(l.line)
          .field("location", l.location)
          .field("status", l.status)
          .field("reference_kind", l.reference_kind)
          .field("reference", l.reference)
          .field("outcome", l.outcome);
      if (!l.reason.empty()) w.field("reason", l.reason);
      if (!l.message.empty()) w.field("message", l.message);
      if (l.status == "unmatched") w.field("text", line_of(req.bytes, l.line));
      w.key("payouts").begin_array();
      for (const auto& po : l.payouts) {
        w.begin_object()
            .field("payout", po.payout)
            .field("status", po.status)
            .field("before", po.before)
            .field("after", po.after);
        if (!po.entry.empty()) w.field("entry", po.entry);
        if (!po.message.empty()) w.field("message", po.message);
        w.end_object();
      }
      w.end_array().end_object();
    }
    w.end_array().key("ignored").begin_array();
    for (const auto& i : x.ignored) w.string(i);
    w.end_array().end_object();
    c.out << w.str() << "\n";
    return trouble ? kExitRejected : kExitOk;
  }
  c.out << x.format << " " << x.message_id << (x.dry_run ? " (dry run: nothing applied)" : "")
        << ": " << x.matched << " matched, " << x.already_applied << " already applied, "
        << x.unmatched << " unmatched, " << x.contradictory << " contradictory";
  if (x.mismatched) c.out << ", " << x.mismatched << " mismatched";
  if (x.informational) c.out << ", " << x.informational << " informational";
  c.out << "; " << x.payouts_moved << (x.payouts_moved == 1 ? " payout" : " payouts")
        << (x.dry_run ? " would move" : " moved") << "\n";
  for (const auto& l : x.lines) {
    std::string what = l.outcome + (l.reason.empty() ? "" : " " + l.reason);
    c.out << l.status << "  line " << l.line << "  " << l.reference << "  " << what;
    for (const auto& po : l.payouts) {
      c.out << "  " << po.payout;
      if (po.status == "matched") c.out << " " << po.before << " -> " << po.after;
    }
    c.out << "\n";
    if (!l.message.empty() && l.status != "matched") c.out << "    " << l.message << "\n";
    if (l.status == "unmatched") c.out << "    " << line_of(req.bytes, l.line) << "\n";
  }
  for (const auto& i : x.ignored) c.out << "ignored  " << i << "\n";
  return trouble ? kExitRejected : kExitOk;
}

}  // namespace tally
