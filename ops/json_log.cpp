// JSON Lines logging (contract in ops/json_log.h).
#include "ops/json_log.h"

#include "ledger/json_writer.h"

namespace tally {

std::optional<LogLevel> parse_log_level(std::string_view text) {
  if (text == "debug") return LogLevel::debug;
  if (text == "info") return LogLevel::info;
  if (text == "warn") return LogLevel::warn;
  if (text == "error") return LogLevel::error;
  return std::nullopt;
}

std::string_view log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warn";
    case LogLevel::error:
      return "error";
  }
  return "error";
}

void JsonLog::log(LogLevel level, std::string_view msg, const LogFields& fields) {
  if (!enabled(level)) return;
  std::string line = "{\"ts\":" + json_string(format_rfc3339(clock_())) +
                     ",\"level\":" + json_string(log_level_name(level)) +
                     ",\"msg\":" + json_string(msg);
  for (const auto& [k, v] : fields) line += "," + json_string(k) + ":" + json_string(v);
  line += "}\n";
  std::lock_guard lock(mu_);
  out_ << line << std::flush;
}

}  // namespace tally
