// The server's log as JSON Lines (SPEC section 9): one object a line,
// {"ts":"2026-12-03T18:00:00.123456789Z","level":"info","msg":"listening","address":"..."},
// the fields after "msg" in the order given, every value a JSON string. Lines below the
// configured level are dropped. A secret never goes in a field: callers log a refused login's
// peer, never its token.
//
// Thread safety: log() may be called from any thread; lines are written whole, one at a time,
// and flushed.
#pragma once

#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/time.h"

namespace tally {

enum class LogLevel : uint8_t { debug, info, warn, error };

// "debug", "info", "warn", "error"; anything else nullopt.
std::optional<LogLevel> parse_log_level(std::string_view text);
std::string_view log_level_name(LogLevel level);

using LogFields = std::vector<std::pair<std::string, std::string>>;

class JsonLog {
 public:
  // `out` must outlive the log. `clock` stamps each line (injectable for tests).
  JsonLog(std::ostream& out, LogLevel level, Clock clock = system_now_ns)
      : out_(out), level_(level), clock_(std::move(clock)) {}

  bool enabled(LogLevel level) const { return level >= level_; }
  void log(LogLevel level, std::string_view msg, const LogFields& fields = {});
  void info(std::string_view msg, const LogFields& fields = {}) {
    log(LogLevel::info, msg, fields);
  }
  void warn(std::string_view msg, const LogFields& fields = {}) {
    log(LogLevel::warn, msg, fields);
  }
  void error(std::string_view msg, const LogFields& fields = {}) {
    log(LogLevel::error, msg, fields);
  }

 private:
  std::ostream& out_;
  LogLevel level_;
  Clock clock_;
  std::mutex mu_;
};

}  // namespace tally
