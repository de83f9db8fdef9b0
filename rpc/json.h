// JSON Lines for `tally post` (SPEC sections 2, 3, 5): one item per line in, one result per line
// out, plus the small JSON writer every --json output uses.
//
// Input is strict, so a typo never posts something other than what was meant: unknown fields,
// duplicate fields, missing required fields and wrong JSON types are rejected, each naming the
// field by its path ("postings[1].side: missing"). Amounts must be JSON strings (a JSON number
// would pass through binary floating point in most producers): an amount given as a number is
// bad_amount. Entry amounts are parsed exactly with their currency's exponent. docs/cli.md lists
// every item type and its fields.
//
// Thread safety: JsonWriter and LineParser are single-threaded objects (one per thread); the free
// functions are pure.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/money.h"
#include "ledger/status.h"
#include "rpc/service.h"

namespace tally {

// --- writing -------------------------------------------------------------------------------------

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

// The result line of `tally post` (SPEC section 5):
// {"line":N,"id":...,"status":"ok"|"duplicate"|"error","code":...,"message":...}
// plus "seq" (and "committed", RFC 3339) for ok and duplicate, and "detail" (a JSON object) when
// the result carries one. "id" is null when the line's id could not be read.
std::string post_result_line(uint64_t line, const ItemResult& r);

// --- reading
// ---------------------------------------------------------------------------------------

inline constexpr size_t kJsonLineBytesMax = size_t(1) << 20;  // 1 MiB

// Finds a currency by code (the ledger's built-ins and declared assets).
using CurrencyLookup = std::function<std::optional<Currency>(std::string_view code)>;

// What could be read of a line even when it is rejected: its id (for the result line) and its
// `linked` flag (a rejected line still sinks the linked chain it belongs to).
struct LineInfo {
  std::string id;
  bool linked = false;
};

// Parses one line into a PostItem. Reuses its buffers between lines: keep one per input stream.
class LineParser {
 public:
  explicit LineParser(CurrencyLookup currencies);
  ~LineParser();
  LineParser(const LineParser&) = delete;
  LineParser& operator=(const LineParser&) = delete;

  // The item, or a rejection naming the field (bad_request for shape and type problems,
  // bad_amount, bad_currency, bad_time, bad_meta...). `info` (optional) receives the line's id
  // and linked flag as far as they were readable, whether the line is accepted or not.
  Result<PostItem> parse(std::string_view line, LineInfo* info = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Is the line blank (only spaces, tabs, CR)? `tally post` skips blank lines (they still count
// for line numbers).
bool blank_line(std::string_view line);

}  // namespace tally
