#include "settlement/config.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <utility>

#include "ledger/entry.h"
#include "settlement/config_reader.h"

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
    case Role::replica:
      return "replica";
  }
  return "?";
}
std::optional<Role> parse_role(std::string_view name) {
  for (Role r : {Role::poster, Role::auditor, Role::finance, Role::replica})
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
// A marketplace's calendar.

std::optional<PayDate> pay_date_for(const MarketplaceConfig& m, Date d) {
  return pay_date_for(m.schedule, m.holidays, d);
}

std::vector<PayDate> next_pay_dates(const MarketplaceConfig& m, Date from, size_t n) {
  return next_pay_dates(m.schedule, m.holidays, from, n);
}

Result<int64_t> cutoff(const MarketplaceConfig& m, Date pay_date) {
  TALLY_ASSERT(m.zone != nullptr, "marketplace " + m.name + " has no resolved zone");
  return start_of_day_ns(*m.zone, pay_date);
}

// ---------------------------------------------------------------------------------------------
// Loading.

namespace {

using namespace config_reader;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

constexpr int64_t kHoldDaysMax = 3650;
constexpr size_t kTokenBytesMax = 256;
constexpr Rate kHundredPercent = Rate::from_numerator(Rate::kDenominator);

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

class Loader : public Reader {
 public:
  explicit Loader(const CurrencyTable& table) : Reader(table) {}

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
    if (problem_count() == 0) return config;
    return reject(Code::bad_request, problems());
  }

 private:
 private:
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
      std::string p = index(path, i);
      const std::string* code = want_string(e, p);
      if (!code) {
        ok = false;
        continue;
      }
      std::optional<Currency> c = currency_table().find(*code);
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

  // `reserve = { rate, days }`, both required.
  std::optional<Reserve> reserve(const toml::node& n, std::string_view path) {
    const toml::table* t = want_table(n, path);
    if (!t) return std::nullopt;
    const size_t before = problem_count();
    check_keys(*t, path, {"rate", "days"}, {"rate", "days"});
    Reserve r;
    if (const toml::node* v = t->get("rate")) {
      if (auto x = want_rate(*v, join(path, "rate"), kHundredPercent)) r.rate = *x;
    }
    if (const toml::node* v = t->get("days")) {
      if (auto x = want_integer(*v, join(path, "days"), 1, Reserve::reserve_days_max))
        r.days = int(*x);
    }
    if (problem_count() != before) return std::nullopt;
    return r;
  }

  // `payout_tax = { rate, account, rounding?, currency? }`. `m` has the marketplace's name,
  // rounding and currencies read already; `name_ok`: its name is a valid account segment.
  std::optional<PayoutTax> payout_tax(const toml::node& n, std::string_view path,
                                      const MarketplaceConfig& m, bool name_ok) {
    const toml::table* t = want_table(n, path);
    if (!t) return std::nullopt;
    const size_t before = problem_count();
    check_keys(*t, path, {"rate", "account", "rounding", "currency"}, {"rate", "account"});
    PayoutTax tax;
    tax.rounding = m.rounding;
    if (const toml::node* v = t->get("rate")) {
      if (auto x = want_rate(*v, join(path, "rate"), kHundredPercent)) tax.rate = *x;
    }
    if (const toml::node* v = t->get("account")) {
      std::string p = join(path, "account");
      if (const std::string* s = want_string(*v, p)) {
        // Segments relative to the marketplace, under its expense accounts: the tax is an
        // expense of the platform, and nothing else of the chart may be booked to by it.
        Result<bool> valid = validate_account_name(*s, p);
        std::string full = m.name + ":" + *s;
        if (!valid.ok()) {
          fail_with(*v, p, valid.error());
        } else if (!s->starts_with("expense:")) {
          fail(*v, p,
               in_quotes(*s) +
                   " must be an expense account: \"expense:NAME\" (the ledger "
                   "account is then \"" +
                   full + "\")");
        } else if (name_ok && !validate_account_name(full, p).ok()) {
          fail(*v, p, "the ledger account \"" + full + "\" is longer than 200 bytes");
        } else {
          tax.account = full;
        }
      }
    }
    if (const toml::node* v = t->get("rounding")) {
      std::string p = join(path, "rounding");
      if (const std::string* s = want_string(*v, p)) {
        if (auto r = parse_rounding(*s))
          tax.rounding = *r;
        else
          fail(*v, p, in_quotes(*s) + " is not one of half_even | half_up | down | up");
      }
    }
    if (const toml::node* v = t->get("currency")) {
      std::string p = join(path, "currency");
      if (const std::string* s = want_string(*v, p)) {
        std::optional<Currency> c = m.currency(*s);
        if (c)
          tax.currency = *c;
        else if (!m.currencies.empty())
          fail(*v, p, in_quotes(*s) + " is not one of the marketplace's currencies");
      }
    }
    if (problem_count() != before) return std::nullopt;
    return tax;
  }

  std::optional<MarketplaceConfig> marketplace(const std::string& name, const std::string& path,
                                               const toml::node& node,
                                               const toml::source_region& key_source) {
    bool ok = true;
    if (!valid_segment(name) || name.size() > limits::marketplace_name_bytes_max) {
      fail(key_source, path,
           "marketplace name must match [a-z0-9][a-z0-9_.-]* and be at most 64 bytes (it "
           "starts account names)");
      ok = false;
    }
    const toml::table* t = want_table(node, path);
    if (!t) return std::nullopt;
    check_keys(*t, path, {"currencies",      "timezone",       "rounding",  "commission_rate",
                          "affiliate_rate",  "fee_rate",       "fee_fixed", "fee_payer",
                          "hold_days",       "hold_from",      "schedule",  "minimum_payout",
                          "holidays",        "payout_account", "earning",   "reserve",
                          "minimum_balance", "payout_tax",     "ach",       "co_dispersion"},
               {"currencies", "timezone", "commission_rate", "fee_rate", "fee_fixed", "fee_payer",
                "hold_days", "hold_from", "schedule", "minimum_payout", "payout_account"});
    const size_t problems_before = problem_count();
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
    if (const toml::node* n = t->get("commission_rate")) {
      std::string p = sub("commission_rate");
      if (const toml::table* ct = want_table(*n, p)) {
        if (ct->empty()) fail(*n, p, "must give a rate for at least one category");
        for (auto&& [key, value] : *ct) {
          if (auto r = want_rate(value, join(p, key.str()), kHundredPercent))
            m.commission_rate.emplace(std::string(key.str()), *r);
        }
      }
    }
    if (const toml::node* n = t->get("affiliate_rate")) {
      std::string p = sub("affiliate_rate");
      if (auto r = want_rate(*n, p, kHundredPercent)) {
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
      if (auto r = want_rate(*n, sub("fee_rate"), kHundredPercent)) m.fee_rate = *r;
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
      if (auto s = read_schedule(*this, *n, sub("schedule"))) m.schedule = std::move(*s);
    }
    if (const toml::node* n = t->get("minimum_payout")) {
      if (auto a = per_currency(*n, sub("minimum_payout"), m.currencies))
        m.minimum_payout = std::move(*a);
    }
    if (const toml::node* n = t->get("holidays")) {
      std::string p = sub("holidays");
      if (const toml::array* a = n->as_array()) {
        for (size_t i = 0; i < a->size(); ++i) {
          if (auto d = want_date(*a->get(i), index(p, i))) m.holidays.push_back(*d);
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
    if (const toml::node* n = t->get("reserve")) {
      if (auto r = reserve(*n, sub("reserve"))) m.reserve = *r;
    }
    for (const Currency& c : m.currencies)
      m.minimum_balance.emplace(std::string(c.code()), Amount());
    if (const toml::node* n = t->get("minimum_balance")) {
      if (auto a = per_currency(*n, sub("minimum_balance"), m.currencies))
        m.minimum_balance = std::move(*a);
    }
    if (const toml::node* n = t->get("payout_tax")) {
      if (auto tax = payout_tax(*n, sub("payout_tax"), m, ok)) m.payout_tax = std::move(*tax);
    }
    if (const toml::node* n = t->get("ach")) {
      if (auto a = read_ach(*this, *n, sub("ach"), m.currencies)) m.ach = std::move(*a);
    }
    if (const toml::node* n = t->get("co_dispersion")) {
      if (auto o = read_co_dispersion(*this, *n, sub("co_dispersion"), m.currencies))
        m.co_dispersion = std::move(*o);
    }
    if (!ok || problem_count() != problems_before) return std::nullopt;
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
      // A stored hash (docs/operations.md, "Hashed tokens"): "sha256:" and 64 lowercase hex
      // digits. The text is not quoted in the error: it may be a mistyped secret.
      if (token.rfind("sha256:", 0) == 0) {
        const std::string_view hex = std::string_view(token).substr(7);
        const bool hex_ok = hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
                              return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                            });
        if (!hex_ok) {
          fail(key.source(), "tokens",
               "a key beginning with sha256: must be followed by exactly 64 lowercase hex digits "
               "(tally token hash makes one)");
          continue;
        }
      }
      const toml::array* a = node.as_array();
      if (!a) {
        fail(node, path, "must be an array of role names, not " + std::string(type_name(node)));
        continue;
      }
      if (a->empty()) {
        fail(node, path, "must grant at least one role (poster | auditor | finance | replica)");
        continue;
      }
      TokenGrant g{token, {}};
      bool ok = true;
      for (size_t i = 0; i < a->size(); ++i) {
        std::string p = index(path, i);
        const toml::node& e = *a->get(i);
        const std::string* s = want_string(e, p);
        if (!s) {
          ok = false;
        } else if (auto r = parse_role(*s)) {
          g.roles.push_back(*r);
        } else {
          fail(e, p, "unknown role " + in_quotes(*s) + " (poster | auditor | finance | replica)");
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
