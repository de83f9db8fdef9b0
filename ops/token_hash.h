// Tokens in the server config may be stored as SHA-256 hashes (SPEC section 9), so that a leaked
// config file does not leak the tokens.
//
// Text form of a hashed token: "sha256:" followed by the 64 lowercase hex digits of the SHA-256
// of the token's bytes, e.g. hash_token("k3y-for-audit") ==
// "sha256:<64 hex>". In the TOML config it is a quoted key: `"sha256:9f86...08" = ["auditor"]`.
// Any other stored text is a plain token, compared as before; a plain token therefore cannot
// begin with "sha256:". A client always presents the token itself, never the hash.
//
// Comparison is of SHA-256 digests in constant time (no early exit on the first differing byte),
// for plain and hashed stored tokens alike, so the time a comparison takes says nothing about
// the stored token. A random token of at least 128 bits is assumed: a hash protects a guessable
// token (a short word) only as well as SHA-256 resists a dictionary, which is not much.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "ledger/entry.h"
#include "ledger/status.h"

namespace tally {

inline constexpr std::string_view kTokenHashPrefix = "sha256:";
inline constexpr size_t kTokenHashHexDigits = 64;

// "sha256:" + lowercase hex of SHA-256(token).
std::string hash_token(std::string_view token);
// Does the stored text use the hashed form (begins with "sha256:")? Says nothing of validity.
bool is_hashed_token(std::string_view stored);
// The digest a presented token must hash to: the decoded hex of a hashed form, or SHA-256 of a
// plain one. A stored text that begins with "sha256:" but is not followed by exactly 64
// lowercase hex digits is bad_request naming `field` (the text itself is not quoted: it may be
// a mistyped secret).
Result<Digest> stored_token_digest(std::string_view stored, std::string_view field);
// Equal-length digests compared without an early exit.
bool digest_equal_ct(const Digest& a, const Digest& b);
// Does `presented` match `stored` (plain or hashed)? A malformed hashed form matches nothing.
bool token_matches(std::string_view stored, std::string_view presented);

}  // namespace tally
