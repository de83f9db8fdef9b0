#include "ledger/entry.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <map>

#include "ledger/codec.h"

namespace tally {

std::string_view kind_name(AccountKind k) {
  switch (k) {
    case AccountKind::asset:
      return "asset";
    case AccountKind::liability:
      return "liability";
    case AccountKind::equity:
      return "equity";
    case AccountKind::revenue:
      return "revenue";
    case AccountKind::expense:
      return "expense";
  }
  TALLY_ASSERT(false, "account kind " + std::to_string(static_cast<int>(k)));
}

std::optional<AccountKind> parse_account_kind(std::string_view n) {
  if (n == "asset") return AccountKind::asset;
  if (n == "liability") return AccountKind::liability;
  if (n == "equity") return AccountKind::equity;
  if (n == "revenue") return AccountKind::revenue;
  if (n == "expense") return AccountKind::expense;
  return std::nullopt;
}

std::string_view side_name(Side s) {
  return s == Side::debit ? "debit" : "credit";
}

namespace {
std::string quoted(std::string_view s) {
  std::string q = "\"";
  for (char c : s.substr(0, 80)) q += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > 80) q += "...";
  return q + "\"";
}
bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}
}  // namespace

Result<bool> validate_account_name(std::string_view name, std::string_view field) {
  auto bad = [&](const std::string& why) {
    return reject(Code::bad_account_name, std::string(field) + ": " + quoted(name) + " " + why);
  };
  if (name.empty()) return bad("is empty");
  if (name.size() > limits::account_name_bytes_max) return bad("is longer than 200 bytes");
  size_t seg_start = 0;
  for (size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == ':') {
      if (i == seg_start) return bad("has an empty segment");
      seg_start = i + 1;
      continue;
    }
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (i == seg_start ? !alnum : !(alnum || c == '_' || c == '.' || c == '-'))
      return bad("segments must match [a-z0-9][a-z0-9_.-]*");
  }
  return true;
}

bool account_under(std::string_view name, std::string_view prefix) {
  if (prefix.empty()) return true;
  if (name.size() < prefix.size() || name.substr(0, prefix.size()) != prefix) return false;
  return name.size() == prefix.size() || name[prefix.size()] == ':';
}

Result<bool> validate_entry_id(std::string_view id, std::string_view field) {
  if (id.empty() || id.size() > limits::entry_id_bytes_max || !printable(id))
    return reject(Code::bad_id, std::string(field) + ": " + quoted(id) +
                                    " must be 1..128 bytes of printable ASCII");
  return true;
}

Result<bool> validate_client_id(std::string_view id, std::string_view field) {
  if (auto r = validate_entry_id(id, field); !r) return r;
  if (id.front() == kSystemIdPrefix)
    return reject(Code::bad_id, std::string(field) + ": " + quoted(id) +
                                    " starts with '~', which tally reserves for the ids it makes");
  return true;
}

Result<bool> validate_meta(const std::vector<std::pair<std::string, std::string>>& meta,
                           std::string_view field) {
  const std::string f(field);
  size_t meta_bytes = 0;
  std::vector<std::string_view> keys;
  keys.reserve(meta.size());
  for (const auto& [k, v] : meta) {
    if (k.empty()) return reject(Code::bad_meta, f + ": keys must be non-empty");
    keys.push_back(k);
    meta_bytes += k.size() + v.size();
  }
  if (meta_bytes > limits::meta_bytes_max)
    return reject(Code::bad_meta, f + ": " + std::to_string(meta_bytes) +
                                      " bytes of keys and values, at most " +
                                      std::to_string(limits::meta_bytes_max) + " allowed");
  std::sort(keys.begin(), keys.end());
  for (size_t i = 1; i < keys.size(); ++i)
    if (keys[i - 1] == keys[i])
      return reject(Code::bad_meta, f + ": duplicate key " + quoted(std::string(keys[i])));
  return true;
}

