// JSON Lines for `tally post` (SPEC sections 2, 3, 5): one item per line in, one result per line
// out. (The JSON writer every --json output uses: ledger/json_writer.h.)
//
// Input is strict, so a typo never posts something other than what was meant: unknown fields,
// duplicate fields, missing required fields and wrong JSON types are rejected, each naming the
// field by its path ("postings[1].side: missing"). Amounts must be JSON strings (a JSON number
// would pass through binary floating point in most producers): an amount given as a number is
// bad_amount. Entry amounts are parsed exactly with their currency's exponent. docs/cli.md lists
// every item type and its fields.
//
// Thread safety: LineParser is a single-threaded object (one per thread); the free functions are
// pure.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/json_writer.h"
#include "ledger/ledger.h"
#include "ledger/money.h"
#include "ledger/status.h"
#include "service/service.h"

namespace tally {

// The result line of `tally post` (SPEC section 5):
// {"line":N,"id":...,"status":"ok"|"duplicate"|"error","code":...,"message":...}
// plus "seq" (and "committed", RFC 3339) for ok and duplicate, and "detail" (a JSON object) when
// the result carries one. "id" is null when the line's id could not be read.
std::string post_result_line(uint64_t line, const ItemResult& r);

// --- reading
// ---------------------------------------------------------------------------------------

// Finds a currency by code (the ledger's built-ins and declared assets).
using CurrencyLookup = std::function<std::optional<Currency>(std::string_view code)>;

// What could be read of a line even when it is rejected: its id (for the result line; cut to
// limits::entry_id_bytes_max bytes, as the server cuts the ids it echoes) and its `linked` flag
// (a rejected line still sinks the linked chain it belongs to).
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
  // bad_amount, bad_currency, bad_time, bad_meta, bad_id for an id over the limit...). `info`
  // (optional) receives the line's id and linked flag as far as they were readable, whether the
  // line is accepted or not.
  Result<PostItem> parse(std::string_view line, LineInfo* info = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Is the line blank (only spaces, tabs, CR)? `tally post` skips blank lines (they still count
// for line numbers).
bool blank_line(std::string_view line);

}  // namespace tally
