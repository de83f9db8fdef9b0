// `tally benchmark` at tiny sizes (100 accounts, 2,000 entries, batches of 500): the output's
// shape, the count of entries posted, and books that verify afterwards (verify clean, trial
// balance zero, the journal's last seq the number asked), in process and over RPC to a real
// `tally serve` child, and over RPC to a running leader with a synchronous standby (--connect).
// Also the workload's integer exponential draw and its ids. No timing is asserted: the figures are
// only checked to be there.
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "cli/benchmark_workload.h"
#include "cli/cli.h"
#include "common/test_util.h"
#include "rpc/serve_node.h"
#include "service/service.h"

namespace tally {
namespace {

using namespace tally::testing;

struct Run {
  int code = -1;
  std::string out, err;
};

Run run(std::vector<std::string> args) {
  args.insert(args.begin(), "tally");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::istringstream in;
  std::ostringstream out, err;
  Run r;
  r.code = run_cli(static_cast<int>(args.size()), argv.data(), in, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

// Every line "name = value", by name.
std::map<std::string, std::string> figures(const std::string& out) {
  std::map<std::string, std::string> m;
  std::istringstream s(out);
  for (std::string l; std::getline(s, l);)
    if (auto eq = l.find(" = "); eq != std::string::npos) m[l.substr(0, eq)] = l.substr(eq + 3);
  return m;
}

void expect_shape(const Run& r, bool rpc) {
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto f = figures(r.out);
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\n4 batches in [0-9]+\\.[0-9]{2} s\n")))
      << r.out;
  EXPECT_TRUE(std::regex_match(f["load accepted"], std::regex("[0-9]+ tx/s"))) << r.out;
  for (const char* k :
       {"1", "10", "20", "30", "40", "50", "60", "70", "80", "90", "95", "99", "100"}) {
    EXPECT_TRUE(
        std::regex_match(f[std::string("batch latency p") + k], std::regex("[0-9]+\\.[0-9]{2} ms")))
        << k << "\n"
        << r.out;
    EXPECT_TRUE(
        std::regex_match(f[std::string("query latency p") + k], std::regex("[0-9]+\\.[0-9]{2} us")))
        << k << "\n"
        << r.out;
  }
  EXPECT_EQ(f["accounts opened"].rfind("100 in ", 0), 0u) << r.out;
  EXPECT_EQ(f["entries posted"], "2000 of 2000");
  EXPECT_EQ(f["queries answered"], "50 of 50");
  EXPECT_EQ(f["verify"], "ok (2000 entries, 4000 postings)");
  EXPECT_TRUE(std::regex_match(f["store size"], std::regex("[0-9]+\\.[0-9]{2} MiB"))) << r.out;
  EXPECT_EQ(f["client rss"].empty(), false) << r.out;
  EXPECT_EQ(f["server rss"].empty(), !rpc) << r.out;
  EXPECT_NE(r.out.find(rpc ? "over RPC to server unix:" : "posting in process"), std::string::npos)
      << r.out;
}

// The store the run left: verify clean, debits equal credits, 2,000 entries in the journal.
void expect_books(const std::string& data) {
  auto v = run({"--data", data, "verify"});
  EXPECT_EQ(v.code, 0) << v.out << v.err;
  auto tb = run({"--data", data, "--json", "trial-balance"});
  ASSERT_EQ(tb.code, 0) << tb.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      tb.out, m, std::regex(R"re("currency":"USD","debits":"([0-9.]+)","credits":"([0-9.]+)")re")))
      << tb.out;
  EXPECT_EQ(m[1].str(), m[2].str());
  // Entry 1,999 (the last; sequential ids are n + 1 in hex) is there, a 2,001st is not.
  EXPECT_EQ(run({"--data", data, "entry", "00000000000007d0"}).code, 0);
  EXPECT_EQ(run({"--data", data, "entry", "00000000000007d1"}).code, 1);
  CurrencyTable currencies;
  ServiceOptions so;
  so.data_dir = data;
  so.config = *load_config("", currencies);
  std::unique_ptr<Service> s;
  ASSERT_TRUE(Service::open(std::move(so), &s).ok());
  EXPECT_EQ(s->snapshot()->last_seq(), 2000u);
}

const std::vector<std::string> kTiny = {"benchmark", "--accounts", "100", "--entries",
                                        "2000",      "--batch",    "500", "--queries",
                                        "50",        "--verify"};

TEST(BenchmarkCli, InProcessPostsWhatWasAskedAndTheBooksVerify) {
  TempDir dir;
  std::vector<std::string> args = {"--data", dir.sub("data")};
  args.insert(args.end(), kTiny.begin(), kTiny.end());
  args.push_back("--in-process");
  auto r = run(args);
  expect_shape(r, false);
  expect_books(dir.sub("data"));
}

TEST(BenchmarkCli, OverRpcToAServerChildPostsWhatWasAskedAndTheBooksVerify) {
  TempDir dir;
  std::vector<std::string> args = {"--data", dir.sub("data")};
  args.insert(args.end(), kTiny.begin(), kTiny.end());
  args.insert(args.end(), {"--tally", tally_binary(), "--id-order", "sequential"});
  auto r = run(args);
  expect_shape(r, true);
  expect_books(dir.sub("data"));
}

TEST(BenchmarkCli, RandomIdsAndAnOfferedRate) {
  auto r = run({"benchmark", "--accounts", "10", "--entries", "300", "--batch", "100", "--queries",
                "5", "--id-order", "random", "--rate", "1000000", "--in-process", "--verify"});
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  auto f = figures(r.out);
  EXPECT_EQ(f["load offered"], "1000000 tx/s");
  EXPECT_EQ(f["entries posted"], "300 of 300");
  EXPECT_EQ(f["verify"], "ok (300 entries, 600 postings)");
}

TEST(BenchmarkCli, UsageErrors) {
  EXPECT_EQ(run({"benchmark", "--batch", "0"}).code, 2);
  EXPECT_EQ(run({"benchmark", "--batch", "10001"}).code, 2);
  EXPECT_EQ(run({"benchmark", "--accounts", "1"}).code, 2);
  EXPECT_EQ(run({"benchmark", "--id-order", "sorted"}).code, 2);
  EXPECT_EQ(run({"benchmark", "--frobnicate", "1"}).code, 2);
  TempDir dir;
  auto first = run({"--data", dir.sub("d"), "benchmark", "--accounts", "2", "--entries", "1",
                    "--queries", "0", "--in-process"});
  ASSERT_EQ(first.code, 0) << first.out << first.err;
  // A store that is not fresh is refused: the benchmark formats its own.
  auto again = run({"--data", dir.sub("d"), "benchmark", "--in-process"});
  EXPECT_EQ(again.code, 2);
  EXPECT_NE(again.err.find("not empty"), std::string::npos) << again.err;
  // --connect starts no server: nothing of the server it would start, and a token is needed.
  EXPECT_EQ(run({"--connect", "unix:/nonexistent", "benchmark"}).code, 2);
  for (std::vector<std::string> extra : {std::vector<std::string>{"--in-process"},
                                         std::vector<std::string>{"--tally", tally_binary()}}) {
    std::vector<std::string> a = {"--connect", "unix:/nonexistent", "--token", "t", "benchmark"};
    a.insert(a.end(), extra.begin(), extra.end());
    auto u = run(a);
    EXPECT_EQ(u.code, 2) << extra[0] << u.err;
  }
  auto with_data =
      run({"--connect", "unix:/nonexistent", "--token", "t", "--data", dir.sub("e"), "benchmark"});
  EXPECT_EQ(with_data.code, 2) << with_data.err;
  EXPECT_NE(with_data.err.find("--data"), std::string::npos) << with_data.err;
}

// --connect: no server of its own; the latency of a running one, here a leader that acknowledges a
// batch only once its standby holds it. The standby ends with every entry; a second run on the
// same store finds the accounts open (counted as opened) and needs new ids (another seed, random
// ids); the same ids again are duplicates, not entries posted (exit 1).
TEST(BenchmarkCli, AgainstARunningLeaderWithASynchronousStandby) {
  TempDir dir;
  const std::string config = dir.sub("config.toml");
  std::ofstream(config) << config_with_replica() << "\"tok-bench\" = [\"poster\", \"auditor\"]\n";
  ServeNode leader, standby;
  for (auto* n : {&leader, &standby}) {
    n->dir = dir.sub(n == &leader ? "leader" : "standby");
    std::filesystem::create_directories(n->dir);
    n->address = "unix:" + n->dir + "/tally.sock";
  }
  struct Kill {
    ServeNode &a, &b;
    ~Kill() {
      a.kill_nine();
      b.kill_nine();
    }
  } kill{leader, standby};
  leader.start(config, {"--sync-standbys", "1"});
  standby.start(config, {"--standby-of", leader.address});
  std::vector<std::string> args = {"--connect", leader.address, "--token", "tok-bench"};
  args.insert(args.end(), kTiny.begin(), kTiny.end());
  auto r = run(args);
  ASSERT_EQ(r.code, 0) << r.out << r.err << leader.log();
  auto f = figures(r.out);
  EXPECT_EQ(f["accounts opened"].rfind("100 in ", 0), 0u) << r.out;
  EXPECT_EQ(f["entries posted"], "2000 of 2000");
  EXPECT_EQ(f["queries answered"], "50 of 50");
  EXPECT_EQ(f["verify"], "ok (2000 entries, 4000 postings)");
  for (const char* k : {"1", "50", "99", "100"})
    EXPECT_TRUE(
        std::regex_match(f[std::string("batch latency p") + k], std::regex("[0-9]+\\.[0-9]{2} ms")))
        << k << "\n"
        << r.out;
  EXPECT_NE(r.out.find("over RPC to server " + leader.address + " (a running server)"),
            std::string::npos)
      << r.out;
  // Not this program's to measure: the server's memory, its writes, its store.
  EXPECT_EQ(f.count("server rss"), 0u) << r.out;
  EXPECT_EQ(f.count("storage writes"), 0u) << r.out;
  EXPECT_EQ(f.count("store size"), 0u) << r.out;
  // Acknowledged means on the standby.
  auto sa = standby.client("tok-auditor");
  ASSERT_TRUE(sa);
  auto sv = sa->verify();
  ASSERT_TRUE(sv.ok());
  EXPECT_TRUE(sv->ok) << sv->problem;
  EXPECT_EQ(sv->entries, 2000u);

  // The same workload again: accounts already open are fine, the entries are duplicates.
  auto same = run(args);
  EXPECT_EQ(same.code, 1) << same.out << same.err;
  EXPECT_EQ(figures(same.out)["entries posted"], "0 of 2000") << same.out;
  // Another seed with random ids: new entries on the same store.
  args.insert(args.end(), {"--seed", "7", "--id-order", "random"});
  auto again = run(args);
  ASSERT_EQ(again.code, 0) << again.out << again.err;
  EXPECT_EQ(figures(again.out)["verify"], "ok (4000 entries, 8000 postings)") << again.out;
}

TEST(BenchmarkWorkload, NegLog2IsExactAtPowersOfTwo) {
  EXPECT_EQ(neg_log2_q32(uint64_t(1) << 63), uint64_t(1) << 32);
  EXPECT_EQ(neg_log2_q32(uint64_t(1) << 62), uint64_t(2) << 32);
  EXPECT_EQ(neg_log2_q32(1), uint64_t(64) << 32);
  // 3 * 2^62 = 0.75 * 2^64: -log2(0.75) = 0.41503749927884376, times 2^32 = 1782572486.02.
  const uint64_t q = neg_log2_q32(uint64_t(3) << 62);
  EXPECT_NEAR(static_cast<int64_t>(q), int64_t(1782572486), 2);
}

TEST(BenchmarkWorkload, ExponentialAmountsAreIntegersWithTheMean) {
  // u = 2^63 is x = 1/2: floor(ln 2 * 10000) = 6931.
  EXPECT_EQ(exponential_minor_units(uint64_t(1) << 63, 10000), 6931u);
  EXPECT_EQ(exponential_minor_units(~uint64_t(0), 10000), 1u);  // never 0
  std::mt19937_64 rng(7);
  uint64_t sum = 0;
  const uint64_t n = 200000;
  for (uint64_t i = 0; i < n; ++i) sum += exponential_minor_units(rng(), 10000);
  // The mean of floor(Exp(10000)) is about 9999.5; 200,000 draws: standard error about 22.
  EXPECT_GT(sum / n, 9850u);
  EXPECT_LT(sum / n, 10150u);
}

TEST(BenchmarkWorkload, IdsAreDistinctAndTheSeedFixesTheWorkload) {
  WorkloadOptions o;
  o.accounts = 5;
  o.id_order = IdOrder::random;
  Workload a(o), b(o);
  std::set<std::string> ids;
  for (uint64_t n = 0; n < 10000; ++n) ids.insert(a.entry_id(n));
  EXPECT_EQ(ids.size(), 10000u);
  for (uint64_t n = 0; n < 100; ++n) {
    auto ea = std::get<Entry>(a.next_entry(n).body), eb = std::get<Entry>(b.next_entry(n).body);
    EXPECT_EQ(ea.id, eb.id);
    ASSERT_EQ(ea.postings.size(), 2u);
    EXPECT_NE(ea.postings[0].account, ea.postings[1].account);
    EXPECT_EQ(ea.postings[0].account, eb.postings[0].account);
    EXPECT_EQ(ea.postings[0].amount, eb.postings[0].amount);
    EXPECT_EQ(ea.postings[0].amount, ea.postings[1].amount);
  }
  o.id_order = IdOrder::sequential;
  EXPECT_EQ(Workload(o).entry_id(0), "0000000000000001");
}

}  // namespace
}  // namespace tally
