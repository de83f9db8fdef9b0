// The RPC server through real sockets (ServerTest, tests/rpc/server_fixture.h): login and roles,
// listening, each role denied the others' methods, posting and batches.
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

// --- login and roles ----------------------------------------------------------------------------

TEST_F(ServerTest, LoginGrantsExactlyTheTokensRoles) {
  start();
  EXPECT_EQ(connect("tok-poster")->roles(), RoleSet{Role::poster});
  EXPECT_EQ(connect("tok-auditor")->roles(), RoleSet{Role::auditor});
  EXPECT_EQ(connect("tok-finance")->roles(), RoleSet{Role::finance});
  EXPECT_EQ(connect("tok-finaud")->roles(), (RoleSet{Role::finance, Role::auditor}));
}

TEST_F(ServerTest, UnknownTokenIsRefusedAndNotLeaked) {
  start();
  ClientOptions o;
  o.address = server_->address();
  o.token = "tok-posterX";
  auto c = Client::connect(o);
  ASSERT_TRUE(c.failed());
  EXPECT_EQ(c.failure().kind, Failure::Kind::not_allowed);
  EXPECT_EQ(c.failure().message.find("tok-posterX"), std::string::npos);
  EXPECT_EQ(server_->stats().logins_refused, 1u);

  // The raw protocol: a result with the code unknown_token, no roles and no capabilities.
  auto io = kj::setupAsyncIo();
  auto addr = io.provider->getNetwork().parseAddress(server_->address()).wait(io.waitScope);
  auto stream = addr->connect().wait(io.waitScope);
  capnp::TwoPartyClient client(*stream);
  auto req = client.bootstrap().castAs<wire::Tally>().loginRequest();
  req.setToken("nope");
  auto r = req.send().wait(io.waitScope);
  ASSERT_TRUE(r.hasError());
  EXPECT_EQ(r.getError().getCode(), wire::ErrorCode::UNKNOWN_TOKEN);
  EXPECT_EQ(std::string(r.getError().getMessage().cStr()).find("nope"), std::string::npos);
  EXPECT_EQ(r.getRoles().size(), 0u);
  EXPECT_FALSE(r.hasPoster());
  EXPECT_FALSE(r.hasAuditor());
  EXPECT_FALSE(r.hasFinance());
}

TEST_F(ServerTest, ListensOnTcpWithAPickedPort) {
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  auto t = ServerThread::start(*service_, o);
  ASSERT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
  const std::string& addr = (*t)->address();
  ASSERT_EQ(addr.rfind("127.0.0.1:", 0), 0u) << addr;
  EXPECT_NE(addr, "127.0.0.1:0");
  ClientOptions co;
  co.address = addr;
  co.token = "tok-auditor";
  auto c = Client::connect(co);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c.value()->trial_balance(std::nullopt).ok());
}

TEST_F(ServerTest, StaleUnixSocketIsReplacedAndALiveOneIsNot) {
  // A socket file left by a server that died (bound, never unlinked, nobody listening).
  std::string path = dir_.sub("tally.sock");
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, path.data(), path.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ::close(fd);
  start();
  EXPECT_NE(connect("tok-poster"), nullptr);
  // A second server on the same live socket is refused.
  ServerOptions o;
  o.listen = "unix:" + path;
  auto second = ServerThread::start(*service_, o);
  EXPECT_FALSE(second.ok());
  EXPECT_NE(connect("tok-poster"), nullptr);
}

TEST_F(ServerTest, CannotConnectToNobody) {
  ClientOptions o;
  o.address = "unix:" + dir_.sub("nobody.sock");
  o.token = "tok-poster";
  auto c = Client::connect(o);
  ASSERT_TRUE(c.failed());
  EXPECT_EQ(c.failure().kind, Failure::Kind::cannot_connect);
}

