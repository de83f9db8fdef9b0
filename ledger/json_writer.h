// The small JSON writer every --json output, the export and the JSON Lines log use (RFC 8259 text
// out; tally reads JSON only at the CLI's `tally post`, cli/json_items.h).
//
// Thread safety: JsonWriter is a single-threaded object; the free functions are pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tally {

// Appends `s` as a JSON string (quotes included), escaped per RFC 8259: '"', '\\' and control
// characters below 0x20 (as \n, \t, ... or \u00XX), and DEL as \u007f. Other bytes pass through
// unchanged (input is UTF-8; tally never produces anything else).
void append_json_string(std::string& out, std::string_view s);
std::string json_string(std::string_view s);

// Builds one JSON value; commas and colons are placed automatically. Misuse (a value where a key
// is due, unbalanced ends) is a bug and asserts.
class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& string(std::string_view v);
  JsonWriter& number(int64_t v);
  JsonWriter& unsigned_number(uint64_t v);
  JsonWriter& boolean(bool v);
  JsonWriter& null();
  // A value that is already JSON text (e.g. ItemResult::detail), inserted as is.
  JsonWriter& raw(std::string_view json);
  // key + string, the common case.
  JsonWriter& field(std::string_view k, std::string_view v) { return key(k).string(v); }

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void before_value();
  std::string out_;
  std::vector<char> stack_;    // '{' or '['
  std::vector<bool> first_;    // no element yet at this level
  bool expect_value_ = false;  // a key was just written
};

}  // namespace tally
