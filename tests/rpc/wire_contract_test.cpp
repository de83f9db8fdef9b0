// The wire contract as an outside implementation sees it (SPEC section 5, wire rules; issue 17):
// raw Cap'n Proto calls, no C++ client in between. No unset field posts: an absent `at` is
// bad_time naming the field; an oversized id is bad_id and comes back cut to its limit; times in
// queries are RFC 3339 text, and an empty or malformed one is bad_time naming the parameter.
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <memory>
#include <string>

#include "common/test_util.h"
#include "rpc/client.h"
#include "rpc/serve_fixture.h"
#include "rpc/server.h"
#include "rpc/tally.capnp.h"
#include "rpc/wire.h"

namespace tally {
namespace {

using namespace tally::testing;

class WireContractTest : public ::testing::Test {
 protected:
  // kj's handles may throw from their destructors; gtest's fixture destructor may not.
  ~WireContractTest() noexcept override {}
  void SetUp() override {
    ServiceOptions so;
    so.data_dir = dir_.sub("data");
    so.config = test_config();
    Status s = Service::open(std::move(so), &service_);
    ASSERT_TRUE(s.ok()) << s.to_string();
    ServerOptions o;
    o.listen = "unix:" + dir_.sub("tally.sock");
    auto t = ServerThread::start(*service_, o);
    ASSERT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
    server_ = std::move(*t);
    auto addr = io_->provider->getNetwork().parseAddress(server_->address()).wait(io_->waitScope);
    stream_ = addr->connect().wait(io_->waitScope);
    client_ = kj::heap<capnp::TwoPartyClient>(*stream_);
  }
  void TearDown() override {
    client_ = nullptr;
    stream_ = nullptr;
    server_.reset();
    service_.reset();
  }
  capnp::Response<wire::Tally::LoginResults> login(const char* token) {
    auto req = client_->bootstrap().castAs<wire::Tally>().loginRequest();
    req.setToken(token);
    return req.send().wait(io_->waitScope);
  }
  void open_ops(wire::Poster::Client& poster) {
    auto req = poster.postRequest();
    auto items = req.initItems(2);
    const char* names[] = {"ops:bank", "ops:wallet"};
    for (unsigned i = 0; i < 2; ++i) {
      auto o = items[i].initOpen();
      o.setAccount(names[i]);
      o.setKind(i == 0 ? wire::AccountKind::ASSET : wire::AccountKind::LIABILITY);
      o.initCurrencies(1).set(0, "USD");
    }
    auto r = req.send().wait(io_->waitScope);
    for (auto x : r.getResults()) ASSERT_EQ(x.getStatus(), wire::ItemStatus::OK);
  }
  // A balanced USD entry; `at` null when given nullptr.
  static void fill_entry(wire::Entry::Builder e, const std::string& id, const char* at) {
    e.setId(id);
    if (at != nullptr) e.setAt(at);
    e.setKind("transfer");
    auto ps = e.initPostings(2);
    const char* accounts[] = {"ops:bank", "ops:wallet"};
    for (unsigned i = 0; i < 2; ++i) {
      ps[i].setAccount(accounts[i]);
      ps[i].setCurrency("USD");
      ps[i].setSide(i == 0 ? wire::Side::DEBIT : wire::Side::CREDIT);
      ps[i].setAmount("1.00");
    }
  }
  uint64_t entries_in_ledger() { return service_->snapshot()->last_seq(); }

