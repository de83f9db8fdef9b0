// The strict reading of one JSON object's fields behind `tally post`'s JSON Lines
// (cli/json_items.h), shared by its item readers: unknown, duplicate and missing fields and wrong
// JSON types are rejected, each naming the field by its path ("postings[1].side: missing"); amounts
// are JSON strings, never numbers (bad_amount). Internal to tally_json_items.
//
// Thread safety: Obj is a view of a simdjson object and is valid while the parser that made it
// holds that document; the free functions are pure.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/json_writer.h"
#include "ledger/money.h"
#include "ledger/status.h"
#include "ledger/time.h"

namespace tally::json_fields {

using simdjson::dom::element;
using simdjson::dom::element_type;

// Evaluates `expr` (a Result); returns its error from the calling function, or binds its value to
// a new local `var`.
#define TALLY_TRY(var, expr)                           \
  auto var##_result = (expr);                          \
  if (!var##_result.ok()) return var##_result.error(); \
  auto var = std::move(var##_result).value()

// bad_request naming the field by its path.
Rejection bad(std::string path, std::string_view what);

// A key as it appears in messages: bare when it is a plain identifier, else JSON-quoted (a
// key may hold any bytes, including control characters).
std::string shown_key(std::string_view k);

// The JSON type as messages name it ("an array", "a number", "null"...).
std::string_view type_word(element_type t);

// The fields of one JSON object, checked against the names its item type allows.
class Obj {
 public:
  Obj(simdjson::dom::object obj, std::string prefix) : obj_(obj), prefix_(std::move(prefix)) {}

  // Rejects unknown and duplicate fields.
  Result<bool> check(const std::vector<std::string_view>& allowed) const {
    std::vector<std::string_view> seen;
    for (auto field : obj_) {
      std::string_view k = field.key;
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end())
        return bad(path(shown_key(k)), "unknown field");
      if (std::find(seen.begin(), seen.end(), k) != seen.end())
        return bad(path(shown_key(k)), "duplicate field");
      seen.push_back(k);
    }
    return true;
  }

  std::string path(std::string_view k) const { return prefix_ + std::string(k); }

  std::optional<element> get(std::string_view k) const {
    element e;
    if (obj_[k].get(e) != simdjson::SUCCESS) return std::nullopt;
    return e;
  }

  Result<element> required(std::string_view k) const {
    auto e = get(k);
    if (!e) return bad(path(k), "missing");
    return *e;
  }

  Result<std::string> string(std::string_view k) const {
    TALLY_TRY(e, required(k));
    return as_string(e, path(k));
  }

  Result<std::optional<std::string>> optional_string(std::string_view k) const {
    auto e = get(k);
    if (!e) return std::optional<std::string>();
    TALLY_TRY(s, as_string(*e, path(k)));
    return std::optional<std::string>(std::move(s));
  }

  Result<bool> boolean(std::string_view k, std::optional<bool> dflt) const {
    auto e = get(k);
    if (!e) {
      if (dflt) return *dflt;
      return bad(path(k), "missing");
    }
    bool b = false;
    if (e->get(b) != simdjson::SUCCESS)
      return bad(path(k),
                 std::string("must be true or false, not ") + std::string(type_word(e->type())));
    return b;
  }

  // An amount as decimal text: a JSON string, never a number.
  Result<std::string> amount_text(std::string_view k) const {
    TALLY_TRY(e, required(k));
    return amount_of(e, path(k));
  }
  Result<std::optional<std::string>> optional_amount_text(std::string_view k) const {
    auto e = get(k);
    if (!e) return std::optional<std::string>();
    TALLY_TRY(s, amount_of(*e, path(k)));
    return std::optional<std::string>(std::move(s));
  }

  static Result<std::string> as_string(const element& e, const std::string& path) {
    std::string_view s;
    if (e.get(s) != simdjson::SUCCESS)
      return bad(path, std::string("must be a string, not ") + std::string(type_word(e.type())));
    return std::string(s);
  }

  static Result<std::string> amount_of(const element& e, const std::string& path) {
    auto t = e.type();
    if (t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE)
      return reject(Code::bad_amount,
                    path + ": must be a string like \"12.50\", not a JSON number");
    std::string_view s;
    if (e.get(s) != simdjson::SUCCESS)
      return reject(Code::bad_amount,
                    path + ": must be a string like \"12.50\", not " + std::string(type_word(t)));
    return std::string(s);
  }

 private:
  simdjson::dom::object obj_;
  std::string prefix_;
};

// An entry's or event's id. Over limits::entry_id_bytes_max bytes it is bad_id naming the field
// here, as the wire reader refuses it (rpc/wire_items.cpp), so it goes no further; empty or not
// printable ASCII: validate_entry_shape and the rules.
Result<std::string> id_field(const Obj& o);

// Field `k`: an RFC 3339 time (bad_time otherwise).
Result<TimeNs> time_field(const Obj& o, std::string_view k);

// meta: an object of string values; keys unique. (Size and sorting: validate_entry_shape and
// the rules, which know the limits.)
Result<std::vector<std::pair<std::string, std::string>>> meta_field(const Obj& o);

// Required field `k`: a JSON array.
Result<simdjson::dom::array> array_field(const Obj& o, std::string_view k);

// An optional object field whose members are all the strings `keys` name, in that order; nullopt
// when the field is absent.
Result<std::optional<std::vector<std::string>>> sub_object(const Obj& o, std::string_view k,
                                                           std::vector<std::string_view> keys);

}  // namespace tally::json_fields
