// `tally serve` in production (SPEC section 9, docs/operations.md): the Prometheus endpoint of a
// real server scraped and parsed, its JSON Lines log, TLS on the RPC listener, hashed tokens in the
// config, and an online backup taken while a client posts, restored and verified.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <simdjson.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "ops/token_hash.h"
#include "rpc/server.h"
#include "serve_fixture.h"

namespace tally::testing {
namespace {

// --- helpers ------------------------------------------------------------------------------------

// GET `path` from 127.0.0.1:port over HTTP/1.0; the whole response (status line, headers, body).
std::string http_get(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return {};
  }
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  EXPECT_EQ(::send(fd, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  // Read the headers, then Content-Length bytes (the server may keep the connection open).
  std::string out;
  char buf[4096];
  size_t want = std::string::npos;
  while (want == std::string::npos || out.size() < want) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    const size_t end = out.find("\r\n\r\n");
    if (want == std::string::npos && end != std::string::npos) {
      const size_t cl = out.find("Content-Length: ");
      if (cl != std::string::npos && cl < end)
        want = end + 4 + std::stoul(out.substr(cl + 16, out.find("\r\n", cl) - cl - 16));
    }
  }
  ::close(fd);
  return out;
}

// The samples of a Prometheus text exposition: "name{labels}" -> value text. Fails the test on a
// line that is neither a comment nor "series value", or a sample whose family has no # TYPE.
std::map<std::string, std::string> parse_exposition(const std::string& text) {
  std::map<std::string, std::string> samples;
  std::set<std::string> typed;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream t(line.substr(7));
      std::string name, type;
      t >> name >> type;
      EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << line;
      typed.insert(name);
      continue;
    }
    if (line[0] == '#') continue;
    const size_t sp = line.rfind(' ');
    EXPECT_NE(sp, std::string::npos) << line;
    if (sp == std::string::npos) continue;
    std::string series = line.substr(0, sp), value = line.substr(sp + 1);
    std::string name = series.substr(0, series.find('{'));
    std::string family = name;
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (!typed.count(family) && family.size() > strlen(suffix) &&
          family.compare(family.size() - strlen(suffix), strlen(suffix), suffix) == 0)
        family = family.substr(0, family.size() - strlen(suffix));
    EXPECT_TRUE(typed.count(family)) << "no # TYPE for " << line;
    EXPECT_FALSE(value.empty()) << line;
    EXPECT_TRUE(samples.emplace(series, value).second) << "twice: " << series;
  }
  return samples;
}

// A sample as an integer (counts, bytes); -1 when absent or not an integer.
int64_t int_sample(const std::map<std::string, std::string>& s, const std::string& series) {
  auto it = s.find(series);
  if (it == s.end()) return -1;
  char* end = nullptr;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  return *end == '\0' ? v : -1;
}

// Every line of a JSON Lines log, parsed; fails the test on a line that is not a JSON object with
// ts, level and msg.
std::vector<std::map<std::string, std::string>> parse_log(const std::string& text) {
  std::vector<std::map<std::string, std::string>> lines;
  simdjson::dom::parser parser;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    simdjson::dom::object obj;
    if (parser.parse(line).get(obj)) {
      ADD_FAILURE() << "not a JSON object: " << line;
      continue;
    }
    std::map<std::string, std::string> fields;
    for (auto [k, v] : obj) {
      std::string_view s;
      EXPECT_FALSE(v.get(s)) << "a field that is not a string: " << line;
      fields[std::string(k)] = std::string(s);
    }
    EXPECT_TRUE(fields.count("ts") && fields.count("level") && fields.count("msg")) << line;
    lines.push_back(std::move(fields));
  }
  return lines;
}

std::vector<PostItem> opens() {
  return {open_item("ops:bank", AccountKind::asset, {"USD", "EUR"}),
          open_item("ops:wallet", AccountKind::liability, {"USD"})};
}

// --- metrics and logs ---------------------------------------------------------------------------

class OpsServeTest : public ServeProcessTest {
 protected:
  void backup_during_load(const std::vector<std::string>& source);
  // The address the log's {"msg": msg, "address": ...} line names; empty if none yet.
  std::string logged_address(const std::string& msg) {
    for (auto& l : parse_log(serve_log()))
      if (l["msg"] == msg) return l["address"];
    return {};
  }
};

