#include "settlement/payout_export.h"

#include <algorithm>
#include <set>

#include "settlement/bank_text.h"
#include "settlement/payout_lifecycle.h"
#include "settlement/run_journal.h"

namespace tally {

namespace {

constexpr std::string_view kModifiers = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
constexpr int kExportAttemptsMax = 8;

bool wanted(const std::vector<std::string>& currencies, std::string_view code) {
  return currencies.empty() ||
         std::find(currencies.begin(), currencies.end(), code) != currencies.end();
}

// The range a new NACHA file of `n` entries takes from its ODFI's counter: the next sequences,
// or from 1 when they would pass 9,999,999; and the counter after it.
struct Allocation {
  NachaSequence sequence;
  tables::NachaSequenceValue after;
};
Allocation allocate(const tables::NachaSequenceValue& v, uint64_t n) {
  Allocation a;
  uint32_t first = v.next;
  if (first == 0 || uint64_t(first) + n - 1 > nacha_entries_per_file_max) first = 1;
  a.sequence.first_trace_sequence = first;
  a.sequence.file_id_modifier = kModifiers[v.files % kModifiers.size()];
  uint64_t next = uint64_t(first) + n;
  a.after.next = next > nacha_entries_per_file_max ? 1 : static_cast<uint32_t>(next);
  a.after.files = v.files + 1;
  return a;
}

tables::NachaSequenceValue load_sequence(TableReader& t, const tables::Handles& h,
                                         std::string_view odfi) {
  tables::NachaSequenceValue v;
  if (auto raw = t.get(h.nacha_sequences, odfi))
    if (!tables::decode_nacha_sequence(*raw, v))
      throw StoreCorruption("NACHA sequence of ODFI " + std::string(odfi));
  return v;
}

std::optional<tables::PayoutFileValue> load_file(TableReader& t, const tables::Handles& h,
                                                 std::string_view run, PayoutFileFormat f) {
  auto raw = t.get(h.payout_files, tables::payout_file_key(run, payout_file_format_name(f)));
  if (!raw) return std::nullopt;
  tables::PayoutFileValue v;
  if (!tables::decode_payout_file(*raw, v))
    throw StoreCorruption("payout file of run " + std::string(run));
  return v;
}

std::string digest_bytes(const Digest& d) {
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

// YYMMDD's century and the time of day of a commit time, in UTC.
std::pair<Date, std::string> utc_date_time(TimeNs t) {
  TimeNs day = t / kNsPerDay - (t % kNsPerDay < 0 ? 1 : 0);
  TimeNs in_day = t - day * kNsPerDay;
  int minutes = static_cast<int>(in_day / (60 * kNsPerSecond));  // 0..1439
  std::string hhmm = {char('0' + minutes / 600), char('0' + minutes / 60 % 10),
                      char('0' + minutes % 60 / 10), char('0' + minutes % 10)};
  return {Date(date::days(day)), hhmm};
}

// The one currency a bank rail pays (NACHA: USD, Colombian dispersion: COP); empty for the formats
// that carry any.
std::string_view rail_currency(PayoutFileFormat f) {
  if (f == PayoutFileFormat::nacha) return "USD";
  if (f == PayoutFileFormat::co_dispersion) return "COP";
  return {};
}

// The lines of `run` a bank rail pays in its currency (format `f`), each made into the rail's
// record by `record`, which answers nullopt for a line without the rail's bank details. Refused
// when the run pays nothing by the rail, and when any line lacks its details (naming every such
// payout: the one owner of that rule for every rail).
template <class Record, class MakeRecord>
Result<std::vector<Record>> rail_records(const SettlementRun& run, PayoutFileFormat f,
                                         std::string_view details, MakeRecord record) {
  std::string rail(payout_file_format_name(f));
  std::vector<PayoutLine> lines = payout_file_lines(run, f);
  if (lines.empty())
    return reject(Code::bad_request, rail + ": run " + run.run + " has no " +
                                         std::string(rail_currency(f)) + " payouts");
  Problems problems;
  std::vector<Record> out;
  for (const PayoutLine& l : lines) {
    std::optional<Record> r = record(l);
    if (!r) {
      problems.add(Code::bad_request, "payout " + in_quotes(l.payout_id) + ": payee " +
                                          in_quotes(l.payee) + " had no " + std::string(details) +
                                          " when the run was made");
      continue;
    }
    out.push_back(std::move(*r));
  }
  if (!problems.empty()) return problems.rejection();
  return out;
}

}  // namespace

std::string_view payout_file_format_name(PayoutFileFormat f) {
  switch (f) {
    case PayoutFileFormat::csv:
      return "csv";
    case PayoutFileFormat::pain001:
      return "pain001";
    case PayoutFileFormat::nacha:
      return "nacha";
    case PayoutFileFormat::co_dispersion:
      return "co-dispersion";
  }
  TALLY_ASSERT(false, "payout file format " + std::to_string(static_cast<int>(f)));
}

std::optional<PayoutFileFormat> parse_payout_file_format(std::string_view name) {
  for (auto f : {PayoutFileFormat::csv, PayoutFileFormat::pain001, PayoutFileFormat::nacha,
                 PayoutFileFormat::co_dispersion})
    if (payout_file_format_name(f) == name) return f;
  return std::nullopt;
}

bool payout_file_sends(PayoutFileFormat f) {
  return f != PayoutFileFormat::csv;
}

std::string payout_file_id(std::string_view run_id, PayoutFileFormat f) {
  return std::string(run_id) + ":" + std::string(payout_file_format_name(f));
}

std::vector<PayoutLine> payout_file_lines(const SettlementRun& run, PayoutFileFormat f,
                                          const std::vector<std::string>& currencies) {
  std::vector<PayoutLine> out;
  for (const PayoutLine& l : run.lines) {
    std::string_view code = l.currency.code();
    std::string_view only = rail_currency(f);
    if (!only.empty() && code != only) continue;
    if (!wanted(currencies, code)) continue;
    out.push_back(l);
  }
  return out;
}

Result<std::string> payout_csv_of_run(const SettlementRun& run,
                                      const std::vector<std::string>& currencies) {
  return payout_csv(payout_file_lines(run, PayoutFileFormat::csv, currencies));
}

Result<std::string> payout_pain001_of_run(const SettlementRun& run, const MarketplaceConfig& mk,
                                          const std::vector<std::string>& currencies) {
  auto date = parse_date(run.pay_date, "run");
  if (!date) return date.error();
  PayoutRunInfo info{run.run, *date, format_rfc3339(run.committed_ns), mk.payout_account};
  return payout_pain001(info, payout_file_lines(run, PayoutFileFormat::pain001, currencies));
}

Result<NachaFile> payout_nacha_of_run(const SettlementRun& run, const MarketplaceConfig& mk,
                                      const NachaSequence& sequence) {
  if (!mk.ach)
    return reject(Code::bad_request, "nacha: marketplace " + mk.name +
                                         " has no ach originator (marketplaces." + mk.name +
                                         ".ach in the config)");
  if (run.state != RunState::complete)
    return reject(Code::run_in_progress, "run: " + run.run + " is in progress");
  auto credits =
      rail_records<NachaCredit>(run, PayoutFileFormat::nacha, "ACH details (routing, account)",
                                [](const PayoutLine& l) -> std::optional<NachaCredit> {
                                  if (!l.ach) return std::nullopt;
                                  NachaCredit c;
                                  c.payout_id = l.payout_id;
                                  c.currency = l.currency;
                                  c.amount = l.amount;
                                  c.receiver_name = l.creditor_name;
                                  c.routing = l.ach->routing;
                                  c.account = l.ach->account;
                                  c.account_type = l.ach->account_type;
                                  c.receiver_kind = l.ach->receiver_kind;
                                  return c;
                                });
  if (!credits) return credits.error();
  auto pay_date = parse_date(run.pay_date, "run");
  if (!pay_date) return pay_date.error();
  const AchOriginator& o = *mk.ach;
  auto [created, hhmm] = utc_date_time(run.committed_ns);
  NachaFileInfo info;
  info.immediate_destination = o.immediate_destination;
  info.immediate_destination_name = o.immediate_destination_name;
  info.immediate_origin = o.immediate_origin;
  info.immediate_origin_name = o.immediate_origin_name;
  info.company_name = o.company_name;
  info.company_id = o.company_id;
  info.company_id.resize(AchOriginator::company_id_max, ' ');  // left-justified, blank-padded
  info.odfi_routing = o.odfi_routing;
  info.entry_description = o.entry_description;
  info.effective_date = *pay_date;
  info.creation_date = created;
  info.creation_time = hhmm;
  info.file_id_modifier = sequence.file_id_modifier;
  info.first_trace_sequence = sequence.first_trace_sequence;
  return payout_nacha(info, *credits);
}

Result<std::string> payout_co_dispersion_of_run(const SettlementRun& run,
                                                const MarketplaceConfig& mk) {
  if (!mk.co_dispersion)
    return reject(Code::bad_request, "co-dispersion: marketplace " + mk.name +
                                         " has no co_dispersion originator (marketplaces." +
                                         mk.name + ".co_dispersion in the config)");
  auto out = rail_records<CoDispersionLine>(
      run, PayoutFileFormat::co_dispersion, "Colombian bank details (bank code, account, document)",
      [](const PayoutLine& l) -> std::optional<CoDispersionLine> {
        if (!l.co) return std::nullopt;
        CoDispersionLine c;
        c.payout_id = l.payout_id;
        c.currency = l.currency;
        c.amount = l.amount;
        c.name = l.creditor_name;
        c.bank_code = l.co->bank_code;
        c.account_type = l.co->account_type;
        c.account_number = l.co->account_number;
        c.document_type = l.co->document_type;
        c.document_number = l.co->document_number;
        return c;
      });
  if (!out) return out.error();
  auto pay_date = parse_date(run.pay_date, "run");
  if (!pay_date) return pay_date.error();
  return payout_co_dispersion(CoDispersionInfo{*pay_date}, *out);
}

// --- recording --------------------------------------------------------------------------------

namespace {

class RecordFileOp final : public WriteOp {
 public:
  RecordFileOp(const Rules& rules, PayoutFileRecord rec, std::shared_ptr<PayoutFileRecorded> out)
      : h_(rules.tables()), rec_(std::move(rec)), out_(std::move(out)) {}

