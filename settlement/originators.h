// The originators of payout files on national rails (SPEC section 8), as the marketplace config
// gives them: `ach` (a US NACHA file) and `co_dispersion` (a Colombian dispersion file). Each is
// optional; load_config checks every field (docs/settlement.md, "Configuration").
//
// Thread safety: plain values and pure functions; use them from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "settlement/co_dispersion.h"  // CoAccountType

namespace tally {

// `ach = { ... }`: the NACHA file and batch headers' originator fields. Text fields hold NACHA
// characters (nacha_text_ok); the file writer pads them.
struct AchOriginator {
  static constexpr size_t company_name_max = 16;       // batch header, Company Name
  static constexpr size_t company_id_max = 10;         // batch header, Company Identification
  static constexpr size_t header_name_max = 23;        // file header, the two names
  static constexpr size_t entry_description_max = 10;  // batch header, Company Entry Description
  static constexpr size_t immediate_origin_max = 10;   // file header, Immediate Origin

  std::string company_name;                // 1..16 NACHA characters
  std::string company_id;                  // 1..10 capital letters or digits ("1" + the EIN)
  std::string odfi_routing;                // 9 digits, ABA check digit verified
  std::string immediate_destination;       // 9 digits, ABA check digit verified
  std::string immediate_destination_name;  // 0..23 NACHA characters (optional: blank)
  std::string immediate_origin;            // 1..10 capital letters or digits
  std::string immediate_origin_name;       // 0..23 NACHA characters (optional: blank)
  std::string entry_description;           // 1..10 NACHA characters ("PAYOUT")
  friend bool operator==(const AchOriginator&, const AchOriginator&) = default;
};

// NACHA's alphanumeric fields: printable ASCII without lower-case letters (banks may refuse
// those), no leading or trailing space (the writer pads with spaces, which would lose them).
bool nacha_text_ok(std::string_view s);

// `co_dispersion = { ... }`: the company that pays in a Colombian dispersion file.
struct CoDispersionOriginator {
  static constexpr size_t account_digits_max = 17;

  std::string company_nit;    // the NIT's 1..15 digits, without its check digit
  int company_nit_check = 0;  // the DIAN check digit (verified against the digits)
  std::string company_name;   // 1..140 characters of UTF-8 without control characters
  std::string bank_code;      // 3 or 4 digits (the paying bank's code, e.g. "1007")
  CoAccountType account_type = CoAccountType::savings;
  std::string account;  // 1..17 digits
  // "900123456-8", as the config writes it.
  std::string nit_text() const { return company_nit + "-" + std::to_string(company_nit_check); }
  friend bool operator==(const CoDispersionOriginator&, const CoDispersionOriginator&) = default;
};

}  // namespace tally
