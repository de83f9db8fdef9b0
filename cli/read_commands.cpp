// The auditor's commands: balance, balances, statement, entry, trial-balance, verify, export
// (docs/cli.md).
#include <algorithm>
#include <fstream>
#include <map>

#include "cli/command_context.h"
#include "ledger/json_writer.h"

namespace tally {

int cmd_balance(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {"--currency", "--as-of"}, {}, p); !e.empty())
    return usage_error(c, e);
  if (p.positional.size() != 1) return usage_error(c, "expects one ACCOUNT");
  int code = kExitOk;
  BalanceQuery q;
  q.account = p.positional[0];
  q.currency = p.value("--currency");
  q.as_of = time_option(c, p, "--as-of", &code);
  if (code != kExitOk) return code;
  if (int rc = open_backend(c, false); rc != kExitOk) return rc;
  auto r = c.backend->balance(q);
  if (!r.ok()) return report(c, r);
  // As of a time before the account was opened: said so, never a 0.00 (docs/cli.md).
  if (r->not_yet_opened) {
    const std::string opened = r->opened_ns ? format_rfc3339(*r->opened_ns) : std::string();
    if (c.g.json) {
      JsonWriter w;
      w.begin_object().field("account", r->account).key("currency");
      if (q.currency)
        w.string(*q.currency);
      else
        w.null();
      w.key("balance")
          .null()
          .field("as_of", format_rfc3339(r->as_of))
          .field("kind", kind_name(r->kind))
          .key("not_yet_opened")
          .boolean(true)
          .field("opened", opened)
          .end_object();
      c.out << w.str() << "\n";
    } else {
      c.out << r->account << " (" << kind_name(r->kind) << ") as of " << format_rfc3339(r->as_of)
            << ": not yet opened (opened " << opened << ")\n";
    }
    return kExitOk;
  }
  if (c.g.json) {
    // One object per currency (JSON Lines): the SPEC's shape, whatever the currency count.
    for (auto& b : r->balances) {
      JsonWriter w;
      w.begin_object()
          .field("account", r->account)
          .field("currency", b.currency.code())
          .field("balance", format_amount(b.balance, b.currency))
          .field("as_of", format_rfc3339(r->as_of))
          .field("kind", kind_name(r->kind))
          .end_object();
      c.out << w.str() << "\n";
    }
    return kExitOk;
  }
  c.out << r->account << " (" << kind_name(r->kind) << ") as of " << format_rfc3339(r->as_of)
        << "\n";
  Table t({false, true, false});
  for (auto& b : r->balances)
    t.row({"  " + std::string(b.currency.code()), format_amount(b.balance, b.currency), ""});
  t.print(c.out);
  return kExitOk;
}

int cmd_balances(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {"--as-of"}, {}, p); !e.empty()) return usage_error(c, e);
  if (p.positional.size() > 1) return usage_error(c, "expects one PREFIX");
  int code = kExitOk;
  auto as_of = time_option(c, p, "--as-of", &code);
  if (code != kExitOk) return code;
  if (int rc = open_backend(c, false); rc != kExitOk) return rc;
  std::string prefix = p.positional.empty() ? "" : p.positional[0];
  auto r = c.backend->balances(prefix, as_of);
  if (!r.ok()) return report(c, r);
  const Balances& b = r->balances;
  if (c.g.json) {
    JsonWriter w;
    w.begin_object().field("prefix", prefix).field("as_of", format_rfc3339(r->as_of));
    w.key("accounts").begin_array();
    for (auto& row : b.accounts)
      w.begin_object()
          .field("account", row.account)
          .field("currency", row.currency.code())
          .field("balance", format_amount(row.balance, row.currency))
          .end_object();
    w.end_array().key("totals").begin_array();
    for (auto& t : b.totals)
      w.begin_object()
          .field("currency", t.currency.code())
          .field("balance", format_amount(t.balance, t.currency))
          .end_object();
    w.end_array().end_object();
    c.out << w.str() << "\n";
    return kExitOk;
  }
  Table t({false, false, true});
  t.row({"ACCOUNT", "CURRENCY", "BALANCE"});
  for (auto& row : b.accounts)
    t.row(
        {row.account, std::string(row.currency.code()), format_amount(row.balance, row.currency)});
  for (auto& tot : b.totals)
    t.row({"total", std::string(tot.currency.code()), format_amount(tot.balance, tot.currency)});
  t.print(c.out);
  if (b.accounts.empty())
    c.out << "(no accounts under " << (prefix.empty() ? "\"\"" : prefix) << ")\n";
  return kExitOk;
}

