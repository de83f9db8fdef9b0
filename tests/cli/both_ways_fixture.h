// The same books two ways: a data directory (`tally --data DIR`) and a served Service behind a
// server thread (`tally --connect ADDR`), both with fixtures/marketplaces.toml's marketplaces and
// the tokens tok-all (poster, auditor, finance), tok-auditor and tok-finance. For CLI tests that
// check a command prints the same bytes either way.
//
// Thread safety: a gtest fixture; the server runs on its own thread, the rest on the test's.
#pragma once

#include <simdjson.h>
#include <stdlib.h>

#include <fstream>
#include <iterator>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "cli_fixture.h"
#include "common/test_util.h"
#include "rpc/server.h"
#include "service/service.h"

namespace tally::testing {

class BothWaysCliTest : public ::testing::Test {
 protected:
  // `both_ways_token`: the token remote() and same_both_ways() use when given none.
  explicit BothWaysCliTest(std::string both_ways_token)
      : both_ways_token_(std::move(both_ways_token)) {}

  void SetUp() override {
    unsetenv("TALLY_CONNECT");
    unsetenv("TALLY_TOKEN");
    std::ifstream in(std::string(TALLY_SOURCE_DIR) + "/fixtures/marketplaces.toml");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Its [tokens] table comes last.
    text +=
        "\"tok-all\" = [\"poster\", \"auditor\", \"finance\"]\n\"tok-auditor\" = [\"auditor\"]\n"
        "\"tok-finance\" = [\"finance\"]\n";
    config_ = dir_.sub("config.toml");
    std::ofstream(config_) << text;
    CurrencyTable t;
    auto config = load_config(text, t);
    ASSERT_TRUE(config.ok()) << config.error().message;
    ServiceOptions so;
    so.data_dir = dir_.sub("served");
    so.config = *config;
    Status s = Service::open(std::move(so), &service_);
    ASSERT_TRUE(s.ok()) << s.to_string();
    ServerOptions o;
    o.listen = "unix:" + dir_.sub("tally.sock");
    auto th = ServerThread::start(*service_, o);
    ASSERT_TRUE(th.ok()) << (th.ok() ? "" : th.error().message);
    server_ = std::move(*th);
  }
  void TearDown() override {
    server_.reset();
    service_.reset();
  }

  // `tally --data DIR --config CONFIG ARGS...`
  CliRun data(std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> full = {"tally", "--data", dir_.sub("data"), "--config", config_};
    full.insert(full.end(), args.begin(), args.end());
    return run_cli_args(std::move(full), input);
  }
  // `tally --connect ADDR --token TOKEN ARGS...`
  CliRun remote(std::vector<std::string> args, const std::string& token,
                const std::string& input = "") {
    std::vector<std::string> full = {"tally", "--connect", server_->address(), "--token", token};
    full.insert(full.end(), args.begin(), args.end());
    return run_cli_args(std::move(full), input);
  }
  CliRun remote(std::vector<std::string> args) { return remote(std::move(args), both_ways_token_); }
  // The same lines into both books (tok-all).
  void post_both(const std::string& lines) {
    auto a = data({"post", "-"}, lines);
    ASSERT_EQ(a.code, 0) << a.out << a.err;
    auto b = remote({"post", "-"}, "tok-all", lines);
    ASSERT_EQ(b.code, 0) << b.out << b.err;
  }
  // Runs ARGS both ways: exit 0 and the same output; returns it.
  std::string same_both_ways(std::vector<std::string> args, const std::string& input = "") {
    auto a = data(args, input);
    auto b = remote(args, both_ways_token_, input);
    EXPECT_EQ(a.code, 0) << a.out << a.err;
    EXPECT_EQ(b.code, 0) << b.out << b.err;
    EXPECT_EQ(a.out, b.out);
    return a.out;
  }
  simdjson::dom::element json(const std::string& text) {
    simdjson::dom::element e;
    auto err = parsers_.emplace_back().parse(text).get(e);
    EXPECT_EQ(err, simdjson::SUCCESS) << text;
    return e;
  }
  static std::string str(simdjson::dom::element e) {
    std::string_view s;
    if (e.get(s) != simdjson::SUCCESS) return "<not a string>";
    return std::string(s);
  }

  const std::string both_ways_token_;
  TempDir dir_;
  std::string config_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<ServerThread> server_;
  std::list<simdjson::dom::parser> parsers_;  // each document lives as long as the test
};

}  // namespace tally::testing
