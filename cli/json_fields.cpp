#include "cli/json_fields.h"

#include <algorithm>

#include "ledger/limits.h"

namespace tally::json_fields {

Rejection bad(std::string path, std::string_view what) {
  return reject(Code::bad_request, path + ": " + std::string(what));
}

// A key as it appears in messages: bare when it is a plain identifier, else JSON-quoted (a
// key may hold any bytes, including control characters).
std::string shown_key(std::string_view k) {
  bool plain = !k.empty() && k.size() <= 64 && std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
  if (plain) return std::string(k);
  return json_string(k.substr(0, 64));
}

std::string_view type_word(element_type t) {
  switch (t) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "a number";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "something else";
}

// An entry's or event's id. Over limits::entry_id_bytes_max bytes it is bad_id naming the field
// here, as the wire reader refuses it (rpc/wire_items.cpp), so it goes no further; empty or not
// printable ASCII: validate_entry_shape and the rules.
Result<std::string> id_field(const Obj& o) {
  TALLY_TRY(id, o.string("id"));
  if (id.size() > limits::entry_id_bytes_max)
    return reject(Code::bad_id, o.path("id") + ": " + std::to_string(id.size()) +
                                    " bytes, at most " +
                                    std::to_string(limits::entry_id_bytes_max));
  return id;
}

Result<TimeNs> time_field(const Obj& o, std::string_view k) {
  TALLY_TRY(s, o.string(k));
  return parse_rfc3339(s, o.path(k));
}

// meta: an object of string values; keys unique. (Size and sorting: validate_entry_shape and
// the rules, which know the limits.)
Result<std::vector<std::pair<std::string, std::string>>> meta_field(const Obj& o) {
  std::vector<std::pair<std::string, std::string>> meta;
  auto e = o.get("meta");
  if (!e) return meta;
  simdjson::dom::object m;
  if (e->get(m) != simdjson::SUCCESS)
    return reject(Code::bad_meta, o.path("meta") + ": must be an object of strings, not " +
                                      std::string(type_word(e->type())));
  for (auto field : m) {
    std::string key(field.key);
    std::string p = o.path("meta.") + shown_key(key);
    std::string_view v;
    if (field.value.get(v) != simdjson::SUCCESS)
      return reject(Code::bad_meta,
                    p + ": must be a string, not " + std::string(type_word(field.value.type())));
    for (auto& kv : meta)
      if (kv.first == key) return reject(Code::bad_meta, p + ": duplicate key");
    meta.emplace_back(std::move(key), std::string(v));
  }
  return meta;
}

Result<simdjson::dom::array> array_field(const Obj& o, std::string_view k) {
  TALLY_TRY(e, o.required(k));
  simdjson::dom::array a;
  if (e.get(a) != simdjson::SUCCESS)
    return bad(o.path(k), std::string("must be an array, not ") + std::string(type_word(e.type())));
  return a;
}

// An optional object field whose members are all the strings `keys` name, in that order; nullopt
// when the field is absent.
Result<std::optional<std::vector<std::string>>> sub_object(const Obj& o, std::string_view k,
                                                           std::vector<std::string_view> keys) {
  auto e = o.get(k);
  if (!e) return std::optional<std::vector<std::string>>();
  simdjson::dom::object obj;
  if (e->get(obj) != simdjson::SUCCESS)
    return bad(o.path(k),
               std::string("must be an object, not ") + std::string(type_word(e->type())));
  Obj sub(obj, o.path(k) + ".");
  TALLY_TRY(ok, sub.check(keys));
  (void)ok;
  std::vector<std::string> out;
  for (std::string_view key : keys) {
    TALLY_TRY(v, sub.string(key));
    out.push_back(std::move(v));
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

}  // namespace tally::json_fields
