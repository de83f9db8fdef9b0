// Bank identifiers and text: IBANs, other account ids, BICs, text a bank file can carry.
#include "settlement/bank_account.h"

#include <algorithm>
#include <cstdio>

namespace tally {

namespace {
constexpr size_t kAccountIdMax = 34;  // Othr/Id in pain.001 is Max34Text
bool is_upper(char c) {
  return c >= 'A' && c <= 'Z';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
  return is_upper(c) || is_digit(c) || (c >= 'a' && c <= 'z');
}
}  // namespace

bool looks_like_iban(std::string_view s) {
  // The schema's IBAN2007Identifier pattern, with the BBAN at least 11 long: the shortest IBAN
  // in use (Norway) has 15 characters, and requiring it keeps short local account ids that
  // happen to start with two letters and two digits out of the IBAN element.
  if (s.size() < 15 || s.size() > 34) return false;
  if (!is_upper(s[0]) || !is_upper(s[1]) || !is_digit(s[2]) || !is_digit(s[3])) return false;
  return std::all_of(s.begin() + 4, s.end(), is_alnum);
}

bool iban_checksum_ok(std::string_view s) {
  if (!looks_like_iban(s)) return false;
  // Move the first four characters to the end, letters become 10..35, the number mod 97 is 1.
  unsigned rem = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[(i + 4) % s.size()];
    if (is_digit(c)) {
      rem = (rem * 10 + unsigned(c - '0')) % 97;
    } else {
      unsigned v = unsigned((c >= 'a' ? c - 'a' : c - 'A') + 10);
      rem = (rem * 100 + v) % 97;
    }
  }
  return rem == 1;
}

Result<BankAccount> parse_bank_account(std::string_view text, std::string_view field) {
  std::string compact;
  for (char c : text)
    if (c != ' ') compact += c;
  if (looks_like_iban(compact)) {
    if (iban_checksum_ok(compact)) return BankAccount{true, compact};
    return reject(Code::bad_request,
                  std::string(field) + ": \"" + std::string(text) + "\" fails the IBAN checksum");
  }
  bool other = !text.empty() && text.size() <= kAccountIdMax &&
               std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < 0x7F; });
  if (other) return BankAccount{false, std::string(text)};
  return reject(Code::bad_request, std::string(field) + ": \"" + std::string(text) +
                                       "\" is neither an IBAN nor an account id of 1..34 "
                                       "printable ASCII characters without spaces");
}

bool valid_bic(std::string_view s) {
  if (s.size() != 8 && s.size() != 11) return false;
  for (size_t i = 0; i < 6; ++i)
    if (!is_upper(s[i])) return false;
  if (!(is_upper(s[6]) || (s[6] >= '2' && s[6] <= '9'))) return false;
  if (!((is_upper(s[7]) && s[7] != 'O') || is_digit(s[7]))) return false;
  for (size_t i = 8; i < s.size(); ++i)
    if (!is_upper(s[i]) && !is_digit(s[i])) return false;
  return true;
}

std::optional<size_t> bank_text_length(std::string_view s) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++chars) {
    auto b = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    size_t len;
    if (b < 0x80) {
      cp = b, len = 1;
    } else if (b >= 0xC2 && b <= 0xDF) {
      cp = b & 0x1F, len = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      cp = b & 0x0F, len = 3;
    } else if (b >= 0xF0 && b <= 0xF4) {
      cp = b & 0x07, len = 4;
    } else {
      return std::nullopt;
    }
    if (i + len > s.size()) return std::nullopt;
    for (size_t j = 1; j < len; ++j) {
      auto c = static_cast<unsigned char>(s[i + j]);
      if ((c & 0xC0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (c & 0x3F);
    }
    // Overlong forms, surrogates, beyond U+10FFFF.
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return std::nullopt;
    // Control characters (XML 1.0 cannot carry most C0; none belong in a name or an id) and the
    // two non-characters XML 1.0 excludes.
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xFFFE || cp == 0xFFFF)
      return std::nullopt;
    i += len;
  }
  return chars;
}

}  // namespace tally
