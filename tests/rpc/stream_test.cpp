// Streamed output over RPC (an export, a payout file) is whole or fails loudly (issue 16, item 1):
// many exports to a slow sink equal the in-process export byte for byte, and a trailer that does
// not match what the sink received (a fake server that lies) is a Failure, never a short success.
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "common/test_util.h"
#include "rpc/client.h"
#include "rpc/serve_fixture.h"
#include "rpc/server.h"
#include "rpc/tally.capnp.h"
#include "rpc/wire.h"
#include "service/export.h"

namespace tally {
namespace {

using namespace tally::testing;

class RpcStreamTest : public ::testing::Test {
 protected:
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
  }
  void TearDown() override {
    server_.reset();
    service_.reset();
  }
  std::unique_ptr<Client> connect(const std::string& token, const std::string& address = {}) {
    ClientOptions o;
    o.address = address.empty() ? server_->address() : address;
    o.token = token;
    auto c = Client::connect(o);
    EXPECT_TRUE(c.ok()) << (c.failed() ? c.failure().message : "rejected");
    return c.ok() ? std::move(c.value()) : nullptr;
  }
  std::string embedded_export(ExportFormat format) {
    std::string out;
    auto snap = service_->snapshot();
    export_journal(*snap, format, [&](std::string_view s) {
      out.append(s);
      return true;
    });
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<ServerThread> server_;
};

// The reported truncation: the export call's answer overtook writes the client had not yet
// handed to its sink (the sink runs on the caller's thread), so a slow sink saw only the start,
// and the call succeeded. Each write now returns only once the sink took its chunk, the server
// answers only after every write returned, and the client checks the trailer.
TEST_F(RpcStreamTest, ExportOverRpcIsWholeEveryTimeEvenToASlowSink) {
  auto poster = connect("tok-poster");
  ASSERT_TRUE(poster);
  auto opened = poster->post({open_item("ops:bank", AccountKind::asset, {"USD", "EUR"}),
                              open_item("ops:wallet", AccountKind::liability, {"USD"})});
  ASSERT_TRUE(opened.ok());
  std::vector<PostItem> items;
  for (int i = 0; i < 2500; ++i) items.push_back(entry_item("bulk-" + std::to_string(i)));
  ASSERT_TRUE(poster->post(std::move(items)).ok());
  const std::string hledger = embedded_export(ExportFormat::hledger);
  const std::string csv = embedded_export(ExportFormat::csv);
  ASSERT_GT(csv.size(), 3 * 64 * 1024u);  // several chunks

  auto auditor = connect("tok-auditor");
  ASSERT_TRUE(auditor);
  for (int i = 0; i < 12; ++i) {
    const bool as_csv = i % 2 == 1;
    std::string got;
    size_t chunks = 0;
    auto x = auditor->export_journal(as_csv ? ExportFormat::csv : ExportFormat::hledger,
                                     [&](std::string_view s) {
                                       // A slow reader: the sink lags behind the server.
                                       std::this_thread::sleep_for(std::chrono::milliseconds(3));
                                       got.append(s);
                                       ++chunks;
                                       return true;
                                     });
    ASSERT_TRUE(x.ok()) << i << ": " << (x.failed() ? x.failure().message : x.rejection().message);
    EXPECT_GT(chunks, 1u);
    EXPECT_EQ(x->bytes, got.size());
    EXPECT_EQ(x->sha256, sha256(got));
    ASSERT_EQ(got.size(), (as_csv ? csv : hledger).size()) << "export " << i << " is short";
    EXPECT_EQ(got, as_csv ? csv : hledger);
  }
}

// --- a server that lies about what it sent ------------------------------------------------------

enum class Lie { short_count, wrong_hash };

class LyingAuditor final : public wire::Auditor::Server {
 public:
  explicit LyingAuditor(Lie lie) : lie_(lie) {}
  kj::Promise<void> exportJournal(ExportJournalContext ctx) override {
    auto sink = ctx.getParams().getSink();
    std::string text = "2026-01-05 deposit dep-1\n    ops:bank  1.00 USD\n";
    auto w = sink.writeRequest();
    w.setChunk(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(text.data()), text.size()));
    return w.send().then([ctx, text, lie = lie_](auto) mutable {
      auto r = ctx.getResults().initResult();
      Digest d = sha256(text);
      if (lie == Lie::short_count) {
        r.setBytes(text.size() + 100);  // the server "sent" more than arrived
      } else {
        r.setBytes(text.size());
        d[0] ^= 1;  // what arrived is not what was sent
      }
      r.setSha256(capnp::Data::Reader(d.data(), d.size()));
    });
  }

