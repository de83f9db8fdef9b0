#include "settlement/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <utility>

namespace tally {

Amount amount_for(const AmountByCurrency& amounts, std::string_view code) {
  auto it = amounts.find(code);
  return it == amounts.end() ? Amount() : it->second;
}

std::string_view fee_payer_name(FeePayer p) {
  return p == FeePayer::payee ? "payee" : "platform";
}
std::string_view hold_from_name(HoldFrom h) {
  return h == HoldFrom::sale ? "sale" : "delivery";
}
std::string_view role_name(Role r) {
  switch (r) {
    case Role::poster:
      return "poster";
    case Role::auditor:
      return "auditor";
    case Role::finance:
      return "finance";
  }
  return "?";
}
std::optional<Role> parse_role(std::string_view name) {
  for (Role r : {Role::poster, Role::auditor, Role::finance})
    if (role_name(r) == name) return r;
  return std::nullopt;
}

std::optional<Currency> MarketplaceConfig::currency(std::string_view code) const {
  for (const Currency& c : currencies)
    if (c.code() == code) return c;
  return std::nullopt;
}

bool TokenGrant::has(Role r) const {
  return std::find(roles.begin(), roles.end(), r) != roles.end();
}

const MarketplaceConfig* Config::marketplace(std::string_view name) const {
  auto it = marketplaces.find(name);
  return it == marketplaces.end() ? nullptr : &it->second;
}

const TokenGrant* Config::grant(std::string_view token) const {
  auto it = std::lower_bound(tokens.begin(), tokens.end(), token,
                             [](const TokenGrant& g, std::string_view t) { return g.token < t; });
  return it != tokens.end() && it->token == token ? &*it : nullptr;
}

// ---------------------------------------------------------------------------------------------
// Bank identifiers and text.

namespace {
constexpr size_t kAccountIdMax = 34;  // Othr/Id in pain.001 is Max34Text
bool is_upper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
  return is_upper(c) || is_digit(c) || (c >= 'a' && c <= 'z');
}
}  // namespace

bool looks_like_iban(std::string_view s) {
  // The schema's IBAN2007Identifier pattern, with the BBAN at least 11 long: the shortest IBAN
  // in use (Norway) has 15 characters, and requiring it keeps short local account ids that
  // happen to start with two letters and two digits out of the IBAN element.
  if (s.size() < 15 || s.size() > 34) return false;
  if (!is_upper(s[0]) || !is_upper(s[1]) || !is_digit(s[2]) || !is_digit(s[3])) return false;
  return std::all_of(s.begin() + 4, s.end(), is_alnum);
}

bool iban_checksum_ok(std::string_view s) {
  if (!looks_like_iban(s)) return false;
  // Move the first four characters to the end, letters become 10..35, the number mod 97 is 1.
  unsigned rem = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[(i + 4) % s.size()];
    if (is_digit(c)) {
      rem = (rem * 10 + unsigned(c - '0')) % 97;
    } else {
      unsigned v = unsigned((c >= 'a' ? c - 'a' : c - 'A') + 10);
      rem = (rem * 100 + v) % 97;
    }
  }
  return rem == 1;
}

Result<BankAccount> parse_bank_account(std::string_view text, std::string_view field) {
  std::string compact;
  for (char c : text)
    if (c != ' ') compact += c;
  if (looks_like_iban(compact)) {
    if (iban_checksum_ok(compact)) return BankAccount{true, compact};
    return reject(Code::bad_request,
                  std::string(field) + ": \"" + std::string(text) + "\" fails the IBAN checksum");
  }
  bool other = !text.empty() && text.size() <= kAccountIdMax &&
               std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < 0x7F; });
  if (other) return BankAccount{false, std::string(text)};
  return reject(Code::bad_request, std::string(field) + ": \"" + std::string(text) +
                                       "\" is neither an IBAN nor an account id of 1..34 "
                                       "printable ASCII characters without spaces");
}

