#include "ops/token_hash.h"

namespace tally {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // uppercase is refused: the canonical form is lowercase
}

}  // namespace

std::string hash_token(std::string_view token) {
  return std::string(kTokenHashPrefix) + to_hex(sha256(token));
}

bool is_hashed_token(std::string_view stored) {
  return stored.substr(0, kTokenHashPrefix.size()) == kTokenHashPrefix;
}

Result<Digest> stored_token_digest(std::string_view stored, std::string_view field) {
  if (!is_hashed_token(stored)) return sha256(stored);
  std::string_view hex = stored.substr(kTokenHashPrefix.size());
  if (hex.size() != kTokenHashHexDigits)
    return reject(Code::bad_request, std::string(field) + ": a hashed token is \"sha256:\" and " +
                                         "64 lowercase hex digits, this one has " +
                                         std::to_string(hex.size()) + " characters after it");
  Digest d{};
  for (size_t i = 0; i < d.size(); ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return reject(Code::bad_request,
                    std::string(field) + ": a hashed token is \"sha256:\" and 64 lowercase hex " +
                        "digits, character " +
                        std::to_string(kTokenHashPrefix.size() + 2 * i + (hi < 0 ? 0 : 1) + 1) +
                        " is not one");
    d[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return d;
}

bool digest_equal_ct(const Digest& a, const Digest& b) {
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = static_cast<uint8_t>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

bool token_matches(std::string_view stored, std::string_view presented) {
  auto want = stored_token_digest(stored, "token");
  if (!want.ok()) return false;
  return digest_equal_ct(*want, sha256(presented));
}

}  // namespace tally
