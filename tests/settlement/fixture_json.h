// Files and a small JSON reader and writer for the fixtures (fixtures/<mk>.jsonl and
// <mk>.expected.json).
// Part of the fixtures test's independent model (tests/settlement/fixtures_test.cpp): it shares
// no code with settlement/.
#pragma once

#include <date/date.h>

#include <boost/multiprecision/cpp_int.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <variant>

#include "common/test_util.h"
#include "settlement/run.h"

namespace tally::fixture_model {

using namespace tally::testing;
using Int = boost::multiprecision::cpp_int;
using Q = boost::multiprecision::cpp_rational;

inline std::string source_path(const std::string& rel) {
  return std::string(TALLY_SOURCE_DIR) + "/" + rel;
}

inline std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// --- a small JSON reader and writer -----------------------------------------------------------
// Objects, arrays, strings, booleans and null: everything the fixture and expected files hold
// (amounts are strings there, never JSON numbers; a number is refused).

struct Json {
  std::variant<std::nullptr_t, bool, std::string, std::vector<Json>,
               std::vector<std::pair<std::string, Json>>, long long>
      v;
  bool is_object() const { return v.index() == 4; }
  const std::string& str() const { return std::get<2>(v); }
  const std::vector<Json>& arr() const { return std::get<3>(v); }
  const std::vector<std::pair<std::string, Json>>& obj() const { return std::get<4>(v); }
  const Json* get(std::string_view key) const {
    for (auto& [k, x] : obj())
      if (k == key) return &x;
    return nullptr;
  }
};

class JsonReader {
 public:
  explicit JsonReader(std::string_view s) : s_(s) {}
  // The value, or an error message in `error`.
  Json parse(std::string& error) {
    Json j;
    try {
      j = value();
      ws();
      if (i_ != s_.size()) fail("trailing text");
    } catch (const std::runtime_error& e) {
      error = e.what();
    }
    return j;
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error(what + " at byte " + std::to_string(i_));
  }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t'))
      ++i_;
  }
  bool eat(char c) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  bool word(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }
  unsigned hex4() {
    if (i_ + 4 > s_.size()) fail("short \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      char c = s_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= unsigned(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= unsigned(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= unsigned(c - 'A' + 10);
      else
        fail("bad \\u escape");
    }
    return v;
  }
  static void utf8(std::string& o, unsigned cp) {
    if (cp < 0x80) {
      o += char(cp);
    } else if (cp < 0x800) {
      o += char(0xC0 | (cp >> 6)), o += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      o += char(0xE0 | (cp >> 12)), o += char(0x80 | ((cp >> 6) & 0x3F));
      o += char(0x80 | (cp & 0x3F));
    } else {
      o += char(0xF0 | (cp >> 18)), o += char(0x80 | ((cp >> 12) & 0x3F));
      o += char(0x80 | ((cp >> 6) & 0x3F)), o += char(0x80 | (cp & 0x3F));
    }
  }
  std::string string() {
    expect('"');
    std::string o;
    while (true) {
      if (i_ >= s_.size()) fail("unterminated string");
      char c = s_[i_++];
      if (c == '"') return o;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        o += c;
        continue;
      }
      if (i_ >= s_.size()) fail("unterminated escape");
      char e = s_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          o += e;
          break;
        case 'b':
          o += '\b';
          break;
        case 'f':
          o += '\f';
          break;
        case 'n':
          o += '\n';
          break;
        case 'r':
          o += '\r';
          break;
        case 't':
          o += '\t';
          break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00) {
            if (!word("\\u")) fail("lone surrogate");
            unsigned lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("bad surrogate pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          utf8(o, cp);
          break;
        }
        default:
          fail("bad escape");
      }
    }
  }
  Json value() {
    ws();
    if (i_ >= s_.size()) fail("unexpected end");
    char c = s_[i_];
    if (c == '{') {
      ++i_;
      std::vector<std::pair<std::string, Json>> o;
      if (eat('}')) return Json{o};
      do {
        ws();
        std::string k = string();
        for (auto& [x, _] : o)
          if (x == k) fail("duplicate key \"" + k + "\"");
        expect(':');
        o.emplace_back(std::move(k), value());
      } while (eat(','));
      expect('}');
      return Json{std::move(o)};
    }
    if (c == '[') {
      ++i_;
      std::vector<Json> a;
      if (eat(']')) return Json{a};
      do a.push_back(value());
      while (eat(','));
      expect(']');
      return Json{std::move(a)};
    }
    if (c == '"') return Json{string()};
    if (word("true")) return Json{true};
    if (word("false")) return Json{false};
    if (word("null")) return Json{nullptr};
    // Integers (a reserve's days); amounts are strings, and a number with a fraction or an
    // exponent is refused.
    if ((c >= '0' && c <= '9') || c == '-') {
      size_t start = i_++;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      if (i_ < s_.size() && (s_[i_] == '.' || s_[i_] == 'e' || s_[i_] == 'E'))
        fail("only integers (amounts are strings)");
      std::string digits(s_.substr(start, i_ - start));
      if (digits == "-" || digits.size() > 18) fail("bad integer");
      return Json{std::stoll(digits)};
    }
    fail("unexpected character (amounts are strings)");
  }

  std::string_view s_;
  size_t i_ = 0;
};

inline std::string jstr(std::string_view s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\', o += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else {
      o += c;
    }
  }
  return o + "\"";
}

}  // namespace tally::fixture_model
