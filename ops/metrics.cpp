#include "ops/metrics.h"

#include <algorithm>

#include "ledger/status.h"

namespace tally {

namespace {

enum Type { kCounter = 0, kGauge = 1, kHistogram = 2 };

constexpr std::string_view kTypeNames[] = {"counter", "gauge", "histogram"};

constexpr int64_t kNsPerSecond = 1'000'000'000;

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool valid_name(std::string_view n, bool colons) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (colons && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void check_name(std::string_view name, int type, MetricUnit unit) {
  TALLY_ASSERT(valid_name(name, true), "metric name \"" + std::string(name) + "\"");
  std::string unit_suffix = unit == MetricUnit::seconds ? "_seconds"
                            : unit == MetricUnit::bytes ? "_bytes"
                                                        : "";
  std::string_view base = name;
  if (type == kCounter) {
    TALLY_ASSERT(ends_with(name, "_total"),
                 "counter \"" + std::string(name) + "\" must end in _total");
    base.remove_suffix(6);
  } else {
    TALLY_ASSERT(!ends_with(name, "_total"), "only counters end in _total: " + std::string(name));
  }
  if (!unit_suffix.empty())
    TALLY_ASSERT(ends_with(base, unit_suffix),
                 "\"" + std::string(name) + "\" must end in " + unit_suffix);
  if (type == kHistogram)
    for (std::string_view s : {"_bucket", "_sum", "_count"})
      TALLY_ASSERT(!ends_with(name, s), "histogram name ends in " + std::string(s));
}

std::string render_labels(const MetricLabels& labels, std::string_view extra_name = {},
                          std::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return {};
  std::string s = "{";
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) s += ',';
    first = false;
    s += k;
    s += "=\"";
    s += escape_label_value(v);
    s += '"';
  }
  if (!extra_name.empty()) {
    if (!first) s += ',';
    s += extra_name;
    s += "=\"";
    s += extra_value;
    s += '"';
  }
  return s + "}";
}

}  // namespace

Histogram::Histogram(std::vector<int64_t> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  for (size_t i = 1; i < bounds_.size(); ++i)
    TALLY_ASSERT(bounds_[i - 1] < bounds_[i], "histogram bounds must be strictly increasing");
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(int64_t value) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::bucket_counts() const {
  std::vector<uint64_t> out(bounds_.size() + 1);
  for (size_t i = 0; i < out.size(); ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
  return out;
}

std::string format_metric_value(int64_t value, MetricUnit unit) {
  if (unit != MetricUnit::seconds) return std::to_string(value);
  // Exact decimal seconds from nanoseconds, without trailing zeros. Work on the magnitude as
  // unsigned so that INT64_MIN has one.
  bool negative = value < 0;
  uint64_t mag = negative ? ~static_cast<uint64_t>(value) + 1 : static_cast<uint64_t>(value);
  uint64_t whole = mag / kNsPerSecond;
  uint64_t frac = mag % kNsPerSecond;
  std::string s = negative ? "-" : "";
  s += std::to_string(whole);
  if (frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(0, 9 - digits.size(), '0');
    while (digits.back() == '0') digits.pop_back();
    s += '.';
    s += digits;
  }
  return s;
}

std::string escape_label_value(std::string_view v) {
  std::string s;
  s.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      s += "\\\\";
    else if (c == '"')
      s += "\\\"";
    else if (c == '\n')
      s += "\\n";
    else
      s += c;
  }
  return s;
}

std::string escape_help(std::string_view v) {
  std::string s;
  s.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      s += "\\\\";
    else if (c == '\n')
      s += "\\n";
    else
      s += c;
  }
  return s;
}

struct MetricsRegistry::Series {
  MetricLabels labels;
  std::string label_text;  // rendered, for sorting
  std::unique_ptr<Counter> counter;
  std::unique_ptr<Gauge> gauge;
  std::unique_ptr<Histogram> histogram;
  std::function<std::optional<int64_t>()> read;
  bool handed_out = false;  // gauge(): someone holds a reference to `gauge`
};

