#include "cli/cli.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "cli/backend.h"
#include "ledger/batch.h"
#include "cli/commands.h"
#include "cli/remote_backend.h"
#include "cli/embedded_backend.h"
#include "cli/json_items.h"

namespace tally {

namespace {

std::string g_version = "unknown";

constexpr std::string_view kUsage = R"(usage: tally [GLOBAL OPTIONS] COMMAND [ARGS]

Global options (anywhere on the line):
  --data DIR        work on the data directory DIR in this process
  --config FILE     marketplace config (TOML) for --data
  --connect ADDR    speak RPC to a server (or TALLY_CONNECT)
  --token T         the token to log in with (or TALLY_TOKEN)
  --json            machine-readable output (amounts as strings)
  --version, help

Commands:
  post FILE|-                       post JSON Lines (entries, accounts, events)
  balance ACCOUNT [--currency C] [--as-of T]
  balances PREFIX [--as-of T]
  statement ACCOUNT [--from T] [--to T] [--limit N] [--after CURSOR] [--business-time]
  entry ID
  trial-balance [--as-of T]
  verify
  export --format hledger|csv
  close-period DATE
  settle MARKETPLACE --date D [--dry-run]
  runs MARKETPLACE
  payouts RUN --format csv|pain001
  hold MARKETPLACE:PAYEE --on|--off --reason R
  serve [--listen ADDR]
  demo

Exit codes: 0 ok, 1 rejected input, 2 usage, 3 cannot connect or not allowed.
See docs/cli.md.
)";

// --- argument parsing ----------------------------------------------------------------------------

struct Parsed {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;
  std::set<std::string> flags;
  bool has(const std::string& name) const { return values.count(name) || flags.count(name); }
  std::optional<std::string> value(const std::string& name) const {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
};

// Parses a command's arguments: `--name VALUE` or `--name=VALUE` for value options, `--name`
// for flags, anything else positional ("-" too; "--" ends the options). Returns an error
// message, or an empty string.
std::string parse_options(const std::vector<std::string>& args,
                          const std::set<std::string>& value_opts,
                          const std::set<std::string>& flag_opts, Parsed& p) {
  bool options_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (options_done || a.size() < 2 || a[0] != '-' || a == "-") {
      p.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    std::string name = a, value;
    bool inline_value = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      inline_value = true;
    }
    if (value_opts.count(name)) {
      if (!inline_value) {
        if (i + 1 >= args.size()) return name + " needs a value";
        value = args[++i];
      }
      if (p.values.count(name)) return name + " given twice";
      p.values[name] = value;
    } else if (flag_opts.count(name) && !inline_value) {
      p.flags.insert(name);
    } else {
      return "unknown option " + name;
    }
  }
  return {};
}

// --- output helpers ------------------------------------------------------------------------------

std::string money(Amount a, const Currency& c) {
  return format_amount(a, c) + " " + std::string(c.code());
}

// Left-aligned text columns with the amount columns right-aligned.
class Table {
 public:
  explicit Table(std::vector<bool> right) : right_(std::move(right)) {}
  void row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  void print(std::ostream& out) const {
    std::vector<size_t> w(right_.size(), 0);
    for (auto& r : rows_)
      for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
    for (auto& r : rows_) {
      std::string line;
      for (size_t i = 0; i < r.size(); ++i) {
        if (i) line += "  ";
        size_t pad = w[i] - r[i].size();
        bool last = i + 1 == r.size();
        if (right_[i])
          line += std::string(pad, ' ') + r[i];
        else
          line += r[i] + (last ? "" : std::string(pad, ' '));
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out << line << "\n";
    }
  }

 private:
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

// Progress on a terminal: one line, rewritten at most five times a second.
class Progress {
 public:
  Progress(bool enabled, std::ostream& err, std::string what)
      : enabled_(enabled), err_(err), what_(std::move(what)) {}
  ~Progress() { finish(); }
  // `stage`, when given, replaces the label ("planning chunk 2/9").
  void update(uint64_t done, uint64_t total, const std::string& stage = {}) {
    if (!enabled_) return;
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count();
    if (shown_ && now - last_ < 200) return;
    last_ = now;
    shown_ = true;
    err_ << "\r\033[K" << (stage.empty() ? what_ : what_ + ": " + stage) << " " << done;
    if (total) err_ << "/" << total;
    err_ << std::flush;
  }
  void finish() {
    if (enabled_ && shown_) err_ << "\r\033[K" << std::flush;
    shown_ = false;
  }

 private:
  bool enabled_;
  std::ostream& err_;
  std::string what_;
  bool shown_ = false;
  int64_t last_ = 0;  // milliseconds of the steady clock
};

// --- the invocation
// --------------------------------------------------------------------------------

struct Ctx {
  Ctx(std::istream& i, std::ostream& o, std::ostream& e) : in(i), out(o), err(e) {}
  CliGlobals g;
  bool data_given = false, connect_given = false;
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  bool terminal = false;  // progress allowed
  std::unique_ptr<Backend> backend;
  std::string command;
};

int usage_error(Ctx& c, const std::string& message) {
  c.err << "tally " << c.command << (c.command.empty() ? "" : ": ") << message
        << "\n(tally help shows every command)\n";
  return kExitUsage;
}

void print_error(Ctx& c, std::string_view code, const std::string& message) {
  if (c.g.json) {
    JsonWriter w;
    w.begin_object().field("status", "error").field("code", code).field("message", message);
    w.end_object();
    c.err << w.str() << "\n";
  } else {
    c.err << "tally " << c.command << ": " << message << "\n";
  }
}

int report_rejection(Ctx& c, const Rejection& r) {
  print_error(c, code_name(r.code), r.message);
  return kExitRejected;
}

int report_failure(Ctx& c, const Failure& f) {
  print_error(c, failure_kind_name(f.kind), f.message);
  return kExitUnavailable;
}

template <class T>
int report(Ctx& c, const Reply<T>& r) {
  if (r.rejected()) return report_rejection(c, r.rejection());
  return report_failure(c, r.failure());
}

// Opens the backend the globals choose. Returns kExitOk or the exit code to stop with.
int open_backend(Ctx& c, bool creates) {
  if (c.data_given && c.connect_given)
    return usage_error(c, "give either --data DIR or --connect ADDR, not both");
  bool remote = c.connect_given || (!c.data_given && !c.g.connect.empty());
  if (remote) {
    if (!c.g.config_file.empty())
      return usage_error(c, "--config is for --data (a server reads its own config)");
    auto b = make_remote_backend(c.g.connect, c.g.token);
    if (!b.ok()) return report(c, b);
    c.backend = std::move(b.value());
    return kExitOk;
  }
  if (c.g.data_dir.empty()) return usage_error(c, "no --data DIR or --connect ADDR given");
  EmbeddedOptions o;
  o.data_dir = c.g.data_dir;
  o.create_if_missing = creates;
  if (!c.g.config_file.empty()) {
    auto cfg = load_config_file(c.g.config_file, CurrencyTable());
    if (!cfg.ok()) {
      c.err << "tally " << c.command << ": config " << c.g.config_file << ":\n"
            << cfg.error().message << "\n";
      return kExitUsage;
    }
    o.config = std::move(cfg.value());
  }
  auto b = EmbeddedBackend::open(std::move(o));
  if (!b.ok()) return report(c, b);
  c.backend = std::move(b.value());
  return kExitOk;
}

std::optional<TimeNs> time_option(Ctx& c, const Parsed& p, const std::string& name, int* code) {
  auto v = p.value(name);
  if (!v) return std::nullopt;
  auto t = parse_time_or_date(*v, name);
  if (!t.ok()) {
    *code = usage_error(c, t.error().message +
                               " (give RFC 3339, e.g. 2026-01-05T10:00:00Z, "
                               "or a date, 2026-01-05)");
    return std::nullopt;
  }
  return *t;
}

// --- post
// ------------------------------------------------------------------------------------------

// Reads one line (without its '\n'); keeps at most `max` + 1 bytes, so an endless line costs no
// memory; `too_long` tells. False at the end of the input with nothing read.
bool read_line(std::streambuf* sb, std::string& line, bool& too_long, size_t max) {
  line.clear();
  too_long = false;
  bool any = false;
  for (;;) {
    int ch = sb->sbumpc();
    if (ch == std::char_traits<char>::eof()) return any;
    any = true;
    if (ch == '\n') return true;
    if (line.size() <= max) {
      line.push_back(static_cast<char>(ch));
    } else {
      too_long = true;
    }
  }
}

struct Slot {
  uint64_t line = 0;
  bool linked = false;
  std::optional<PostItem> item;  // absent: rejected before sending
  ItemResult result;             // the rejection, or (after posting) the backend's result
};

struct PostStats {
  uint64_t ok = 0, duplicate = 0, failed = 0;
};

// Posts one chunk of slots (it ends at a chain boundary) and prints their result lines.
// Returns false when the backend failed (the failure is reported).
bool post_chunk(Ctx& c, std::vector<Slot>& slots, PostStats& stats, Progress& progress,
                uint64_t& posted_before, int& exit_code) {
  // A chain with a line refused here, or left open at the end of the input, fails whole: its
  // other items are not sent (ledger/batch.h).
  std::vector<std::string> ids(slots.size());
  std::vector<BatchItem> info(slots.size());
  for (size_t k = 0; k < slots.size(); ++k) {
    if (slots[k].item) ids[k] = post_item_id(slots[k].item->body);
    info[k] = BatchItem{ids[k], slots[k].linked, slots[k].item ? nullptr : &slots[k].result};
  }
  Triage triage =
      triage_batch(info, [&](size_t k) { return "line " + std::to_string(slots[k].line); });
  for (size_t k = 0; k < slots.size(); ++k)
    if (triage.decided[k]) {
      slots[k].result = std::move(*triage.decided[k]);
      slots[k].item.reset();
    }

  std::vector<PostItem> items;
  std::vector<size_t> sent;
  for (size_t k : triage.apply) {
    sent.push_back(k);
    items.push_back(std::move(*slots[k].item));
    slots[k].item.reset();
  }
  PostOutcome outcome;
  if (!items.empty()) {
    uint64_t base = posted_before;
    outcome = c.backend->post(std::move(items),
                              [&](uint64_t done, uint64_t) { progress.update(base + done, 0); });
  }
  for (size_t b = 0; b < outcome.results.size() && b < sent.size(); ++b)
    slots[sent[b]].result = std::move(outcome.results[b]);
  // Print in line order up to the first item whose outcome is unknown.
  size_t known =
      outcome.results.size() >= sent.size() ? slots.size() : sent[outcome.results.size()];
  progress.finish();
  for (size_t k = 0; k < known; ++k) {
    const ItemResult& r = slots[k].result;
    c.out << post_result_line(slots[k].line, r) << "\n";
    switch (r.status) {
      case ItemStatus::ok:
        ++stats.ok;
        break;
      case ItemStatus::duplicate:
        ++stats.duplicate;
        break;
      case ItemStatus::error:
        ++stats.failed;
        exit_code = std::max(exit_code, kExitRejected);
        break;
    }
  }
  posted_before += slots.size();
  if (outcome.failure) {
    c.out.flush();
    Failure f = *outcome.failure;
    if (known < slots.size())
      f.message += " (the outcome of line " + std::to_string(slots[known].line) +
                   " and later is unknown; reposting them is safe)";
    report_failure(c, f);
    exit_code = kExitUnavailable;
    return false;
  }
  return true;
}

int cmd_post(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {"--chunk"}, {}, p); !e.empty()) return usage_error(c, e);
  if (p.positional.size() != 1) return usage_error(c, "expects one FILE (or - for stdin)");
  size_t chunk = 10000;
  if (auto v = p.value("--chunk")) {
    char* end = nullptr;
    unsigned long long n = std::strtoull(v->c_str(), &end, 10);
    if (v->empty() || *end || n < 1 || n > 1000000)
      return usage_error(c, "--chunk must be a number 1..1000000");
    chunk = n;
  }
  std::ifstream file;
  std::streambuf* sb = nullptr;
  const std::string& path = p.positional[0];
  if (path == "-") {
    sb = c.in.rdbuf();
  } else {
    file.open(path, std::ios::binary);
    if (!file) return usage_error(c, "cannot read " + path);
    sb = file.rdbuf();
  }
  if (int rc = open_backend(c, /*creates=*/true); rc != kExitOk) return rc;

