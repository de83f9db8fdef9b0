// ServerTest: a tally RPC server on its own thread (ServerThread) over a unix socket in a
// temporary directory, and clients of every role; shared by the tests/rpc/server_*_test.cpp files.
// Each test owns its fixture; nothing is shared between tests.
#pragma once

#include <memory>
#include <string>

#include "common/test_util.h"
#include "rpc/client.h"
#include "rpc/server.h"
#include "service/service.h"

namespace tally::testing {

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { open_service(); }
  void TearDown() override {
    server_.reset();
    service_.reset();
  }

  // readers_max counts only for a new store: LMDB keeps the reader table of an existing lock
  // file when it is larger.
  void open_service(unsigned readers_max = limits::readers_max, const std::string& data = "data") {
    ServiceOptions so;
    so.data_dir = dir_.sub(data);
    so.config = test_config();
    so.ledger.readers_max = readers_max;
    Status s = Service::open(std::move(so), &service_);
    ASSERT_TRUE(s.ok()) << s.to_string();
  }
  void start(ServerLimits limits = {}) {
    ServerOptions o;
    o.listen = "unix:" + dir_.sub("tally.sock");
    o.limits = limits;
    auto t = ServerThread::start(*service_, o);
    ASSERT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
    server_ = std::move(*t);
  }
  std::unique_ptr<Client> connect(const std::string& token, int max_attempts = 10) {
    ClientOptions o;
    o.address = server_->address();
    o.token = token;
    o.max_attempts = max_attempts;
    auto c = Client::connect(o);
    EXPECT_TRUE(c.ok()) << (c.failed() ? c.failure().message : "rejected");
    return c.ok() ? std::move(c.value()) : nullptr;
  }
  void open_ops(Client& poster) {
    auto r = poster.post({open_item("ops:bank", AccountKind::asset, {"USD", "EUR"}),
                          open_item("ops:wallet", AccountKind::liability, {"USD"})});
    ASSERT_TRUE(r.ok());
    for (auto& x : r->results) ASSERT_TRUE(x.ok()) << x.message;
  }
  uint64_t entries_in_ledger() {
    auto snap = service_->snapshot();
    return snap->last_seq();
  }

  TempDir dir_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<ServerThread> server_;
};

}  // namespace tally::testing
