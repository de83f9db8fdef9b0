// Finance's commands: close-period, settle, runs, hold (docs/cli.md; payouts and import-report:
// payout_commands.cpp).
#include <algorithm>
#include <fstream>
#include <map>

#include "cli/command_context.h"
#include "ledger/json_writer.h"

namespace tally {

namespace {

std::string result_json(const ItemResult& r) {
  // The post result shape without a line number.
  JsonWriter w;
  w.begin_object().key("id");
  if (r.id.empty()) {
    w.null();
  } else {
    w.string(r.id);
  }
  w.field("status", r.status == ItemStatus::duplicate ? "duplicate" : "ok");
  if (r.seq) w.key("seq").unsigned_number(r.seq);
  if (!r.detail.empty()) w.key("detail").raw(r.detail);
  w.end_object();
  return w.take();
}

}  // namespace

int cmd_close_period(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {}, {}, p); !e.empty()) return usage_error(c, e);
  if (p.positional.size() != 1) return usage_error(c, "expects one DATE (YYYY-MM-DD)");
  if (auto d = parse_date_utc(p.positional[0], "DATE"); !d.ok())
    return usage_error(c, d.error().message);
  if (int rc = open_backend(c, false); rc != kExitOk) return rc;
  auto r = c.backend->close_period(p.positional[0]);
  if (!r.ok()) return report(c, r);
  if (c.g.json) {
    JsonWriter w;
    w.begin_object()
        .field("through", r->through)
        .field("end", format_rfc3339(r->end_exclusive))
        .field("status", r->result.status == ItemStatus::duplicate ? "duplicate" : "ok")
        .end_object();
    c.out << w.str() << "\n";
  } else {
    c.out << "closed through " << r->through << ": entries dated before "
          << format_rfc3339(r->end_exclusive) << " are refused from now on\n";
  }
  return kExitOk;
}

int cmd_settle(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {"--date"}, {"--dry-run"}, p); !e.empty())
    return usage_error(c, e);
  if (p.positional.size() != 1) return usage_error(c, "expects one MARKETPLACE");
  auto date = p.value("--date");
  if (!date) return usage_error(c, "--date YYYY-MM-DD is required");
  if (auto d = parse_date_utc(*date, "--date"); !d.ok()) return usage_error(c, d.error().message);
  if (int rc = open_backend(c, false); rc != kExitOk) return rc;
  SettleRequest req{p.positional[0], *date, p.flags.count("--dry-run") > 0};
  Progress progress(c.terminal, c.err, "settling");
  progress.update(0, 0);
  auto r = c.backend->settle(req, [&](uint64_t done, uint64_t total, const std::string& stage) {
    progress.update(done, total, stage);
  });
  progress.finish();
  if (!r.ok()) return report(c, r);
  const RunResult& run = r.value();
  if (c.g.json) {
    JsonWriter w;
    w.begin_object()
        .field("run", run.run)
        .field("marketplace", run.marketplace)
        .field("pay_date", run.pay_date)
        .field("cutoff", format_rfc3339(run.cutoff))
        .key("dry_run")
        .boolean(run.dry_run)
        .key("existing")
        .boolean(run.existing)
        .field("state", run_state_result_name(run.state))
        .key("chunks")
        .unsigned_number(run.chunks)
        .key("payees")
        .unsigned_number(run.payees);
    auto lines = [&](const char* key, const std::vector<ReleasedLine>& rows) {
      w.key(key).begin_array();
      for (auto& l : rows)
        w.begin_object()
            .field("payee", l.payee)
            .field("currency", l.currency.code())
            .field("amount", format_amount(l.amount, l.currency))
            .end_object();
      w.end_array();
    };
    lines("released", run.released);
    w.key("payouts").begin_array();
    for (auto& l : run.payouts)
      w.begin_object()
          .field("payout", l.payout)
          .field("payee", l.payee)
          .field("currency", l.currency.code())
          .field("amount", format_amount(l.amount, l.currency))
          .field("tax", format_amount(l.tax, l.currency))
          .field("kept", format_amount(l.kept, l.currency))
          .end_object();
    w.end_array().key("carried").begin_array();
    for (auto& l : run.carried)
      w.begin_object()
          .field("payee", l.payee)
          .field("currency", l.currency.code())
          .field("balance", format_amount(l.balance, l.currency))
          .field("reason", carry_reason_name(l.reason))
          .end_object();
    w.end_array();
    lines("reserved", run.reserved);
    lines("reserve_released", run.reserve_released);
    w.key("totals").begin_array();
    for (auto& t : run.paid_totals) {
      w.begin_object()
          .field("currency", t.currency.code())
          .field("amount", format_amount(t.balance, t.currency));
      for (auto& x : run.totals) {
        if (x.currency.code() != t.currency.code()) continue;
        w.field("reserved", format_amount(x.reserved, x.currency))
            .field("reserve_released", format_amount(x.reserve_released, x.currency))
            .field("tax", format_amount(x.tax, x.currency))
            .field("kept", format_amount(x.kept, x.currency));
      }
      w.end_object();
    }
    w.end_array().end_object();
    c.out << w.str() << "\n";
    return kExitOk;
  }
  c.out << (run.dry_run ? "preview of run " : "run ") << run.run << " (" << run.marketplace
        << ", pay date " << run.pay_date << ", cut-off " << format_rfc3339(run.cutoff) << ")"
        << (run.existing ? ": already done, nothing posted" : "") << "\n";
  c.out << "released " << run.released.size() << ", paid " << run.payouts.size() << ", carried "
        << run.carried.size() << " (" << run.payees << " payees in " << run.chunks
        << (run.chunks == 1 ? " chunk" : " chunks") << ")\n";
  if (!run.payouts.empty()) {
    Table t({false, false, true});
    t.row({"PAYOUT", "PAYEE", "AMOUNT"});
    for (auto& l : run.payouts) t.row({l.payout, l.payee, money(l.amount, l.currency)});
    t.print(c.out);
  }
  if (!run.carried.empty()) {
    Table t({false, true, false});
    t.row({"CARRIED", "BALANCE", "REASON"});
    for (auto& l : run.carried)
      t.row({l.payee, money(l.balance, l.currency), std::string(carry_reason_name(l.reason))});
    t.print(c.out);
  }
  for (auto& tot : run.paid_totals)
    c.out << "total paid " << money(tot.balance, tot.currency) << "\n";
  // What the run kept back, per currency, when it kept anything (docs/cli.md).
  for (auto& t : run.totals) {
    if (!t.reserved.is_zero() || !t.reserve_released.is_zero())
      c.out << "total reserved " << money(t.reserved, t.currency) << ", released from reserve "
            << money(t.reserve_released, t.currency) << "\n";
    if (!t.tax.is_zero() || !t.kept.is_zero())
      c.out << "total payout tax " << money(t.tax, t.currency) << ", kept as minimum balance "
            << money(t.kept, t.currency) << "\n";
  }
  return kExitOk;
}

