// Internal to the config loader (settlement/config*.cpp, settlement/originators.cpp): reading
// typed values out of a parsed TOML tree while collecting every problem, each with its key path
// and source line. Not a public interface; settlement/config.h is.
//
// A Reader's want_* functions return the value, or nothing after recording a problem ("path:
// what is wrong"); a caller goes on reading so that one load reports every problem at once.
// problems() sorts them into file order (by source line; problems on one line in the order they
// were found) as the one message of a bad_request.
//
// Thread safety: a Reader is used by one thread; separate Readers are independent.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/money.h"
#include "ledger/status.h"
#include "settlement/config.h"

namespace tally::config_reader {

// A key as TOML would write it: bare when it can be, else a quoted string.
std::string key_text(std::string_view key);
// `path.key` (just `key` when path is empty), the key written as TOML would.
std::string join(std::string_view path, std::string_view key);
// `path[i]`.
std::string index(std::string_view path, size_t i);
std::string in_quotes(std::string_view s);
// "a table", "a string", ...: what a node is, for messages.
std::string_view type_name(const toml::node& n);

class Reader {
 public:
  explicit Reader(const CurrencyTable& table) : table_(table) {}

  const CurrencyTable& currency_table() const { return table_; }

  void fail(const toml::source_region& where, std::string_view path, std::string_view what);
  void fail(const toml::node& where, std::string_view path, std::string_view what);
  // A rejection whose message may name `path` already (money.h's, calendar.h's) as a problem.
  void fail_with(const toml::node& where, std::string_view path, const Rejection& r);
  size_t problem_count() const { return problems_.size(); }
  // Every problem, one per line, in file order; empty when there is none.
  std::string problems();

  // Unknown keys are problems; so are missing required ones (reported at the table).
  void check_keys(const toml::table& t, std::string_view path,
                  std::initializer_list<std::string_view> allowed,
                  std::initializer_list<std::string_view> required);

  const toml::table* want_table(const toml::node& n, std::string_view path);
  // `decimal`: the string holds a rate or an amount, which SPEC section 1 writes as text so
  // that binary floating point never touches it; a TOML number there gets that hint.
  const std::string* want_string(const toml::node& n, std::string_view path,
                                 std::string_view what = "a string", bool decimal = false);
  // A string for which `ok` holds; otherwise "must be <rule>" (with the value quoted).
  template <class Pred>
  std::optional<std::string> want_text(const toml::node& n, std::string_view path, Pred ok,
                                       std::string_view rule) {
    const std::string* s = want_string(n, path);
    if (!s) return std::nullopt;
    if (ok(std::string_view(*s))) return *s;
    fail(n, path, in_quotes(*s) + " must be " + std::string(rule));
    return std::nullopt;
  }
  std::optional<int64_t> want_integer(const toml::node& n, std::string_view path, int64_t lo,
                                      int64_t hi);
  // A date as the string "YYYY-MM-DD" or a TOML local date.
  std::optional<Date> want_date(const toml::node& n, std::string_view path);
  // A rate string, at most `max` (nullopt: no bound beyond Rate's own).
  std::optional<Rate> want_rate(const toml::node& n, std::string_view path,
                                std::optional<Rate> max);
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
  std::optional<Amount> want_amount(const toml::node& n, std::string_view path, const Currency& c);
  // SPEC section 3's fixed amount: a string in the first of `currencies`, or a table per
  // currency; every one of `currencies` gets an entry (zero where not given). `currencies`
  // empty: the marketplace's currencies are unusable (already reported), so only what can be
  // checked without them is.
  std::optional<AmountByCurrency> per_currency(const toml::node& n, std::string_view path,
                                               const std::vector<Currency>& currencies);

 private:
  struct Problem {
    uint32_t line;
    std::string text;
  };
  const CurrencyTable& table_;
  std::vector<Problem> problems_;
};

// The readers of config sections that live in other files (settlement/schedule_config.cpp,
// settlement/originators.cpp). Each returns the value, or nothing after recording its problems.
// `currencies`: the marketplace's (empty when they are unusable, already reported).
std::optional<Schedule> read_schedule(Reader& r, const toml::node& n, std::string_view path);
std::optional<AchOriginator> read_ach(Reader& r, const toml::node& n, std::string_view path,
                                      const std::vector<Currency>& currencies);
std::optional<CoDispersionOriginator> read_co_dispersion(Reader& r, const toml::node& n,
                                                         std::string_view path,
                                                         const std::vector<Currency>& currencies);

}  // namespace tally::config_reader
