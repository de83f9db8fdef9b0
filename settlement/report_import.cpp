#include "settlement/report_import.h"

#include <map>

#include "ledger/codec.h"
#include "settlement/payout_export.h"
#include "settlement/payout_file.h"

namespace tally {

std::string_view report_line_status_name(ReportLineStatus s) {
  switch (s) {
    case ReportLineStatus::matched:
      return "matched";
    case ReportLineStatus::already_applied:
      return "already_applied";
    case ReportLineStatus::unmatched:
      return "unmatched";
    case ReportLineStatus::contradictory:
      return "contradictory";
    case ReportLineStatus::mismatched:
      return "mismatched";
    case ReportLineStatus::informational:
      return "informational";
  }
  TALLY_ASSERT(false, "report line status " + std::to_string(static_cast<int>(s)));
}

namespace {

using tables::PayoutState;
using tables::PayoutValue;

constexpr size_t kMetaValueBytesMax = 256;

std::string cut(std::string_view s) {
  return std::string(s.substr(0, kMetaValueBytesMax));
}

std::optional<PayoutResultStatus> status_of(ReportOutcome o) {
  switch (o) {
    case ReportOutcome::paid:
      return PayoutResultStatus::paid;
    case ReportOutcome::rejected:
      return PayoutResultStatus::failed;
    case ReportOutcome::returned:
      return PayoutResultStatus::returned;
    case ReportOutcome::accepted:
    case ReportOutcome::pending:
      return std::nullopt;
  }
  return std::nullopt;
}

// A transition the report will apply.
struct Planned {
  size_t line, payout;  // indexes into the result's lines and that line's payouts
  PayoutTransition transition;
};

// Matches and judges every line against the books `t` shows (a snapshot, or the write
// transaction), filling `out` and returning the transitions to apply, in line order.
class Judge {
 public:
  Judge(TableReader& t, const Rules& rules, const BankReport& report, TimeNs at)
      : t_(t), rules_(rules), h_(rules.tables()), report_(report), at_(at) {}

  std::vector<Planned> run(ReportImport& out) {
    out.format = report_.format;
    out.message_id = report_.message_id;
    out.ignored = report_.ignored;
    std::vector<Planned> planned;
    for (size_t i = 0; i < report_.lines.size(); ++i) {
      const BankReportLine& l = report_.lines[i];
      ReportLineResult r;
      r.index = i;
      r.location = l.location;
      r.line = l.line;
      r.reference_kind = l.reference_kind;
      r.reference = l.reference;
      r.outcome = l.outcome;
      r.reason = l.reason;
      judge(l, r, out.lines.size(), planned);
      switch (r.status) {
        case ReportLineStatus::matched:
          ++out.matched;
          break;
        case ReportLineStatus::already_applied:
          ++out.already_applied;
          break;
        case ReportLineStatus::unmatched:
          ++out.unmatched;
          break;
        case ReportLineStatus::contradictory:
          ++out.contradictory;
          break;
        case ReportLineStatus::mismatched:
          ++out.mismatched;
          break;
        case ReportLineStatus::informational:
          ++out.informational;
          break;
      }
      out.lines.push_back(std::move(r));
    }
    out.payouts_moved = planned.size();
    return planned;
  }

 private:
  // The payouts a line names, or why none.
  std::vector<std::string> resolve(const BankReportLine& l, std::string& why) {
    std::vector<std::string> ids;
    auto ref = [&](tables::RefKind k) {
      return t_.get(h_.payout_refs, tables::payout_ref_key(k, l.reference));
    };
    switch (l.reference_kind) {
      case ReferenceKind::end_to_end_id:
        if (auto id = ref(tables::RefKind::end_to_end))
          ids.push_back(*id);
        else if (t_.get(h_.payouts, l.reference))
          ids.push_back(l.reference);
        else
          why = "no payout has EndToEndId \"" + l.reference + "\"";
        break;
      case ReferenceKind::trace_number:
        if (auto id = ref(tables::RefKind::trace))
          ids.push_back(*id);
        else
          why = "no NACHA file tally exported has trace number " + l.reference;
        break;
      case ReferenceKind::message_id:
      case ReferenceKind::payment_information_id: {
        const bool batch = l.reference_kind == ReferenceKind::payment_information_id;
        auto run = ref(batch ? tables::RefKind::batch : tables::RefKind::message);
        if (!run) {
          why = std::string("no pain.001 file tally exported has ") +
                (batch ? "PmtInfId" : "MsgId") + " \"" + l.reference + "\"";
          break;
        }
        std::string code;
        if (auto z = run->find('\0'); z != std::string::npos)
          code = run->substr(z + 1), run->resize(z);
        const std::string file = payout_file_id(*run, PayoutFileFormat::pain001);
        tables::visit_payouts(
            t_, h_, *run + ":", "", [&](std::string_view id, const PayoutValue& v) {
              if (v.run == *run && v.file == file && (code.empty() || v.currency == code))
                ids.emplace_back(id);
              return true;
            });
        if (ids.empty()) why = "the pain.001 file of run " + *run + " carried no such payouts";
        break;
      }
    }
    return ids;
  }