int cmd_runs(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {}, {}, p); !e.empty()) return usage_error(c, e);
  if (p.positional.size() > 1) return usage_error(c, "expects at most one MARKETPLACE");
  if (int rc = open_backend(c, false); rc != kExitOk) return rc;
  // No marketplace: every marketplace's runs (the auditor's read).
  std::optional<std::string> mk;
  if (!p.positional.empty()) mk = p.positional[0];
  auto r = c.backend->runs_all(mk);
  if (!r.ok()) return report(c, r);
  if (c.g.json) {
    JsonWriter w;
    w.begin_object().key("marketplace");
    if (mk)
      w.string(*mk);
    else
      w.null();
    w.key("runs").begin_array();
    for (auto& s : r.value()) {
      w.begin_object()
          .field("run", s.run)
          .field("marketplace", s.marketplace)
          .field("pay_date", s.pay_date)
          .field("cutoff", format_rfc3339(s.cutoff))
          .field("state", run_state_result_name(s.state))
          .key("chunks")
          .unsigned_number(s.chunks)
          .key("payees")
          .unsigned_number(s.payees);
      if (s.state == RunStateResult::complete) w.field("committed", format_rfc3339(s.committed_ns));
      w.key("payees_paid")
          .unsigned_number(s.payees_paid)
          .key("payees_carried")
          .unsigned_number(s.payees_carried)
          .key("totals")
          .begin_array();
      for (auto& t : s.paid_totals)
        w.begin_object()
            .field("currency", t.currency.code())
            .field("amount", format_amount(t.balance, t.currency))
            .end_object();
      w.end_array().end_object();
    }
    w.end_array().end_object();
    c.out << w.str() << "\n";
    return kExitOk;
  }
  Table t({false, false, false, false, true, true, false});
  t.row({"RUN", "MARKETPLACE", "PAY DATE", "STATE", "PAID", "CARRIED", "TOTALS"});
  for (auto& s : r.value()) {
    std::string totals;
    for (auto& tot : s.paid_totals)
      totals += (totals.empty() ? "" : ", ") + money(tot.balance, tot.currency);
    std::string state = s.state == RunStateResult::complete
                            ? "complete"
                            : "in progress (" + std::to_string(s.payees) + " payees, " +
                                  std::to_string(s.chunks) + " chunks)";
    t.row({s.run, s.marketplace, s.pay_date, state, std::to_string(s.payees_paid),
           std::to_string(s.payees_carried), totals});
  }
  t.print(c.out);
  return kExitOk;
}

int cmd_hold(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {"--reason", "--id", "--at"}, {"--on", "--off"}, p); !e.empty())
    return usage_error(c, e);
  if (p.positional.size() != 1) return usage_error(c, "expects one MARKETPLACE:PAYEE");
  bool on = p.flags.count("--on") > 0, off = p.flags.count("--off") > 0;
  if (on == off) return usage_error(c, "give exactly one of --on and --off");
  auto reason = p.value("--reason");
  if (!reason) return usage_error(c, "--reason R is required");
  const std::string& who = p.positional[0];
  auto colon = who.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == who.size())
    return usage_error(c, "name the payee as MARKETPLACE:PAYEE (e.g. shop:p1), not " + who);
  HoldRequest req;
  req.marketplace = who.substr(0, colon);
  req.payee = who.substr(colon + 1);
  req.on = on;
  req.reason = *reason;
  req.id = p.value("--id").value_or("");
  // Validated by the service (bad_time naming `at`, exit 1), required with --id.
  req.at = p.value("--at");
  if (int rc = open_backend(c, false); rc != kExitOk) return rc;
  auto r = c.backend->hold(req);
  if (!r.ok()) return report(c, r);
  if (c.g.json) {
    c.out << result_json(r.value()) << "\n";
  } else {
    c.out << who << (on ? " is on hold: " : " is off hold: ") << *reason << "\n";
  }
  return kExitOk;
}

}  // namespace tally