// Every method of every capability, called raw: a role's own methods answer, the others' are
// null capabilities whose calls fail.
TEST_F(ServerTest, EachRoleIsDeniedTheOthersMethods) {
  start();
  auto io = kj::setupAsyncIo();
  auto& ws = io.waitScope;
  struct Probe {
    bool post = false, read = false, finance = false;
  };
  auto probe = [&](const char* token) {
    auto addr = io.provider->getNetwork().parseAddress(server_->address()).wait(ws);
    auto stream = addr->connect().wait(ws);
    capnp::TwoPartyClient client(*stream);
    auto login = client.bootstrap().castAs<wire::Tally>().loginRequest();
    login.setToken(token);
    auto caps = login.send().wait(ws);
    Probe p;
    // Every capability is there (never null); a role the token lacks answers not_allowed, as
    // the result's error (each item's, for a post), never an exception.
    auto ok = [&](auto promise) {
      auto r = promise.wait(ws);
      if constexpr (requires { r.getResults(); }) {
        EXPECT_EQ(r.getResults().size(), 1u);
        return r.getResults()[0].getCode() != wire::ErrorCode::NOT_ALLOWED;
      } else {
        return !(r.hasError() && r.getError().getCode() == wire::ErrorCode::NOT_ALLOWED);
      }
    };
    // One item refused for its content (no `at`: bad_time) by a role that may post.
    auto one_item = [](auto req) {
      req.initItems(1)[0].initEntry().setId("x");
      return req;
    };
    {
      auto r = one_item(caps.getPoster().postRequest());
      p.post = ok(r.send());
    }
    {
      auto r = caps.getPoster().currencyRequest();
      r.setCode("USD");
      EXPECT_EQ(p.post, ok(r.send()));
    }
    // Every auditor method: all answer or all fail together.
    auto aud = caps.getAuditor();
    std::vector<bool> reads;
    {
      auto r = aud.balanceRequest();
      r.setAccount("x");
      reads.push_back(ok(r.send()));
    }
    reads.push_back(ok(aud.balancesRequest().send()));
    {
      auto r = aud.statementRequest();
      r.initQuery().setAccount("x");
      reads.push_back(ok(r.send()));
    }
    reads.push_back(ok(aud.entryRequest().send()));
    reads.push_back(ok(aud.trialBalanceRequest().send()));
    reads.push_back(ok(aud.verifyRequest().send()));
    {
      auto r = aud.exportJournalRequest();  // no sink: an error result, still an answer
      reads.push_back(ok(r.send()));
    }
    reads.push_back(ok(aud.currencyRequest().send()));
    p.read = reads[0];
    for (size_t i = 0; i < reads.size(); ++i) EXPECT_EQ(reads[i], p.read) << token << " read " << i;
    auto fin = caps.getFinance();
    std::vector<bool> fins;
    {
      auto r = one_item(fin.postRequest());
      fins.push_back(ok(r.send()));
    }
    fins.push_back(ok(fin.closePeriodRequest().send()));
    fins.push_back(ok(fin.settleRequest().send()));
    fins.push_back(ok(fin.runsRequest().send()));
    fins.push_back(ok(fin.payoutsRequest().send()));
    fins.push_back(ok(fin.holdRequest().send()));
    fins.push_back(ok(fin.currencyRequest().send()));
    p.finance = fins[0];
    for (bool b : fins) EXPECT_EQ(b, p.finance) << token;
    return p;
  };
  auto p = probe("tok-poster");
  EXPECT_TRUE(p.post);
  EXPECT_FALSE(p.read);
  EXPECT_FALSE(p.finance);
  auto a = probe("tok-auditor");
  EXPECT_FALSE(a.post);
  EXPECT_TRUE(a.read);
  EXPECT_FALSE(a.finance);
  auto f = probe("tok-finance");
  EXPECT_FALSE(f.post);
  EXPECT_FALSE(f.read);
  EXPECT_TRUE(f.finance);
}

TEST_F(ServerTest, ClientReportsAMissingRoleAsNotAllowed) {
  start();
  auto poster = connect("tok-poster");
  auto r = poster->balances("", std::nullopt);
  ASSERT_TRUE(r.failed());
  EXPECT_EQ(r.failure().kind, Failure::Kind::not_allowed);
  auto auditor = connect("tok-auditor");
  auto p = auditor->post({entry_item("x")});
  ASSERT_TRUE(p.failed());
  EXPECT_EQ(p.failure().kind, Failure::Kind::not_allowed);
  EXPECT_TRUE(auditor->close_period("2026-01-01").failed());
}

// --- posting ------------------------------------------------------------------------------------

TEST_F(ServerTest, PosterPostsAndEveryItemHasItsResult) {
  start();
  auto poster = connect("tok-poster");
  open_ops(*poster);
  std::vector<PostItem> items;
  items.push_back(entry_item("e-1", "10.00"));
  items.push_back(entry_item("e-1", "10.00"));  // duplicate within the batch
  items.push_back(entry_item("e-1", "11.00"));  // id_conflict
  items.push_back(sale_item("s-1", "p1", "120.00"));
  items.push_back(details_item("pd-1", "p1"));  // finance only
  auto r = poster->post(std::move(items));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->results.size(), 5u);
  EXPECT_EQ(r->results[0].status, ItemStatus::ok);
  EXPECT_GT(r->results[0].seq, 0u);
  EXPECT_EQ(r->results[1].status, ItemStatus::duplicate);
  EXPECT_EQ(r->results[1].seq, r->results[0].seq);
  EXPECT_EQ(r->results[2].code, Code::id_conflict);
  EXPECT_EQ(r->results[3].status, ItemStatus::ok) << r->results[3].message;
  EXPECT_NE(r->results[3].detail.find("commission"), std::string::npos);
  EXPECT_EQ(r->results[4].code, Code::not_allowed);
  EXPECT_EQ(r->results[4].id, "pd-1");

  // Finance posts payee details, not sales.
  auto finance = connect("tok-finance");
  auto f =
      finance->post({details_item("pd-1", "p1"), sale_item("s-2", "p1", "5.00")}, PostVia::finance);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->results[0].status, ItemStatus::ok) << f->results[0].message;
  EXPECT_EQ(f->results[1].code, Code::not_allowed);
}