  size_t weight() const override { return std::max<size_t>(1, rec_.payouts.size()); }

  ItemResult apply(WriteTxn& t) override {
    *out_ = PayoutFileRecorded{};
    const std::string format(payout_file_format_name(rec_.format));
    const std::string file_id = payout_file_id(rec_.run, rec_.format);
    auto colon = rec_.run.rfind(':');
    std::optional<RunRecord> run;
    if (colon != std::string::npos)
      run = load_run_record(t, h_, std::string_view(rec_.run).substr(0, colon),
                            std::string_view(rec_.run).substr(colon + 1));
    if (!run)
      return fail(
          reject(Code::unknown_run, "run: \"" + rec_.run.substr(0, 128) + "\" has not been run"));
    if (run->state != RunState::complete)
      return fail(
          reject(Code::run_in_progress,
                 "run: " + rec_.run + " is in progress; its files exist once it completes"));
    const std::string key = tables::payout_file_key(rec_.run, format);
    if (auto raw = t.get(h_.payout_files, key)) {
      tables::PayoutFileValue v;
      if (!tables::decode_payout_file(*raw, v)) throw StoreCorruption("payout file " + file_id);
      if (v.sha256 != digest_bytes(rec_.sha256))
        return fail(reject(Code::id_conflict,
                           "file: run " + rec_.run + " was exported as " + format +
                               " before with other content (sha256 " + to_hex_bytes(v.sha256) +
                               ", now " + to_hex(rec_.sha256) +
                               "; did the originator's config change?): its payouts were sent "
                               "in that file, which stays the run's " +
                               format + " file"));
      out_->kind = PayoutFileRecorded::Kind::already_recorded;
      out_->file = std::move(v);
      ItemResult r;
      r.status = ItemStatus::duplicate;
      r.id = file_id;
      return r;
    }
    const bool nacha = rec_.format == PayoutFileFormat::nacha;
    if (nacha && rec_.traces.size() != rec_.payouts.size())
      return fail(reject(Code::bad_request, "traces: " + std::to_string(rec_.traces.size()) +
                                                " for " + std::to_string(rec_.payouts.size()) +
                                                " payouts; a NACHA file gives each its trace"));
    // The payouts: each the run's, and for a bank file each still instructed.
    Problems problems;
    std::vector<tables::PayoutValue> records;
    records.reserve(rec_.payouts.size());
    std::set<std::string_view> seen;
    for (size_t i = 0; i < rec_.payouts.size(); ++i) {
      const std::string& id = rec_.payouts[i];
      if (nacha && rec_.traces[i].payout_id != id) {
        problems.add(Code::bad_request, "traces[" + std::to_string(i) + "]: names payout " +
                                            in_quotes(rec_.traces[i].payout_id) + ", not " +
                                            in_quotes(id));
        continue;
      }
      auto pv = load_payout(t, h_, id);
      if (!pv || pv->run != rec_.run || !seen.insert(id).second) {
        problems.add(Code::bad_request,
                     "payout " + in_quotes(id.substr(0, 128)) +
                         (pv && pv->run == rec_.run ? " is listed twice"
                                                    : " is not a payout of run " + rec_.run));
        continue;
      }
      if (payout_file_sends(rec_.format) && pv->state != tables::PayoutState::instructed) {
        problems.add(Code::payout_already_settled,
                     "payout " + in_quotes(id) + " is already " +
                         std::string(payout_state_name(pv->state)) +
                         (pv->file.empty() ? "" : " (sent in file " + pv->file + ")") + ": a new " +
                         format + " file would pay it again");
        continue;
      }
      records.push_back(std::move(*pv));
    }
    if (!problems.empty()) return fail(problems.rejection());

    tables::PayoutFileValue file{
        rec_.run, format, digest_bytes(rec_.sha256), t.commit_ns(), rec_.payouts.size(), 0};
    if (nacha) {
      // The trace range must be the ODFI's next one, as the file was made with.
      tables::NachaSequenceValue now = load_sequence(t, h_, rec_.odfi);
      Allocation a = allocate(now, rec_.payouts.size());
      if (a.sequence.first_trace_sequence != rec_.sequence.first_trace_sequence ||
          a.sequence.file_id_modifier != rec_.sequence.file_id_modifier) {
        out_->kind = PayoutFileRecorded::Kind::conflict;
        ItemResult r;
        r.id = file_id;
        return r;
      }
      t.put(h_.nacha_sequences, rec_.odfi, tables::encode_nacha_sequence(a.after));
      file.first_trace_sequence = a.sequence.first_trace_sequence;
      file.file_id_modifier = a.sequence.file_id_modifier;
      file.odfi = rec_.odfi;
      for (const NachaTrace& tr : rec_.traces)
        t.put(h_.payout_refs, tables::payout_ref_key(tables::RefKind::trace, tr.trace_number),
              tr.payout_id);
    }
    if (rec_.format == PayoutFileFormat::pain001) {
      // What a pain.002 or camt.054 names: EndToEndIds (those that differ from the payout id),
      // the message id, and a PmtInfId per currency.
      t.put(h_.payout_refs, tables::payout_ref_key(tables::RefKind::message, pain001_id(rec_.run)),
            rec_.run);
      std::set<std::string> codes;
      for (size_t i = 0; i < records.size(); ++i) {
        const std::string& id = rec_.payouts[i];
        if (std::string e2e = pain001_id(id); e2e != id)
          t.put(h_.payout_refs, tables::payout_ref_key(tables::RefKind::end_to_end, e2e), id);
        codes.insert(records[i].currency);
      }
      for (const std::string& code : codes)
        t.put(h_.payout_refs,
              tables::payout_ref_key(tables::RefKind::batch, pain001_id(rec_.run + "-" + code)),
              rec_.run + '\0' + code);
    }
    if (payout_file_sends(rec_.format)) {
      for (size_t i = 0; i < records.size(); ++i) {
        tables::PayoutValue& pv = records[i];
        pv.state = tables::PayoutState::sent;
        pv.file = file_id;
        pv.sent_ns = t.commit_ns();
        if (nacha) pv.trace = rec_.traces[i].trace_number;
        t.put(h_.payouts, rec_.payouts[i], tables::encode_payout(pv));
      }
      file.sent = records.size();
    }
    t.put(h_.payout_files, key, tables::encode_payout_file(file));
    out_->kind = PayoutFileRecorded::Kind::recorded;
    out_->sent = file.sent;
    out_->file = std::move(file);
    ItemResult r;
    r.id = file_id;
    return r;
  }

