// The RPC server through real sockets: a server on its own thread (ServerThread) over a unix
// socket in a temporary directory, clients of every role, hostile bytes, restarts, and the
// `tally serve` process under SIGTERM.
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
#include "rpc/tally.capnp.h"
#include "rpc/wire.h"

namespace tally {
namespace {

using namespace tally::testing;

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

// --- reads --------------------------------------------------------------------------------------

TEST_F(ServerTest, AuditorReadsEverything) {
  start();
  auto poster = connect("tok-poster");
  open_ops(*poster);
  for (int i = 0; i < 5; ++i) {
    auto r = poster->post({entry_item("e-" + std::to_string(i), "2.50")});
    ASSERT_TRUE(r.ok());
  }
  auto auditor = connect("tok-auditor");

  auto b = auditor->balance(BalanceQuery{"ops:wallet", std::nullopt, std::nullopt});
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->balances.size(), 1u);
  EXPECT_EQ(b->balances[0].balance, amt("12.50"));
  EXPECT_EQ(b->kind, AccountKind::liability);
  auto usd = auditor->balance(BalanceQuery{"ops:bank", "USD", std::nullopt});
  ASSERT_TRUE(usd.ok());
  EXPECT_EQ(usd->balances.size(), 1u);
  auto past = auditor->balance(BalanceQuery{"ops:wallet", std::nullopt, TimeNs{1}});
  ASSERT_TRUE(past.ok());
  EXPECT_EQ(past->balances[0].balance, Amount());
  auto unknown = auditor->balance(BalanceQuery{"ops:nope", std::nullopt, std::nullopt});
  ASSERT_TRUE(unknown.rejected());
  EXPECT_EQ(unknown.rejection().code, Code::unknown_account);

  auto all = auditor->balances("ops", std::nullopt);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->balances.accounts.size(), 3u);  // bank USD, bank EUR, wallet USD

  StatementQuery q;
  q.account = "ops:wallet";
  q.limit = 2;
  auto page1 = auditor->statement(q);
  ASSERT_TRUE(page1.ok());
  EXPECT_EQ(page1->statement.lines.size(), 2u);
  ASSERT_FALSE(page1->statement.next.empty());
  q.after = page1->statement.next;
  auto page2 = auditor->statement(q);
  ASSERT_TRUE(page2.ok());
  EXPECT_EQ(page2->statement.lines[0].entry_id, "e-2");

  auto e = auditor->entry("e-3");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->entry.postings.size(), 2u);
  EXPECT_EQ(e->entry.postings[0].amount, amt("2.50"));
  auto no = auditor->entry("nope");
  ASSERT_TRUE(no.rejected());
  EXPECT_EQ(no.rejection().code, Code::unknown_entry);

  auto tb = auditor->trial_balance(std::nullopt);
  ASSERT_TRUE(tb.ok());
  ASSERT_EQ(tb->currencies.size(), 2u);

  uint64_t progress_calls = 0;
  auto v = auditor->verify([&](uint64_t, uint64_t) { ++progress_calls; });
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->entries, 5u);

  std::string csv;
  auto x = auditor->export_journal(ExportFormat::csv, [&](std::string_view s) {
    csv.append(s);
    return true;
  });
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->entries, 5u);
  EXPECT_EQ(csv.rfind("seq,id,at,kind,account,currency,side,amount", 0), 0u) << csv;
  std::string hl;
  ASSERT_TRUE(auditor
                  ->export_journal(ExportFormat::hledger,
                                   [&](std::string_view s) {
                                     hl.append(s);
                                     return true;
                                   })
                  .ok());
  EXPECT_NE(hl.find("e-4"), std::string::npos);

  auto cur = auditor->find_currency("JPY");
  ASSERT_TRUE(cur.ok());
  ASSERT_TRUE(cur.value().has_value());
  EXPECT_EQ(cur.value()->exponent(), 0);
  EXPECT_FALSE(auditor->find_currency("ZZZ").value().has_value());
}