bool valid_bic(std::string_view s) {
  if (s.size() != 8 && s.size() != 11) return false;
  for (size_t i = 0; i < 6; ++i)
    if (!is_upper(s[i])) return false;
  if (!(is_upper(s[6]) || (s[6] >= '2' && s[6] <= '9'))) return false;
  if (!((is_upper(s[7]) && s[7] != 'O') || is_digit(s[7]))) return false;
  for (size_t i = 8; i < s.size(); ++i)
    if (!is_upper(s[i]) && !is_digit(s[i])) return false;
  return true;
}

std::optional<size_t> bank_text_length(std::string_view s) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++chars) {
    auto b = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    size_t len;
    if (b < 0x80) {
      cp = b, len = 1;
    } else if (b >= 0xC2 && b <= 0xDF) {
      cp = b & 0x1F, len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      cp = b & 0x0F, len = 3;
    } else if (b >= 0xF0 && b <= 0xF4) {
      cp = b & 0x07, len = 4;
    } else {
      return std::nullopt;
    }
    if (i + len > s.size()) return std::nullopt;
    for (size_t j = 1; j < len; ++j) {
      auto c = static_cast<unsigned char>(s[i + j]);
      if ((c & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (c & 0x3F);
    }
    // Overlong forms, surrogates, beyond U+10FFFF.
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return std::nullopt;
    // Control characters (XML 1.0 cannot carry most C0; none belong in a name or an id) and the
    // two non-characters XML 1.0 excludes.
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xFFFE || cp == 0xFFFF)
      return std::nullopt;
    i += len;
  }
  return chars;
}

// ---------------------------------------------------------------------------------------------
// Loading.

namespace {

constexpr size_t kMarketplaceNameMax = 64;
constexpr int64_t kHoldDaysMax = 3650;
constexpr int64_t kEveryDaysMax = 366;
constexpr size_t kTokenBytesMax = 256;

bool valid_segment(std::string_view s) {
  auto ok = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || is_digit(c) || (!first && (c == '_' || c == '.' || c == '-'));
  };
  if (s.empty() || !ok(s[0], true)) return false;
  return std::all_of(s.begin() + 1, s.end(), [&](char c) { return ok(c, false); });
}

bool printable_ascii_no_space(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 0x7F; });
}