  TempDir dir_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<ServerThread> server_;
  // Behind a pointer: kj's context may throw from its destructor, gtest's fixture may not.
  std::unique_ptr<kj::AsyncIoContext> io_ =
      std::make_unique<kj::AsyncIoContext>(kj::setupAsyncIo());
  kj::Own<kj::AsyncIoStream> stream_;
  kj::Own<capnp::TwoPartyClient> client_;
};

TEST_F(WireContractTest, AnUnsetAtIsBadTimeNamingTheFieldNever1970) {
  auto caps = login("tok-poster");
  auto poster = caps.getPoster();
  open_ops(poster);
  auto req = poster.postRequest();
  auto items = req.initItems(3);
  fill_entry(items[0].initEntry(), "no-at", nullptr);
  fill_entry(items[1].initEntry(), "empty-at", "");
  auto ev = items[2].initEvent();
  ev.setId("sale-no-at");
  ev.setMarketplace("shop");
  auto sale = ev.initSale();
  sale.setSeller("p1");
  sale.setAmount("10.00");
  sale.setCurrency("EUR");
  sale.setCategory("product");
  auto r = req.send().wait(io_->waitScope);
  ASSERT_EQ(r.getResults().size(), 3u);
  for (auto x : r.getResults()) {
    EXPECT_EQ(x.getStatus(), wire::ItemStatus::ERROR);
    EXPECT_EQ(x.getCode(), wire::ErrorCode::BAD_TIME) << x.getMessage().cStr();
    EXPECT_EQ(std::string(x.getMessage().cStr()).rfind("at: ", 0), 0u) << x.getMessage().cStr();
  }
  EXPECT_EQ(entries_in_ledger(), 0u);

  // The same entry with its time posts, and reads back with the same RFC 3339 text.
  auto ok = poster.postRequest();
  fill_entry(ok.initItems(1)[0].initEntry(), "with-at", "2026-01-05T11:00:00+01:00");
  auto r2 = ok.send().wait(io_->waitScope);
  ASSERT_EQ(r2.getResults()[0].getStatus(), wire::ItemStatus::OK)
      << r2.getResults()[0].getMessage().cStr();
  auto aud = login("tok-auditor").getAuditor();
  auto er = aud.entryRequest();
  er.setId("with-at");
  auto view = er.send().wait(io_->waitScope);
  ASSERT_FALSE(view.hasError());
  EXPECT_STREQ(view.getResult().getEntry().getAt().cStr(), "2026-01-05T10:00:00Z");
}

TEST_F(WireContractTest, AnOversizedIdIsBadIdAndEchoedCutToItsLimit) {
  auto caps = login("tok-poster");
  auto poster = caps.getPoster();
  open_ops(poster);
  const std::string huge(4 << 20, 'x');  // 4 MiB
  auto req = poster.postRequest();
  auto items = req.initItems(2);
  fill_entry(items[0].initEntry(), huge, "2026-01-05T10:00:00Z");
  auto ev = items[1].initEvent();
  ev.setId(huge);
  ev.setAt("2026-01-05T10:00:00Z");
  ev.setMarketplace("shop");
  ev.initDelivered().setSale("o-1");
  auto r = req.send().wait(io_->waitScope);
  ASSERT_EQ(r.getResults().size(), 2u);
  for (auto x : r.getResults()) {
    EXPECT_EQ(x.getCode(), wire::ErrorCode::BAD_ID);
    EXPECT_EQ(x.getId().size(), limits::entry_id_bytes_max);
    EXPECT_LT(x.getMessage().size(), 200u) << "the message does not carry the id whole";
  }
  EXPECT_EQ(entries_in_ledger(), 0u);
}

// Lists are sized before they are copied (a fuzzer found a 287-byte payee_terms event whose
// minimum_balance, a list of empty structs, made the server build ~8 million entries): more
// entries than the limit allows is an error naming the field.
TEST_F(WireContractTest, ListsOverTheirLimitAreRefusedNamingTheField) {
  auto finance = login("tok-finance").getFinance();
  auto treq = finance.postRequest();
  auto terms = treq.initItems(1)[0].initEvent();
  terms.setId("terms-1");
  terms.setAt("2026-01-05T10:00:00Z");
  terms.setMarketplace("shop");
  terms.initPayeeTerms().initMinimumBalance(limits::currencies_per_account_max + 1);
  auto tr = treq.send().wait(io_->waitScope);
  ASSERT_EQ(tr.getResults().size(), 1u);
  EXPECT_EQ(tr.getResults()[0].getCode(), wire::ErrorCode::BAD_REQUEST);
  EXPECT_STREQ(tr.getResults()[0].getMessage().cStr(),
               "minimum_balance: 65 currencies, at most 64");

  auto poster = login("tok-poster").getPoster();
  auto req = poster.postRequest();
  auto items = req.initItems(2);
  auto meta = items[0].initEvent();
  meta.setId("meta-keys");
  meta.setAt("2026-01-05T10:00:00Z");
  meta.setMarketplace("shop");
  meta.initMeta(limits::meta_bytes_max + 1);
  meta.initDelivered().setSale("o-1");
  auto entry = items[1].initEntry();
  fill_entry(entry, "meta-bytes", "2026-01-05T10:00:00Z");
  auto kv = entry.initMeta(2);
  kv[0].setKey("a");
  kv[0].setValue(std::string(limits::meta_bytes_max, 'v'));
  kv[1].setKey("b");
  auto r = req.send().wait(io_->waitScope);
  ASSERT_EQ(r.getResults().size(), 2u);
  auto res = r.getResults();
  EXPECT_EQ(res[0].getCode(), wire::ErrorCode::BAD_META);
  EXPECT_STREQ(res[0].getMessage().cStr(),
               "meta: 4097 keys, at most 4096 bytes of keys and values allowed");
  EXPECT_EQ(res[1].getCode(), wire::ErrorCode::BAD_META);
  EXPECT_STREQ(res[1].getMessage().cStr(),
               "meta: 4098 bytes of keys and values, at most 4096 allowed");
  EXPECT_EQ(entries_in_ledger(), 0u);
}

TEST_F(WireContractTest, QueryTimesAreRfc3339AndAnEmptyOrBadOneIsBadTime) {
  auto aud = login("tok-auditor").getAuditor();
  {
    auto req = aud.balancesRequest();
    req.setPrefix("");
    req.setAsOf("");
    auto r = req.send().wait(io_->waitScope);
    ASSERT_TRUE(r.hasError());
    EXPECT_EQ(r.getError().getCode(), wire::ErrorCode::BAD_TIME);
    EXPECT_EQ(std::string(r.getError().getMessage().cStr()).rfind("asOf: ", 0), 0u);
  }
  {
    auto req = aud.trialBalanceRequest();
    req.setAsOf("1767607200000");  // milliseconds by mistake: not a time
    auto r = req.send().wait(io_->waitScope);
    ASSERT_TRUE(r.hasError());
    EXPECT_EQ(r.getError().getCode(), wire::ErrorCode::BAD_TIME);
  }
  {
    auto req = aud.statementRequest();
    auto q = req.initQuery();
    q.setAccount("ops:bank");
    q.setFrom("yesterday");
    q.setLimit(10);
    auto r = req.send().wait(io_->waitScope);
    ASSERT_TRUE(r.hasError());
    EXPECT_EQ(r.getError().getCode(), wire::ErrorCode::BAD_TIME);
    EXPECT_EQ(std::string(r.getError().getMessage().cStr()).rfind("from", 0), 0u);
  }
  {
    auto req = aud.trialBalanceRequest();
    req.setAsOf("2026-01-05T10:00:00Z");
    auto r = req.send().wait(io_->waitScope);
    EXPECT_FALSE(r.hasError());
  }
}

// An item's computed breakdown comes as schema fields, money as decimal text and a code.
TEST_F(WireContractTest, SaleAndRefundResultsCarryTheirBreakdownAsFields) {
  auto poster = login("tok-poster").getPoster();
  auto sale_event = [](wire::Event::Builder ev, const char* id) {
    ev.setId(id);
    ev.setAt("2026-01-05T10:00:00Z");
    ev.setMarketplace("shop");
  };
  auto req = poster.postRequest();
  auto items = req.initItems(2);
  auto ev = items[0].initEvent();
  sale_event(ev, "o-1");
  auto sale = ev.initSale();
  sale.setSeller("p1");
  sale.setAmount("120.00");
  sale.setCurrency("EUR");
  sale.setCategory("product");
  sale.setAffiliate("a7");
  auto rf = items[1].initEvent();
  sale_event(rf, "r-1");
  auto refund = rf.initRefund();
  refund.setSale("o-1");
  refund.setAmount("12.00");
  auto r = req.send().wait(io_->waitScope);
  ASSERT_EQ(r.getResults().size(), 2u);
  auto s = r.getResults()[0];
  ASSERT_EQ(s.getStatus(), wire::ItemStatus::OK) << s.getMessage().cStr();
  ASSERT_TRUE(s.hasSale());
  EXPECT_FALSE(s.hasRefund());
  EXPECT_STREQ(s.getSale().getCurrency().cStr(), "EUR");
  EXPECT_STREQ(s.getSale().getCommission().cStr(), "12.00");
  EXPECT_STREQ(s.getSale().getAffiliate().cStr(), "8.40");
  EXPECT_STREQ(s.getSale().getFee().cStr(), "3.73");
  EXPECT_STREQ(s.getSale().getSeller().cStr(), "104.27");
  auto x = r.getResults()[1];
  ASSERT_EQ(x.getStatus(), wire::ItemStatus::OK) << x.getMessage().cStr();
  ASSERT_TRUE(x.hasRefund());
  EXPECT_STREQ(x.getRefund().getCurrency().cStr(), "EUR");
  EXPECT_STREQ(x.getRefund().getRefundedTotal().cStr(), "12.00");
  EXPECT_FALSE(x.hasSale());
}

// Balances come back as decimal text with exactly the currency's digits, and a code.
TEST_F(WireContractTest, MoneyInResultsIsDecimalTextAndACode) {
  auto poster = login("tok-poster").getPoster();
  open_ops(poster);
  auto req = poster.postRequest();
  fill_entry(req.initItems(1)[0].initEntry(), "e-1", "2026-01-05T10:00:00Z");
  ASSERT_EQ(req.send().wait(io_->waitScope).getResults()[0].getStatus(), wire::ItemStatus::OK);
  auto aud = login("tok-auditor").getAuditor();
  auto b = aud.balanceRequest();
  b.setAccount("ops:bank");
  auto r = b.send().wait(io_->waitScope);
  ASSERT_FALSE(r.hasError());
  ASSERT_EQ(r.getResult().getBalances().size(), 1u);
  EXPECT_STREQ(r.getResult().getBalances()[0].getCurrency().cStr(), "USD");
  EXPECT_STREQ(r.getResult().getBalances()[0].getAmount().cStr(), "1.00");
  auto tb = aud.trialBalanceRequest().send().wait(io_->waitScope);
  ASSERT_EQ(tb.getResult().getCurrencies().size(), 1u);
  EXPECT_STREQ(tb.getResult().getCurrencies()[0].getDebits().cStr(), "1.00");
  EXPECT_STREQ(tb.getResult().getCurrencies()[0].getCredits().cStr(), "1.00");
}

// Every role reads the server's version and the limits it applies (its options included).
TEST_F(WireContractTest, EveryRoleReadsTheServersVersionAndLimits) {
  auto check = [](wire::ServerInfo::Reader i) {
    EXPECT_FALSE(i.getVersion().size() == 0);
    EXPECT_EQ(i.getBatchItemsMax(), limits::batch_items_max);
    EXPECT_EQ(i.getIdBytesMax(), limits::entry_id_bytes_max);
    EXPECT_EQ(i.getPostingsPerEntryMax(), limits::postings_per_entry_max);
    EXPECT_EQ(i.getMetaBytesMax(), limits::meta_bytes_max);
    EXPECT_EQ(i.getStreamCallsInFlightMax(), 8u);
  };
  {
    auto r = login("tok-poster").getPoster().serverRequest().send().wait(io_->waitScope);
    ASSERT_FALSE(r.hasError());
    check(r.getResult());
  }
  {
    auto r = login("tok-auditor").getAuditor().serverRequest().send().wait(io_->waitScope);
    ASSERT_FALSE(r.hasError());
    check(r.getResult());
  }
  {
    auto r = login("tok-finance").getFinance().serverRequest().send().wait(io_->waitScope);
    ASSERT_FALSE(r.hasError());
    check(r.getResult());
  }
  // Through the C++ client, and a server with a smaller batch limit says so.
  client_ = nullptr;
  stream_ = nullptr;
  server_.reset();
  ServerOptions o;
  o.listen = "unix:" + dir_.sub("small.sock");
  o.limits.batch_items_max = 7;
  auto t = ServerThread::start(*service_, o);
  ASSERT_TRUE(t.ok());
  server_ = std::move(*t);
  ClientOptions co;
  co.address = server_->address();
  co.token = "tok-poster";
  auto c = Client::connect(co);
  ASSERT_TRUE(c.ok());
  auto info = c.value()->server_info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->batch_items_max, 7u);
  EXPECT_EQ(info->id_bytes_max, limits::entry_id_bytes_max);
}

}  // namespace
}  // namespace tally