// Every reader slot taken (here by snapshots the test holds): reads fail with an error the
// client can act on (retry later), on the loop (balance) and off it (trial balance); the server
// keeps serving, and reads work again once slots free up.
TEST_F(ServerTest, NoFreeReaderSlotFailsTheReadAndTheServerGoesOn) {
  service_.reset();
  open_service(/*readers_max=*/24, "few-readers");
  start();
  auto poster = connect("tok-poster");
  open_ops(*poster);
  // One attempt: the client would otherwise retry an OVERLOADED read with back-off.
  auto auditor = connect("tok-auditor", /*max_attempts=*/1);
  ASSERT_TRUE(auditor->balance(BalanceQuery{"ops:wallet", std::nullopt, std::nullopt}).ok());

  std::vector<std::unique_ptr<Snapshot>> held;
  bool busy = false;
  while (!busy) {
    ASSERT_LT(held.size(), 64u) << "readers_max is not enforced";
    try {
      held.push_back(service_->snapshot());
    } catch (const StoreFailure& e) {
      EXPECT_EQ(e.status.kind(), Status::Kind::busy) << e.what();
      busy = true;
    }
  }
  auto b = auditor->balance(BalanceQuery{"ops:wallet", std::nullopt, std::nullopt});
  ASSERT_TRUE(b.failed());
  EXPECT_NE(b.failure().message.find("unavailable"), std::string::npos) << b.failure().message;
  auto tb = auditor->trial_balance(std::nullopt);
  ASSERT_TRUE(tb.failed());
  EXPECT_NE(tb.failure().message.find("unavailable"), std::string::npos) << tb.failure().message;
  // Posting needs no reader slot of ours: it goes on.
  auto p = poster->post({entry_item("e-busy", "1.00")});
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->results[0].ok()) << p->results[0].message;

  held.clear();
  auto again = auditor->balance(BalanceQuery{"ops:wallet", std::nullopt, std::nullopt});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->balances[0].balance, amt("1.00"));
  EXPECT_TRUE(auditor->trial_balance(std::nullopt).ok());
}

TEST_F(ServerTest, LargeExportStreamsWithBackPressure) {
  start();
  auto poster = connect("tok-poster");
  open_ops(*poster);
  std::vector<PostItem> items;
  for (int i = 0; i < 3000; ++i) items.push_back(entry_item("bulk-" + std::to_string(i)));
  ASSERT_TRUE(poster->post(std::move(items)).ok());
  auto auditor = connect("tok-auditor");
  size_t bytes = 0, chunks = 0;
  auto x = auditor->export_journal(ExportFormat::csv, [&](std::string_view s) {
    bytes += s.size();
    ++chunks;
    return true;
  });
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->entries, 3000u);
  EXPECT_GT(chunks, 1u);
  // A sink that stops early ends the export without harm to the server.
  size_t seen = 0;
  auto stopped =
      auditor->export_journal(ExportFormat::csv, [&](std::string_view) { return ++seen < 2; });
  EXPECT_FALSE(stopped.ok());
  EXPECT_TRUE(auditor->verify().ok());
}

