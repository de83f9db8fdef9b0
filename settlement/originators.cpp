#include "settlement/originators.h"

#include <algorithm>

#include "settlement/bank_ids.h"
#include "settlement/config_reader.h"

namespace tally {

namespace {
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool digits(std::string_view s, size_t min, size_t max) {
  return s.size() >= min && s.size() <= max && std::all_of(s.begin(), s.end(), is_digit);
}
bool upper_alnum(std::string_view s, size_t min, size_t max) {
  return s.size() >= min && s.size() <= max && std::all_of(s.begin(), s.end(), [](char c) {
           return is_digit(c) || (c >= 'A' && c <= 'Z');
         });
}
}  // namespace

bool nacha_text_ok(std::string_view s) {
  if (!s.empty() && (s.front() == ' ' || s.back() == ' ')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c >= ' ' && c < 0x7F && !(c >= 'a' && c <= 'z'); });
}

namespace config_reader {

namespace {

bool holds(const std::vector<Currency>& currencies, std::string_view code) {
  return std::any_of(currencies.begin(), currencies.end(),
                     [&](const Currency& c) { return c.code() == code; });
}

// Reads t[key] into `out` with `read` when the key is there (missing required keys are
// check_keys's to report).
template <class Read>
void field(const toml::table& t, std::string_view key, std::string_view path, Read read) {
  if (const toml::node* v = t.get(key)) read(*v, join(path, key));
}

std::optional<std::string> want_routing(Reader& r, const toml::node& n, const std::string& p) {
  const std::string* s = r.want_string(n, p);
  if (!s) return std::nullopt;
  if (!digits(*s, 9, 9)) {
    r.fail(n, p, in_quotes(*s) + " must be a routing number of 9 digits");
    return std::nullopt;
  }
  if (!aba_routing_ok(*s)) {
    r.fail(n, p, in_quotes(*s) + " fails the ABA routing number check digit");
    return std::nullopt;
  }
  return *s;
}

}  // namespace

std::optional<AchOriginator> read_ach(Reader& r, const toml::node& n, std::string_view path,
                                      const std::vector<Currency>& currencies) {
  const toml::table* t = r.want_table(n, path);
  if (!t) return std::nullopt;
  const size_t before = r.problem_count();
  r.check_keys(*t, path,
               {"company_name", "company_id", "odfi_routing", "immediate_destination",
                "immediate_destination_name", "immediate_origin", "immediate_origin_name",
                "entry_description"},
               {"company_name", "company_id", "odfi_routing", "immediate_destination",
                "immediate_origin", "entry_description"});
  if (!currencies.empty() && !holds(currencies, "USD"))
    r.fail(*t, path, "the marketplace has no USD (a NACHA file pays in USD)");
  AchOriginator a;
  auto nacha = [&](std::string& out, size_t min, size_t max) {
    return [&r, &out, min, max](const toml::node& v, const std::string& p) {
      std::string rule = std::to_string(min) + ".." + std::to_string(max) +
                         " NACHA characters (printable ASCII without lower case, no leading or "
                         "trailing space)";
      auto ok = [&](std::string_view s) {
        return s.size() >= min && s.size() <= max && nacha_text_ok(s);
      };
      if (auto s = r.want_text(v, p, ok, rule)) out = *s;
    };
  };
  auto id = [&](std::string& out, size_t max) {
    return [&r, &out, max](const toml::node& v, const std::string& p) {
      auto ok = [&](std::string_view s) { return upper_alnum(s, 1, max); };
      if (auto s =
              r.want_text(v, p, ok, "1.." + std::to_string(max) + " capital letters or digits"))
        out = *s;
    };
  };
  auto routing = [&](std::string& out) {
    return [&r, &out](const toml::node& v, const std::string& p) {
      if (auto s = want_routing(r, v, p)) out = *s;
    };
  };
  field(*t, "company_name", path, nacha(a.company_name, 1, AchOriginator::company_name_max));
  field(*t, "company_id", path, id(a.company_id, AchOriginator::company_id_max));
  field(*t, "odfi_routing", path, routing(a.odfi_routing));
  field(*t, "immediate_destination", path, routing(a.immediate_destination));
  field(*t, "immediate_destination_name", path,
        nacha(a.immediate_destination_name, 0, AchOriginator::header_name_max));
  field(*t, "immediate_origin", path, id(a.immediate_origin, AchOriginator::immediate_origin_max));
  field(*t, "immediate_origin_name", path,
        nacha(a.immediate_origin_name, 0, AchOriginator::header_name_max));
  field(*t, "entry_description", path,
        nacha(a.entry_description, 1, AchOriginator::entry_description_max));
  if (r.problem_count() != before) return std::nullopt;
  return a;
}

std::optional<CoDispersionOriginator> read_co_dispersion(Reader& r, const toml::node& n,
                                                         std::string_view path,
                                                         const std::vector<Currency>& currencies) {
  const toml::table* t = r.want_table(n, path);
  if (!t) return std::nullopt;
  const size_t before = r.problem_count();
  r.check_keys(*t, path, {"company_nit", "company_name", "bank_code", "account_type", "account"},
               {"company_nit", "company_name", "bank_code", "account_type", "account"});
  if (!currencies.empty() && !holds(currencies, "COP"))
    r.fail(*t, path, "the marketplace has no COP (a Colombian dispersion file pays in COP)");
  CoDispersionOriginator o;
  field(*t, "company_nit", path, [&](const toml::node& v, const std::string& p) {
    const std::string* s = r.want_string(v, p);
    if (!s) return;
    std::string_view text = *s;
    size_t dash = text.find('-');
    std::string_view nit = text.substr(0, dash);
    std::string_view check = dash == std::string_view::npos ? "" : text.substr(dash + 1);
    if (!digits(nit, 1, 15) || !digits(check, 1, 1)) {
      r.fail(v, p,
             in_quotes(text) +
                 " must be the NIT's 1..15 digits, '-' and its check digit (\"900123456-8\")");
      return;
    }
    int want = *nit_check_digit(nit);
    if (check[0] - '0' != want) {
      r.fail(v, p,
             in_quotes(text) + ": the check digit is " + std::string(check) + ", DIAN's gives " +
                 std::to_string(want));
      return;
    }
    o.company_nit = std::string(nit);
    o.company_nit_check = want;
  });
  field(*t, "company_name", path, [&](const toml::node& v, const std::string& p) {
    auto ok = [](std::string_view s) {
      std::optional<size_t> len = bank_text_length(s);
      return len && *len >= 1 && *len <= 140;
    };
    if (auto s = r.want_text(v, p, ok, "1..140 characters of UTF-8 without control characters"))
      o.company_name = *s;
  });
  field(*t, "bank_code", path, [&](const toml::node& v, const std::string& p) {
    auto ok = [](std::string_view s) { return digits(s, 3, 4); };
    if (auto s = r.want_text(v, p, ok, "a bank code of 3 or 4 digits")) o.bank_code = *s;
  });
  field(*t, "account_type", path, [&](const toml::node& v, const std::string& p) {
    if (auto e = r.want_enum<CoAccountType>(
            v, p, {{"savings", CoAccountType::savings}, {"checking", CoAccountType::checking}}))
      o.account_type = *e;
  });
  field(*t, "account", path, [&](const toml::node& v, const std::string& p) {
    auto ok = [](std::string_view s) {
      return digits(s, 1, CoDispersionOriginator::account_digits_max);
    };
    if (auto s = r.want_text(v, p, ok, "an account number of 1..17 digits")) o.account = *s;
  });
  if (r.problem_count() != before) return std::nullopt;
  return o;
}

}  // namespace config_reader

}  // namespace tally
