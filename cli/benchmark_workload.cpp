#include "cli/benchmark_workload.h"

#include <bit>
#include <cstdio>

namespace tally {

namespace {

// ln 2 in Q32: 0.693147180559945... * 2^32 = 2977044471.82, rounded.
constexpr uint64_t kLn2Q32 = 2977044472u;
// 2026-01-05T10:00:00Z: the business time of entry 0; entry n is n microseconds later.
constexpr TimeNs kFirstAt = TimeNs(1'767'607'200) * kNsPerSecond;
constexpr std::string_view kKind = "transfer";

// A bijection on 64-bit integers (the splitmix64 finalizer: xor-shifts and odd multipliers are
// each invertible), so distinct inputs give distinct ids.
uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t neg_log2_q32(uint64_t u) {
  if (u == 0) u = 1;
  const int lz = std::countl_zero(u);
  // u = 2^(63 - lz) * m with m in [1, 2), held as m * 2^63.
  unsigned __int128 m = static_cast<unsigned __int128>(u << lz);
  const unsigned __int128 two = static_cast<unsigned __int128>(1) << 64;  // 2.0 in Q63
  uint64_t frac = 0;
  for (int i = 0; i < 32; ++i) {
    m = (m * m) >> 63;  // m < 2^64, so m * m fits 128 bits
    frac <<= 1;
    if (m >= two) {
      m >>= 1;
      frac |= 1;
    }
  }
  // log2(u) = (63 - lz) + frac / 2^32, and -log2(u / 2^64) = 64 - log2(u).
  return (static_cast<uint64_t>(lz + 1) << 32) - frac;
}

uint64_t exponential_minor_units(uint64_t u, uint64_t mean_minor) {
  // -ln(x) = -log2(x) * ln 2: Q32 * Q32 = Q64, times the mean, then the integer part.
  const unsigned __int128 q64 = static_cast<unsigned __int128>(neg_log2_q32(u)) * kLn2Q32;
  const uint64_t v = static_cast<uint64_t>((q64 * mean_minor) >> 64);
  return v == 0 ? 1 : v;
}

Workload::Workload(const WorkloadOptions& options)
    : o_(options), rng_(options.seed), currency_(*CurrencyTable().find("USD")) {}

std::string Workload::account_name(uint64_t i) {
  char b[32];
  std::snprintf(b, sizeof b, "tb:%08llu", static_cast<unsigned long long>(i));
  return b;
}

std::string Workload::entry_id(uint64_t n) const {
  const uint64_t v = o_.id_order == IdOrder::sequential ? n + 1 : mix64(n + mix64(o_.seed));
  char b[24];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v));
  return b;
}

std::vector<PostItem> Workload::opens(uint64_t from, uint64_t to) const {
  std::vector<PostItem> items;
  items.reserve(to - from);
  for (uint64_t i = from; i < to; ++i) {
    OpenItem o;
    o.account = Account{account_name(i), AccountKind::asset, 0, {currency_}};
    items.push_back(PostItem{std::move(o)});
  }
  return items;
}

PostItem Workload::next_entry(uint64_t n) {
  const uint64_t debit = rng_() % o_.accounts;
  uint64_t credit = rng_() % (o_.accounts - 1);
  if (credit >= debit) ++credit;
  const Amount amount =
      Amount::from_minor(static_cast<i128>(exponential_minor_units(rng_(), o_.amount_mean_minor)));
  Entry e;
  e.id = entry_id(n);
  e.at = kFirstAt + static_cast<TimeNs>(n) * 1000;
  e.kind = std::string(kKind);
  e.postings.reserve(2);
  e.postings.push_back(Posting{account_name(debit), currency_, Side::debit, amount});
  e.postings.push_back(Posting{account_name(credit), currency_, Side::credit, amount});
  return PostItem{std::move(e)};
}

uint64_t Workload::random_account() {
  return rng_() % o_.accounts;
}

}  // namespace tally
