// JSON Lines logging (ops/json_log.h): one object a line, escaped, below-level lines dropped.
#include "ops/json_log.h"

#include <gtest/gtest.h>

#include <sstream>

namespace tally {
namespace {

TEST(JsonLog, OneObjectALineWithFieldsInOrderAndEscaped) {
  std::ostringstream out;
  JsonLog log(out, LogLevel::info, [] { return TimeNs{1'767'607'200'000'000'000}; });
  log.info("login refused", {{"peer", "10.0.0.7:5123"}, {"odd", "a\"b\\c\nd\x01"}});
  EXPECT_EQ(out.str(),
            "{\"ts\":\"2026-01-05T10:00:00Z\",\"level\":\"info\",\"msg\":\"login refused\","
            "\"peer\":\"10.0.0.7:5123\",\"odd\":\"a\\\"b\\\\c\\nd\\u0001\"}\n");
}

TEST(JsonLog, LinesBelowTheLevelAreDropped) {
  std::ostringstream out;
  JsonLog log(out, LogLevel::warn);
  log.log(LogLevel::debug, "d");
  log.info("i");
  EXPECT_EQ(out.str(), "");
  log.warn("w");
  log.error("e");
  EXPECT_NE(out.str().find("\"level\":\"warn\",\"msg\":\"w\""), std::string::npos);
  EXPECT_NE(out.str().find("\"level\":\"error\",\"msg\":\"e\""), std::string::npos);
}

TEST(JsonLog, LevelNames) {
  for (auto l : {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error})
    EXPECT_EQ(parse_log_level(log_level_name(l)), l);
  EXPECT_EQ(parse_log_level("INFO"), std::nullopt);
  EXPECT_EQ(parse_log_level("warning"), std::nullopt);
}

}  // namespace
}  // namespace tally
