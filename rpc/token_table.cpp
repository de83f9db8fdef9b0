// Tokens as digests (contract in rpc/token_table.h).
#include "rpc/token_table.h"

#include <cstdint>

#include "ops/token_hash.h"

namespace tally {

namespace {

// Equal-length digests compared without an early exit.
bool digest_equal(const Digest& a, const Digest& b) {
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = static_cast<uint8_t>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

}  // namespace

TokenTable::TokenTable(const Config& config) {
  // A stored "sha256:<hex>" is the digest itself (ops/token_hash.h); the config loader refused a
  // malformed one, so a row that still does not decode is left out (it matches nothing).
  for (const auto& g : config.tokens) {
    auto d = stored_token_digest(g.token, "tokens");
    if (d.ok()) rows_.push_back(Row{*d, RoleSet(g.roles.begin(), g.roles.end())});
  }
}

std::optional<RoleSet> TokenTable::find(std::string_view token) const {
  Digest d = sha256(token);
  std::optional<RoleSet> found;
  for (const auto& r : rows_)
    if (digest_equal(d, r.digest)) found = r.roles;
  return found;
}

}  // namespace tally
