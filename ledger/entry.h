// Accounts and journal entries as plain values, with the validation that needs no store
// (SPEC section 2). Checks that need the books (unknown accounts, overdraft, closed periods) live
// in the writer (ledger.h).
//
// Thread safety: plain values and pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/limits.h"
#include "ledger/money.h"
#include "ledger/time.h"

namespace tally {

enum class AccountKind : uint8_t { asset = 1, liability = 2, equity = 3, revenue = 4, expense = 5 };
std::string_view kind_name(AccountKind k);
std::optional<AccountKind> parse_account_kind(std::string_view name);
// Asset and expense accounts are debit-normal; liability, equity and revenue credit-normal.
inline bool debit_normal(AccountKind k) {
  return k == AccountKind::asset || k == AccountKind::expense;
}

enum AccountFlag : uint8_t { kNoOverdraft = 1, kClosed = 2 };

struct Account {
  std::string name;
  AccountKind kind = AccountKind::asset;
  uint8_t flags = 0;                 // AccountFlag bits
  std::vector<Currency> currencies;  // sorted by code, unique
  bool no_overdraft() const { return flags & kNoOverdraft; }
  bool closed() const { return flags & kClosed; }
};

// `:`-separated segments, each [a-z0-9][a-z0-9_.-]*, at most 200 bytes. bad_account_name.
Result<bool> validate_account_name(std::string_view name, std::string_view field);
// Is `name` equal to `prefix` or under it (prefix followed by ':')? An empty prefix holds all.
bool account_under(std::string_view name, std::string_view prefix);

enum class Side : uint8_t { debit = 1, credit = 2 };
std::string_view side_name(Side s);

struct Posting {
  std::string account;
  Currency currency;
  Side side = Side::debit;
  Amount amount;  // > 0
};

struct Entry {
  std::string id;    // 1..128 bytes of printable ASCII (0x20..0x7e)
  TimeNs at = 0;     // business time
  std::string kind;  // 1..64 bytes of printable ASCII
  std::vector<std::pair<std::string, std::string>> meta;  // sorted by key, unique keys
  std::vector<Posting> postings;
};

Result<bool> validate_entry_id(std::string_view id, std::string_view field);

// Ids that tally itself generates (settlement runs' release and payout entries) begin with '~';
// clients may not choose such ids, so no client id can collide with, and block, a run.
inline constexpr char kSystemIdPrefix = '~';
// validate_entry_id, and not in the reserved '~' namespace. bad_id naming `field`.
Result<bool> validate_client_id(std::string_view id, std::string_view field);

// Every check that needs no store: id, kind, meta (sorts it), posting count, amounts > 0,
// account names, and per-currency balance with overflow-checked sums. Messages name the field:
// "postings[2].amount: must be > 0", "unbalanced: EUR debits 100.00 != credits 99.99".
Result<bool> validate_entry_shape(Entry& entry);
// Meta as every entry and event takes it: non-empty keys, no key twice, at most
// limits::meta_bytes_max bytes of keys and values in all. bad_meta naming `field`.
Result<bool> validate_meta(const std::vector<std::pair<std::string, std::string>>& meta,
                           std::string_view field);

// The change a posting makes to its account's balance on the account's normal side.
inline bool posting_increases(Side side, AccountKind kind) {
  return (side == Side::debit) == debit_normal(kind);
}

// Canonical bytes of an entry's content (what its hash and its idempotency digest cover): id,
// at, kind, meta, postings with account names and currency codes, in order.
std::string canonical_entry_bytes(const Entry& entry);

using Digest = std::array<uint8_t, 32>;
Digest sha256(std::string_view bytes);
Digest sha256(std::string_view a, std::string_view b);
std::string to_hex(const Digest& d);

// SHA-256 of bytes given piece by piece (a streamed export's trailer): add() in order, then
// digest(), once. Owns its hashing state; one thread at a time.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void add(std::string_view bytes);
  Digest digest();

 private:
  void* ctx_;  // EVP_MD_CTX
};

}  // namespace tally