TEST_F(OpsServeTest, MetricsEndpointOfARealServerAndItsJsonLinesLog) {
  serve_args_ = {"--metrics", "127.0.0.1:0", "--log-level", "info"};
  spawn();
  auto poster = Client::connect(options("tok-poster"));
  ASSERT_TRUE(poster.ok());
  auto r = poster.value()->post(opens());
  ASSERT_TRUE(r.ok());
  std::vector<PostItem> items;
  for (int i = 0; i < 5; ++i) items.push_back(entry_item("m-" + std::to_string(i)));
  items.push_back(entry_item("m-0"));  // a duplicate
  r = poster.value()->post(std::move(items));
  ASSERT_TRUE(r.ok());
  // A refused login: counted, logged with the peer, the token never written.
  const std::string secret = "not-a-token-7f3a9c";
  auto bad = Client::connect(options(secret, 1));
  ASSERT_FALSE(bad.ok());

  const std::string addr = logged_address("metrics listening");
  ASSERT_FALSE(addr.empty()) << serve_log();
  const int port = std::stoi(addr.substr(addr.rfind(':') + 1));
  std::map<std::string, std::string> s;
  // The store's gauges are sampled every second, and the connection of spawn()'s readiness
  // check closes on the server's own time: poll until both show.
  auto settled = [&] {
    return int_sample(s, "tally_journal_entries") == 5 &&
           int_sample(s, "tally_connections_logged_in{role=\"poster\"}") == 1;
  };
  for (int i = 0; i < 3000 && !settled(); ++i) {
    std::string resp = http_get(port, "/metrics");
    ASSERT_NE(resp.find("200 OK"), std::string::npos) << resp;
    ASSERT_NE(resp.find("text/plain; version=0.0.4"), std::string::npos) << resp;
    s = parse_exposition(resp.substr(resp.find("\r\n\r\n") + 4));
    if (!settled()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(int_sample(s, "tally_journal_entries"), 5);
  EXPECT_EQ(int_sample(s, "tally_posted_items_total{status=\"ok\"}"), 7);  // 2 opens, 5 entries
  EXPECT_EQ(int_sample(s, "tally_posted_items_total{status=\"duplicate\"}"), 1);
  EXPECT_EQ(int_sample(s, "tally_posted_items_total{status=\"error\"}"), 0);
  EXPECT_EQ(int_sample(s, "tally_post_seconds_count"), 2);
  EXPECT_EQ(int_sample(s, "tally_logins_refused_total"), 1);
  EXPECT_GE(int_sample(s, "tally_connections_open"), 1);
  EXPECT_EQ(int_sample(s, "tally_connections_logged_in{role=\"poster\"}"), 1);
  EXPECT_EQ(int_sample(s, "tally_connections_logged_in{role=\"finance\"}"), 0);
  EXPECT_GE(int_sample(s, "tally_commit_seconds_count"), 2);
  EXPECT_EQ(int_sample(s, "tally_fsync_seconds_count"),
            int_sample(s, "tally_commit_seconds_count"));
  EXPECT_EQ(int_sample(s, "tally_commit_group_items_count"),
            int_sample(s, "tally_commit_seconds_count"));
  EXPECT_EQ(int_sample(s, "tally_commit_seconds_bucket{le=\"+Inf\"}"),
            int_sample(s, "tally_commit_seconds_count"));
  EXPECT_GT(int_sample(s, "tally_lmdb_map_bytes"), 0);
  EXPECT_GT(int_sample(s, "tally_lmdb_used_bytes"), 0);
  EXPECT_GE(int_sample(s, "tally_lmdb_readers"), 0);
  EXPECT_EQ(int_sample(s, "tally_queue_items"), 0);
  EXPECT_GT(int_sample(s, "tally_process_rss_bytes{kind=\"anon\"}"), 0);
  EXPECT_EQ(int_sample(s, "tally_settlement_runs_total{result=\"ok\"}"), 0);
  EXPECT_GE(int_sample(s, "tally_settlement_run_payees_done"), 0);

  // A connection gone is no longer counted.
  poster.value().reset();
  for (int i = 0; i < 3000; ++i) {
    std::string resp = http_get(port, "/metrics");
    s = parse_exposition(resp.substr(resp.find("\r\n\r\n") + 4));
    if (int_sample(s, "tally_connections_logged_in{role=\"poster\"}") == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(int_sample(s, "tally_connections_logged_in{role=\"poster\"}"), 0);

  EXPECT_EQ(terminate(), 0);
  const std::string log = serve_log();
  EXPECT_EQ(log.find(secret), std::string::npos) << "the token was logged:\n" << log;
  bool refused = false, listening = false, stopped = false;
  for (auto& l : parse_log(log)) {
    if (l["msg"] == "login refused") {
      refused = true;
      EXPECT_EQ(l["level"], "warn");
      EXPECT_EQ(l["peer"], "unix");
    }
    listening |= l["msg"] == "listening" && l["address"] == address_;
    stopped |= l["msg"] == "stopped";
  }
  EXPECT_TRUE(refused) << log;
  EXPECT_TRUE(listening) << log;
  EXPECT_TRUE(stopped) << log;
}

TEST_F(OpsServeTest, LogLevelWarnDropsInfoLines) {
  serve_args_ = {"--log-level", "warn"};
  spawn();
  auto bad = Client::connect(options("nope", 1));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(terminate(), 0);
  auto lines = parse_log(serve_log());
  ASSERT_FALSE(lines.empty());
  for (auto& l : lines) EXPECT_NE(l["level"], "info") << l["msg"];
}

// --- backup and restore -------------------------------------------------------------------------

// A backup taken while a client posts batch after batch restores (`tally restore`, which runs
// verify) to a store whose journal head is the one the backup recorded, and which holds every
// batch acknowledged before the backup began. `source`: how `tally backup` reaches the store
// (--data beside the server, or --connect over RPC).
void OpsServeTest::backup_during_load(const std::vector<std::string>& source) {
  spawn();
  auto poster = Client::connect(options("tok-poster"));
  ASSERT_TRUE(poster.ok());
  ASSERT_TRUE(poster.value()->post(opens()).ok());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> acked{0};
  std::string failure;  // read once the thread is joined
  std::atomic<bool> failed{false};
  std::thread load([&] {
    for (int b = 0; !stop.load(); ++b) {
      std::vector<PostItem> items;
      for (int i = 0; i < 50; ++i)
        items.push_back(entry_item("b" + std::to_string(b) + "-" + std::to_string(i)));
      auto r = poster.value()->post(std::move(items));
      if (!r.ok()) {
        failure = "post failed";
        failed = true;
        return;
      }
      for (auto& x : r->results)
        if (!x.ok()) {
          failure = x.message;
          failed = true;
        }
      acked += r->results.size();
    }
  });
  while (acked.load() < 500 && !failed.load())
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const uint64_t acked_before = acked.load();
  std::string out;
  const std::string dest = dir_.sub("backup");
  std::vector<std::string> args = source;
  args.insert(args.end(), {"backup", dest, "--json"});
  int code = run_tally(args, &out, dir_.sub("out.txt"));
  const uint64_t acked_after_start = acked.load();
  // The server kept posting: more batches after the backup.
  while (acked.load() < acked_after_start + 200 && !failed.load())
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  stop = true;
  load.join();
  ASSERT_EQ(failure, "");
  ASSERT_EQ(code, 0) << out;

  simdjson::dom::parser parser;
  simdjson::dom::element rec;
  ASSERT_FALSE(parser.parse(out).get(rec)) << out;
  uint64_t seq = 0;
  std::string_view hash;
  ASSERT_FALSE(rec["seq"].get(seq));
  ASSERT_FALSE(rec["hash"].get(hash));
  const std::string recorded_hash(hash);
  EXPECT_GE(seq, acked_before);
  EXPECT_LE(seq, acked.load());
  EXPECT_TRUE(std::filesystem::exists(dest + "/backup.json"));

  code = run_tally({"--data", dir_.sub("restored"), "--config", dir_.sub("config.toml"), "restore",
                    dest, "--json"},
                   &out, dir_.sub("out.txt"));
  ASSERT_EQ(code, 0) << out;
  {
    ServiceOptions so;
    so.data_dir = dir_.sub("restored");
    so.config = test_config();
    std::unique_ptr<Service> svc;
    ASSERT_TRUE(Service::open(std::move(so), &svc).ok());
    auto snap = svc->snapshot();
    EXPECT_EQ(snap->last_seq(), seq);
    auto last = snap->entry_at(seq);
    ASSERT_TRUE(last.has_value());
    EXPECT_EQ(to_hex(last->hash), recorded_hash);
    auto v = snap->verify();
    EXPECT_TRUE(v.ok) << v.problem;
    EXPECT_EQ(v.entries, seq);
  }

  // Restoring over a store is refused, and leaves it alone.
  code = run_tally(
      {"--data", dir_.sub("restored"), "--config", dir_.sub("config.toml"), "restore", dest}, &out,
      dir_.sub("out.txt"));
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("already holds a store"), std::string::npos) << out;
  EXPECT_TRUE(std::filesystem::exists(dir_.sub("restored") + "/data.mdb"));

  // A backup whose record does not match its copy is refused, and nothing is restored.
  {
    std::ifstream in(dest + "/backup.json");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    std::string other = text;
    other.replace(other.find(recorded_hash), 64, std::string(64, '0'));
    std::ofstream(dest + "/backup.json", std::ios::trunc) << other;
  }
  code = run_tally(
      {"--data", dir_.sub("restored2"), "--config", dir_.sub("config.toml"), "restore", dest}, &out,
      dir_.sub("out.txt"));
  EXPECT_EQ(code, 1) << out;
  EXPECT_FALSE(std::filesystem::exists(dir_.sub("restored2") + "/data.mdb"));
  EXPECT_EQ(terminate(), 0);
}

TEST_F(OpsServeTest, BackupDuringLoadRestoresToAVerifiedStoreWithTheRecordedHead) {
  backup_during_load({"--data", dir_.sub("data")});
}

// The same over RPC (Finance.backup): the server copies its own live store to the client.
TEST_F(OpsServeTest, BackupOverRpcDuringLoadRestoresToAVerifiedStoreWithTheRecordedHead) {
  backup_during_load({"--connect", address_, "--token", "tok-finance"});
}

// Backup over RPC is the finance role's: an auditor token is refused and nothing is written.
TEST_F(OpsServeTest, BackupOverRpcNeedsTheFinanceRole) {
  spawn();
  std::string out;
  const std::string dest = dir_.sub("backup");
  int code = run_tally({"--connect", address_, "--token", "tok-auditor", "backup", dest}, &out,
                       dir_.sub("out.txt"));
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("not"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dest + "/data.mdb"));
  EXPECT_FALSE(std::filesystem::exists(dest + "/backup.json"));
  EXPECT_EQ(terminate(), 0);
}

TEST_F(OpsServeTest, TokenHashPrintsTheSha256Form) {
  std::string out;
  ASSERT_EQ(run_tally({"token", "hash", "k3y-for-audit"}, &out, dir_.sub("out.txt")), 0);
  EXPECT_EQ(out, hash_token("k3y-for-audit") + "\n");
  EXPECT_EQ(out, "sha256:4252b83e1b8915279015d7d62934a045c28d1e1b8b5fd3445a8450c3dc486e1c\n");
}

// --- TLS and hashed tokens, in process ----------------------------------------------------------

class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v openssl >/dev/null 2>&1") != 0)
      GTEST_SKIP() << "the openssl tool is needed to make a test certificate";
    for (const char* name : {"server", "other"}) {
      std::string cmd =
          "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
          "-days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout " +
          dir_.sub(std::string(name) + ".key") + " -out " + dir_.sub(std::string(name) + ".pem") +
          " >/dev/null 2>&1";
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
  }
  void TearDown() override {
    server_.reset();
    service_.reset();
  }
  void start(const std::string& config_text) {
    ServiceOptions so;
    so.data_dir = dir_.sub("data");
    CurrencyTable t;
    auto c = load_config(config_text, t);
    ASSERT_TRUE(c.ok()) << c.error().message;
    so.config = *c;
    ASSERT_TRUE(Service::open(std::move(so), &service_).ok());
    ServerOptions o;
    o.listen = "tls:127.0.0.1:0";
    o.tls = {dir_.sub("server.pem"), dir_.sub("server.key")};
    auto s = ServerThread::start(*service_, o);
    ASSERT_TRUE(s.ok()) << s.error().message;
    server_ = std::move(*s);
  }
  Reply<std::unique_ptr<Client>> connect(const std::string& token, const std::string& ca,
                                         std::string address = {}) {
    ClientOptions o;
    o.address = address.empty() ? server_->address() : address;
    o.token = token;
    o.tls_ca_file = ca;
    o.tls_server_name = "localhost";
    o.max_attempts = 1;
    return Client::connect(o);
  }
  TempDir dir_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<ServerThread> server_;
};

TEST_F(TlsServerTest, RoundTripOverTlsAndRefusalsWithoutTrust) {
  start(kConfig);
  ASSERT_EQ(server_->address().rfind("tls:127.0.0.1:", 0), 0u) << server_->address();
  auto poster = connect("tok-poster", dir_.sub("server.pem"));
  ASSERT_TRUE(poster.ok()) << (poster.failed() ? poster.failure().message : "rejected");
  auto r = poster.value()->post(opens());
  ASSERT_TRUE(r.ok());
  r = poster.value()->post({entry_item("t-1", "12.34")});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->results[0].ok()) << r->results[0].message;
  auto auditor = connect("tok-auditor", dir_.sub("server.pem"));
  ASSERT_TRUE(auditor.ok());
  EXPECT_EQ(rpc_balance(*auditor.value(), "ops:wallet", "USD"), amt("12.34"));

  // Another CA, or the system store, does not trust the server: no connection, no login.
  auto other = connect("tok-poster", dir_.sub("other.pem"));
  ASSERT_TRUE(other.failed());
  EXPECT_EQ(other.failure().kind, Failure::Kind::cannot_connect) << other.failure().message;
  auto system = connect("tok-poster", "");
  ASSERT_TRUE(system.failed());
  EXPECT_EQ(system.failure().kind, Failure::Kind::cannot_connect);
  // A plain client gets nothing from a TLS listener.
  const std::string plain = server_->address().substr(4);
  auto clear = connect("tok-poster", "", plain);
  EXPECT_FALSE(clear.ok());
  // The server goes on serving.
  EXPECT_EQ(rpc_balance(*auditor.value(), "ops:wallet", "USD"), amt("12.34"));
}