  // The current state of a payout as the report has left it so far.
  PayoutValue& record(const std::string& id) {
    auto it = seen_.find(id);
    if (it == seen_.end()) {
      auto pv = load_payout(t_, h_, id);
      if (!pv) throw StoreCorruption("payout_refs name payout " + id + ", which has no record");
      it = seen_.emplace(id, std::move(*pv)).first;
    }
    return it->second;
  }

  // The line's amount differs from the payout's: why, else empty.
  static std::string amount_problem(const BankReportLine& l, const PayoutValue& pv,
                                    const MarketplaceConfig& mk) {
    if (!l.amount) return {};
    auto c = mk.currency(pv.currency);
    if (!c) return {};
    std::string have = format_amount(Amount::from_minor(pv.amount), *c) + " " + pv.currency;
    if (l.amount->currency != pv.currency)
      return "the line says " + l.amount->value + " " + l.amount->currency + ", the payout is " +
             have;
    auto a = parse_amount(l.amount->value, *c, "amount");
    if (!a || a->minor() != pv.amount)
      return "the line says " + l.amount->value + " " + l.amount->currency + ", the payout is " +
             have;
    return {};
  }

  void judge(const BankReportLine& l, ReportLineResult& r, size_t line_index,
             std::vector<Planned>& planned) {
    std::string why;
    std::vector<std::string> ids = resolve(l, why);
    if (ids.empty()) {
      r.status = ReportLineStatus::unmatched;
      r.message = why;
      return;
    }
    const std::optional<PayoutResultStatus> status = status_of(l.outcome);
    const bool single = l.reference_kind == ReferenceKind::end_to_end_id ||
                        l.reference_kind == ReferenceKind::trace_number;
    bool moved = false, contradicted = false, mismatch = false, unknown = false;
    for (const std::string& id : ids) {
      PayoutValue& pv = record(id);
      ReportPayoutResult p;
      p.payout = id;
      p.before = p.after = pv.state;
      const MarketplaceConfig* mk = rules_.config().marketplace(pv.marketplace);
      if (!mk) {
        p.status = ReportLineStatus::unmatched;
        p.message = "marketplace " + pv.marketplace + " is no longer configured";
        unknown = true;
      } else if (!status) {
        p.status = ReportLineStatus::informational;
        p.message = std::string(report_outcome_name(l.outcome)) + ": nothing to apply";
      } else if (std::string bad = single ? amount_problem(l, pv, *mk) : ""; !bad.empty()) {
        p.status = ReportLineStatus::mismatched;
        p.message = bad;
        mismatch = true;
      } else {
        const std::string what(payout_result_status_name(*status));
        switch (transition_verdict(pv.state, *status)) {
          case TransitionVerdict::already_applied:
            p.status = ReportLineStatus::already_applied;
            p.message = "already " + std::string(payout_state_name(pv.state));
            break;
          case TransitionVerdict::contradictory:
            p.status = ReportLineStatus::contradictory;
            p.message = what + " after " + std::string(payout_state_name(pv.state)) +
                        ": a payout settles once";
            contradicted = true;
            break;
          case TransitionVerdict::apply: {
            p.status = ReportLineStatus::matched;
            p.entry_id = report_transition_entry_id(id, *status);
            PayoutTransition tr;
            tr.payout = id;
            tr.status = *status;
            tr.reason_code = l.reason;
            tr.reason = l.reason_info.substr(0, 512);
            tr.entry_id = p.entry_id;
            tr.at = at_;
            tr.meta = {{"report", cut(report_.message_id)},
                       {"report_format", std::string(report_format_name(report_.format))},
                       {"report_line", cut(l.location)}};
            if (!l.bank_reference.empty())
              tr.meta.emplace_back("bank_reference", cut(l.bank_reference));
            if (!l.reason.empty()) tr.meta.emplace_back("reason_code", cut(l.reason));
            if (l.date) tr.meta.emplace_back("bank_date", format_date(*l.date));
            Encoder e;
            e.str(id), e.u8(static_cast<uint8_t>(*status)), e.str(report_.message_id),
                e.str(l.location);
            tr.digest = sha256("report-transition", e.take());
            planned.push_back({line_index, r.payouts.size(), std::move(tr)});
            pv.state = state_after(*status);  // what the next lines see
            p.after = pv.state;
            moved = true;
            break;
          }
        }
      }
      r.payouts.push_back(std::move(p));
    }
    if (!status)
      r.status = unknown ? ReportLineStatus::unmatched : ReportLineStatus::informational;
    else if (contradicted)
      r.status = ReportLineStatus::contradictory;
    else if (mismatch)
      r.status = ReportLineStatus::mismatched;
    else if (moved)
      r.status = ReportLineStatus::matched;
    else if (unknown)
      r.status = ReportLineStatus::unmatched;
    else
      r.status = ReportLineStatus::already_applied;
    for (const auto& p : r.payouts)
      if (!p.message.empty() && p.status == r.status) {
        r.message = "payout " + p.payout + ": " + p.message;
        break;
      }
    if (ids.size() > 1)
      r.message =
          std::to_string(ids.size()) + " payouts" + (r.message.empty() ? "" : "; " + r.message);
  }