// A key as TOML would write it: bare when it can be, else a quoted string.
std::string key_text(std::string_view k) {
  bool bare = !k.empty() && std::all_of(k.begin(), k.end(),
                                        [](char c) { return is_alnum(c) || c == '_' || c == '-'; });
  if (bare) return std::string(k);
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

struct Problem {
  uint32_t line;
  std::string text;
};

class Loader {
 public:
  explicit Loader(const CurrencyTable& table) : table_(table) {}

  Result<Config> load(const toml::table& root) {
    Config config;
    check_keys(root, "", {"marketplaces", "tokens"}, {});
    if (const toml::node* n = root.get("marketplaces")) {
      if (const toml::table* t = want_table(*n, "marketplaces")) {
        for (auto&& [key, node] : *t) {
          std::string name(key.str());
          std::string path = join("marketplaces", name);
          std::optional<MarketplaceConfig> m = marketplace(name, path, node, key.source());
          if (m) config.marketplaces.emplace(name, std::move(*m));
        }
      }
    }
    if (const toml::node* n = root.get("tokens")) {
      if (const toml::table* t = want_table(*n, "tokens")) config.tokens = tokens(*t);
    }
    if (problems_.empty()) return config;
    std::stable_sort(problems_.begin(), problems_.end(),
                     [](const Problem& a, const Problem& b) { return a.line < b.line; });
    std::string message;
    for (const Problem& p : problems_) {
      if (!message.empty()) message += '\n';
      message += p.text;
    }
    return reject(Code::bad_request, std::move(message));
  }

 private:
  void fail(const toml::source_region& where, std::string_view path, std::string_view what) {
    problems_.push_back({where.begin.line, std::string(path) + ": " + std::string(what)});
  }
  void fail(const toml::node& where, std::string_view path, std::string_view what) {
    fail(where.source(), path, what);
  }
  // A rejection from money.h (whose message names `field` already) as a problem at `where`.
  void fail_with(const toml::node& where, std::string_view path, const Rejection& r) {
    if (r.message.starts_with(path)) {
      problems_.push_back({where.source().begin.line, r.message});
    } else {
      fail(where, path, r.message);
    }
  }

  // Unknown keys are problems; so are missing required ones.
  void check_keys(const toml::table& t, std::string_view path,
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

  const toml::table* want_table(const toml::node& n, std::string_view path) {
    if (const toml::table* t = n.as_table()) return t;
    fail(n, path, std::string("must be a table, not ") + std::string(type_name(n)));
    return nullptr;
  }

  // `decimal`: the string holds a rate or an amount, which SPEC section 1 writes as text so that
  // binary floating point never touches it; a TOML number there gets that hint.
  const std::string* want_string(const toml::node& n, std::string_view path,
                                 std::string_view what = "a string", bool decimal = false) {
    if (const auto* v = n.as_string()) return &v->get();
    std::string msg = "must be " + std::string(what) + ", not " + std::string(type_name(n));
    if (decimal && (n.is_floating_point() || n.is_integer()))
      msg += " (write exact decimals as strings)";
    fail(n, path, msg);
    return nullptr;
  }

  std::optional<int64_t> want_integer(const toml::node& n, std::string_view path, int64_t lo,
                                      int64_t hi) {
    const auto* v = n.as_integer();
    if (!v) {
      fail(n, path, "must be an integer, not " + std::string(type_name(n)));
      return std::nullopt;
    }
    int64_t x = v->get();
    if (x < lo || x > hi) {
      fail(
          n, path,
          std::to_string(x) + " is out of range " + std::to_string(lo) + ".." + std::to_string(hi));
      return std::nullopt;
    }
    return x;
  }

  // A date as the string "YYYY-MM-DD" or a TOML local date.
  std::optional<Date> want_date(const toml::node& n, std::string_view path) {
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

  // A rate string, at most `max` (nullopt: no bound beyond Rate's own).
  std::optional<Rate> want_rate(const toml::node& n, std::string_view path,
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

  template <class Enum>
  std::optional<Enum> want_enum(const toml::node& n, std::string_view path,
                                std::initializer_list<std::pair<std::string_view, Enum>> names) {
    const std::string* s = want_string(n, path);
    if (!s) return std::nullopt;
    std::string choices;
    for (auto& [name, value] : names) {
      if (name == *s) return value;
      choices += choices.empty() ? "" : " | ";
      choices += name;
    }
    fail(n, path, in_quotes(*s) + " is not one of " + choices);
    return std::nullopt;
  }

  // A non-negative amount in currency `c`.
  std::optional<Amount> want_amount(const toml::node& n, std::string_view path, const Currency& c) {
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

  // SPEC section 3: "a fixed amount is given in the marketplace's first currency unless a table
  // per currency gives it". Either form yields an entry for every marketplace currency; those
  // not given are zero. `currencies` empty means the marketplace's currencies are unusable
  // (already reported): then only what can be checked without them is.
  std::optional<AmountByCurrency> per_currency(const toml::node& n, std::string_view path,
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

  std::optional<std::vector<Currency>> currencies(const toml::node& n, std::string_view path) {
    const toml::array* a = n.as_array();
    if (!a) {
      fail(n, path, "must be an array of currency codes, not " + std::string(type_name(n)));
      return std::nullopt;
    }
    if (a->empty()) {
      fail(n, path, "must name at least one currency");
      return std::nullopt;
    }
    std::vector<Currency> out;
    bool ok = true;
    for (size_t i = 0; i < a->size(); ++i) {
      const toml::node& e = *a->get(i);
      std::string p = std::string(path) + "[" + std::to_string(i) + "]";
      const std::string* code = want_string(e, p);
      if (!code) {
        ok = false;
        continue;
      }
      std::optional<Currency> c = table_.find(*code);
      if (!c) {
        fail(e, p, "unknown currency " + in_quotes(*code));
        ok = false;
      } else if (std::find(out.begin(), out.end(), *c) != out.end()) {
        fail(e, p, "duplicate currency " + in_quotes(*code));
        ok = false;
      } else {
        out.push_back(*c);
      }
    }
    if (!ok) return std::nullopt;
    return out;
  }

  std::optional<Schedule> schedule(const toml::node& n, std::string_view path) {
    const toml::table* t = want_table(n, path);
    if (!t) return std::nullopt;
    check_keys(*t, path, {"every_days", "anchor"}, {"every_days", "anchor"});
    Schedule s;
    bool ok = t->contains("every_days") && t->contains("anchor");
    if (const toml::node* e = t->get("every_days")) {
      auto v = want_integer(*e, join(path, "every_days"), 1, kEveryDaysMax);
      if (v)
        s.every_days = int(*v);
      else
        ok = false;
    }
    if (const toml::node* a = t->get("anchor")) {
      auto d = want_date(*a, join(path, "anchor"));
      if (d)
        s.anchor = *d;
      else
        ok = false;
    }
    if (!ok) return std::nullopt;
    return s;
  }

  std::optional<PayoutAccount> payout_account(const toml::node& n, std::string_view path) {
    const toml::table* t = want_table(n, path);
    if (!t) return std::nullopt;
    check_keys(*t, path, {"name", "iban", "bic"}, {"name", "iban", "bic"});
    PayoutAccount acct;
    bool ok = t->contains("name") && t->contains("iban") && t->contains("bic");
    if (const toml::node* v = t->get("name")) {
      std::string p = join(path, "name");
      const std::string* s = want_string(*v, p);
      std::optional<size_t> len = s ? bank_text_length(*s) : std::nullopt;
      if (len && *len >= 1 && *len <= 140) {
        acct.name = *s;
      } else {
        if (s) fail(*v, p, "must be 1..140 characters of UTF-8 without control characters");
        ok = false;
      }
    }
    if (const toml::node* v = t->get("iban")) {
      std::string p = join(path, "iban");
      const std::string* s = want_string(*v, p);
      Result<BankAccount> a = parse_bank_account(s ? *s : "", p);
      if (s && a.ok()) {
        acct.iban = a->id;
      } else {
        if (s) fail_with(*v, p, a.error());
        ok = false;
      }
    }
    if (const toml::node* v = t->get("bic")) {
      std::string p = join(path, "bic");
      const std::string* s = want_string(*v, p);
      if (s && valid_bic(*s)) {
        acct.bic = *s;
      } else {
        if (s) fail(*v, p, in_quotes(*s) + " is not a BIC (8 or 11 letters and digits)");
        ok = false;
      }
    }
    if (!ok) return std::nullopt;
    return acct;
  }

  std::optional<MarketplaceConfig> marketplace(const std::string& name, const std::string& path,
                                               const toml::node& node,
                                               const toml::source_region& key_source) {
    bool ok = true;
    if (!valid_segment(name) || name.size() > kMarketplaceNameMax) {
      fail(key_source, path,
           "marketplace name must match [a-z0-9][a-z0-9_.-]* and be at most 64 bytes (it "
           "starts account names)");
      ok = false;
    }
    const toml::table* t = want_table(node, path);
    if (!t) return std::nullopt;
    check_keys(*t, path,
               {"currencies", "timezone", "rounding", "commission_rate", "affiliate_rate",
                "fee_rate", "fee_fixed", "fee_payer", "hold_days", "hold_from", "schedule",
                "minimum_payout", "holidays", "payout_account", "earning"},
               {"currencies", "timezone", "commission_rate", "fee_rate", "fee_fixed", "fee_payer",
                "hold_days", "hold_from", "schedule", "minimum_payout", "payout_account"});
    const size_t problems_before = problems_.size();
    MarketplaceConfig m;
    m.name = name;
    auto sub = [&](std::string_view key) { return join(path, key); };

    // Currencies first: amounts are parsed with their exponents.
    if (const toml::node* n = t->get("currencies")) {
      if (auto cs = currencies(*n, sub("currencies"))) m.currencies = std::move(*cs);
    }
    if (const toml::node* n = t->get("timezone")) {
      if (const std::string* s = want_string(*n, sub("timezone"))) {
        try {
          m.zone = date::locate_zone(*s);
          m.timezone = *s;
        } catch (const std::exception&) {
          fail(*n, sub("timezone"), "unknown IANA time zone " + in_quotes(*s));
        }
      }
    }
    if (const toml::node* n = t->get("rounding")) {
      if (const std::string* s = want_string(*n, sub("rounding"))) {
        if (auto r = parse_rounding(*s))
          m.rounding = *r;
        else
          fail(*n, sub("rounding"),
               in_quotes(*s) + " is not one of half_even | half_up | down | up");
      }
    }
    const Rate hundred_percent = Rate::from_numerator(Rate::kDenominator);
    if (const toml::node* n = t->get("commission_rate")) {
      std::string p = sub("commission_rate");
      if (const toml::table* ct = want_table(*n, p)) {
        if (ct->empty()) fail(*n, p, "must give a rate for at least one category");
        for (auto&& [key, value] : *ct) {
          if (auto r = want_rate(value, join(p, key.str()), hundred_percent))
            m.commission_rate.emplace(std::string(key.str()), *r);
        }
      }
    }
    if (const toml::node* n = t->get("affiliate_rate")) {
      std::string p = sub("affiliate_rate");
      if (auto r = want_rate(*n, p, hundred_percent)) {
        m.affiliate_rate = *r;
        // SPEC section 3: the affiliate is paid out of the platform's commission (A <= C). Equal
        // rates round equal amounts equally, so rate <= rate is what makes A <= C always hold.
        for (auto& [category, c] : m.commission_rate) {
          if (*r > c) {
            fail(*n, p,
                 r->to_string() + " is above " + join("commission_rate", category) + " " +
                     c.to_string());
          }
        }
      }
    }
    if (const toml::node* n = t->get("fee_rate")) {
      if (auto r = want_rate(*n, sub("fee_rate"), hundred_percent)) m.fee_rate = *r;
    }
    if (const toml::node* n = t->get("fee_fixed")) {
      if (auto a = per_currency(*n, sub("fee_fixed"), m.currencies)) m.fee_fixed = std::move(*a);
    }
    if (const toml::node* n = t->get("fee_payer")) {
      if (auto v = want_enum<FeePayer>(
              *n, sub("fee_payer"), {{"payee", FeePayer::payee}, {"platform", FeePayer::platform}}))
        m.fee_payer = *v;
    }
    if (const toml::node* n = t->get("hold_days")) {
      if (auto v = want_integer(*n, sub("hold_days"), 0, kHoldDaysMax)) m.hold_days = int(*v);
    }
    if (const toml::node* n = t->get("hold_from")) {
      if (auto v = want_enum<HoldFrom>(
              *n, sub("hold_from"), {{"sale", HoldFrom::sale}, {"delivery", HoldFrom::delivery}}))
        m.hold_from = *v;
    }
    if (const toml::node* n = t->get("schedule")) {
      if (auto s = schedule(*n, sub("schedule"))) m.schedule = *s;
    }
    if (const toml::node* n = t->get("minimum_payout")) {
      if (auto a = per_currency(*n, sub("minimum_payout"), m.currencies))
        m.minimum_payout = std::move(*a);
    }
    if (const toml::node* n = t->get("holidays")) {
      std::string p = sub("holidays");
      if (const toml::array* a = n->as_array()) {
        for (size_t i = 0; i < a->size(); ++i) {
          if (auto d = want_date(*a->get(i), p + "[" + std::to_string(i) + "]"))
            m.holidays.push_back(*d);
        }
        std::sort(m.holidays.begin(), m.holidays.end());
        m.holidays.erase(std::unique(m.holidays.begin(), m.holidays.end()), m.holidays.end());
      } else {
        fail(*n, p, "must be an array of dates, not " + std::string(type_name(*n)));
      }
    }
    if (const toml::node* n = t->get("payout_account")) {
      if (auto a = payout_account(*n, sub("payout_account"))) m.payout_account = std::move(*a);
    }
    if (const toml::node* n = t->get("earning")) {
      std::string p = sub("earning");
      if (const toml::table* et = want_table(*n, p)) {
        for (auto&& [key, value] : *et) {
          std::string rule_name(key.str());
          if (auto rule = earning_rule(rule_name, join(p, rule_name), value, m.currencies))
            m.earning.emplace(rule_name, std::move(*rule));
        }
      }
    }
    if (!ok || problems_.size() != problems_before) return std::nullopt;
    return m;
  }

  std::optional<EarningRule> earning_rule(const std::string& name, const std::string& path,
                                          const toml::node& node,
                                          const std::vector<Currency>& currencies) {
    const toml::table* t = want_table(node, path);
    if (!t) return std::nullopt;
    check_keys(*t, path, {"rate", "minimum"}, {"rate"});
    EarningRule rule;
    rule.name = name;
    for (const Currency& c : currencies) rule.minimum.emplace(std::string(c.code()), Amount());
    bool ok = t->contains("rate");
    if (const toml::node* n = t->get("rate")) {
      if (auto r = want_rate(*n, join(path, "rate"), std::nullopt))
        rule.rate = *r;
      else
        ok = false;
    }
    if (const toml::node* n = t->get("minimum")) {
      if (auto a = per_currency(*n, join(path, "minimum"), currencies))
        rule.minimum = std::move(*a);
      else
        ok = false;
    }
    if (!ok) return std::nullopt;
    return rule;
  }

  std::vector<TokenGrant> tokens(const toml::table& t) {
    std::vector<TokenGrant> out;
    for (auto&& [key, node] : t) {
      std::string token(key.str());
      std::string path = join("tokens", token);
      // Tokens travel on command lines and in environment variables.
      if (token.empty() || token.size() > kTokenBytesMax || !printable_ascii_no_space(token)) {
        fail(key.source(), path, "a token must be 1..256 printable ASCII characters, no spaces");
        continue;
      }
      const toml::array* a = node.as_array();
      if (!a) {
        fail(node, path, "must be an array of role names, not " + std::string(type_name(node)));
        continue;
      }
      if (a->empty()) {
        fail(node, path, "must grant at least one role (poster | auditor | finance)");
        continue;
      }
      TokenGrant g{token, {}};
      bool ok = true;
      for (size_t i = 0; i < a->size(); ++i) {
        std::string p = path + "[" + std::to_string(i) + "]";
        const toml::node& e = *a->get(i);
        const std::string* s = want_string(e, p);
        if (!s) {
          ok = false;
        } else if (auto r = parse_role(*s)) {
          g.roles.push_back(*r);
        } else {
          fail(e, p, "unknown role " + in_quotes(*s) + " (poster | auditor | finance)");
          ok = false;
        }
      }
      if (!ok) continue;
      std::sort(g.roles.begin(), g.roles.end());
      g.roles.erase(std::unique(g.roles.begin(), g.roles.end()), g.roles.end());
      out.push_back(std::move(g));
    }
    std::sort(out.begin(), out.end(),
              [](const TokenGrant& a, const TokenGrant& b) { return a.token < b.token; });
    return out;
  }

  const CurrencyTable& table_;
  std::vector<Problem> problems_;
};

}  // namespace

Result<Config> load_config(std::string_view toml_text, const CurrencyTable& currencies) {
  toml::table root;
  // toml++ is built with exceptions here: its parse error is caught at this boundary only.
  try {
    root = toml::parse(toml_text);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    return reject(Code::bad_request,
                  "config: TOML syntax error at line " + std::to_string(at.line) + ", column " +
                      std::to_string(at.column) + ": " + std::string(e.description()));
  }
  return Loader(currencies).load(root);
}

Result<Config> load_config_file(const std::string& path, const CurrencyTable& currencies) {
  std::error_code ec;
  // A directory opens as a stream on Linux and reads as nothing: check first.
  if (!std::filesystem::is_regular_file(path, ec)) {
    return reject(Code::bad_request, "config: " + in_quotes(path) + " is not a readable file");
  }
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    return reject(Code::bad_request, "config: cannot read " + in_quotes(path));
  }
  return load_config(text, currencies);
}

}  // namespace tally