 private:
  Lie lie_;
};

class LyingFinance final : public wire::Finance::Server {
 public:
  kj::Promise<void> payouts(PayoutsContext ctx) override {
    auto sink = ctx.getParams().getSink();
    std::string text = "payout,payee,currency,amount\n";
    auto w = sink.writeRequest();
    w.setChunk(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(text.data()), text.size()));
    return w.send().then([ctx, text](auto) mutable {
      Digest d = sha256(text + "more rows\n");
      ctx.getResults().setBytes(text.size() + 10);
      ctx.getResults().setSha256(capnp::Data::Reader(d.data(), d.size()));
    });
  }
};

class LyingTally final : public wire::Tally::Server {
 public:
  explicit LyingTally(Lie lie) : lie_(lie) {}
  kj::Promise<void> login(LoginContext ctx) override {
    auto res = ctx.getResults();
    res.setAuditor(kj::heap<LyingAuditor>(lie_));
    res.setFinance(kj::heap<LyingFinance>());
    auto roles = res.initRoles(2);
    roles.set(0, wire::Role::AUDITOR);
    roles.set(1, wire::Role::FINANCE);
    return kj::READY_NOW;
  }

 private:
  Lie lie_;
};

// Serves a LyingTally on a unix socket from a thread of its own until destroyed.
class LyingServer {
 public:
  LyingServer(const std::string& path, Lie lie) {
    auto paf_ready = std::make_shared<std::promise<void>>();
    auto ready = paf_ready->get_future();
    thread_ = std::thread([this, path, lie, paf_ready] {
      auto io = kj::setupAsyncIo();
      capnp::TwoPartyServer server(kj::heap<LyingTally>(lie));
      auto addr = io.provider->getNetwork().parseAddress("unix:" + path).wait(io.waitScope);
      auto listener = addr->listen();
      auto serving = server.listen(*listener);
      auto stop = kj::newPromiseAndCrossThreadFulfiller<void>();
      stop_ = kj::mv(stop.fulfiller);
      paf_ready->set_value();
      stop.promise.exclusiveJoin(kj::mv(serving)).wait(io.waitScope);
    });
    ready.wait();
  }
  ~LyingServer() {
    stop_->fulfill();
    thread_.join();
  }

 private:
  std::thread thread_;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> stop_;
};

TEST_F(RpcStreamTest, AnExportWhoseTrailerDoesNotMatchIsAFailure) {
  for (Lie lie : {Lie::short_count, Lie::wrong_hash}) {
    std::string path = dir_.sub(lie == Lie::short_count ? "short.sock" : "hash.sock");
    LyingServer liar(path, lie);
    auto c = connect("any", "unix:" + path);
    ASSERT_TRUE(c);
    std::string got;
    auto x = c->export_journal(ExportFormat::hledger, [&](std::string_view s) {
      got.append(s);
      return true;
    });
    ASSERT_TRUE(x.failed()) << "a mismatched trailer was accepted";
    EXPECT_EQ(x.failure().kind, Failure::Kind::server_error);
    EXPECT_NE(x.failure().message.find(lie == Lie::short_count ? "incomplete" : "SHA-256"),
              std::string::npos)
        << x.failure().message;
    EXPECT_FALSE(got.empty());  // the sink did get the start: only the trailer tells
  }
}

TEST_F(RpcStreamTest, APayoutFileWhoseTrailerDoesNotMatchIsAFailure) {
  std::string path = dir_.sub("payouts.sock");
  LyingServer liar(path, Lie::short_count);
  auto c = connect("any", "unix:" + path);
  ASSERT_TRUE(c);
  auto x = c->payouts("shop:2026-01-12", PayoutFormat::csv);
  ASSERT_TRUE(x.failed());
  EXPECT_NE(x.failure().message.find("incomplete"), std::string::npos) << x.failure().message;
}

}  // namespace
}  // namespace tally
