// `tally demo [--data DIR] [--config FILE]`: the end-to-end demo. Starts a server in this
// process on a unix socket, then drives the real `tally` client commands over RPC with the
// three roles' tokens: the poster posts accounts, entries and marketplace events, the auditor
// reads balances and verifies the books, finance settles, makes the bank file, imports the
// bank's answer and puts a payee on hold. Every command and its output is printed, so what the
// demo shows is exactly what a user would type.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "cli/commands.h"
#include "rpc/server.h"
#include "settlement/example_shop.h"

namespace tally {

namespace {

// The example shop marketplace (settlement/example_shop.h) with the holidays of
// fixtures/marketplaces.toml, and the demo's tokens.
const std::string kDemoConfig =
    example_shop_toml({.holidays = R"(["2026-04-06", "2026-05-01", "2026-05-25", "2026-12-25"])"}) +
    R"toml(
[tokens]
"demo-poster" = ["poster"]
"demo-auditor" = ["auditor"]
"demo-finance" = ["finance", "auditor"]
)toml";

constexpr const char* kDemoItems =
    R"({"type":"open","account":"ops:bank","kind":"asset","currencies":["USD","EUR"]}
{"type":"open","account":"ops:wallets:w1","kind":"liability","currencies":["USD"],"flags":["no_overdraft"]}
{"type":"entry","id":"dep-1","at":"2026-01-05T10:00:00Z","kind":"deposit","meta":{"ref":"r1"},"postings":[{"account":"ops:bank","currency":"USD","side":"debit","amount":"100.00"},{"account":"ops:wallets:w1","currency":"USD","side":"credit","amount":"100.00"}]}
{"type":"sale","id":"o-1","at":"2026-01-05T10:00:00Z","marketplace":"shop","seller":"p1","amount":"120.00","currency":"EUR","category":"product","affiliate":"a7"}
{"type":"sale","id":"o-2","at":"2026-01-06T09:30:00+01:00","marketplace":"shop","seller":"p2","amount":"80.00","currency":"EUR","category":"service"}
{"type":"delivered","id":"d-1","at":"2026-01-07T12:00:00Z","marketplace":"shop","sale":"o-1"}
{"type":"refund","id":"r-1","at":"2026-01-08T12:00:00Z","marketplace":"shop","sale":"o-2","amount":"20.00"}
{"type":"entry","id":"bad-1","at":"2026-01-05T10:00:00Z","kind":"transfer","postings":[{"account":"ops:bank","currency":"USD","side":"debit","amount":"1.00"},{"account":"ops:wallets:w1","currency":"USD","side":"credit","amount":"0.99"}]}
)";

// The bank's answer to the demo's pain.001 (ISO 20022 pain.002.001.03): p1's transfer rejected,
// the account closed (AC04).
constexpr const char* kBankReport = R"(<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03">
  <CstmrPmtStsRpt>
    <GrpHdr><MsgId>STS-20260127-0001</MsgId><CreDtTm>2026-01-27T09:30:00+01:00</CreDtTm></GrpHdr>
    <OrgnlGrpInfAndSts>
      <OrgnlMsgId>shop:2026-01-26</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.03</OrgnlMsgNmId>
    </OrgnlGrpInfAndSts>
    <OrgnlPmtInfAndSts>
      <OrgnlPmtInfId>shop:2026-01-26-EUR</OrgnlPmtInfId>
      <TxInfAndSts>
        <StsId>BANK-TX-1</StsId>
        <OrgnlEndToEndId>shop:2026-01-26:p1:EUR</OrgnlEndToEndId>
        <TxSts>RJCT</TxSts>
        <StsRsnInf><Rsn><Cd>AC04</Cd></Rsn><AddtlInf>Account closed</AddtlInf></StsRsnInf>
      </TxInfAndSts>
    </OrgnlPmtInfAndSts>
  </CstmrPmtStsRpt>
</Document>
)";

constexpr const char* kFinanceItems =
    R"({"type":"payee_details","id":"pd-1","at":"2026-01-05T10:00:00Z","marketplace":"shop","payee":"p1","name":"Paula One","account":"FR7630006000011234567890189","bic":"AGRIFRPPXXX"}
)";

int run(std::ostream& out, std::ostream& err, const std::vector<std::string>& args,
        const std::string& stdin_text = {}) {
  std::vector<std::string> argv_s{"tally"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  out << "\n$ tally";
  for (const auto& a : args) out << ' ' << a;
  out << (stdin_text.empty() ? "" : " < items.jsonl") << "\n" << std::flush;
  std::istringstream in(stdin_text);
  int code = run_cli(static_cast<int>(argv.size() - 1), argv.data(), in, out, err);
  out << "(exit " << code << ")\n" << std::flush;
  return code;
}

}  // namespace

