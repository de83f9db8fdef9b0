#include "settlement/config_reader.h"

#include <algorithm>
#include <cstdio>

namespace tally::config_reader {

std::string key_text(std::string_view k) {
  auto bare_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  };
  if (!k.empty() && std::all_of(k.begin(), k.end(), bare_char)) return std::string(k);
  std::string out = "\"";
  for (char c : k) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      static const char* hex = "0123456789ABCDEF";
      out += "\\u00";
      out += hex[(c >> 4) & 0xF];
      out += hex[c & 0xF];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string join(std::string_view path, std::string_view key) {
  std::string out(path);
  if (!out.empty()) out += '.';
  return out + key_text(key);
}

std::string index(std::string_view path, size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

std::string in_quotes(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

std::string_view type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

void Reader::fail(const toml::source_region& where, std::string_view path, std::string_view what) {
  problems_.push_back({where.begin.line, std::string(path) + ": " + std::string(what)});
}

void Reader::fail(const toml::node& where, std::string_view path, std::string_view what) {
  fail(where.source(), path, what);
}

void Reader::fail_with(const toml::node& where, std::string_view path, const Rejection& r) {
  if (r.message.starts_with(path)) {
    problems_.push_back({where.source().begin.line, r.message});
  } else {
    fail(where, path, r.message);
  }
}

std::string Reader::problems() {
  std::stable_sort(problems_.begin(), problems_.end(),
                   [](const Problem& a, const Problem& b) { return a.line < b.line; });
  std::string message;
  for (const Problem& p : problems_) {
    if (!message.empty()) message += '\n';
    message += p.text;
  }
  return message;
}

void Reader::check_keys(const toml::table& t, std::string_view path,
                        std::initializer_list<std::string_view> allowed,
                        std::initializer_list<std::string_view> required) {
  for (auto&& [key, node] : t) {
    if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end())
      fail(key.source(), join(path, key.str()), "unknown key");
  }
  for (std::string_view k : required) {
    if (!t.contains(k)) fail(t, join(path, k), "missing (required)");
  }
}

const toml::table* Reader::want_table(const toml::node& n, std::string_view path) {
  if (const toml::table* t = n.as_table()) return t;
  fail(n, path, std::string("must be a table, not ") + std::string(type_name(n)));
  return nullptr;
}

const std::string* Reader::want_string(const toml::node& n, std::string_view path,
                                       std::string_view what, bool decimal) {
  if (const auto* v = n.as_string()) return &v->get();
  std::string msg = "must be " + std::string(what) + ", not " + std::string(type_name(n));
  if (decimal && (n.is_floating_point() || n.is_integer()))
    msg += " (write exact decimals as strings)";
  fail(n, path, msg);
  return nullptr;
}

std::optional<int64_t> Reader::want_integer(const toml::node& n, std::string_view path, int64_t lo,
                                            int64_t hi) {
  const auto* v = n.as_integer();
  if (!v) {
    fail(n, path, "must be an integer, not " + std::string(type_name(n)));
    return std::nullopt;
  }
  int64_t x = v->get();
  if (x < lo || x > hi) {
    fail(n, path,
         std::to_string(x) + " is out of range " + std::to_string(lo) + ".." + std::to_string(hi));
    return std::nullopt;
  }
  return x;
}

std::optional<Date> Reader::want_date(const toml::node& n, std::string_view path) {
  if (const auto* d = n.as_date()) {
    const toml::date& v = d->get();
    char text[32];  // through parse_date, for its range and calendar checks
    std::snprintf(text, sizeof text, "%04u-%02u-%02u", unsigned(v.year), unsigned(v.month),
                  unsigned(v.day));
    Result<Date> r = parse_date(text, path);
    if (r.ok()) return *r;
    fail_with(n, path, r.error());
    return std::nullopt;
  }
  const std::string* s = want_string(n, path, "a date (\"YYYY-MM-DD\")");
  if (!s) return std::nullopt;
  Result<Date> r = parse_date(*s, path);
  if (r.ok()) return *r;
  fail_with(n, path, r.error());
  return std::nullopt;
}

std::optional<Rate> Reader::want_rate(const toml::node& n, std::string_view path,
                                      std::optional<Rate> max) {
  const std::string* s = want_string(n, path, "a string", true);
  if (!s) return std::nullopt;
  Result<Rate> r = Rate::parse(*s, path);
  if (!r.ok()) {
    fail_with(n, path, r.error());
    return std::nullopt;
  }
  if (max && *r > *max) {
    fail(n, path, r->to_string() + " is above " + max->to_string());
    return std::nullopt;
  }
  return *r;
}

std::optional<Amount> Reader::want_amount(const toml::node& n, std::string_view path,
                                          const Currency& c) {
  const std::string* s = want_string(n, path, "a string", true);
  if (!s) return std::nullopt;
  Result<Amount> a = parse_amount(*s, c, path);
  if (!a.ok()) {
    fail_with(n, path, a.error());
    return std::nullopt;
  }
  if (a->is_negative()) {
    fail(n, path, in_quotes(*s) + " is negative");
    return std::nullopt;
  }
  return *a;
}

std::optional<AmountByCurrency> Reader::per_currency(const toml::node& n, std::string_view path,
                                                     const std::vector<Currency>& currencies) {
  AmountByCurrency out;
  for (const Currency& c : currencies) out.emplace(std::string(c.code()), Amount());
  bool ok = true;
  if (const toml::table* t = n.as_table()) {
    for (auto&& [key, value] : *t) {
      std::string code(key.str());
      std::string p = join(path, code);
      std::optional<Currency> c = table_.find(code);
      if (!c) {
        fail(key.source(), p, "unknown currency " + in_quotes(code));
        ok = false;
        continue;
      }
      if (!currencies.empty() &&
          std::find(currencies.begin(), currencies.end(), *c) == currencies.end()) {
        fail(key.source(), p, in_quotes(code) + " is not one of the marketplace's currencies");
        ok = false;
        continue;
      }
      std::optional<Amount> a = want_amount(value, p, *c);
      if (!a)
        ok = false;
      else
        out[code] = *a;
    }
  } else if (n.is_string()) {
    if (currencies.empty()) return std::nullopt;
    std::optional<Amount> a = want_amount(n, path, currencies.front());
    if (!a) return std::nullopt;
    out[std::string(currencies.front().code())] = *a;
  } else if (n.is_floating_point() || n.is_integer()) {
    want_string(n, path, "a string", true);  // reports it, with the hint to quote it
    return std::nullopt;
  } else {
    fail(n, path,
         "must be an amount string or a table of amounts per currency, not " +
             std::string(type_name(n)));
    return std::nullopt;
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace tally::config_reader
