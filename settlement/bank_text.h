// Small text helpers shared by the bank file writers and report parsers (settlement/ach.h,
// settlement/co_dispersion.h, settlement/bank_report.h): collecting every problem of a file into
// one Rejection, RFC 4180 CSV fields, fixed-width fields, a stable 64-bit hash for ids.
//
// Thread safety: Problems is a plain value (one per call); the functions are pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace tally {

// Problems of a whole file, reported together: rejection() joins them with "\n" and takes the
// first problem's code. At most `problems_max` are kept; the rest are counted and the message
// ends with "... and N more problems".
class Problems {
 public:
  static constexpr size_t kProblemsMax = 100;
  void add(Code code, std::string text);
  bool empty() const { return count_ == 0; }
  size_t count() const { return count_; }
  Rejection rejection() const;

 private:
  Code first_ = Code::bad_request;
  size_t count_ = 0;
  std::vector<std::string> list_;
};

// "\"text\"".
std::string in_quotes(std::string_view s);

// Appends `f` to `out` as one RFC 4180 field: in double quotes, inner quotes doubled, only when it
// contains a comma, a double quote, CR or LF.
void csv_field(std::string& out, std::string_view f);

// FNV-1a, 64 bits: a stable hash (the same on every machine and release) for ids that must be
// made shorter.
uint64_t fnv1a64(std::string_view s);

// Fixed-width fields. `text` must already fit (a caller bug otherwise): left-justified and padded
// with spaces; `digits` right-justified and padded with zeros.
void put_alpha(std::string& out, std::string_view text, size_t width);
void put_number(std::string& out, uint64_t value, size_t width);

// Every byte an ASCII digit (and at least one byte).
bool all_digits(std::string_view s);
// Every byte printable ASCII (0x20..0x7E). True for "".
bool printable_ascii(std::string_view s);

}  // namespace tally