int cmd_statement(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e =
          parse_options(args, {"--from", "--to", "--limit", "--after"}, {"--business-time"}, p);
      !e.empty())
    return usage_error(c, e);
  if (p.positional.size() != 1) return usage_error(c, "expects one ACCOUNT");
  StatementQuery q;
  q.account = p.positional[0];
  int code = kExitOk;
  q.from = time_option(c, p, "--from", &code);
  if (code != kExitOk) return code;
  q.to = time_option(c, p, "--to", &code);
  if (code != kExitOk) return code;
  q.by_business_time = p.flags.count("--business-time") > 0;
  if (auto v = p.value("--limit")) {
    char* end = nullptr;
    unsigned long long n = std::strtoull(v->c_str(), &end, 10);
    if (v->empty() || *end || n < 1 || n > 10000)
      return usage_error(c, "--limit must be a number 1..10000");
    q.limit = n;
  }
  q.after = p.value("--after").value_or("");
  if (int rc = open_backend(c, false); rc != kExitOk) return rc;
  auto r = c.backend->statement(q);
  if (!r.ok()) return report(c, r);
  const Statement& s = r->statement;
  if (c.g.json) {
    JsonWriter w;
    w.begin_object().field("account", r->account).field("kind", kind_name(r->kind));
    w.key("lines").begin_array();
    for (auto& l : s.lines)
      w.begin_object()
          .key("seq")
          .unsigned_number(l.seq)
          .field("id", l.entry_id)
          .field("kind", l.kind)
          .field("at", format_rfc3339(l.at))
          .field("committed", format_rfc3339(l.commit_ns))
          .field("currency", l.currency.code())
          .field("side", side_name(l.side))
          .field("amount", format_amount(l.amount, l.currency))
          .field("balance", format_amount(l.balance_after, l.currency))
          .end_object();
    w.end_array().key("next");
    if (s.next.empty()) {
      w.null();
    } else {
      w.string(s.next);
    }
    w.end_object();
    c.out << w.str() << "\n";
    return kExitOk;
  }
  c.out << r->account << " (" << kind_name(r->kind) << ")\n";
  Table t({true, false, false, false, false, false, true, true});
  t.row({"SEQ", "COMMITTED", "AT", "ENTRY", "KIND", "SIDE", "AMOUNT", "BALANCE"});
  for (auto& l : s.lines)
    t.row({std::to_string(l.seq), format_rfc3339(l.commit_ns), format_rfc3339(l.at), l.entry_id,
           l.kind, std::string(side_name(l.side)), money(l.amount, l.currency),
           money(l.balance_after, l.currency)});
  t.print(c.out);
  if (s.lines.empty()) c.out << "(no lines)\n";
  if (!s.next.empty()) c.out << "more: --after " << s.next << "\n";
  return kExitOk;
}

int cmd_entry(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {}, {}, p); !e.empty()) return usage_error(c, e);
  if (p.positional.size() != 1) return usage_error(c, "expects one ID");
  if (int rc = open_backend(c, false); rc != kExitOk) return rc;
  auto r = c.backend->entry(p.positional[0]);
  if (!r.ok()) return report(c, r);
  const EntryView& v = r.value();
  const Entry& e = v.entry;
  if (c.g.json) {
    c.out << entry_json(v) << "\n";
    return kExitOk;
  }
  c.out << "entry " << e.id << "\n";
  Table h({false, false});
  h.row({"  seq", std::to_string(v.seq)});
  h.row({"  kind", e.kind});
  h.row({"  at", format_rfc3339(e.at)});
  h.row({"  committed", format_rfc3339(v.commit_ns)});
  for (auto& [k, val] : e.meta) h.row({"  meta." + k, val});
  h.row({"  hash", to_hex(v.hash)});
  h.print(c.out);
  Table t({false, false, true});
  for (auto& ps : e.postings)
    t.row({"  " + std::string(side_name(ps.side)), ps.account, money(ps.amount, ps.currency)});
  t.print(c.out);
  return kExitOk;
}

int cmd_trial_balance(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {"--as-of"}, {}, p); !e.empty()) return usage_error(c, e);
  if (!p.positional.empty()) return usage_error(c, "takes no arguments");
  int code = kExitOk;
  auto as_of = time_option(c, p, "--as-of", &code);
  if (code != kExitOk) return code;
  if (int rc = open_backend(c, false); rc != kExitOk) return rc;
  auto r = c.backend->trial_balance(as_of);
  if (!r.ok()) return report(c, r);
  if (c.g.json) {
    JsonWriter w;
    w.begin_object().field("as_of", format_rfc3339(r->as_of)).key("currencies").begin_array();
    for (auto& row : r->currencies)
      w.begin_object()
          .field("currency", row.currency.code())
          .field("debits", format_amount(row.debits, row.currency))
          .field("credits", format_amount(row.credits, row.currency))
          .key("balanced")
          .boolean(row.debits == row.credits)
          .end_object();
    w.end_array().end_object();
    c.out << w.str() << "\n";
    return kExitOk;
  }
  c.out << "trial balance as of " << format_rfc3339(r->as_of) << "\n";
  Table t({false, true, true, false});
  t.row({"CURRENCY", "DEBITS", "CREDITS", ""});
  for (auto& row : r->currencies)
    t.row({std::string(row.currency.code()), format_amount(row.debits, row.currency),
           format_amount(row.credits, row.currency),
           row.debits == row.credits ? "" : "UNBALANCED"});
  t.print(c.out);
  return kExitOk;
}

