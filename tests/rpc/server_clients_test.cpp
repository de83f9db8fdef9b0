// Many clients of the RPC server (ServerTest, tests/rpc/server_fixture.h): concurrent clients
// retrying across a restart, resends after a commit, hostile bytes and the connection limit.
#include "rpc/server.h"

#include <capnp/rpc-twoparty.h>
#include <capnp/serialize.h>
#include <fcntl.h>
#include <kj/async-io.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "cli/cli.h"
#include "common/test_util.h"
#include "rpc/client.h"
#include "rpc/serve_fixture.h"
#include "rpc/server_fixture.h"
#include "rpc/tally.capnp.h"
#include "rpc/wire.h"

namespace tally {
namespace {

using namespace tally::testing;

// --- many clients, reconnects -------------------------------------------------------------------

TEST_F(ServerTest, ConcurrentClientsRetryAcrossARestartAndNothingIsLostOrDoubled) {
  start();
  open_ops(*connect("tok-poster"));
  constexpr int kClients = 6, kBatches = 12, kPerBatch = 20;
  std::atomic<int> batches_done{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<Client>> clients;
  for (int c = 0; c < kClients; ++c) clients.push_back(connect("tok-poster", 60));
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      std::vector<Client::PostBatch> batches;
      for (int b = 0; b < kBatches; ++b) {
        Client::PostBatch batch;
        for (int i = 0; i < kPerBatch; ++i)
          batch.items.push_back(entry_item("c" + std::to_string(c) + "-b" + std::to_string(b) +
                                           "-" + std::to_string(i)));
        batches.push_back(std::move(batch));
      }
      auto r = clients[c]->post_pipelined(std::move(batches), 3,
                                          [&](uint64_t, uint64_t) { ++batches_done; });
      if (r.failure) {
        ++failures;
        ADD_FAILURE() << r.failure->message;
      }
      for (auto& b : r.batches)
        for (auto& x : b.results)
          if (!x.ok()) ADD_FAILURE() << x.id << ": " << x.message;
    });
  }
  // Restart the server while batches are in flight.
  while (batches_done.load() < kClients * 2)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  server_->stop();
  server_.reset();
  start();
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(entries_in_ledger(), uint64_t(kClients) * kBatches * kPerBatch);
  uint64_t reconnected = 0;
  for (auto& c : clients) reconnected += c->connections() > 1;
  EXPECT_GT(reconnected, 0u);
  auto v = service_->snapshot()->verify();
  EXPECT_TRUE(v.ok) << v.problem;
}

TEST_F(ServerTest, ResendAfterCommitReportsDuplicates) {
  start();
  auto poster = connect("tok-poster");
  open_ops(*poster);
  std::vector<PostItem> items{entry_item("r-1"), entry_item("r-2")};
  auto first = poster->post(items);
  ASSERT_TRUE(first.ok());
  auto again = poster->post(items);  // what a retry after a lost reply sends
  ASSERT_TRUE(again.ok());
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(again->results[i].status, ItemStatus::duplicate);
    EXPECT_EQ(again->results[i].seq, first->results[i].seq);
  }
}

// --- hostile input ------------------------------------------------------------------------------

int raw_connect(const std::string& address) {
  std::string path = address.substr(5);
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  return fd;
}

// True when the server closes the connection within 5 s.
bool closed_by_server(int fd) {
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}

class HostileTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    ServerLimits l;
    l.message_words_max = 64 * 1024;  // 512 KiB messages at most
    start(l);
    poster_ = connect("tok-poster");
    open_ops(*poster_);
  }
  void still_serves() {
    auto c = connect("tok-poster");
    ASSERT_NE(c, nullptr);
    auto r = c->post({entry_item("after-" + std::to_string(++n_))});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->results[0].status, ItemStatus::ok);
    // The connection opened before the attack is unharmed too.
    auto r2 = poster_->post({entry_item("old-" + std::to_string(n_))});
    ASSERT_TRUE(r2.ok());
    EXPECT_EQ(r2->results[0].status, ItemStatus::ok);
  }
  std::unique_ptr<Client> poster_;
  int n_ = 0;
};

TEST_F(HostileTest, OversizedMessageClosesThatConnectionOnly) {
  int fd = raw_connect(server_->address());
  // A frame header announcing one segment of 2^28 words (2 GiB).
  uint32_t header[2] = {0, 1u << 28};
  ASSERT_EQ(::send(fd, header, sizeof(header), MSG_NOSIGNAL), ssize_t(sizeof(header)));
  EXPECT_TRUE(closed_by_server(fd));
  ::close(fd);
  still_serves();
}

TEST_F(HostileTest, MessageOverTheTraversalLimitClosesThatConnectionOnly) {
  // A well-formed post whose message is about twice the server's traversal limit.
  auto io = kj::setupAsyncIo();
  auto addr = io.provider->getNetwork().parseAddress(server_->address()).wait(io.waitScope);
  auto stream = addr->connect().wait(io.waitScope);
  capnp::TwoPartyClient client(*stream);
  auto login = client.bootstrap().castAs<wire::Tally>().loginRequest();
  login.setToken("tok-poster");
  auto caps = login.send().wait(io.waitScope);
  auto req = caps.getPoster().postRequest();
  auto items = req.initItems(1);
  auto e = items[0].initEntry();
  e.setId("huge");
  auto meta = e.initMeta(1);
  meta[0].setKey("k");
  meta[0].setValue(std::string(1 << 20, 'x'));  // 1 MiB of text
  try {
    req.send().wait(io.waitScope);
    ADD_FAILURE() << "an over-limit message was answered";
  } catch (const kj::Exception& ex) {
    EXPECT_EQ(ex.getType(), kj::Exception::Type::DISCONNECTED) << ex.getDescription().cStr();
  }
  still_serves();
}

TEST_F(HostileTest, RandomBytesCloseThatConnectionOnly) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 4; ++round) {
    int fd = raw_connect(server_->address());
    std::vector<uint8_t> junk(4096);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    // A plausible frame header first (one segment of 16 words), then junk as its body.
    uint32_t header[2] = {0, 16};
    ::send(fd, header, sizeof(header), MSG_NOSIGNAL);
    ::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL);
    EXPECT_TRUE(closed_by_server(fd)) << "round " << round;
    ::close(fd);
  }
  // Junk that does not even frame: the server waits for more, then the peer leaves.
  int fd = raw_connect(server_->address());
  ::send(fd, "GET / HTTP/1.1\r\n\r\n", 18, MSG_NOSIGNAL);
  ::close(fd);
  still_serves();
}

TEST_F(ServerTest, ConnectionsOverTheLimitAreClosed) {
  ServerLimits l;
  l.connections_max = 2;
  start(l);
  auto a = connect("tok-poster");
  auto b = connect("tok-poster");
  ClientOptions o;
  o.address = server_->address();
  o.token = "tok-poster";
  auto c = Client::connect(o);
  EXPECT_TRUE(c.failed());
  EXPECT_GE(server_->stats().connections_refused, 1u);
  a.reset();
  // Once one leaves, a newcomer is served again.
  std::unique_ptr<Client> d;
  for (int i = 0; i < 100 && !d; ++i) {
    auto r = Client::connect(o);
    if (r.ok())
      d = std::move(r.value());
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(d, nullptr);
}

}  // namespace
}  // namespace tally