 private:
  ItemResult fail(Rejection r) const {
    return ItemResult::error(std::move(r), payout_file_id(rec_.run, rec_.format));
  }
  static std::string to_hex_bytes(std::string_view bytes) {
    Digest d{};
    std::copy(bytes.begin(), bytes.begin() + std::min(bytes.size(), d.size()), d.begin());
    return to_hex(d);
  }

  const tables::Handles& h_;
  PayoutFileRecord rec_;
  std::shared_ptr<PayoutFileRecorded> out_;
};

}  // namespace

std::unique_ptr<WriteOp> record_payout_file_op(const Rules& rules, PayoutFileRecord record,
                                               std::shared_ptr<PayoutFileRecorded> out) {
  return std::make_unique<RecordFileOp>(rules, std::move(record), std::move(out));
}

// --- export ---------------------------------------------------------------------------------

Result<SettlementRun> load_run(const Rules& rules, std::string_view run_id) {
  auto colon = run_id.rfind(':');
  if (colon == std::string_view::npos)
    return reject(Code::unknown_run, "run: \"" + std::string(run_id.substr(0, 128)) +
                                         "\" is not a run id (M:YYYY-MM-DD)");
  auto snap = rules.ledger().snapshot();
  auto rec =
      load_run_record(*snap, rules.tables(), run_id.substr(0, colon), run_id.substr(colon + 1));
  if (!rec)
    return reject(Code::unknown_run,
                  "run: \"" + std::string(run_id.substr(0, 128)) + "\" has not been run");
  SettlementRun r = run_header(*rec);
  visit_run_rows(*snap, rules.tables(), *rec, [&](RunRows&& part) { r.append(std::move(part)); });
  return r;
}

Result<PayoutFileExport> export_payout_file(const Rules& rules, std::string_view run_id,
                                            PayoutFileFormat format,
                                            const PayoutExportOptions& options) {
  for (int attempt = 0; attempt < kExportAttemptsMax; ++attempt) {
    auto run = load_run(rules, run_id);
    if (!run) return run.error();
    if (run->state != RunState::complete)
      return reject(Code::run_in_progress, "run: " + run->run +
                                               " is in progress; its payout files exist once it "
                                               "completes (settle it again to complete it)");
    const MarketplaceConfig* mk = rules.config().marketplace(run->marketplace);
    if (!mk)
      return reject(Code::unknown_marketplace,
                    "run: marketplace " + run->marketplace + " is no longer configured");
    PayoutFileRecord rec;
    rec.run = run->run;
    rec.format = format;
    PayoutFileExport out;
    out.run = run->run;
    out.file_id = payout_file_id(run->run, format);
    out.format = format;
    switch (format) {
      case PayoutFileFormat::csv:
      case PayoutFileFormat::pain001: {
        auto bytes = format == PayoutFileFormat::csv
                         ? payout_csv_of_run(*run, options.currencies)
                         : payout_pain001_of_run(*run, *mk, options.currencies);
        if (!bytes) return bytes.error();
        out.bytes = std::move(*bytes);
        for (const PayoutLine& l : payout_file_lines(*run, format, options.currencies))
          rec.payouts.push_back(l.payout_id);
        break;
      }
      case PayoutFileFormat::co_dispersion: {
        auto bytes = payout_co_dispersion_of_run(*run, *mk);
        if (!bytes) return bytes.error();
        out.bytes = std::move(*bytes);
        for (const PayoutLine& l : payout_file_lines(*run, format))
          rec.payouts.push_back(l.payout_id);
        break;
      }
      case PayoutFileFormat::nacha: {
        if (!mk->ach) {
          auto refused = payout_nacha_of_run(*run, *mk);  // says why
          return refused.error();
        }
        rec.odfi = mk->ach->odfi_routing.substr(0, 8);
        // The trace range: the recorded file's, else the ODFI's next one.
        size_t n = payout_file_lines(*run, format).size();
        {
          auto snap = rules.ledger().snapshot();
          if (auto file = load_file(*snap, rules.tables(), run->run, format))
            rec.sequence = NachaSequence{file->first_trace_sequence, file->file_id_modifier};
          else
            rec.sequence =
                allocate(load_sequence(*snap, rules.tables(), rec.odfi), std::max<size_t>(n, 1))
                    .sequence;
        }
        auto file = payout_nacha_of_run(*run, *mk, rec.sequence);
        if (!file) return file.error();
        out.bytes = std::move(file->text);
        rec.traces = file->traces;
        for (const NachaTrace& tr : file->traces) rec.payouts.push_back(tr.payout_id);
        break;
      }
    }
    rec.sha256 = sha256(out.bytes);
    out.sha256 = rec.sha256;
    out.payouts = rec.payouts;
    out.traces = rec.traces;
    auto recorded = std::make_shared<PayoutFileRecorded>();
    Batch b;
    b.push_back(record_payout_file_op(rules, std::move(rec), recorded));
    ItemResult r = rules.ledger().submit_and_wait(std::move(b))[0];
    if (!r.ok()) return Rejection{r.code, r.message};
    if (recorded->kind == PayoutFileRecorded::Kind::conflict) continue;  // another file took it
    out.sent = recorded->sent;
    out.already_recorded = recorded->kind == PayoutFileRecorded::Kind::already_recorded;
    out.recorded_ns = recorded->file.recorded_ns;
    return out;
  }
  return reject(Code::internal, "file: run " + std::string(run_id) +
                                    ": other NACHA files kept taking the trace range; try again");
}

}  // namespace tally
