// A duplicate answers the original's breakdown (SPEC section 5, wire rules; issue 17): posting a
// sale, refund, chargeback or earning whose id already committed gives `duplicate` with the
// original seq and commit time and the same `sale`, `refund` or `earning` fields and `detail` the
// first post gave, whatever was posted in between. Raw Cap'n Proto calls, as an outside client.
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/test_util.h"
#include "rpc/serve_fixture.h"
#include "rpc/server.h"
#include "rpc/tally.capnp.h"
#include "rpc/wire.h"

namespace tally {
namespace {

using namespace tally::testing;

// The shop of the other RPC tests, with an earning rule (TOML lets a table follow [tokens]).
const std::string kConfigWithEarning = std::string(kConfig) + R"toml(
[marketplaces.shop.earning.session]
rate = "8%"
minimum = "10.00"
)toml";

// What an ItemResult says, as plain strings, to compare a first post with its duplicate.
struct Seen {
  wire::ItemStatus status = wire::ItemStatus::ERROR;
  std::string message;
  uint64_t seq = 0;
  int64_t commit_ns = 0;
  std::string detail;
  std::vector<std::string> sale, refund, earning;  // empty when the field is null
};

Seen seen(wire::ItemResult::Reader r) {
  auto t = [](capnp::Text::Reader x) { return std::string(x.cStr()); };
  Seen s;
  s.status = r.getStatus();
  s.message = r.getMessage().cStr();
  s.seq = r.getSeq();
  s.commit_ns = r.getCommitNs();
  s.detail = r.getDetail().cStr();
  if (r.hasSale()) {
    auto x = r.getSale();
    s.sale = {t(x.getCurrency()), t(x.getCommission()), t(x.getAffiliate()), t(x.getFee()),
              t(x.getSeller())};
  }
  if (r.hasRefund()) {
    auto x = r.getRefund();
    s.refund = {t(x.getCurrency()), t(x.getSeller()), t(x.getPlatform()), t(x.getAffiliate()),
                t(x.getRefundedTotal())};
  }
  if (r.hasEarning()) {
    auto x = r.getEarning();
    s.earning = {t(x.getCurrency()), t(x.getEarned()), t(x.getMinimum()), t(x.getPaid())};
  }
  return s;
}

class DuplicateBreakdownTest : public ::testing::Test {
 protected:
  // kj's handles may throw from their destructors; gtest's fixture destructor may not.
  ~DuplicateBreakdownTest() noexcept override {}
  void SetUp() override {
    ServiceOptions so;
    so.data_dir = dir_.sub("data");
    CurrencyTable t;
    auto c = load_config(kConfigWithEarning, t);
    ASSERT_TRUE(c.ok()) << c.error().message;
    so.config = *c;
    Status s = Service::open(std::move(so), &service_);
    ASSERT_TRUE(s.ok()) << s.to_string();
    ServerOptions o;
    o.listen = "unix:" + dir_.sub("tally.sock");
    auto st = ServerThread::start(*service_, o);
    ASSERT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
    server_ = std::move(*st);
  }
  void TearDown() override {
    server_.reset();
    service_.reset();
  }

  using Fill = std::function<void(wire::Event::Builder)>;
  static Fill sale(const char* id, const char* amount, const char* affiliate) {
    return [=](wire::Event::Builder ev) {
      header(ev, id);
      auto s = ev.initSale();
      s.setSeller("p1");
      s.setAmount(amount);
      s.setCurrency("EUR");
      s.setCategory("product");
      if (affiliate != nullptr) s.setAffiliate(affiliate);
    };
  }
  static Fill refund(const char* id, const char* sale_id, const char* amount) {
    return [=](wire::Event::Builder ev) {
      header(ev, id);
      auto s = ev.initRefund();
      s.setSale(sale_id);
      s.setAmount(amount);
    };
  }
  static Fill chargeback(const char* id, const char* sale_id, const char* amount) {
    return [=](wire::Event::Builder ev) {
      header(ev, id);
      auto s = ev.initChargeback();
      s.setSale(sale_id);
      s.setAmount(amount);
    };
  }
  static Fill earning(const char* id, const char* basis) {
    return [=](wire::Event::Builder ev) {
      header(ev, id);
      auto s = ev.initEarning();
      s.setPayee("p5");
      s.setBasis(basis);
      s.setCurrency("EUR");
      s.setRule("session");
    };
  }
  static void header(wire::Event::Builder ev, const char* id) {
    ev.setId(id);
    ev.setAt("2026-01-05T10:00:00Z");
    ev.setMarketplace("shop");
  }