// Finance closes periods (entries dated inside are refused after) and puts payees on hold and
// takes them off (the next run carries and then pays them); a bad date and an unknown
// marketplace are rejections; the poster token may not do either.
TEST_F(ServerTest, FinanceClosesPeriodsAndHoldsPayees) {
  start();
  auto poster = connect("tok-poster");
  open_ops(*poster);
  auto finance = connect("tok-finaud");
  ASSERT_TRUE(finance->post({details_item("pd-p1", "p1")}, PostVia::finance).ok());
  ASSERT_TRUE(poster->post({sale_item("o-1", "p1", "120.00")}).ok());  // 2026-01-05: due by 01-26

  auto c = finance->close_period("2025-12-31");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->result.ok()) << c->result.message;
  EXPECT_EQ(c->through, "2025-12-31");
  auto dated = entry_item("late");
  std::get<Entry>(dated.body).at = 1'767'139'200'000'000'000;  // 2025-12-31T00:00:00Z
  auto late = poster->post({dated});
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->results[0].code, Code::period_closed) << late->results[0].message;
  auto bad = finance->close_period("2025-13-01");
  ASSERT_TRUE(bad.rejected());
  EXPECT_EQ(bad.rejection().code, Code::bad_date);

  auto preview = [&] {
    auto r = finance->settle(SettleRequest{"shop", "2026-01-26", true});
    EXPECT_TRUE(r.ok());
    return r.ok() ? r.value() : RunResult{};
  };
  HoldRequest h{"shop", "p1", true, "kyc pending", "hold-1", "2026-01-10T09:00:00Z"};
  auto held = finance->hold(h);
  ASSERT_TRUE(held.ok()) << (held.rejected() ? held.rejection().message : "");
  EXPECT_EQ(held->id, "hold-1");
  auto on = preview();
  ASSERT_EQ(on.carried.size(), 1u);
  EXPECT_EQ(on.carried[0].reason, CarryReason::on_hold);
  EXPECT_TRUE(on.payouts.empty());
  auto released =
      finance->hold(HoldRequest{"shop", "p1", false, "", "hold-2", "2026-01-11T09:00:00Z"});
  ASSERT_TRUE(released.ok());
  auto off = preview();
  EXPECT_TRUE(off.carried.empty());
  ASSERT_EQ(off.payouts.size(), 1u);
  EXPECT_EQ(off.payouts[0].payee, "p1");

  h.marketplace = "nope";
  h.id = "hold-3";
  auto unknown = finance->hold(h);
  ASSERT_TRUE(unknown.rejected());
  EXPECT_EQ(unknown.rejection().code, Code::unknown_marketplace);
  EXPECT_TRUE(connect("tok-poster")->hold(h).failed());  // not the poster's
}

// Finance.hold with an explicit id takes the caller's `at`, so a retry is the same event: the same
// id and at again is a duplicate (the original seq), other content under the id is id_conflict,
// and an id without at is bad_time naming `at` (docs/cli.md, `tally hold`).
TEST_F(ServerTest, FinanceHoldWithAnIdIsIdempotent) {
  start();
  auto finance = connect("tok-finance");
  HoldRequest h{"shop", "p1", true, "kyc pending", "hold-x", "2026-01-10T09:00:00+01:00"};
  auto first = finance->hold(h);
  ASSERT_TRUE(first.ok()) << (first.rejected() ? first.rejection().message : "");
  EXPECT_EQ(first->status, ItemStatus::ok);
  auto again = finance->hold(h);
  ASSERT_TRUE(again.ok()) << (again.rejected() ? again.rejection().message : "");
  EXPECT_EQ(again->status, ItemStatus::duplicate);
  EXPECT_EQ(again->id, "hold-x");

  HoldRequest other = h;
  other.reason = "another reason";
  auto conflict = finance->hold(other);
  ASSERT_TRUE(conflict.rejected());
  EXPECT_EQ(conflict.rejection().code, Code::id_conflict);

  HoldRequest no_at = h;
  no_at.id = "hold-y";
  no_at.at.reset();
  auto missing = finance->hold(no_at);
  ASSERT_TRUE(missing.rejected());
  EXPECT_EQ(missing.rejection().code, Code::bad_time);
  EXPECT_EQ(missing.rejection().message.rfind("at: ", 0), 0u) << missing.rejection().message;
  no_at.at = "2026-01-10 09:00";
  auto malformed = finance->hold(no_at);
  ASSERT_TRUE(malformed.rejected());
  EXPECT_EQ(malformed.rejection().code, Code::bad_time);

  // Without an id the server makes both: two calls, two events.
  HoldRequest fresh{"shop", "p1", false, "", "", std::nullopt};
  auto a = finance->hold(fresh);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->status, ItemStatus::ok);
  EXPECT_EQ(a->id.rfind("hold:shop:p1:", 0), 0u) << a->id;
  // With `at` and no id, the id comes from that time: a retry is a duplicate too.
  fresh.at = "2026-01-12T00:00:00Z";
  auto b = finance->hold(fresh);
  auto b2 = finance->hold(fresh);
  ASSERT_TRUE(b.ok() && b2.ok());
  EXPECT_EQ(b->status, ItemStatus::ok);
  EXPECT_EQ(b2->status, ItemStatus::duplicate);
  EXPECT_EQ(b2->id, b->id);
}

