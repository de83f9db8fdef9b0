// Tokens as digests (contract in rpc/token_table.h).
#include "rpc/token_table.h"

#include <cstdint>

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
  for (const auto& g : config.tokens)
    rows_.push_back(Row{sha256(g.token), RoleSet(g.roles.begin(), g.roles.end())});
}

std::optional<RoleSet> TokenTable::find(std::string_view token) const {
  Digest d = sha256(token);
  std::optional<RoleSet> found;
  for (const auto& r : rows_)
    if (digest_equal(d, r.digest)) found = r.roles;
  return found;
}

}  // namespace tally