  // Posts the events on a connection of its own (a retry after a lost reply comes on a new one).
  std::vector<Seen> post(const std::vector<Fill>& events) {
    auto io = kj::setupAsyncIo();
    auto addr = io.provider->getNetwork().parseAddress(server_->address()).wait(io.waitScope);
    auto stream = addr->connect().wait(io.waitScope);
    capnp::TwoPartyClient client(*stream);
    auto login = client.bootstrap().castAs<wire::Tally>().loginRequest();
    login.setToken("tok-poster");
    auto poster = login.send().wait(io.waitScope).getPoster();
    auto req = poster.postRequest();
    auto items = req.initItems(static_cast<unsigned>(events.size()));
    for (unsigned i = 0; i < items.size(); ++i) events[i](items[i].initEvent());
    auto r = req.send().wait(io.waitScope);
    std::vector<Seen> out;
    for (auto x : r.getResults()) out.push_back(seen(x));
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<ServerThread> server_;
};

// Post, post again: the same fields, detail, seq and commit time, status duplicate.
TEST_F(DuplicateBreakdownTest, ADuplicateCarriesTheOriginalsBreakdownFieldsAndDetail) {
  const std::vector<Fill> events = {sale("o-1", "120.00", "a7"), refund("r-1", "o-1", "12.00"),
                                    chargeback("c-1", "o-1", "30.00"), earning("e-1", "50.00")};
  auto first = post(events);
  ASSERT_EQ(first.size(), 4u);
  for (auto& f : first) ASSERT_EQ(f.status, wire::ItemStatus::OK) << f.message;
  // a = 120.00: C = 12.00, A = 8.40, F = 2.9% * 120.00 + 0.25 = 3.73, seller 104.27.
  EXPECT_EQ(first[0].sale, (std::vector<std::string>{"EUR", "12.00", "8.40", "3.73", "104.27"}));
  // Weights 108.00 : 3.60 : 8.40 of 120.00; 12.00 of it is 10.80, 0.36, 0.84.
  EXPECT_EQ(first[1].refund, (std::vector<std::string>{"EUR", "10.80", "0.36", "0.84", "12.00"}));
  // Cumulative 42.00 -> 37.80, 1.26, 2.94; minus those of 12.00: 27.00, 0.90, 2.10.
  EXPECT_EQ(first[2].refund, (std::vector<std::string>{"EUR", "27.00", "0.90", "2.10", "42.00"}));
  // 8% of 50.00 is 4.00, below the rule's minimum 10.00: paid 10.00.
  EXPECT_EQ(first[3].earning, (std::vector<std::string>{"EUR", "4.00", "10.00", "10.00"}));

  // A later refund of the same sale moves its refunded total: the duplicates still answer the
  // totals as they were.
  auto later = post({refund("r-2", "o-1", "10.00")});
  ASSERT_EQ(later[0].status, wire::ItemStatus::OK) << later[0].message;
  EXPECT_EQ(later[0].refund.back(), "52.00");

  auto again = post(events);
  ASSERT_EQ(again.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(again[i].status, wire::ItemStatus::DUPLICATE) << again[i].message;
    EXPECT_EQ(again[i].seq, first[i].seq);
    EXPECT_EQ(again[i].commit_ns, first[i].commit_ns);
    EXPECT_FALSE(again[i].detail.empty());
    EXPECT_EQ(again[i].detail, first[i].detail);
    EXPECT_EQ(again[i].sale, first[i].sale);
    EXPECT_EQ(again[i].refund, first[i].refund);
    EXPECT_EQ(again[i].earning, first[i].earning);
  }
}

// The reply of the first post never reached the client (it committed, the connection dropped):
// the retry is the client's first sight of the breakdown, and it is whole.
TEST_F(DuplicateBreakdownTest, ARetryAfterALostReplyGetsTheBreakdown) {
  Event s;
  s.header = EventHeader{"o-9", 1'767'607'200'000'000'000, "shop", {}};
  s.body = SaleEvent{"p1", "120.00", "EUR", "product", std::string("a7")};
  Event r;
  r.header = EventHeader{"r-9", 1'767'607'200'000'000'000, "shop", {}};
  r.body = RefundEvent{"o-9", "12.00"};
  Event e;
  e.header = EventHeader{"e-9", 1'767'607'200'000'000'000, "shop", {}};
  e.body = EarningEvent{"p5", "200.00", "EUR", "session"};
  std::vector<PostItem> items;
  for (Event* ev : {&s, &r, &e}) items.push_back(PostItem{*ev});
  auto lost = service_->post_and_wait(std::move(items), RoleSet{Role::poster});
  for (auto& x : lost) ASSERT_TRUE(x.ok()) << x.message;

  Fill fill_sale = sale("o-9", "120.00", "a7");
  auto retry = post({fill_sale, refund("r-9", "o-9", "12.00"), earning("e-9", "200.00")});
  ASSERT_EQ(retry.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(retry[i].status, wire::ItemStatus::DUPLICATE) << retry[i].message;
    EXPECT_EQ(retry[i].seq, lost[i].seq);
    EXPECT_EQ(retry[i].detail, lost[i].detail);
  }
  EXPECT_EQ(retry[0].sale, (std::vector<std::string>{"EUR", "12.00", "8.40", "3.73", "104.27"}));
  EXPECT_EQ(retry[1].refund, (std::vector<std::string>{"EUR", "10.80", "0.36", "0.84", "12.00"}));
  // 8% of 200.00 = 16.00, above the minimum.
  EXPECT_EQ(retry[2].earning, (std::vector<std::string>{"EUR", "16.00", "10.00", "16.00"}));

  // The same id with other content is still id_conflict, with no breakdown.
  auto conflict = post({sale("o-9", "121.00", "a7")});
  EXPECT_EQ(conflict[0].status, wire::ItemStatus::ERROR);
  EXPECT_TRUE(conflict[0].sale.empty());
  EXPECT_TRUE(conflict[0].detail.empty());
}

}  // namespace
}  // namespace tally
