#include "cli/cli.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "cli/benchmark.h"
#include "cli/command_context.h"

namespace tally {

namespace {

constexpr std::string_view kUsage = R"(usage: tally [GLOBAL OPTIONS] COMMAND [ARGS]

Global options (anywhere on the line):
  --data DIR        work on the data directory DIR in this process
  --config FILE     marketplace config (TOML) for --data
  --connect ADDR    speak RPC to a server (or TALLY_CONNECT)
  --token T         the token to log in with (or TALLY_TOKEN)
  --tls-ca FILE     CAs (PEM) to trust for --connect tls:HOST:PORT (or TALLY_TLS_CA)
  --tls-name NAME   the name the server's certificate must carry (default: HOST)
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
  server-info                       the server's version and limits
  export --format hledger|csv
  close-period DATE
  settle MARKETPLACE --date D [--dry-run]
  runs [MARKETPLACE]                 runs with their state (no MARKETPLACE: every one)
  marketplace NAME [--next N] [--from DATE]   its config as loaded and next pay dates
  payee MARKETPLACE PAYEE           details history, holds, hold state, terms
  accounts [PREFIX] [--after X] [--limit N]   accounts under PREFIX, a page at a time
  payouts RUN --format csv|pain001|nacha|co-dispersion [--out FILE]
  payouts RUN
  payouts --marketplace M [--state instructed|sent|paid|failed|returned] [--limit N] [--after ID]
  import-report FILE|- [--dry-run]
  hold MARKETPLACE:PAYEE --on|--off --reason R [--id ID --at T]
  serve [--listen ADDR] [--metrics ADDR] [--log-level L] [--tls-cert F --tls-key F]
  follow [--from SEQ] [--limit N]   the change stream: entries from SEQ, then new ones
  backup DEST                       copy the --data store, live, with its journal head
  restore SRC                       restore a backup into --data DIR, verified first
  token hash [TOKEN]                the sha256: form of a token (read from stdin if not given)
  demo
  benchmark [--accounts N] [--entries M] [--batch B] [--id-order sequential|random]
            [--queries Q] [--seed S] [--rate R] [--in-process] [--verify]
                                    (with --connect: against a running server)
                                    TigerBeetle's benchmark on tally (docs/performance.md)

Exit codes: 0 ok, 1 rejected input, 2 usage, 3 cannot connect or not allowed.
See docs/cli.md.
)";

}  // namespace

int run_cli(int argc, char** argv, std::istream& in, std::ostream& out, std::ostream& err) {
  Ctx c(in, out, err);
  c.terminal = &err == &std::cerr && ::isatty(2) == 1;
  if (const char* v = std::getenv("TALLY_CONNECT")) c.g.connect = v;
  if (const char* v = std::getenv("TALLY_TOKEN")) c.g.token = v;
  if (const char* v = std::getenv("TALLY_TLS_CA")) c.g.tls_ca = v;

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
    if (name == "--data" || name == "--config" || name == "--connect" || name == "--token" ||
        name == "--tls-ca" || name == "--tls-name") {
      if (!inline_value) {
        if (i + 1 >= argc) return usage_error(c, name + " needs a value");
        value = argv[++i];
      }
      // An empty value is a mistake (a variable that was not set), never the default.
      if (value.empty()) return usage_error(c, name + " needs a value, not \"\"");
      if (name == "--data") {
        c.g.data_dir = value;
        c.data_given = true;
      } else if (name == "--config") {
        c.g.config_file = value;
      } else if (name == "--tls-ca") {
        c.g.tls_ca = value;
      } else if (name == "--tls-name") {
        c.g.tls_name = value;
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
    out << "tally " << TALLY_VERSION << "\n";
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
  if (cmd == "benchmark") return run_benchmark_command(c.g, args, out, err);
  for (auto& a : args)
    if (a == "--help" || a == "-h") {
      out << kUsage;
      return kExitOk;
    }
  // A store that fails under a command (damage found on a read, no free reader slot, a full
  // disk) is the environment, not the input: reported, exit 3, never an abort.
  try {
    if (cmd == "post") return cmd_post(c, args);
    if (cmd == "balance") return cmd_balance(c, args);
    if (cmd == "balances") return cmd_balances(c, args);
    if (cmd == "statement") return cmd_statement(c, args);
    if (cmd == "entry") return cmd_entry(c, args);
    if (cmd == "trial-balance") return cmd_trial_balance(c, args);
    if (cmd == "verify") return cmd_verify(c, args);
    if (cmd == "server-info") return cmd_server_info(c, args);
    if (cmd == "export") return cmd_export(c, args);
    if (cmd == "close-period") return cmd_close_period(c, args);
    if (cmd == "settle") return cmd_settle(c, args);
    if (cmd == "runs") return cmd_runs(c, args);
    if (cmd == "marketplace") return cmd_marketplace(c, args);
    if (cmd == "payee") return cmd_payee(c, args);
    if (cmd == "accounts") return cmd_accounts(c, args);
    if (cmd == "payouts") return cmd_payouts(c, args);
    if (cmd == "import-report") return cmd_import_report(c, args);
    if (cmd == "hold") return cmd_hold(c, args);
    if (cmd == "follow") return cmd_follow(c, args);
    if (cmd == "backup") return cmd_backup(c, args);
    if (cmd == "restore") return cmd_restore(c, args);
    if (cmd == "token") return cmd_token(c, args);
  } catch (const StoreFailure& e) {
    print_error(c, "store", e.what());
    return kExitUnavailable;
  }
  c.command.clear();
  return usage_error(c, "unknown command " + cmd);
}

}  // namespace tally