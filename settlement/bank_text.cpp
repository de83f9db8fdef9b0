#include "settlement/bank_text.h"

#include <algorithm>

namespace tally {

void Problems::add(Code code, std::string text) {
  if (count_ == 0) first_ = code;
  ++count_;
  if (list_.size() < kProblemsMax) list_.push_back(std::move(text));
}

Rejection Problems::rejection() const {
  std::string message;
  for (const std::string& p : list_) message += (message.empty() ? "" : "\n") + p;
  if (count_ > list_.size())
    message += "\n... and " + std::to_string(count_ - list_.size()) + " more problems";
  return Rejection{first_, std::move(message)};
}

std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

void csv_field(std::string& out, std::string_view f) {
  if (f.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += f;
    return;
  }
  out += '"';
  for (char c : f) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

void put_alpha(std::string& out, std::string_view text, size_t width) {
  TALLY_ASSERT(text.size() <= width,
               "field \"" + std::string(text) + "\" is wider than " + std::to_string(width));
  out += text;
  out.append(width - text.size(), ' ');
}

void put_number(std::string& out, uint64_t value, size_t width) {
  std::string digits = std::to_string(value);
  TALLY_ASSERT(digits.size() <= width, digits + " is wider than " + std::to_string(width));
  out.append(width - digits.size(), '0');
  out += digits;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= ' ' && c < 0x7F; });
}

}  // namespace tally