// payee_terms is finance's, like payee_details (SPEC section 5; service/service.h
// role_may_post): a poster token gets not_allowed and nothing is posted; finance posts it, and
// the rules check its fields, naming them.
TEST_F(ServerTest, PayeeTermsNeedTheFinanceRole) {
  start();
  Event terms;
  terms.header = EventHeader{"pt-1", 1'767'607'200'000'000'000, "shop", {}};
  terms.body = PayeeTermsEvent{"p1", PayeeTermsEvent::Reserve{"5%", 28}, {{"EUR", "20.00"}}};
  auto refused = connect("tok-poster")->post({PostItem{terms}});
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->results[0].code, Code::not_allowed) << refused->results[0].message;
  EXPECT_NE(refused->results[0].message.find("payee_terms"), std::string::npos);

  auto finance = connect("tok-finance");
  auto posted = finance->post({PostItem{terms}}, PostVia::finance);
  ASSERT_TRUE(posted.ok());
  EXPECT_EQ(posted->results[0].status, ItemStatus::ok) << posted->results[0].message;
  auto again = finance->post({PostItem{terms}}, PostVia::finance);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->results[0].status, ItemStatus::duplicate) << again->results[0].message;

  Event bad = terms;
  bad.header.id = "pt-2";
  bad.body = PayeeTermsEvent{"p1", PayeeTermsEvent::Reserve{"5%", 0}, {}};
  auto r = finance->post({PostItem{bad}}, PostVia::finance);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->results[0].code, Code::bad_request);
  EXPECT_EQ(r->results[0].message.rfind("reserve.days: ", 0), 0u) << r->results[0].message;
}

bool same_payouts(const std::vector<PayoutLineResult>& a, const std::vector<PayoutLineResult>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].payout != b[i].payout || a[i].payee != b[i].payee || a[i].currency != b[i].currency ||
        a[i].amount != b[i].amount)
      return false;
  return true;
}

TEST_F(ServerTest, FinanceSettlesOverRpc) {
  start();
  auto poster = connect("tok-poster");
  auto r = poster->post({sale_item("s-1", "p1", "120.00"), sale_item("s-2", "p2", "5.00")});
  ASSERT_TRUE(r.ok());
  for (auto& x : r->results) ASSERT_TRUE(x.ok()) << x.message;
  auto finance = connect("tok-finaud");
  ASSERT_TRUE(finance->post({details_item("pd-1", "p1")}, PostVia::finance).ok());

  // Held 14 days from the sale (2026-01-05): due by the pay date 2026-01-26.
  SettleRequest req{"shop", "2026-01-26", true};
  auto dry = finance->settle(req);
  ASSERT_TRUE(dry.ok()) << (dry.rejected() ? dry.rejection().message : dry.failure().message);
  EXPECT_TRUE(dry->dry_run);
  EXPECT_TRUE(finance->runs("shop").value().empty());  // a dry run commits nothing
  req.dry_run = false;
  auto run = finance->settle(req);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->pay_date, "2026-01-26");
  ASSERT_EQ(run->payouts.size(), 1u);  // p1; p2 is below the minimum
  EXPECT_EQ(run->payouts[0].payee, "p1");
  EXPECT_TRUE(same_payouts(run->payouts, dry->payouts));
  auto runs = finance->runs("shop");
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  auto csv = finance->payouts(run->run, PayoutFormat::csv);
  ASSERT_TRUE(csv.ok()) << (csv.rejected() ? csv.rejection().message : csv.failure().message);
  EXPECT_EQ(csv->rfind("payout,payee,currency,amount,creditor_name,creditor_account", 0), 0u);
  auto xml = finance->payouts(run->run, PayoutFormat::pain001);
  ASSERT_TRUE(xml.ok());
  EXPECT_NE(xml->find("pain.001.001.03"), std::string::npos);
  auto again = finance->settle(req);  // idempotent per (marketplace, pay date)
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(same_payouts(again->payouts, run->payouts));
  auto bad = finance->settle(SettleRequest{"nope", "2026-01-26", false});
  ASSERT_TRUE(bad.rejected());
  EXPECT_EQ(bad.rejection().code, Code::unknown_marketplace);
  EXPECT_TRUE(finance->payouts("shop:1999-01-01", PayoutFormat::csv).rejected());
  EXPECT_TRUE(poster->settle(req).failed());  // not the poster's
}

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

