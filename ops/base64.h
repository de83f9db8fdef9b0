// Standard base64 (RFC 4648 section 4, with '=' padding): how etcd's JSON gateway carries keys
// and values.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tally {

std::string base64_encode(std::string_view bytes);
// Strict: the standard alphabet, length a multiple of 4, padding only at the end, and the unused
// bits of the last symbol zero. Anything else (whitespace, the URL-safe alphabet) is nullopt.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace tally