Result<bool> validate_entry_shape(Entry& e) {
  if (auto r = validate_entry_id(e.id, "id"); !r) return r.error();
  if (e.kind.empty() || e.kind.size() > limits::entry_kind_bytes_max || !printable(e.kind))
    return reject(Code::bad_request,
                  "kind: " + quoted(e.kind) + " must be 1..64 bytes of printable ASCII");
  std::sort(e.meta.begin(), e.meta.end());
  if (auto r = validate_meta(e.meta, "meta"); !r) return r.error();
  if (e.postings.size() < limits::postings_per_entry_min ||
      e.postings.size() > limits::postings_per_entry_max)
    return reject(Code::too_many_postings, "postings: " + std::to_string(e.postings.size()) +
                                               " postings, an entry takes 2..1024");
  // Per-currency sums, checked; std::map keeps the report's currency order stable.
  struct Sums {
    Amount debit, credit;
    int exponent;
  };
  std::map<std::string, Sums, std::less<>> sums;
  for (size_t i = 0; i < e.postings.size(); ++i) {
    const Posting& p = e.postings[i];
    std::string field = "postings[" + std::to_string(i) + "]";
    if (auto r = validate_account_name(p.account, field + ".account"); !r) return r.error();
    if (p.currency.empty()) return reject(Code::bad_currency, field + ".currency: missing");
    if (!p.amount.is_positive())
      return reject(Code::bad_amount,
                    field + ".amount: " + format_amount(p.amount, p.currency) + " must be > 0");
    auto& s = sums.try_emplace(std::string(p.currency.code()), Sums{{}, {}, p.currency.exponent()})
                  .first->second;
    Amount& side = p.side == Side::debit ? s.debit : s.credit;
    auto next = checked_add(side, p.amount);
    if (!next)
      return reject(Code::overflow, field + ".amount: the entry's " +
                                        std::string(side_name(p.side)) + "s in " +
                                        std::string(p.currency.code()) + " overflow");
    side = *next;
  }
  for (const auto& [code, s] : sums) {
    if (s.debit != s.credit)
      return reject(Code::unbalanced, "unbalanced: " + code + " debits " +
                                          format_amount(s.debit, s.exponent) + " != credits " +
                                          format_amount(s.credit, s.exponent));
  }
  return true;
}

std::string canonical_entry_bytes(const Entry& e) {
  Encoder enc;
  enc.bytes("tally.entry.v1");
  enc.str(e.id);
  enc.i64(e.at);
  enc.str(e.kind);
  enc.u32(static_cast<uint32_t>(e.meta.size()));
  for (const auto& [k, v] : e.meta) enc.str(k), enc.str(v);
  enc.u32(static_cast<uint32_t>(e.postings.size()));
  for (const auto& p : e.postings) {
    enc.str(p.account);
    enc.str(p.currency.code());
    enc.u8(static_cast<uint8_t>(p.side));
    enc.i128(p.amount.minor());
  }
  return enc.take();
}

Digest sha256(std::string_view bytes) {
  return sha256(bytes, {});
}

Digest sha256(std::string_view a, std::string_view b) {
  Digest d{};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  TALLY_ASSERT(ctx != nullptr, "EVP_MD_CTX_new");
  unsigned len = 0;
  bool ok = EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx, a.data(), a.size()) == 1 &&
            EVP_DigestUpdate(ctx, b.data(), b.size()) == 1 &&
            EVP_DigestFinal_ex(ctx, d.data(), &len) == 1;
  EVP_MD_CTX_free(ctx);
  TALLY_ASSERT(ok && len == d.size(), "SHA-256 failed");
  return d;
}

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  TALLY_ASSERT(ctx_ != nullptr, "EVP_MD_CTX_new");
  bool ok = EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr) == 1;
  TALLY_ASSERT(ok, "SHA-256 init failed");
}

Sha256Stream::~Sha256Stream() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
}

void Sha256Stream::add(std::string_view bytes) {
  bool ok = EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), bytes.data(), bytes.size()) == 1;
  TALLY_ASSERT(ok, "SHA-256 update failed");
}

Digest Sha256Stream::digest() {
  Digest d{};
  unsigned len = 0;
  bool ok = EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), d.data(), &len) == 1;
  TALLY_ASSERT(ok && len == d.size(), "SHA-256 failed");
  return d;
}

std::string to_hex(const Digest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(64);
  for (uint8_t b : d) s += kHex[b >> 4], s += kHex[b & 15];
  return s;
}

}  // namespace tally