  // Entry amounts are parsed with their currency's exponent: a built-in, an asset the ledger
  // knows, or one an earlier line of this input declares (it is applied before the lines after
  // it, in the same or an earlier batch).
  std::map<std::string, Currency, std::less<>> declared;
  Backend* backend = c.backend.get();
  CurrencyLookup lookup = [backend, &declared](std::string_view code) -> std::optional<Currency> {
    if (auto it = declared.find(code); it != declared.end()) return it->second;
    return backend->find_currency(code);
  };
  LineParser parser(lookup);
  Progress progress(c.terminal, c.err, "posted");
  PostStats stats;
  int exit_code = kExitOk;
  std::vector<Slot> slots;
  std::string line;
  bool too_long = false;
  uint64_t line_no = 0, posted = 0;
  while (read_line(sb, line, too_long, limits::json_line_bytes_max)) {
    ++line_no;
    if (!too_long && blank_line(line)) continue;
    Slot s;
    s.line = line_no;
    if (too_long) {
      s.result = ItemResult::error(reject(
          Code::bad_request, "line: longer than " + std::to_string(limits::json_line_bytes_max) + " bytes"));
    } else {
      LineInfo info;
      auto item = parser.parse(line, &info);
      s.linked = info.linked;
      if (item.ok()) {
        if (auto* a = std::get_if<DeclareAssetItem>(&item.value().body)) {
          auto cur = Currency::make(a->code, a->exponent);
          if (cur && !backend->find_currency(a->code)) declared.emplace(a->code, *cur);
        }
        s.item = std::move(item.value());
      } else {
        s.result = ItemResult::error(item.error(), info.id);
      }
    }
    slots.push_back(std::move(s));
    if (slots.size() >= chunk && !slots.back().linked) {
      if (!post_chunk(c, slots, stats, progress, posted, exit_code)) return exit_code;
      slots.clear();
    }
  }
  if (!slots.empty() && !post_chunk(c, slots, stats, progress, posted, exit_code)) return exit_code;
  progress.finish();
  c.out.flush();
  if (c.terminal)
    c.err << "tally post: " << (stats.ok + stats.duplicate + stats.failed) << " lines: " << stats.ok
          << " ok, " << stats.duplicate << " duplicate, " << stats.failed << " failed\n";
  return exit_code;
}

// --- reads
// -----------------------------------------------------------------------------------------

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
    JsonWriter w;
    w.begin_object()
        .field("id", e.id)
        .key("seq")
        .unsigned_number(v.seq)
        .field("at", format_rfc3339(e.at))
        .field("committed", format_rfc3339(v.commit_ns))
        .field("kind", e.kind);
    w.key("meta").begin_object();
    for (auto& [k, val] : e.meta) w.field(k, val);
    w.end_object().key("postings").begin_array();
    for (auto& ps : e.postings)
      w.begin_object()
          .field("account", ps.account)
          .field("currency", ps.currency.code())
          .field("side", side_name(ps.side))
          .field("amount", format_amount(ps.amount, ps.currency))
          .end_object();
    w.end_array().field("prev_hash", to_hex(v.prev_hash)).field("hash", to_hex(v.hash));
    w.end_object();
    c.out << w.str() << "\n";
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

// --- finance
// ---------------------------------------------------------------------------------------

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
    w.key("released").begin_array();
    for (auto& l : run.released)
      w.begin_object()
          .field("payee", l.payee)
          .field("currency", l.currency.code())
          .field("amount", format_amount(l.amount, l.currency))
          .end_object();
    w.end_array().key("payouts").begin_array();
    for (auto& l : run.payouts)
      w.begin_object()
          .field("payout", l.payout)
          .field("payee", l.payee)
          .field("currency", l.currency.code())
          .field("amount", format_amount(l.amount, l.currency))
          .end_object();
    w.end_array().key("carried").begin_array();
    for (auto& l : run.carried)
      w.begin_object()
          .field("payee", l.payee)
          .field("currency", l.currency.code())
          .field("balance", format_amount(l.balance, l.currency))
          .field("reason", carry_reason_name(l.reason))
          .end_object();
    w.end_array().key("totals").begin_array();
    for (auto& t : run.paid_totals)
      w.begin_object()
          .field("currency", t.currency.code())
          .field("amount", format_amount(t.balance, t.currency))
          .end_object();
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
  return kExitOk;
}

