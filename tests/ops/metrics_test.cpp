// The metrics registry, its exact Prometheus text, a reader of that text written independently
// here, the RSS source and the HTTP endpoint.
// GCC 12: false "maybe-uninitialized" inside kj::_::ExceptionOr<OpsResult<T>> (see ops/*.cpp).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <gtest/gtest.h>

#include <kj/compat/http.h>
#include <climits>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "ops/metrics.h"
#include "ops/metrics_http.h"
#include "ops/process_memory.h"
#include "ops/server_metrics.h"

namespace tally {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kUs = 1'000;

// --- an independent reader of the text exposition format 0.0.4 ----------------------------------

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  std::string value;
};

struct Exposition {
  std::map<std::string, std::string> help;
  std::map<std::string, std::string> type;
  std::vector<Sample> samples;
  std::string error;  // the first line it could not read

  const Sample* find(const std::string& name,
                     const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& s : samples)
      if (s.name == name && s.labels == labels) return &s;
    return nullptr;
  }
};

bool name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

Exposition parse_exposition(const std::string& text) {
  Exposition out;
  size_t pos = 0;
  while (pos < text.size() && out.error.empty()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) {
      out.error = "last line without a newline";
      break;
    }
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      size_t sp = line.find(' ', 7);
      if (sp == std::string::npos) {
        out.error = line;
        break;
      }
      std::string name = line.substr(7, sp - 7);
      std::string rest = line.substr(sp + 1);
      if (line[2] == 'H') {
        std::string h;
        for (size_t i = 0; i < rest.size(); ++i) {
          if (rest[i] == '\\' && i + 1 < rest.size()) {
            char n = rest[++i];
            h += n == 'n' ? '\n' : n;
          } else {
            h += rest[i];
          }
        }
        out.help[name] = h;
      } else {
        out.type[name] = rest;
      }
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    size_t i = 0;
    while (i < line.size() && name_char(line[i], i == 0)) s.name += line[i++];
    if (s.name.empty()) {
      out.error = line;
      break;
    }
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::string label;
        while (i < line.size() && line[i] != '=') label += line[i++];
        if (i + 1 >= line.size() || line[i + 1] != '"') {
          out.error = line;
          break;
        }
        i += 2;
        std::string value;
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            char n = line[i + 1];
            value += n == 'n' ? '\n' : n;
            i += 2;
          } else {
            value += line[i++];
          }
        }
        ++i;  // closing quote
        s.labels[label] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') {
      out.error = line;
      break;
    }
    s.value = line.substr(i + 1);
    if (s.value.empty() || s.value.find(' ') != std::string::npos) {
      out.error = line;
      break;
    }
    out.samples.push_back(std::move(s));
  }
  return out;
}

// Decimal seconds text to integer nanoseconds, exactly ("2.0065" -> 2006500000).
std::optional<int64_t> seconds_to_ns(const std::string& text) {
  std::string t = text;
  bool neg = !t.empty() && t[0] == '-';
  if (neg) t = t.substr(1);
  size_t dot = t.find('.');
  std::string whole = t.substr(0, dot);
  std::string frac = dot == std::string::npos ? "" : t.substr(dot + 1);
  if (whole.empty() || frac.size() > 9) return std::nullopt;
  frac.resize(9, '0');
  uint64_t v = 0;  // the magnitude: INT64_MIN's does not fit int64_t
  for (char c : whole + frac) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return neg ? static_cast<int64_t>(~v + 1) : static_cast<int64_t>(v);
}

// --- values -------------------------------------------------------------------------------------

