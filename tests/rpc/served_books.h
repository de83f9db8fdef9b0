// The books of fixtures/marketplaces.toml served over a unix socket, for tests that talk to a
// server through the client: the config with one token per role (tok-poster, tok-auditor,
// tok-finance), a Service on DIR/data and a ServerThread on DIR/tally.sock.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "common/test_util.h"
#include "rpc/server.h"
#include "service/service.h"

namespace tally::testing {

// Opens the service and starts its server; on failure a gtest failure (the caller's SetUp then
// returns at its next ASSERT).
inline void serve_marketplaces(TempDir& dir, std::unique_ptr<Service>* service,
                               std::unique_ptr<ServerThread>* server) {
  std::ifstream in(std::string(TALLY_SOURCE_DIR) + "/fixtures/marketplaces.toml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Its [tokens] table comes last: three more tokens, one role each.
  text +=
      "\"tok-poster\" = [\"poster\"]\n\"tok-auditor\" = [\"auditor\"]\n"
      "\"tok-finance\" = [\"finance\"]\n";
  CurrencyTable t;
  auto config = load_config(text, t);
  ASSERT_TRUE(config.ok()) << config.error().message;
  ServiceOptions so;
  so.data_dir = dir.sub("data");
  so.config = *config;
  Status s = Service::open(std::move(so), service);
  ASSERT_TRUE(s.ok()) << s.to_string();
  ServerOptions o;
  o.listen = "unix:" + dir.sub("tally.sock");
  auto th = ServerThread::start(**service, o);
  ASSERT_TRUE(th.ok()) << (th.ok() ? "" : th.error().message);
  *server = std::move(*th);
}

}  // namespace tally::testing