// --- the tally binary: serve, SIGTERM, --connect equals --data ----------------------------------

TEST_F(ServeProcessTest, SigtermDrainsInFlightBatchesAndARestartServesAtOnce) {
  spawn();
  ClientOptions o = options("tok-poster");
  auto c = Client::connect(o);
  ASSERT_TRUE(c.ok());
  auto client = std::move(c.value());
  ASSERT_TRUE(client
                  ->post({open_item("ops:bank", AccountKind::asset, {"USD"}),
                          open_item("ops:wallet", AccountKind::liability, {"USD"})})
                  .ok());
  constexpr int kBatches = 40, kPerBatch = 50;
  std::vector<Client::PostBatch> batches;
  for (int b = 0; b < kBatches; ++b) {
    Client::PostBatch batch;
    for (int i = 0; i < kPerBatch; ++i)
      batch.items.push_back(entry_item("t-" + std::to_string(b) + "-" + std::to_string(i)));
    batches.push_back(std::move(batch));
  }
  std::atomic<uint64_t> done{0};
  Client::Pipelined result;
  std::thread poster([&] {
    result =
        client->post_pipelined(std::move(batches), 8, [&](uint64_t d, uint64_t) { done.store(d); });
  });
  while (done.load() < 5 * kPerBatch) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(terminate(), 0);  // drained and exited cleanly
  spawn();                    // the client's retries land on the new server
  poster.join();
  ASSERT_FALSE(result.failure) << result.failure->message;
  ASSERT_EQ(result.batches.size(), size_t(kBatches));
  for (auto& b : result.batches)
    for (auto& x : b.results) EXPECT_TRUE(x.ok()) << x.id << ": " << x.message;
  ClientOptions ao = o;
  ao.token = "tok-auditor";
  auto auditor = Client::connect(ao);
  ASSERT_TRUE(auditor.ok());
  auto v = auditor.value()->verify();
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_EQ(v->entries, uint64_t(kBatches) * kPerBatch);  // none lost, none doubled
  EXPECT_EQ(terminate(), 0);
}

