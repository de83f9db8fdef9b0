// Hostile peers against a real `tally serve` (issue 16, SPEC section 7: "No peer can harm
// another"): silent connections, a peer that sends a huge message without logging in, a peer
// trying token after token, and the server's own checks at start and on a full store. Every
// wait is bounded generously and asserts an outcome (a connection closed, another client
// served, a log line), never a duration.
#include <capnp/rpc-twoparty.h>
#include <capnp/rpc.capnp.h>
#include <capnp/serialize.h>
#include <kj/async-io.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/test_util.h"
#include "ops/json_log.h"
#include "rpc/client.h"
#include "rpc/serve_fixture.h"
#include "rpc/server.h"
#include "rpc/server_impl.h"
#include "rpc/tally.capnp.h"
#include "settlement/tables.h"

namespace tally {
namespace {

using namespace tally::testing;

// A plain unix socket connected to the server, which sends nothing unless told to.
int raw_socket(const std::string& address) {
  const std::string path = address.substr(std::strlen("unix:"));
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << strerror(errno);
  return fd;
}

// True once the server closed `fd` (end of stream or a reset), waiting at most `bound_ms`.
bool closed_by_server(int fd, int bound_ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, bound_ms) <= 0) return false;
  char c;
  ssize_t n = ::recv(fd, &c, 1, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

// The resident memory of process `pid`, in KiB (VmRSS in /proc/PID/status).
uint64_t rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  ADD_FAILURE() << "no VmRSS for " << pid;
  return 0;
}

// Logs in with `token`, trying again (a fresh connection each time) while the server refuses
// connections, for at most about `bound_ms`.
Reply<std::unique_ptr<Client>> connect_within(ClientOptions o, int bound_ms) {
  Reply<std::unique_ptr<Client>> c = Failure{Failure::Kind::cannot_connect, "not tried"};
  for (int waited = 0; waited <= bound_ms; waited += 20) {
    c = Client::connect(o);
    if (c.ok()) return c;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return c;
}

// Why a reply is not a value.
template <class T>
std::string why(const Reply<T>& r) {
  if (r.ok()) return "";
  return r.rejected() ? r.rejection().message : r.failure().message;
}

// A Cap'n Proto connection of the test's own, on the test thread's loop: for what the Client
// library never does (log in again and again after refusals).
class RawPeer {
 public:
  enum class Login { granted, refused, closed, no_answer };
  RawPeer(kj::AsyncIoContext& io, const std::string& address) : io_(io) {
    auto addr = io.provider->getNetwork().parseAddress(address).wait(io.waitScope);
    stream_ = addr->connect().wait(io.waitScope);
    client_ = kj::heap<capnp::TwoPartyClient>(*stream_);
    tally_ = client_->bootstrap().castAs<wire::Tally>();
  }
  ~RawPeer() noexcept(false) {}
  Login login(const char* token) {
    auto req = tally_.loginRequest();
    req.setToken(token);
    auto answer = req.send().then(
        [](capnp::Response<wire::Tally::LoginResults> r) {
          return r.hasError() ? Login::refused : Login::granted;
        },
        [](kj::Exception&&) { return Login::closed; });
    // Bounded: far longer than the longest delay a refused login may take.
    auto bound =
        io_.provider->getTimer().afterDelay(60 * kj::SECONDS).then([] { return Login::no_answer; });
    return answer.exclusiveJoin(kj::mv(bound)).wait(io_.waitScope);
  }
  // True once the server closed the connection, waiting at most `bound_s` seconds.
  bool closed_within(int bound_s) {
    auto gone =
        client_->onDisconnect().then([] { return true; }, [](kj::Exception&&) { return true; });
    auto bound =
        io_.provider->getTimer().afterDelay(bound_s * kj::SECONDS).then([] { return false; });
    return gone.exclusiveJoin(kj::mv(bound)).wait(io_.waitScope);
  }

 private:
  kj::AsyncIoContext& io_;
  kj::Own<kj::AsyncIoStream> stream_;
  kj::Own<capnp::TwoPartyClient> client_;
  wire::Tally::Client tally_ = nullptr;
};

// A WriteOp that runs a function in the writer's transaction: damage for the checks to find.
class FnOp final : public WriteOp {
 public:
  explicit FnOp(std::function<void(WriteTxn&)> f) : f_(std::move(f)) {}
  ItemResult apply(WriteTxn& t) override {
    f_(t);
    return ItemResult{};
  }

 private:
  std::function<void(WriteTxn&)> f_;
};

class HostilePeerTest : public ServeProcessTest {
 protected:
  ~HostilePeerTest() noexcept override {}
  // Behind a pointer: kj's context may throw from its destructor, gtest's fixture may not.
  std::unique_ptr<kj::AsyncIoContext> io_ =
      std::make_unique<kj::AsyncIoContext>(kj::setupAsyncIo());
  // True once the server's log holds `text`, waiting at most about `bound_ms`.
  bool log_shows(const std::string& text, int bound_ms = 60000) {
    for (int waited = 0; waited <= bound_ms; waited += 20) {
      if (serve_log().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
};

// 300 connections that never say a word, against a server taking at most 16: they hold every
// slot, yet a real client gets in once the login timeout closed them, and each is closed.
TEST_F(HostilePeerTest, SilentConnectionsDoNotLockAClientOutPastTheLoginTimeout) {
  serve_args_ = {"--connections-max", "16", "--login-timeout-ms", "500"};
  spawn();
  std::vector<int> silent;
  for (int i = 0; i < 300; ++i) silent.push_back(raw_socket(address_));
  auto c = connect_within(options("tok-auditor", 1), 60000);
  ASSERT_TRUE(c.ok()) << "locked out: " << why(c);
  EXPECT_TRUE(c.value()->trial_balance(std::nullopt).ok());
  for (int fd : silent) {
    EXPECT_TRUE(closed_by_server(fd, 60000)) << "a silent connection stayed open";
    ::close(fd);
  }
  EXPECT_NE(serve_log().find("\"reason\":\"login_timeout\""), std::string::npos) << serve_log();
}

// A logged-in connection that makes no call is closed after the idle timeout; the server serves
// the next client as before.
TEST_F(HostilePeerTest, AnIdleConnectionIsClosedAfterTheIdleTimeout) {
  serve_args_ = {"--idle-timeout-ms", "300"};
  spawn();
  RawPeer peer(*io_, address_);
  ASSERT_EQ(peer.login("tok-auditor"), RawPeer::Login::granted);
  EXPECT_TRUE(peer.closed_within(60)) << "the idle connection stayed open";
  EXPECT_TRUE(log_shows("\"reason\":\"idle_timeout\"")) << serve_log();
  auto c = Client::connect(options("tok-auditor", 1));
  ASSERT_TRUE(c.ok()) << why(c);
}

// A follow waiting for commits is a call in progress, never idle: it outlives the idle timeout
// that closes a connection making no call, and still receives the next commit. No duration is
// measured: a peer logged in after the follow began is closed as idle first, so the follow has
// waited at least as long without a call of its own.
TEST_F(HostilePeerTest, AFollowInProgressOutlivesTheIdleTimeout) {
  serve_args_ = {"--idle-timeout-ms", "300"};
  spawn();
  auto poster = Client::connect(options("tok-poster", 1));
  ASSERT_TRUE(poster.ok()) << why(poster);
  auto opened = poster.value()->post({open_item("ops:bank", AccountKind::asset, {"USD"}),
                                      open_item("ops:wallet", AccountKind::liability, {"USD"}),
                                      entry_item("before")});
  ASSERT_TRUE(opened.ok()) << why(opened);
  poster.value().reset();  // a connection of its own would be closed as idle meanwhile

  auto follower = Client::connect(options("tok-auditor", 1));
  ASSERT_TRUE(follower.ok()) << why(follower);
  std::atomic<bool> caught_up{false};
  std::string last_id;
  Reply<uint64_t> followed = Failure{Failure::Kind::server_error, "not followed"};
  std::thread follow([&] {
    followed = follower.value()->follow(1, 0, [&](const EntryView& v) {
      last_id = v.entry.id;
      if (v.entry.id == "before") caught_up = true;
      return v.entry.id != "after";
    });
  });
  for (int waited = 0; waited <= 60000 && !caught_up; waited += 20)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(caught_up) << "the follow never delivered the first entry";

  RawPeer idle(*io_, address_);
  ASSERT_EQ(idle.login("tok-auditor"), RawPeer::Login::granted);
  EXPECT_TRUE(idle.closed_within(60)) << "the idle connection stayed open";

  auto late = Client::connect(options("tok-poster", 1));
  ASSERT_TRUE(late.ok()) << why(late);
  auto r = late.value()->post({entry_item("after")});
  ASSERT_TRUE(r.ok()) << why(r);
  follow.join();
  ASSERT_TRUE(followed.ok()) << "the follow ended: " << why(followed) << "\n" << serve_log();
  EXPECT_EQ(last_id, "after");
  // One connection closed as idle: the peer that made no call.
  const std::string log = serve_log();
  size_t idle_closes = 0;
  for (size_t at = log.find("\"reason\":\"idle_timeout\""); at != std::string::npos;
       at = log.find("\"reason\":\"idle_timeout\"", at + 1))
    ++idle_closes;
  EXPECT_EQ(idle_closes, 1u) << log;
}

// server-info reports what one connection may do as this server was started: the limits its
// options set, and the built-in ones for the rest.
TEST_F(HostilePeerTest, ServerInfoReportsTheLimitsServeWasGiven) {
  serve_args_ = {"--connections-max", "7",    "--login-timeout-ms", "4321",
                 "--idle-timeout-ms", "98765"};
  spawn();
  auto c = Client::connect(options("tok-auditor", 1));
  ASSERT_TRUE(c.ok()) << why(c);
  auto i = c.value()->server_info();
  ASSERT_TRUE(i.ok()) << why(i);
  EXPECT_EQ(i->connections_max, 7u);
  EXPECT_EQ(i->login_timeout_ms, 4321u);
  EXPECT_EQ(i->idle_timeout_ms, 98765u);
  EXPECT_EQ(i->unauthenticated_bytes_max, limits::unauthenticated_bytes_max);
  EXPECT_EQ(i->calls_in_flight_max, limits::calls_in_flight_max);
  EXPECT_EQ(i->reply_queued_bytes_max, limits::reply_queued_bytes_max);
  EXPECT_EQ(i->call_words_in_flight_max, limits::call_words_in_flight_max);
  EXPECT_EQ(i->batch_items_max, limits::batch_items_max);
}

// Peers that announce a 64 MiB message and send most of it without logging in are closed after
// a small allowance, and the server's memory stays small (it held ~60 MiB a peer before).
TEST_F(HostilePeerTest, APeerSendingAHugeMessageBeforeLoginIsClosedAndCostsLittleMemory) {
  spawn();
  // Growth, not the absolute figure: what a server holds at start (its allocator's arenas, the
  // map's touched pages) differs from machine to machine.
  const uint64_t rss_before = rss_kib(pid_);
  constexpr int kPeers = 12;
  constexpr size_t kChunk = size_t(1) << 20, kBody = size_t(60) << 20;
  const std::string zeros(kChunk, '\0');
  std::vector<int> peers;
  for (int i = 0; i < kPeers; ++i) {
    int fd = raw_socket(address_);
    peers.push_back(fd);
    // A Cap'n Proto segment table: one segment of just under 8 Mi words (64 MiB).
    const uint32_t table[2] = {0, (uint32_t(8) << 20) - 1};
    ASSERT_EQ(::send(fd, table, sizeof table, MSG_NOSIGNAL), ssize_t(sizeof table));
    size_t sent = 0;
    while (sent < kBody) {
      ssize_t n = ::send(fd, zeros.data(), zeros.size(), MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    EXPECT_LT(sent, kBody) << "peer " << i << ": the server read the whole message unauthenticated";
  }
  const uint64_t rss = rss_kib(pid_);
  const uint64_t growth = rss > rss_before ? rss - rss_before : 0;
  std::cerr << "server VmRSS " << rss_before << " KiB at start, " << rss << " KiB after " << kPeers
            << " peers each tried to send 60 MiB without logging in\n";
  // Each peer may cost its 64 KiB allowance and a read buffer; holding their messages would cost
  // 12 x 60 MiB. Not under ASan: its shadow memory and quarantine count in RSS (a server under
  // ASan holds about 260 MiB at start; CI once saw 217 MiB there): the bound is for what
  // production runs.
  if (!kAddressSanitized) {
    EXPECT_LT(growth, uint64_t(64) * 1024) << "server RSS grew " << growth << " KiB after "
                                           << kPeers << " unauthenticated 60 MiB sends";
  }
  for (int fd : peers) ::close(fd);
  EXPECT_TRUE(log_shows("\"reason\":\"unauthenticated_bytes_max\"")) << serve_log();
  auto c = Client::connect(options("tok-auditor", 1));
  ASSERT_TRUE(c.ok()) << why(c);
}

// Wrong tokens on one connection are answered later and later, and the tenth closes it: the
// eleventh finds it closed; the right token on a fresh connection still works.
TEST_F(HostilePeerTest, RepeatedWrongTokensAreSlowedAndCloseTheConnection) {
  // The delays add up to more than the default login timeout, which would close it first.
  serve_args_ = {"--login-timeout-ms", "600000"};
  spawn();
  RawPeer peer(*io_, address_);
  for (unsigned i = 1; i <= limits::login_failures_max; ++i)
    ASSERT_EQ(peer.login("tok-wrong"), RawPeer::Login::refused) << "attempt " << i;
  EXPECT_EQ(peer.login("tok-auditor"), RawPeer::Login::closed)
      << "attempt " << limits::login_failures_max + 1 << " found the connection open";
  const std::string log = serve_log();
  EXPECT_NE(log.find("\"delay_ms\":\"" + std::to_string(limits::login_failure_delay_ms_max) + "\""),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("\"reason\":\"login_failures_max\""), std::string::npos) << log;
  EXPECT_EQ(log.find("tok-wrong"), std::string::npos) << "a token in the log";
  auto c = Client::connect(options("tok-auditor", 1));
  ASSERT_TRUE(c.ok()) << why(c);
}

// The bytes of one RPC message (capnp/rpc.capnp) as a peer writes them.
template <class Fill>
std::string rpc_message(Fill fill) {
  capnp::MallocMessageBuilder m;
  fill(m.initRoot<capnp::rpc::Message>());
  auto words = capnp::messageToFlatArray(m);
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

// A logged-in auditor that sends 400 calls with large replies and never reads one: the server
// stops reading its calls once its unread replies pass reply_queued_bytes_max, so its memory
// stays bounded (it grew by ~1.9 GiB for 400 calls before).
TEST_F(HostilePeerTest, APeerThatNeverReadsItsRepliesCannotGrowTheServer) {
  spawn();
  {
    auto c = Client::connect(options("tok-poster", 1));
    ASSERT_TRUE(c.ok()) << why(c);
    for (int b = 0; b < 2; ++b) {
      std::vector<PostItem> items;
      for (int i = 0; i < 10000; ++i)
        items.push_back(open_item("ops:accounts:a" + std::to_string(b * 10000 + i),
                                  AccountKind::asset, {"USD"}));
      auto r = c.value()->post(std::move(items));
      ASSERT_TRUE(r.ok()) << why(r);
    }
  }
  const uint64_t rss_before = rss_kib(pid_);
  // Bootstrap, login (pipelined), then balances("") on the login's auditor, 400 times.
  std::string out =
      rpc_message([](capnp::rpc::Message::Builder m) { m.initBootstrap().setQuestionId(0); });
  out += rpc_message([](capnp::rpc::Message::Builder m) {
    auto call = m.initCall();
    call.setQuestionId(1);
    call.initTarget().initPromisedAnswer().setQuestionId(0);
    call.setInterfaceId(capnp::typeId<wire::Tally>());
    call.setMethodId(0);
    call.initParams().getContent().initAs<wire::Tally::LoginParams>().setToken("tok-auditor");
  });
  constexpr int kCalls = 400;
  for (int i = 0; i < kCalls; ++i)
    out += rpc_message([i](capnp::rpc::Message::Builder m) {
      auto call = m.initCall();
      call.setQuestionId(2 + i);
      auto pa = call.initTarget().initPromisedAnswer();
      pa.setQuestionId(1);
      pa.initTransform(1)[0].setGetPointerField(1);  // LoginResults.auditor
      call.setInterfaceId(capnp::typeId<wire::Auditor>());
      call.setMethodId(1);  // balances
      call.initParams().getContent().initAs<wire::Auditor::BalancesParams>().setPrefix("");
    });
  int fd = raw_socket(address_);
  size_t sent = 0;
  uint64_t rss_max = rss_before;
  // Send what the server takes, never reading; sample its memory until it took everything or
  // stopped taking (no progress for 3 s), then for 3 s more.
  int quiet_ms = 0;
  while (quiet_ms < 3000) {
    ssize_t n = sent < out.size()
                    ? ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT)
                    : 0;
    if (n > 0) {
      sent += static_cast<size_t>(n);
      quiet_ms = 0;
    } else {
      quiet_ms += 50;
    }
    rss_max = std::max(rss_max, rss_kib(pid_));
    if (rss_max > uint64_t(1) << 20) break;  // 1 GiB: it does grow without bound
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::cerr << "server VmRSS before " << rss_before << " KiB, at most " << rss_max
            << " KiB while a peer sent " << sent << " of " << out.size()
            << " bytes of 400 balances calls and read nothing\n";
  // Not under ASan: its quarantine keeps freed replies resident (measured here: 263 MiB at start,
  // 643 MiB at most, where the release build stays under 200 MiB).
  if (!kAddressSanitized) {
    EXPECT_LT(rss_max, rss_before + uint64_t(300) * 1024)
        << "the server grew by more than 300 MiB for a peer that reads nothing";
  }
  // The server still serves others.
  auto c = Client::connect(options("tok-auditor", 1));
  ASSERT_TRUE(c.ok()) << why(c);
  EXPECT_TRUE(c.value()->trial_balance(std::nullopt).ok());
  ::close(fd);
}

TEST(LoginDelayTest, GrowsFromTheFirstSlowedFailureUpToTheCap) {
  for (unsigned f = 0; f <= limits::login_failures_free; ++f) EXPECT_EQ(login_delay_ms(f), 0u);
  EXPECT_EQ(login_delay_ms(limits::login_failures_free + 1), limits::login_failure_delay_ms_first);
  EXPECT_EQ(login_delay_ms(limits::login_failures_free + 2),
            2 * limits::login_failure_delay_ms_first);
  EXPECT_EQ(login_delay_ms(1000), limits::login_failure_delay_ms_max);
  EXPECT_EQ(login_delay_ms(~0u), limits::login_failure_delay_ms_max);
}

// Books damaged while the server was down: it still starts, and says so loudly at start.
TEST_F(HostilePeerTest, DamagedBooksAreLoggedAtStart) {
  spawn();
  ASSERT_TRUE(log_shows("\"msg\":\"books verified at start\"")) << serve_log();
  {
    auto c = Client::connect(options("tok-poster", 1));
    ASSERT_TRUE(c.ok()) << why(c);
    auto r = c.value()->post({sale_item("o-1", "p1", "100.00")});
    ASSERT_TRUE(r.ok()) << why(r);
    ASSERT_EQ(r->results.size(), 1u);
    ASSERT_TRUE(r->results[0].ok()) << r->results[0].message;
  }
  ASSERT_EQ(terminate(), 0);
  {
    ServiceOptions so;
    so.data_dir = dir_.sub("data");
    so.config = test_config();
    std::unique_ptr<Service> service;
    ASSERT_TRUE(Service::open(std::move(so), &service).ok());
    const auto& h = service->rules().tables();
    auto snap = service->snapshot();
    ASSERT_TRUE(snap->get(h.holds, tables::hold_key("shop", "p1", "EUR", "o-1")).has_value())
        << "the sale left no hold to damage";
    snap.reset();
    Batch b;
    b.push_back(std::make_unique<FnOp>(
        [&](WriteTxn& t) { t.del(h.holds, tables::hold_key("shop", "p1", "EUR", "o-1")); }));
    auto r = service->ledger().submit_and_wait(std::move(b));
    ASSERT_EQ(r.size(), 1u);
    ASSERT_TRUE(r[0].ok()) << r[0].message;
  }
  spawn();
  ASSERT_TRUE(log_shows("\"msg\":\"books fail verify at start\"")) << serve_log();
  EXPECT_NE(serve_log().find("\"level\":\"error\""), std::string::npos) << serve_log();
  EXPECT_NE(serve_log().find("\"check\":\"marketplace\""), std::string::npos) << serve_log();
  // The server serves anyway (operators decide).
  auto c = Client::connect(options("tok-auditor", 1));
  ASSERT_TRUE(c.ok()) << why(c);
}

// A store that cannot take more: every item of the batch that did not fit is store_full (never
// internal), nothing of it is written, and the server logs it at error level.
class StoreFullTest : public ::testing::Test {
 protected:
  ~StoreFullTest() noexcept override {}
  // Posts batches of entries until one comes back store_full (at most `batches_max` batches);
  // returns false when none did.
  bool fill(const std::string& data_dir, LedgerOptions ledger, int batches_max) {
    ServiceOptions so;
    so.data_dir = data_dir;
    so.config = test_config();
    so.ledger = std::move(ledger);
    std::unique_ptr<Service> service;
    Status st = Service::open(std::move(so), &service);
    EXPECT_TRUE(st.ok()) << st.to_string();
    if (!st.ok()) return false;
    bool full = false;
    {
      JsonLog log(log_text_, LogLevel::info);
      ServerOptions o;
      o.listen = "unix:" + dir_.sub("tally.sock");
      o.log = &log;
      auto t = ServerThread::start(*service, o);
      EXPECT_TRUE(t.ok());
      if (!t.ok()) return false;
      ClientOptions co;
      co.address = t.value()->address();
      co.token = "tok-poster";
      co.max_attempts = 1;
      auto c = Client::connect(co);
      EXPECT_TRUE(c.ok()) << why(c);
      if (!c.ok()) return false;
      auto opened = c.value()->post({open_item("ops:bank", AccountKind::asset, {"USD"}),
                                     open_item("ops:wallet", AccountKind::liability, {"USD"})});
      EXPECT_TRUE(opened.ok() && opened->results.at(0).ok() && opened->results.at(1).ok());
      for (int b = 0; b < batches_max && !full; ++b) {
        std::vector<PostItem> items;
        for (int i = 0; i < 200; ++i)
          items.push_back(entry_item("e-" + std::to_string(b) + "-" + std::to_string(i)));
        const uint64_t seq_before = service->snapshot()->last_seq();
        auto r = c.value()->post(std::move(items));
        EXPECT_TRUE(r.ok()) << why(r);
        if (!r.ok()) break;
        for (const auto& x : r->results) {
          EXPECT_NE(x.code, Code::internal) << x.message;
          if (x.code == Code::store_full) full = true;
        }
        if (full) {
          for (const auto& x : r->results) EXPECT_EQ(x.code, Code::store_full) << x.message;
          EXPECT_EQ(service->snapshot()->last_seq(), seq_before) << "a full store wrote entries";
        }
      }
      t.value()->stop();
    }
    if (full) {
      EXPECT_TRUE(service->snapshot()->verify().ok);
    }
    return full;
  }
  TempDir dir_;
  std::ostringstream log_text_;
};

TEST_F(StoreFullTest, AFullMapIsStoreFullLoggedAndWritesNothing) {
  LedgerOptions l;
  l.map_size_bytes = size_t(1) << 20;  // 1 MiB, and it may not grow
  l.map_size_max_bytes = size_t(1) << 20;
  ASSERT_TRUE(fill(dir_.sub("data"), l, 1000)) << "the map never filled";
  const std::string log = log_text_.str();
  EXPECT_NE(log.find("\"level\":\"error\",\"msg\":\"store full\""), std::string::npos) << log;
}

// A full disk (a 2 MiB tmpfs under the store): the same as a full map. It needs to mount one
// (root, as in CI's containers); without that it is skipped, and says why.
TEST_F(StoreFullTest, AFullDiskIsStoreFullLoggedAndWritesNothing) {
  const std::string mnt = dir_.sub("small");
  ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=2m") != 0) {
    GTEST_SKIP() << "cannot mount a small tmpfs here (" << strerror(errno) << ")";
  }
  bool full = fill(mnt + "/data", LedgerOptions{}, 1000);
  ::umount2(mnt.c_str(), MNT_DETACH);
  ASSERT_TRUE(full) << "the disk never filled";
  const std::string log = log_text_.str();
  EXPECT_NE(log.find("\"level\":\"error\",\"msg\":\"store full\""), std::string::npos) << log;
}

}  // namespace
}  // namespace tally