int run_demo_command(const CliGlobals& globals, std::span<const std::string> args, std::istream&,
                     std::ostream& out, std::ostream& err) {
  std::string data = globals.data_dir, config_file = globals.config_file;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--data" && i + 1 < args.size())
      data = args[++i];
    else if (args[i] == "--config" && i + 1 < args.size())
      config_file = args[++i];
    else {
      err << "usage: tally demo [--data DIR] [--config FILE]\n";
      return 2;
    }
  }
  namespace fs = std::filesystem;
  std::string tmpl = (fs::temp_directory_path() / "tally-demo-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) {
    err << "tally demo: cannot create a temporary directory\n";
    return 3;
  }
  const std::string work = tmpl;
  if (data.empty()) data = work + "/data";
  if (config_file.empty()) {
    config_file = work + "/demo.toml";
    std::ofstream(config_file) << kDemoConfig;
  }
  CurrencyTable currencies;
  auto config = load_config_file(config_file, currencies);
  if (!config) {
    err << "tally demo: " << config.error().message << "\n";
    return 2;
  }
  auto token_for = [&](Role r) -> std::string {
    for (const auto& g : config->tokens)
      if (g.has(r) && (r != Role::finance || g.has(Role::auditor))) return g.token;
    return {};
  };
  std::string poster = token_for(Role::poster), auditor = token_for(Role::auditor),
              finance = token_for(Role::finance);
  if (poster.empty() || auditor.empty() || finance.empty()) {
    err << "tally demo: the config needs tokens for the poster, auditor and finance roles\n";
    return 2;
  }

  ServiceOptions so;
  so.data_dir = data;
  so.config = *config;
  std::unique_ptr<Service> service;
  if (Status s = Service::open(std::move(so), &service); !s.ok()) {
    err << "tally demo: " << s.to_string() << "\n";
    return 3;
  }
  ServerOptions opts;
  opts.listen = "unix:" + work + "/tally.sock";
  auto server = ServerThread::start(*service, opts);
  if (!server) {
    err << "tally demo: " << server.error().message << "\n";
    return 3;
  }
  const std::string addr = (*server)->address();
  out << "tally demo: a server on " << addr << " over the data directory " << data << "\n"
      << "Tokens (from the config): poster, auditor, finance+auditor.\n";

  int failures = 0;
  auto as = [&](const std::string& token, std::vector<std::string> cmd,
                const std::string& input = {}) {
    std::vector<std::string> a{"--connect", addr, "--token", token};
    a.insert(a.end(), cmd.begin(), cmd.end());
    return run(out, err, a, input);
  };
  out << "\n# The poster posts accounts, an entry and marketplace events (one line is unbalanced "
         "on purpose).";
  as(poster, {"post", "-"}, kDemoItems);
  out << "\n# Posting the same file again changes nothing: every line is a duplicate (or the same "
         "error).";
  as(poster, {"post", "-"}, kDemoItems);
  out << "\n# The poster may not post payee details; finance may.";
  as(poster, {"post", "-"}, kFinanceItems);
  failures += as(finance, {"post", "-"}, kFinanceItems) != 0;
  out << "\n# The auditor reads.";
  failures += as(auditor, {"balance", "ops:wallets:w1"}) != 0;
  failures += as(auditor, {"balances", "shop"}) != 0;
  failures += as(auditor, {"balances", "shop", "--json"}) != 0;
  failures += as(auditor, {"entry", "o-1"}) != 0;
  failures += as(auditor, {"trial-balance"}) != 0;
  failures += as(auditor, {"verify"}) != 0;
  out << "\n# Finance previews and runs the settlement of the pay date 2026-01-26 (o-1 was "
         "delivered on 2026-01-07 and is held 14 days from delivery; o-2 is not delivered).";
  failures += as(finance, {"settle", "shop", "--date", "2026-01-26", "--dry-run"}) != 0;
  failures += as(finance, {"settle", "shop", "--date", "2026-01-26"}) != 0;
  out << "\n# Running it again returns the same run and posts nothing.";
  failures += as(finance, {"settle", "shop", "--date", "2026-01-26", "--json"}) != 0;
  failures += as(finance, {"runs", "shop"}) != 0;
  failures += as(finance, {"payouts", "shop:2026-01-26", "--format", "csv"}) != 0;
  out << "\n# The bank file: a SEPA pain.001 (NACHA and the Colombian dispersion file work the "
         "same way, docs/payout-rails.md). Making it records it and marks its payouts sent.";
  const std::string bank_file = work + "/shop-2026-01-26.xml";
  failures +=
      as(finance, {"payouts", "shop:2026-01-26", "--format", "pain001", "--out", bank_file}) != 0;
  out << "\n# The bank answers with a pain.002: p1's transfer is rejected (AC04). Importing it "
         "puts the money back on p1's available and p1 on hold; importing it again changes "
         "nothing.";
  const std::string report = work + "/pain002.xml";
  std::ofstream(report) << kBankReport;
  failures += as(finance, {"import-report", report}) != 0;
  failures += as(finance, {"import-report", report}) != 0;
  failures += as(auditor, {"payouts", "shop:2026-01-26"}) != 0;
  failures += as(finance, {"hold", "shop:p2", "--on", "--reason", "bank details pending"}) != 0;
  failures += as(auditor, {"balances", "shop:payees"}) != 0;
  failures += as(auditor, {"verify"}) != 0;
  out << "\n# The auditor may not settle.";
  as(auditor, {"settle", "shop", "--date", "2026-02-02"});
  out << "\n# The auditor may not post.";
  as(auditor, {"post", "-"}, kDemoItems);
  out << "\n# A wrong token gets nothing.";
  as("not-a-token", {"balances", "shop"});

  (*server)->stop();
  service.reset();
  std::error_code ec;
  fs::remove_all(work, ec);  // the socket and, unless --data named one, the data
  out << "\ntally demo: " << (failures == 0 ? "done" : "some steps failed") << "\n";
  return failures == 0 ? 0 : 1;
}

}  // namespace tally