// kill -9 of `tally serve` while a client posts batches of new ids, at a random moment after the
// round's first acknowledgement, over several rounds. The model: the ids of every acknowledged
// batch (which must all be there after a restart) and the batch in flight when the server died
// (which may or may not be). Resending the in-flight batches afterwards must report each item ok
// or duplicate, and the journal must then hold each id ever sent exactly once. (A killed process
// leaves its written pages in the OS's page cache, so this catches acknowledging before the
// commit, half-applied batches and double posting, not a missing fsync; the fsync is LMDB's
// commit, which the ledger never skips unless told `durable = false`.)
TEST_F(ServeProcessTest, KillNineLosesNothingAcknowledgedAndAResendPostsOnce) {
  const int rounds = long_form() ? 40 : 4;
  std::mt19937_64 rng(11);
  const ClientOptions o = options("tok-poster");
  spawn();
  {
    auto c = Client::connect(o);
    ASSERT_TRUE(c.ok());
    auto r = c.value()->post({open_item("ops:bank", AccountKind::asset, {"USD"}),
                              open_item("ops:wallet", AccountKind::liability, {"USD"})});
    ASSERT_TRUE(r.ok());
    for (auto& x : r->results) ASSERT_TRUE(x.ok()) << x.message;
  }
  std::set<std::string> acked;
  std::vector<std::vector<PostItem>> in_flight;
  uint64_t ids_sent = 0;
  for (int round = 0; round < rounds; ++round) {
    if (round > 0) spawn();
    // One attempt: a dead server fails the call, and the batch is then "in flight".
    auto c = Client::connect(options("tok-poster", 1));
    ASSERT_TRUE(c.ok());
    std::unique_ptr<Client> client = std::move(c.value());
    std::mutex mu;
    std::vector<std::string> round_acked;
    std::vector<PostItem> round_in_flight;
    uint64_t round_sent = 0;
    std::thread poster([&] {
      for (int b = 0;; ++b) {
        std::vector<PostItem> items;
        for (int i = 0; i < 50; ++i)
          items.push_back(entry_item("k" + std::to_string(round) + "-" + std::to_string(b) + "-" +
                                     std::to_string(i)));
        std::vector<PostItem> copy = items;
        auto r = client->post(std::move(items));
        std::lock_guard<std::mutex> lock(mu);
        round_sent += copy.size();
        if (!r.ok()) {
          round_in_flight = std::move(copy);
          return;
        }
        for (auto& x : r->results) {
          if (!x.ok()) ADD_FAILURE() << x.id << ": " << x.message;
          round_acked.push_back(x.id);
        }
      }
    });
    // Kill at a random moment after the round's first acknowledgement (at most 20 s to get one).
    for (int i = 0; i < 2000; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!round_acked.empty()) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 150));
    kill_nine();
    poster.join();
    ASSERT_FALSE(round_acked.empty()) << "round " << round << " acknowledged nothing";
    acked.insert(round_acked.begin(), round_acked.end());
    if (!round_in_flight.empty()) in_flight.push_back(std::move(round_in_flight));
    ids_sent += round_sent;
  }
  spawn();
  auto auditor = Client::connect(options("tok-auditor"));
  ASSERT_TRUE(auditor.ok());
  for (const auto& id : acked)
    ASSERT_TRUE(auditor.value()->entry(id).ok()) << "lost acknowledged " << id;
  auto v = auditor.value()->verify();
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->problem;
  EXPECT_GE(v->entries, acked.size());
  // The batches that were in flight, resent: each item lands now or was already there.
  auto c = Client::connect(o);
  ASSERT_TRUE(c.ok());
  for (auto& batch : in_flight) {
    auto r = c.value()->post(batch);
    ASSERT_TRUE(r.ok());
    for (auto& x : r->results) EXPECT_TRUE(x.ok()) << x.id << ": " << x.message;
  }
  auto after = auditor.value()->verify();
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->ok) << after->problem;
  EXPECT_EQ(after->entries, ids_sent);  // every id sent, once
  EXPECT_EQ(rpc_balance(*auditor.value(), "ops:bank", "USD"),
            Amount::from_minor(static_cast<i128>(ids_sent) * 100));
  EXPECT_EQ(terminate(), 0);
}

struct CliOut {
  int code;
  std::string out;
  std::string err;
};
CliOut cli(std::vector<std::string> args, const std::string& input = {}) {
  std::vector<std::string> full{"tally"};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::istringstream in(input);
  std::ostringstream out, err;
  int code = run_cli(static_cast<int>(full.size()), argv.data(), in, out, err);
  return {code, out.str(), err.str()};
}

constexpr const char* kItems =
    R"({"type":"open","account":"ops:bank","kind":"asset","currencies":["USD","EUR"]}
{"type":"open","account":"ops:wallets:w1","kind":"liability","currencies":["USD"],"flags":["no_overdraft"]}
{"type":"asset","code":"PTS","exponent":3}
{"type":"open","account":"ops:points","kind":"liability","currencies":["PTS"]}
{"type":"open","account":"ops:points_pool","kind":"asset","currencies":["PTS"]}
{"type":"entry","id":"pts-1","at":"2026-01-05T10:00:00Z","kind":"grant","postings":[{"account":"ops:points_pool","currency":"PTS","side":"debit","amount":"1.250"},{"account":"ops:points","currency":"PTS","side":"credit","amount":"1.250"}]}
{"type":"entry","id":"dep-1","at":"2026-01-05T10:00:00Z","kind":"deposit","meta":{"ref":"r1"},"postings":[{"account":"ops:bank","currency":"USD","side":"debit","amount":"100.00"},{"account":"ops:wallets:w1","currency":"USD","side":"credit","amount":"100.00"}]}
{"type":"entry","id":"wd-1","at":"2026-01-06T10:00:00Z","kind":"withdrawal","postings":[{"account":"ops:wallets:w1","currency":"USD","side":"debit","amount":"500.00"},{"account":"ops:bank","currency":"USD","side":"credit","amount":"500.00"}]}
{"type":"sale","id":"o-1","at":"2026-01-05T10:00:00Z","marketplace":"shop","seller":"p1","amount":"120.00","currency":"EUR","category":"product","affiliate":"a7"}
{"type":"refund","id":"r-1","at":"2026-01-06T10:00:00Z","marketplace":"shop","sale":"o-1","amount":"20.00"}
{"type":"payee_details","id":"pd-1","at":"2026-01-05T10:00:00Z","marketplace":"shop","payee":"p1","name":"P","account":"FR7630006000011234567890189","bic":"AGRIFRPPXXX"}
)";