TEST(Metrics, SecondsAreExactDecimalsOfNanoseconds) {
  EXPECT_EQ(format_metric_value(0, MetricUnit::seconds), "0");
  EXPECT_EQ(format_metric_value(1, MetricUnit::seconds), "0.000000001");
  EXPECT_EQ(format_metric_value(1500 * kUs, MetricUnit::seconds), "0.0015");
  EXPECT_EQ(format_metric_value(1'000'000'000, MetricUnit::seconds), "1");
  EXPECT_EQ(format_metric_value(2'500'000'000, MetricUnit::seconds), "2.5");
  EXPECT_EQ(format_metric_value(-500 * kMs, MetricUnit::seconds), "-0.5");
  EXPECT_EQ(format_metric_value(INT64_MAX, MetricUnit::seconds), "9223372036.854775807");
  EXPECT_EQ(format_metric_value(INT64_MIN, MetricUnit::seconds), "-9223372036.854775808");
  EXPECT_EQ(format_metric_value(1024, MetricUnit::bytes), "1024");
  EXPECT_EQ(format_metric_value(-3, MetricUnit::none), "-3");
  for (int64_t v : {int64_t(0), int64_t(1), int64_t(999'999'999), int64_t(123'456'789'012),
                    INT64_MAX, -int64_t(42), INT64_MIN})
    EXPECT_EQ(seconds_to_ns(format_metric_value(v, MetricUnit::seconds)), v) << v;
}

TEST(Metrics, RenderMatchesTheExpectedTextExactly) {
  MetricsRegistry r;
  constexpr std::string_view kItemsHelp = "Items posted, by status.";
  r.counter("tally_posted_items_total", kItemsHelp, {{"status", "ok"}}).inc(7);
  r.counter("tally_posted_items_total", kItemsHelp, {{"status", "error"}}).inc();
  r.gauge("tally_queue_items", "Items queued.\nSecond line with a \\ backslash.").set(42);
  r.gauge("tally_replication_lag_seconds", "Lag.", {}, MetricUnit::seconds).set(1500 * kMs);
  r.gauge("tally_odd_labels", "Escapes.", {{"b", "a\"b\\c\nd"}, {"a", "x"}}).set(-1);
  auto& h = r.histogram("tally_commit_seconds", "Commit groups.", MetricUnit::seconds,
                        {1 * kMs, 10 * kMs, 1000 * kMs});
  h.observe(500 * kUs);
  h.observe(1 * kMs);  // exactly on a bound: counted in that bucket ("le")
  h.observe(std::chrono::milliseconds(5));
  h.observe(2000 * kMs);
  auto& hb = r.histogram("tally_reply_bytes", "Reply sizes.", MetricUnit::bytes, {1024, 65536},
                         {{"call", "post"}});
  hb.observe(100);
  hb.observe(70000);

  const std::string expected =
      "# HELP tally_commit_seconds Commit groups.\n"
      "# TYPE tally_commit_seconds histogram\n"
      "tally_commit_seconds_bucket{le=\"0.001\"} 2\n"
      "tally_commit_seconds_bucket{le=\"0.01\"} 3\n"
      "tally_commit_seconds_bucket{le=\"1\"} 3\n"
      "tally_commit_seconds_bucket{le=\"+Inf\"} 4\n"
      "tally_commit_seconds_sum 2.0065\n"
      "tally_commit_seconds_count 4\n"
      "# HELP tally_odd_labels Escapes.\n"
      "# TYPE tally_odd_labels gauge\n"
      "tally_odd_labels{a=\"x\",b=\"a\\\"b\\\\c\\nd\"} -1\n"
      "# HELP tally_posted_items_total Items posted, by status.\n"
      "# TYPE tally_posted_items_total counter\n"
      "tally_posted_items_total{status=\"error\"} 1\n"
      "tally_posted_items_total{status=\"ok\"} 7\n"
      "# HELP tally_queue_items Items queued.\\nSecond line with a \\\\ backslash.\n"
      "# TYPE tally_queue_items gauge\n"
      "tally_queue_items 42\n"
      "# HELP tally_replication_lag_seconds Lag.\n"
      "# TYPE tally_replication_lag_seconds gauge\n"
      "tally_replication_lag_seconds 1.5\n"
      "# HELP tally_reply_bytes Reply sizes.\n"
      "# TYPE tally_reply_bytes histogram\n"
      "tally_reply_bytes_bucket{call=\"post\",le=\"1024\"} 1\n"
      "tally_reply_bytes_bucket{call=\"post\",le=\"65536\"} 1\n"
      "tally_reply_bytes_bucket{call=\"post\",le=\"+Inf\"} 2\n"
      "tally_reply_bytes_sum{call=\"post\"} 70100\n"
      "tally_reply_bytes_count{call=\"post\"} 2\n";
  EXPECT_EQ(r.render(), expected);
}

TEST(Metrics, AnIndependentReaderGetsBackEverySample) {
  MetricsRegistry r;
  ServerMetrics m(r);
  m.posted_ok.inc(3);
  m.posted_duplicate.inc(2);
  m.queue_items.set(17);
  m.replication_lag_seconds.set(250 * kMs);
  m.lmdb_map_bytes.set(int64_t(4) << 30);
  int64_t commit_sum = 0;
  for (int64_t ns : {50 * kUs, 3 * kMs, 3 * kMs, 70 * kMs, 20'000 * kMs}) {
    m.commit_seconds.observe(ns);
    commit_sum += ns;
  }
  m.commit_group_items.observe(1);
  m.commit_group_items.observe(5000);
  m.commit_group_items.observe(50000);

  std::string text = r.render();
  Exposition e = parse_exposition(text);
  ASSERT_EQ(e.error, "") << text;

  // Every family has HELP and TYPE, and every sample belongs to a declared family.
  for (const auto& [name, type] : e.type) EXPECT_TRUE(e.help.count(name)) << name;
  for (const auto& s : e.samples) {
    std::string family = s.name;
    for (std::string suffix : {"_bucket", "_sum", "_count"})
      if (!e.type.count(family) && family.size() > suffix.size() &&
          family.compare(family.size() - suffix.size(), suffix.size(), suffix) == 0)
        family = family.substr(0, family.size() - suffix.size());
    EXPECT_TRUE(e.type.count(family)) << s.name;
  }
  EXPECT_EQ(e.type["tally_posted_items_total"], "counter");
  EXPECT_EQ(e.type["tally_commit_seconds"], "histogram");
  EXPECT_EQ(e.type["tally_process_rss_bytes"], "gauge");

  ASSERT_NE(e.find("tally_posted_items_total", {{"status", "ok"}}), nullptr);
  EXPECT_EQ(e.find("tally_posted_items_total", {{"status", "ok"}})->value, "3");
  EXPECT_EQ(e.find("tally_posted_items_total", {{"status", "duplicate"}})->value, "2");
  EXPECT_EQ(e.find("tally_posted_items_total", {{"status", "error"}})->value, "0");
  EXPECT_EQ(e.find("tally_queue_items")->value, "17");
  EXPECT_EQ(seconds_to_ns(e.find("tally_replication_lag_seconds")->value), 250 * kMs);
  EXPECT_EQ(e.find("tally_lmdb_map_bytes")->value, "4294967296");
  ASSERT_NE(e.find("tally_process_rss_bytes", {{"kind", "anon"}}), nullptr);
  EXPECT_NE(e.find("tally_process_rss_bytes", {{"kind", "anon"}})->value, "0");

  // The commit histogram: cumulative buckets that never decrease, +Inf equal to _count, and the
  // sum exactly what was observed.
  uint64_t previous = 0;
  size_t buckets = 0;
  for (int64_t bound : latency_buckets_ns()) {
    auto* b = e.find("tally_commit_seconds_bucket",
                     {{"le", format_metric_value(bound, MetricUnit::seconds)}});
    ASSERT_NE(b, nullptr) << bound;
    uint64_t n = std::stoull(b->value);
    EXPECT_GE(n, previous);
    previous = n;
    ++buckets;
  }
  EXPECT_EQ(buckets, latency_buckets_ns().size());
  EXPECT_EQ(e.find("tally_commit_seconds_bucket", {{"le", "0.0001"}})->value, "1");
  EXPECT_EQ(e.find("tally_commit_seconds_bucket", {{"le", "0.005"}})->value, "3");
  EXPECT_EQ(e.find("tally_commit_seconds_bucket", {{"le", "10"}})->value, "4");
  EXPECT_EQ(e.find("tally_commit_seconds_bucket", {{"le", "+Inf"}})->value, "5");
  EXPECT_EQ(e.find("tally_commit_seconds_count")->value, "5");
  EXPECT_EQ(seconds_to_ns(e.find("tally_commit_seconds_sum")->value), commit_sum);
  EXPECT_EQ(e.find("tally_commit_group_items_bucket", {{"le", "1"}})->value, "1");
  EXPECT_EQ(e.find("tally_commit_group_items_bucket", {{"le", "10000"}})->value, "2");
  EXPECT_EQ(e.find("tally_commit_group_items_bucket", {{"le", "+Inf"}})->value, "3");
  EXPECT_EQ(e.find("tally_commit_group_items_sum")->value, "55001");
}

TEST(Metrics, RegisteringAgainReturnsTheSameMetric) {
  MetricsRegistry r;
  Counter& a = r.counter("x_total", "X.", {{"k", "v"}});
  Counter& b = r.counter("x_total", "X.", {{"k", "v"}});
  Counter& c = r.counter("x_total", "X.", {{"k", "w"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
  // Label order does not make another series.
  Gauge& g1 = r.gauge("y", "Y.", {{"a", "1"}, {"b", "2"}});
  Gauge& g2 = r.gauge("y", "Y.", {{"b", "2"}, {"a", "1"}});
  EXPECT_EQ(&g1, &g2);
}

TEST(Metrics, UpdatesFromManyThreadsAreAllCounted) {
  MetricsRegistry r;
  Counter& c = r.counter("n_total", "N.");
  Histogram& h = r.histogram("d_seconds", "D.", MetricUnit::seconds, {1 * kMs});
  constexpr int kThreads = 4;
  constexpr int kEach = 50'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        c.inc();
        h.observe(t % 2 == 0 ? 1 : 2 * kMs);
      }
    });
  std::string during = r.render();  // rendering meanwhile is fine
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), uint64_t(kThreads) * kEach);
  auto counts = h.bucket_counts();
  EXPECT_EQ(counts[0], uint64_t(kThreads / 2) * kEach);
  EXPECT_EQ(counts[1], uint64_t(kThreads / 2) * kEach);
  EXPECT_EQ(h.sum(), int64_t(kThreads / 2) * kEach * (1 + 2 * kMs));
  EXPECT_EQ(parse_exposition(during).error, "");
}

TEST(Metrics, MisnamedMetricsAreOurBugs) {
  MetricsRegistry r;
  EXPECT_DEATH(r.counter("tally_posted_items", "no _total"), "_total");
  EXPECT_DEATH(r.gauge("tally_lag", "seconds without the unit", {}, MetricUnit::seconds),
               "_seconds");
  EXPECT_DEATH(r.gauge("tally-lag", "bad character"), "metric name");
  EXPECT_DEATH(r.histogram("h_seconds", "H.", MetricUnit::seconds, {2, 1}), "increasing");
  EXPECT_DEATH(r.histogram("h_seconds", "H.", MetricUnit::seconds, {1}, {{"le", "x"}}), "le");
  r.gauge("g", "G.");
  EXPECT_DEATH(r.histogram("g", "G.", MetricUnit::none, {1}), "different definitions");
  EXPECT_DEATH(r.gauge("g", "Other help."), "different definitions");
}

// --- RSS ----------------------------------------------------------------------------------------

TEST(ProcessMemory, ReadsRssAnonAndRssFile) {
  const std::string status =
      "Name:\ttally\nVmRSS:\t  300 kB\nRssAnon:\t     1234 kB\nRssFile:\t   56 kB\n"
      "RssShmem:\t       0 kB\n";
  auto m = parse_proc_status(status);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->rss_anon_bytes, 1234 * 1024);
  EXPECT_EQ(m->rss_file_bytes, 56 * 1024);
  EXPECT_FALSE(parse_proc_status("RssAnon:\t1 kB\n").has_value());
  EXPECT_FALSE(parse_proc_status("RssAnon:\tx kB\nRssFile:\t1 kB\n").has_value());
  EXPECT_FALSE(parse_proc_status("RssAnon:\t1 MB\nRssFile:\t1 kB\n").has_value());
  EXPECT_FALSE(parse_proc_status("RssAnonX:\t1 kB\nRssFile:\t1 kB\n").has_value());

  auto self = read_process_memory();
  ASSERT_TRUE(self.has_value());
  EXPECT_GT(self->rss_anon_bytes, 0);
}

// --- the HTTP endpoint --------------------------------------------------------------------------

struct Got {
  uint status = 0;
  std::string content_type;
  std::string body;
};

Got http(kj::AsyncIoContext& io, uint port, kj::HttpMethod method, const char* path) {
  kj::HttpHeaderTable table;
  auto addr = io.provider->getNetwork().parseAddress("127.0.0.1", port).wait(io.waitScope);
  auto client = kj::newHttpClient(io.provider->getTimer(), table, *addr);
  kj::HttpHeaders headers(table);
  headers.set(kj::HttpHeaderId::HOST, "127.0.0.1");
  auto req = client->request(method, path, headers, uint64_t(0));
  auto resp = req.response.wait(io.waitScope);
  Got g;
  g.status = resp.statusCode;
  KJ_IF_MAYBE (ct, resp.headers->get(kj::HttpHeaderId::CONTENT_TYPE)) {
    g.content_type = ct->cStr();
  }
  g.body = resp.body->readAllText().wait(io.waitScope).cStr();
  return g;
}

TEST(MetricsServer, ServesTheRegistryAtSlashMetrics) {
  auto io = kj::setupAsyncIo();
  MetricsRegistry r;
  ServerMetrics m(r);
  m.posted_ok.inc(5);
  auto server =
      MetricsServer::listen(io.provider->getTimer(), io.provider->getNetwork(), "127.0.0.1:0", r)
          .wait(io.waitScope);
  ASSERT_TRUE(server.ok()) << server.error().to_string();
  uint port = (*server)->port();
  ASSERT_NE(port, 0u);

  Got g = http(io, port, kj::HttpMethod::GET, "/metrics");
  EXPECT_EQ(g.status, 200u);
  EXPECT_EQ(g.content_type, "text/plain; version=0.0.4; charset=utf-8");
  Exposition e = parse_exposition(g.body);
  ASSERT_EQ(e.error, "");
  ASSERT_NE(e.find("tally_posted_items_total", {{"status", "ok"}}), nullptr);
  EXPECT_EQ(e.find("tally_posted_items_total", {{"status", "ok"}})->value, "5");
  // Everything but the RSS gauges, which move by themselves, is what render() says.
  auto without_rss = [](const std::string& t) {
    std::string out;
    size_t pos = 0;
    while (pos < t.size()) {
      size_t nl = t.find('\n', pos);
      std::string line = t.substr(pos, nl - pos + 1);
      pos = nl + 1;
      if (line.rfind("tally_process_rss_bytes{", 0) != 0) out += line;
    }
    return out;
  };
  EXPECT_EQ(without_rss(g.body), without_rss(r.render()));

  EXPECT_EQ(http(io, port, kj::HttpMethod::GET, "/metrics?x=1").status, 200u);
  EXPECT_EQ(http(io, port, kj::HttpMethod::GET, "/").status, 404u);
  EXPECT_EQ(http(io, port, kj::HttpMethod::GET, "/metricsx").status, 404u);
  EXPECT_EQ(http(io, port, kj::HttpMethod::POST, "/metrics").status, 405u);
  EXPECT_EQ((*server)->requests_served(), 2u);
}

TEST(MetricsServer, APortInUseIsAnError) {
  auto io = kj::setupAsyncIo();
  MetricsRegistry r;
  auto first =
      MetricsServer::listen(io.provider->getTimer(), io.provider->getNetwork(), "127.0.0.1:0", r)
          .wait(io.waitScope);
  ASSERT_TRUE(first.ok());
  auto second = MetricsServer::listen(io.provider->getTimer(), io.provider->getNetwork(),
                                      "127.0.0.1:" + std::to_string((*first)->port()), r)
                    .wait(io.waitScope);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind, OpsError::Kind::io) << second.error().to_string();
  auto bad = MetricsServer::listen(io.provider->getTimer(), io.provider->getNetwork(),
                                   "not an address::", r)
                 .wait(io.waitScope);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, OpsError::Kind::io);
}

}  // namespace
}  // namespace tally
