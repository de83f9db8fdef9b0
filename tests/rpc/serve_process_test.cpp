// The `tally serve` binary as a child process (ServeProcessTest, tests/rpc/serve_fixture.h):
// SIGTERM, kill -9, totals that do not fit, a second process on the data directory, and
// --connect giving the same output as --data.
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