TEST_F(TlsServerTest, MissingCertificateIsAnErrorAtListen) {
  ServiceOptions so;
  so.data_dir = dir_.sub("data");
  ASSERT_TRUE(Service::open(std::move(so), &service_).ok());
  ServerOptions o;
  o.listen = "tls:127.0.0.1:0";
  o.tls = {dir_.sub("missing.pem"), dir_.sub("server.key")};
  auto s = ServerThread::start(*service_, o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("missing.pem"), std::string::npos) << s.error().message;
}

// The config holds only the SHA-256 of the auditor's token; the token logs in, its hash does not.
TEST_F(TlsServerTest, HashedTokenLogsInAndItsHashDoesNot) {
  const std::string secret = "s3cret-auditor-token-0123456789";
  std::string cfg = kConfig;
  cfg = cfg.substr(0, cfg.find("[tokens]")) + "[tokens]\n\"" + hash_token(secret) +
        "\" = [\"auditor\"]\n\"tok-poster\" = [\"poster\"]\n";
  start(cfg);
  auto a = connect(secret, dir_.sub("server.pem"));
  ASSERT_TRUE(a.ok()) << (a.failed() ? a.failure().message : "rejected");
  EXPECT_EQ(a.value()->roles(), RoleSet{Role::auditor});
  auto h = connect(hash_token(secret), dir_.sub("server.pem"));
  ASSERT_TRUE(h.failed());
  EXPECT_EQ(h.failure().kind, Failure::Kind::not_allowed);
  auto p = connect("tok-poster", dir_.sub("server.pem"));  // plain tokens still work beside
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p.value()->roles(), RoleSet{Role::poster});
}

TEST(HashedTokenConfig, AMalformedHashIsRefusedWithoutQuotingIt) {
  std::string cfg = kConfig;
  const std::string bad = "sha256:0123abcd";
  cfg = cfg.substr(0, cfg.find("[tokens]")) + "[tokens]\n\"" + bad + "\" = [\"auditor\"]\n";
  CurrencyTable t;
  auto c = load_config(cfg, t);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("tokens"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("64 lowercase hex"), std::string::npos) << c.error().message;
  EXPECT_EQ(c.error().message.find("0123abcd"), std::string::npos) << c.error().message;
}

}  // namespace
}  // namespace tally::testing