// Posts items built by hand, as any Cap'n Proto client could send them (the C++ Client encodes
// only what it can read back), through the poster capability of `token`.
std::vector<ItemResult> post_raw(const std::string& address, const std::string& token,
                                 const std::function<void(capnp::List<wire::Item>::Builder)>& fill,
                                 unsigned n) {
  auto io = kj::setupAsyncIo();
  std::string path = address.substr(5);  // "unix:..."
  auto addr = io.provider->getNetwork().parseAddress("unix:" + path).wait(io.waitScope);
  auto stream = addr->connect().wait(io.waitScope);
  capnp::TwoPartyClient client(*stream);
  auto tally = client.bootstrap().castAs<wire::Tally>();
  auto login = tally.loginRequest();
  login.setToken(token);
  auto poster = login.send().wait(io.waitScope).getPoster();
  auto req = poster.postRequest();
  fill(req.initItems(n));
  auto resp = req.send().wait(io.waitScope);
  std::vector<ItemResult> out;
  for (auto r : resp.getResults()) out.push_back(wire::decode_result(r));
  return out;
}

// An item the server cannot decode (a currency code no currency has) fails with its linked
// chain, and only its chain: the decode path of the server, not the ledger's validation.
TEST_F(ServerTest, MalformedItemFailsWithItsLinkedChainOnly) {
  start();
  auto poster = connect("tok-poster");
  open_ops(*poster);
  auto fill_entry = [](wire::Item::Builder item, const char* id, const char* code, bool linked) {
    item.setLinked(linked);
    auto e = item.initEntry();
    e.setId(id);
    e.setAt("2026-01-05T10:00:00Z");
    e.setKind("transfer");
    auto ps = e.initPostings(2);
    const char* accounts[] = {"ops:bank", "ops:wallet"};
    for (unsigned i = 0; i < 2; ++i) {
      ps[i].setAccount(accounts[i]);
      ps[i].setCurrency(code);
      ps[i].setSide(i == 0 ? wire::Side::DEBIT : wire::Side::CREDIT);
      ps[i].setAmount("1.00");
    }
  };
  auto r = post_raw(
      server_->address(), "tok-poster",
      [&](capnp::List<wire::Item>::Builder items) {
        fill_entry(items[0], "e-chain-1", "USD", true);
        fill_entry(items[1], "e-bad", "us d", false);  // not a currency code: cannot decode
        fill_entry(items[2], "e-free", "USD", false);
      },
      3);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].code, Code::linked_failed) << r[0].message;
  EXPECT_EQ(r[0].id, "e-chain-1");
  EXPECT_EQ(r[1].code, Code::bad_currency);
  EXPECT_NE(r[1].message.find("malformed currency"), std::string::npos) << r[1].message;
  EXPECT_EQ(r[1].id, "e-bad");
  EXPECT_EQ(r[2].status, ItemStatus::ok) << r[2].message;
  auto auditor = connect("tok-auditor");
  EXPECT_FALSE(auditor->entry("e-chain-1").ok());  // the chain committed nothing
  EXPECT_TRUE(auditor->entry("e-free").ok());
}

// A batch whose last item is linked leaves its chain open: the chain fails whole (its last item
// linked_chain_open, the others linked_failed), the rest of the batch commits. The same through
// the CLI's JSON lines, the service and the ledger (the ledger and CLI tests).
TEST_F(ServerTest, ALinkedFlagOnTheLastItemLeavesTheChainOpenAndItFails) {
  start();
  auto poster = connect("tok-poster");
  open_ops(*poster);
  auto a = entry_item("o-1"), b = entry_item("o-2"), c = entry_item("o-3");
  b.linked = true;
  c.linked = true;
  auto r = poster->post({a, b, c});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->results.size(), 3u);
  EXPECT_EQ(r->results[0].status, ItemStatus::ok);
  EXPECT_EQ(r->results[1].code, Code::linked_failed) << r->results[1].message;
  EXPECT_EQ(r->results[2].code, Code::linked_chain_open) << r->results[2].message;
  auto auditor = connect("tok-auditor");
  EXPECT_FALSE(auditor->entry("o-2").ok());
  EXPECT_FALSE(auditor->entry("o-3").ok());
}

TEST_F(ServerTest, BatchOverTheLimitIsRefusedPerItem) {
  ServerLimits l;
  l.batch_items_max = 3;
  start(l);
  auto poster = connect("tok-poster");
  open_ops(*poster);
  auto r = poster->post({entry_item("a"), entry_item("b"), entry_item("c"), entry_item("d")});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->results.size(), 4u);
  const char* ids[] = {"a", "b", "c", "d"};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(r->results[i].code, Code::batch_too_large);
    EXPECT_EQ(r->results[i].id, ids[i]);  // each result carries its item's id
    // The message says the limit and the size.
    EXPECT_NE(r->results[i].message.find("4 items"), std::string::npos) << r->results[i].message;
    EXPECT_NE(r->results[i].message.find("at most 3"), std::string::npos) << r->results[i].message;
  }
  EXPECT_EQ(entries_in_ledger(), 0u);
}

}  // namespace
}  // namespace tally