struct MetricsRegistry::Family {
  std::string name;
  std::string help;
  int type = kCounter;
  MetricUnit unit = MetricUnit::none;
  std::vector<int64_t> bounds;
  std::vector<std::unique_ptr<Series>> series;
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Series& MetricsRegistry::series(std::string_view name, std::string_view help,
                                                 int type, MetricUnit unit,
                                                 const std::vector<int64_t>* bounds,
                                                 MetricLabels labels) {
  check_name(name, type, unit);
  for (const auto& [k, v] : labels) {
    TALLY_ASSERT(valid_name(k, false) && k.substr(0, 2) != "__", "label name \"" + k + "\"");
    TALLY_ASSERT(!(type == kHistogram && k == "le"), "\"le\" is the histogram's own label");
  }
  std::sort(labels.begin(), labels.end());
  for (size_t i = 1; i < labels.size(); ++i)
    TALLY_ASSERT(labels[i - 1].first != labels[i].first, "label \"" + labels[i].first + "\" twice");
  std::string label_text = render_labels(labels);

  Family* family = nullptr;
  for (auto& f : families_)
    if (f->name == name) family = f.get();
  if (family == nullptr) {
    auto f = std::make_unique<Family>();
    f->name = std::string(name);
    f->help = std::string(help);
    f->type = type;
    f->unit = unit;
    if (bounds) f->bounds = *bounds;
    family = f.get();
    families_.push_back(std::move(f));
  }
  TALLY_ASSERT(family->type == type && family->unit == unit && family->help == help &&
                   (!bounds || family->bounds == *bounds),
               "metric \"" + std::string(name) + "\" registered twice with different definitions");
  for (auto& s : family->series)
    if (s->label_text == label_text) {
      TALLY_ASSERT(!s->read, "metric \"" + std::string(name) + label_text + "\" is a callback");
      return *s;
    }
  auto s = std::make_unique<Series>();
  s->labels = std::move(labels);
  s->label_text = std::move(label_text);
  if (type == kCounter) s->counter = std::make_unique<Counter>();
  if (type == kGauge) s->gauge = std::make_unique<Gauge>();
  if (type == kHistogram) s->histogram = std::make_unique<Histogram>(*bounds);
  family->series.push_back(std::move(s));
  return *family->series.back();
}

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help, MetricLabels labels,
                                  MetricUnit unit) {
  std::lock_guard lock(mu_);
  return *series(name, help, kCounter, unit, nullptr, std::move(labels)).counter;
}

Gauge& MetricsRegistry::gauge(std::string_view name, std::string_view help, MetricLabels labels,
                              MetricUnit unit) {
  std::lock_guard lock(mu_);
  auto& s = series(name, help, kGauge, unit, nullptr, std::move(labels));
  TALLY_ASSERT(s.gauge != nullptr, "gauge \"" + std::string(name) + "\" is a callback");
  s.handed_out = true;
  return *s.gauge;
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help, MetricUnit unit,
                                      std::vector<int64_t> bounds, MetricLabels labels) {
  std::lock_guard lock(mu_);
  return *series(name, help, kHistogram, unit, &bounds, std::move(labels)).histogram;
}

void MetricsRegistry::gauge_callback(std::string_view name, std::string_view help,
                                     MetricLabels labels, MetricUnit unit,
                                     std::function<std::optional<int64_t>()> read) {
  std::lock_guard lock(mu_);
  auto& s = series(name, help, kGauge, unit, nullptr, std::move(labels));
  // A fresh series has a gauge nobody has seen; an existing one may be referenced already.
  TALLY_ASSERT(s.gauge != nullptr && !s.handed_out,
               "gauge \"" + std::string(name) + s.label_text + "\" registered twice");
  s.gauge.reset();
  s.read = std::move(read);
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mu_);
  std::vector<const Family*> families;
  for (const auto& f : families_) families.push_back(f.get());
  std::sort(families.begin(), families.end(),
            [](const Family* a, const Family* b) { return a->name < b->name; });
  std::string out;
  for (const Family* f : families) {
    std::vector<const Series*> series;
    for (const auto& s : f->series) series.push_back(s.get());
    std::sort(series.begin(), series.end(),
              [](const Series* a, const Series* b) { return a->label_text < b->label_text; });
    out += "# HELP " + f->name + " " + escape_help(f->help) + "\n";
    out += "# TYPE " + f->name + " " + std::string(kTypeNames[f->type]) + "\n";
    for (const Series* s : series) {
      if (f->type == kCounter) {
        // A counter's value is unsigned; one in seconds is kept in nanoseconds like the rest.
        uint64_t v = s->counter->value();
        std::string text = f->unit == MetricUnit::seconds
                               ? format_metric_value(static_cast<int64_t>(v), f->unit)
                               : std::to_string(v);
        out += f->name + s->label_text + " " + text + "\n";
      } else if (f->type == kGauge) {
        std::optional<int64_t> v;
        if (s->read)
          v = s->read();
        else
          v = s->gauge->value();
        if (v) out += f->name + s->label_text + " " + format_metric_value(*v, f->unit) + "\n";
      } else {
        const Histogram& h = *s->histogram;
        std::vector<uint64_t> counts = h.bucket_counts();
        uint64_t cumulative = 0;
        for (size_t i = 0; i < counts.size(); ++i) {
          cumulative += counts[i];
          std::string le =
              i < h.bounds().size() ? format_metric_value(h.bounds()[i], f->unit) : "+Inf";
          out += f->name + "_bucket" + render_labels(s->labels, "le", le) + " " +
                 std::to_string(cumulative) + "\n";
        }
        out +=
            f->name + "_sum" + s->label_text + " " + format_metric_value(h.sum(), f->unit) + "\n";
        out += f->name + "_count" + s->label_text + " " + std::to_string(cumulative) + "\n";
      }
    }
  }
  return out;
}

}  // namespace tally
