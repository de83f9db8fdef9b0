// JSON Lines logging (contract in ops/json_log.h).
#include "ops/json_log.h"

#include <cstdio>

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

std::string json_quote(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
  return out;
}

void JsonLog::log(LogLevel level, std::string_view msg, const LogFields& fields) {
  if (!enabled(level)) return;
  std::string line = "{\"ts\":" + json_quote(format_rfc3339(clock_())) +
                     ",\"level\":" + json_quote(log_level_name(level)) +
                     ",\"msg\":" + json_quote(msg);
  for (const auto& [k, v] : fields) line += "," + json_quote(k) + ":" + json_quote(v);
  line += "}\n";
  std::lock_guard lock(mu_);
  out_ << line << std::flush;
}

}  // namespace tally