// `tally server-info`: the version and the limits a client must respect.
int cmd_server_info(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {}, {}, p); !e.empty()) return usage_error(c, e);
  if (!p.positional.empty()) return usage_error(c, "takes no arguments");
  if (int rc = open_backend(c, false); rc != kExitOk) return rc;
  auto r = c.backend->server_info();
  if (!r.ok()) return report(c, r);
  const ServerInfo& i = r.value();
  const std::pair<const char*, uint64_t> limits[] = {
      {"batch_items_max", i.batch_items_max},
      {"id_bytes_max", i.id_bytes_max},
      {"postings_per_entry_max", i.postings_per_entry_max},
      {"meta_bytes_max", i.meta_bytes_max},
      {"message_words_max", i.message_words_max},
      {"connections_max", i.connections_max},
      {"long_reads_max", i.long_reads_max},
      {"stream_calls_in_flight_max", i.stream_calls_in_flight_max},
      {"login_timeout_ms", i.login_timeout_ms},
      {"idle_timeout_ms", i.idle_timeout_ms},
      {"unauthenticated_bytes_max", i.unauthenticated_bytes_max},
      {"calls_in_flight_max", i.calls_in_flight_max},
      {"reply_queued_bytes_max", i.reply_queued_bytes_max},
      {"call_words_in_flight_max", i.call_words_in_flight_max},
      {"lease_ttl_s", i.lease_ttl_s}};
  if (c.g.json) {
    JsonWriter w;
    w.begin_object().field("version", i.version).key("limits").begin_object();
    for (auto& [k, v] : limits) w.key(k).unsigned_number(v);
    w.end_object().end_object();
    c.out << w.str() << "\n";
    return kExitOk;
  }
  c.out << "tally " << i.version << "\n";
  for (auto& [k, v] : limits) c.out << k << " " << v << "\n";
  return kExitOk;
}

int cmd_verify(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {}, {}, p); !e.empty()) return usage_error(c, e);
  if (!p.positional.empty()) return usage_error(c, "takes no arguments");
  if (int rc = open_backend(c, false); rc != kExitOk) return rc;
  Progress progress(c.terminal, c.err, "verified");
  auto r = c.backend->verify([&](uint64_t done, uint64_t total) { progress.update(done, total); });
  progress.finish();
  if (!r.ok()) return report(c, r);
  const VerifyReport& v = r.value();
  if (c.g.json) {
    JsonWriter w;
    w.begin_object()
        .key("ok")
        .boolean(v.ok)
        .key("entries")
        .unsigned_number(v.entries)
        .key("postings")
        .unsigned_number(v.postings)
        .field("head", to_hex(v.head));
    if (!v.ok) w.field("problem", v.problem);
    w.end_object();
    c.out << w.str() << "\n";
  } else if (v.ok) {
    c.out << "ok: " << v.entries << " entries, " << v.postings
          << " postings; hash chain and every balance check out\nhead " << to_hex(v.head) << "\n";
  } else {
    c.out << "FAILED: " << v.problem << "\n(" << v.entries << " entries checked)\n";
  }
  return v.ok ? kExitOk : kExitRejected;
}

int cmd_export(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {"--format"}, {}, p); !e.empty()) return usage_error(c, e);
  if (!p.positional.empty()) return usage_error(c, "takes no arguments");
  auto fmt_name = p.value("--format");
  if (!fmt_name) return usage_error(c, "--format hledger|csv is required");
  auto fmt = parse_export_format(*fmt_name);
  if (!fmt) return usage_error(c, "--format must be hledger or csv, not " + *fmt_name);
  if (int rc = open_backend(c, false); rc != kExitOk) return rc;
  auto r = c.backend->export_journal(*fmt, [&](std::string_view chunk) {
    c.out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    return static_cast<bool>(c.out);
  });
  if (!r.ok()) return report(c, r);
  c.out.flush();
  if (!c.out) {
    c.err << "tally export: writing the output failed\n";
    return kExitUnavailable;
  }
  return kExitOk;
}

}  // namespace tally
