// The small conversions the wire codecs share (rpc/wire.cpp): times in range, field paths,
// account kinds and sides, meta, optional text, money and digests. Internal to rpc/; the public
// conversions are in rpc/wire.h.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rpc/wire.h"

namespace tally::wire {

// A time the ledger accepts (years 1900..2200, as parse_rfc3339): else bad_time naming `field`.
Result<TimeNs> get_time(int64_t ns, std::string_view field);
// A required RFC 3339 time a client sent (parse_rfc3339): absent or empty is bad_time naming
// `field` ("at: missing: ..."), never 1970.
Result<TimeNs> get_time_text(bool has, capnp::Text::Reader r, std::string_view field);
// "field[i]".
std::string at(std::string_view field, size_t i);

::tally::wire::AccountKind kind_to_wire(tally::AccountKind k);
Result<tally::AccountKind> kind_from_wire(::tally::wire::AccountKind k, std::string_view field);
::tally::wire::Side side_to_wire(tally::Side s);
Result<tally::Side> side_from_wire(::tally::wire::Side s, std::string_view field);

void encode_meta(capnp::List<KeyValue>::Builder b,
                 const std::vector<std::pair<std::string, std::string>>& meta);
// Meta as sent: more keys or more bytes of keys and values than limits::meta_bytes_max is
// bad_meta naming `field` before anything is copied (validate_meta checks the rest).
Result<std::vector<std::pair<std::string, std::string>>> decode_meta(
    capnp::List<KeyValue>::Reader r, std::string_view field);
// Optional text: a null pointer is absent.
std::optional<std::string> opt_text(bool has, capnp::Text::Reader r);

// Money as the server reports it: the code and the amount printed with exactly the currency's
// exponent digits (format_amount).
void set_money(CurrencyAmount::Builder b, const tally::Currency& c, Amount a);
// Reads what set_money wrote (the client side): money_from_text.
Result<CurrencyTotal> get_money(CurrencyAmount::Reader r, std::string_view field);
// Money the server reported as a code and decimal text: the currency's exponent is the number of
// fraction digits (the server always prints exactly them). bad_currency / bad_amount naming
// `field`.
Result<CurrencyTotal> money_from_text(capnp::Text::Reader code, capnp::Text::Reader amount,
                                      std::string_view field);
// Another amount in a currency already known (a statement line's balance after).
Result<Amount> amount_in(const tally::Currency& c, capnp::Text::Reader amount,
                         std::string_view field);

Digest get_digest(capnp::Data::Reader d);
// Points into `d`, which must outlive the reader.
capnp::Data::Reader data_of(const Digest& d);

}  // namespace tally::wire
