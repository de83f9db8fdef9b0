// The fixture of the `tally` command tests run in process (cli_test.cpp, cli_marketplace_test.cpp):
// CliTest runs run_cli against a temporary data directory (TALLY_CONNECT and TALLY_TOKEN unset)
// and captures its exit code and output (CliRun); kSpecExample is SPEC section 5's example journal.
#pragma once

#include <simdjson.h>
#include <stdlib.h>

#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/cli.h"
#include "common/test_util.h"

namespace tally::testing {

struct CliRun {
  int code = -1;
  std::string out, err;
  std::vector<std::string> lines() const {
    std::vector<std::string> v;
    std::istringstream s(out);
    for (std::string l; std::getline(s, l);) v.push_back(l);
    return v;
  }
};

// Runs the CLI in this process with `full` as argv ("tally" first) and `input` as stdin.
inline CliRun run_cli_args(std::vector<std::string> full, const std::string& input = "") {
  std::vector<char*> argv;
  for (auto& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::istringstream in(input);
  std::ostringstream out, err;
  CliRun r;
  r.code = run_cli(static_cast<int>(full.size()), argv.data(), in, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

inline constexpr const char* kSpecExample =
    R"({"type":"open","account":"ops:bank","kind":"asset","currencies":["USD","EUR"]}
{"type":"open","account":"ops:wallets:w1","kind":"liability","currencies":["USD"],"flags":["no_overdraft"]}
{"type":"entry","id":"dep-1","at":"2026-01-05T10:00:00Z","kind":"deposit","meta":{"ref":"r1"},"postings":[{"account":"ops:bank","currency":"USD","side":"debit","amount":"100.00"},{"account":"ops:wallets:w1","currency":"USD","side":"credit","amount":"100.00"}]}
)";

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("TALLY_CONNECT");
    unsetenv("TALLY_TOKEN");
  }

  CliRun run(std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> full = {"tally", "--data", dir_.sub("data")};
    full.insert(full.end(), args.begin(), args.end());
    return run_raw(full, input);
  }
  static CliRun run_raw(std::vector<std::string> full, const std::string& input = "") {
    return run_cli_args(std::move(full), input);
  }
  CliRun post(const std::string& input, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = extra;
    args.push_back("post");
    args.push_back("-");
    return run(args, input);
  }
  void post_example() {
    auto r = post(kSpecExample);
    ASSERT_EQ(r.code, 0) << r.out << r.err;
  }
  // Parses one JSON document; the element lives as long as parser_.
  simdjson::dom::element json(const std::string& text) {
    simdjson::dom::element e;
    auto err = parser_.parse(text).get(e);
    EXPECT_EQ(err, simdjson::SUCCESS) << text;
    return e;
  }
  static std::string str(simdjson::dom::element e, std::string_view key) {
    std::string_view s;
    auto err = e[key].get(s);
    EXPECT_EQ(err, simdjson::SUCCESS) << key << " in " << simdjson::to_string(e);
    return std::string(s);
  }

  TempDir dir_;
  simdjson::dom::parser parser_;
};

}  // namespace tally::testing