int cmd_runs(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {}, {}, p); !e.empty()) return usage_error(c, e);
  if (p.positional.size() != 1) return usage_error(c, "expects one MARKETPLACE");
  if (int rc = open_backend(c, false); rc != kExitOk) return rc;
  auto r = c.backend->runs(p.positional[0]);
  if (!r.ok()) return report(c, r);
  if (c.g.json) {
    JsonWriter w;
    w.begin_object().field("marketplace", p.positional[0]).key("runs").begin_array();
    for (auto& s : r.value()) {
      w.begin_object()
          .field("run", s.run)
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
  Table t({false, false, false, true, true, false});
  t.row({"RUN", "PAY DATE", "STATE", "PAID", "CARRIED", "TOTALS"});
  for (auto& s : r.value()) {
    std::string totals;
    for (auto& tot : s.paid_totals)
      totals += (totals.empty() ? "" : ", ") + money(tot.balance, tot.currency);
    std::string state = s.state == RunStateResult::complete
                            ? "complete"
                            : "in progress (" + std::to_string(s.payees) + " payees, " +
                                  std::to_string(s.chunks) + " chunks)";
    t.row({s.run, s.pay_date, state, std::to_string(s.payees_paid),
           std::to_string(s.payees_carried), totals});
  }
  t.print(c.out);
  return kExitOk;
}

int cmd_payouts(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {"--format"}, {}, p); !e.empty()) return usage_error(c, e);
  if (p.positional.size() != 1) return usage_error(c, "expects one RUN");
  auto name = p.value("--format");
  if (!name) return usage_error(c, "--format csv|pain001 is required");
  auto fmt = parse_payout_format(*name);
  if (!fmt) return usage_error(c, "--format must be csv or pain001, not " + *name);
  if (int rc = open_backend(c, false); rc != kExitOk) return rc;
  auto r = c.backend->payouts(p.positional[0], *fmt);
  if (!r.ok()) return report(c, r);
  c.out << r.value();
  return kExitOk;
}

