// A small metrics registry (counters, gauges, histograms with fixed buckets) and its rendering in
// the Prometheus text exposition format 0.0.4.
//
// Values are integers in a base unit, never floating point: nanoseconds for a metric in seconds,
// bytes for one in bytes, plain counts otherwise. Rendering turns nanoseconds into an exact
// decimal number of seconds (1500000 ns is "0.0015"), so what is exposed is exactly what was
// recorded, with no float formatting in between.
//
// Names follow Prometheus conventions with the unit last, checked at registration (names are
// our own constants, so a bad one is a bug: TALLY_ASSERT): [a-zA-Z_:][a-zA-Z0-9_:]*, a counter
// ends in "_total", a metric in seconds in "_seconds" (a counter "_seconds_total"), in bytes
// in "_bytes" ("_bytes_total"). Label names are [a-zA-Z_][a-zA-Z0-9_]*, not "le", not "__...".
// Label values may be anything (escaped when rendered: \\, \" and \n).
//
// Thread safety: updating a metric (inc, set, add, observe) is a few relaxed atomic operations,
// from any thread, no lock. Registering and rendering take the registry's mutex; register once at
// start-up and keep the reference, which stays valid as long as the registry. A histogram is
// rendered from its bucket counts, so its +Inf bucket always equals its _count; its _sum is read
// separately and may include an observation the buckets do not yet show.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tally {

enum class MetricUnit : uint8_t {
  none,     // a count
  seconds,  // stored as nanoseconds
  bytes,
};

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void set(int64_t v) { v_.store(v, std::memory_order_relaxed); }
  void add(int64_t d) { v_.fetch_add(d, std::memory_order_relaxed); }
  int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

class Histogram {
 public:
  // `bounds`: bucket upper bounds in the base unit, strictly increasing; a +Inf bucket follows.
  explicit Histogram(std::vector<int64_t> bounds);
  // An observation lands in the first bucket whose bound is >= value (Prometheus's "le").
  void observe(int64_t value);
  void observe(std::chrono::nanoseconds d) { observe(static_cast<int64_t>(d.count())); }

  const std::vector<int64_t>& bounds() const { return bounds_; }
  // Per-bucket counts (not cumulative), bounds().size() + 1 of them, and the sum.
  std::vector<uint64_t> bucket_counts() const;
  int64_t sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<int64_t> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<int64_t> sum_{0};
};

// Prometheus text for a value in a unit: nanoseconds as exact decimal seconds ("0.0015", "2",
// "-0.5"), anything else as an integer.
std::string format_metric_value(int64_t value, MetricUnit unit);
// A label value or HELP text escaped for the exposition format.
std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registering a name and label set again returns the same metric. A name is one family: every
  // series of it must have the same type, unit, help and (histograms) bounds (TALLY_ASSERT).
  Counter& counter(std::string_view name, std::string_view help, MetricLabels labels = {},
                   MetricUnit unit = MetricUnit::none);
  Gauge& gauge(std::string_view name, std::string_view help, MetricLabels labels = {},
               MetricUnit unit = MetricUnit::none);
  Histogram& histogram(std::string_view name, std::string_view help, MetricUnit unit,
                       std::vector<int64_t> bounds, MetricLabels labels = {});
  // A gauge read when rendering (RSS, LMDB use). `read` runs under the registry's mutex on the
  // rendering thread and must not touch the registry; nullopt leaves the series out.
  void gauge_callback(std::string_view name, std::string_view help, MetricLabels labels,
                      MetricUnit unit, std::function<std::optional<int64_t>()> read);

  // Every family sorted by name, each with # HELP and # TYPE, its series sorted by labels.
  std::string render() const;

  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct Family;
  struct Series;
  Series& series(std::string_view name, std::string_view help, int type, MetricUnit unit,
                 const std::vector<int64_t>* bounds, MetricLabels labels);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;
};

}  // namespace tally