  TableReader& t_;
  const Rules& rules_;
  const tables::Handles& h_;
  const BankReport& report_;
  TimeNs at_;
  std::map<std::string, PayoutValue> seen_;
};

bool complete(const ReportImport& r) {
  return r.unmatched == 0 && r.contradictory == 0 && r.mismatched == 0;
}

class ImportOp final : public WriteOp {
 public:
  ImportOp(const Rules& rules, BankReport report, ReportImportOptions options,
           std::shared_ptr<ReportImport> out)
      : rules_(rules), report_(std::move(report)), options_(options), out_(std::move(out)) {}

  size_t weight() const override { return std::max<size_t>(1, report_.lines.size()); }

  ItemResult apply(WriteTxn& t) override {
    *out_ = ReportImport{};
    const TimeNs at = options_.at ? options_.at : t.commit_ns();
    std::vector<Planned> planned = Judge(t, rules_, report_, at).run(*out_);
    ItemResult ok;
    ok.id = report_.message_id;
    if (planned.empty() || (options_.all_or_nothing && !complete(*out_))) return ok;
    t.begin_savepoint();
    for (const Planned& p : planned) {
      const PayoutTransition& tr = p.transition;
      auto pv = load_payout(t, rules_.tables(), tr.payout);
      TALLY_ASSERT(pv.has_value(), "a judged payout exists: " + tr.payout);
      const MarketplaceConfig* mk = rules_.config().marketplace(pv->marketplace);
      TALLY_ASSERT(mk != nullptr, "a judged payout's marketplace is configured");
      auto done = apply_payout_transition(t, rules_.tables(), *mk, std::move(*pv), tr);
      if (!done) {
        t.end_savepoint(false);
        const ReportLineResult& line = out_->lines[p.line];
        Rejection why = done.error();
        why.message = "report line " + std::to_string(line.line) + " (" + line.location +
                      "): payout " + tr.payout + ": " + why.message +
                      "; nothing of the report was applied";
        *out_ = ReportImport{};
        return ItemResult::error(std::move(why), report_.message_id);
      }
    }
    t.end_savepoint(true);
    out_->applied = true;
    return ok;
  }

 private:
  const Rules& rules_;
  BankReport report_;
  ReportImportOptions options_;
  std::shared_ptr<ReportImport> out_;
};

}  // namespace

std::unique_ptr<WriteOp> import_report_op(const Rules& rules, BankReport report,
                                          ReportImportOptions options,
                                          std::shared_ptr<ReportImport> out) {
  return std::make_unique<ImportOp>(rules, std::move(report), options, std::move(out));
}

Result<ReportImport> import_bank_report(const Rules& rules, const BankReport& report,
                                        const ReportImportOptions& options) {
  if (options.dry_run) {
    auto snap = rules.ledger().snapshot();
    ReportImport out;
    Judge(*snap, rules, report, options.at ? options.at : rules.ledger().options().clock())
        .run(out);
    out.dry_run = true;
    return out;
  }
  auto out = std::make_shared<ReportImport>();
  Batch b;
  b.push_back(import_report_op(rules, report, options, out));
  ItemResult r = rules.ledger().submit_and_wait(std::move(b))[0];
  if (!r.ok()) return Rejection{r.code, r.message};
  return std::move(*out);
}

}  // namespace tally
