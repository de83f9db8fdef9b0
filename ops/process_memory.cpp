#include "ops/process_memory.h"

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace tally {

namespace {

// The value of a "Name:\t  123 kB" line in bytes.
std::optional<int64_t> kib_line(std::string_view text, std::string_view name) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.substr(0, name.size()) != name || line.size() <= name.size() ||
        line[name.size()] != ':')
      continue;
    line.remove_prefix(name.size() + 1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    int64_t kib = 0;
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), kib);
    if (ec != std::errc() || p == line.data() || kib < 0) return std::nullopt;
    if (std::string_view(p, line.data() + line.size() - p) != " kB") return std::nullopt;
    if (kib > INT64_MAX / 1024) return std::nullopt;
    return kib * 1024;
  }
  return std::nullopt;
}

}  // namespace

std::optional<ProcessMemory> parse_proc_status(std::string_view text) {
  auto anon = kib_line(text, "RssAnon");
  auto file = kib_line(text, "RssFile");
  if (!anon || !file) return std::nullopt;
  return ProcessMemory{*anon, *file};
}

std::optional<ProcessMemory> read_process_memory() {
  std::ifstream in("/proc/self/status");
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_proc_status(ss.str());
}

void register_process_memory(MetricsRegistry& registry) {
  constexpr std::string_view kHelp =
      "Resident memory of the process: anon (allocated by it) and file (mapped files, mostly "
      "the LMDB map), from /proc/self/status.";
  registry.gauge_callback("tally_process_rss_bytes", kHelp, {{"kind", "anon"}}, MetricUnit::bytes,
                          []() -> std::optional<int64_t> {
                            auto m = read_process_memory();
                            if (!m) return std::nullopt;
                            return m->rss_anon_bytes;
                          });
  registry.gauge_callback("tally_process_rss_bytes", kHelp, {{"kind", "file"}}, MetricUnit::bytes,
                          []() -> std::optional<int64_t> {
                            auto m = read_process_memory();
                            if (!m) return std::nullopt;
                            return m->rss_file_bytes;
                          });
}

}  // namespace tally
