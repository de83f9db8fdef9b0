// What every `tally` command shares: the invocation's context (Ctx), its options (Parsed,
// parse_options), how it reports a rejection or a failure (with the exit code SPEC section 5
// gives), opening the backend the globals choose, and the output helpers (money, Table,
// Progress). Private to cli/.
//
// Thread safety: a Ctx and what it holds belong to one invocation, on one thread.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cli/backend.h"
#include "cli/cli.h"
#include "cli/commands.h"

namespace tally {

// --- arguments ----------------------------------------------------------------------------------

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
                          const std::set<std::string>& flag_opts, Parsed& p);

// --- output
// ---------------------------------------------------------------------------------------

// An amount with its currency's digits and code ("12.50 EUR").
std::string money(Amount a, const Currency& c);

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
// -------------------------------------------------------------------------------

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

// Each reports on `err` (as JSON with --json) and returns the exit code.
int usage_error(Ctx& c, const std::string& message);
void print_error(Ctx& c, std::string_view code, const std::string& message);
int report_rejection(Ctx& c, const Rejection& r);
int report_failure(Ctx& c, const Failure& f);
template <class T>
int report(Ctx& c, const Reply<T>& r) {
  if (r.rejected()) return report_rejection(c, r.rejection());
  return report_failure(c, r.failure());
}

// An entry as `tally entry ID --json` and `tally follow --json` print it: id, seq, at, committed,
// kind, meta, postings, prev_hash, hash.
std::string entry_json(const EntryView& v);

// Opens the backend the globals choose. Returns kExitOk or the exit code to stop with.
int open_backend(Ctx& c, bool creates);
// A --from / --to / --as-of option: RFC 3339 or a date; on a bad value *code is set.
std::optional<TimeNs> time_option(Ctx& c, const Parsed& p, const std::string& name, int* code);

// The commands (each in the file of its kind: post_command.cpp, read_commands.cpp,
// finance_commands.cpp). `args` are the command's arguments after its name.
int cmd_post(Ctx& c, const std::vector<std::string>& args);
int cmd_balance(Ctx& c, const std::vector<std::string>& args);
int cmd_balances(Ctx& c, const std::vector<std::string>& args);
int cmd_statement(Ctx& c, const std::vector<std::string>& args);
int cmd_entry(Ctx& c, const std::vector<std::string>& args);
int cmd_trial_balance(Ctx& c, const std::vector<std::string>& args);
int cmd_verify(Ctx& c, const std::vector<std::string>& args);
int cmd_server_info(Ctx& c, const std::vector<std::string>& args);
int cmd_export(Ctx& c, const std::vector<std::string>& args);
int cmd_close_period(Ctx& c, const std::vector<std::string>& args);
int cmd_settle(Ctx& c, const std::vector<std::string>& args);
int cmd_runs(Ctx& c, const std::vector<std::string>& args);
int cmd_marketplace(Ctx& c, const std::vector<std::string>& args);  // market_commands.cpp
int cmd_payee(Ctx& c, const std::vector<std::string>& args);
int cmd_accounts(Ctx& c, const std::vector<std::string>& args);
int cmd_payouts(Ctx& c, const std::vector<std::string>& args);  // payout_commands.cpp
int cmd_import_report(Ctx& c, const std::vector<std::string>& args);
int cmd_hold(Ctx& c, const std::vector<std::string>& args);
int cmd_follow(Ctx& c, const std::vector<std::string>& args);
int cmd_backup(Ctx& c, const std::vector<std::string>& args);
int cmd_restore(Ctx& c, const std::vector<std::string>& args);
int cmd_token(Ctx& c, const std::vector<std::string>& args);

}  // namespace tally