int cmd_hold(Ctx& c, const std::vector<std::string>& args) {
  Parsed p;
  if (auto e = parse_options(args, {"--reason", "--id"}, {"--on", "--off"}, p); !e.empty())
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

}  // namespace

void set_cli_version(std::string_view version) {
  g_version = std::string(version);
}

int run_cli(int argc, char** argv, std::istream& in, std::ostream& out, std::ostream& err) {
  Ctx c(in, out, err);
  c.terminal = &err == &std::cerr && ::isatty(2) == 1;
  if (const char* v = std::getenv("TALLY_CONNECT")) c.g.connect = v;
  if (const char* v = std::getenv("TALLY_TOKEN")) c.g.token = v;

  // Global options may come anywhere; the first other word is the command.
  std::vector<std::string> rest;
  bool version = false, help = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string name = a, value;
    bool inline_value = false;
    if (a.rfind("--", 0) == 0) {
      if (auto eq = a.find('='); eq != std::string::npos) {
        name = a.substr(0, eq);
        value = a.substr(eq + 1);
        inline_value = true;
      }
    }
    if (name == "--data" || name == "--config" || name == "--connect" || name == "--token") {
      if (!inline_value) {
        if (i + 1 >= argc) return usage_error(c, name + " needs a value");
        value = argv[++i];
      }
      if (name == "--data") {
        c.g.data_dir = value;
        c.data_given = true;
      } else if (name == "--config") {
        c.g.config_file = value;
      } else if (name == "--connect") {
        c.g.connect = value;
        c.connect_given = true;
      } else {
        c.g.token = value;
      }
    } else if (a == "--json") {
      c.g.json = true;
    } else if (a == "--version") {
      version = true;
    } else if ((a == "--help" || a == "-h") && rest.empty()) {
      help = true;
    } else {
      rest.push_back(std::move(a));
    }
  }
  if (version) {
    out << "tally " << g_version << "\n";
    return kExitOk;
  }
  if (help || (!rest.empty() && rest[0] == "help")) {
    out << kUsage;
    return kExitOk;
  }
  if (rest.empty()) {
    err << kUsage;
    return kExitUsage;
  }
  c.command = rest[0];
  std::vector<std::string> args(rest.begin() + 1, rest.end());
  const std::string& cmd = c.command;
  if (cmd == "serve") return run_serve_command(c.g, args, in, out, err);
  if (cmd == "demo") return run_demo_command(c.g, args, in, out, err);
  for (auto& a : args)
    if (a == "--help" || a == "-h") {
      out << kUsage;
      return kExitOk;
    }
  if (cmd == "post") return cmd_post(c, args);
  if (cmd == "balance") return cmd_balance(c, args);
  if (cmd == "balances") return cmd_balances(c, args);
  if (cmd == "statement") return cmd_statement(c, args);
  if (cmd == "entry") return cmd_entry(c, args);
  if (cmd == "trial-balance") return cmd_trial_balance(c, args);
  if (cmd == "verify") return cmd_verify(c, args);
  if (cmd == "export") return cmd_export(c, args);
  if (cmd == "close-period") return cmd_close_period(c, args);
  if (cmd == "settle") return cmd_settle(c, args);
  if (cmd == "runs") return cmd_runs(c, args);
  if (cmd == "payouts") return cmd_payouts(c, args);
  if (cmd == "hold") return cmd_hold(c, args);
  c.command.clear();
  return usage_error(c, "unknown command " + cmd);
}

}  // namespace tally
