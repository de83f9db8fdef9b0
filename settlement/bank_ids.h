// Check digits of bank and tax identifiers used by payout rails (SPEC section 8): the one owner
// of these rules, for the config's originators and the payout files alike.
//
// Thread safety: pure functions; call them from any thread.
#pragma once

#include <optional>
#include <string_view>

namespace tally {

// A US ABA routing number: exactly 9 ASCII digits whose check digit holds,
// 3*(d1+d4+d7) + 7*(d2+d5+d8) + (d3+d6+d9) = 0 mod 10.
bool aba_routing_ok(std::string_view routing);

// The DIAN check digit (digito de verificacion) of a Colombian NIT given as 1..15 ASCII digits
// without it: the digits times 3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71 (from
// the rightmost digit), summed, mod 11; a remainder r of 0 or 1 is the digit itself, else
// 11 - r. nullopt when `nit` is not 1..15 digits.
std::optional<int> nit_check_digit(std::string_view nit);

}  // namespace tally