// Two accounts each at the largest balance: their total does not fit 128 bits. trial-balance
// and the balances total say overflow (an error, non-zero exit), never 0.00 and "balanced",
// through a server and directly.
TEST_F(ServeProcessTest, TotalsThatDoNotFitAreOverflowNeverAWrap) {
  spawn();
  const std::string max = "1701411834604692317316873037158841057.27";  // 2^127 - 1 cents
  std::string lines;
  for (const char* n : {"1", "2"}) {
    lines += std::string(R"({"type":"open","account":"big:a)") + n +
             R"(","kind":"asset","currencies":["USD"]})" + "\n";
    lines += std::string(R"({"type":"open","account":"big:l)") + n +
             R"(","kind":"liability","currencies":["USD"]})" + "\n";
    lines += std::string(R"({"type":"entry","id":"big-)") + n +
             R"(","at":"2026-01-05T10:00:00Z","kind":"deposit","postings":[{"account":"big:a)" + n +
             R"(","currency":"USD","side":"debit","amount":")" + max + R"("},{"account":"big:l)" +
             n + R"(","currency":"USD","side":"credit","amount":")" + max + R"("}]})" + "\n";
  }
  auto posted = cli({"--connect", address_, "--token", "tok-poster", "post", "-"}, lines);
  ASSERT_EQ(posted.code, 0) << posted.out << posted.err;
  const std::vector<std::vector<std::string>> reads = {{"trial-balance"},
                                                       {"trial-balance", "--json"},
                                                       {"balances", "big"},
                                                       {"balances", "", "--json"}};
  auto check = [](const CliOut& r, const std::vector<std::string>& args) {
    EXPECT_NE(r.code, 0) << args[0] << ": " << r.out;
    const std::string said = r.out + r.err;
    const bool json = args.back() == "--json";
    // The JSON error names the code; the text names what does not fit.
    EXPECT_NE(said.find(json ? "\"overflow\"" : "not fit 128 bits"), std::string::npos)
        << args[0] << ": " << said;
    EXPECT_EQ(r.out.find("\"balanced\":true"), std::string::npos) << r.out;
  };
  for (auto& args : reads) {
    std::vector<std::string> a{"--connect", address_, "--token", "tok-finaud"};
    a.insert(a.end(), args.begin(), args.end());
    check(cli(a), args);
  }
  // One account alone still reads.
  auto one = cli({"--connect", address_, "--token", "tok-finaud", "balance", "big:a1"});
  EXPECT_EQ(one.code, 0) << one.out << one.err;
  EXPECT_NE(one.out.find(max), std::string::npos) << one.out;
  EXPECT_EQ(terminate(), 0);
  for (auto& args : reads) {
    std::vector<std::string> a{"--data", dir_.sub("data"), "--config", dir_.sub("config.toml")};
    a.insert(a.end(), args.begin(), args.end());
    check(cli(a), args);
  }
}

