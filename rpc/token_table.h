// The tokens of the config and the roles each grants (SPEC 5). Tokens are kept and compared as
// SHA-256 digests, every row compared whatever matched and without an early exit, so the time
// a lookup takes says nothing about which token or how much of one matched. A token is never
// logged or echoed.
//
// Thread safety: immutable after construction; find() may run on any thread.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "service/service.h"

namespace tally {

class TokenTable {
 public:
  explicit TokenTable(const Config& config);
  // The roles `token` grants, or nullopt for a token the config does not hold.
  std::optional<RoleSet> find(std::string_view token) const;

 private:
  struct Row {
    Digest digest;
    RoleSet roles;
  };
  std::vector<Row> rows_;
};

}  // namespace tally
