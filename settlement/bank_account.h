// Bank accounts and bank text (SPEC sections 3 and 8): the one owner of what an IBAN, another
// account id, a BIC and the text of a bank file may be, for the config's payout accounts, payee
// details and the payout files alike.
//
// Thread safety: pure functions; call them from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace tally {

// Does `iban` have the form of an IBAN: two letters, two digits, 11..30 letters or digits? (The
// checksum is a separate question: iban_checksum_ok.) Used to choose between an IBAN and
// another account id, here and in payout files.
bool looks_like_iban(std::string_view iban);
// The ISO 13616 mod-97 check of an IBAN-shaped string.
bool iban_checksum_ok(std::string_view iban);
// A bank account as config and payout files take it.
struct BankAccount {
  bool is_iban = false;  // written as <IBAN> in pain.001, else as <Othr><Id>
  std::string id;        // the IBAN without spaces, or the other id as given
  friend bool operator==(const BankAccount&, const BankAccount&) = default;
};
// An IBAN (the spaces of its paper form dropped; checksum verified: a typo is refused, not sent
// to a bank) or, for banks without IBANs (USD, COP), another account id of 1..34 printable ASCII
// characters without spaces. bad_request naming `field` otherwise.
Result<BankAccount> parse_bank_account(std::string_view text, std::string_view field);
// [A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?: the BIC form the pain.001 schema accepts.
bool valid_bic(std::string_view bic);
// Valid UTF-8 without control characters (C0, DEL, C1): text a bank file can carry. Returns the
// number of characters (code points), or nullopt.
std::optional<size_t> bank_text_length(std::string_view text);

}  // namespace tally