// One process writes a data directory: a second server, or an embedded command, on the one a
// server holds is refused with a clear error (exit 3), and the first server serves on.
TEST_F(ServeProcessTest, ASecondProcessOnTheDataDirectoryIsRefused) {
  spawn();
  const std::string data = dir_.sub("data"), cfg = dir_.sub("config.toml");
  std::string second = dir_.sub("second.log");
  std::string cmd = tally_binary() + " serve --data '" + data + "' --config '" + cfg +
                    "' --listen 'unix:" + dir_.sub("second.sock") + "' >'" + second + "' 2>&1";
  int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  std::ifstream in(second);
  std::string said((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(said.find("in use by another tally process"), std::string::npos) << said;

  auto embedded = cli({"--data", data, "--config", cfg, "trial-balance"});
  EXPECT_EQ(embedded.code, 3) << embedded.out << embedded.err;
  EXPECT_NE(embedded.err.find("in use by another tally process"), std::string::npos)
      << embedded.err;

  auto remote = cli({"--connect", address_, "--token", "tok-finaud", "trial-balance"});
  EXPECT_EQ(remote.code, 0) << remote.out << remote.err;
  EXPECT_EQ(terminate(), 0);
  // Released when the server stops.
  EXPECT_EQ(cli({"--data", data, "--config", cfg, "trial-balance"}).code, 0);
}

TEST_F(ServeProcessTest, ConnectAndDataGiveTheSameOutput) {
  // Post the same lines through a server and directly into another directory.
  spawn();
  std::string cfg = dir_.sub("config.toml");
  auto remote_post = cli({"--connect", address_, "--token", "tok-poster", "post", "-"}, kItems);
  auto local_post = cli({"--data", dir_.sub("local"), "--config", cfg, "post", "-"}, kItems);
  // Commit times differ between the two stores; everything else is the same, except that the
  // poster token may not post payee_details (the embedded backend has every role).
  std::regex committed(R"(,"committed":"[^"]*")");
  auto remote_lines = std::regex_replace(remote_post.out, committed, "");
  auto local_lines = std::regex_replace(local_post.out, committed, "");
  std::istringstream rs(remote_lines), ls(local_lines);
  std::string rl, ll;
  int line = 0;
  while (std::getline(ls, ll)) {
    ASSERT_TRUE(std::getline(rs, rl));
    ++line;
    if (ll.find("\"pd-1\"") != std::string::npos) {
      EXPECT_NE(rl.find("not_allowed"), std::string::npos) << rl;
      continue;
    }
    EXPECT_EQ(rl, ll) << "line " << line;
  }
  EXPECT_EQ(remote_post.code, local_post.code);

  // Reads of one store: through the server, then directly once the server has stopped.
  std::vector<std::vector<std::string>> reads = {
      {"balance", "ops:wallets:w1"},
      {"balance", "ops:bank", "--currency", "USD", "--json"},
      {"balances", "shop"},
      {"balances", "", "--json"},
      {"statement", "ops:bank", "--json"},
      {"statement", "ops:bank", "--limit", "1"},
      {"entry", "o-1"},
      {"entry", "o-1", "--json"},
      {"entry", "nope"},
      {"trial-balance", "--json"},
      {"trial-balance"},
      {"verify"},
      {"export", "--format", "csv"},
      {"export", "--format", "hledger"},
      {"balance", "ops:missing"},
  };
  auto settled = cli({"--connect", address_, "--token", "tok-finaud", "settle", "shop", "--date",
                      "2026-01-26", "--json"});
  EXPECT_EQ(settled.code, 0) << settled.out;
  reads.push_back({"runs", "shop"});
  reads.push_back({"payouts", "shop:2026-01-26", "--format", "csv"});
  reads.push_back({"settle", "shop", "--date", "2026-01-26", "--json"});  // a replay
  std::vector<CliOut> remote;
  for (auto& r : reads) {
    std::vector<std::string> a{"--connect", address_, "--token", "tok-finaud"};
    a.insert(a.end(), r.begin(), r.end());
    remote.push_back(cli(a));
  }
  EXPECT_EQ(terminate(), 0);
  for (size_t i = 0; i < reads.size(); ++i) {
    std::vector<std::string> a{"--data", dir_.sub("data"), "--config", cfg};
    a.insert(a.end(), reads[i].begin(), reads[i].end());
    auto local = cli(a);
    EXPECT_EQ(remote[i].code, local.code) << reads[i][0];
    EXPECT_EQ(remote[i].out, local.out) << reads[i][0];
  }
}

}  // namespace
}  // namespace tally
